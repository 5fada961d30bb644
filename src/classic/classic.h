/* classic.h - what the classic models (src/classic) share: input checks,
 * the tree builder the forest reuses, and the safetensors reader/writer. */
#ifndef LAM_CLASSIC_H
#define LAM_CLASSIC_H

#include "internal.h"

#include <cjson/cJSON.h>

/* Checks x/n/d/y of a fit call; what names the caller ("svm fit"). */
lam_status lam_classic_check_xy(const char *what, const float *x, int64_t n, int64_t d,
                                const int32_t *y);
/* Gathers a labelled data set as floats; frees with lam_free. */
lam_status lam_classic_gather(const char *what, const lam_dataset *ds, float **x, int32_t **y,
                              int64_t *n, int64_t *d);

/* ---------------------------------------------------------------- scaler */

/* Feature scaling kept by a model (scaler.c): x' = (x - offset) / scale. */
typedef struct lam_classic_scaler {
    lam_scaling kind;
    int64_t d;
    double *offset, *scale; /* d each; NULL for LAM_SCALING_NONE */
} lam_classic_scaler;
/* Frees the arrays (the kind stays). */
void lam_classic_scaler_clear(lam_classic_scaler *sc);
/* Fits kind on x (n rows of d); what names the caller in errors. */
lam_status lam_classic_scaler_fit(lam_classic_scaler *sc, lam_scaling kind, const float *x,
                                  int64_t n, int64_t d, const char *what);
/* *out = x scaled (a new array, also in *owned: lam_free it), or x itself
 * with *owned NULL when there is no scaling. */
lam_status lam_classic_scaler_apply(const lam_classic_scaler *sc, const float *x, int64_t n,
                                    const float **out, float **owned);

/* ------------------------------------------------------------- tree builder */

/* Features quantised once per training set: codes[f * n + i] is the rank of
 * x[i][f] among the distinct values of feature f, vals[f] those values sorted.
 * Split search then works on small integers (counting sort), and thresholds
 * are midpoints of real values as in scikit-learn. Shared by all trees of a
 * forest. */
typedef struct lam_tree_binned {
    int64_t n, d;
    int32_t k;            /* classes */
    const int32_t *y;
    uint32_t *codes;      /* d * n, feature-major */
    float **vals;         /* d arrays */
    int64_t *nvals;       /* d */
} lam_tree_binned;
lam_status lam_tree_binned_build(lam_tree_binned *b, const float *x, int64_t n, int64_t d,
                                 const int32_t *y, int32_t k);
void lam_tree_binned_free(lam_tree_binned *b);

/* Grows t from samples idx[0..m) of b (duplicates allowed: bootstrap). */
lam_status lam_tree_grow(lam_tree *t, const lam_tree_binned *b, const int64_t *idx, int64_t m,
                         lam_rng *rng);
/* Raw access for the forest's files. */
typedef struct lam_tree_arrays {
    int64_t nodes;
    int32_t *feature, *left, *right;
    double *threshold, *impurity, *weighted, *value; /* value: nodes * k */
} lam_tree_arrays;
lam_tree_arrays *lam_tree_raw(lam_tree *t);
/* A tree with given sizes and empty arrays, to fill from a file. */
lam_status lam_tree_alloc(lam_tree **out, const lam_tree_params *p, int64_t d, int32_t k,
                          int64_t nodes);
/* Checks a filled tree (child indices, features, depth); names path. */
lam_status lam_tree_validate(lam_tree *t, const char *path, const char *what);
/* Probability of every class for one row, accumulating into acc (k). */
void lam_tree_accumulate(const lam_tree *t, const float *row, double *acc);

/* --------------------------------------------------------------- safetensors */

typedef enum { LAM_ST_F32 = 0, LAM_ST_I32 = 1, LAM_ST_F64 = 2 } lam_st_dtype;

typedef struct lam_st_tensor {
    const char *name;
    lam_st_dtype dtype;
    int rank;          /* 1 or 2 */
    int64_t shape[2];
    const void *data;  /* little-endian host assumed */
} lam_st_tensor;

/* Writes path atomically; meta: n_meta pairs of strings (key, value) put
 * into __metadata__ after format, version and model. */
lam_status lam_st_save(const char *path, const char *model, const lam_st_tensor *t, int nt,
                       const char *const *meta, int n_meta);

typedef struct lam_st_file {
    const char *path;
    unsigned char *buf; /* whole file */
    size_t size;
    size_t data_start;  /* 8 + header length */
    cJSON *header;
    cJSON *meta;
} lam_st_file;
/* Reads and checks the container: header size, JSON, every tensor entry
 * (dtype, shape, offsets inside the file and not overlapping), and that the
 * metadata names format lamina-classic, version 1 and model. */
lam_status lam_st_open(lam_st_file *f, const char *path, const char *model);
void lam_st_close(lam_st_file *f);
/* Finds tensor name with dtype and rank; shape[i] >= 0 must match, -1 is
 * filled in. *data points into the file (unaligned: copy it out). */
lam_status lam_st_tensor_get(const lam_st_file *f, const char *name, lam_st_dtype dtype,
                             int rank, int64_t *shape, const void **data);
/* Copies the tensor into a new lam_malloc'ed array of exactly count values. */
lam_status lam_st_tensor_copy(const lam_st_file *f, const char *name, lam_st_dtype dtype,
                              int rank, int64_t *shape, void **out);
lam_status lam_st_meta_int(const lam_st_file *f, const char *key, int64_t lo, int64_t hi,
                           int64_t *out);
lam_status lam_st_meta_double(const lam_st_file *f, const char *key, double *out);
lam_status lam_st_meta_str(const lam_st_file *f, const char *key, const char **out);
/* The scaler's tensors for lam_st_save into t[0..2); returns how many (0 or 2).
 * The caller adds "scaling", lam_scaling_name(kind), to the metadata. */
int lam_classic_scaler_tensors(const lam_classic_scaler *sc, lam_st_tensor *t);
/* __metadata__.scaling (LAM_SCALING_NONE when the file has none). */
lam_status lam_classic_scaling_meta(const lam_st_file *f, lam_scaling *kind);
/* Reads what lam_classic_scaler_tensors wrote (none when the file has no
 * __metadata__.scaling), checking d values, finite, scale > 0. */
lam_status lam_classic_scaler_load(lam_classic_scaler *sc, const lam_st_file *f, int64_t d);
/* The tree hyperparameters (criterion, depth, split and leaf sizes, features,
 * seed) from a tree's or a forest's file metadata. */
lam_status lam_tree_params_read(const lam_st_file *f, const char *path, lam_tree_params *p);

#endif
