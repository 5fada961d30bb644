/* forest.c - random forest of CART trees: bootstrap samples, sqrt(d) features
 * per split, probabilities averaged. Trees are grown in parallel; tree i draws
 * everything from lam_rng_derive(seed, i, 0), so the forest does not depend
 * on the number of threads or their scheduling. */
#include "classic.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

struct lam_forest {
    lam_forest_params p;
    int64_t d;
    int32_t k;
    int n_trees;
    lam_tree **trees;
};

lam_forest_params lam_forest_defaults(void)
{
    lam_forest_params p = {100, true, LAM_CRITERION_GINI, 0, 2, 1, LAM_MAX_FEATURES_SQRT, 0};
    return p;
}

static lam_tree_params forest_tree_params(const lam_forest_params *p)
{
    lam_tree_params t = lam_tree_defaults();
    t.criterion = p->criterion;
    t.max_depth = p->max_depth;
    t.min_samples_split = p->min_samples_split;
    t.min_samples_leaf = p->min_samples_leaf;
    t.max_features = p->max_features;
    t.seed = p->seed;
    return t;
}

lam_status lam_forest_create(lam_forest **out, const lam_forest_params *params)
{
    if (!out) return lam_error(LAM_ERR_ARG, "forest create: out is NULL");
    *out = NULL;
    lam_forest_params p = params ? *params : lam_forest_defaults();
    if (p.n_trees < 1) return lam_error(LAM_ERR_ARG, "forest create: n_trees must be >= 1");
    /* The tree checks the rest. */
    lam_tree_params tp = forest_tree_params(&p);
    lam_tree *probe;
    LAM_TRY(lam_tree_create(&probe, &tp));
    lam_tree_free(probe);
    lam_forest *f = lam_calloc(1, sizeof *f);
    if (!f) return LAM_ERR_NOMEM;
    f->p = p;
    *out = f;
    return LAM_OK;
}

static void forest_clear(lam_forest *f)
{
    for (int i = 0; i < f->n_trees; i++) lam_tree_free(f->trees[i]);
    lam_free(f->trees);
    f->trees = NULL;
    f->n_trees = 0;
}

void lam_forest_free(lam_forest *f)
{
    if (!f) return;
    forest_clear(f);
    lam_free(f);
}

int32_t lam_forest_num_classes(const lam_forest *f) { return f ? f->k : 0; }
int64_t lam_forest_num_features(const lam_forest *f) { return f ? f->d : 0; }
int lam_forest_num_trees(const lam_forest *f) { return f ? f->n_trees : 0; }
const lam_tree *lam_forest_tree(const lam_forest *f, int i)
{
    return f && i >= 0 && i < f->n_trees ? f->trees[i] : NULL;
}

lam_status lam_forest_fit(lam_forest *f, const float *x, int64_t n, int64_t d, const int32_t *y)
{
    if (!f) return lam_error(LAM_ERR_ARG, "forest fit: forest is NULL");
    LAM_TRY(lam_classic_check_xy("forest fit", x, n, d, y));
    forest_clear(f);
    int32_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (y[i] + 1 > k) k = y[i] + 1;
    lam_tree_binned b;
    LAM_TRY(lam_tree_binned_build(&b, x, n, d, y, k));
    const int nt = f->p.n_trees;
    f->trees = lam_calloc((size_t)nt, sizeof(lam_tree *));
    if (!f->trees) {
        lam_tree_binned_free(&b);
        return LAM_ERR_NOMEM;
    }
    lam_tree_params tp = forest_tree_params(&f->p);
    lam_status first = LAM_OK;
    int first_tree = -1;
    char msg[512] = "";
#pragma omp parallel
    {
        int64_t *idx = lam_malloc((size_t)n * sizeof(int64_t));
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < nt; t++) {
            lam_status s = idx ? LAM_OK : LAM_ERR_NOMEM;
            lam_rng rng;
            lam_rng_derive(&rng, f->p.seed, (uint64_t)t, 0);
            if (s == LAM_OK) {
                for (int64_t i = 0; i < n; i++)
                    idx[i] = f->p.bootstrap ? (int64_t)lam_rng_below(&rng, (uint64_t)n) : i;
                s = lam_tree_create(&f->trees[t], &tp);
            }
            if (s == LAM_OK) s = lam_tree_grow(f->trees[t], &b, idx, n, &rng);
            if (s != LAM_OK) {
                /* Error messages are per thread: carry the text over. */
#pragma omp critical(lam_forest_err)
                if (first == LAM_OK || t < first_tree) {
                    first = s;
                    first_tree = t;
                    snprintf(msg, sizeof msg, "%s", lam_last_error());
                }
            }
        }
        lam_free(idx);
    }
    lam_tree_binned_free(&b);
    f->n_trees = nt;
    f->d = d;
    f->k = k;
    if (first != LAM_OK) {
        forest_clear(f);
        return lam_error(first, "forest fit: tree %d: %s", first_tree, msg);
    }
    return LAM_OK;
}

