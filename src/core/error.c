/* error.c - status codes, the per-thread error message, allocation wrappers. */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static _Thread_local char lam_err_msg[1024];

const char *lam_version(void) { return "0.1.0"; }

const char *lam_last_error(void) { return lam_err_msg; }

void lam_error_clear(void) { lam_err_msg[0] = '\0'; }

const char *lam_status_name(lam_status s)
{
    switch (s) {
    case LAM_OK: return "ok";
    case LAM_ERR_ARG: return "bad argument";
    case LAM_ERR_NOMEM: return "out of memory";
    case LAM_ERR_IO: return "i/o error";
    case LAM_ERR_FORMAT: return "malformed input";
    case LAM_ERR_SHAPE: return "shape mismatch";
    case LAM_ERR_STATE: return "wrong state";
    case LAM_ERR_NUMERIC: return "non-finite value";
    case LAM_ERR_UNSUPPORTED: return "unsupported";
    case LAM_ERR_INTERRUPTED: return "interrupted";
    default: return "unknown error";
    }
}

lam_status lam_error(lam_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lam_err_msg, sizeof lam_err_msg, fmt, ap);
    va_end(ap);
    return status;
}

lam_status lam_error_context(lam_status status, const char *fmt, ...)
{
    char prefix[512], old[sizeof lam_err_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, lam_err_msg, sizeof old);
    snprintf(lam_err_msg, sizeof lam_err_msg, "%s: %s", prefix, old);
    return status;
}

/* ------------------------------------------------------------ allocation */

static long lam_fail_countdown; /* 0 = never fail */

void lam_testing_fail_alloc_after(long n) { lam_fail_countdown = n > 0 ? n : 0; }

static int lam_alloc_should_fail(size_t n)
{
    if (lam_fail_countdown > 0 && --lam_fail_countdown == 0) {
        lam_error(LAM_ERR_NOMEM, "out of memory allocating %zu bytes (injected)", n);
        return 1;
    }
    return 0;
}

void *lam_malloc(size_t n)
{
    if (lam_alloc_should_fail(n)) return NULL;
    void *p = malloc(n ? n : 1);
    if (!p) lam_error(LAM_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *lam_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        lam_error(LAM_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    if (lam_alloc_should_fail(count * size)) return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) lam_error(LAM_ERR_NOMEM, "out of memory allocating %zu bytes", count * size);
    return p;
}

void *lam_realloc(void *old, size_t n)
{
    if (lam_alloc_should_fail(n)) return NULL;
    void *p = realloc(old, n ? n : 1);
    if (!p) lam_error(LAM_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void lam_free(void *p) { free(p); }

char *lam_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = lam_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *lam_alloc_aligned(size_t n)
{
    if (lam_alloc_should_fail(n)) return NULL;
    size_t rounded = (n + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) {
        lam_error(LAM_ERR_NOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
    memset(p, 0, rounded ? rounded : 64);
    return p;
}

void lam_free_aligned(void *p) { free(p); }

/* --------------------------------------------------------------- threads */

static volatile int lam_stop_flag;
void lam_request_stop(void) { lam_stop_flag = 1; }
void lam_clear_stop(void) { lam_stop_flag = 0; }
int lam_stop_requested(void) { return lam_stop_flag; }

void lam_set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n > 0 ? n : omp_get_num_procs());
#else
    (void)n;
#endif
}

int lam_get_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

double lam_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
