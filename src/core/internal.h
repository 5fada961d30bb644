/* internal.h - what every part of liblamina shares and users never see. */
#ifndef LAM_INTERNAL_H
#define LAM_INTERNAL_H

#include "lamina.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

/* Records a message for lam_last_error() and returns status, so a failure
 * reads: return lam_error(LAM_ERR_FORMAT, "%s: bad magic %08x", path, m); */
lam_status lam_error(lam_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with more context ("loading m.st: ..."). */
lam_status lam_error_context(lam_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void lam_error_clear(void);

/* Every allocation goes through these so that failure can be injected
 * (lam_testing_fail_alloc_after). They set the error message on failure. */
void *lam_malloc(size_t n);
void *lam_calloc(size_t count, size_t size);
void *lam_realloc(void *p, size_t n);
void lam_free(void *p);
char *lam_strdup(const char *s);
/* 64-byte aligned, zeroed; free with lam_free_aligned. */
void *lam_alloc_aligned(size_t n);
void lam_free_aligned(void *p);

#define LAM_TRY(expr)                         \
    do {                                      \
        lam_status lam_try_s_ = (expr);       \
        if (lam_try_s_ != LAM_OK) return lam_try_s_; \
    } while (0)

/* ------------------------------------------------------------------ rng */
/* xoshiro256**: fast, 256-bit state, reproducible across platforms. */
typedef struct lam_rng { uint64_t s[4]; } lam_rng;
void lam_rng_seed(lam_rng *r, uint64_t seed);
uint64_t lam_rng_next(lam_rng *r);
/* Uniform in [0, 1). */
double lam_rng_uniform(lam_rng *r);
/* Standard normal (Box-Muller). */
double lam_rng_normal(lam_rng *r);
/* Uniform integer in [0, n). */
uint64_t lam_rng_below(lam_rng *r, uint64_t n);
/* A generator derived from (seed, a, b) without touching any other state:
 * dropout masks use it so that they do not depend on thread scheduling. */
void lam_rng_derive(lam_rng *r, uint64_t seed, uint64_t a, uint64_t b);

/* --------------------------------------------------------------- dataset */
struct lam_dataset {
    int64_t n;
    int rank;
    int64_t shape[4];
    int64_t sample_size;
    lam_dtype dtype;
    void *x;
    float scale;        /* for LAM_U8 */
    int32_t *labels;    /* n * label_size, or NULL */
    int64_t label_size; /* labels per sample (1; T for per-position labels) */
    float *weights;     /* n * label_size per-label weights, or NULL (all 1) */
    float *targets;     /* n * target_size, or NULL */
    int64_t target_size;
    /* Samples in read-only file mappings (io/mapped.h) instead of x, which is
     * then NULL: sample j is mapped sample mapped_first + j. */
    struct lam_mapped *mapped;
    int64_t mapped_first;
};

/* A data set of n samples holding x (allocated with lam_malloc), which it
 * takes over on success (on failure the caller still owns x), with n zeroed
 * labels. */
lam_status lam_dataset_adopt(lam_dataset **out, lam_dtype dtype, int64_t n, int rank,
                             const int64_t *shape, void *x);

/* lam_dataset_gather, where idx NULL means samples first, first+1, ... */
lam_status lam_dataset_gather_at(const lam_dataset *ds, const int64_t *idx, int64_t first,
                                 int64_t count, float *x, int32_t *labels, float *targets,
                                 float *weights);

/* ----------------------------------------------------------------- UTF-8 */
/* Decodes one code point of strict UTF-8 (as Python's decoder: no overlong
 * forms, surrogates or values above U+10FFFF) from s[0..n): returns its length
 * in bytes, or 0 when s does not start with a valid sequence. */
size_t lam_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* The byte offset of the first invalid sequence in text[0..n), or -1. */
int64_t lam_utf8_invalid_at(const char *text, size_t n);
/* Writes cp (<= U+10FFFF) as UTF-8; returns its length (1 to 4). */
size_t lam_utf8_encode(uint32_t cp, char out[4]);

/* Set by lam_request_stop(). */
int lam_stop_requested(void);

/* Flush denormal floats to zero in this thread and lamina's worker threads
 * (see fpu.c); returns what lam_fpu_flush_end restores in this thread. */
unsigned lam_fpu_flush_begin(void);
void lam_fpu_flush_end(unsigned saved);

/* Monotonic seconds. */
double lam_now(void);

/* The folder holding path into dir ("." for a bare name, "/" for the root). */
void lam_path_folder(const char *path, char *dir, size_t n);
/* Writes path atomically: data goes to a temporary file next to it, is
 * fsync'ed, then renamed over path. write_fn is called with the open FILE. */
typedef lam_status (*lam_write_fn)(FILE *f, void *user);
lam_status lam_write_atomic(const char *path, lam_write_fn fn, void *user);

#endif
