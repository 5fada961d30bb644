/* text.h - what the files of src/text share: the tokenizer's layout, the
 * pair map of BPE, and GPT-2-style pre-splitting. */
#ifndef LAM_TEXT_H
#define LAM_TEXT_H

#include "internal.h"

/* The most bytes all tokens of one tokenizer may hold together: a BPE merge
 * list read from a file could otherwise double a token's length per merge. */
#define LAM_TOKENIZER_MAX_BYTES ((int64_t)1 << 30)

struct lam_tokenizer {
    lam_tokenizer_kind kind;
    int vocab;          /* token count */
    /* Token i is bytes[offsets[i] .. offsets[i + 1]): decoding is a copy. */
    int64_t *offsets;
    char *bytes;
    /* CHAR: the vocabulary's code points, increasing; ascii[c] = the id of code
     * point c < 128 or -1 (most text is ASCII: no search for it). */
    uint32_t *code_points;
    int32_t ascii[128];
    /* BPE: merge i joins merges[2i], merges[2i + 1] into token 256 + i; ranks
     * maps a pair to its merge index. */
    int nmerges;
    int32_t *merges;
    struct lam_pair_map *ranks;
};

/* ------------------------------------------------------------- pair map */
/* An open-addressing hash map from a pair of token ids to an int32 value. */
typedef struct lam_pair_map {
    uint64_t *keys;     /* (a << 32 | b) + 1; 0 = empty */
    int32_t *values;
    size_t cap, count;  /* cap a power of two */
} lam_pair_map;

lam_status lam_pair_map_init(lam_pair_map *m, size_t expected);
void lam_pair_map_free(lam_pair_map *m);
/* The value of (a, b), or -1. */
int32_t lam_pair_map_get(const lam_pair_map *m, int32_t a, int32_t b);
/* Sets (a, b) -> value (value >= 0); grows the table as needed. */
lam_status lam_pair_map_put(lam_pair_map *m, int32_t a, int32_t b, int32_t value);

/* ------------------------------------------------------------ pre-split */
/* The end of the chunk of s[0..n) that starts at i (< n), following GPT-2's
 * pattern 's|'t|'re|'ve|'m|'ll|'d| ?L+| ?N+| ?[^\sLN]+|\s+(?!\S)|\s+ on bytes,
 * where L = ASCII letters and every byte >= 0x80, N = ASCII digits, \s =
 * space, \t, \n, \v, \f, \r (docs/TEXT.md). BPE never merges across chunks. */
size_t lam_bpe_chunk_end(const unsigned char *s, size_t n, size_t i);

/* ------------------------------------------------------------ tokenizer */
/* A tokenizer of `kind` and vocab tokens with its code points (CHAR) or
 * merges (BPE) allocated, to be filled, then completed by *_finish. */
lam_status lam_tokenizer_alloc(lam_tokenizer_kind kind, int vocab, lam_tokenizer **out);
/* BPE: checks the merges (each pair names earlier tokens; no pair twice; the
 * tokens' bytes fit LAM_TOKENIZER_MAX_BYTES) and builds ranks and token bytes.
 * source names the merges in messages. */
lam_status lam_bpe_finish(lam_tokenizer *t, const char *source);
lam_status lam_bpe_train(int vocab_size, const char *text, size_t len, lam_tokenizer **out);
/* The ids of text[0..len) into ids (room for len), their count into *n. */
lam_status lam_bpe_encode(const lam_tokenizer *t, const char *text, size_t len, int32_t *ids,
                          int64_t *n);
/* CHAR: checks the code points (valid, increasing) and builds the token bytes. */
lam_status lam_char_finish(lam_tokenizer *t, const char *source);
lam_status lam_char_train(int vocab_size, const char *text, size_t len, lam_tokenizer **out);
lam_status lam_char_encode(const lam_tokenizer *t, const char *text, size_t len, int32_t *ids,
                           int64_t *n);

/* ----------------------------------------------------------------- files */
/* Reads path whole, NUL-terminated (lam_free), checking it is UTF-8 (an
 * error names the file and byte offset). */
lam_status lam_text_read_file(const char *path, char **text, size_t *len);
/* Which folder entries to list: name, and whether it is a folder or a
 * regular file (links followed). */
typedef bool (*lam_text_entry_filter)(const char *name, bool is_dir, bool is_reg);
/* The entries of dir that keep accepts (never hidden ones), sorted by strcmp. */
lam_status lam_text_list_dir(const char *dir, lam_text_entry_filter keep, char ***names, int *n);
void lam_text_names_free(char **names, int n);
/* name ends in ".txt" (with something before it). */
bool lam_text_is_txt(const char *name);

#endif
