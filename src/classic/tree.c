/* tree.c - CART decision tree classifier (gini / entropy), built depth-first
 * as scikit-learn's DepthFirstTreeBuilder with BestSplitter.
 *
 * Speed: every feature is quantised once into ranks (lam_tree_binned), so a
 * node sorts its samples per feature with a counting/radix sort on small
 * integers instead of a comparison sort on floats, and scans the sorted order
 * keeping impurity sums updated in O(1) per sample. Thresholds remain exact
 * midpoints between neighbouring real values seen in the node. */
#include "classic.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

struct lam_tree {
    lam_tree_params p;
    int64_t d;
    int32_t k;
    int depth;
    int64_t cap;
    lam_tree_arrays a;
};

lam_tree_params lam_tree_defaults(void)
{
    lam_tree_params p = {LAM_CRITERION_GINI, 0, 2, 1, 0, 0};
    return p;
}

static lam_status tree_check_params(const lam_tree_params *p, const char *what)
{
    if (p->criterion != LAM_CRITERION_GINI && p->criterion != LAM_CRITERION_ENTROPY)
        return lam_error(LAM_ERR_ARG, "%s: unknown criterion %d", what, (int)p->criterion);
    if (p->max_depth < 0) return lam_error(LAM_ERR_ARG, "%s: max_depth < 0", what);
    if (p->min_samples_split < 2)
        return lam_error(LAM_ERR_ARG, "%s: min_samples_split must be >= 2", what);
    if (p->min_samples_leaf < 1)
        return lam_error(LAM_ERR_ARG, "%s: min_samples_leaf must be >= 1", what);
    if (p->max_features < LAM_MAX_FEATURES_SQRT)
        return lam_error(LAM_ERR_ARG, "%s: max_features %d is invalid", what, p->max_features);
    return LAM_OK;
}

lam_status lam_tree_create(lam_tree **out, const lam_tree_params *params)
{
    if (!out) return lam_error(LAM_ERR_ARG, "tree create: out is NULL");
    *out = NULL;
    lam_tree_params p = params ? *params : lam_tree_defaults();
    LAM_TRY(tree_check_params(&p, "tree create"));
    lam_tree *t = lam_calloc(1, sizeof *t);
    if (!t) return LAM_ERR_NOMEM;
    t->p = p;
    *out = t;
    return LAM_OK;
}

static void tree_clear(lam_tree *t)
{
    lam_free(t->a.feature);
    lam_free(t->a.left);
    lam_free(t->a.right);
    lam_free(t->a.threshold);
    lam_free(t->a.impurity);
    lam_free(t->a.weighted);
    lam_free(t->a.value);
    memset(&t->a, 0, sizeof t->a);
    t->cap = 0;
    t->depth = 0;
    t->k = 0;
    t->d = 0;
}

void lam_tree_free(lam_tree *t)
{
    if (!t) return;
    tree_clear(t);
    lam_free(t);
}

lam_tree_arrays *lam_tree_raw(lam_tree *t) { return &t->a; }
int32_t lam_tree_num_classes(const lam_tree *t) { return t ? t->k : 0; }
int64_t lam_tree_num_features(const lam_tree *t) { return t ? t->d : 0; }
int64_t lam_tree_node_count(const lam_tree *t) { return t ? t->a.nodes : 0; }
int lam_tree_depth(const lam_tree *t) { return t ? t->depth : 0; }
const lam_tree_params *lam_tree_get_params(const lam_tree *t) { return t ? &t->p : NULL; }

/* Grows every array to hold at least want nodes. */
static lam_status tree_reserve(lam_tree *t, int64_t want)
{
    if (want <= t->cap) return LAM_OK;
    int64_t cap = t->cap ? t->cap : 64;
    while (cap < want) cap *= 2;
    void *p;
#define GROW(field, sz)                                               \
    if (!(p = lam_realloc(t->a.field, (size_t)cap * (sz)))) return LAM_ERR_NOMEM; \
    t->a.field = p;
    GROW(feature, sizeof(int32_t));
    GROW(left, sizeof(int32_t));
    GROW(right, sizeof(int32_t));
    GROW(threshold, sizeof(double));
    GROW(impurity, sizeof(double));
    GROW(weighted, sizeof(double));
    GROW(value, sizeof(double) * (size_t)t->k);
#undef GROW
    t->cap = cap;
    return LAM_OK;
}

