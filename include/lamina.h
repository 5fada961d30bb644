/*
 * lamina.h - the one public header of liblamina.
 *
 * A C11 library to build, train, evaluate and save models, from classical ones
 * (SVM, trees, forests; see lamina_classic.h, included below) to deep ones
 * (CNN, LSTM), with the behaviour of Keras, and explanations of both
 * (attributions, SHAP, surrogates, pictures; see lamina_explain.h).
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
/* Gives the data set per_sample integer labels per sample (n * per_sample
 * values, copied), e.g. one per time step for a sequence output, and
 * optional per-label weights (0 masks a label out). */
lam_status lam_dataset_set_labels(lam_dataset *ds, int64_t per_sample, const int32_t *labels,
                                  const float *weights);
int64_t lam_dataset_label_size(const lam_dataset *ds);
const float *lam_dataset_weights(const lam_dataset *ds); /* or NULL */
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
/* Fashion-MNIST from a folder of the four IDX files. dir NULL (or ""): the
 * Debian package's /usr/share/datasets/fashion-mnist (the library reads no
 * environment; the lamina command and the examples pass $LAMINA_DATA). A
 * missing folder names the command that installs it. */
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
    /* Merging layers: one or more inputs (one returns it, as Keras 3) of one
     * shape, not broadcast (Concatenate: equal but for the axis). */
    LAM_LAYER_ADD,
    LAM_LAYER_SUBTRACT,          /* exactly two inputs */
    LAM_LAYER_MULTIPLY,
    LAM_LAYER_AVERAGE,
    LAM_LAYER_MAXIMUM,
    LAM_LAYER_MINIMUM,
    LAM_LAYER_CONCATENATE,       /* axis */
    /* Shapes. */
    LAM_LAYER_RESHAPE,           /* rank, shape: the target (one -1 allowed) */
    LAM_LAYER_PERMUTE,           /* dims (1-based, as Keras) */
    LAM_LAYER_REPEAT_VECTOR,     /* repeats */
    /* Normalisation. */
    LAM_LAYER_BATCH_NORM,        /* axis, momentum, epsilon, center, scale */
    LAM_LAYER_LAYER_NORM,        /* axis, epsilon, center, scale */
    /* One-dimensional (steps, channels) and global layers. */
    LAM_LAYER_CONV1D,            /* units = filters, kernel[0], strides[0], padding */
    LAM_LAYER_MAXPOOL1D,         /* pool[0], strides[0], padding */
    LAM_LAYER_AVGPOOL1D,
    LAM_LAYER_GLOBAL_AVGPOOL1D,
    LAM_LAYER_GLOBAL_AVGPOOL2D,
    LAM_LAYER_GLOBAL_MAXPOOL1D,
    LAM_LAYER_GLOBAL_MAXPOOL2D,
    LAM_LAYER_ZERO_PADDING2D,    /* pad: top, bottom, left, right */
    LAM_LAYER_UPSAMPLING2D,      /* size */
    LAM_LAYER_BIDIRECTIONAL,     /* wraps `wrapped` (LSTM/GRU/SimpleRNN); merge_mode */
    LAM_LAYER_EMBEDDING,         /* input_dim, units = output_dim, mask_zero; ids as floats */
    LAM_LAYER_MULTI_HEAD_ATTENTION, /* num_heads, key_dim, value_dim, use_bias, rate (dropout
                                    on the attention weights), output_dim, use_causal_mask;
                                    inputs: query, value[, key (key_input)][, attention
                                    mask [Tq, Tv], 1 = attend (mask_input)] */
    LAM_LAYER_POSITION_EMBEDDING, /* keras_hub PositionEmbedding: sequence_length; (T, C) ->
                                    the first T rows of a [sequence_length, C] table (the
                                    embeddings only: add them to the input yourself) */
    LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING, /* keras_hub: input_dim = vocabulary_size,
                                    sequence_length, units = embedding_dim, mask_zero; ids (T)
                                    -> token + position embeddings (T, units) */
    LAM_LAYER_NORMALIZATION,     /* Keras's Normalization: axis, invert; non-trainable mean
                                    and variance set by lam_model_adapt_normalization */
    LAM_LAYER_KIND_COUNT
} lam_layer_kind;

typedef enum {
    LAM_MERGE_CONCAT = 0,
    LAM_MERGE_SUM,
    LAM_MERGE_AVE,
    LAM_MERGE_MUL
} lam_merge_mode;

typedef enum {
    LAM_ACT_LINEAR = 0,
    LAM_ACT_RELU,
    LAM_ACT_SIGMOID,
    LAM_ACT_TANH,
    LAM_ACT_SOFTMAX,
    LAM_ACT_GELU,      /* exact, x * Phi(x): Keras's "gelu" (approximate=False) */
    LAM_ACT_GELU_TANH, /* the tanh approximation (Keras: gelu(x, approximate=True)),
                          which Keras has no string for: lamina names it "gelu_tanh" */
    LAM_ACT_COUNT
} lam_activation;

typedef enum { LAM_PAD_VALID = 0, LAM_PAD_SAME = 1 } lam_padding;

