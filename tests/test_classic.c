/* test_classic.c - decision tree, random forest, SVM and linear SVM: hand-worked
 * splits and importances, accuracy on synthetic problems, the SVM's KKT
 * conditions, save/load round trips and broken files. */
#include "lamina.h"
#include "internal.h"
#include "classic/classic.h"
#include "test.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int r;
    r = (r + 1) % 4;
    snprintf(buf[r], sizeof buf[r], "%s/%s", tmpdir, name);
    return buf[r];
}

/* Gaussian blobs: class c centred at centres[c] (2-D), sd sigma, labels lab[c]. */
static void blobs(uint64_t seed, int64_t n, int k, const double *centres, double sigma,
                  const int32_t *lab, float *x, int32_t *y)
{
    lam_rng r;
    lam_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(i % k);
        x[2 * i] = (float)(centres[2 * c] + sigma * lam_rng_normal(&r));
        x[2 * i + 1] = (float)(centres[2 * c + 1] + sigma * lam_rng_normal(&r));
        y[i] = lab[c];
    }
}

static double acc(const int32_t *p, const int32_t *y, int64_t n)
{
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += p[i] == y[i];
    return (double)ok / (double)n;
}

/* ------------------------------------------------------------ tree by hand */

static void test_tree_hand(void)
{
    /* 1-D: the only perfect split lies between 3 and 10: threshold 6.5. */
    float x1[] = {1, 2, 3, 10, 11, 12};
    int32_t y1[] = {0, 0, 0, 1, 1, 1};
    lam_tree *t;
    CHECK_OK(lam_tree_create(&t, NULL));
    CHECK_OK(lam_tree_fit(t, x1, 6, 1, y1));
    lam_tree_node_info ni;
    CHECK_OK(lam_tree_node(t, 0, &ni));
    CHECK(ni.feature == 0, "root feature %d", ni.feature);
    CHECK_NEAR(ni.threshold, 6.5, 0);
    CHECK_NEAR(ni.impurity, 0.5, 1e-15);
    CHECK(lam_tree_node_count(t) == 3, "%lld nodes", (long long)lam_tree_node_count(t));
    double imp1[1];
    CHECK_OK(lam_tree_feature_importances(t, imp1));
    CHECK_NEAR(imp1[0], 1.0, 1e-15);
    lam_tree_free(t);

    /* 2-D, worked by hand (gini):
     *   (0,0)->0 (0,1)->1 (1,0)->1 (1,1)->1 (1,0)->1, root gini 1 - (1+16)/25 = 0.32.
     *   Split x0 <= 0.5: left {0,1} gini 0.5 (weight 2/5 -> 0.2), right pure;
     *   split x1 <= 0.5: left {0,1,1} gini 4/9 (weight 3/5 -> 0.267): x0 wins.
     *   Left child splits on x1 at 0.5 into pure leaves.
     *   Importances: x0 (5*0.32 - 2*0.5)/5 = 0.12, x1 (2*0.5)/5 = 0.2,
     *   normalised 0.375 and 0.625. */
    float x2[] = {0, 0, 0, 1, 1, 0, 1, 1, 1, 0};
    int32_t y2[] = {0, 1, 1, 1, 1};
    CHECK_OK(lam_tree_create(&t, NULL));
    CHECK_OK(lam_tree_fit(t, x2, 5, 2, y2));
    CHECK(lam_tree_node_count(t) == 5, "%lld nodes", (long long)lam_tree_node_count(t));
    CHECK(lam_tree_depth(t) == 2, "depth %d", lam_tree_depth(t));
    CHECK_OK(lam_tree_node(t, 0, &ni));
    CHECK(ni.feature == 0 && ni.threshold == 0.5, "root: feature %d threshold %g", ni.feature,
          ni.threshold);
    CHECK_NEAR(ni.impurity, 0.32, 1e-15);
    lam_tree_node_info lc;
    CHECK_OK(lam_tree_node(t, ni.left, &lc));
    CHECK(lc.feature == 1 && lc.threshold == 0.5, "left: feature %d threshold %g", lc.feature,
          lc.threshold);
    CHECK_NEAR(lc.impurity, 0.5, 1e-15);
    CHECK_NEAR(lc.weighted_samples, 2, 0);
    double imp[2];
    CHECK_OK(lam_tree_feature_importances(t, imp));
    CHECK_NEAR(imp[0], 0.375, 1e-12);
    CHECK_NEAR(imp[1], 0.625, 1e-12);
    float probe[] = {0, 0, 0, 1, 0.9f, 0.2f};
    int32_t pr[3];
    float pp[6];
    CHECK_OK(lam_tree_predict(t, probe, 3, 2, pr));
    CHECK(pr[0] == 0 && pr[1] == 1 && pr[2] == 1, "predictions %d %d %d", pr[0], pr[1], pr[2]);
    CHECK_OK(lam_tree_predict_proba(t, probe, 3, 2, pp));
    CHECK(pp[0] == 1 && pp[1] == 0 && pp[4] == 0 && pp[5] == 1, "probabilities");
    lam_tree_free(t);

    /* Entropy: root impurity -(0.2 log2 0.2 + 0.8 log2 0.8). */
    lam_tree_params p = lam_tree_defaults();
    p.criterion = LAM_CRITERION_ENTROPY;
    CHECK_OK(lam_tree_create(&t, &p));
    CHECK_OK(lam_tree_fit(t, x2, 5, 2, y2));
    CHECK_OK(lam_tree_node(t, 0, &ni));
    CHECK_NEAR(ni.impurity, -(0.2 * log2(0.2) + 0.8 * log2(0.8)), 1e-12);
    CHECK(ni.feature == 0, "entropy root feature %d", ni.feature);
    /* max_depth 1 and min_samples_leaf 2 stop growth. */
    lam_tree_free(t);
    p = lam_tree_defaults();
    p.max_depth = 1;
    CHECK_OK(lam_tree_create(&t, &p));
    CHECK_OK(lam_tree_fit(t, x2, 5, 2, y2));
    CHECK(lam_tree_node_count(t) == 3 && lam_tree_depth(t) == 1, "depth-1 tree");
    lam_tree_free(t);
    p = lam_tree_defaults();
    p.min_samples_leaf = 3;
    CHECK_OK(lam_tree_create(&t, &p));
    CHECK_OK(lam_tree_fit(t, x2, 5, 2, y2));
    CHECK(lam_tree_node_count(t) == 1, "min_samples_leaf 3 on 5 samples: %lld nodes",
          (long long)lam_tree_node_count(t));
    lam_tree_free(t);

    /* Errors. */
    CHECK_OK(lam_tree_create(&t, NULL));
    int32_t out1[1];
    CHECK_FAILS(lam_tree_predict(t, x1, 1, 1, out1), LAM_ERR_STATE, "not fitted");
    int32_t bad[] = {0, -1, 0, 1, 1, 1};
    CHECK_FAILS(lam_tree_fit(t, x1, 6, 1, bad), LAM_ERR_ARG, "negative");
    CHECK_OK(lam_tree_fit(t, x1, 6, 1, y1));
    CHECK_FAILS(lam_tree_predict(t, x2, 1, 2, out1), LAM_ERR_SHAPE, "features");
    lam_tree_free(t);
    p = lam_tree_defaults();
    p.min_samples_split = 1;
    CHECK_FAILS(lam_tree_create(&t, &p), LAM_ERR_ARG, "min_samples_split");
}