lam_status lam_tree_alloc(lam_tree **out, const lam_tree_params *p, int64_t d, int32_t k,
                          int64_t nodes)
{
    LAM_TRY(lam_tree_create(out, p));
    (*out)->d = d;
    (*out)->k = k;
    lam_status s = tree_reserve(*out, nodes);
    if (s != LAM_OK) {
        lam_tree_free(*out);
        *out = NULL;
        return s;
    }
    (*out)->a.nodes = nodes;
    return LAM_OK;
}

/* ------------------------------------------------------------- quantising */

/* Float bits mapped so that unsigned order is numeric order. */
static inline uint32_t float_key(float v)
{
    uint32_t u;
    if (v == 0.0f) v = 0.0f; /* -0 and +0 are one value */
    memcpy(&u, &v, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

void lam_tree_binned_free(lam_tree_binned *b)
{
    if (!b) return;
    if (b->vals)
        for (int64_t f = 0; f < b->d; f++) lam_free(b->vals[f]);
    lam_free(b->vals);
    lam_free(b->nvals);
    lam_free(b->codes);
    memset(b, 0, sizeof *b);
}

lam_status lam_tree_binned_build(lam_tree_binned *b, const float *x, int64_t n, int64_t d,
                                 const int32_t *y, int32_t k)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    b->d = d;
    b->k = k;
    b->y = y;
    b->codes = lam_malloc((size_t)(n * d) * sizeof(uint32_t));
    b->vals = lam_calloc((size_t)d, sizeof(float *));
    b->nvals = lam_calloc((size_t)d, sizeof(int64_t));
    if (!b->codes || !b->vals || !b->nvals) {
        lam_tree_binned_free(b);
        return LAM_ERR_NOMEM;
    }
    int failed = 0;
#pragma omp parallel
    {
        /* Per thread: (key, index) pairs sorted by an LSD radix sort. */
        uint32_t *key = lam_malloc((size_t)n * 4), *key2 = lam_malloc((size_t)n * 4);
        uint32_t *id = lam_malloc((size_t)n * 4), *id2 = lam_malloc((size_t)n * 4);
        int ok = key && key2 && id && id2;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 4)
        for (int64_t f = 0; f < d; f++) {
            if (!ok) continue;
            for (int64_t i = 0; i < n; i++) {
                key[i] = float_key(x[i * d + f]);
                id[i] = (uint32_t)i;
            }
            for (int shift = 0; shift < 32; shift += 8) {
                int64_t cnt[257] = {0};
                for (int64_t i = 0; i < n; i++) cnt[((key[i] >> shift) & 255) + 1]++;
                if (cnt[((key[0] >> shift) & 255) + 1] == n) continue; /* one digit value */
                for (int j = 0; j < 256; j++) cnt[j + 1] += cnt[j];
                for (int64_t i = 0; i < n; i++) {
                    int64_t pos = cnt[(key[i] >> shift) & 255]++;
                    key2[pos] = key[i];
                    id2[pos] = id[i];
                }
                uint32_t *tk = key; key = key2; key2 = tk;
                uint32_t *ti = id; id = id2; id2 = ti;
            }
            int64_t nv = 0;
            uint32_t *codes = b->codes + f * n;
            for (int64_t i = 0; i < n; i++) {
                if (i > 0 && key[i] != key[i - 1]) nv++;
                codes[id[i]] = (uint32_t)nv;
            }
            nv++;
            float *vals = lam_malloc((size_t)nv * sizeof(float));
            if (!vals) {
                ok = 0;
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (int64_t i = 0; i < n; i++) vals[codes[id[i]]] = x[(int64_t)id[i] * d + f];
            b->vals[f] = vals;
            b->nvals[f] = nv;
        }
        lam_free(key);
        lam_free(key2);
        lam_free(id);
        lam_free(id2);
    }
    if (failed) {
        lam_tree_binned_free(b);
        return lam_error(LAM_ERR_NOMEM, "tree fit: out of memory quantising features");
    }
    return LAM_OK;
}

/* ------------------------------------------------------------------ growing */

typedef struct grow_ws {
    int64_t *idx;
    uint32_t *key, *key2;
    int32_t *lab, *lab2;
    int64_t *tot, *lc, *rc;
    double *xlogx; /* xlogx[c] = c ln c, for entropy sums updated per sample */
    int32_t *perm;
} grow_ws;

static void ws_free(grow_ws *w)
{
    lam_free(w->idx);
    lam_free(w->key);
    lam_free(w->key2);
    lam_free(w->lab);
    lam_free(w->lab2);
    lam_free(w->tot);
    lam_free(w->lc);
    lam_free(w->rc);
    lam_free(w->xlogx);
    lam_free(w->perm);
}

static double node_impurity(lam_criterion c, const int64_t *cnt, int32_t k, int64_t m)
{
    double imp = 0;
    if (c == LAM_CRITERION_GINI) {
        double sq = 0;
        for (int32_t j = 0; j < k; j++) sq += (double)cnt[j] * (double)cnt[j];
        imp = 1.0 - sq / ((double)m * (double)m);
    } else {
        for (int32_t j = 0; j < k; j++)
            if (cnt[j] > 0) {
                double pj = (double)cnt[j] / (double)m;
                imp -= pj * log2(pj);
            }
    }
    return imp < 0 ? 0 : imp;
}

/* Sorts key[0..m) (values < 2^bits) with lab alongside: insertion sort for a
 * handful, else LSD radix on 8-bit digits (one pass for uint8-like data). */
static void sort_keys(grow_ws *w, int64_t m, uint32_t range)
{
    uint32_t *key = w->key, *key2 = w->key2;
    int32_t *lab = w->lab, *lab2 = w->lab2;
    if (m <= 24) {
        for (int64_t i = 1; i < m; i++) {
            uint32_t kv = key[i];
            int32_t lv = lab[i];
            int64_t j = i - 1;
            while (j >= 0 && key[j] > kv) {
                key[j + 1] = key[j];
                lab[j + 1] = lab[j];
                j--;
            }
            key[j + 1] = kv;
            lab[j + 1] = lv;
        }
        return;
    }
    for (int shift = 0; shift < 32 && (range >> shift) > 0; shift += 8) {
        int64_t cnt[257] = {0};
        for (int64_t i = 0; i < m; i++) cnt[((key[i] >> shift) & 255) + 1]++;
        for (int j = 0; j < 256; j++) cnt[j + 1] += cnt[j];
        for (int64_t i = 0; i < m; i++) {
            int64_t pos = cnt[(key[i] >> shift) & 255]++;
            key2[pos] = key[i];
            lab2[pos] = lab[i];
        }
        uint32_t *tk = key; key = key2; key2 = tk;
        int32_t *tl = lab; lab = lab2; lab2 = tl;
    }
    /* Results are wherever the last pass left them: swap the buffers so that
     * w->key/w->lab name the sorted data. */
    w->key = key;
    w->key2 = key2;
    w->lab = lab;
    w->lab2 = lab2;
}

typedef struct split {
    double score; /* larger is better */
    int32_t feature;
    uint32_t code_lo, code_hi; /* left: code <= code_lo; code_hi: next code in node */
} split;

/* Best split of samples idx[0..m) on feature f; returns 0 if f is constant. */
static int eval_feature(const lam_tree *t, const lam_tree_binned *b, grow_ws *w,
                        const int64_t *idx, int64_t m, int64_t f, split *best)
{
    const uint32_t *codes = b->codes + f * b->n;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int64_t j = 0; j < m; j++) {
        uint32_t c = codes[idx[j]];
        w->key[j] = c;
        w->lab[j] = b->y[idx[j]];
        if (c < lo) lo = c;
        if (c > hi) hi = c;
    }
    if (lo == hi) return 0;
    for (int64_t j = 0; j < m; j++) w->key[j] -= lo;
    sort_keys(w, m, hi - lo);
    const uint32_t *key = w->key;
    const int32_t *lab = w->lab;
    const int32_t k = b->k;
    const int64_t minleaf = t->p.min_samples_leaf;
    int64_t *lc = w->lc, *rc = w->rc;
    memset(lc, 0, (size_t)k * sizeof *lc);
    memcpy(rc, w->tot, (size_t)k * sizeof *rc);
    const int gini = t->p.criterion == LAM_CRITERION_GINI;
    /* gini: maximise sqL/nL + sqR/nR (sq = sum of squared class counts);
     * entropy: minimise nL*H_L + nR*H_R = xlogx(nL) - eL + xlogx(nR) - eR. */
    double sqL = 0, sqR = 0, eL = 0, eR = 0;
    for (int32_t c = 0; c < k; c++) {
        sqR += (double)rc[c] * (double)rc[c];
        eR += w->xlogx[rc[c]];
    }
    const double *xl = w->xlogx;
    for (int64_t j = 0; j < m - 1; j++) {
        int32_t c = lab[j];
        if (gini) {
            sqL += 2.0 * (double)lc[c] + 1.0;
            sqR -= 2.0 * (double)rc[c] - 1.0;
        } else {
            eL += xl[lc[c] + 1] - xl[lc[c]];
            eR += xl[rc[c] - 1] - xl[rc[c]];
        }
        lc[c]++;
        rc[c]--;
        if (key[j] == key[j + 1]) continue;
        int64_t nl = j + 1, nr = m - nl;
        if (nl < minleaf || nr < minleaf) continue;
        double score = gini ? sqL / (double)nl + sqR / (double)nr
                            : -(xl[nl] - eL + xl[nr] - eR);
        if (score > best->score) {
            best->score = score;
            best->feature = (int32_t)f;
            best->code_lo = key[j] + lo;
            best->code_hi = key[j + 1] + lo;
        }
    }
    return 1;
}