/* How a Conv2D is computed. AUTO picks by shape (direct for few input
 * channels, Winograd for 3x3 stride 1, else im2col); the others force one
 * family, and a layer whose shape it does not fit is refused at build. */
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
    int rank;                            /* Input: per-sample rank and shape; */
    int64_t shape[4];                    /* Reshape: the target shape */
    int axis;                            /* Concatenate, BatchNormalization,
                                            LayerNormalization: Keras's count, the
                                            batch axis being 0 (refused), so 1 is a
                                            sample's first axis; -1 (default) the last */
    float momentum, epsilon;             /* BatchNormalization (0.99, 1e-3);
                                            LayerNormalization epsilon (1e-3) */
    bool center, scale;                  /* normalisation's beta and gamma (true) */
    int dims[4];                         /* Permute: 1-based axes */
    int repeats;                         /* RepeatVector */
    int pad[4];                          /* ZeroPadding2D: top, bottom, left, right (1) */
    int size[2];                         /* UpSampling2D (2, 2) */
    lam_layer_kind wrapped;              /* Bidirectional: the recurrent layer */
    lam_merge_mode merge_mode;           /* Bidirectional (default concat) */
    lam_conv_algo conv_algo;             /* Conv2D: how to compute it (default auto) */
    int input_dim;                       /* Embedding: the vocabulary size (no default) */
    bool mask_zero;                      /* Embedding, TokenAndPositionEmbedding: id 0 is
                                            padding, masked out downstream (attention,
                                            GlobalAveragePooling1D, the loss), as Keras's;
                                            docs/ENGINE.md, "Masks", says which layers
                                            pass the mask on */
    int num_heads, key_dim, value_dim;   /* MultiHeadAttention (value_dim 0: key_dim) */
    int output_dim;                      /* MultiHeadAttention's output_shape (0: the
                                            query's last axis, as Keras's None) */
    bool use_causal_mask;                /* MultiHeadAttention: a call option in Keras,
                                            kept with the layer here */
    bool key_input, mask_input;          /* MultiHeadAttention: which optional inputs follow */
    int sequence_length;                 /* PositionEmbedding, TokenAndPositionEmbedding */
    int cache_len;                       /* MultiHeadAttention in a decoder (lam_model_decoder
                                            sets it): keys and values of this many positions
                                            are kept across steps. 0 in any other model */
    bool invert;                         /* Normalization: mean + x * std instead of
                                            (x - mean) / std (default false) */
} lam_layer_spec;

lam_layer_spec lam_layer_defaults(lam_layer_kind kind);
const char *lam_layer_kind_name(lam_layer_kind kind);   /* Keras class: "Conv2D" */
const char *lam_activation_name(lam_activation act);    /* "relu" */
/* Parses "relu", "softmax", ...; returns LAM_ERR_ARG on an unknown name. */
lam_status lam_activation_parse(const char *name, lam_activation *out);

typedef struct lam_model lam_model;
/* A secret key for encrypted model files (lamina_encrypt.h). */
typedef struct lam_key lam_key;

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

/* ------------------------------------------------------- functional models
 *
 * A model is a directed acyclic graph. Sequential (above) appends each layer
 * on the previous one; the functional calls below build any graph: several
 * inputs, residual connections, concatenations, shared layers, several
 * outputs. Nodes are named by the int ids these calls return.
 *
 * Intended usage (a residual block with two inputs and two outputs):
 *
 *     lam_model *m = lam_model_new("functional");
 *     int img, meta, h, r, a, y1, y2;
 *     lam_model_input(m, "image", 3, (int64_t[]){28, 28, 1}, &img);
 *     lam_model_input(m, "meta", 1, (int64_t[]){4}, &meta);
 *     lam_layer_spec conv = lam_layer_defaults(LAM_LAYER_CONV2D);
 *     conv.units = 16; conv.padding = LAM_PAD_SAME; conv.activation = LAM_ACT_RELU;
 *     lam_model_call(m, &conv, 1, &img, &h);
 *     lam_model_call(m, &conv, 1, &h, &r);                 // a second Conv2D
 *     lam_model_call(m, &(lam_layer_spec){...Add...}, 2, (int[]){h, r}, &a);
 *     ... Flatten, Concatenate with meta, two Dense heads y1, y2 ...
 *     lam_model_set_outputs(m, 2, (int[]){y1, y2});
 *     lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE);
 *     lam_model_set_output_loss(m, 1, LAM_LOSS_MSE, 0.5f);  // Keras's loss={..}, loss_weights
 *
 * lam_model_call_shared calls an existing layer again on other nodes: both
 * calls use one set of weights and their gradients are summed (Keras's
 * shared layers). */

/* An empty model for the functional calls. */
lam_model *lam_model_new(const char *name);
/* Adds an input of the given per-sample shape; *node receives its id.
 * name NULL or "": "input_layer", "input_layer_1", ... */
lam_status lam_model_input(lam_model *m, const char *name, int rank, const int64_t *shape,
                           int *node);
/* Calls a new layer on ninputs earlier nodes; *node receives the new node.
 * Shapes are checked at once: an impossible call is rejected here, naming
 * the layer. */
lam_status lam_model_call(lam_model *m, const lam_layer_spec *spec, int ninputs,
                          const int *inputs, int *node);
/* Calls the layer of node `layer` again (shared weights) on other nodes. */
lam_status lam_model_call_shared(lam_model *m, int layer, int ninputs, const int *inputs,
                                 int *node);
/* The model's outputs, in order (default: the last node added). */
lam_status lam_model_set_outputs(lam_model *m, int n, const int *nodes);
int lam_model_num_inputs(const lam_model *m);
int lam_model_num_outputs(const lam_model *m);
/* Node id of input k / output k (-1 when out of range). */
int lam_model_input_id(const lam_model *m, int k);
int lam_model_output_id(const lam_model *m, int k);
/* Nodes a node reads: returns their count, ids into ids[max]. */
int lam_model_node_inputs(const lam_model *m, int node, int max, int *ids);
/* The node whose weights node uses (itself unless a shared call). */
int lam_model_node_owner(const lam_model *m, int node);

