/* tree_shap.c - exact SHAP values of decision trees and forests, on the class
 * probabilities (every class in one walk of the tree).
 *
 * Path-dependent (Lundberg, Erion et al. 2020, "From local explanations to
 * global understanding with explainable AI for trees", Algorithm 2): the game
 * is v(S) = E[f(x) | x_S], a feature outside S sending the sample down both
 * children in proportion to their training cover (weighted_n_node_samples).
 * One recursion carries the path of unique features with, for each, the
 * fraction of zero paths (cover ratio) and one paths (x goes that way) and the
 * Shapley weights of all subset sizes (EXTEND / UNWIND): O(leaves * depth^2)
 * per sample.
 *
 * Interventional (shap's feature_perturbation="interventional"): for one
 * background row r the game is v(S) = f(x_S, r_not S). Walking the tree with x
 * and r at once, a node whose feature is not yet decided and where x and r part
 * ways splits the walk: x's side requires the feature in S, r's side requires
 * it out. A leaf reached with a features required in and b required out adds
 * v_L [A in S, B out of S], whose Shapley values are v_L (a-1)! b! / (a+b)! for
 * each feature of A and -v_L a! (b-1)! / (a+b)! for each of B (only the order
 * of those a+b features matters). Each split node sums these over the leaves
 * below it and credits its feature once: O(nodes) per (sample, background
 * row); phi is the mean over the background rows.
 *
 * Samples are independent: threads take whole samples and add in a fixed
 * order, so the results do not depend on the thread count. */
#include "classic/classic.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* The tree's arrays. lam_tree_raw takes a mutable tree because the forest's
 * loader fills it; nothing here writes through it. */
static const lam_tree_arrays *tree_arrays(const lam_tree *t)
{
    return lam_tree_raw((lam_tree *)t);
}

/* ------------------------------------------------------------- checks */

/* The arguments every entry point shares; what names the caller. */
static lam_status check_args(const char *what, const void *model, const char *model_name,
                             const float *x, int64_t n, int64_t d, int64_t model_d,
                             const double *phi, const double *expected)
{
    if (!model) return lam_error(LAM_ERR_ARG, "%s: the %s is NULL", what, model_name);
    if (!x) return lam_error(LAM_ERR_ARG, "%s: x is NULL", what);
    if (!phi) return lam_error(LAM_ERR_ARG, "%s: phi is NULL", what);
    if (!expected) return lam_error(LAM_ERR_ARG, "%s: expected is NULL", what);
    if (model_d == 0) return lam_error(LAM_ERR_STATE, "%s: the %s is not fitted", what, model_name);
    if (n < 1) return lam_error(LAM_ERR_ARG, "%s: n must be >= 1, got %" PRId64, what, n);
    if (d != model_d)
        return lam_error(LAM_ERR_SHAPE,
                         "%s: x has %" PRId64 " features, the %s was fit on %" PRId64, what, d,
                         model_name, model_d);
    return LAM_OK;
}

static lam_status check_background(const char *what, const float *bg, int64_t nb)
{
    if (!bg) return lam_error(LAM_ERR_ARG, "%s: the background is NULL", what);
    if (nb < 1)
        return lam_error(LAM_ERR_ARG, "%s: the background is empty (nb = %" PRId64 ")", what,
                         nb);
    return LAM_OK;
}

/* Path-dependent weights divide by node covers: a split with no cover (only
 * possible in a hand-made file) has no defined expectation. */
static lam_status check_cover(const char *what, const lam_tree *t, int tree_index)
{
    const lam_tree_arrays *a = tree_arrays(t);
    for (int64_t i = 0; i < a->nodes; i++)
        if (a->feature[i] >= 0 && !(a->weighted[i] > 0))
            return lam_error(LAM_ERR_ARG,
                             "%s: tree %d node %" PRId64 " splits with weighted_samples %g; "
                             "path-dependent SHAP needs positive covers",
                             what, tree_index, i, a->weighted[i]);
    return LAM_OK;
}

/* ------------------------------------------------------- path-dependent */

typedef struct path_elem {
    int32_t feature;
    double zero, one; /* fraction of zero paths (cover ratio) and of one paths (0 or 1) */
    double pweight;   /* weight of the subsets of each size along the path */
} path_elem;

/* EXTEND: appends a feature to the path of depth `depth` (0 = empty). */
static void path_extend(path_elem *p, int depth, double zero, double one, int32_t feature)
{
    p[depth].feature = feature;
    p[depth].zero = zero;
    p[depth].one = one;
    p[depth].pweight = depth == 0 ? 1.0 : 0.0;
    for (int i = depth - 1; i >= 0; i--) {
        p[i + 1].pweight += one * p[i].pweight * (i + 1) / (double)(depth + 1);
        p[i].pweight = zero * p[i].pweight * (depth - i) / (double)(depth + 1);
    }
}

