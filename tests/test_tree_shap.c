/* test_tree_shap.c - exact SHAP values of trees and forests (path-dependent
 * and interventional), permutation importance and surrogate trees.
 *
 * SHAP values are checked three ways: local accuracy (they add up to the
 * prediction), against Shapley values enumerated over all 2^d subsets here
 * (the games written out directly from their definitions), and against the
 * `shap` package's TreeExplainer on scikit-learn trees (fixtures/shap, made by
 * make_shap_fixtures.py). */
#include "classic/classic.h"
#include "lamina.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#define TOL 1e-6

/* ------------------------------------------------------------ test data */

/* n rows of d features in [-1, 1) and labels of k classes that depend on the
 * first features (so trees split on several of them, some twice on a path). */
static void make_data(int64_t n, int64_t d, int k, float *x, int32_t *y)
{
    for (int64_t i = 0; i < n * d; i++) x[i] = test_rndf();
    for (int64_t i = 0; i < n; i++) {
        const float *r = x + i * d;
        float s = r[0] + 0.5f * r[1] * r[2] + (d > 3 ? 0.3f * r[3] : 0) + 0.2f * test_rndf();
        int c = (int)((s + 1.5f) / 3.0f * k);
        y[i] = c < 0 ? 0 : c >= k ? k - 1 : c;
    }
}

static const lam_tree_arrays *arrays(const lam_tree *t) { return lam_tree_raw((lam_tree *)t); }

/* ------------------------------------------------------ brute force */

/* Path-dependent game: E[f(x) | x_S] by the tree's covers, into v (k). */
static void cond_expect(const lam_tree *t, int64_t node, const float *x, unsigned mask, double w,
                        double *v)
{
    const lam_tree_arrays *a = arrays(t);
    const int32_t k = lam_tree_num_classes(t);
    const int32_t f = a->feature[node];
    if (f < 0) {
        for (int32_t c = 0; c < k; c++) v[c] += w * a->value[node * k + c];
        return;
    }
    if (mask >> f & 1u) {
        int64_t next = (double)x[f] <= a->threshold[node] ? a->left[node] : a->right[node];
        cond_expect(t, next, x, mask, w, v);
    } else {
        const double cover = a->weighted[node];
        cond_expect(t, a->left[node], x, mask, w * a->weighted[a->left[node]] / cover, v);
        cond_expect(t, a->right[node], x, mask, w * a->weighted[a->right[node]] / cover, v);
    }
}

/* Interventional game: mean over the background of f(x_S, b_not S). */
static void intervene(const lam_tree *t, const float *x, const float *bg, int64_t nb, int d,
                      unsigned mask, double *v)
{
    float *z = malloc(sizeof(float) * (size_t)d);
    const int32_t k = lam_tree_num_classes(t);
    double *acc = calloc((size_t)k, sizeof *acc);
    for (int64_t b = 0; b < nb; b++) {
        for (int j = 0; j < d; j++) z[j] = (mask >> j & 1u) ? x[j] : bg[b * d + j];
        lam_tree_accumulate(t, z, acc);
    }
    for (int32_t c = 0; c < k; c++) v[c] += acc[c] / (double)nb;
    free(acc);
    free(z);
}

/* Shapley values of the game given by its 2^d values (mask -> k values) into
 * phi (d * k): sum over S without i of |S|! (d-|S|-1)! / d! (v(S+i) - v(S)). */
static void shapley(const double *game, int d, int k, double *phi)
{
    double fact[16] = {1};
    for (int i = 1; i < 16; i++) fact[i] = fact[i - 1] * i;
    memset(phi, 0, sizeof(double) * (size_t)(d * k));
    for (unsigned s = 0; s < (1u << d); s++) {
        const int size = __builtin_popcount(s);
        for (int i = 0; i < d; i++) {
            if (s >> i & 1u) continue;
            const double w = fact[size] * fact[d - size - 1] / fact[d];
            for (int c = 0; c < k; c++)
                phi[i * k + c] += w * (game[(s | 1u << i) * k + c] - game[s * k + c]);
        }
    }
}