typedef struct stack_item {
    int64_t start, end;
    int depth;
    int64_t parent; /* -1 for the root */
    int is_left;
} stack_item;

lam_status lam_tree_grow(lam_tree *t, const lam_tree_binned *b, const int64_t *idx_in, int64_t m,
                         lam_rng *rng)
{
    tree_clear(t);
    t->d = b->d;
    t->k = b->k;
    const int32_t k = b->k;
    const int64_t d = b->d;
    int64_t maxf = t->p.max_features == 0 ? d
                   : t->p.max_features == LAM_MAX_FEATURES_SQRT ? (int64_t)sqrt((double)d)
                                                                : t->p.max_features;
    if (maxf < 1) maxf = 1;
    if (maxf > d) maxf = d;
    grow_ws w = {0};
    stack_item *stack = NULL;
    lam_status s = LAM_OK;
    w.idx = lam_malloc((size_t)m * sizeof(int64_t));
    w.key = lam_malloc((size_t)m * 4);
    w.key2 = lam_malloc((size_t)m * 4);
    w.lab = lam_malloc((size_t)m * 4);
    w.lab2 = lam_malloc((size_t)m * 4);
    w.tot = lam_malloc((size_t)k * sizeof(int64_t));
    w.lc = lam_malloc((size_t)k * sizeof(int64_t));
    w.rc = lam_malloc((size_t)k * sizeof(int64_t));
    w.xlogx = lam_malloc((size_t)(m + 1) * sizeof(double));
    w.perm = lam_malloc((size_t)d * sizeof(int32_t));
    /* Depth-first: at most one pending sibling per level, plus margin. */
    int64_t stack_cap = 64, sp = 0;
    stack = lam_malloc((size_t)stack_cap * sizeof *stack);
    if (!w.idx || !w.key || !w.key2 || !w.lab || !w.lab2 || !w.tot || !w.lc || !w.rc ||
        !w.xlogx || !w.perm || !stack) {
        s = LAM_ERR_NOMEM;
        goto done;
    }
    memcpy(w.idx, idx_in, (size_t)m * sizeof(int64_t));
    w.xlogx[0] = 0;
    for (int64_t c = 1; c <= m; c++) w.xlogx[c] = (double)c * log((double)c);
    for (int64_t f = 0; f < d; f++) w.perm[f] = (int32_t)f;
    stack[sp++] = (stack_item){0, m, 0, -1, 0};
    while (sp > 0) {
        stack_item it = stack[--sp];
        int64_t node = t->a.nodes;
        if ((s = tree_reserve(t, node + 1)) != LAM_OK) goto done;
        if (node >= INT32_MAX) {
            s = lam_error(LAM_ERR_UNSUPPORTED, "tree fit: more than 2^31 nodes");
            goto done;
        }
        t->a.nodes++;
        if (it.parent >= 0) {
            if (it.is_left) t->a.left[it.parent] = (int32_t)node;
            else t->a.right[it.parent] = (int32_t)node;
        }
        if (it.depth > t->depth) t->depth = it.depth;
        int64_t *idx = w.idx + it.start;
        int64_t n_node = it.end - it.start;
        memset(w.tot, 0, (size_t)k * sizeof(int64_t));
        for (int64_t j = 0; j < n_node; j++) w.tot[b->y[idx[j]]]++;
        double imp = node_impurity(t->p.criterion, w.tot, k, n_node);
        t->a.impurity[node] = imp;
        t->a.weighted[node] = (double)n_node;
        for (int32_t c = 0; c < k; c++)
            t->a.value[node * k + c] = (double)w.tot[c] / (double)n_node;
        t->a.feature[node] = -1;
        t->a.left[node] = t->a.right[node] = -1;
        t->a.threshold[node] = -2.0; /* scikit-learn's TREE_UNDEFINED */
        int leaf = (t->p.max_depth > 0 && it.depth >= t->p.max_depth) ||
                   n_node < t->p.min_samples_split || n_node < 2 * t->p.min_samples_leaf ||
                   imp <= DBL_EPSILON;
        if (leaf) continue;
        split best = {-INFINITY, -1, 0, 0};
        int64_t visited = 0;
        /* Features in random order (Fisher-Yates drawn as we go); constant
         * ones do not count towards max_features, as in scikit-learn. */
        for (int64_t i = 0; i < d && visited < maxf; i++) {
            if (maxf < d) {
                int64_t j = i + (int64_t)lam_rng_below(rng, (uint64_t)(d - i));
                int32_t tmp = w.perm[i];
                w.perm[i] = w.perm[j];
                w.perm[j] = tmp;
            }
            visited += eval_feature(t, b, &w, idx, n_node, w.perm[i], &best);
        }
        if (best.feature < 0) continue; /* no split leaves min_samples_leaf on both sides */
        const float *vals = b->vals[best.feature];
        double a = vals[best.code_lo], bb = vals[best.code_hi];
        double thr = a / 2.0 + bb / 2.0;
        if (thr == bb || isinf(thr)) thr = a;
        t->a.feature[node] = best.feature;
        t->a.threshold[node] = thr;
        /* Partition idx: codes <= code_lo first. */
        const uint32_t *codes = b->codes + (int64_t)best.feature * b->n;
        int64_t lo = 0, hi = n_node - 1;
        while (lo <= hi) {
            if (codes[idx[lo]] <= best.code_lo) {
                lo++;
            } else {
                int64_t tmp = idx[lo];
                idx[lo] = idx[hi];
                idx[hi] = tmp;
                hi--;
            }
        }
        if (sp + 2 > stack_cap) {
            stack_item *ns = lam_realloc(stack, (size_t)stack_cap * 2 * sizeof *stack);
            if (!ns) {
                s = LAM_ERR_NOMEM;
                goto done;
            }
            stack = ns;
            stack_cap *= 2;
        }
        /* Right pushed first so the left child gets the next id. */
        stack[sp++] = (stack_item){it.start + lo, it.end, it.depth + 1, node, 0};
        stack[sp++] = (stack_item){it.start, it.start + lo, it.depth + 1, node, 1};
    }
done:
    ws_free(&w);
    lam_free(stack);
    if (s != LAM_OK) {
        tree_clear(t);
        return lam_error_context(s, "tree fit");
    }
    return LAM_OK;
}

