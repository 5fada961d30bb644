/* textcls_to_npy.c - writes the split `lamina compare --data textcls:DIR` trains and tests on
 * as .npy files, so that a peer framework (bench/keras_textcls.py) sees exactly the same
 * token ids and labels:
 *
 *   textcls_to_npy --data DIR --out OUTDIR [--min-class-samples N] [--tokenizer char|bpe:V]
 *                  [--max-len N]
 *
 * OUTDIR/x_train.npy, x_test.npy   int32 (n, max_len): token id + 1, 0 = padding
 * OUTDIR/y_train.npy, y_test.npy   int32 (n,): class numbers (name order)
 * OUTDIR/info.json                 vocabulary size, class names, sample counts, and the
 *                                  token-length quantiles that guide the choice of max_len
 *
 * The steps are the command's (cli/data.c, cli/cmd_compare.c), through the public API:
 * lam_load_textcls, lam_text_samples_drop_small_classes, lam_text_samples_shuffle(seed 42),
 * a tokenizer trained on every sample joined, lam_textcls_dataset, and the last n / 5
 * samples as the test split. */
#include "lamina.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORDER_SEED 42 /* cli/data.c's TEXTCLS_ORDER_SEED */

static int fail(const char *what)
{
    fprintf(stderr, "textcls_to_npy: %s: %s\n", what, lam_last_error());
    return 1;
}