/* --------------------------------------------------------- synthetic data */

#define NSEP 300
#define NOV 400
#define NTEST 2000

static float sep_x[NSEP * 2], ov_x[NOV * 2], te_x[NTEST * 2];
static int32_t sep_y[NSEP], ov_y[NOV], te_y[NTEST];

static void make_data(void)
{
    /* Three well separated blobs, labels 2, 5, 7 (gaps on purpose). */
    const double c3[] = {0, 0, 6, 0, 3, 5};
    const int32_t l3[] = {2, 5, 7};
    blobs(1, NSEP, 3, c3, 0.7, l3, sep_x, sep_y);
    /* Two overlapping classes at (-1,-1) and (1,1), sd 1: Bayes accuracy
     * Phi(sqrt 2) = 0.921. */
    const double c2[] = {-1, -1, 1, 1};
    const int32_t l2[] = {0, 1};
    blobs(2, NOV, 2, c2, 1.0, l2, ov_x, ov_y);
    blobs(3, NTEST, 2, c2, 1.0, l2, te_x, te_y);
}

static void test_tree_forest_synthetic(void)
{
    int32_t pred[NTEST];
    lam_tree *t;
    CHECK_OK(lam_tree_create(&t, NULL));
    CHECK_OK(lam_tree_fit(t, sep_x, NSEP, 2, sep_y));
    CHECK_OK(lam_tree_predict(t, sep_x, NSEP, 2, pred));
    CHECK(acc(pred, sep_y, NSEP) == 1.0, "tree separable train accuracy %g", acc(pred, sep_y, NSEP));
    CHECK(lam_tree_num_classes(t) == 8, "classes 0..7: %d", lam_tree_num_classes(t));
    lam_tree_free(t);

    lam_tree_params tp = lam_tree_defaults();
    tp.max_depth = 3;
    CHECK_OK(lam_tree_create(&t, &tp));
    CHECK_OK(lam_tree_fit(t, ov_x, NOV, 2, ov_y));
    CHECK_OK(lam_tree_predict(t, te_x, NTEST, 2, pred));
    double a = acc(pred, te_y, NTEST);
    CHECK(a > 0.86, "tree depth 3, overlapping classes: test accuracy %g", a);
    lam_tree_free(t);

    lam_forest_params fp = lam_forest_defaults();
    fp.n_trees = 30;
    lam_forest *f;
    CHECK_OK(lam_forest_create(&f, &fp));
    CHECK_OK(lam_forest_fit(f, sep_x, NSEP, 2, sep_y));
    CHECK_OK(lam_forest_predict(f, sep_x, NSEP, 2, pred));
    CHECK(acc(pred, sep_y, NSEP) == 1.0, "forest separable accuracy %g", acc(pred, sep_y, NSEP));
    lam_forest_free(f);

    fp.max_depth = 4;
    CHECK_OK(lam_forest_create(&f, &fp));
    CHECK_OK(lam_forest_fit(f, ov_x, NOV, 2, ov_y));
    CHECK_OK(lam_forest_predict(f, te_x, NTEST, 2, pred));
    a = acc(pred, te_y, NTEST);
    CHECK(a > 0.88, "forest depth 4, overlapping classes: test accuracy %g", a);
    double fi[2];
    CHECK_OK(lam_forest_feature_importances(f, fi));
    CHECK_NEAR(fi[0] + fi[1], 1.0, 1e-9);
    CHECK(fi[0] > 0.3 && fi[1] > 0.3, "symmetric problem: importances %g %g", fi[0], fi[1]);

    /* Same forest whatever the thread count. */
    float p1[NTEST * 2], p2[NTEST * 2];
    CHECK_OK(lam_forest_predict_proba(f, te_x, NTEST, 2, p1));
    int saved = lam_get_threads();
    lam_set_threads(1);
    lam_forest *g;
    CHECK_OK(lam_forest_create(&g, &fp));
    CHECK_OK(lam_forest_fit(g, ov_x, NOV, 2, ov_y));
    lam_set_threads(saved);
    CHECK_OK(lam_forest_predict_proba(g, te_x, NTEST, 2, p2));
    CHECK(memcmp(p1, p2, sizeof p1) == 0, "forest differs between 1 and %d threads", saved);
    lam_forest_free(g);
    lam_forest_free(f);
}

