/*
 * lamina.h - the one public header of liblamina.
 *
 * A C11 library to build, train, evaluate and save models, from classical ones
 * (SVM, trees, forests; see lamina_classic.h, included below) to deep ones
 * (CNN, LSTM), with the behaviour of Keras.
 *
 * Conventions
 *   - Every function that can fail returns lam_status: LAM_OK (0) or a negative
 *     code. lam_last_error() then names what failed (file, layer, key, expected
 *     versus found). The library never exits, aborts or prints on its own.
 *   - Handles are opaque. Whoever creates a handle frees it with the matching
 *     *_free function; *_free(NULL) is a no-op.
 *   - Tensors are float32, row-major, NHWC for images; shapes given to the
 *     library are per sample (the batch axis is implicit).
 *
 * Intended usage (the seed CNN, see examples/seed_cnn.c):
 *
 *     lam_model *m = lam_sequential("sequential");
 *     lam_model_add_input(m, 3, (int64_t[]){28, 28, 1});
 *     lam_model_add_conv2d(m, 32, 3, 3, LAM_ACT_RELU);
 *     lam_model_add_maxpool2d(m, 2, 2);
 *     lam_model_add_conv2d(m, 64, 3, 3, LAM_ACT_RELU);
 *     lam_model_add_maxpool2d(m, 2, 2);
 *     lam_model_add_flatten(m);
 *     lam_model_add_dense(m, 64, LAM_ACT_RELU);
 *     lam_model_add_dense(m, 10, LAM_ACT_SOFTMAX);
 *     lam_optimizer adam = lam_adam();
 *     lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE);
 *     lam_fit_options fo = lam_fit_defaults();
 *     fo.epochs = 10; fo.batch_size = 32;
 *     lam_fit(m, train, &fo, &history);
 *
 * Every call above returns a status; check it.
 */
#ifndef LAMINA_H
#define LAMINA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LAM_VERSION_MAJOR 0
#define LAM_VERSION_MINOR 1
#define LAM_VERSION_PATCH 0
const char *lam_version(void);

/* ------------------------------------------------------------------ errors */

typedef int lam_status;
enum {
    LAM_OK = 0,
    LAM_ERR_ARG = -1,         /* a bad argument or configuration */
    LAM_ERR_NOMEM = -2,       /* an allocation failed */
    LAM_ERR_IO = -3,          /* a file could not be opened, read or written */
    LAM_ERR_FORMAT = -4,      /* a file's contents are malformed */
    LAM_ERR_SHAPE = -5,       /* shapes do not fit together */
    LAM_ERR_STATE = -6,       /* a call made in the wrong order */
    LAM_ERR_NUMERIC = -7,     /* a non-finite loss or weight */
    LAM_ERR_UNSUPPORTED = -8, /* valid, but not supported by lamina */
    LAM_ERR_INTERRUPTED = -9  /* stopped on request (lam_request_stop) */
};

/* The message of the last failure in this thread ("" when none). */
const char *lam_last_error(void);
/* A short name for a status code ("out of memory", ...). */
const char *lam_status_name(lam_status s);

/* Threads used by training and inference (OpenMP); 0 = all cores. */
void lam_set_threads(int n);
int lam_get_threads(void);

/* Asks a running lam_fit to stop at the end of its current step (safe to call
 * from a signal handler); lam_fit then returns LAM_ERR_INTERRUPTED. */
void lam_request_stop(void);
void lam_clear_stop(void);

/* Testing hook: make the n-th allocation from now fail (n >= 1); 0 disables. */
void lam_testing_fail_alloc_after(long n);

/* ----------------------------------------------------------------- datasets */

typedef enum { LAM_U8 = 0, LAM_F32 = 1 } lam_dtype;

/* A data set: n samples of one per-sample shape, stored in their own type
 * (uint8 pixels stay uint8 and are scaled when a batch is taken), with integer
 * class labels and/or dense float targets. */
typedef struct lam_dataset lam_dataset;

/* Creates an empty data set of n samples; x, labels are zeroed. with_labels:
 * allocate n int32 labels. target_size > 0: allocate n*target_size float targets. */