/* Layers below are nodes: index i is node id i (0..num_layers-1). */
int lam_model_num_layers(const lam_model *m);
/* The spec of layer i (0 = the Input layer), with its resolved name. */
const lam_layer_spec *lam_model_layer(const lam_model *m, int i);
/* Per-sample output shape of layer i; returns its rank. */
int lam_model_layer_output_shape(const lam_model *m, int i, int64_t shape[4]);
int64_t lam_model_layer_param_count(const lam_model *m, int i);
int64_t lam_model_param_count(const lam_model *m);
/* Per-sample sizes (element counts) of input 0 and output 0. */
int64_t lam_model_input_size(const lam_model *m);
int64_t lam_model_output_size(const lam_model *m);
int lam_model_input_shape(const lam_model *m, int64_t shape[4]);
/* Output k's per-sample shape; returns its rank (0 when out of range). */
int lam_model_output_shape(const lam_model *m, int k, int64_t shape[4]);
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
    bool trainable; /* false: a non-trainable weight (BatchNormalization's moving statistics) */
    int64_t offset; /* in the parameter buffer (trainable) or the state buffer */
    float *data;    /* inside the model's flat parameter (or state) buffer */
    float *grad;    /* same layout in the gradient buffer; NULL when not trainable */
} lam_tensor_info;
int lam_model_num_tensors(const lam_model *m);
lam_status lam_model_tensor(const lam_model *m, int i, lam_tensor_info *info);
/* The flat parameter buffer (all trainable weights, contiguous) and its
 * gradient; lam_model_param_count() floats each. */
float *lam_model_params(lam_model *m);
float *lam_model_grads(lam_model *m);
/* Non-trainable weights, contiguous: lam_model_state_count() floats. */
float *lam_model_state(lam_model *m);
int64_t lam_model_state_count(const lam_model *m);

/* --------------------------------------------------------------- one step
 *
 * The training step is public; lam_fit is a loop over these calls:
 *
 *     lam_model_plan(m, batch);
 *     memcpy(lam_model_input_buffer(m, 0), x, batch * input_size * 4);
 *     lam_forward(m, batch, LAM_MODE_TRAIN);
 *     lam_loss_eval(m, batch, targets, true, &metrics);  // writes the output gradients
 *     lam_backward(m, batch, false);                     // parameter gradients
 *     hook(lam_model_grads(m), lam_model_param_count(m), user);  // clip, noise, allreduce
 *     lam_optimizer_update(m, lam_model_learning_rate(m));
 *
 * Or write lam_model_output_grad(m, k) yourself (dL/dy of output k) instead of
 * lam_loss_eval. Saliency and friends: forward in LAM_MODE_INFER_GRAD (dropout
 * off, BatchNormalization's moving statistics, but max-pool winners and the
 * rest of what backward needs recorded), then lam_backward(m, batch, true) and
 * read lam_model_input_grad(m, k). */
typedef enum {
    LAM_MODE_INFER = 0,     /* inference; nothing kept for backward */
    LAM_MODE_INFER_GRAD,    /* inference semantics, backward possible */
    LAM_MODE_TRAIN          /* dropout on, batch statistics, backward possible */
} lam_mode;

/* Allocates activations and workspace for batches up to batch (no-op when
 * already planned for at least that many). The model must be compiled. */
lam_status lam_model_plan(lam_model *m, int batch);
/* Input k's batch buffer [batch, input size]: write the batch here. */
float *lam_model_input_buffer(lam_model *m, int k);
lam_status lam_forward(lam_model *m, int batch, lam_mode mode);
/* Output k of the last forward, [batch, output size]. */
const float *lam_model_output(const lam_model *m, int k);
/* Where dL/d(output k) goes before lam_backward, [batch, output size]. */
float *lam_model_output_grad(lam_model *m, int k);
/* Gradients of every parameter (into lam_model_grads) from the output
 * gradients, through the graph of the last forward (which must have been
 * LAM_MODE_TRAIN or LAM_MODE_INFER_GRAD, with the same batch). With
 * input_grads, dL/d(input k) too. */
lam_status lam_backward(lam_model *m, int batch, bool input_grads);
/* Input gradients only (saliency, attributions, adversarial inputs): as
 * lam_backward(m, batch, true) without the parameter gradients, which Dense
 * and Conv layers then skip (lam_model_grads is left undefined). */
lam_status lam_backward_inputs(lam_model *m, int batch);
/* dL/d(input k) after lam_backward(m, batch, true), [batch, input size]. */
const float *lam_model_input_grad(const lam_model *m, int k);
/* Scores before a final softmax or sigmoid (the logits). lam_model_keep_logits
 * asks output k to keep them (call before lam_model_plan; it drops a plan
 * made without them); LAM_ERR_UNSUPPORTED when output k is not a Dense,
 * Conv or Activation layer with softmax or sigmoid read by no other layer.
 * After a forward, lam_model_output_logits gives them, [batch, output size]
 * (NULL when not kept). lam_model_output_logit_grad is where dL/d(logits)
 * goes instead of lam_model_output_grad: backward then starts below the
 * activation. Compiling again forgets the request. */
lam_status lam_model_keep_logits(lam_model *m, int k);
const float *lam_model_output_logits(const lam_model *m, int k);
float *lam_model_output_logit_grad(lam_model *m, int k);

/* ---------------------------------------------------------------- decoding
 * Generation runs a sequence model one position at a time. The decoder is a
 * twin of m whose every Input has sequence length 1 (the first axis), whose
 * MultiHeadAttention layers keep the keys and values of the positions seen so
 * far (up to m's sequence length) and attend over them, and whose
 * PositionEmbedding layers take the row of the current position; position-wise
 * layers (Dense, LayerNormalization, activations, Add) run as they are. Weights
 * are copied: train m, then make the decoder.
 *     lam_model *dec;
 *     lam_model_decoder(m, &dec);
 *     for (int64_t t = 0; t < n; t++) {
 *         lam_model_input_buffer(dec, 0)[0] = (float)token[t];
 *         lam_decoder_step(dec, t);             // t = 0 starts a new sequence
 *         const float *next = lam_model_output(dec, 0);   // [1, vocabulary]
 *     }
 * Models with layers that see the whole sequence at once (recurrent layers,
 * pooling over time, attention without a causal mask) are refused, naming the
 * layer. */