/* Brute-force SHAP of one row for trees[0..nt) (averaged), either game. */
static void brute_force(const lam_tree *const *trees, int nt, const float *x, const float *bg,
                        int64_t nb, int d, int k, double *phi)
{
    double *game = calloc((size_t)(1u << d) * (size_t)k, sizeof *game);
    for (unsigned s = 0; s < (1u << d); s++)
        for (int t = 0; t < nt; t++) {
            double *v = game + s * k;
            if (bg) intervene(trees[t], x, bg, nb, d, s, v);
            else cond_expect(trees[t], 0, x, s, 1.0, v);
        }
    for (size_t i = 0; i < (size_t)(1u << d) * (size_t)k; i++) game[i] /= nt;
    shapley(game, d, k, phi);
    free(game);
}

/* ------------------------------------------------------------ helpers */

static double max_abs_diff(const double *a, const double *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]);
        if (!(e <= m)) m = e;
    }
    return m;
}

/* Worst |sum phi + expected - proba| over rows and classes. */
static double local_accuracy(const double *phi, const double *expected, const float *proba,
                             int64_t n, int64_t d, int k)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < k; c++) {
            double s = expected[c];
            for (int64_t j = 0; j < d; j++) s += phi[(i * d + j) * k + c];
            double e = fabs(s - proba[i * k + c]);
            if (!(e <= worst)) worst = e;
        }
    return worst;
}

/* Mean over background rows of the forest's (or tree's) probabilities. */
static void mean_proba(const float *proba, int64_t nb, int k, double *out)
{
    for (int c = 0; c < k; c++) {
        out[c] = 0;
        for (int64_t b = 0; b < nb; b++) out[c] += proba[b * k + c];
        out[c] /= (double)nb;
    }
}

/* ------------------------------------------------------------ tests */

static double worst_brute_path, worst_brute_inter, worst_local;

static void test_tree_vs_brute_force(void)
{
    enum { N = 400, D = 7, K = 3, NX = 12, NB = 9 };
    float *x = malloc(sizeof(float) * N * D);
    int32_t *y = malloc(sizeof(int32_t) * N);
    make_data(N, D, K, x, y);
    lam_tree_params p = lam_tree_defaults();
    p.max_depth = 9;
    lam_tree *t;
    CHECK_OK(lam_tree_create(&t, &p));
    CHECK_OK(lam_tree_fit(t, x, N, D, y));
    CHECK(lam_tree_depth(t) >= 6, "tree depth %d: too shallow to test paths", lam_tree_depth(t));
    /* Some path must split twice on one feature, or UNWIND goes untested. */
    const lam_tree_arrays *a = arrays(t);
    int repeats = 0;
    for (int64_t i = 0; i < a->nodes; i++)
        if (a->feature[i] >= 0)
            repeats += a->feature[a->left[i]] == a->feature[i] ||
                       a->feature[a->right[i]] == a->feature[i];
    CHECK(repeats > 0, "no parent and child split on one feature");

    const float *xs = x, *bg = x + NX * D; /* NX rows explained, NB background rows */
    double phi[NX * D * K], exp_[K], ref[D * K];
    float proba[NX * K], bgp[NB * K];
    CHECK_OK(lam_tree_shap(t, xs, NX, D, phi, exp_));
    CHECK_OK(lam_tree_predict_proba(t, xs, NX, D, proba));
    double la = local_accuracy(phi, exp_, proba, NX, D, K);
    CHECK(la < TOL, "tree path-dependent local accuracy off by %g", la);
    if (la > worst_local) worst_local = la;
    for (int c = 0; c < K; c++) CHECK_NEAR(exp_[c], a->value[c], 1e-12);
    const lam_tree *trees[1] = {t};
    for (int i = 0; i < NX; i++) {
        brute_force(trees, 1, xs + i * D, NULL, 0, D, K, ref);
        double e = max_abs_diff(phi + i * D * K, ref, D * K);
        CHECK(e < TOL, "row %d: path-dependent SHAP differs from enumeration by %g", i, e);
        if (e > worst_brute_path) worst_brute_path = e;
    }

    CHECK_OK(lam_tree_shap_interventional(t, bg, NB, xs, NX, D, phi, exp_));
    CHECK_OK(lam_tree_predict_proba(t, bg, NB, D, bgp));
    double mb[K];
    mean_proba(bgp, NB, K, mb);
    for (int c = 0; c < K; c++) CHECK_NEAR(exp_[c], mb[c], 1e-7); /* mb: float32 probabilities */
    la = local_accuracy(phi, exp_, proba, NX, D, K);
    CHECK(la < TOL, "tree interventional local accuracy off by %g", la);
    if (la > worst_local) worst_local = la;
    for (int i = 0; i < NX; i++) {
        brute_force(trees, 1, xs + i * D, bg, NB, D, K, ref);
        double e = max_abs_diff(phi + i * D * K, ref, D * K);
        CHECK(e < TOL, "row %d: interventional SHAP differs from enumeration by %g", i, e);
        if (e > worst_brute_inter) worst_brute_inter = e;
    }
    /* The enumeration can tell a wrong answer from a right one. */
    phi[3] += 1e-3;
    brute_force(trees, 1, xs, bg, NB, D, K, ref);
    CHECK(max_abs_diff(phi, ref, D * K) > 5e-4, "a perturbed phi still matches");
    lam_tree_free(t);
    free(x);
    free(y);
}