lam_status lam_dataset_create(lam_dataset **out, lam_dtype dtype, int64_t n, int rank,
                              const int64_t *shape, bool with_labels, int64_t target_size);
void lam_dataset_free(lam_dataset *ds);

int64_t lam_dataset_count(const lam_dataset *ds);
/* Per-sample shape; returns the rank (1..4). */
int lam_dataset_shape(const lam_dataset *ds, int64_t shape[4]);
int64_t lam_dataset_sample_size(const lam_dataset *ds);
lam_dtype lam_dataset_dtype(const lam_dataset *ds);
void *lam_dataset_x(lam_dataset *ds);          /* n * sample_size elements */
int32_t *lam_dataset_labels(lam_dataset *ds);  /* n labels, or NULL */
float *lam_dataset_targets(lam_dataset *ds);   /* n * target_size, or NULL */
int64_t lam_dataset_target_size(const lam_dataset *ds);
/* 1 + the largest label (0 without labels). */
int32_t lam_dataset_num_classes(const lam_dataset *ds);
/* Scale applied to uint8 values when a batch is taken (default 1/255). */
void lam_dataset_set_scale(lam_dataset *ds, float scale);

/* Reinterprets the per-sample shape (same element count), e.g. 28x28x1 -> 28x28. */
lam_status lam_dataset_reshape(lam_dataset *ds, int rank, const int64_t *shape);
/* Keeps only the first n samples (n <= count). */
lam_status lam_dataset_truncate(lam_dataset *ds, int64_t n);
/* A new data set holding samples [first, first + count). */
lam_status lam_dataset_slice(const lam_dataset *ds, int64_t first, int64_t count,
                             lam_dataset **out);
/* Gathers samples idx[0..count) as float32 into x (count * sample_size) and
 * their labels into labels (count; may be NULL) and targets (may be NULL). */
lam_status lam_dataset_gather(const lam_dataset *ds, const int64_t *idx, int64_t count,
                              float *x, int32_t *labels, float *targets);

/* Readers (src/io). Every one rejects broken input with a message naming the
 * file and what was expected. */
/* IDX images + labels (plain or .gz); pixels scaled to [0, 1]. */
lam_status lam_load_idx(const char *images_path, const char *labels_path, lam_dataset **out);
/* Fashion-MNIST from a folder of the four IDX files. dir NULL: $LAMINA_DATA,
 * then /usr/share/datasets/fashion-mnist. A missing folder names the
 * command that installs it. */
lam_status lam_load_fashion_mnist(const char *dir, bool train, lam_dataset **out);

typedef struct lam_csv_options {
    bool header;              /* first line holds column names (default true) */
    const char *label_column; /* name of the label column, or NULL */
    int label_index;          /* used when label_column is NULL; -1 = last (default 0) */
    char delimiter;           /* default ',' */
    float scale;              /* multiply features by this (default 1) */
} lam_csv_options;
lam_csv_options lam_csv_defaults(void);
lam_status lam_load_csv(const char *path, const lam_csv_options *opt, lam_dataset **out);
/* NumPy .npy: x (float32, float64 or uint8, C order; first axis = samples) and
 * optional y (integer labels) — y_path may be NULL. */
lam_status lam_load_npy(const char *x_path, const char *y_path, lam_dataset **out);
/* libsvm / svmlight text ("label idx:val ..."); n_features 0 = infer. */
lam_status lam_load_libsvm(const char *path, int64_t n_features, lam_dataset **out);

/* ------------------------------------------------------------------- models */

typedef enum {
    LAM_LAYER_INPUT = 0,
    LAM_LAYER_DENSE,
    LAM_LAYER_CONV2D,
    LAM_LAYER_MAXPOOL2D,
    LAM_LAYER_AVGPOOL2D,
    LAM_LAYER_FLATTEN,
    LAM_LAYER_ACTIVATION,
    LAM_LAYER_DROPOUT,
    LAM_LAYER_LSTM,
    LAM_LAYER_GRU,
    LAM_LAYER_SIMPLERNN,
    LAM_LAYER_KIND_COUNT
} lam_layer_kind;

