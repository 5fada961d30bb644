/* fixture.h - reads the little .npy fixtures in tests/fixtures (float32, C
 * order, NumPy format 1.0) without the library, so the tests do not depend
 * on the reader they may be testing. */
#ifndef LAM_TEST_FIXTURE_H
#define LAM_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returns a malloc'ed array and its element count, or NULL. */
static float *fixture_load(const char *name, long *count)
{
    char path[256];
    snprintf(path, sizeof path, "fixtures/%s", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fixture %s: cannot open\n", path);
        return NULL;
    }
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fclose(f);
        return NULL;
    }
    size_t hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    char *hdr = calloc(1, hlen + 1);
    if (!hdr || fread(hdr, 1, hlen, f) != hlen || !strstr(hdr, "'<f4'")) {
        free(hdr);
        fclose(f);
        return NULL;
    }
    long n = 1;
    char *s = strstr(hdr, "'shape': (");
    if (s) {
        s += 10;
        while (*s && *s != ')') {
            long d = strtol(s, &s, 10);
            if (d > 0) n *= d;
            while (*s == ',' || *s == ' ') s++;
        }
    }
    free(hdr);
    float *data = malloc(sizeof(float) * (size_t)n);
    if (!data || fread(data, sizeof(float), (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    if (count) *count = n;
    return data;
}

#endif
