/* bench_conv_algo.h - the benchmarks' Conv2D, with the family forced by the
 * environment variable LAM_CONV_ALGO (im2col, winograd2, winograd4, direct)
 * through lam_layer_spec.conv_algo. The library itself never reads the
 * environment; this is a benchmark convenience. A family that does not apply
 * to a layer (direct on the seed's second convolution, K = 288) leaves that
 * layer on the automatic choice, with a note on stderr, so one setting can be
 * swept over the whole seed CNN. */
#ifndef BENCH_CONV_ALGO_H
#define BENCH_CONV_ALGO_H

#include <lamina.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lam_status bench_add_conv2d(lam_model *m, int filters, int kh, int kw, lam_activation act)
{
    static const char *const names[] = {"auto", "im2col", "winograd2", "winograd4", "direct"};
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_CONV2D);
    s.units = filters;
    s.kernel[0] = kh;
    s.kernel[1] = kw;
    s.activation = act;
    const char *force = getenv("LAM_CONV_ALGO");
    if (force && *force) {
        int a = 0;
        while (a < LAM_CONV_ALGO_COUNT && strcmp(names[a], force) != 0) a++;
        if (a == LAM_CONV_ALGO_COUNT) {
            fprintf(stderr, "LAM_CONV_ALGO=%s: expected auto, im2col, winograd2, winograd4 "
                    "or direct\n", force);
            return LAM_ERR_ARG;
        }
        s.conv_algo = (lam_conv_algo)a;
        if (lam_model_add(m, &s) == LAM_OK) return LAM_OK;
        fprintf(stderr, "note: %s; that layer keeps the automatic choice\n", lam_last_error());
        s.conv_algo = LAM_CONV_AUTO;
    }
    return lam_model_add(m, &s);
}

#endif