lam_status lam_forest_fit_dataset(lam_forest *f, const lam_dataset *ds)
{
    float *x;
    int32_t *y;
    int64_t n, d;
    LAM_TRY(lam_classic_gather("forest fit", ds, &x, &y, &n, &d));
    lam_status s = lam_forest_fit(f, x, n, d, y);
    lam_free(x);
    lam_free(y);
    return s;
}

static lam_status forest_check_predict(const lam_forest *f, const float *x, int64_t n, int64_t d,
                                       const void *out)
{
    if (!f || !x || !out) return lam_error(LAM_ERR_ARG, "forest predict: NULL argument");
    if (f->n_trees == 0) return lam_error(LAM_ERR_STATE, "forest predict: not fitted");
    if (d != f->d)
        return lam_error(LAM_ERR_SHAPE,
                         "forest predict: x has %" PRId64 " features, the forest %" PRId64, d,
                         f->d);
    if (n < 0) return lam_error(LAM_ERR_ARG, "forest predict: n < 0");
    return LAM_OK;
}

/* Mean probabilities into out (double, n * k), rows in parallel. */
static lam_status forest_mean(const lam_forest *f, const float *x, int64_t n, int64_t d,
                              float *outf, int32_t *outl)
{
    int failed = 0;
#pragma omp parallel
    {
        double *acc = lam_malloc((size_t)f->k * sizeof(double));
        if (!acc) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            if (!acc) continue;
            for (int32_t c = 0; c < f->k; c++) acc[c] = 0;
            for (int t = 0; t < f->n_trees; t++) lam_tree_accumulate(f->trees[t], x + i * d, acc);
            if (outf)
                for (int32_t c = 0; c < f->k; c++)
                    outf[i * f->k + c] = (float)(acc[c] / f->n_trees);
            if (outl) {
                int32_t arg = 0;
                for (int32_t c = 1; c < f->k; c++)
                    if (acc[c] > acc[arg]) arg = c;
                outl[i] = arg;
            }
        }
        lam_free(acc);
    }
    return failed ? lam_error(LAM_ERR_NOMEM, "forest predict: out of memory") : LAM_OK;
}

lam_status lam_forest_predict_proba(const lam_forest *f, const float *x, int64_t n, int64_t d,
                                    float *out)
{
    LAM_TRY(forest_check_predict(f, x, n, d, out));
    return forest_mean(f, x, n, d, out, NULL);
}

lam_status lam_forest_predict(const lam_forest *f, const float *x, int64_t n, int64_t d,
                              int32_t *out)
{
    LAM_TRY(forest_check_predict(f, x, n, d, out));
    return forest_mean(f, x, n, d, NULL, out);
}

lam_status lam_forest_feature_importances(const lam_forest *f, double *out)
{
    if (!f || !out) return lam_error(LAM_ERR_ARG, "forest feature importances: NULL argument");
    if (f->n_trees == 0) return lam_error(LAM_ERR_STATE, "forest feature importances: not fitted");
    double *tmp = lam_malloc((size_t)f->d * sizeof(double));
    if (!tmp) return LAM_ERR_NOMEM;
    for (int64_t j = 0; j < f->d; j++) out[j] = 0;
    for (int t = 0; t < f->n_trees; t++) {
        lam_status s = lam_tree_feature_importances(f->trees[t], tmp);
        if (s != LAM_OK) {
            lam_free(tmp);
            return s;
        }
        for (int64_t j = 0; j < f->d; j++) out[j] += tmp[j] / f->n_trees;
    }
    lam_free(tmp);
    /* As scikit-learn: renormalised, since single-leaf trees contribute 0. */
    double total = 0;
    for (int64_t j = 0; j < f->d; j++) total += out[j];
    if (total > 0)
        for (int64_t j = 0; j < f->d; j++) out[j] /= total;
    return LAM_OK;
}