/* ------------------------------------------------------------------- SVM */

static double rbf_brute(const float *a, const float *b, int64_t d, double gamma)
{
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
    return exp(-gamma * s);
}

static void test_svm_kkt(void)
{
    lam_svm_params p = lam_svm_defaults();
    p.C = 1.0;
    p.gamma = 0.5;
    p.eps = 1e-4;
    lam_svm *s;
    CHECK_OK(lam_svm_create(&s, &p));
    const int n = 120;
    CHECK_OK(lam_svm_fit(s, ov_x, n, 2, ov_y));
    CHECK(lam_svm_num_pairs(s) == 1, "pairs %d", lam_svm_num_pairs(s));
    lam_svm_pair_info pi;
    CHECK_OK(lam_svm_pair(s, 0, &pi));
    const int32_t *sup = lam_svm_support_indices(s);
    double alpha[120] = {0}, sum = 0;
    int bad_box = 0;
    for (int64_t k = 0; k < pi.count; k++) {
        int32_t row = sup[pi.sv[k]];
        double yk = ov_y[row] == lam_svm_classes(s)[pi.class_a] ? 1 : -1;
        CHECK(pi.coef[k] * yk > 0, "coefficient sign of SV %lld", (long long)k);
        alpha[row] = fabs(pi.coef[k]);
        if (!(alpha[row] > 0 && alpha[row] <= p.C * (1 + 1e-12))) bad_box++;
        sum += pi.coef[k];
    }
    CHECK(bad_box == 0, "%d alphas outside (0, C]", bad_box);
    CHECK_NEAR(sum, 0, 1e-9);
    double dec[120];
    CHECK_OK(lam_svm_decision_function(s, ov_x, n, 2, dec));
    const double tol = 1e-3;
    int viol = 0, nfree = 0;
    for (int i = 0; i < n; i++) {
        double yi = ov_y[i] == lam_svm_classes(s)[0] ? 1 : -1;
        double m = yi * dec[i];
        if (alpha[i] == 0) viol += m < 1 - tol;
        else if (alpha[i] < p.C * (1 - 1e-12)) viol += fabs(m - 1) > tol, nfree++;
        else viol += m > 1 + tol;
    }
    CHECK(viol == 0, "%d KKT margin violations", viol);
    CHECK(nfree > 0, "no free support vector");
    /* Decision function against a sum over the support vectors in double. */
    const float *sv = lam_svm_support_vectors(s);
    double maxerr = 0;
    for (int i = 0; i < 50; i++) {
        double f = -pi.rho;
        for (int64_t k = 0; k < pi.count; k++)
            f += pi.coef[k] * rbf_brute(sv + 2 * pi.sv[k], te_x + 2 * i, 2, p.gamma);
        double dv;
        CHECK_OK(lam_svm_decision_function(s, te_x + 2 * i, 1, 2, &dv));
        if (fabs(dv - f) > maxerr) maxerr = fabs(dv - f);
    }
    CHECK(maxerr < 1e-5, "decision function differs from brute force by %g", maxerr);
    int32_t pred[NTEST];
    CHECK_OK(lam_svm_predict(s, te_x, NTEST, 2, pred));
    for (int i = 0; i < NTEST; i++) {
        double dv;
        lam_svm_decision_function(s, te_x + 2 * i, 1, 2, &dv);
        if (pred[i] != (dv > 0 ? 0 : 1)) {
            CHECK(0, "prediction %d disagrees with its decision value", i);
            break;
        }
    }
    lam_svm_free(s);

    /* Linear kernel with a tiny problem solved by hand: points -1 and +1 on a
     * line, hard margin: w = 1, b = 0, alphas 0.5. */
    float xl[] = {-1, 1};
    int32_t yl[] = {0, 1};
    p = lam_svm_defaults();
    p.kernel = LAM_KERNEL_LINEAR;
    p.C = 100;
    CHECK_OK(lam_svm_create(&s, &p));
    CHECK_OK(lam_svm_fit(s, xl, 2, 1, yl));
    CHECK_OK(lam_svm_pair(s, 0, &pi));
    CHECK(pi.count == 2, "2 SVs, got %lld", (long long)pi.count);
    CHECK_NEAR(fabs(pi.coef[0]), 0.5, 1e-9);
    CHECK_NEAR(pi.rho, 0, 1e-9);
    double dv;
    float q = 0.25f;
    CHECK_OK(lam_svm_decision_function(s, &q, 1, 1, &dv));
    CHECK_NEAR(dv, -0.25, 1e-7); /* class 0 (at -1) is the positive side */
    lam_svm_free(s);
}