lam_status lam_model_decoder(const lam_model *m, lam_model **out);
/* One inference step of a decoder at sequence position `position` (0, 1, 2, ...
 * in order; 0 forgets the earlier sequence); reads input buffer rows of batch 1. */
lam_status lam_decoder_step(lam_model *dec, int64_t position);
/* The longest sequence a decoder takes (m's sequence length). */
int64_t lam_decoder_capacity(const lam_model *dec);

/* Sampling tokens from a sequence model: token ids (T,) in, one row of
 * scores per position (T, vocabulary) out (softmax probabilities or logits).
 * The context is the prompt's last T tokens, then each sampled token
 * appended; when it would grow past T it restarts from its last T/2 tokens
 * (learned positions cannot slide under a cache). With the cache (default)
 * each token costs one position through the network; no_cache recomputes
 * the whole context per token (the reference; same tokens for the same seed). */
typedef struct lam_generate_options {
    int64_t max_tokens;  /* tokens to generate (default 100) */
    float temperature;   /* default 1; 0: always the most likely token */
    int top_k;           /* sample among the k most likely (0, default: all) */
    float top_p;         /* ... then among the fewest whose probabilities sum to >= top_p
                            (nucleus sampling; 1, default: all) */
    uint64_t seed;       /* the draws (default 0) */
    int vocab_size;      /* sample ids below this only (0, default: the model's output
                            size); lam_generate sets the tokenizer's, for a model whose
                            output is wider than its tokenizer's vocabulary */
    bool no_cache;
    /* Called with each token as soon as it is chosen (streaming); a status
     * other than LAM_OK stops generation with it. */
    lam_status (*on_token)(int32_t token, void *user);
    void *user;
} lam_generate_options;
lam_generate_options lam_generate_defaults(void);
/* Generates o->max_tokens tokens after prompt[0..n) (n >= 1) into out. */
lam_status lam_generate_tokens(lam_model *m, const int32_t *prompt, int64_t n,
                               const lam_generate_options *o, int32_t *out);

/* Text kept with a model and saved in its file (tokenizers, preprocessing,
 * provenance). Keys are [A-Za-z0-9_.-], 1 to 63 characters; value NULL
 * removes the key. */
lam_status lam_model_set_metadata(lam_model *m, const char *key, const char *value);
/* The value of key, or NULL when the model has none. Owned by the model. */
const char *lam_model_metadata(const lam_model *m, const char *key);

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

typedef enum {
    LAM_OPT_ADAM = 0,
    LAM_OPT_SGD,
    LAM_OPT_RMSPROP,
    LAM_OPT_ADAMW,
    LAM_OPT_ADAGRAD,
    LAM_OPT_ADAMAX,
    LAM_OPT_NADAM,
    LAM_OPT_COUNT
} lam_optimizer_kind;

/* Learning-rate schedules, Keras's keras.optimizers.schedules, as a function
 * of the optimizer step (the number of updates already applied, Keras's
 * optimizer.iterations). The schedule's initial learning rate is the
 * optimizer's learning_rate; PIECEWISE_CONSTANT uses its values[] only.
 *   EXPONENTIAL   lr * decay_rate^(step / decay_steps)       (floor()ed with staircase)
 *   INVERSE_TIME  lr / (1 + decay_rate * step / decay_steps) (floor()ed with staircase)
 *   PIECEWISE_CONSTANT  values[0] while step <= boundaries[0], values[i] while
 *                 boundaries[i-1] < step <= boundaries[i], values[n_boundaries] after
 *   COSINE        with warmup_target > 0: lr rising linearly to warmup_target over
 *                 warmup_steps, then from warmup_target down the cosine
 *                 (1 - alpha) * (1 + cos(pi * s / decay_steps)) / 2 + alpha for s up to
 *                 decay_steps, then constant; warmup_target 0 means no warmup (Keras None)
 *                 and warmup_steps must then be 0. */
#define LAM_SCHEDULE_MAX_VALUES 16
typedef enum {
    LAM_SCHEDULE_NONE = 0,          /* constant learning_rate */
    LAM_SCHEDULE_EXPONENTIAL,
    LAM_SCHEDULE_PIECEWISE_CONSTANT,
    LAM_SCHEDULE_COSINE,
    LAM_SCHEDULE_INVERSE_TIME,
    LAM_SCHEDULE_COUNT
} lam_schedule_kind;
typedef struct lam_schedule {
    lam_schedule_kind kind;
    bool staircase;                /* exponential, inverse time */
    float decay_rate;              /* exponential (> 0), inverse time (>= 0) */
    int64_t decay_steps;           /* exponential, inverse time, cosine: > 0 */
    float alpha;                   /* cosine: final fraction of the rate, [0, 1] (default 0) */
    float warmup_target;           /* cosine: 0, or the rate reached after warmup_steps */
    int64_t warmup_steps;          /* cosine */
    int n_boundaries;              /* piecewise: 1 .. LAM_SCHEDULE_MAX_VALUES - 1 */
    int64_t boundaries[LAM_SCHEDULE_MAX_VALUES - 1]; /* increasing */
    float values[LAM_SCHEDULE_MAX_VALUES];           /* n_boundaries + 1 of them, >= 0 */
} lam_schedule;

/* Keras 3 optimizers with their update rules exactly; fields a kind does not
 * use must keep the constructor's value (amsgrad, centered and nesterov are
 * refused by the wrong kind). Every kind also takes Keras's generic options:
 * weight_decay (decoupled: p -= p * weight_decay * lr before the update, as
 * Keras 3 does for every optimizer when set), and at most one of clipnorm
 * (each weight tensor's gradient scaled to an L2 norm <= clipnorm), clipvalue
 * (each gradient element clamped to [-clipvalue, clipvalue]) and
 * global_clipnorm (all gradients scaled together to a norm <= it); 0 = off. */