/* ------------------------------------------------------------- public fit */

lam_status lam_tree_fit(lam_tree *t, const float *x, int64_t n, int64_t d, const int32_t *y)
{
    if (!t) return lam_error(LAM_ERR_ARG, "tree fit: tree is NULL");
    LAM_TRY(lam_classic_check_xy("tree fit", x, n, d, y));
    int32_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (y[i] + 1 > k) k = y[i] + 1;
    lam_tree_binned b;
    LAM_TRY(lam_tree_binned_build(&b, x, n, d, y, k));
    int64_t *idx = lam_malloc((size_t)n * sizeof(int64_t));
    lam_status s = LAM_ERR_NOMEM;
    if (idx) {
        for (int64_t i = 0; i < n; i++) idx[i] = i;
        lam_rng rng;
        lam_rng_seed(&rng, t->p.seed);
        s = lam_tree_grow(t, &b, idx, n, &rng);
    }
    lam_free(idx);
    lam_tree_binned_free(&b);
    return s;
}

lam_status lam_tree_fit_dataset(lam_tree *t, const lam_dataset *ds)
{
    float *x;
    int32_t *y;
    int64_t n, d;
    LAM_TRY(lam_classic_gather("tree fit", ds, &x, &y, &n, &d));
    lam_status s = lam_tree_fit(t, x, n, d, y);
    lam_free(x);
    lam_free(y);
    return s;
}