/* UNWIND: removes element `index` of the path of depth `depth`. */
static void path_unwind(path_elem *p, int depth, int index)
{
    const double one = p[index].one, zero = p[index].zero;
    double next = p[depth].pweight;
    for (int i = depth - 1; i >= 0; i--) {
        if (one != 0) {
            const double tmp = p[i].pweight;
            p[i].pweight = next * (depth + 1) / ((i + 1) * one);
            next = tmp - p[i].pweight * zero * (depth - i) / (double)(depth + 1);
        } else {
            p[i].pweight = p[i].pweight * (depth + 1) / (zero * (depth - i));
        }
    }
    for (int i = index; i < depth; i++) {
        p[i].feature = p[i + 1].feature;
        p[i].zero = p[i + 1].zero;
        p[i].one = p[i + 1].one;
    }
}

/* Sum of the weights UNWIND(path, index) would leave, without unwinding. */
static double path_unwound_sum(const path_elem *p, int depth, int index)
{
    const double one = p[index].one, zero = p[index].zero;
    double next = p[depth].pweight, total = 0;
    if (one != 0) {
        for (int i = depth - 1; i >= 0; i--) {
            const double tmp = next / ((i + 1) * one);
            total += tmp;
            next = p[i].pweight - tmp * zero * (depth - i);
        }
    } else {
        for (int i = depth - 1; i >= 0; i--) total += p[i].pweight / (zero * (depth - i));
    }
    return total * (depth + 1);
}

typedef struct pd_ctx {
    const lam_tree_arrays *a;
    int32_t k;
    const float *x;
    double *phi; /* d * k, accumulated */
} pd_ctx;

/* RECURSE of Algorithm 2. parent: the path above (depth + 1 elements used
 * after extending); each level copies it into the next slot of the buffer, so
 * the buffer holds (max depth + 2) (max depth + 3) / 2 elements. */
static void pd_recurse(const pd_ctx *c, int64_t node, path_elem *parent, int depth, double zero,
                       double one, int32_t feature)
{
    path_elem *p = parent + depth + 1;
    if (depth > 0) memcpy(p, parent, (size_t)depth * sizeof *p);
    path_extend(p, depth, zero, one, feature);
    const lam_tree_arrays *a = c->a;
    const int32_t f = a->feature[node];
    if (f < 0) {
        const double *v = a->value + node * c->k;
        for (int i = 1; i <= depth; i++) {
            const double w = path_unwound_sum(p, depth, i) * (p[i].one - p[i].zero);
            double *out = c->phi + (int64_t)p[i].feature * c->k;
            for (int32_t j = 0; j < c->k; j++) out[j] += w * v[j];
        }
        return;
    }
    const bool goes_left = (double)c->x[f] <= a->threshold[node];
    const int64_t hot = goes_left ? a->left[node] : a->right[node];
    const int64_t cold = goes_left ? a->right[node] : a->left[node];
    const double cover = a->weighted[node];
    double in_zero = 1, in_one = 1;
    int index = 0;
    while (index <= depth && p[index].feature != f) index++;
    if (index <= depth) {
        /* The feature is on the path already: its earlier split and this one
         * count as one decision, so take it off and carry its fractions. */
        in_zero = p[index].zero;
        in_one = p[index].one;
        path_unwind(p, depth, index);
        depth--;
    }
    pd_recurse(c, hot, p, depth + 1, a->weighted[hot] / cover * in_zero, in_one, f);
    pd_recurse(c, cold, p, depth + 1, a->weighted[cold] / cover * in_zero, 0, f);
}

/* Path elements the recursion of a tree of depth `depth` needs. */
static size_t pd_path_size(int depth)
{
    return (size_t)(depth + 2) * (size_t)(depth + 3) / 2;
}

/* Adds the tree's SHAP values of one row to phi (d * k). */
static void pd_tree(const lam_tree *t, const float *row, path_elem *path, double *phi)
{
    pd_ctx c = {tree_arrays(t), lam_tree_num_classes(t), row, phi};
    pd_recurse(&c, 0, path, 0, 1, 1, -1);
}