typedef struct lam_optimizer {
    lam_optimizer_kind kind;
    float learning_rate;           /* or the schedule's initial learning rate */
    float beta_1, beta_2, epsilon; /* Adam, AdamW, Adamax, Nadam; epsilon also RMSprop, Adagrad */
    float momentum;                /* SGD, RMSprop */
    bool nesterov;                 /* SGD */
    bool amsgrad;                  /* Adam, AdamW */
    bool centered;                 /* RMSprop */
    float rho;                     /* RMSprop */
    float initial_accumulator_value; /* Adagrad */
    float weight_decay;            /* 0: none (AdamW's default 0.004) */
    /* Weights weight decay leaves alone: comma-separated substrings of a weight's
     * short name ("kernel", "bias", "gamma", "embeddings"), as Keras's
     * optimizer.exclude_from_weight_decay(var_names=[...]) (which matches regular
     * expressions; plain substrings here). "" (default): every weight decays. The
     * usual transformer recipe: "bias,gamma,beta". */
    char exclude_from_weight_decay[128];
    float clipnorm, clipvalue, global_clipnorm; /* 0: none */
    lam_schedule schedule;         /* kind NONE: constant learning_rate */
} lam_optimizer;
lam_optimizer lam_adam(void);    /* lr 1e-3, 0.9, 0.999, 1e-7 */
lam_optimizer lam_sgd(void);     /* lr 0.01, momentum 0 */
lam_optimizer lam_rmsprop(void); /* lr 1e-3, rho 0.9, momentum 0, eps 1e-7 */
lam_optimizer lam_adamw(void);   /* Adam's defaults, weight_decay 0.004 */
lam_optimizer lam_adagrad(void); /* lr 1e-3, initial_accumulator_value 0.1, eps 1e-7 */
lam_optimizer lam_adamax(void);  /* lr 1e-3, 0.9, 0.999, 1e-7 */
lam_optimizer lam_nadam(void);   /* lr 1e-3, 0.9, 0.999, 1e-7 */
/* Keras's names, any case: adam, adamw, sgd, rmsprop, adagrad, adamax, nadam. */
lam_status lam_optimizer_parse(const char *name, lam_optimizer *out);
/* Rejects impossible settings, naming the option and its allowed range. */
lam_status lam_optimizer_check(const lam_optimizer *o);
/* Per-parameter state buffers the optimizer keeps (Adam: m, v; + v_hat with amsgrad). */
int lam_optimizer_slot_count(const lam_optimizer *o);
/* The learning rate of the update after `step` updates (Keras's
 * optimizer.learning_rate at iterations == step). */
float lam_schedule_lr(const lam_optimizer *o, int64_t step);
/* A schedule from text, "KIND" or "KIND:key=value,key=value":
 *   exponential:decay_steps=N,decay_rate=F[,staircase=1]
 *   inverse_time:decay_steps=N,decay_rate=F[,staircase=1]
 *   piecewise:boundaries=N/N/...,values=F/F/...   (one more value than boundaries)
 *   cosine:decay_steps=N[,alpha=F][,warmup_target=F,warmup_steps=N]
 *   none (constant)
 * Keras's class names (ExponentialDecay, ...) are accepted for KIND. The result is checked. */
lam_status lam_schedule_parse(const char *text, lam_schedule *out);

/* Sets loss and optimizer, initialises the weights (glorot_uniform kernels,
 * zero biases) from the model's seed. Accuracy is tracked for the
 * classification losses. */
lam_status lam_model_compile(lam_model *m, const lam_optimizer *opt, lam_loss loss);
/* Output k's own loss and its weight in the total (Keras's compile(loss={...},
 * loss_weights={...})); compile sets every output to its loss, weight 1. */
lam_status lam_model_set_output_loss(lam_model *m, int output, lam_loss loss, float weight);
lam_loss lam_model_loss(const lam_model *m); /* output 0's */
const lam_optimizer *lam_model_optimizer(const lam_model *m);

/* One update of every trainable parameter from the gradient buffer, with
 * this step's learning rate, as Keras's apply_gradients: gradients clipped
 * (clipnorm, clipvalue or global_clipnorm; in place, so afterwards
 * lam_model_grads holds the gradients that were applied), weights decayed,
 * the optimizer's rule applied; then the step count advances. The result
 * does not depend on the thread count. */
lam_status lam_optimizer_update(lam_model *m, float learning_rate);
/* The learning rate the optimizer's schedule gives at m's current step. */
float lam_model_learning_rate(const lam_model *m);
/* From now on a constant learning rate, replacing any schedule (as --lr on
 * resume); the optimizer's state and step are kept. */
lam_status lam_model_set_learning_rate(lam_model *m, float learning_rate);

/* What one batch's targets are, for one output. labels: one integer per
 * position, [batch, positions] where positions = output size / last axis
 * (one per sample for a rank-1 output; per time step for (T, classes)).
 * values: dense targets [batch, output size]. weights: optional, one per
 * position (0 masks a position out; Keras's sample_weight). */
typedef struct lam_target {
    const int32_t *labels;
    const float *values;
    const float *weights;
} lam_target;
typedef struct lam_batch_metrics {
    double loss;     /* summed over the batch's samples, weighted over outputs */
    double correct;  /* output 0: correct predictions (weighted) */
    double counted;  /* output 0: what accuracy divides by */
} lam_batch_metrics;
/* The losses of the last forward against targets[k] for every output k,
 * with Keras's reductions (mean over positions and samples). An output that
 * carries a Keras mask (an Embedding or TokenAndPositionEmbedding with
 * mask_zero upstream, passed on by position-wise layers) counts only its real
 * positions, as Keras: the loss is sum(weight * loss) over them divided by
 * their number, and accuracy counts only them. With write_grads, also every
 * output's gradient of the batch mean (0 at padded positions), ready for
 * lam_backward. */