/* ---------------------------------------------------------------- predict */

static inline int64_t tree_leaf(const lam_tree *t, const float *row)
{
    int64_t i = 0;
    while (t->a.feature[i] >= 0)
        i = (double)row[t->a.feature[i]] <= t->a.threshold[i] ? t->a.left[i] : t->a.right[i];
    return i;
}

void lam_tree_accumulate(const lam_tree *t, const float *row, double *acc)
{
    const double *v = t->a.value + tree_leaf(t, row) * t->k;
    for (int32_t c = 0; c < t->k; c++) acc[c] += v[c];
}

static lam_status tree_check_predict(const lam_tree *t, const float *x, int64_t n, int64_t d,
                                     const void *out)
{
    if (!t || !x || !out) return lam_error(LAM_ERR_ARG, "tree predict: NULL argument");
    if (t->a.nodes == 0) return lam_error(LAM_ERR_STATE, "tree predict: the tree is not fitted");
    if (d != t->d)
        return lam_error(LAM_ERR_SHAPE,
                         "tree predict: x has %" PRId64 " features, the tree was fit on %" PRId64,
                         d, t->d);
    if (n < 0) return lam_error(LAM_ERR_ARG, "tree predict: n < 0");
    return LAM_OK;
}

lam_status lam_tree_predict_proba(const lam_tree *t, const float *x, int64_t n, int64_t d,
                                  float *out)
{
    LAM_TRY(tree_check_predict(t, x, n, d, out));
#pragma omp parallel for schedule(static) if (n > 1000)
    for (int64_t i = 0; i < n; i++) {
        const double *v = t->a.value + tree_leaf(t, x + i * d) * t->k;
        for (int32_t c = 0; c < t->k; c++) out[i * t->k + c] = (float)v[c];
    }
    return LAM_OK;
}