static void test_svm_synthetic(void)
{
    int32_t pred[NTEST];
    lam_svm *s;
    CHECK_OK(lam_svm_create(&s, NULL));
    CHECK_OK(lam_svm_fit(s, sep_x, NSEP, 2, sep_y));
    CHECK(lam_svm_num_classes(s) == 3 && lam_svm_num_pairs(s) == 3, "3 classes, 3 pairs");
    CHECK(lam_svm_classes(s)[0] == 2 && lam_svm_classes(s)[2] == 7, "classes kept as labels");
    CHECK_OK(lam_svm_predict(s, sep_x, NSEP, 2, pred));
    CHECK(acc(pred, sep_y, NSEP) == 1.0, "svm 3 blobs train accuracy %g", acc(pred, sep_y, NSEP));
    CHECK(lam_svm_num_support(s) < NSEP / 2, "%lld support vectors for separable blobs",
          (long long)lam_svm_num_support(s));
    lam_svm_free(s);

    lam_svm_params p = lam_svm_defaults();
    p.cache_mb = 0.01; /* tiny cache: rows evicted and recomputed all the time */
    CHECK_OK(lam_svm_create(&s, &p));
    CHECK_OK(lam_svm_fit(s, ov_x, NOV, 2, ov_y));
    CHECK_OK(lam_svm_predict(s, te_x, NTEST, 2, pred));
    double a = acc(pred, te_y, NTEST);
    CHECK(a > 0.89, "svm rbf overlapping classes: test accuracy %g", a);
    /* Same solution without shrinking and with a big cache. */
    lam_svm *s2;
    p.cache_mb = 100;
    p.shrinking = false;
    CHECK_OK(lam_svm_create(&s2, &p));
    CHECK_OK(lam_svm_fit(s2, ov_x, NOV, 2, ov_y));
    double d1[NTEST], d2[NTEST];
    CHECK_OK(lam_svm_decision_function(s, te_x, NTEST, 2, d1));
    CHECK_OK(lam_svm_decision_function(s2, te_x, NTEST, 2, d2));
    double md = 0;
    for (int i = 0; i < NTEST; i++) md = fmax(md, fabs(d1[i] - d2[i]));
    CHECK(md < 0.05, "shrinking/cache change the decision function by %g", md);
    lam_svm_free(s2);
    lam_svm_free(s);

    p = lam_svm_defaults();
    p.kernel = LAM_KERNEL_POLY;
    p.degree = 2;
    p.coef0 = 1;
    CHECK_OK(lam_svm_create(&s, &p));
    CHECK_OK(lam_svm_fit(s, ov_x, NOV, 2, ov_y));
    CHECK_OK(lam_svm_predict(s, te_x, NTEST, 2, pred));
    a = acc(pred, te_y, NTEST);
    CHECK(a > 0.89, "svm poly: test accuracy %g", a);
    lam_svm_free(s);

    int32_t one[] = {1, 1, 1};
    CHECK_OK(lam_svm_create(&s, NULL));
    CHECK_FAILS(lam_svm_fit(s, sep_x, 3, 2, one), LAM_ERR_ARG, "2 classes");
    lam_svm_free(s);
}

static void test_linear_synthetic(void)
{
    int32_t pred[NTEST];
    lam_linear_params p = lam_linear_defaults();
    p.C = 10;
    lam_linear *m;
    CHECK_OK(lam_linear_create(&m, &p));
    CHECK_OK(lam_linear_fit(m, sep_x, NSEP, 2, sep_y));
    CHECK_OK(lam_linear_predict(m, sep_x, NSEP, 2, pred));
    CHECK(acc(pred, sep_y, NSEP) == 1.0, "linear 3 blobs train accuracy %g", acc(pred, sep_y, NSEP));
    lam_linear_free(m);
    for (int loss = 0; loss < 2; loss++) {
        p = lam_linear_defaults();
        p.loss = (lam_linear_loss)loss;
        p.eps = 1e-3;
        CHECK_OK(lam_linear_create(&m, &p));
        CHECK_OK(lam_linear_fit(m, ov_x, NOV, 2, ov_y));
        CHECK_OK(lam_linear_predict(m, te_x, NTEST, 2, pred));
        double a = acc(pred, te_y, NTEST);
        CHECK(a > 0.90, "linear loss %d: test accuracy %g", loss, a);
        /* The optimum of this symmetric problem is close to w = (1,1) b = 0 in
         * direction: both weights positive and similar. */
        const double *w = lam_linear_weights(m);
        CHECK(w[3] > 0 && w[4] > 0 && fabs(w[3] - w[4]) < 0.5 * fabs(w[3]),
              "class 1 weights %g %g", w[3], w[4]);
        lam_linear_free(m);
    }
}

/* ------------------------------------------------------------ scaling */

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}


/* x with feature 0 of scale 1000 around 5000 and feature 1 of scale 0.01 (the
 * wine data's problem), and its standardisation (or min-max scaling) in double
 * from the training rows, as scikit-learn computes it. */
static void rescale(const float *x, int64_t n, float *raw)
{
    for (int64_t i = 0; i < n; i++) {
        raw[2 * i] = 5000.0f + 1000.0f * x[2 * i];
        raw[2 * i + 1] = 0.01f * x[2 * i + 1];
    }
}