static void test_forest_vs_brute_force_and_threads(void)
{
    enum { N = 300, D = 6, K = 4, NX = 10, NB = 7, NT = 12 };
    float *x = malloc(sizeof(float) * N * D);
    int32_t *y = malloc(sizeof(int32_t) * N);
    make_data(N, D, K, x, y);
    lam_forest_params p = lam_forest_defaults();
    p.n_trees = NT;
    p.max_depth = 7;
    p.seed = 3;
    lam_forest *f;
    CHECK_OK(lam_forest_create(&f, &p));
    CHECK_OK(lam_forest_fit(f, x, N, D, y));
    const lam_tree *trees[NT];
    for (int i = 0; i < NT; i++) trees[i] = lam_forest_tree(f, i);
    const float *xs = x + 50 * D, *bg = x;
    static double phi[NX * D * K], phi1[NX * D * K], ref[D * K];
    double exp_[K], exp1[K];
    float proba[NX * K];
    CHECK_OK(lam_forest_predict_proba(f, xs, NX, D, proba));

    lam_set_threads(1);
    CHECK_OK(lam_forest_shap(f, xs, NX, D, phi1, exp1));
    lam_set_threads(0);
    CHECK_OK(lam_forest_shap(f, xs, NX, D, phi, exp_));
    CHECK(memcmp(phi, phi1, sizeof phi) == 0, "forest SHAP depends on the thread count");
    double la = local_accuracy(phi, exp_, proba, NX, D, K);
    CHECK(la < TOL, "forest path-dependent local accuracy off by %g", la);
    if (la > worst_local) worst_local = la;
    for (int i = 0; i < NX; i++) {
        brute_force(trees, NT, xs + i * D, NULL, 0, D, K, ref);
        double e = max_abs_diff(phi + i * D * K, ref, D * K);
        CHECK(e < TOL, "forest row %d: path-dependent SHAP differs from enumeration by %g", i, e);
        if (e > worst_brute_path) worst_brute_path = e;
    }

    lam_set_threads(1);
    CHECK_OK(lam_forest_shap_interventional(f, bg, NB, xs, NX, D, phi1, exp1));
    lam_set_threads(0);
    CHECK_OK(lam_forest_shap_interventional(f, bg, NB, xs, NX, D, phi, exp_));
    CHECK(memcmp(phi, phi1, sizeof phi) == 0,
          "interventional forest SHAP depends on the thread count");
    la = local_accuracy(phi, exp_, proba, NX, D, K);
    CHECK(la < TOL, "forest interventional local accuracy off by %g", la);
    if (la > worst_local) worst_local = la;
    for (int i = 0; i < NX; i++) {
        brute_force(trees, NT, xs + i * D, bg, NB, D, K, ref);
        double e = max_abs_diff(phi + i * D * K, ref, D * K);
        CHECK(e < TOL, "forest row %d: interventional SHAP differs from enumeration by %g", i, e);
        if (e > worst_brute_inter) worst_brute_inter = e;
    }
    lam_forest_free(f);
    free(x);
    free(y);
}

