/* fuzz_common.h - what the libFuzzer targets share.
 *
 * lamina's readers take paths, so every input is written to a per-process
 * temporary file first (/dev/shm when it exists: no disk I/O per exec).
 * After each call the target checks lamina's contract: a failure leaves a
 * non-empty lam_last_error() and no output handle; a success gives one. A
 * broken contract aborts, which libFuzzer records as a crash. */
#ifndef LAM_FUZZ_COMMON_H
#define LAM_FUZZ_COMMON_H

#include "lamina.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* From src/core/internal.h: empties lam_last_error(), so that a message left
 * by an earlier input cannot hide a failure that sets none. */
void lam_error_clear(void);

/* Every path handed out, removed at exit (last first: files in a folder go
 * before the folder). */
static char fuzz_paths[32][256];
static int fuzz_npaths;

static void fuzz_cleanup(void)
{
    for (int i = fuzz_npaths - 1; i >= 0; i--) remove(fuzz_paths[i]);
    fuzz_npaths = 0;
}

/* Registers path for removal at exit; returns the registered copy. */
static inline const char *fuzz_register(const char *p)
{
    for (int i = 0; i < fuzz_npaths; i++)
        if (!strcmp(fuzz_paths[i], p)) return fuzz_paths[i];
    if (fuzz_npaths == 32 || strlen(p) >= sizeof fuzz_paths[0]) abort();
    if (!fuzz_npaths) atexit(fuzz_cleanup);
    strcpy(fuzz_paths[fuzz_npaths], p);
    return fuzz_paths[fuzz_npaths++];
}

/* The path of temporary file k for this process and extension, e.g.
 * /dev/shm/lamina-fuzz-1234-0.idx. */
static inline const char *fuzz_path(int k, const char *ext)
{
    char p[256];
    struct stat st;
    const char *dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(p, sizeof p, "%s/lamina-fuzz-%ld-%d%s", dir, (long)getpid(), k, ext);
    return fuzz_register(p);
}

static inline void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        abort();
    }
    if (size && fwrite(data, 1, size, f) != size) {
        perror(path);
        abort();
    }
    if (fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* Calls that loaded and that failed (tests/test_fuzz_regressions counts). */
static long fuzz_loaded, fuzz_failed;
static char fuzz_last_refusal[512];
/* Every refusal since the caller last cleared it, "; "-separated (a target
 * may read one input several ways; the regression test looks for the one it
 * expects among them). */
static char fuzz_refusals[2048];

/* Aborts when a status and its error message disagree. */
static void fuzz_check(lam_status s, const void *out, const char *what)
{
    if (s == LAM_OK) fuzz_loaded++;
    else {
        fuzz_failed++;
        snprintf(fuzz_last_refusal, sizeof fuzz_last_refusal, "%s", lam_last_error());
        size_t used = strlen(fuzz_refusals);
        snprintf(fuzz_refusals + used, sizeof fuzz_refusals - used, "%s%s", used ? "; " : "",
                 lam_last_error());
    }
    if (s == LAM_OK) {
        if (!out) {
            fprintf(stderr, "%s: LAM_OK without a result\n", what);
            abort();
        }
        return;
    }
    if (s > 0 || s < LAM_ERR_INTERRUPTED) {
        fprintf(stderr, "%s: status %d is not a lam_status\n", what, s);
        abort();
    }
    if (!lam_last_error()[0]) {
        fprintf(stderr, "%s: failed with status %d (%s) but an empty lam_last_error()\n",
                what, s, lam_status_name(s));
        abort();
    }
    if (out) {
        fprintf(stderr, "%s: failed with status %d but set its output\n", what, s);
        abort();
    }
}

/* Touches every byte of a loaded data set so that ASan sees a short buffer. */
__attribute__((unused)) static void fuzz_touch_dataset(lam_dataset *ds)
{
    if (!ds) return;
    int64_t n = lam_dataset_count(ds), ss = lam_dataset_sample_size(ds);
    size_t es = lam_dataset_dtype(ds) == LAM_U8 ? 1 : sizeof(float);
    volatile unsigned char acc = 0;
    const unsigned char *x = lam_dataset_x(ds);
    if (x && n > 0 && ss > 0) {
        acc ^= x[0];
        acc ^= x[(size_t)(n * ss) * es - 1];
    }
    float *row = !x && n > 0 && ss > 0 ? malloc(sizeof(float) * (size_t)ss) : NULL;
    if (row) { /* a mapped data set: its first and last samples, read through the mapping */
        const int64_t ends[2] = {0, n - 1};
        for (int k = 0; k < 2; k++)
            if (lam_dataset_gather(ds, &ends[k], 1, row, NULL, NULL) == LAM_OK)
                acc ^= (unsigned char)(row[0] > 0.5f) ^ (unsigned char)(row[ss - 1] > 0.5f);
        free(row);
    }
    int32_t *y = lam_dataset_labels(ds);
    if (y && n > 0) acc ^= (unsigned char)(y[0] ^ y[n - 1]);
    float *t = lam_dataset_targets(ds);
    int64_t ts = lam_dataset_target_size(ds);
    if (t && n > 0 && ts > 0) acc ^= (unsigned char)(t[n * ts - 1] > 0);
    (void)acc;
    (void)lam_dataset_num_classes(ds);
}

/* A data set reader's result: fuzz_check, then every byte touched, then freed. */
__attribute__((unused)) static void fuzz_check_dataset(lam_status s, lam_dataset *ds,
                                                       const char *what)
{
    fuzz_check(s, ds, what);
    fuzz_touch_dataset(ds);
    lam_dataset_free(ds);
}

/* A small model that loaded must predict (a zero input, batch 1): its
 * layers' shapes and weights came from the fuzzed bytes. */
__attribute__((unused)) static void fuzz_predict_small(lam_model *m)
{
    if (m && lam_model_num_inputs(m) == 1 && lam_model_input_size(m) <= 4096 &&
        lam_model_num_outputs(m) == 1 && lam_model_output_size(m) <= 4096) {
        float x[4096] = {0}, y[4096];
        (void)lam_predict_raw(m, x, 1, y);
    }
}

#endif