lam_status lam_tree_predict(const lam_tree *t, const float *x, int64_t n, int64_t d,
                            int32_t *out)
{
    LAM_TRY(tree_check_predict(t, x, n, d, out));
#pragma omp parallel for schedule(static) if (n > 1000)
    for (int64_t i = 0; i < n; i++) {
        const double *v = t->a.value + tree_leaf(t, x + i * d) * t->k;
        int32_t arg = 0;
        for (int32_t c = 1; c < t->k; c++)
            if (v[c] > v[arg]) arg = c;
        out[i] = arg;
    }
    return LAM_OK;
}

lam_status lam_tree_feature_importances(const lam_tree *t, double *out)
{
    if (!t || !out) return lam_error(LAM_ERR_ARG, "tree feature importances: NULL argument");
    if (t->a.nodes == 0)
        return lam_error(LAM_ERR_STATE, "tree feature importances: the tree is not fitted");
    const lam_tree_arrays *a = &t->a;
    for (int64_t f = 0; f < t->d; f++) out[f] = 0;
    for (int64_t i = 0; i < a->nodes; i++) {
        if (a->feature[i] < 0) continue;
        int32_t l = a->left[i], r = a->right[i];
        out[a->feature[i]] += a->weighted[i] * a->impurity[i] - a->weighted[l] * a->impurity[l] -
                              a->weighted[r] * a->impurity[r];
    }
    double total = 0;
    for (int64_t f = 0; f < t->d; f++) {
        out[f] /= a->weighted[0];
        total += out[f];
    }
    if (total > 0)
        for (int64_t f = 0; f < t->d; f++) out[f] /= total;
    return LAM_OK;
}