/* A C-order int32 .npy of shape (n,) or (n, d) (d 0 = rank 1). */
static int write_npy(const char *dir, const char *name, const int32_t *v, int64_t n, int64_t d)
{
    char path[4096], header[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    int len = d ? snprintf(header, sizeof header, "{'descr': '<i4', 'fortran_order': False, "
                           "'shape': (%lld, %lld), }", (long long)n, (long long)d)
                : snprintf(header, sizeof header, "{'descr': '<i4', 'fortran_order': False, "
                           "'shape': (%lld,), }", (long long)n);
    /* Magic (6) + version (2) + header length (2) + header, padded with spaces and a
     * newline to a multiple of 64 bytes, as NumPy writes it. */
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    unsigned short hl = (unsigned short)(len + pad + 1);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(header, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    const int64_t count = n * (d ? d : 1);
    int rc = fwrite(v, sizeof *v, (size_t)count, f) == (size_t)count ? 0 : 1;
    if (fclose(f) != 0) rc = 1;
    if (rc) perror(path);
    return rc;
}

/* Rows [first, first + n) of the ids and labels as int32. */
static int write_part(const char *dir, const char *suffix, lam_dataset *ds, int64_t first,
                      int64_t n, int64_t max_len)
{
    int32_t *x = malloc(sizeof *x * (size_t)(n * max_len + 1));
    int32_t *y = malloc(sizeof *y * (size_t)(n + 1));
    if (!x || !y) {
        free(x);
        free(y);
        fprintf(stderr, "textcls_to_npy: out of memory\n");
        return 1;
    }
    const float *fx = (const float *)lam_dataset_x(ds) + first * max_len;
    const int32_t *fy = lam_dataset_labels(ds) + first;
    for (int64_t i = 0; i < n * max_len; i++) x[i] = (int32_t)fx[i];
    for (int64_t i = 0; i < n; i++) y[i] = fy[i];
    char xn[64], yn[64];
    snprintf(xn, sizeof xn, "x_%s.npy", suffix);
    snprintf(yn, sizeof yn, "y_%s.npy", suffix);
    int rc = write_npy(dir, xn, x, n, max_len) || write_npy(dir, yn, y, n, 0);
    free(x);
    free(y);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The token count of every sample, sorted, for the quantiles in info.json. */
static int token_lengths(const lam_text_samples *s, const lam_tokenizer *tok, int64_t **out)
{
    const int64_t n = lam_text_samples_count(s);
    int64_t *len = malloc(sizeof *len * (size_t)n);
    if (!len) return 1;
    for (int64_t i = 0; i < n; i++) {
        size_t bytes;
        const char *text = lam_text_samples_text(s, i, &bytes);
        int32_t *ids;
        if (lam_tokenizer_encode(tok, text, bytes, &ids, &len[i]) != LAM_OK) {
            free(len);
            return fail("encoding");
        }
        free(ids);
    }
    qsort(len, (size_t)n, sizeof *len, cmp_i64);
    *out = len;
    return 0;
}

static int write_info(const char *dir, const lam_text_samples *s, const lam_tokenizer *tok,
                      const char *tokenizer, int64_t max_len, int64_t ntr, int64_t nte,
                      const int64_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/info.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    const int64_t n = ntr + nte;
    int64_t cut = 0;
    for (int64_t i = 0; i < n; i++) cut += len[i] > max_len;
    fprintf(f, "{\"tokenizer\": \"%s\", \"vocab_size\": %d, \"input_dim\": %d, \"max_len\": %lld,"
            " \"train_samples\": %lld, \"test_samples\": %lld,\n", tokenizer,
            lam_tokenizer_vocab_size(tok), lam_tokenizer_vocab_size(tok) + 1, (long long)max_len,
            (long long)ntr, (long long)nte);
    fprintf(f, " \"tokens_per_sample\": {\"p50\": %lld, \"p90\": %lld, \"p95\": %lld, "
            "\"p99\": %lld, \"max\": %lld, \"longer_than_max_len\": %lld},\n",
            (long long)len[n / 2], (long long)len[n * 9 / 10], (long long)len[n * 95 / 100],
            (long long)len[n * 99 / 100], (long long)len[n - 1], (long long)cut);
    fprintf(f, " \"classes\": [");
    for (int k = 0; k < lam_text_samples_num_classes(s); k++)
        fprintf(f, "%s\"%s\"", k ? ", " : "", lam_text_samples_class_name(s, k));
    fprintf(f, "]}\n");
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    const char *data = NULL, *out = NULL, *tokenizer = "char";
    long min_class_samples = 0, max_len = 128;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
        else if (!strcmp(argv[i], "--tokenizer")) tokenizer = argv[i + 1];
        else if (!strcmp(argv[i], "--min-class-samples")) min_class_samples = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-len")) max_len = atol(argv[i + 1]);
        else {
            fprintf(stderr, "textcls_to_npy: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!data || !out) {
        fprintf(stderr, "usage: textcls_to_npy --data DIR --out OUTDIR [--min-class-samples N] "
                "[--tokenizer char|bpe:V] [--max-len N]\n");
        return 2;
    }
    lam_text_samples *s = NULL;
    lam_tokenizer *tok = NULL;
    lam_dataset *ds = NULL;
    int64_t *len = NULL;
    char *text = NULL;
    size_t bytes = 0;
    lam_tokenizer_kind kind;
    int vocab, rc = 1;
    if (lam_load_textcls(data, &s) != LAM_OK) return fail(data);
    if (min_class_samples > 0 && lam_text_samples_drop_small_classes(s, min_class_samples)) {
        rc = fail(data);
        goto done;
    }
    lam_text_samples_shuffle(s, ORDER_SEED);
    if (lam_text_samples_join(s, &text, &bytes)) {
        rc = fail(data);
        goto done;
    }
    if (lam_tokenizer_parse(tokenizer, &kind, &vocab) ||
        lam_tokenizer_train(kind, vocab, text, bytes, &tok)) {
        rc = fail(tokenizer);
        goto done;
    }
    if (lam_textcls_dataset(s, tok, max_len, &ds)) {
        rc = fail(data);
        goto done;
    }
    if (token_lengths(s, tok, &len)) goto done;
    const int64_t n = lam_dataset_count(ds), ntr = n - n / 5; /* cmd_compare.c's split */
    rc = write_part(out, "train", ds, 0, ntr, max_len) ||
         write_part(out, "test", ds, ntr, n - ntr, max_len) ||
         write_info(out, s, tok, tokenizer, max_len, ntr, n - ntr, len);
    if (rc == 0)
        fprintf(stderr, "textcls_to_npy: %lld train + %lld test samples, %d classes, %d tokens; "
                "tokens per sample: median %lld, 90%% %lld, 95%% %lld, max %lld\n",
                (long long)ntr, (long long)(n - ntr), lam_text_samples_num_classes(s),
                lam_tokenizer_vocab_size(tok), (long long)len[n / 2], (long long)len[n * 9 / 10],
                (long long)len[n * 95 / 100], (long long)len[n - 1]);
done:
    free(len);
    free(text);
    lam_dataset_free(ds);
    lam_tokenizer_free(tok);
    lam_text_samples_free(s);
    return rc;
}