/* A deep unlimited tree on more data: local accuracy where paths are long. */
static void test_deep_local_accuracy(void)
{
    enum { N = 3000, D = 20, K = 5, NX = 40 };
    float *x = malloc(sizeof(float) * N * D);
    int32_t *y = malloc(sizeof(int32_t) * N);
    make_data(N, D, K, x, y);
    lam_tree *t;
    CHECK_OK(lam_tree_create(&t, NULL));
    CHECK_OK(lam_tree_fit(t, x, N, D, y));
    static double phi[NX * D * K];
    double exp_[K];
    float proba[NX * K];
    CHECK_OK(lam_tree_shap(t, x, NX, D, phi, exp_));
    CHECK_OK(lam_tree_predict_proba(t, x, NX, D, proba));
    double la = local_accuracy(phi, exp_, proba, NX, D, K);
    CHECK(la < TOL, "deep tree (depth %d) local accuracy off by %g", lam_tree_depth(t), la);
    if (la > worst_local) worst_local = la;
    CHECK_OK(lam_tree_shap_interventional(t, x + 100 * D, 50, x, NX, D, phi, exp_));
    la = local_accuracy(phi, exp_, proba, NX, D, K);
    CHECK(la < TOL, "deep tree interventional local accuracy off by %g", la);
    if (la > worst_local) worst_local = la;
    lam_tree_free(t);
    free(x);
    free(y);
}

/* ------------------------------------------------------- shap package */

static void test_against_shap(void)
{
    lam_tree *t = NULL;
    lam_forest *f = NULL;
    lam_st_file vf;
    CHECK_OK(lam_tree_load("fixtures/shap/tree.safetensors", &t));
    CHECK_OK(lam_forest_load("fixtures/shap/forest.safetensors", &f));
    lam_status s = lam_st_open(&vf, "fixtures/shap/values.safetensors", "shap_fixture");
    CHECK(s == LAM_OK, "values fixture: %s", lam_last_error());
    if (!t || !f || s != LAM_OK) {
        lam_tree_free(t);
        lam_forest_free(f);
        return;
    }
    const int64_t d = lam_tree_num_features(t), k = lam_tree_num_classes(t);
    int64_t xs[2] = {-1, d}, bs[2] = {-1, d};
    float *x = NULL, *bg = NULL;
    CHECK_OK(lam_st_tensor_copy(&vf, "x", LAM_ST_F32, 2, xs, (void **)&x));
    CHECK_OK(lam_st_tensor_copy(&vf, "background", LAM_ST_F32, 2, bs, (void **)&bg));
    const int64_t n = xs[0], nb = bs[0];
    double *phi = malloc(sizeof(double) * (size_t)(n * d * k)), expected[16];
    struct { const char *name; int forest, inter; } cases[] = {
        {"tree_path", 0, 0}, {"tree_interventional", 0, 1},
        {"forest_path", 1, 0}, {"forest_interventional", 1, 1},
    };
    for (int c = 0; c < 4 && x && bg; c++) {
        if (cases[c].forest && cases[c].inter)
            CHECK_OK(lam_forest_shap_interventional(f, bg, nb, x, n, d, phi, expected));
        else if (cases[c].forest)
            CHECK_OK(lam_forest_shap(f, x, n, d, phi, expected));
        else if (cases[c].inter)
            CHECK_OK(lam_tree_shap_interventional(t, bg, nb, x, n, d, phi, expected));
        else
            CHECK_OK(lam_tree_shap(t, x, n, d, phi, expected));
        char name[64];
        int64_t ps[2] = {n, d * k}, es[1] = {k};
        double *ref = NULL, *ref_e = NULL;
        CHECK_OK(lam_st_tensor_copy(&vf, cases[c].name, LAM_ST_F64, 2, ps, (void **)&ref));
        snprintf(name, sizeof name, "%s_expected", cases[c].name);
        CHECK_OK(lam_st_tensor_copy(&vf, name, LAM_ST_F64, 1, es, (void **)&ref_e));
        if (ref && ref_e) {
            double e = max_abs_diff(phi, ref, n * d * k);
            double ee = max_abs_diff(expected, ref_e, k);
            CHECK(e < TOL, "%s: differs from shap by %g", cases[c].name, e);
            CHECK(ee < TOL, "%s: expected value differs from shap by %g", cases[c].name, ee);
            double big = 0;
            for (int64_t i = 0; i < n * d * k; i++)
                if (fabs(ref[i]) > big) big = fabs(ref[i]);
            CHECK(big > 0.05, "%s: the fixture's values are all tiny (%g)", cases[c].name, big);
            printf("%s vs shap: worst |diff| %.3g (values up to %.3g), expected %.3g\n",
                   cases[c].name, e, big, ee);
        }
        lam_free(ref);
        lam_free(ref_e);
    }
    free(phi);
    lam_free(x);
    lam_free(bg);
    lam_st_close(&vf);
    lam_tree_free(t);
    lam_forest_free(f);
}