/* Shared by tree and forest: trees[0..nt) averaged. */
static lam_status shap_path_dependent(const char *what, const lam_tree *const *trees, int nt,
                                      const float *x, int64_t n, int64_t d, int32_t k,
                                      double *phi, double *expected)
{
    int max_depth = 0;
    for (int t = 0; t < nt; t++) {
        LAM_TRY(check_cover(what, trees[t], t));
        if (lam_tree_depth(trees[t]) > max_depth) max_depth = lam_tree_depth(trees[t]);
    }
    for (int32_t j = 0; j < k; j++) expected[j] = 0;
    for (int t = 0; t < nt; t++) {
        const double *root = tree_arrays(trees[t])->value;
        for (int32_t j = 0; j < k; j++) expected[j] += root[j] / nt;
    }
    int failed = 0;
#pragma omp parallel
    {
        path_elem *path = lam_malloc(pd_path_size(max_depth) * sizeof *path);
        if (!path) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < n; i++) {
            if (!path) continue;
            double *out = phi + i * d * k;
            memset(out, 0, (size_t)(d * k) * sizeof *out);
            for (int t = 0; t < nt; t++) pd_tree(trees[t], x + i * d, path, out);
            if (nt > 1)
                for (int64_t j = 0; j < d * k; j++) out[j] /= nt;
        }
        lam_free(path);
    }
    if (failed)
        return lam_error(LAM_ERR_NOMEM, "%s: out of memory for the path buffers (depth %d)", what,
                         max_depth);
    return LAM_OK;
}

lam_status lam_tree_shap(const lam_tree *t, const float *x, int64_t n, int64_t d, double *phi,
                         double *expected)
{
    const char *what = "tree shap";
    LAM_TRY(check_args(what, t, "tree", x, n, d, t ? lam_tree_num_features(t) : 0, phi,
                       expected));
    return shap_path_dependent(what, &t, 1, x, n, d, lam_tree_num_classes(t), phi, expected);
}

/* The forest's trees as an array (freed by the caller with lam_free). */
static lam_status forest_trees(const char *what, const lam_forest *f, const lam_tree ***out)
{
    const int nt = lam_forest_num_trees(f);
    const lam_tree **trees = lam_malloc((size_t)nt * sizeof *trees);
    if (!trees) return lam_error_context(LAM_ERR_NOMEM, "%s", what);
    for (int i = 0; i < nt; i++) trees[i] = lam_forest_tree(f, i);
    *out = trees;
    return LAM_OK;
}

lam_status lam_forest_shap(const lam_forest *f, const float *x, int64_t n, int64_t d,
                           double *phi, double *expected)
{
    const char *what = "forest shap";
    LAM_TRY(check_args(what, f, "forest", x, n, d,
                       f && lam_forest_num_trees(f) > 0 ? lam_forest_num_features(f) : 0, phi,
                       expected));
    const lam_tree **trees = NULL;
    LAM_TRY(forest_trees(what, f, &trees));
    lam_status s = shap_path_dependent(what, trees, lam_forest_num_trees(f), x, n, d,
                                       lam_forest_num_classes(f), phi, expected);
    lam_free(trees);
    return s;
}

/* --------------------------------------------------------- interventional */

enum { FEATURE_FREE = 0, FEATURE_IN, FEATURE_OUT };

typedef struct iv_ctx {
    const lam_tree_arrays *a;
    int32_t k;
    const float *x, *r;
    uint8_t *state;    /* d: FEATURE_FREE / _IN (follows x) / _OUT (follows r) */
    double *scratch;   /* (max depth + 1) * 2k: the sums of each split level */
    const double *lf;  /* lf[i] = ln i!, i <= max depth */
    double *phi;       /* d * k, accumulated */
} iv_ctx;

/* Adds to pos / neg (k each) the sums over the leaves below node of
 * v_L (a-1)! b! / (a+b)! and v_L a! (b-1)! / (a+b)!, where a and b count the
 * features the walk to the leaf requires in and out of S (a, b here: those
 * above node); credits each split on the way to its feature. */
static void iv_recurse(const iv_ctx *c, int64_t node, int nin, int nout, double *pos, double *neg)
{
    const lam_tree_arrays *a = c->a;
    const int32_t k = c->k;
    for (;;) {
        const int32_t f = a->feature[node];
        if (f < 0) break;
        const bool x_left = (double)c->x[f] <= a->threshold[node];
        const bool r_left = (double)c->r[f] <= a->threshold[node];
        const uint8_t st = c->state[f];
        if (st != FEATURE_FREE || x_left == r_left) {
            /* One way only: the feature is decided, or x and r agree here. */
            const bool left = st == FEATURE_OUT ? r_left : x_left;
            node = left ? a->left[node] : a->right[node];
            continue;
        }
        double *p = c->scratch + (int64_t)(nin + nout) * 2 * k, *q = p + k;
        double *out = c->phi + (int64_t)f * k;
        /* x's side: f must be in S. */
        memset(p, 0, (size_t)(2 * k) * sizeof *p);
        c->state[f] = FEATURE_IN;
        iv_recurse(c, x_left ? a->left[node] : a->right[node], nin + 1, nout, p, q);
        for (int32_t j = 0; j < k; j++) {
            out[j] += p[j];
            pos[j] += p[j];
            neg[j] += q[j];
        }
        /* r's side: f must be out of S. */
        memset(p, 0, (size_t)(2 * k) * sizeof *p);
        c->state[f] = FEATURE_OUT;
        iv_recurse(c, r_left ? a->left[node] : a->right[node], nin, nout + 1, p, q);
        for (int32_t j = 0; j < k; j++) {
            out[j] -= q[j];
            pos[j] += p[j];
            neg[j] += q[j];
        }
        c->state[f] = FEATURE_FREE;
        return;
    }
    const double *v = a->value + node * k;
    const double *lf = c->lf;
    if (nin > 0) {
        const double w = exp(lf[nin - 1] + lf[nout] - lf[nin + nout]);
        for (int32_t j = 0; j < k; j++) pos[j] += w * v[j];
    }
    if (nout > 0) {
        const double w = exp(lf[nin] + lf[nout - 1] - lf[nin + nout]);
        for (int32_t j = 0; j < k; j++) neg[j] += w * v[j];
    }
}