static void by_hand(const float *train, int64_t n, const float *x, int64_t m, bool minmax,
                    float *out)
{
    for (int j = 0; j < 2; j++) {
        double mean = 0, var = 0, lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            mean += train[2 * i + j];
            lo = fmin(lo, train[2 * i + j]);
            hi = fmax(hi, train[2 * i + j]);
        }
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++) var += pow(train[2 * i + j] - mean, 2) / (double)n;
        const double off = minmax ? lo : mean, sc = minmax ? hi - lo : sqrt(var);
        for (int64_t i = 0; i < m; i++) out[2 * i + j] = (float)((x[2 * i + j] - off) / sc);
    }
}

/* A model with scaling, given raw x, decides as the same model without it
 * given x scaled by hand; saved and loaded it decides the same to the bit. */
static void test_scaling(void)
{
    static float raw_tr[NOV * 2], raw_te[NTEST * 2], hand_tr[NOV * 2], hand_te[NTEST * 2];
    static double d1[NTEST * 3], d2[NTEST * 3], d3[NTEST * 3];
    rescale(ov_x, NOV, raw_tr);
    rescale(te_x, NTEST, raw_te);
    for (int minmax = 0; minmax < 2; minmax++) {
        by_hand(raw_tr, NOV, raw_tr, NOV, minmax, hand_tr);
        by_hand(raw_tr, NOV, raw_te, NTEST, minmax, hand_te);
        lam_svm_params sp = lam_svm_defaults();
        lam_svm *plain, *scaled, *back = NULL;
        CHECK_OK(lam_svm_create(&plain, &sp));
        sp.scaling = minmax ? LAM_SCALING_MINMAX : LAM_SCALING_STANDARD;
        CHECK_OK(lam_svm_create(&scaled, &sp));
        CHECK_OK(lam_svm_fit(plain, hand_tr, NOV, 2, ov_y));
        CHECK_OK(lam_svm_fit(scaled, raw_tr, NOV, 2, ov_y));
        CHECK_OK(lam_svm_decision_function(plain, hand_te, NTEST, 2, d1));
        CHECK_OK(lam_svm_decision_function(scaled, raw_te, NTEST, 2, d2));
        double worst = 0;
        for (int i = 0; i < NTEST; i++) worst = fmax(worst, fabs(d1[i] - d2[i]));
        CHECK(worst < 1e-4, "svm %s: decision values differ by %g from scaling by hand",
              minmax ? "minmax" : "standard", worst);
        int32_t pred[NTEST];
        CHECK_OK(lam_svm_predict(scaled, raw_te, NTEST, 2, pred));
        CHECK(acc(pred, te_y, NTEST) > 0.9, "svm on raw x with scaling: accuracy %g",
              acc(pred, te_y, NTEST));
        CHECK_OK(lam_svm_save(scaled, tmp_path("scaled.svm")));
        CHECK_OK(lam_svm_load(tmp_path("scaled.svm"), &back));
        if (back) {
            CHECK(lam_svm_get_params(back)->scaling == sp.scaling, "scaling after load");
            CHECK_OK(lam_svm_decision_function(back, raw_te, NTEST, 2, d3));
            CHECK(memcmp(d2, d3, sizeof(double) * NTEST) == 0, "svm: loaded decides otherwise");
        }
        lam_svm_free(plain);
        lam_svm_free(scaled);
        lam_svm_free(back);

        lam_linear_params lp = lam_linear_defaults();
        lp.eps = 1e-4;
        lam_linear *lplain, *lscaled, *lback = NULL;
        CHECK_OK(lam_linear_create(&lplain, &lp));
        lp.scaling = sp.scaling;
        CHECK_OK(lam_linear_create(&lscaled, &lp));
        CHECK_OK(lam_linear_fit(lplain, hand_tr, NOV, 2, ov_y));
        CHECK_OK(lam_linear_fit(lscaled, raw_tr, NOV, 2, ov_y));
        CHECK_OK(lam_linear_decision_function(lplain, hand_te, NTEST, 2, d1));
        CHECK_OK(lam_linear_decision_function(lscaled, raw_te, NTEST, 2, d2));
        worst = 0;
        const int k = lam_linear_num_classes(lscaled);
        for (int i = 0; i < NTEST * k; i++) worst = fmax(worst, fabs(d1[i] - d2[i]));
        CHECK(worst < 1e-4, "linear %s: scores differ by %g from scaling by hand",
              minmax ? "minmax" : "standard", worst);
        CHECK_OK(lam_linear_save(lscaled, tmp_path("scaled.linear")));
        CHECK_OK(lam_linear_load(tmp_path("scaled.linear"), &lback));
        if (lback) {
            CHECK(lam_linear_get_params(lback)->scaling == sp.scaling, "linear scaling after load");
            CHECK_OK(lam_linear_decision_function(lback, raw_te, NTEST, 2, d3));
            CHECK(memcmp(d2, d3, sizeof(double) * (size_t)(NTEST * k)) == 0,
                  "linear: loaded decides otherwise");
        }
        lam_linear_free(lplain);
        lam_linear_free(lscaled);
        lam_linear_free(lback);
    }
    /* A scaler that cannot be right is refused by name: a zero scale, an unknown
     * kind, a missing tensor. */
    lam_classic_scaler sc = {0};
    CHECK_OK(lam_classic_scaler_fit(&sc, LAM_SCALING_STANDARD, raw_tr, NOV, 2, "test"));
    lam_st_tensor t[2];
    CHECK(lam_classic_scaler_tensors(&sc, t) == 2, "two scaler tensors");
    lam_svm_params sp = lam_svm_defaults();
    sp.scaling = LAM_SCALING_STANDARD;
    lam_svm *svm = NULL, *back = NULL;
    CHECK_OK(lam_svm_create(&svm, &sp));
    CHECK_OK(lam_svm_fit(svm, raw_tr, NOV, 2, ov_y));
    CHECK_OK(lam_svm_save(svm, tmp_path("scaler.svm")));
    size_t n = 0;
    unsigned char *good = test_read_file(tmp_path("scaler.svm"), &n), *bad = malloc(n + 1);
    const struct { const char *from, *to, *why; } cases[] = {
        {"\"scaling\":\"standard\"", "\"scaling\":\"standarx\"", "expected none, standard"},
        {"\"scaler_scale\"", "\"scaler_scalf\"", "\"scaler_scale\" is missing"},
    };
    for (int c = 0; good && bad && c < 2; c++) {
        memcpy(bad, good, n);
        unsigned char *at = (unsigned char *)strstr((char *)bad + 8, cases[c].from);
        CHECK(at != NULL, "case %d: %s not in the header", c, cases[c].from);
        if (!at) continue;
        memcpy(at, cases[c].to, strlen(cases[c].to));
        write_bytes(tmp_path("bad.svm"), bad, n);
        CHECK_FAILS(lam_svm_load(tmp_path("bad.svm"), &back), LAM_ERR_FORMAT, cases[c].why);
    }
    /* A zero scale, found after the data: write the scale tensor's bytes as zeros. */
    if (good && bad) {
        lam_st_file f;
        CHECK_OK(lam_st_open(&f, tmp_path("scaler.svm"), "svm"));
        int64_t sh[1] = {2};
        const void *data = NULL;
        CHECK_OK(lam_st_tensor_get(&f, "scaler_scale", LAM_ST_F64, 1, sh, &data));
        const size_t off = data ? (size_t)((const unsigned char *)data - f.buf) : 0;
        lam_st_close(&f);
        memcpy(bad, good, n);
        memset(bad + off, 0, 8);
        write_bytes(tmp_path("bad.svm"), bad, n);
        CHECK_FAILS(lam_svm_load(tmp_path("bad.svm"), &back), LAM_ERR_FORMAT, "scale > 0");
    }
    free(good);
    free(bad);
    lam_svm_free(svm);
    lam_classic_scaler_clear(&sc);
}