/* ------------------------------------------------------------ errors */

static void test_errors(void)
{
    enum { N = 50, D = 4 };
    float x[N * D];
    int32_t y[N];
    make_data(N, D, 2, x, y);
    lam_tree *t;
    CHECK_OK(lam_tree_create(&t, NULL));
    double phi[N * D * 2], e[2];
    CHECK_FAILS(lam_tree_shap(t, x, 1, D, phi, e), LAM_ERR_STATE, "not fitted");
    CHECK_OK(lam_tree_fit(t, x, N, D, y));
    CHECK_FAILS(lam_tree_shap(t, x, 1, D + 1, phi, e), LAM_ERR_SHAPE,
                "x has 5 features, the tree was fit on 4");
    CHECK_FAILS(lam_tree_shap(t, x, 0, D, phi, e), LAM_ERR_ARG, "n must be >= 1");
    CHECK_FAILS(lam_tree_shap(NULL, x, 1, D, phi, e), LAM_ERR_ARG, "the tree is NULL");
    CHECK_FAILS(lam_tree_shap(t, NULL, 1, D, phi, e), LAM_ERR_ARG, "x is NULL");
    CHECK_FAILS(lam_tree_shap(t, x, 1, D, NULL, e), LAM_ERR_ARG, "phi is NULL");
    CHECK_FAILS(lam_tree_shap(t, x, 1, D, phi, NULL), LAM_ERR_ARG, "expected is NULL");
    CHECK_FAILS(lam_tree_shap_interventional(t, x, 0, x, 1, D, phi, e), LAM_ERR_ARG,
                "background is empty");
    CHECK_FAILS(lam_tree_shap_interventional(t, NULL, 3, x, 1, D, phi, e), LAM_ERR_ARG,
                "background is NULL");
    /* A split without cover (a hand-edited file) has no path-dependent expectation. */
    lam_tree_arrays *a = lam_tree_raw(t);
    double saved = a->weighted[0];
    a->weighted[0] = 0;
    CHECK_FAILS(lam_tree_shap(t, x, 1, D, phi, e), LAM_ERR_ARG, "node 0 splits with");
    a->weighted[0] = saved;
    lam_forest *f;
    CHECK_OK(lam_forest_create(&f, NULL));
    CHECK_FAILS(lam_forest_shap(f, x, 1, D, phi, e), LAM_ERR_STATE, "forest is not fitted");
    lam_forest_params fp = lam_forest_defaults();
    fp.n_trees = 3;
    lam_forest_free(f);
    CHECK_OK(lam_forest_create(&f, &fp));
    CHECK_OK(lam_forest_fit(f, x, N, D, y));
    CHECK_FAILS(lam_forest_shap_interventional(f, x, 5, x, 1, 3, phi, e), LAM_ERR_SHAPE,
                "x has 3 features, the forest was fit on 4");
    CHECK_FAILS(lam_forest_shap(f, x, -1, D, phi, e), LAM_ERR_ARG, "n must be >= 1");
    lam_forest_free(f);
    lam_tree_free(t);
}

/* ------------------------------------------------- permutation importance */

/* Looks at feature 2 only. */
static lam_status only_feature_2(void *model, const float *x, int64_t n, int64_t d,
                                 int32_t *labels)
{
    int *calls = model;
    (*calls)++;
    for (int64_t i = 0; i < n; i++) labels[i] = x[i * d + 2] > 0.1f;
    return LAM_OK;
}

static lam_status failing_model(void *model, const float *x, int64_t n, int64_t d,
                                int32_t *labels)
{
    (void)model, (void)x, (void)n, (void)d, (void)labels;
    return lam_error(LAM_ERR_STATE, "the model is broken");
}

