/* fuzz_text_readers.c - lam_load_text and lam_load_textcls on arbitrary
 * bytes. The input is the text file for lam_load_text; for lam_load_textcls
 * it is cut in two (at a point the first byte picks) into the class files
 * "a" and "b.txt" of a folder. Whatever loads must tokenise (BPE takes any
 * bytes) into a token-id data set and a token-count data set. */
#include "fuzz_common.h"

#include <sys/stat.h>

static void text_readers_touch(lam_text_samples *s)
{
    volatile unsigned char acc = 0;
    for (int64_t i = 0; i < lam_text_samples_count(s); i++) {
        size_t len = 0;
        const char *t = lam_text_samples_text(s, i, &len);
        if (!t || len == 0 || lam_text_samples_label(s, i) < 0 ||
            lam_text_samples_label(s, i) >= lam_text_samples_num_classes(s)) {
            fprintf(stderr, "sample %lld: no text or a bad label\n", (long long)i);
            abort();
        }
        acc ^= (unsigned char)(t[0] ^ t[len - 1]);
    }
    (void)acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *file = fuzz_path(0, ".txt");
    fuzz_write(file, data + 1, size - 1);
    char *text = NULL;
    size_t len = 0;
    lam_error_clear();
    lam_status s = lam_load_text(file, &text, &len);
    fuzz_check(s, text, "lam_load_text");
    if (text && (len != size - 1 || memcmp(text, data + 1, len) != 0 || text[len] != '\0')) {
        fprintf(stderr, "lam_load_text changed the bytes\n");
        abort();
    }
    free(text);

    const char *dir = fuzz_path(1, ".d");
    mkdir(dir, 0700);
    char p[512];
    snprintf(p, sizeof p, "%s/a", dir);
    const char *fa = fuzz_register(p);
    snprintf(p, sizeof p, "%s/b.txt", dir);
    const char *fb = fuzz_register(p);
    const size_t cut = (size - 1) * data[0] / 255;
    fuzz_write(fa, data + 1, cut);
    fuzz_write(fb, data + 1 + cut, size - 1 - cut);
    lam_text_samples *ts = NULL;
    lam_error_clear();
    s = lam_load_textcls(dir, &ts);
    fuzz_check(s, ts, "lam_load_textcls");
    if (!ts) return 0;
    text_readers_touch(ts);
    lam_text_samples_shuffle(ts, data[0]);
    text_readers_touch(ts);
    char *joined = NULL;
    lam_tokenizer *t = NULL;
    lam_dataset *ids = NULL, *counts = NULL;
    if (lam_text_samples_join(ts, &joined, &len) != LAM_OK ||
        lam_tokenizer_train(LAM_TOKENIZER_BPE, 300, joined, len, &t) != LAM_OK ||
        lam_textcls_dataset(ts, t, 1 + data[0] % 32, &ids) != LAM_OK ||
        lam_textcls_counts(ts, t, &counts) != LAM_OK) {
        fprintf(stderr, "loaded samples did not tokenise: %s\n", lam_last_error());
        abort();
    }
    fuzz_touch_dataset(ids);
    fuzz_touch_dataset(counts);
    lam_dataset_free(ids);
    lam_dataset_free(counts);
    lam_tokenizer_free(t);
    free(joined);
    lam_text_samples_free(ts);
    return 0;
}
