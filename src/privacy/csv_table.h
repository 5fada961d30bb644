/* csv_table.h - a CSV file as a table of text cells (RFC 4180, quoted
 * fields, bytes kept as they are), for desensitize.c. src/io/csv.c reads
 * numeric CSV into a data set; this reader keeps every cell as text. */
#ifndef LAM_CSV_TABLE_H
#define LAM_CSV_TABLE_H

#include "internal.h"

#include <stdio.h>

typedef struct lam_csv_table {
    int64_t rows;   /* records after the header */
    int cols;
    char *text;     /* every cell, NUL-terminated, one after another */
    size_t *cell;   /* (rows + 1) * cols offsets into text; row 0 is the header */
    int64_t *line;  /* rows + 1: the line on which each record starts */
} lam_csv_table;

/* Cell (r, c) with r = 0 the header. */
static inline const char *lam_csv_table_at(const lam_csv_table *t, int64_t r, int c)
{
    return t->text + t->cell[r * t->cols + c];
}

/* Parses n bytes of CSV; name (the file) prefixes messages, which name the
 * line and column. */
lam_status lam_csv_table_parse(const char *bytes, size_t n, const char *name,
                               lam_csv_table *out);
lam_status lam_csv_table_read(const char *path, lam_csv_table *out);
void lam_csv_table_free(lam_csv_table *t);

/* Writes one field, quoted when it holds ',', '"', CR or LF, or when the
 * caller forces it (see lam_csv_must_quote). Returns false when the write
 * failed. */
bool lam_csv_write_field(FILE *f, const char *s, bool force_quote);

/* Fields that read back differently unless quoted: an empty field alone in
 * its record (a bare blank line is skipped) and a first field of the file
 * starting with a UTF-8 byte-order mark (which the reader strips). */
static inline bool lam_csv_must_quote(const char *s, bool only_field, bool first_of_file)
{
    return (only_field && !*s) ||
           (first_of_file && s[0] == '\xEF' && s[1] == '\xBB' && s[2] == '\xBF');
}

#endif
