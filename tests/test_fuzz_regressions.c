/* test_fuzz_regressions.c - replays every file of fuzz/regressions/<target>/
 * (inputs that once crashed a fuzz target, kept after the fix) and of the
 * seed corpora fuzz/corpus/<target>/ through the fuzz targets themselves, so
 * that each file goes through the readers exactly as the fuzzer fed it.
 * Each call must either load or fail with a non-empty lam_last_error() and
 * no result (the targets abort otherwise, which fails this test); under
 * `make test-sanitize` any memory error or leak fails it too. Every seed
 * file must load. Every regression file must be refused with the message
 * the table below expects for it (a refusal for another reason would mean
 * the check its fix added no longer runs), and every file in
 * fuzz/regressions/ must be in the table. Run from tests/ (ctest does). */
#include "lamina.h"
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each target as a plain function. */
#define LLVMFuzzerTestOneInput fuzz_idx_one
#include "../fuzz/fuzz_idx.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_csv_one
#include "../fuzz/fuzz_csv.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_npy_one
#include "../fuzz/fuzz_npy.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_libsvm_one
#include "../fuzz/fuzz_libsvm.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_json_spec_one
#include "../fuzz/fuzz_json_spec.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_model_file_one
#include "../fuzz/fuzz_model_file.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_tokenizer_json_one
#include "../fuzz/fuzz_tokenizer_json.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_tokenizer_encode_one
#include "../fuzz/fuzz_tokenizer_encode.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_text_readers_one
#include "../fuzz/fuzz_text_readers.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_encrypted_one
#include "../fuzz/fuzz_encrypted.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_csv_table_one
#include "../fuzz/fuzz_csv_table.c"
#undef LLVMFuzzerTestOneInput

static const struct {
    const char *name;
    int (*one)(const uint8_t *, size_t);
} targets[] = {
    {"fuzz_idx", fuzz_idx_one},       {"fuzz_csv", fuzz_csv_one},
    {"fuzz_npy", fuzz_npy_one},       {"fuzz_libsvm", fuzz_libsvm_one},
    {"fuzz_json_spec", fuzz_json_spec_one}, {"fuzz_model_file", fuzz_model_file_one},
    {"fuzz_tokenizer_json", fuzz_tokenizer_json_one},
    {"fuzz_tokenizer_encode", fuzz_tokenizer_encode_one},
    {"fuzz_text_readers", fuzz_text_readers_one},
    {"fuzz_encrypted", fuzz_encrypted_one},
    {"fuzz_csv_table", fuzz_csv_table_one},
};

/* Each regression input (fuzz/regressions/<target>/<file>) and a substring
 * of the refusal it must get. Add a line with every new regression file. */
static const struct {
    const char *target, *file, *expect;
} expected_refusals[] = {
    /* 2.3 GB of dense zeros asked for by a 636-byte file (libsvm.c's 2^28-value bound) */
    {"fuzz_libsvm", "oom-expands-to-2gb", "features is too large for a dense data set (at most "
                                          "16777216 features and 268435456 values)"},
    /* one index of 3e9 (libsvm.c's 2^24-feature bound) */
    {"fuzz_libsvm", "oom-huge-index", "2 samples x 3000000000 features is too large for a dense "
                                      "data set"},
};

static const char *expected_refusal(const char *target, const char *file)
{
    for (size_t i = 0; i < sizeof expected_refusals / sizeof *expected_refusals; i++)
        if (!strcmp(expected_refusals[i].target, target) && !strcmp(expected_refusals[i].file, file))
            return expected_refusals[i].expect;
    return NULL;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    uint8_t *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            uint8_t *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    *n = len;
    return b;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every file of folder through target t; returns the file count.
 * seeds: each file must load at least one way (the idx and npy targets read
 * each input two ways, as images and as labels, as x and as y). */
static int matched; /* regression files whose refusal matched the table */

static int replay(int t, const char *folder, bool seeds)
{
    char dirpath[512];
    snprintf(dirpath, sizeof dirpath, "../fuzz/%s/%s", folder, targets[t].name);
    DIR *d = opendir(dirpath);
    if (!d) {
        CHECK(!seeds, "%s: %s", dirpath, strerror(errno));
        return 0;
    }
    char *names[512];
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && count < 512)
        if (e->d_name[0] != '.') names[count++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)count, sizeof *names, by_name);
    for (int i = 0; i < count; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dirpath, names[i]);
        size_t n = 0;
        uint8_t *data = slurp(path, &n);
        CHECK(data != NULL, "cannot read %s", path);
        if (data) {
            long loaded = fuzz_loaded, failed = fuzz_failed;
            fuzz_refusals[0] = '\0';
            targets[t].one(data, n);
            long l = fuzz_loaded - loaded, f = fuzz_failed - failed;
            test_checks++;
            if (seeds) CHECK(l > 0, "seed %s does not load: %s", path, lam_last_error());
            if (!seeds) {
                const char *want = expected_refusal(targets[t].name, names[i]);
                CHECK(want != NULL, "%s: not in the table of expected refusals", path);
                CHECK(!want || (l == 0 && strstr(fuzz_refusals, want)),
                      "%s: %ld loads; refusals \"%s\" lack \"%s\"", path, l, fuzz_refusals,
                      want ? want : "");
                if (want) matched++;
            }
            printf("  %s: %ld loaded, %ld refused%s%s\n", path, l, f, f ? ": " : "",
                   f ? fuzz_last_refusal : "");
        }
        free(data);
        free(names[i]);
    }
    return count;
}

int main(void)
{
    lam_set_threads(1);
    int regressions = 0, seeds = 0;
    /* A build without libsodium cannot read the encrypted seeds. */
    lam_key *probe = NULL;
    const bool sodium = lam_key_generate(&probe) == LAM_OK;
    lam_key_free(probe);
    for (int t = 0; t < (int)(sizeof targets / sizeof *targets); t++) {
        if (!sodium && targets[t].one == fuzz_encrypted_one) {
            printf("%s: skipped (built without libsodium)\n", targets[t].name);
            continue;
        }
        regressions += replay(t, "regressions", false);
        seeds += replay(t, "corpus", true);
    }
    CHECK(seeds >= 12, "only %d seed files found (run from tests/)", seeds);
    /* Every table entry was found and checked (a renamed file is noticed). */
    const int entries = (int)(sizeof expected_refusals / sizeof *expected_refusals);
    CHECK(matched == entries, "%d of the %d expected refusals were checked; a regression "
          "file is missing", matched, entries);
    printf("replayed %d regression files and %d seed files; %ld loads, %ld refusals\n",
           regressions, seeds, fuzz_loaded, fuzz_failed);
    fuzz_cleanup();
    return test_summary("test_fuzz_regressions");
}