lam_status lam_tree_node(const lam_tree *t, int64_t i, lam_tree_node_info *out)
{
    if (!t || !out) return lam_error(LAM_ERR_ARG, "tree node: NULL argument");
    if (i < 0 || i >= t->a.nodes)
        return lam_error(LAM_ERR_ARG, "tree node: index %" PRId64 " outside %" PRId64 " nodes", i,
                         t->a.nodes);
    out->feature = t->a.feature[i];
    out->threshold = t->a.threshold[i];
    out->left = t->a.left[i];
    out->right = t->a.right[i];
    out->impurity = t->a.impurity[i];
    out->weighted_samples = t->a.weighted[i];
    out->value = t->a.value + i * t->k;
    return LAM_OK;
}

/* ------------------------------------------------------------------ files */

lam_status lam_tree_validate(lam_tree *t, const char *path, const char *what)
{
    lam_tree_arrays *a = &t->a;
    int *depth = lam_calloc((size_t)a->nodes, sizeof(int));
    if (!depth) return LAM_ERR_NOMEM;
    lam_status s = LAM_OK;
    t->depth = 0;
    for (int64_t i = 0; i < a->nodes && s == LAM_OK; i++) {
        int32_t f = a->feature[i], l = a->left[i], r = a->right[i];
        if (f == -1) {
            if (l != -1 || r != -1)
                s = lam_error(LAM_ERR_FORMAT, "%s: %s node %" PRId64 " is a leaf with children",
                              path, what, i);
        } else if (f < 0 || f >= t->d) {
            s = lam_error(LAM_ERR_FORMAT,
                          "%s: %s node %" PRId64 " splits on feature %d outside [0, %" PRId64 ")",
                          path, what, i, f, t->d);
        } else if (l <= i || l >= a->nodes || r <= i || r >= a->nodes || l == r) {
            /* Children always come after their parent: that rules out cycles. */
            s = lam_error(LAM_ERR_FORMAT,
                          "%s: %s node %" PRId64 " has child index %d / %d out of range (%" PRId64
                          " nodes)",
                          path, what, i, l, r, a->nodes);
        } else if (isnan(a->threshold[i])) {
            s = lam_error(LAM_ERR_FORMAT, "%s: %s node %" PRId64 " has a NaN threshold", path,
                          what, i);
        } else {
            depth[l] = depth[r] = depth[i] + 1;
            if (depth[i] + 1 > t->depth) t->depth = depth[i] + 1;
        }
        for (int32_t c = 0; c < t->k && s == LAM_OK; c++)
            if (!isfinite(a->value[i * t->k + c]))
                s = lam_error(LAM_ERR_FORMAT, "%s: %s node %" PRId64 " has a non-finite value",
                              path, what, i);
        if (s == LAM_OK && (!isfinite(a->impurity[i]) || !isfinite(a->weighted[i])))
            s = lam_error(LAM_ERR_FORMAT, "%s: %s node %" PRId64 " has a non-finite statistic",
                          path, what, i);
    }
    lam_free(depth);
    return s;
}

static const char *crit_name(lam_criterion c) { return c == LAM_CRITERION_GINI ? "gini" : "entropy"; }

lam_status lam_tree_save(const lam_tree *t, const char *path)
{
    if (!t) return lam_error(LAM_ERR_ARG, "tree save: tree is NULL");
    if (t->a.nodes == 0) return lam_error(LAM_ERR_STATE, "tree save: the tree is not fitted");
    const lam_tree_arrays *a = &t->a;
    int64_t nn = a->nodes;
    lam_st_tensor ts[] = {
        {"feature", LAM_ST_I32, 1, {nn, 0}, a->feature},
        {"threshold", LAM_ST_F64, 1, {nn, 0}, a->threshold},
        {"children_left", LAM_ST_I32, 1, {nn, 0}, a->left},
        {"children_right", LAM_ST_I32, 1, {nn, 0}, a->right},
        {"impurity", LAM_ST_F64, 1, {nn, 0}, a->impurity},
        {"weighted_n_node_samples", LAM_ST_F64, 1, {nn, 0}, a->weighted},
        {"value", LAM_ST_F64, 2, {nn, t->k}, a->value},
    };
    char sd[32], sk[32], md[32], mss[32], msl[32], mf[32], seed[32];
    snprintf(sd, sizeof sd, "%" PRId64, t->d);
    snprintf(sk, sizeof sk, "%d", t->k);
    snprintf(md, sizeof md, "%d", t->p.max_depth);
    snprintf(mss, sizeof mss, "%d", t->p.min_samples_split);
    snprintf(msl, sizeof msl, "%d", t->p.min_samples_leaf);
    snprintf(mf, sizeof mf, "%d", t->p.max_features);
    snprintf(seed, sizeof seed, "%" PRIu64, t->p.seed);
    const char *meta[] = {"n_features", sd, "n_classes", sk, "criterion", crit_name(t->p.criterion),
                          "max_depth", md, "min_samples_split", mss, "min_samples_leaf", msl,
                          "max_features", mf, "seed", seed};
    return lam_st_save(path, "tree", ts, 7, meta, 8);
}