typedef enum {
    LAM_ACT_LINEAR = 0,
    LAM_ACT_RELU,
    LAM_ACT_SIGMOID,
    LAM_ACT_TANH,
    LAM_ACT_SOFTMAX,
    LAM_ACT_COUNT
} lam_activation;

typedef enum { LAM_PAD_VALID = 0, LAM_PAD_SAME = 1 } lam_padding;

/* How a Conv2D is computed. AUTO (the default) picks the fastest family for
 * the layer's shape; the others force one, for comparisons and tests, and
 * lam_model_add rejects a forced family that cannot compute the layer:
 *   IM2COL     any window.
 *   WINOGRAD2  F(2x2, 3x3); WINOGRAD4 F(4x4, 3x3): 3x3 kernels, strides 1x1.
 *   DIRECT     kernel_h * kernel_w * channels <= 64.
 * Every family computes the same convolution (to rounding). It is a choice of
 * this process, not part of the model: files and JSON do not record it. */
typedef enum {
    LAM_CONV_AUTO = 0,
    LAM_CONV_IM2COL,
    LAM_CONV_WINOGRAD2,
    LAM_CONV_WINOGRAD4,
    LAM_CONV_DIRECT,
    LAM_CONV_ALGO_COUNT
} lam_conv_algo;

/* Everything that defines one layer. Get one from lam_layer_defaults(kind),
 * which fills Keras's defaults, then change what differs. */
typedef struct lam_layer_spec {
    lam_layer_kind kind;
    char name[64];                       /* "" = Keras-style automatic name */
    int units;                           /* Dense/recurrent units; Conv2D filters */
    int kernel[2], strides[2], pool[2];  /* Conv2D kernel/strides; pooling pool/strides */
    lam_padding padding;
    lam_activation activation;
    lam_activation recurrent_activation; /* recurrent layers (default sigmoid) */
    bool use_bias;
    float rate;                          /* Dropout */
    bool return_sequences, return_state, go_backwards;
    bool unit_forget_bias;               /* LSTM (default true) */
    bool reset_after;                    /* GRU (default true, as Keras 3) */
    int rank;                            /* Input: per-sample rank and shape */
    int64_t shape[4];
    lam_conv_algo conv_algo;             /* Conv2D (default LAM_CONV_AUTO) */
} lam_layer_spec;

lam_layer_spec lam_layer_defaults(lam_layer_kind kind);
const char *lam_layer_kind_name(lam_layer_kind kind);   /* Keras class: "Conv2D" */
const char *lam_activation_name(lam_activation act);    /* "relu" */
/* Parses "relu", "softmax", ...; returns LAM_ERR_ARG on an unknown name. */
lam_status lam_activation_parse(const char *name, lam_activation *out);

typedef struct lam_model lam_model;

/* A Sequential model (NULL only when out of memory). */
lam_model *lam_sequential(const char *name);
void lam_model_free(lam_model *m);

/* Appends a layer; shapes are checked at once, so an impossible layer is
 * rejected here, naming it. */
lam_status lam_model_add(lam_model *m, const lam_layer_spec *spec);
/* Conveniences over lam_model_add with Keras defaults. */
lam_status lam_model_add_input(lam_model *m, int rank, const int64_t *shape);
lam_status lam_model_add_dense(lam_model *m, int units, lam_activation act);
lam_status lam_model_add_conv2d(lam_model *m, int filters, int kh, int kw, lam_activation act);
lam_status lam_model_add_maxpool2d(lam_model *m, int ph, int pw);
lam_status lam_model_add_avgpool2d(lam_model *m, int ph, int pw);
lam_status lam_model_add_flatten(lam_model *m);
lam_status lam_model_add_activation(lam_model *m, lam_activation act);
lam_status lam_model_add_dropout(lam_model *m, float rate);
lam_status lam_model_add_lstm(lam_model *m, int units, bool return_sequences);
lam_status lam_model_add_gru(lam_model *m, int units, bool return_sequences);
lam_status lam_model_add_simplernn(lam_model *m, int units, bool return_sequences);