/* ------------------------------------------------------------ save / load */

static lam_status load_tree(const char *p, void **m) { return lam_tree_load(p, (lam_tree **)m); }
static lam_status load_forest(const char *p, void **m) { return lam_forest_load(p, (lam_forest **)m); }
static lam_status load_svm(const char *p, void **m) { return lam_svm_load(p, (lam_svm **)m); }
static lam_status load_linear(const char *p, void **m) { return lam_linear_load(p, (lam_linear **)m); }
#define load_tree_fn load_tree
#define load_forest_fn load_forest
#define load_svm_fn load_svm

/* Truncation, a broken header length and bad JSON must all fail with the
 * file named, whatever the model. */
static void check_broken_container(const char *good, lam_status (*load)(const char *, void **))
{
    size_t n;
    unsigned char *b = test_read_file(good, &n);
    CHECK(b && n > 100, "read %s", good);
    if (!b) return;
    void *m = NULL;
    const char *p = tmp_path("broken.st");
    size_t cuts[] = {0, 4, 9, 40, n / 2, n - 1};
    for (int i = 0; i < 6; i++) {
        write_bytes(p, b, cuts[i]);
        lam_status s = load(p, &m);
        CHECK(s == LAM_ERR_FORMAT && strstr(lam_last_error(), p), "truncated at %zu: %d %s",
              cuts[i], s, lam_last_error());
        CHECK(m == NULL, "no model from a broken file");
    }
    unsigned char *c = malloc(n);
    memcpy(c, b, n);
    c[8] = '['; /* header no longer an object */
    c[12] = '}';
    write_bytes(p, c, n);
    CHECK_FAILS(load(p, &m), LAM_ERR_FORMAT, "JSON");
    memcpy(c, b, n);
    c[7] = 0x40; /* header length 2^62 */
    write_bytes(p, c, n);
    CHECK_FAILS(load(p, &m), LAM_ERR_FORMAT, "header length");
    memcpy(c, b, n);
    char *hdr = (char *)c + 8;
    char *dt = strstr(hdr, "\"F64\"");
    if (!dt) dt = strstr(hdr, "\"I32\"");
    if (dt) {
        memcpy(dt, "\"U16\"", 5);
        write_bytes(p, c, n);
        CHECK_FAILS(load(p, &m), LAM_ERR_FORMAT, "dtype");
    }
    memcpy(c, b, n);
    char *off = strstr(hdr, "\"data_offsets\":[0,");
    if (off) {
        off[16] = '8'; /* first tensor now starts at 8: size and overlap wrong */
        write_bytes(p, c, n);
        CHECK_FAILS(load(p, &m), LAM_ERR_FORMAT, p);
    }
    CHECK_FAILS(load(tmp_path("missing.st"), &m), LAM_ERR_IO, "missing.st");
    /* Random byte changes anywhere: a model or an error, never a crash (run
     * under LAMINA_SANITIZE to catch reads outside the buffers). */
    lam_rng r;
    lam_rng_seed(&r, 99);
    int odd = 0;
    for (int it = 0; it < 300; it++) {
        memcpy(c, b, n);
        int flips = 1 + (int)lam_rng_below(&r, 3);
        for (int k = 0; k < flips; k++) {
            /* Half the changes land in the header, where they hurt most. */
            size_t at = it % 2 ? 8 + (size_t)lam_rng_below(&r, 200) : (size_t)lam_rng_below(&r, n);
            if (at < n) c[at] = (unsigned char)lam_rng_next(&r);
        }
        write_bytes(p, c, n);
        m = NULL;
        lam_status s = load(p, &m);
        if (s == LAM_OK) {
            /* Loaded: free it through the same loader's model type. */
            if (load == load_tree_fn) lam_tree_free(m);
            else if (load == load_forest_fn) lam_forest_free(m);
            else if (load == load_svm_fn) lam_svm_free(m);
            else lam_linear_free(m);
        } else if (s != LAM_ERR_FORMAT && s != LAM_ERR_UNSUPPORTED) {
            odd++;
        }
    }
    CHECK(odd == 0, "%d corrupted files gave a status other than format/unsupported", odd);
    free(c);
    free(b);
}