lam_status lam_tree_params_read(const lam_st_file *f, const char *path, lam_tree_params *p)
{
    const char *crit;
    int64_t v;
    LAM_TRY(lam_st_meta_str(f, "criterion", &crit));
    if (strcmp(crit, "gini") == 0) p->criterion = LAM_CRITERION_GINI;
    else if (strcmp(crit, "entropy") == 0) p->criterion = LAM_CRITERION_ENTROPY;
    else return lam_error(LAM_ERR_FORMAT, "%s: unknown criterion \"%s\"", path, crit);
    LAM_TRY(lam_st_meta_int(f, "max_depth", 0, INT32_MAX, &v));
    p->max_depth = (int)v;
    LAM_TRY(lam_st_meta_int(f, "min_samples_split", 2, INT32_MAX, &v));
    p->min_samples_split = (int)v;
    LAM_TRY(lam_st_meta_int(f, "min_samples_leaf", 1, INT32_MAX, &v));
    p->min_samples_leaf = (int)v;
    LAM_TRY(lam_st_meta_int(f, "max_features", -1, INT32_MAX, &v));
    p->max_features = (int)v;
    LAM_TRY(lam_st_meta_int(f, "seed", 0, INT64_MAX, &v));
    p->seed = (uint64_t)v;
    return LAM_OK;
}

lam_status lam_tree_load(const char *path, lam_tree **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "tree load: out is NULL");
    *out = NULL;
    lam_st_file f;
    LAM_TRY(lam_st_open(&f, path, "tree"));
    lam_tree_params p = lam_tree_defaults();
    int64_t d, k;
    lam_status s;
    lam_tree *t = NULL;
    if ((s = lam_st_meta_int(&f, "n_features", 1, INT32_MAX, &d)) ||
        (s = lam_st_meta_int(&f, "n_classes", 1, INT32_MAX, &k)) ||
        (s = lam_tree_params_read(&f, path, &p)))
        goto done;
    int64_t shape[2] = {-1, -1};
    const void *src;
    if ((s = lam_st_tensor_get(&f, "feature", LAM_ST_I32, 1, shape, &src))) goto done;
    if (shape[0] < 1 || shape[0] > INT32_MAX) {
        s = lam_error(LAM_ERR_FORMAT, "%s: tree has %" PRId64 " nodes", path, shape[0]);
        goto done;
    }
    int64_t nn = shape[0];
    if ((s = lam_tree_alloc(&t, &p, d, (int32_t)k, nn))) goto done;
    lam_tree_arrays *a = &t->a;
    struct { const char *name; lam_st_dtype dt; int rank; void *dst; size_t esz; } parts[] = {
        {"feature", LAM_ST_I32, 1, a->feature, 4},
        {"threshold", LAM_ST_F64, 1, a->threshold, 8},
        {"children_left", LAM_ST_I32, 1, a->left, 4},
        {"children_right", LAM_ST_I32, 1, a->right, 4},
        {"impurity", LAM_ST_F64, 1, a->impurity, 8},
        {"weighted_n_node_samples", LAM_ST_F64, 1, a->weighted, 8},
        {"value", LAM_ST_F64, 2, a->value, 8},
    };
    for (int i = 0; i < 7; i++) {
        int64_t sh[2] = {nn, k};
        if ((s = lam_st_tensor_get(&f, parts[i].name, parts[i].dt, parts[i].rank, sh, &src)))
            goto done;
        memcpy(parts[i].dst, src, (size_t)(parts[i].rank == 2 ? nn * k : nn) * parts[i].esz);
    }
    s = lam_tree_validate(t, path, "tree");
done:
    lam_st_close(&f);
    if (s != LAM_OK) {
        lam_tree_free(t);
        return s;
    }
    *out = t;
    return LAM_OK;
}