static void test_permutation_importance(void)
{
    enum { N = 200, D = 5, R = 4 };
    static float x[N * D];
    int32_t y[N];
    for (int i = 0; i < N * D; i++) x[i] = test_rndf();
    for (int i = 0; i < N; i++) y[i] = x[i * D + 2] > 0.1f;
    for (int i = 0; i < N; i += 10) y[i] = !y[i]; /* 90% accurate */
    int calls = 0;
    double mean[D], std[D], base, mean2[D], std2[D], base2;
    CHECK_OK(lam_permutation_importance(only_feature_2, &calls, x, N, D, y, R, 7, mean, std,
                                        &base));
    CHECK(calls == 1 + D * R, "%d calls, expected %d", calls, 1 + D * R);
    CHECK_NEAR(base, 0.9, 1e-12);
    for (int j = 0; j < D; j++) {
        if (j == 2) continue;
        CHECK(mean[j] == 0.0 && std[j] == 0.0, "feature %d: importance %g +- %g, expected 0", j,
              mean[j], std[j]);
    }
    CHECK(mean[2] > 0.2, "feature 2: importance %g", mean[2]);
    CHECK(std[2] > 0, "feature 2: std %g over %d shuffles", std[2], R);
    float copy[N * D];
    memcpy(copy, x, sizeof copy);
    CHECK(memcmp(copy, x, sizeof copy) == 0, "x changed");
    lam_set_threads(1);
    CHECK_OK(lam_permutation_importance(only_feature_2, &calls, x, N, D, y, R, 7, mean2, std2,
                                        &base2));
    lam_set_threads(0);
    CHECK(memcmp(mean, mean2, sizeof mean) == 0 && memcmp(std, std2, sizeof std) == 0,
          "the same seed gave other importances");
    CHECK_OK(lam_permutation_importance(only_feature_2, &calls, x, N, D, y, R, 8, mean2, NULL,
                                        &base2));
    CHECK(mean2[2] != mean[2], "another seed gave the same importance %g", mean[2]);
    CHECK_FAILS(lam_permutation_importance(failing_model, NULL, x, N, D, y, R, 7, mean, std,
                                           &base), LAM_ERR_STATE, "the model is broken");
    CHECK_FAILS(lam_permutation_importance(only_feature_2, &calls, x, N, D, y, 0, 7, mean, std,
                                           &base), LAM_ERR_ARG, "repeats must be >= 1");
    CHECK_FAILS(lam_permutation_importance(only_feature_2, &calls, x, 0, D, y, 1, 7, mean, std,
                                           &base), LAM_ERR_ARG, "n >= 1");
    CHECK_FAILS(lam_permutation_importance(NULL, &calls, x, N, D, y, 1, 7, mean, std, &base),
                LAM_ERR_ARG, "predict is NULL");
}

/* ------------------------------------------------------------ surrogate */

/* Hand-made: if x[1] <= 0.5 then (if x[0] <= 2 then class 0 else class 1) else class 2. */
static lam_tree *hand_tree(void)
{
    lam_tree *t;
    lam_tree_params p = lam_tree_defaults();
    if (lam_tree_alloc(&t, &p, 2, 3, 5) != LAM_OK) return NULL;
    lam_tree_arrays *a = lam_tree_raw(t);
    const int32_t feat[5] = {1, 0, -1, -1, -1}, left[5] = {1, 2, -1, -1, -1},
                  right[5] = {4, 3, -1, -1, -1};
    const double thr[5] = {0.5, 2, -2, -2, -2}, w[5] = {40, 30, 20, 10, 10};
    const double val[15] = {0.5, 0.25, 0.25, 0.6, 0.4, 0, 0.9, 0.1, 0,
                            0, 1, 0, 0, 0, 1};
    for (int i = 0; i < 5; i++) {
        a->feature[i] = feat[i];
        a->left[i] = left[i];
        a->right[i] = right[i];
        a->threshold[i] = thr[i];
        a->weighted[i] = w[i];
        a->impurity[i] = 0;
    }
    memcpy(a->value, val, sizeof val);
    if (lam_tree_validate(t, "hand", "tree") != LAM_OK) {
        lam_tree_free(t);
        return NULL;
    }
    return t;
}

