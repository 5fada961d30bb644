/* test.h - the few macros every test uses. A test file is a program whose
 * main() runs its checks and returns test_summary(). */
#ifndef LAM_TEST_H
#define LAM_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int test_failures, test_checks;

/* A whole file: *n bytes, NUL-terminated (so text can be read as a string);
 * NULL when it cannot be read. Free with free(). */
static inline unsigned char *test_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = len >= 0 ? malloc((size_t)len + 1) : NULL;
    size_t got = b ? fread(b, 1, (size_t)len, f) : 0;
    fclose(f);
    if (b && got != (size_t)len) {
        free(b);
        return NULL;
    }
    if (b) b[got] = '\0';
    *n = got;
    return b;
}

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        test_checks++;                                                     \
        if (!(cond)) {                                                     \
            test_failures++;                                               \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

/* A call that must succeed; prints lam_last_error() otherwise. */
#define CHECK_OK(expr)                                                     \
    do {                                                                   \
        lam_status check_ok_s_ = (expr);                                   \
        CHECK(check_ok_s_ == LAM_OK, "%s returned %d: %s", #expr, check_ok_s_, lam_last_error()); \
    } while (0)

/* A call that must fail with status st and a message containing needle. */
#define CHECK_FAILS(expr, st, needle)                                      \
    do {                                                                   \
        lam_status check_f_s_ = (expr);                                    \
        CHECK(check_f_s_ == (st), "%s returned %d, expected %d (%s)", #expr, check_f_s_, (st), \
              lam_last_error());                                           \
        CHECK(strstr(lam_last_error(), (needle)) != NULL,                  \
              "message \"%s\" lacks \"%s\"", lam_last_error(), (needle));  \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                              \
    CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.9g, %s = %.9g, tol %g", #a, \
          (double)(a), #b, (double)(b), (double)(tol))

/* Test data: xorshift64, one deterministic stream per test program. */
static uint64_t test_rng_state __attribute__((unused)) = 0x9E3779B97F4A7C15ull;
static inline uint32_t test_rnd(void)
{
    test_rng_state ^= test_rng_state << 13;
    test_rng_state ^= test_rng_state >> 7;
    test_rng_state ^= test_rng_state << 17;
    return (uint32_t)(test_rng_state >> 32);
}
/* Uniform in [-1, 1). */
static inline float test_rndf(void) { return (float)test_rnd() / 4294967296.0f * 2.0f - 1.0f; }

static inline int test_summary(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures ? 1 : 0;
}

#endif