static void test_save_load(void)
{
    static float p1[NTEST * 8], p2[NTEST * 8];
    static double d1[NTEST * 3], d2[NTEST * 3];
    /* Tree. */
    lam_tree_params tp = lam_tree_defaults();
    tp.criterion = LAM_CRITERION_ENTROPY;
    tp.max_depth = 6;
    lam_tree *t, *t2;
    CHECK_OK(lam_tree_create(&t, &tp));
    CHECK_OK(lam_tree_fit(t, ov_x, NOV, 2, ov_y));
    const char *tpath = tmp_path("tree.st");
    CHECK_OK(lam_tree_save(t, tpath));
    CHECK_OK(lam_tree_load(tpath, &t2));
    if (t2) {
        CHECK_OK(lam_tree_predict_proba(t, te_x, NTEST, 2, p1));
        CHECK_OK(lam_tree_predict_proba(t2, te_x, NTEST, 2, p2));
        CHECK(memcmp(p1, p2, sizeof(float) * NTEST * 2) == 0, "tree probabilities after load");
        CHECK(lam_tree_get_params(t2)->criterion == LAM_CRITERION_ENTROPY &&
                  lam_tree_get_params(t2)->max_depth == 6 && lam_tree_depth(t2) == lam_tree_depth(t),
              "tree parameters after load");
        double i1[2], i2[2];
        lam_tree_feature_importances(t, i1);
        lam_tree_feature_importances(t2, i2);
        CHECK(i1[0] == i2[0] && i1[1] == i2[1], "importances after load");
        lam_tree_free(t2);
    }
    check_broken_container(tpath, load_tree);
    /* A child index out of range, written with valid container. */
    {
        lam_tree_arrays *a = lam_tree_raw(t);
        int64_t nn = a->nodes;
        int32_t *left = malloc((size_t)nn * 4);
        memcpy(left, a->left, (size_t)nn * 4);
        left[0] = (int32_t)nn + 5;
        lam_st_tensor ts[] = {
            {"feature", LAM_ST_I32, 1, {nn, 0}, a->feature},
            {"threshold", LAM_ST_F64, 1, {nn, 0}, a->threshold},
            {"children_left", LAM_ST_I32, 1, {nn, 0}, left},
            {"children_right", LAM_ST_I32, 1, {nn, 0}, a->right},
            {"impurity", LAM_ST_F64, 1, {nn, 0}, a->impurity},
            {"weighted_n_node_samples", LAM_ST_F64, 1, {nn, 0}, a->weighted},
            {"value", LAM_ST_F64, 2, {nn, 2}, a->value},
        };
        const char *meta[] = {"n_features", "2", "n_classes", "2", "criterion", "gini",
                              "max_depth", "0", "min_samples_split", "2", "min_samples_leaf", "1",
                              "max_features", "0", "seed", "0"};
        const char *bp = tmp_path("badchild.st");
        CHECK_OK(lam_st_save(bp, "tree", ts, 7, meta, 8));
        lam_tree *bt = NULL;
        CHECK_FAILS(lam_tree_load(bp, &bt), LAM_ERR_FORMAT, "child index");
        CHECK(strstr(lam_last_error(), "badchild.st") != NULL, "names the file: %s", lam_last_error());
        left[0] = 0; /* a cycle back to the root */
        CHECK_OK(lam_st_save(bp, "tree", ts, 7, meta, 8));
        CHECK_FAILS(lam_tree_load(bp, &bt), LAM_ERR_FORMAT, "child index");
        /* A wrong shape for one array. */
        ts[1].shape[0] = nn - 1;
        left[0] = a->left[0];
        CHECK_OK(lam_st_save(bp, "tree", ts, 7, meta, 8));
        CHECK_FAILS(lam_tree_load(bp, &bt), LAM_ERR_FORMAT, "threshold");
        /* Another model's file. */
        CHECK_FAILS(lam_forest_load(tpath, (lam_forest **)&bt), LAM_ERR_FORMAT, "expected \"forest\"");
        free(left);
    }
    lam_tree_free(t);

    /* Forest. */
    lam_forest_params fp = lam_forest_defaults();
    fp.n_trees = 12;
    lam_forest *f, *f2;
    CHECK_OK(lam_forest_create(&f, &fp));
    CHECK_OK(lam_forest_fit(f, sep_x, NSEP, 2, sep_y));
    const char *fpath = tmp_path("forest.st");
    CHECK_OK(lam_forest_save(f, fpath));
    CHECK_OK(lam_forest_load(fpath, &f2));
    if (f2) {
        CHECK_OK(lam_forest_predict_proba(f, te_x, NTEST, 2, p1));
        CHECK_OK(lam_forest_predict_proba(f2, te_x, NTEST, 2, p2));
        CHECK(memcmp(p1, p2, sizeof(float) * NTEST * 8) == 0, "forest probabilities after load");
        CHECK(lam_forest_num_trees(f2) == 12, "trees after load");
        lam_forest_free(f2);
    }
    check_broken_container(fpath, load_forest);
    lam_forest_free(f);

    /* SVM. */
    lam_svm *s, *s2;
    CHECK_OK(lam_svm_create(&s, NULL));
    CHECK_OK(lam_svm_fit(s, sep_x, NSEP, 2, sep_y));
    const char *spath = tmp_path("svm.st");
    CHECK_OK(lam_svm_save(s, spath));
    CHECK_OK(lam_svm_load(spath, &s2));
    if (s2) {
        CHECK_OK(lam_svm_decision_function(s, te_x, NTEST, 2, d1));
        CHECK_OK(lam_svm_decision_function(s2, te_x, NTEST, 2, d2));
        CHECK(memcmp(d1, d2, sizeof(double) * NTEST * 3) == 0, "svm decision values after load");
        CHECK(lam_svm_gamma(s2) == lam_svm_gamma(s) && lam_svm_get_params(s2)->gamma == 0,
              "gamma scale kept");
        int32_t a1[NTEST], a2[NTEST];
        lam_svm_predict(s, te_x, NTEST, 2, a1);
        lam_svm_predict(s2, te_x, NTEST, 2, a2);
        CHECK(memcmp(a1, a2, sizeof a1) == 0, "svm predictions after load");
        lam_svm_free(s2);
    }
    check_broken_container(spath, load_svm);
    lam_svm_free(s);

    /* Linear. */
    lam_linear *m, *m2;
    CHECK_OK(lam_linear_create(&m, NULL));
    CHECK_OK(lam_linear_fit(m, sep_x, NSEP, 2, sep_y));
    const char *lpath = tmp_path("linear.st");
    CHECK_OK(lam_linear_save(m, lpath));
    CHECK_OK(lam_linear_load(lpath, &m2));
    if (m2) {
        CHECK_OK(lam_linear_decision_function(m, te_x, NTEST, 2, d1));
        CHECK_OK(lam_linear_decision_function(m2, te_x, NTEST, 2, d2));
        CHECK(memcmp(d1, d2, sizeof(double) * NTEST * 3) == 0, "linear scores after load");
        lam_linear_free(m2);
    }
    check_broken_container(lpath, load_linear);
    lam_linear_free(m);
}