static void test_rules(void)
{
    lam_tree *t = hand_tree();
    CHECK(t != NULL, "hand tree: %s", lam_last_error());
    if (!t) return;
    char *text = NULL;
    CHECK_OK(lam_tree_rules(t, NULL, NULL, &text));
    const char *want =
        "if x[1] <= 0.5:\n"
        "    if x[0] <= 2:\n"
        "        class 0 (90% of 20 samples)\n"
        "    else:  # x[0] > 2\n"
        "        class 1 (100% of 10 samples)\n"
        "else:  # x[1] > 0.5\n"
        "    class 2 (100% of 10 samples)\n";
    CHECK(text && strcmp(text, want) == 0, "rules:\n%s\nexpected:\n%s", text ? text : "(null)",
          want);
    free(text);
    const char *features[2] = {"petal length", "petal width"};
    const char *classes[3] = {"setosa", "versicolor", "virginica"};
    CHECK_OK(lam_tree_rules(t, features, classes, &text));
    const char *want2 =
        "if petal width <= 0.5:\n"
        "    if petal length <= 2:\n"
        "        setosa (90% of 20 samples)\n"
        "    else:  # petal length > 2\n"
        "        versicolor (100% of 10 samples)\n"
        "else:  # petal width > 0.5\n"
        "    virginica (100% of 10 samples)\n";
    CHECK(text && strcmp(text, want2) == 0, "named rules:\n%s\nexpected:\n%s",
          text ? text : "(null)", want2);
    free(text);
    CHECK_FAILS(lam_tree_rules(NULL, NULL, NULL, &text), LAM_ERR_ARG, "the tree is NULL");
    CHECK(text == NULL, "text set on failure");
    lam_tree_free(t);
}

static void test_surrogate(void)
{
    enum { N = 500, D = 4, K = 3 };
    static float x[N * D];
    int32_t y[N], teacher_labels[N], pred[N];
    make_data(N, D, K, x, y);
    lam_tree_params p = lam_tree_defaults();
    p.max_depth = 2;
    lam_tree *teacher, *s;
    CHECK_OK(lam_tree_create(&teacher, &p));
    CHECK_OK(lam_tree_fit(teacher, x, N, D, y));
    CHECK_OK(lam_tree_predict(teacher, x, N, D, teacher_labels));
    for (int depth = 2; depth <= 6; depth += 4) {
        CHECK_OK(lam_surrogate_tree(x, N, D, teacher_labels, depth, 1, &s));
        if (!s) continue;
        CHECK_OK(lam_tree_predict(s, x, N, D, pred));
        int agree = 0;
        for (int i = 0; i < N; i++) agree += pred[i] == teacher_labels[i];
        CHECK(agree == N, "depth %d surrogate of a depth-2 tree: fidelity %d / %d", depth, agree,
              N);
        CHECK(lam_tree_depth(s) <= 2, "surrogate depth %d for a depth-2 teacher",
              lam_tree_depth(s));
        lam_tree_free(s);
    }
    /* A shallower surrogate cannot copy it: fidelity must drop. */
    CHECK_OK(lam_surrogate_tree(x, N, D, teacher_labels, 1, 1, &s));
    if (s) {
        CHECK_OK(lam_tree_predict(s, x, N, D, pred));
        int agree = 0;
        for (int i = 0; i < N; i++) agree += pred[i] == teacher_labels[i];
        CHECK(agree < N, "a depth-1 surrogate agrees everywhere");
        lam_tree_free(s);
    }
    CHECK_FAILS(lam_surrogate_tree(x, N, D, teacher_labels, 0, 1, &s), LAM_ERR_ARG,
                "max_depth must be >= 1");
    CHECK_FAILS(lam_surrogate_tree(x, 0, D, teacher_labels, 2, 1, &s), LAM_ERR_ARG, "n >= 1");
    lam_tree_free(teacher);
}

int main(void)
{
    test_tree_vs_brute_force();
    test_forest_vs_brute_force_and_threads();
    test_deep_local_accuracy();
    test_against_shap();
    test_errors();
    test_permutation_importance();
    test_rules();
    test_surrogate();
    printf("worst |diff| vs enumeration: path-dependent %.3g, interventional %.3g; worst local "
           "accuracy error %.3g\n", worst_brute_path, worst_brute_inter, worst_local);
    return test_summary("test_tree_shap");
}