int lam_model_num_layers(const lam_model *m);
/* The spec of layer i (0 = the Input layer), with its resolved name. */
const lam_layer_spec *lam_model_layer(const lam_model *m, int i);
/* Per-sample output shape of layer i; returns its rank. */
int lam_model_layer_output_shape(const lam_model *m, int i, int64_t shape[4]);
int64_t lam_model_layer_param_count(const lam_model *m, int i);
int64_t lam_model_param_count(const lam_model *m);
/* Per-sample input and output sizes (element counts). */
int64_t lam_model_input_size(const lam_model *m);
int64_t lam_model_output_size(const lam_model *m);
int lam_model_input_shape(const lam_model *m, int64_t shape[4]);
const char *lam_model_name(const lam_model *m);

/* Seeds initialisation, shuffling and dropout. Call before compile. */
void lam_model_set_seed(lam_model *m, uint64_t seed);

/* Writes Keras's summary table. */
lam_status lam_model_summary(const lam_model *m, FILE *out);

/* Weight tensors, in layer order: "conv2d/kernel", "conv2d/bias", ... */
typedef struct lam_tensor_info {
    const char *name;
    int rank;
    int64_t shape[4];
    int64_t count;
    float *data;   /* inside the model's flat parameter buffer */
    float *grad;   /* same layout in the gradient buffer */
} lam_tensor_info;
int lam_model_num_tensors(const lam_model *m);
lam_status lam_model_tensor(const lam_model *m, int i, lam_tensor_info *info);
/* The flat parameter buffer (all weights, contiguous) and its gradient. */
float *lam_model_params(lam_model *m);
float *lam_model_grads(lam_model *m);

/* ------------------------------------------------------ losses, optimizers */

typedef enum {
    LAM_LOSS_SPARSE_CATEGORICAL_CE = 0, /* integer labels */
    LAM_LOSS_CATEGORICAL_CE,            /* one-hot targets */
    LAM_LOSS_BINARY_CE,                 /* targets in [0, 1] */
    LAM_LOSS_MSE,                       /* dense targets */
    LAM_LOSS_COUNT
} lam_loss;
const char *lam_loss_name(lam_loss loss); /* Keras name: "sparse_categorical_crossentropy" */
lam_status lam_loss_parse(const char *name, lam_loss *out);

typedef enum { LAM_OPT_ADAM = 0, LAM_OPT_SGD, LAM_OPT_RMSPROP } lam_optimizer_kind;
typedef struct lam_optimizer {
    lam_optimizer_kind kind;
    float learning_rate;
    float beta_1, beta_2, epsilon; /* Adam; RMSprop uses epsilon */
    float momentum;                /* SGD, RMSprop */
    bool nesterov;                 /* SGD */
    float rho;                     /* RMSprop */
} lam_optimizer;
lam_optimizer lam_adam(void);    /* lr 1e-3, 0.9, 0.999, 1e-7 */
lam_optimizer lam_sgd(void);     /* lr 0.01, momentum 0 */
lam_optimizer lam_rmsprop(void); /* lr 1e-3, rho 0.9, momentum 0, eps 1e-7 */
lam_status lam_optimizer_parse(const char *name, lam_optimizer *out);

/* Sets loss and optimizer, initialises the weights (glorot_uniform kernels,
 * zero biases) from the model's seed. Accuracy is tracked for the
 * classification losses. */
lam_status lam_model_compile(lam_model *m, const lam_optimizer *opt, lam_loss loss);
lam_loss lam_model_loss(const lam_model *m);
const lam_optimizer *lam_model_optimizer(const lam_model *m);

/* ----------------------------------------------------------------- training */

typedef enum {
    LAM_PROGRESS_EPOCH_BEGIN,
    LAM_PROGRESS_STEP,
    LAM_PROGRESS_EPOCH_END,
    LAM_PROGRESS_EVAL_STEP,
    LAM_PROGRESS_EVAL_END
} lam_progress_event;

typedef struct lam_progress {
    lam_progress_event event;
    int epoch, epochs;         /* 1-based */
    int64_t step, steps;       /* 1-based within the epoch */
    double seconds;            /* since the epoch began */
    double first_step_seconds; /* duration of step 1 (Keras excludes it from ms/step) */
    double loss, accuracy;     /* running means over the epoch so far */
    bool has_accuracy;
    bool has_val;
    double val_loss, val_accuracy; /* EPOCH_END only, when has_val */
} lam_progress;
typedef void (*lam_progress_fn)(const lam_progress *p, void *user);