/* ------------------------------------------------------------------ files */

/* All trees' arrays concatenated; tree_nodes gives each tree's node count and
 * child indices stay local to their tree. */
lam_status lam_forest_save(const lam_forest *f, const char *path)
{
    if (!f) return lam_error(LAM_ERR_ARG, "forest save: forest is NULL");
    if (f->n_trees == 0) return lam_error(LAM_ERR_STATE, "forest save: not fitted");
    int64_t total = 0;
    for (int t = 0; t < f->n_trees; t++) total += lam_tree_node_count(f->trees[t]);
    const int32_t k = f->k;
    int32_t *counts = lam_malloc((size_t)f->n_trees * 4);
    int32_t *feat = lam_malloc((size_t)total * 4), *left = lam_malloc((size_t)total * 4),
            *right = lam_malloc((size_t)total * 4);
    double *thr = lam_malloc((size_t)total * 8), *imp = lam_malloc((size_t)total * 8),
           *wn = lam_malloc((size_t)total * 8), *val = lam_malloc((size_t)(total * k) * 8);
    lam_status s = LAM_ERR_NOMEM;
    if (counts && feat && left && right && thr && imp && wn && val) {
        int64_t o = 0;
        for (int t = 0; t < f->n_trees; t++) {
            lam_tree_arrays *a = lam_tree_raw(f->trees[t]);
            int64_t m = a->nodes;
            counts[t] = (int32_t)m;
            memcpy(feat + o, a->feature, (size_t)m * 4);
            memcpy(left + o, a->left, (size_t)m * 4);
            memcpy(right + o, a->right, (size_t)m * 4);
            memcpy(thr + o, a->threshold, (size_t)m * 8);
            memcpy(imp + o, a->impurity, (size_t)m * 8);
            memcpy(wn + o, a->weighted, (size_t)m * 8);
            memcpy(val + o * k, a->value, (size_t)(m * k) * 8);
            o += m;
        }
        lam_st_tensor ts[] = {
            {"tree_nodes", LAM_ST_I32, 1, {f->n_trees, 0}, counts},
            {"feature", LAM_ST_I32, 1, {total, 0}, feat},
            {"threshold", LAM_ST_F64, 1, {total, 0}, thr},
            {"children_left", LAM_ST_I32, 1, {total, 0}, left},
            {"children_right", LAM_ST_I32, 1, {total, 0}, right},
            {"impurity", LAM_ST_F64, 1, {total, 0}, imp},
            {"weighted_n_node_samples", LAM_ST_F64, 1, {total, 0}, wn},
            {"value", LAM_ST_F64, 2, {total, k}, val},
        };
        char sd[32], sk[32], nt[32], md[32], mss[32], msl[32], mf[32], seed[32];
        snprintf(sd, sizeof sd, "%" PRId64, f->d);
        snprintf(sk, sizeof sk, "%d", k);
        snprintf(nt, sizeof nt, "%d", f->n_trees);
        snprintf(md, sizeof md, "%d", f->p.max_depth);
        snprintf(mss, sizeof mss, "%d", f->p.min_samples_split);
        snprintf(msl, sizeof msl, "%d", f->p.min_samples_leaf);
        snprintf(mf, sizeof mf, "%d", f->p.max_features);
        snprintf(seed, sizeof seed, "%" PRIu64, f->p.seed);
        const char *meta[] = {"n_features", sd, "n_classes", sk, "n_trees", nt,
                              "bootstrap", f->p.bootstrap ? "true" : "false",
                              "criterion", f->p.criterion == LAM_CRITERION_GINI ? "gini" : "entropy",
                              "max_depth", md, "min_samples_split", mss, "min_samples_leaf", msl,
                              "max_features", mf, "seed", seed};
        s = lam_st_save(path, "forest", ts, 8, meta, 10);
    }
    lam_free(counts);
    lam_free(feat);
    lam_free(left);
    lam_free(right);
    lam_free(thr);
    lam_free(imp);
    lam_free(wn);
    lam_free(val);
    return s;
}