/* Every allocation failing in turn: an error, never a crash (and, under
 * LAMINA_SANITIZE, never a leak). */
static void test_alloc_failures(void)
{
    int bad = 0, done = 0;
    long k;
    for (k = 1; k < 3000 && !done; k++) {
        lam_tree *t = NULL;
        lam_forest *f = NULL;
        lam_svm *s = NULL;
        lam_linear *m = NULL;
        lam_forest_params fp = lam_forest_defaults();
        fp.n_trees = 3;
        lam_testing_fail_alloc_after(k);
        lam_status st = lam_tree_create(&t, NULL);
        if (st == LAM_OK) st = lam_tree_fit(t, sep_x, 60, 2, sep_y);
        if (st == LAM_OK) st = lam_forest_create(&f, &fp);
        if (st == LAM_OK) st = lam_forest_fit(f, sep_x, 60, 2, sep_y);
        if (st == LAM_OK) st = lam_svm_create(&s, NULL);
        if (st == LAM_OK) st = lam_svm_fit(s, sep_x, 60, 2, sep_y);
        if (st == LAM_OK) st = lam_linear_create(&m, NULL);
        if (st == LAM_OK) st = lam_linear_fit(m, sep_x, 60, 2, sep_y);
        if (st == LAM_OK) st = lam_svm_save(s, tmp_path("af.st"));
        if (st == LAM_OK) {
            lam_svm *s2 = NULL;
            st = lam_svm_load(tmp_path("af.st"), &s2);
            lam_svm_free(s2);
        }
        lam_testing_fail_alloc_after(0);
        if (st != LAM_OK && st != LAM_ERR_NOMEM && st != LAM_ERR_IO) bad++;
        lam_tree_free(t);
        lam_forest_free(f);
        lam_svm_free(s);
        lam_linear_free(m);
        done = st == LAM_OK;
    }
    CHECK(bad == 0, "%d allocation failures gave another status", bad);
    CHECK(done, "still failing after %ld allocations", k);
    printf("allocation failures: each of the %ld allocations of the sequence failed in turn\n", k - 2);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/lamina_classic_XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    make_data();
    test_tree_hand();
    test_tree_forest_synthetic();
    test_svm_kkt();
    test_svm_synthetic();
    test_linear_synthetic();
    test_scaling();
    test_save_load();
    test_alloc_failures();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary("test_classic");
}