static lam_status shap_interventional(const char *what, const lam_tree *const *trees, int nt,
                                      const float *bg, int64_t nb, const float *x, int64_t n,
                                      int64_t d, int32_t k, double *phi, double *expected)
{
    int max_depth = 0;
    for (int t = 0; t < nt; t++)
        if (lam_tree_depth(trees[t]) > max_depth) max_depth = lam_tree_depth(trees[t]);
    double *lf = lam_malloc((size_t)(max_depth + 1) * sizeof *lf);
    if (!lf) return lam_error_context(LAM_ERR_NOMEM, "%s", what);
    lf[0] = 0;
    for (int i = 1; i <= max_depth; i++) lf[i] = lf[i - 1] + log((double)i);
    for (int32_t j = 0; j < k; j++) expected[j] = 0;
    for (int64_t b = 0; b < nb; b++)
        for (int t = 0; t < nt; t++) lam_tree_accumulate(trees[t], bg + b * d, expected);
    for (int32_t j = 0; j < k; j++) expected[j] /= (double)nb * nt;
    int failed = 0;
#pragma omp parallel
    {
        uint8_t *state = lam_calloc((size_t)d, 1);
        double *scratch = lam_malloc((size_t)(max_depth + 1) * 2 * (size_t)k * sizeof *scratch);
        /* The root's sums: every split below it has credited its feature already. */
        double *sink = lam_malloc((size_t)(2 * k) * sizeof *sink);
        if (!state || !scratch || !sink) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < n; i++) {
            if (!state || !scratch || !sink) continue;
            double *out = phi + i * d * k;
            memset(out, 0, (size_t)(d * k) * sizeof *out);
            for (int t = 0; t < nt; t++) {
                iv_ctx c = {tree_arrays(trees[t]), k, x + i * d, NULL, state, scratch, lf, out};
                for (int64_t b = 0; b < nb; b++) {
                    c.r = bg + b * d;
                    iv_recurse(&c, 0, 0, 0, sink, sink + k);
                }
            }
            const double scale = 1.0 / ((double)nb * nt);
            for (int64_t j = 0; j < d * k; j++) out[j] *= scale;
        }
        lam_free(state);
        lam_free(scratch);
        lam_free(sink);
    }
    lam_free(lf);
    if (failed)
        return lam_error(LAM_ERR_NOMEM, "%s: out of memory for the walk buffers (depth %d)", what,
                         max_depth);
    return LAM_OK;
}

lam_status lam_tree_shap_interventional(const lam_tree *t, const float *bg, int64_t nb,
                                        const float *x, int64_t n, int64_t d, double *phi,
                                        double *expected)
{
    const char *what = "tree shap (interventional)";
    LAM_TRY(check_args(what, t, "tree", x, n, d, t ? lam_tree_num_features(t) : 0, phi,
                       expected));
    LAM_TRY(check_background(what, bg, nb));
    return shap_interventional(what, &t, 1, bg, nb, x, n, d, lam_tree_num_classes(t), phi,
                               expected);
}

lam_status lam_forest_shap_interventional(const lam_forest *f, const float *bg, int64_t nb,
                                          const float *x, int64_t n, int64_t d, double *phi,
                                          double *expected)
{
    const char *what = "forest shap (interventional)";
    LAM_TRY(check_args(what, f, "forest", x, n, d,
                       f && lam_forest_num_trees(f) > 0 ? lam_forest_num_features(f) : 0, phi,
                       expected));
    LAM_TRY(check_background(what, bg, nb));
    const lam_tree **trees = NULL;
    LAM_TRY(forest_trees(what, f, &trees));
    lam_status s = shap_interventional(what, trees, lam_forest_num_trees(f), bg, nb, x, n, d,
                                       lam_forest_num_classes(f), phi, expected);
    lam_free(trees);
    return s;
}