lam_status lam_loss_eval(lam_model *m, int batch, const lam_target *targets, bool write_grads,
                         lam_batch_metrics *out);

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
    bool has_epsilon;          /* DP-SGD (lam_fit_options.dp): privacy spent so far */
    double epsilon;
} lam_progress;
typedef void (*lam_progress_fn)(const lam_progress *p, void *user);

/* Keras's built-in callbacks, run by lam_fit at the end of every epoch (and
 * TerminateOnNaN after every step), in the order listed. Make one with its
 * constructor, which fills Keras's defaults, change what differs, and list
 * them in lam_fit_options.callbacks. A monitor names a quantity of the
 * epoch's log: "loss", "accuracy", "val_loss", "val_accuracy" (an unknown
 * or absent one is refused when fit starts, naming the callback). */
typedef enum {
    LAM_CB_EARLY_STOPPING = 0,
    LAM_CB_MODEL_CHECKPOINT,
    LAM_CB_REDUCE_LR_ON_PLATEAU,
    LAM_CB_CSV_LOGGER,
    LAM_CB_TERMINATE_ON_NAN
} lam_callback_kind;
typedef enum {
    LAM_MONITOR_AUTO = 0, /* max for accuracies, min otherwise */
    LAM_MONITOR_MIN,
    LAM_MONITOR_MAX
} lam_monitor_mode;
typedef struct lam_callback {
    lam_callback_kind kind;
    const char *monitor;        /* default "val_loss" */
    lam_monitor_mode mode;
    double min_delta;           /* EarlyStopping 0, ReduceLROnPlateau 1e-4 */
    int patience;               /* EarlyStopping 0, ReduceLROnPlateau 10 */
    /* EarlyStopping */
    bool has_baseline;
    double baseline;
    bool restore_best_weights;
    int start_from_epoch;
    /* ReduceLROnPlateau */
    double factor, min_lr;      /* 0.1, 0 */
    int cooldown;
    /* ModelCheckpoint and CSVLogger: the file. A checkpoint path may hold
     * {epoch} or {epoch:02d} (1-based) and {NAME} or {NAME:.4f} of a logged
     * quantity, as Keras's. */
    const char *path;
    bool save_best_only;        /* ModelCheckpoint */
    /* ModelCheckpoint: how to save (lam_model_checkpoint sets lam_model_save). */
    lam_status (*save)(const lam_model *m, const char *path);
    /* ModelCheckpoint: when key is set, saves with save_encrypted instead
     * (lam_model_checkpoint_encrypted sets both; lamina_encrypt.h). */
    const lam_key *key;
    lam_status (*save_encrypted)(const lam_model *m, const char *path, const lam_key *key);
    bool append;                /* CSVLogger: keep the file's rows (default false) */
    char separator;             /* CSVLogger (',') */
} lam_callback;
/* The fields every callback shares (monitor "val_loss", mode auto, separator
 * ','); the constructors below add each kind's Keras defaults. */
lam_callback lam_callback_defaults(lam_callback_kind kind);
lam_callback lam_early_stopping(void);
lam_callback lam_reduce_lr_on_plateau(void);
lam_callback lam_csv_logger(const char *path);
lam_callback lam_terminate_on_nan(void);
/* ModelCheckpoint saving with lam_model_save (src/io). */
lam_callback lam_model_checkpoint(const char *path);

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
    /* Called after every backward, before the update, with the flat
     * gradient buffer (param_count floats, the layout of lam_model_params):
     * the place for gradient averaging across processes, clipping and noise
     * (differential privacy), or logging. An error stops training. */
    lam_status (*gradient_hook)(lam_model *m, float *grads, int64_t n, void *user);
    void *gradient_hook_user;
    const lam_callback *callbacks; /* ncallbacks of them (default none) */
    int ncallbacks;
    /* Differentially private training (lamina_privacy.h, lam_dp_defaults);
     * NULL (default): none. */
    const struct lam_dp_options *dp;
    /* Gather the next batch on a background thread while this one computes
     * (lamina_streaming.h); the results are bit-identical. Default false. */
    bool prefetch;
    /* Data-parallel training over MPI processes (lamina_dist.h): batch_size
     * is then the global batch. NULL (default): this process alone. */
    struct lam_dist *dist;
} lam_fit_options;
lam_fit_options lam_fit_defaults(void);

typedef struct lam_epoch_log {
    double loss, accuracy;
    double val_loss, val_accuracy;
    bool has_accuracy, has_val;
    double seconds;       /* wall time of the epoch */
    double learning_rate; /* at the epoch's end */
    double epsilon;       /* DP: privacy spent so far at dp->delta; NaN without DP */
} lam_epoch_log;
typedef struct lam_history {
    int epochs;
    lam_epoch_log *log;
    /* A callback stopped training: which ("" when fit ran every epoch),
     * after how many epochs in all. */
    char stopped_by[32];
    int stopped_epoch;
    int best_epoch;       /* EarlyStopping: the epoch of the best value (1-based; 0: none) */
} lam_history;
void lam_history_free(lam_history *h);

/* Trains. history may be NULL. */
lam_status lam_fit(lam_model *m, const lam_dataset *train, const lam_fit_options *opt,
                   lam_history **history);

/* lam_fit for models of several inputs and outputs: x[k] gives input k's
 * samples, y[k] output k's labels or targets (one data set may serve as
 * several). validation_split applies to all; validation_data is for
 * one-input, one-output models. */
