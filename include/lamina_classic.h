/*
 * lamina_classic.h - traditional models beside deep ones: SVM, decision tree,
 * random forest, linear models. Included by lamina.h; do not include alone.
 *
 * Conventions (as in lamina.h)
 *   - Features are raw row-major float32 arrays: x holds n rows of d values.
 *   - Labels are int32 class indices >= 0. Trees and forests report one
 *     probability column per class 0 .. max label; the SVM and the linear model
 *     work with the labels present in the training data (see *_classes).
 *   - Every model: lam_<m>_defaults() fills the parameters, lam_<m>_create()
 *     makes an untrained handle (params NULL = defaults), lam_<m>_fit() trains
 *     (again, replacing what was learnt), lam_<m>_fit_dataset() trains on a
 *     lam_dataset with labels, lam_<m>_predict() writes n labels,
 *     lam_<m>_save()/_load() write/read one safetensors file, lam_<m>_free().
 *   - Training is deterministic for a given seed, whatever the thread count.
 */
#ifndef LAMINA_CLASSIC_H
#define LAMINA_CLASSIC_H

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------- decision tree (CART) */

typedef enum { LAM_CRITERION_GINI = 0, LAM_CRITERION_ENTROPY = 1 } lam_criterion;

/* max_features value meaning sqrt(n_features) (rounded down, at least 1). */
#define LAM_MAX_FEATURES_SQRT (-1)

typedef struct lam_tree_params {
    lam_criterion criterion; /* default gini */
    int max_depth;           /* 0 = unlimited (default) */
    int min_samples_split;   /* default 2 */
    int min_samples_leaf;    /* default 1 */
    int max_features;        /* features tried per split: 0 = all (default),
                                LAM_MAX_FEATURES_SQRT, or a count */
    uint64_t seed;           /* feature sampling order (default 0) */
} lam_tree_params;
lam_tree_params lam_tree_defaults(void);

typedef struct lam_tree lam_tree;
lam_status lam_tree_create(lam_tree **out, const lam_tree_params *params);
void lam_tree_free(lam_tree *t);
lam_status lam_tree_fit(lam_tree *t, const float *x, int64_t n, int64_t d, const int32_t *y);
lam_status lam_tree_fit_dataset(lam_tree *t, const lam_dataset *ds);
/* out: n * lam_tree_num_classes() probabilities. */
lam_status lam_tree_predict_proba(const lam_tree *t, const float *x, int64_t n, int64_t d,
                                  float *out);
lam_status lam_tree_predict(const lam_tree *t, const float *x, int64_t n, int64_t d,
                            int32_t *out);
/* out: n_features values summing to 1 (all 0 for a single-leaf tree),
 * defined as scikit-learn's feature_importances_. */
lam_status lam_tree_feature_importances(const lam_tree *t, double *out);
int32_t lam_tree_num_classes(const lam_tree *t);  /* 0 before fit */
int64_t lam_tree_num_features(const lam_tree *t);
int64_t lam_tree_node_count(const lam_tree *t);
int lam_tree_depth(const lam_tree *t);
const lam_tree_params *lam_tree_get_params(const lam_tree *t);

/* One node, as scikit-learn's tree_ arrays. Leaves have feature -1 and
 * left = right = -1. Samples with x[feature] <= threshold go left. */
typedef struct lam_tree_node_info {
    int32_t feature;
    double threshold;
    int32_t left, right;
    double impurity;
    double weighted_samples; /* bootstrap duplicates counted */
    const double *value;     /* num_classes class fractions */
} lam_tree_node_info;
lam_status lam_tree_node(const lam_tree *t, int64_t i, lam_tree_node_info *out);

lam_status lam_tree_save(const lam_tree *t, const char *path);
lam_status lam_tree_load(const char *path, lam_tree **out);

/* ------------------------------------------------------------ random forest */

typedef struct lam_forest_params {
    int n_trees;             /* default 100 */
    bool bootstrap;          /* default true: each tree sees n draws with replacement */
    lam_criterion criterion; /* default gini */
    int max_depth;           /* 0 = unlimited (default) */
    int min_samples_split;   /* default 2 */
    int min_samples_leaf;    /* default 1 */
    int max_features;        /* default LAM_MAX_FEATURES_SQRT */
    uint64_t seed;           /* default 0; tree k uses lam_rng_derive(seed, k, .) */
} lam_forest_params;
lam_forest_params lam_forest_defaults(void);

typedef struct lam_forest lam_forest;
lam_status lam_forest_create(lam_forest **out, const lam_forest_params *params);
void lam_forest_free(lam_forest *f);
lam_status lam_forest_fit(lam_forest *f, const float *x, int64_t n, int64_t d,
                          const int32_t *y);
lam_status lam_forest_fit_dataset(lam_forest *f, const lam_dataset *ds);
/* Mean of the trees' probabilities; out: n * num_classes. */
lam_status lam_forest_predict_proba(const lam_forest *f, const float *x, int64_t n, int64_t d,
                                    float *out);
lam_status lam_forest_predict(const lam_forest *f, const float *x, int64_t n, int64_t d,
                              int32_t *out);
/* Mean of the trees' importances (each tree's normalised), renormalised to
 * sum 1 as scikit-learn does; out: n_features. */
lam_status lam_forest_feature_importances(const lam_forest *f, double *out);
int32_t lam_forest_num_classes(const lam_forest *f);
int64_t lam_forest_num_features(const lam_forest *f);
int lam_forest_num_trees(const lam_forest *f); /* trained trees (0 before fit) */
const lam_tree *lam_forest_tree(const lam_forest *f, int i);
lam_status lam_forest_save(const lam_forest *f, const char *path);
lam_status lam_forest_load(const char *path, lam_forest **out);

