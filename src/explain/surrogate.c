/* surrogate.c - global surrogate trees: a shallow decision tree fitted to
 * the labels a model gives, read as rules. Its fidelity (agreement with the
 * model on held-out data) says how much of the model the rules explain. */
#include "classic/classic.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

lam_status lam_surrogate_tree(const float *x, int64_t n, int64_t d, const int32_t *teacher,
                              int max_depth, uint64_t seed, lam_tree **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "surrogate tree: out is NULL");
    *out = NULL;
    if (max_depth < 1)
        return lam_error(LAM_ERR_ARG, "surrogate tree: max_depth must be >= 1, got %d",
                         max_depth);
    lam_tree_params p = lam_tree_defaults();
    p.max_depth = max_depth;
    p.seed = seed;
    lam_tree *t;
    LAM_TRY(lam_tree_create(&t, &p));
    lam_status s = lam_tree_fit(t, x, n, d, teacher);
    if (s != LAM_OK) {
        lam_tree_free(t);
        return lam_error_context(s, "surrogate tree");
    }
    *out = t;
    return LAM_OK;
}

/* ----------------------------------------------------------------- rules */

typedef struct text_buf {
    char *s;
    size_t len, cap;
} text_buf;

static lam_status buf_printf(text_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static lam_status buf_printf(text_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (need < 0) return lam_error(LAM_ERR_ARG, "tree rules: bad format");
    if (b->len + (size_t)need + 1 > b->cap) {
        size_t cap = b->cap * 2;
        while (cap < b->len + (size_t)need + 1) cap *= 2;
        char *s = lam_realloc(b->s, cap);
        if (!s) return lam_error_context(LAM_ERR_NOMEM, "tree rules");
        b->s = s;
        b->cap = cap;
        va_start(ap, fmt);
        vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)need;
    return LAM_OK;
}

static lam_status put_feature(text_buf *b, const char *const *names, int32_t f)
{
    return names ? buf_printf(b, "%s", names[f]) : buf_printf(b, "x[%d]", f);
}

/* Lines for the subtree at node, indented by depth levels of 4 spaces. The
 * depth is bounded by the tree's (validated when loaded or fitted). */
static lam_status rules_node(text_buf *b, const lam_tree_arrays *a, int32_t k, int64_t node,
                             int depth, const char *const *features, const char *const *classes)
{
    const int ind = 4 * depth;
    const int32_t f = a->feature[node];
    if (f < 0) {
        const double *v = a->value + node * k;
        int32_t arg = 0; /* as lam_tree_predict: the first largest */
        for (int32_t c = 1; c < k; c++)
            if (v[c] > v[arg]) arg = c;
        LAM_TRY(buf_printf(b, "%*s", ind, ""));
        LAM_TRY(classes ? buf_printf(b, "%s", classes[arg]) : buf_printf(b, "class %d", arg));
        return buf_printf(b, " (%.3g%% of %g sample%s)\n", 100.0 * v[arg], a->weighted[node],
                          a->weighted[node] == 1 ? "" : "s");
    }
    LAM_TRY(buf_printf(b, "%*sif ", ind, ""));
    LAM_TRY(put_feature(b, features, f));
    LAM_TRY(buf_printf(b, " <= %g:\n", a->threshold[node]));
    LAM_TRY(rules_node(b, a, k, a->left[node], depth + 1, features, classes));
    LAM_TRY(buf_printf(b, "%*selse:  # ", ind, ""));
    LAM_TRY(put_feature(b, features, f));
    LAM_TRY(buf_printf(b, " > %g\n", a->threshold[node]));
    return rules_node(b, a, k, a->right[node], depth + 1, features, classes);
}

lam_status lam_tree_rules(const lam_tree *t, const char *const *feature_names,
                          const char *const *class_names, char **text)
{
    if (!text) return lam_error(LAM_ERR_ARG, "tree rules: text is NULL");
    *text = NULL;
    if (!t) return lam_error(LAM_ERR_ARG, "tree rules: the tree is NULL");
    if (lam_tree_node_count(t) == 0)
        return lam_error(LAM_ERR_STATE, "tree rules: the tree is not fitted");
    text_buf b = {lam_malloc(256), 0, 256};
    if (!b.s) return lam_error_context(LAM_ERR_NOMEM, "tree rules");
    b.s[0] = '\0';
    /* lam_tree_raw takes a mutable tree (the forest's loader fills it); the
     * arrays are only read here. */
    const lam_tree_arrays *a = lam_tree_raw((lam_tree *)t);
    lam_status s = rules_node(&b, a, lam_tree_num_classes(t), 0, 0, feature_names, class_names);
    if (s != LAM_OK) {
        lam_free(b.s);
        return s;
    }
    *text = b.s;
    return LAM_OK;
}