lam_status lam_fit_multi(lam_model *m, int nx, const lam_dataset *const *x, int ny,
                         const lam_dataset *const *y, const lam_fit_options *opt,
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
/* Several inputs and outputs (Keras's evaluate([x1, x2], [y1, y2])): the
 * loss is the weighted total, the accuracy output 0's. */
lam_status lam_evaluate_multi(lam_model *m, int nx, const lam_dataset *const *x, int ny,
                              const lam_dataset *const *y, int batch_size, int verbose,
                              lam_eval_result *out);
/* outs[k]: count * (output k's size) floats. */
lam_status lam_predict_multi(lam_model *m, int nx, const lam_dataset *const *x, int batch_size,
                             float *const *outs);
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

/* ------------------------------------------------------------- Keras files
 * Keras's own files, read with libhdf5 and libzip (docs/MODEL_FILES.md,
 * "Keras files"): a Keras 3 .keras archive (config.json, metadata.json,
 * model.weights.h5) or a legacy .h5 (model.save("x.h5"), Keras 3 or tf.keras 2).
 * The architecture goes through lam_model_from_json; the model is compiled
 * with the file's loss and optimizer (Adam and sparse categorical
 * cross-entropy when it was saved uncompiled), every weight (and
 * BatchNormalization's moving statistics) is copied with its shape checked,
 * and Adam's or AdamW's state (step, m, v) is imported where the file holds
 * it; other optimizers start fresh. lam_model_load reads these files too (it
 * tells them by their first bytes). A lamina built without the libraries
 * returns LAM_ERR_UNSUPPORTED naming the package to install. */
lam_status lam_model_import_keras(const char *path, lam_model **out);
/* Writes m (compiled) as a Keras 3 .keras file that keras.saving.load_model
 * opens (uncompiled: the optimizer and its state are not written), atomically
 * (a temporary file renamed). LAM_ERR_UNSUPPORTED without libhdf5/libzip. */
lam_status lam_model_export_keras(const lam_model *m, const char *path);


/* --------------------------------------------------------------------- text
 *
 * Text in: tokenizers, text files, language-modelling and classification
 * data sets. Rules and formats: docs/TEXT.md.
 *
 * Intended usage (a character-level language model, as nanoGPT's
 * shakespeare_char):
 *
 *     char *text; size_t len;
 *     lam_load_text("input.txt", &text, &len);
 *     lam_tokenizer *tok;
 *     lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, text, len, &tok);
 *     int32_t *ids; int64_t n;
 *     lam_tokenizer_encode(tok, text, len, &ids, &n);
 *     lam_dataset *train, *val;
 *     lam_lm_split(ids, n, 256, 0.1, &train, &val);   // windows of 256, last 10% for validation
 *     ... a model whose output is (256, lam_tokenizer_vocab_size(tok)) ...
 *     lam_model_set_tokenizer(m, tok);                 // saved with the model
 */

/* A tokenizer: text <-> integer ids 0 .. vocab_size - 1. */
typedef struct lam_tokenizer lam_tokenizer;
typedef enum {
    LAM_TOKENIZER_CHAR = 0, /* one token per Unicode code point of the training text, sorted
                               (nanoGPT's chars = sorted(set(data))); text must be UTF-8 */
    LAM_TOKENIZER_BPE       /* byte-level BPE: 256 byte tokens, then merges (GPT-2, minbpe);
                               encodes any bytes */
} lam_tokenizer_kind;
/* The largest vocabulary a tokenizer may have (ids stay exact as floats). */
#define LAM_TOKENIZER_MAX_VOCAB (1 << 20)
/* The model metadata key lam_model_set_tokenizer stores a tokenizer's JSON under. */
#define LAM_TOKENIZER_METADATA_KEY "tokenizer"

/* Parses the command's spelling: "char" (*vocab_size = 0) or "bpe:VOCAB"
 * (256 <= VOCAB <= LAM_TOKENIZER_MAX_VOCAB). */
lam_status lam_tokenizer_parse(const char *spec, lam_tokenizer_kind *kind, int *vocab_size);
/* Learns a tokenizer from text[0..len) (len > 0).
 *   CHAR: the distinct code points of the text, sorted; vocab_size 0 = as many as there are,
 *         else the most allowed (more distinct characters is an error). Invalid UTF-8 is an
 *         error naming its byte offset.
 *   BPE:  vocab_size 256 + merges, learnt as docs/TEXT.md says (fewer when the text runs out
 *         of pairs to merge; lam_tokenizer_vocab_size tells). */
lam_status lam_tokenizer_train(lam_tokenizer_kind kind, int vocab_size, const char *text,
                               size_t len, lam_tokenizer **out);
void lam_tokenizer_free(lam_tokenizer *t);
lam_tokenizer_kind lam_tokenizer_kind_of(const lam_tokenizer *t);
int lam_tokenizer_vocab_size(const lam_tokenizer *t);
/* text[0..len) -> *n ids in *ids (free with free()). CHAR refuses invalid UTF-8 and
 * characters outside its vocabulary, naming the byte offset (and the character as U+XXXX);
 * BPE encodes any bytes. */
lam_status lam_tokenizer_encode(const lam_tokenizer *t, const char *text, size_t len,
                                int32_t **ids, int64_t *n);
/* ids[0..n) -> *len bytes in *text, NUL-terminated (free with free()). An id outside the
 * vocabulary is an error naming its position. */
lam_status lam_tokenizer_decode(const lam_tokenizer *t, const int32_t *ids, int64_t n,
                                char **text, size_t *len);
/* The bytes of one token, for streaming output (*bytes is owned by the tokenizer, not
 * NUL-terminated; a BPE token may hold part of a UTF-8 character). */
lam_status lam_tokenizer_decode_token(const lam_tokenizer *t, int32_t id, const char **bytes,
                                      size_t *len);
/* The tokenizer as JSON text (free with free()), and back; source_name names the text in
 * error messages (a file, "model.safetensors (metadata tokenizer)"). */
lam_status lam_tokenizer_to_json(const lam_tokenizer *t, char **json);
lam_status lam_tokenizer_from_json(const char *json, const char *source_name,
                                   lam_tokenizer **out);
/* Stores t in m's metadata under LAM_TOKENIZER_METADATA_KEY, and reads it back
 * (*out = NULL, LAM_OK when m has none). */
lam_status lam_model_set_tokenizer(lam_model *m, const lam_tokenizer *t);
lam_status lam_model_tokenizer(const lam_model *m, lam_tokenizer **out);

/* Text from a sequence model: prompt encoded with tok (a character outside a
 * char tokenizer's vocabulary is an error naming it), o->max_tokens tokens
 * sampled as lam_generate_tokens does (o->on_token sees each id as it comes;
 * lam_tokenizer_decode_token gives its bytes), decoded into *text (the
 * continuation only, NUL-terminated, free with free()) and *len bytes. */
lam_status lam_generate(lam_model *m, const lam_tokenizer *tok, const char *prompt,
                        const lam_generate_options *o, char **text, size_t *len);

/* A UTF-8 text file, or a folder of *.txt files concatenated in file-name order (byte
 * order, strcmp). *text is NUL-terminated (free with free()). Invalid UTF-8 is an error
 * naming the file and byte offset; an empty corpus is an error naming the path. */
lam_status lam_load_text(const char *path, char **text, size_t *len);

/* Language modelling (next-token prediction). Sample k is the window
 * ids[k*block .. k*block + block) as floats, input shape (block,), with per-position
 * labels ids[k*block + 1 .. k*block + block] (lam_dataset_set_labels, per_sample = block):
 * windows with stride block, not overlapping, floor((n - 1) / block) of them. n - 1 < block
 * is an error (block larger than the corpus). Ids must be in [0, LAM_TOKENIZER_MAX_VOCAB). */
lam_status lam_lm_dataset(const int32_t *ids, int64_t n, int64_t block, lam_dataset **out);
/* lam_lm_dataset on the first part of ids and, into *val, on the last val_fraction of them
 * (nanoGPT's split: train ids[0 .. (int)(n * (1 - val_fraction))), val the rest; no window
 * crosses the split). val_fraction in [0, 1); 0 gives *val = NULL. */
lam_status lam_lm_split(const int32_t *ids, int64_t n, int64_t block, double val_fraction,
                        lam_dataset **train, lam_dataset **val);
/* nanoGPT's get_batch: batch windows at random offsets i (uniform in [0, n - block)),
 * x[b][t] = ids[i + t] (as floats), y[b][t] = ids[i + t + 1]; x and y hold batch * block
 * values. The offsets are a function of (seed, step) alone, so a run is reproducible and
 * resumable. Called every step, it does not re-check the ids (lam_lm_dataset does). */
lam_status lam_lm_batch(const int32_t *ids, int64_t n, int64_t block, int batch, uint64_t seed,
                        int64_t step, float *x, int32_t *y);

/* Labelled text samples for classification, read from a folder (lam_load_textcls). */
typedef struct lam_text_samples lam_text_samples;
/* DIR holds either one sub-folder per class, each with *.txt files (one sample per file),
 * or one file per class, named CLASS or CLASS.txt (other names, such as fortune's *.dat,
 * are skipped), holding one sample per line, or, when some line is exactly "%", one
 * sample per "%"-separated record (the fortune format). Classes are numbered in name
 * order (strcmp); blank samples (white space only) are skipped; text must be UTF-8. At
 * least 2 classes; with sub-folders, files directly in DIR are ignored. */
lam_status lam_load_textcls(const char *dir, lam_text_samples **out);
void lam_text_samples_free(lam_text_samples *s);
int64_t lam_text_samples_count(const lam_text_samples *s);
int lam_text_samples_num_classes(const lam_text_samples *s);
const char *lam_text_samples_class_name(const lam_text_samples *s, int k);
/* Sample i's text (not NUL-terminated; *len bytes) and class; NULL / -1 out of range. */
const char *lam_text_samples_text(const lam_text_samples *s, int64_t i, size_t *len);
int32_t lam_text_samples_label(const lam_text_samples *s, int64_t i);
/* Keeps the classes with at least min_samples samples and drops the others (a benchmark's
 * "classes with enough data"); the kept classes are renumbered in name order and their
 * samples keep their order. Fewer than 2 classes left is an error and changes nothing. */
lam_status lam_text_samples_drop_small_classes(lam_text_samples *s, int64_t min_samples);
/* Puts the samples in a random order fixed by seed (they come in class order, so do this
 * before taking the last fraction for validation). */
void lam_text_samples_shuffle(lam_text_samples *s, uint64_t seed);
/* Every sample, '\n'-separated, to train a tokenizer on (free with free()). */
lam_status lam_text_samples_join(const lam_text_samples *s, char **text, size_t *len);
/* Token ids for an Embedding: sample i is its first max_len tokens, each id + 1, padded
 * after the end with 0 (Keras's TextVectorization(output_sequence_length)): id 0 is the
 * padding (mask_zero), so the Embedding needs input_dim = vocab_size + 1. Input shape
 * (max_len,), one class label per sample. */
lam_status lam_textcls_dataset(const lam_text_samples *s, const lam_tokenizer *t,
                               int64_t max_len, lam_dataset **out);
/* Bag of tokens for classic models: sample i is the count of each token id in its text,
 * input shape (vocab_size,), one class label per sample. */
lam_status lam_textcls_counts(const lam_text_samples *s, const lam_tokenizer *t,
                              lam_dataset **out);

#ifdef __cplusplus
}
#endif

#include "lamina_preprocess.h"
#include "lamina_classic.h"
#include "lamina_explain.h"
#include "lamina_privacy.h"
#include "lamina_encrypt.h"
#include "lamina_desensitize.h"
#include "lamina_onnx.h"
#include "lamina_streaming.h"
#include "lamina_dist.h"

#endif