typedef struct lam_fit_options {
    int epochs;                  /* default 1 */
    int initial_epoch;           /* resume: epochs already done (default 0) */
    int batch_size;              /* default 32 */
    bool shuffle;                /* default true: reshuffled every epoch */
    float validation_split;      /* default 0: the LAST fraction, before shuffling */
    const lam_dataset *validation_data; /* default NULL */
    int verbose;                 /* 0 silent, 1 bar, 2 one line per epoch (default 1) */
    FILE *out;                   /* where verbose output goes (default stdout) */
    lam_progress_fn progress;    /* called in addition to the verbose display */
    void *progress_user;
    /* Called after every checkpoint_every_steps optimizer steps (0: never
     * inside an epoch), at the end of every epoch, and when a stop is
     * requested (lam_request_stop), typically to lam_model_save. An error
     * it returns stops training with that error. */
    lam_status (*checkpoint)(lam_model *m, void *user);
    void *checkpoint_user;
    int64_t checkpoint_every_steps;
} lam_fit_options;
lam_fit_options lam_fit_defaults(void);

typedef struct lam_epoch_log {
    double loss, accuracy;
    double val_loss, val_accuracy;
    bool has_accuracy, has_val;
    double seconds; /* wall time of the epoch */
} lam_epoch_log;
typedef struct lam_history {
    int epochs;
    lam_epoch_log *log;
} lam_history;
void lam_history_free(lam_history *h);

/* Trains. history may be NULL. */
lam_status lam_fit(lam_model *m, const lam_dataset *train, const lam_fit_options *opt,
                   lam_history **history);

typedef struct lam_eval_result {
    double loss, accuracy;
    bool has_accuracy;
    double seconds;
} lam_eval_result;
lam_status lam_evaluate(lam_model *m, const lam_dataset *data, int batch_size, int verbose,
                        lam_eval_result *out);
/* out: count * output_size floats (probabilities after a softmax output). */
lam_status lam_predict(lam_model *m, const lam_dataset *data, int batch_size, float *out);
/* One batch from raw floats: x is n * input_size. */
lam_status lam_predict_raw(lam_model *m, const float *x, int64_t n, float *out);

/* Training progress, kept for resuming. A checkpoint taken inside an epoch
 * also records where in the epoch it was, so that resuming continues the
 * same sample order from the next batch. */
typedef struct lam_train_state {
    int64_t epoch;          /* completed epochs */
    int64_t step;           /* optimizer steps taken */
    uint64_t rng[4];        /* the model's generator */
    int64_t epoch_step;     /* steps done in the unfinished epoch (0: none) */
    int64_t epoch_batch_size;     /* its batch size */
    uint64_t epoch_rng[4];  /* the generator as that epoch began */
    double epoch_loss;      /* its summed loss so far */
    int64_t epoch_correct;  /* and its correct predictions */
} lam_train_state;
void lam_model_train_state(const lam_model *m, lam_train_state *out);
lam_status lam_model_set_train_state(lam_model *m, const lam_train_state *st);
/* Optimizer slots (Adam m and v, momentum ...) as flat buffers of param_count. */
int lam_model_num_slots(const lam_model *m);
float *lam_model_slot(lam_model *m, int i);

/* ----------------------------------------------------- files and specs (io) */

/* Keras model.to_json() text (Keras 3 or tf.keras 2 forms) -> a model. */
lam_status lam_model_from_json(const char *json, const char *source_name, lam_model **out);
lam_status lam_model_from_json_file(const char *path, lam_model **out);
/* Keras 3 style JSON of the architecture; free with free(). */
lam_status lam_model_to_json(const lam_model *m, char **out);
/* One safetensors file: architecture, weights, optimizer state, progress. */
lam_status lam_model_save(const lam_model *m, const char *path);
lam_status lam_model_load(const char *path, lam_model **out);

#ifdef __cplusplus
}
#endif

#include "lamina_classic.h"

#endif