/* -------------------------------------------------------------------- SVM */

typedef enum { LAM_KERNEL_LINEAR = 0, LAM_KERNEL_RBF = 1, LAM_KERNEL_POLY = 2 } lam_kernel;

typedef struct lam_svm_params {
    lam_kernel kernel; /* default RBF */
    double C;          /* default 1 */
    double gamma;      /* RBF/poly: > 0 explicit, 0 = "scale": 1/(d * var(X)) (default) */
    int degree;        /* poly (default 3) */
    double coef0;      /* poly (default 0) */
    double eps;        /* stopping tolerance on the KKT gap (default 1e-3) */
    double cache_mb;   /* kernel-row cache, shared by the concurrent sub-problems (default 200) */
    bool shrinking;    /* default true */
    int64_t max_iter;  /* per sub-problem; 0 = libsvm's max(1e7, 100 n) (default) */
    lam_scaling scaling; /* fitted on the training x, kept in the file and applied to every
                            x given later (default none); support vectors are scaled */
} lam_svm_params;
lam_svm_params lam_svm_defaults(void);

/* C-SVC, one-vs-one for more than two classes (libsvm's order of pairs:
 * (0,1), (0,2), ..., (1,2), ... over the sorted classes; a vote goes to the
 * first class of a pair when its decision value is > 0; ties -> lowest class). */
typedef struct lam_svm lam_svm;
lam_status lam_svm_create(lam_svm **out, const lam_svm_params *params);
void lam_svm_free(lam_svm *s);
lam_status lam_svm_fit(lam_svm *s, const float *x, int64_t n, int64_t d, const int32_t *y);
lam_status lam_svm_fit_dataset(lam_svm *s, const lam_dataset *ds);
/* out: n * lam_svm_num_pairs() decision values, pair order as above. */
lam_status lam_svm_decision_function(const lam_svm *s, const float *x, int64_t n, int64_t d,
                                     double *out);
lam_status lam_svm_predict(const lam_svm *s, const float *x, int64_t n, int64_t d,
                           int32_t *out);
int lam_svm_num_classes(const lam_svm *s);
const int32_t *lam_svm_classes(const lam_svm *s); /* sorted labels */
int lam_svm_num_pairs(const lam_svm *s);
int64_t lam_svm_num_features(const lam_svm *s);
double lam_svm_gamma(const lam_svm *s); /* the gamma in use ("scale" resolved) */
int64_t lam_svm_num_support(const lam_svm *s);
const float *lam_svm_support_vectors(const lam_svm *s);  /* num_support * d */
const int32_t *lam_svm_support_indices(const lam_svm *s); /* rows of the training x */
/* Pair p: classes (indices into lam_svm_classes), its support vectors (indices
 * into the support vectors) with coefficients y_i alpha_i (y = +1 for the
 * first class), and rho: f(x) = sum coef_k K(sv_k, x) - rho. */
typedef struct lam_svm_pair_info {
    int class_a, class_b;
    int64_t count;
    const int32_t *sv;
    const double *coef;
    double rho;
    int64_t iterations; /* SMO iterations (0 after load) */
} lam_svm_pair_info;
lam_status lam_svm_pair(const lam_svm *s, int p, lam_svm_pair_info *out);
const lam_svm_params *lam_svm_get_params(const lam_svm *s);
lam_status lam_svm_save(const lam_svm *s, const char *path);
lam_status lam_svm_load(const char *path, lam_svm **out);

/* ------------------------------------------------------------ linear SVM */

typedef enum { LAM_LINEAR_HINGE = 0, LAM_LINEAR_SQUARED_HINGE = 1 } lam_linear_loss;

/* L2-regularised linear SVM, one-vs-rest, trained by dual coordinate descent
 * with shrinking (LIBLINEAR -s 1 / -s 3; scikit-learn LinearSVC). The bias is
 * an extra constant feature of value `bias`, regularised like LIBLINEAR. */
typedef struct lam_linear_params {
    lam_linear_loss loss; /* default squared hinge */
    double C;             /* default 1 */
    double eps;           /* stopping tolerance on the projected gradient (default 0.1) */
    int max_iter;         /* passes over the data (default 1000) */
    double bias;          /* > 0: add a constant feature of this value (default 1); 0: none */
    uint64_t seed;        /* coordinate order (default 0) */
    lam_scaling scaling;  /* trained on scaled x (default none); the scaling is then folded
                             into the weights, which stay in the units of the raw x */
} lam_linear_params;
lam_linear_params lam_linear_defaults(void);

typedef struct lam_linear lam_linear;
lam_status lam_linear_create(lam_linear **out, const lam_linear_params *params);
void lam_linear_free(lam_linear *m);
lam_status lam_linear_fit(lam_linear *m, const float *x, int64_t n, int64_t d,
                          const int32_t *y);
lam_status lam_linear_fit_dataset(lam_linear *m, const lam_dataset *ds);
/* out: n * num_classes scores w_c . x + b_c (one column for each class). */
lam_status lam_linear_decision_function(const lam_linear *m, const float *x, int64_t n,
                                        int64_t d, double *out);
lam_status lam_linear_predict(const lam_linear *m, const float *x, int64_t n, int64_t d,
                              int32_t *out);
int lam_linear_num_classes(const lam_linear *m);
const int32_t *lam_linear_classes(const lam_linear *m);
int64_t lam_linear_num_features(const lam_linear *m);
/* num_classes * (d + 1) weights: row c = w_c then b_c. */
const double *lam_linear_weights(const lam_linear *m);
const lam_linear_params *lam_linear_get_params(const lam_linear *m);
lam_status lam_linear_save(const lam_linear *m, const char *path);
lam_status lam_linear_load(const char *path, lam_linear **out);

#ifdef __cplusplus
}
#endif

#endif