lam_status lam_forest_load(const char *path, lam_forest **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "forest load: out is NULL");
    *out = NULL;
    lam_st_file f;
    LAM_TRY(lam_st_open(&f, path, "forest"));
    lam_forest_params p = lam_forest_defaults();
    lam_forest *fo = NULL;
    int64_t d, k, nt;
    const char *str;
    lam_status s;
    if ((s = lam_st_meta_int(&f, "n_features", 1, INT32_MAX, &d)) ||
        (s = lam_st_meta_int(&f, "n_classes", 1, INT32_MAX, &k)) ||
        (s = lam_st_meta_int(&f, "n_trees", 1, INT32_MAX, &nt)))
        goto done;
    p.n_trees = (int)nt;
    if ((s = lam_st_meta_str(&f, "bootstrap", &str))) goto done;
    p.bootstrap = strcmp(str, "true") == 0;
    lam_tree_params saved = lam_tree_defaults();
    if ((s = lam_tree_params_read(&f, path, &saved))) goto done;
    p.criterion = saved.criterion;
    p.max_depth = saved.max_depth;
    p.min_samples_split = saved.min_samples_split;
    p.min_samples_leaf = saved.min_samples_leaf;
    p.max_features = saved.max_features;
    p.seed = saved.seed;
    int64_t sh[2] = {nt, -1};
    const void *cnt_raw;
    if ((s = lam_st_tensor_get(&f, "tree_nodes", LAM_ST_I32, 1, sh, &cnt_raw))) goto done;
    int64_t total = 0;
    for (int64_t t = 0; t < nt; t++) {
        int32_t c;
        memcpy(&c, (const char *)cnt_raw + 4 * t, 4);
        if (c < 1) {
            s = lam_error(LAM_ERR_FORMAT, "%s: tree %" PRId64 " has %d nodes", path, t, c);
            goto done;
        }
        total += c;
    }
    const void *src[7];
    const char *names[7] = {"feature", "threshold", "children_left", "children_right",
                            "impurity", "weighted_n_node_samples", "value"};
    const lam_st_dtype dts[7] = {LAM_ST_I32, LAM_ST_F64, LAM_ST_I32, LAM_ST_I32,
                                 LAM_ST_F64, LAM_ST_F64, LAM_ST_F64};
    for (int i = 0; i < 7; i++) {
        int64_t s2[2] = {total, k};
        if ((s = lam_st_tensor_get(&f, names[i], dts[i], i == 6 ? 2 : 1, s2, &src[i]))) goto done;
    }
    fo = lam_calloc(1, sizeof *fo);
    if (!fo || !(fo->trees = lam_calloc((size_t)nt, sizeof(lam_tree *)))) {
        s = LAM_ERR_NOMEM;
        goto done;
    }
    fo->p = p;
    fo->d = d;
    fo->k = (int32_t)k;
    lam_tree_params tp = forest_tree_params(&p);
    int64_t o = 0;
    for (int64_t t = 0; t < nt; t++) {
        int32_t m;
        memcpy(&m, (const char *)cnt_raw + 4 * t, 4);
        if ((s = lam_tree_alloc(&fo->trees[t], &tp, d, (int32_t)k, m))) goto done;
        fo->n_trees = (int)t + 1;
        lam_tree_arrays *a = lam_tree_raw(fo->trees[t]);
        void *dst[7] = {a->feature, a->threshold, a->left, a->right, a->impurity, a->weighted,
                        a->value};
        for (int i = 0; i < 7; i++) {
            size_t esz = dts[i] == LAM_ST_I32 ? 4 : 8;
            size_t per = i == 6 ? (size_t)k : 1;
            memcpy(dst[i], (const char *)src[i] + (size_t)o * per * esz, (size_t)m * per * esz);
        }
        char what[48];
        snprintf(what, sizeof what, "forest tree %" PRId64, t);
        if ((s = lam_tree_validate(fo->trees[t], path, what))) goto done;
        o += m;
    }
done:
    lam_st_close(&f);
    if (s != LAM_OK) {
        lam_forest_free(fo);
        return s;
    }
    *out = fo;
    return LAM_OK;
}
