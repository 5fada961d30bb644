/* bench_tree_shap.c - time of exact TreeSHAP on Fashion-MNIST (784 features,
 * 10 classes): a random forest is trained, then path-dependent and
 * interventional SHAP values of test rows are computed, and the time per row
 * printed (wall and process CPU, since the machine may be shared).
 *
 *   bench_tree_shap [--limit N] [--trees T] [--rows R] [--background B] [--threads T]
 */
#include "lamina.h"
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load(bool train, int64_t limit, float **x, int32_t **y, int64_t *n)
{
    lam_dataset *ds;
    if (lam_load_fashion_mnist(getenv("LAMINA_DATA"), train, &ds) != LAM_OK) {
        fprintf(stderr, "bench_tree_shap: %s\n", lam_last_error());
        return 1;
    }
    *n = lam_dataset_count(ds);
    if (limit > 0 && limit < *n) *n = limit;
    *x = malloc(sizeof(float) * (size_t)(*n * 784));
    *y = malloc(sizeof(int32_t) * (size_t)*n);
    lam_status s = lam_dataset_gather(ds, NULL, *n, *x, *y, NULL);
    lam_dataset_free(ds);
    return s != LAM_OK;
}

int main(int argc, char **argv)
{
    long limit = 60000, trees = 100, rows = 20, background = 10, threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = atol(argv[i + 1]);
        if (!strcmp(argv[i], "--limit")) limit = v;
        else if (!strcmp(argv[i], "--trees")) trees = v;
        else if (!strcmp(argv[i], "--rows")) rows = v;
        else if (!strcmp(argv[i], "--background")) background = v;
        else if (!strcmp(argv[i], "--threads")) threads = v;
        else {
            fprintf(stderr, "bench_tree_shap: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    lam_set_threads((int)threads);
    float *xtr, *xte;
    int32_t *ytr, *yte;
    int64_t ntr, nte;
    if (load(true, limit, &xtr, &ytr, &ntr) || load(false, rows, &xte, &yte, &nte)) return 1;
    lam_forest_params p = lam_forest_defaults();
    p.n_trees = (int)trees;
    lam_forest *f;
    double t0 = bench_wall();
    if (lam_forest_create(&f, &p) != LAM_OK || lam_forest_fit(f, xtr, ntr, 784, ytr) != LAM_OK) {
        fprintf(stderr, "bench_tree_shap: %s\n", lam_last_error());
        return 1;
    }
    int64_t nodes = 0;
    int depth = 0;
    for (int i = 0; i < lam_forest_num_trees(f); i++) {
        nodes += lam_tree_node_count(lam_forest_tree(f, i));
        if (lam_tree_depth(lam_forest_tree(f, i)) > depth) depth = lam_tree_depth(lam_forest_tree(f, i));
    }
    printf("forest: %ld trees on %lld samples in %.1f s, %lld nodes (%.0f a tree), depth <= %d, "
           "%d threads\n", trees, (long long)ntr, bench_wall() - t0, (long long)nodes,
           (double)nodes / trees, depth, lam_get_threads());
    double *phi = malloc(sizeof(double) * (size_t)(nte * 784 * 10)), expected[10];
    double w = bench_wall(), c = bench_cpu();
    if (lam_forest_shap(f, xte, nte, 784, phi, expected) != LAM_OK) return 1;
    printf("path-dependent: %.2f ms a row wall, %.2f ms CPU (%lld rows)\n",
           (bench_wall() - w) / nte * 1e3, (bench_cpu() - c) / nte * 1e3, (long long)nte);
    w = bench_wall();
    c = bench_cpu();
    if (lam_forest_shap_interventional(f, xtr, background, xte, nte, 784, phi, expected) != LAM_OK)
        return 1;
    printf("interventional (%ld background rows): %.2f ms a row wall, %.2f ms CPU\n", background,
           (bench_wall() - w) / nte * 1e3, (bench_cpu() - c) / nte * 1e3);
    lam_forest_free(f);
    free(phi);
    free(xtr);
    free(xte);
    free(ytr);
    free(yte);
    return 0;
}
