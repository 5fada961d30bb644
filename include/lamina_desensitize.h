/* lamina_desensitize.h - desensitising a CSV table before it leaves its
 * owner: per-column rules that drop, pseudonymise (keyed hash), generalise
 * (bins) or suppress rare values (k-anonymity style). Included by lamina.h.
 *
 * Rules file, one rule a line; `#` starts a comment; blank lines are ignored:
 *
 *     name:  drop            # the column is removed
 *     email: hash            # 32 hex digits: keyed BLAKE2b-128 of the cell
 *     age:   bin:0,18,30,50,70   # "[18, 30)"; below 0 "(-inf, 0)", from 70 "[70, inf)"
 *     income: bin:10000      # one number: equal width from 0, "[20000, 30000)"
 *     zip:   suppress:5      # values found in fewer than 5 rows become "*"
 *     id:    keep            # the default for columns without a rule
 *
 * The column name is everything before the first ':' (trimmed), so a name may
 * not hold ':'. A column named twice, an unknown rule kind or a malformed
 * argument is refused naming the line; a rule for a column the table does
 * not have is refused when the table is read, naming the rule's line.
 *
 * The CSV is RFC 4180: ',' separates fields, fields may be quoted ("...",
 * with "" for a quote) and then hold commas, quotes and line breaks; LF or
 * CRLF ends a record; a leading UTF-8 byte-order mark is skipped; blank lines
 * are skipped; bytes pass through unchanged (UTF-8 is kept). The first record
 * is the header; its names must be distinct; every record has as many fields
 * as the header. Errors name the file, line and column.
 *
 * hash: the same cell gives the same token under the same key (joins between
 * tables desensitised with one key still work) and nothing can be learnt from
 * the token without the key. The key is a lam_key (lamina_encrypt.h); the
 * token key is derived from it (BLAKE2b keyed with the key, of a fixed
 * string), so using one key for model files and for tokens reveals neither.
 * Needs libsodium (LAM_ERR_UNSUPPORTED without it).
 *
 * bin: cells must be numbers (strtod, finite); an empty cell stays empty (a
 * missing value); anything else is refused naming the line and column.
 * suppress: counted over the whole column, empty cells included.
 *
 * Intended usage:
 *
 *     lam_desens_rules *r;
 *     lam_desens_rules_load("rules.txt", &r);
 *     lam_desens_summary sum;
 *     lam_desensitize_csv("in.csv", "out.csv", r, key, &sum);  // key NULL if no hash
 *     ... sum.rows, sum.rows_changed, sum.columns[i].cells_changed ...
 *     lam_desens_summary_free(&sum);
 *     lam_desens_rules_free(r);
 */
#ifndef LAMINA_DESENSITIZE_H
#define LAMINA_DESENSITIZE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LAM_DESENS_KEEP = 0,
    LAM_DESENS_DROP = 1,
    LAM_DESENS_HASH = 2,
    LAM_DESENS_BIN = 3,
    LAM_DESENS_SUPPRESS = 4
} lam_desens_kind;

/* "keep", "drop", "hash", "bin", "suppress". */
const char *lam_desens_kind_name(lam_desens_kind kind);

typedef struct lam_desens_rules lam_desens_rules;

/* Parses rules text; name (e.g. the file's path) prefixes messages. */
lam_status lam_desens_rules_parse(const char *text, const char *name, lam_desens_rules **out);
/* Reads and parses a rules file. */
lam_status lam_desens_rules_load(const char *path, lam_desens_rules **out);
/* Whether any rule is `hash` (so that a caller knows it needs a key). */
bool lam_desens_rules_need_key(const lam_desens_rules *rules);
void lam_desens_rules_free(lam_desens_rules *rules);

/* What was done to one input column. */
typedef struct lam_desens_column {
    char *name;
    lam_desens_kind kind;
    int64_t cells_changed; /* cells whose output differs from the input */
} lam_desens_column;

typedef struct lam_desens_summary {
    int64_t rows;          /* data rows (the header not counted) */
    int columns;           /* input columns */
    int columns_out;       /* output columns (input less dropped) */
    int dropped, hashed, binned, suppressed; /* columns under each rule */
    int64_t cells_suppressed; /* all suppress columns together */
    int64_t rows_suppressed;  /* rows with at least one suppressed cell */
    int64_t rows_changed;     /* rows with any output cell that differs from the input */
    lam_desens_column *column; /* columns entries, in input order */
} lam_desens_summary;

/* Reads in, applies rules, writes out atomically (the file appears complete
 * or not at all; the input is read whole first,
 * so out may be in). key may be NULL when
 * no rule hashes. summary may be NULL; else it is filled on success (free
 * with lam_desens_summary_free) and zeroed on failure. */
lam_status lam_desensitize_csv(const char *in, const char *out, const lam_desens_rules *rules,
                               const lam_key *key, lam_desens_summary *summary);
void lam_desens_summary_free(lam_desens_summary *summary);

#ifdef __cplusplus
}
#endif

#endif
