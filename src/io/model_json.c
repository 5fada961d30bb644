/* model_json.c - Keras model.to_json() text <-> lamina models.
 *
 * Reads both forms Keras writes, for Sequential and functional models:
 * Keras 3 ({"module":"keras","class_name":"Sequential","config":{"name",
 * "layers":[InputLayer with batch_shape, ...]}}, and "Functional" with
 * "input_layers", "output_layers" and per-layer "inbound_nodes" of
 * {"args":[__keras_tensor__ ...],"kwargs":{}}) and tf.keras 2 ({"class_name":
 * "Sequential" | "Functional" | "Model", "config":{...},"keras_version",
 * "backend"}, batch_input_shape on the first layer or on an explicit
 * InputLayer, inbound_nodes as [[[name, node, tensor, {kwargs}], ...]]).
 * Writes the Keras 3 form: Sequential for a model built with lam_model_add,
 * Functional otherwise.
 *
 * Policy: every config key is either mapped onto lam_layer_spec, known to be
 * harmless (names, dtype float32, Keras's default initialisers, null
 * regularisers, ...), or rejected. A value lamina does not implement is never
 * silently dropped: the model would train or predict differently from the
 * Keras one. Unknown keys whose value is null or false are accepted, since
 * Keras keeps adding such switched-off options (quantization_config, ...).
 * Every layer kind of lamina.h is read and written, whether or not this
 * build has its op: building the model is what needs the op. */
#include "train/train.h"
#include "io/model_file.h"
#include "core/model.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* train/optimizer.c: validates hyperparameters (errors name the bad one). */
/* ---------------------------------------------------------------- reading */

/* Who a message is about. */
typedef struct lctx {
    const char *src;   /* file path or "<json>" */
    const char *name;  /* layer name */
    const char *cls;   /* Keras class */
} lctx;

/* A short rendering of a JSON value for messages. */
static void value_str(const cJSON *v, char *buf, size_t n)
{
    char *p = v ? cJSON_PrintUnformatted(v) : NULL;
    if (!p) {
        snprintf(buf, n, "%s", v ? "(unprintable)" : "(missing)");
        return;
    }
    if (strlen(p) >= n && n > 4) {
        memcpy(buf, p, n - 4);
        memcpy(buf + n - 4, "...", 4);
    } else {
        snprintf(buf, n, "%s", p);
    }
    free(p); /* cJSON allocated it with its own (default) allocator */
}

static lam_status reject(const lctx *c, lam_status st, const char *key, const cJSON *v,
                         const char *supported)
{
    char val[128];
    value_str(v, val, sizeof val);
    return lam_error(st, "%s: layer \"%s\" (%s): %s is %s; %s", c->src, c->name, c->cls, key,
                     val, supported);
}

static bool is_null(const cJSON *v) { return !v || cJSON_IsNull(v); }

/* A whole number in [lo, hi]. */
static bool get_int(const cJSON *v, int lo, int hi, int *out)
{
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!(d >= lo && d <= hi) || d != floor(d)) return false;
    *out = (int)d;
    return true;
}

/* An int or a list of two ints (kernel_size 3 or [3, 3]). */
static bool get_pair(const cJSON *v, int lo, int hi, int out[2])
{
    if (cJSON_IsNumber(v)) {
        if (!get_int(v, lo, hi, &out[0])) return false;
        out[1] = out[0];
        return true;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2) return false;
    return get_int(cJSON_GetArrayItem(v, 0), lo, hi, &out[0]) &&
           get_int(cJSON_GetArrayItem(v, 1), lo, hi, &out[1]);
}

static bool is_str(const cJSON *v, const char *s)
{
    return cJSON_IsString(v) && strcmp(v->valuestring, s) == 0;
}

/* dtype "float32" (tf.keras 2) or {"class_name":"DTypePolicy","config":{"name":"float32"}}. */
static bool dtype_ok(const cJSON *v)
{
    if (is_null(v) || is_str(v, "float32")) return true;
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(v, "config");
    return cJSON_IsObject(v) && is_str(cJSON_GetObjectItemCaseSensitive(cfg, "name"), "float32");
}

/* Initialiser given as "glorot_uniform" or {"class_name":"GlorotUniform",...}.
 * The seed and axes are irrelevant: lamina seeds from the model. */
static bool init_is(const cJSON *v, const char *cls, const char *fn)
{
    if (cJSON_IsString(v)) return strcmp(v->valuestring, fn) == 0;
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(v, "class_name");
    if (!cJSON_IsString(cn)) return false;
    if (strcmp(cn->valuestring, cls) != 0 && strcmp(cn->valuestring, fn) != 0) return false;
    if (strcmp(cls, "Orthogonal") == 0) { /* only gain 1 is what lamina draws */
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(v, "config"), "gain");
        if (g && !(cJSON_IsNumber(g) && g->valuedouble == 1.0)) return false;
    }
    return true;
}

/* Keras's "uniform", or RandomUniform with its default bounds. */
static bool uniform_005(const cJSON *v)
{
    if (!init_is(v, "RandomUniform", "uniform")) return false;
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(v, "config");
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(cfg, "minval");
    const cJSON *hi = cJSON_GetObjectItemCaseSensitive(cfg, "maxval");
    return (!lo || (cJSON_IsNumber(lo) && (float)lo->valuedouble == -0.05f)) &&
           (!hi || (cJSON_IsNumber(hi) && (float)hi->valuedouble == 0.05f));
}

static lam_status get_activation(const lctx *c, const char *key, const cJSON *v,
                                 lam_activation *out)
{
    const char *name = NULL;
    if (is_null(v)) name = "linear"; /* Keras: activation=None is linear */
    else if (cJSON_IsString(v)) name = v->valuestring;
    else if (cJSON_IsObject(v) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "config")))
        name = cJSON_GetObjectItemCaseSensitive(v, "config")->valuestring;
    for (int a = 0; name && a < LAM_ACT_COUNT; a++)
        if (strcmp(name, lam_activation_name((lam_activation)a)) == 0) {
            *out = (lam_activation)a;
            return LAM_OK;
        }
    return reject(c, LAM_ERR_UNSUPPORTED, key, v,
                  "lamina supports linear, relu, sigmoid, tanh, softmax, gelu and gelu_tanh "
                  "(lamina's name for gelu(approximate=True))");
}

/* What a key does, and for which layer kinds. */
enum {
    H_IGNORE, H_TRUE, H_FALSE, H_NULL, H_ZERO, H_ONE, H_ONES, H_CHLAST, H_DTYPE,
    H_GLOROT, H_ZEROS, H_ONESINIT, H_ORTHO, H_UNITS, H_KERNEL, H_STRIDES, H_POOL, H_PADDING,
    H_ACT, H_RACT, H_BOOL, H_RATE, H_AXIS, H_MOMENTUM, H_EPSILON, H_TARGET, H_DIMS, H_REPEATS,
    H_PAD2D, H_SIZE, H_NEAREST, H_WRAPPED, H_MERGE, H_INPUT_DIM, H_UNIFORM, H_SEQLEN, H_TIED,
    H_INPUT_DTYPE, H_HEADS, H_KEY_DIM, H_VALUE_DIM, H_OUTPUT_SHAPE, H_ATTENTION_AXES,
    H_ADAPTED
};
#define KB(k) ((uint64_t)1 << (k))
#define K_INPUT KB(LAM_LAYER_INPUT)
#define K_DENSE KB(LAM_LAYER_DENSE)
#define K_CONV KB(LAM_LAYER_CONV2D)
#define K_CONV1 KB(LAM_LAYER_CONV1D)
#define K_POOL2 (KB(LAM_LAYER_MAXPOOL2D) | KB(LAM_LAYER_AVGPOOL2D))
#define K_POOL1 (KB(LAM_LAYER_MAXPOOL1D) | KB(LAM_LAYER_AVGPOOL1D))
#define K_POOL (K_POOL1 | K_POOL2)
#define K_GLOBAL (KB(LAM_LAYER_GLOBAL_AVGPOOL1D) | KB(LAM_LAYER_GLOBAL_AVGPOOL2D) | \
                  KB(LAM_LAYER_GLOBAL_MAXPOOL1D) | KB(LAM_LAYER_GLOBAL_MAXPOOL2D))
#define K_FLAT KB(LAM_LAYER_FLATTEN)
#define K_ACTV KB(LAM_LAYER_ACTIVATION)
#define K_DROP KB(LAM_LAYER_DROPOUT)
#define K_LSTM KB(LAM_LAYER_LSTM)
#define K_GRU KB(LAM_LAYER_GRU)
#define K_RNN KB(LAM_LAYER_SIMPLERNN)
#define K_REC (K_LSTM | K_GRU | K_RNN)
#define K_CONCAT KB(LAM_LAYER_CONCATENATE)
#define K_BN KB(LAM_LAYER_BATCH_NORM)
#define K_LN KB(LAM_LAYER_LAYER_NORM)
#define K_NORM (K_BN | K_LN)
#define K_ZPAD KB(LAM_LAYER_ZERO_PADDING2D)
#define K_UP KB(LAM_LAYER_UPSAMPLING2D)
#define K_BIDI KB(LAM_LAYER_BIDIRECTIONAL)
#define K_EMB KB(LAM_LAYER_EMBEDDING)
#define K_POS KB(LAM_LAYER_POSITION_EMBEDDING)
#define K_TOKPOS KB(LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING)
#define K_MHA KB(LAM_LAYER_MULTI_HEAD_ATTENTION)
#define K_NORMALIZATION KB(LAM_LAYER_NORMALIZATION)
#define K_ALL (~(uint64_t)0)
#define K_WEIGHTED (K_DENSE | K_CONV | K_CONV1 | K_REC | K_MHA)
#define K_CONVS (K_CONV | K_CONV1)
#define K_1D (K_CONV1 | K_POOL1)

typedef struct key_rule {
    const char *key;
    uint64_t kinds;
    int how;
    size_t field; /* H_BOOL: offset of the bool in lam_layer_spec */
} key_rule;

static const key_rule rules[] = {
    /* Everywhere: identity and bookkeeping. */
    {"name", K_ALL, H_IGNORE, 0}, /* read before the rules run */
    {"trainable", K_ALL, H_TRUE, 0},
    {"dtype", K_INPUT, H_INPUT_DTYPE, 0}, /* before the rule for every layer */
    {"dtype", K_ALL, H_DTYPE, 0},
    {"dtype_policy", K_ALL, H_DTYPE, 0},
    {"batch_input_shape", K_ALL, H_IGNORE, 0}, /* handled by the reader of the input */
    {"batch_shape", K_ALL, H_IGNORE, 0},
    {"seed", K_ALL, H_IGNORE, 0},              /* lamina seeds from the model */
    {"sparse", K_INPUT, H_FALSE, 0},
    {"ragged", K_INPUT, H_FALSE, 0},
    {"optional", K_INPUT, H_FALSE, 0},
    {"input_dim", K_INPUT, H_IGNORE, 0},
    /* Weighted layers. */
    {"units", K_DENSE | K_REC, H_UNITS, 0},
    {"filters", K_CONVS, H_UNITS, 0},
    {"activation", K_DENSE | K_CONVS | K_ACTV | K_REC, H_ACT, 0},
    {"recurrent_activation", K_LSTM | K_GRU, H_RACT, 0},
    {"use_bias", K_WEIGHTED, H_BOOL, offsetof(lam_layer_spec, use_bias)},
    {"kernel_initializer", K_WEIGHTED, H_GLOROT, 0},
    {"bias_initializer", K_WEIGHTED, H_ZEROS, 0},
    {"recurrent_initializer", K_REC, H_ORTHO, 0},
    {"kernel_regularizer", K_WEIGHTED, H_NULL, 0},
    {"bias_regularizer", K_WEIGHTED, H_NULL, 0},
    {"recurrent_regularizer", K_REC, H_NULL, 0},
    {"activity_regularizer", K_ALL & ~K_INPUT, H_NULL, 0},
    {"kernel_constraint", K_WEIGHTED, H_NULL, 0},
    {"bias_constraint", K_WEIGHTED, H_NULL, 0},
    {"recurrent_constraint", K_REC, H_NULL, 0},
    {"quantization_config", K_WEIGHTED, H_NULL, 0},
    {"lora_rank", K_WEIGHTED, H_NULL, 0},
    /* Convolution and pooling. */
    {"kernel_size", K_CONVS, H_KERNEL, 0},
    {"strides", K_CONVS | K_POOL, H_STRIDES, 0},
    {"pool_size", K_POOL, H_POOL, 0},
    {"padding", K_CONVS | K_POOL, H_PADDING, 0},
    {"data_format", K_CONVS | K_POOL | K_FLAT | K_GLOBAL | K_ZPAD | K_UP, H_CHLAST, 0},
    {"dilation_rate", K_CONVS, H_ONES, 0},
    {"groups", K_CONVS, H_ONE, 0},
    {"keepdims", K_GLOBAL, H_FALSE, 0},
    /* Dropout. */
    {"rate", K_DROP, H_RATE, 0},
    {"noise_shape", K_DROP, H_NULL, 0},
    /* Recurrent layers. */
    {"return_sequences", K_REC, H_BOOL, offsetof(lam_layer_spec, return_sequences)},
    {"return_state", K_REC, H_BOOL, offsetof(lam_layer_spec, return_state)},
    {"go_backwards", K_REC, H_BOOL, offsetof(lam_layer_spec, go_backwards)},
    {"unit_forget_bias", K_LSTM, H_BOOL, offsetof(lam_layer_spec, unit_forget_bias)},
    {"reset_after", K_GRU, H_BOOL, offsetof(lam_layer_spec, reset_after)},
    {"dropout", K_REC, H_ZERO, 0},
    {"recurrent_dropout", K_REC, H_ZERO, 0},
    {"stateful", K_REC, H_FALSE, 0},
    {"time_major", K_REC, H_FALSE, 0},   /* true would swap the batch and time axes */
    {"unroll", K_REC, H_IGNORE, 0},      /* same arithmetic either way */
    {"implementation", K_REC, H_IGNORE, 0},
    /* What a masked step outputs; lamina's recurrent layers do not skip
     * masked steps yet (docs/ENGINE.md, "Masks"), so it changes nothing. */
    {"zero_output_for_mask", K_REC | K_BIDI, H_IGNORE, 0},
    {"use_cudnn", K_LSTM | K_GRU, H_IGNORE, 0},
    /* Merging and shapes. */
    {"axis", K_CONCAT | K_NORM | K_NORMALIZATION, H_AXIS, 0},
    {"target_shape", KB(LAM_LAYER_RESHAPE), H_TARGET, 0},
    {"dims", KB(LAM_LAYER_PERMUTE), H_DIMS, 0},
    {"n", KB(LAM_LAYER_REPEAT_VECTOR), H_REPEATS, 0},
    /* Normalisation. */
    {"momentum", K_BN, H_MOMENTUM, 0},
    {"epsilon", K_NORM, H_EPSILON, 0},
    {"center", K_NORM, H_BOOL, offsetof(lam_layer_spec, center)},
    {"scale", K_NORM, H_BOOL, offsetof(lam_layer_spec, scale)},
    {"beta_initializer", K_NORM, H_ZEROS, 0},
    {"gamma_initializer", K_NORM, H_ONESINIT, 0},
    {"moving_mean_initializer", K_BN, H_ZEROS, 0},
    {"moving_variance_initializer", K_BN, H_ONESINIT, 0},
    {"beta_regularizer", K_NORM, H_NULL, 0},
    {"gamma_regularizer", K_NORM, H_NULL, 0},
    {"beta_constraint", K_NORM, H_NULL, 0},
    {"gamma_constraint", K_NORM, H_NULL, 0},
    {"synchronized", K_BN, H_IGNORE, 0},   /* across devices; lamina runs on one */
    {"fused", K_BN, H_IGNORE, 0},          /* tf.keras 2: a kernel choice, same result */
    {"renorm", K_BN, H_FALSE, 0},
    {"renorm_clipping", K_BN, H_IGNORE, 0}, /* used only with renorm */
    {"renorm_momentum", K_BN, H_IGNORE, 0},
    {"virtual_batch_size", K_BN, H_NULL, 0},
    {"adjustment", K_BN, H_NULL, 0},
    {"rms_scaling", K_LN, H_FALSE, 0},
    /* Normalization: its statistics are weights (adapted), never config values. */
    {"invert", K_NORMALIZATION, H_BOOL, offsetof(lam_layer_spec, invert)},
    {"mean", K_NORMALIZATION, H_ADAPTED, 0},
    {"variance", K_NORMALIZATION, H_ADAPTED, 0},
    /* Padding, upsampling. */
    {"padding", K_ZPAD, H_PAD2D, 0},
    {"size", K_UP, H_SIZE, 0},
    {"interpolation", K_UP, H_NEAREST, 0},
    /* Bidirectional: "backward_layer" is checked once "layer" is known. */
    {"layer", K_BIDI, H_WRAPPED, 0},
    {"backward_layer", K_BIDI, H_IGNORE, 0},
    {"merge_mode", K_BIDI, H_MERGE, 0},
    /* Embedding. */
    {"input_dim", K_EMB, H_INPUT_DIM, 0},
    {"output_dim", K_EMB, H_UNITS, 0},
    {"embeddings_initializer", K_EMB | K_TOKPOS, H_UNIFORM, 0},
    {"embeddings_regularizer", K_EMB, H_NULL, 0},
    {"embeddings_constraint", K_EMB, H_NULL, 0},
    {"mask_zero", K_EMB | K_TOKPOS, H_BOOL, offsetof(lam_layer_spec, mask_zero)},
    {"input_length", K_EMB, H_IGNORE, 0}, /* tf.keras 2: the input shape says it */
    {"lora_rank", K_EMB, H_NULL, 0},
    /* keras_hub's PositionEmbedding and TokenAndPositionEmbedding. */
    {"sequence_length", K_POS | K_TOKPOS, H_SEQLEN, 0},
    {"initializer", K_POS, H_GLOROT, 0},
    {"vocabulary_size", K_TOKPOS, H_INPUT_DIM, 0},
    {"embedding_dim", K_TOKPOS, H_UNITS, 0},
    {"tie_weights", K_TOKPOS, H_TIED, 0},
    /* MultiHeadAttention. Its call options (use_causal_mask, key,
     * attention_mask) are in the functional model's inbound_nodes. */
    {"num_heads", K_MHA, H_HEADS, 0},
    {"key_dim", K_MHA, H_KEY_DIM, 0},
    {"value_dim", K_MHA, H_VALUE_DIM, 0},
    {"dropout", K_MHA, H_RATE, 0},
    {"output_shape", K_MHA, H_OUTPUT_SHAPE, 0},
    {"attention_axes", K_MHA, H_ATTENTION_AXES, 0},
    {"use_gate", K_MHA, H_FALSE, 0},
    {"sliding_window", K_MHA, H_NULL, 0},
    {"flash_attention", K_MHA, H_IGNORE, 0},        /* a kernel choice, same result */
    {"softmax_robust_masking", K_MHA, H_FALSE, 0},  /* tf.keras 2 */
    {"query_shape", K_MHA, H_IGNORE, 0},            /* tf.keras 2: the inputs say it */
    {"key_shape", K_MHA, H_IGNORE, 0},
    {"value_shape", K_MHA, H_IGNORE, 0},
};

/* Every Keras class lamina reads, with Keras's aliases; the first entry of
 * a kind is the name lamina writes. */
static const struct { const char *cls; lam_layer_kind kind; } classes[] = {
    {"InputLayer", LAM_LAYER_INPUT},
    {"Dense", LAM_LAYER_DENSE},
    {"Conv2D", LAM_LAYER_CONV2D},          {"Convolution2D", LAM_LAYER_CONV2D},
    {"MaxPooling2D", LAM_LAYER_MAXPOOL2D}, {"MaxPool2D", LAM_LAYER_MAXPOOL2D},
    {"AveragePooling2D", LAM_LAYER_AVGPOOL2D}, {"AvgPool2D", LAM_LAYER_AVGPOOL2D},
    {"Flatten", LAM_LAYER_FLATTEN},
    {"Activation", LAM_LAYER_ACTIVATION},
    {"Dropout", LAM_LAYER_DROPOUT},
    {"LSTM", LAM_LAYER_LSTM},
    {"GRU", LAM_LAYER_GRU},
    {"SimpleRNN", LAM_LAYER_SIMPLERNN},
    {"Add", LAM_LAYER_ADD},
    {"Subtract", LAM_LAYER_SUBTRACT},
    {"Multiply", LAM_LAYER_MULTIPLY},
    {"Average", LAM_LAYER_AVERAGE},
    {"Maximum", LAM_LAYER_MAXIMUM},
    {"Minimum", LAM_LAYER_MINIMUM},
    {"Concatenate", LAM_LAYER_CONCATENATE},
    {"Reshape", LAM_LAYER_RESHAPE},
    {"Permute", LAM_LAYER_PERMUTE},
    {"RepeatVector", LAM_LAYER_REPEAT_VECTOR},
    {"BatchNormalization", LAM_LAYER_BATCH_NORM},
    {"LayerNormalization", LAM_LAYER_LAYER_NORM},
    {"Normalization", LAM_LAYER_NORMALIZATION},
    {"Conv1D", LAM_LAYER_CONV1D},          {"Convolution1D", LAM_LAYER_CONV1D},
    {"MaxPooling1D", LAM_LAYER_MAXPOOL1D}, {"MaxPool1D", LAM_LAYER_MAXPOOL1D},
    {"AveragePooling1D", LAM_LAYER_AVGPOOL1D}, {"AvgPool1D", LAM_LAYER_AVGPOOL1D},
    {"GlobalAveragePooling1D", LAM_LAYER_GLOBAL_AVGPOOL1D},
    {"GlobalAvgPool1D", LAM_LAYER_GLOBAL_AVGPOOL1D},
    {"GlobalAveragePooling2D", LAM_LAYER_GLOBAL_AVGPOOL2D},
    {"GlobalAvgPool2D", LAM_LAYER_GLOBAL_AVGPOOL2D},
    {"GlobalMaxPooling1D", LAM_LAYER_GLOBAL_MAXPOOL1D},
    {"GlobalMaxPool1D", LAM_LAYER_GLOBAL_MAXPOOL1D},
    {"GlobalMaxPooling2D", LAM_LAYER_GLOBAL_MAXPOOL2D},
    {"GlobalMaxPool2D", LAM_LAYER_GLOBAL_MAXPOOL2D},
    {"ZeroPadding2D", LAM_LAYER_ZERO_PADDING2D},
    {"UpSampling2D", LAM_LAYER_UPSAMPLING2D},
    {"Bidirectional", LAM_LAYER_BIDIRECTIONAL},
    {"Embedding", LAM_LAYER_EMBEDDING},
    /* keras_hub's (keras_nlp's before it): Keras 3 writes the class name
     * with registered_name "keras_hub>PositionEmbedding"; Keras 2 wrote the
     * registered name as the class name. */
    {"PositionEmbedding", LAM_LAYER_POSITION_EMBEDDING},
    {"keras_hub>PositionEmbedding", LAM_LAYER_POSITION_EMBEDDING},
    {"keras_nlp>PositionEmbedding", LAM_LAYER_POSITION_EMBEDDING},
    {"TokenAndPositionEmbedding", LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING},
    {"keras_hub>TokenAndPositionEmbedding", LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING},
    {"keras_nlp>TokenAndPositionEmbedding", LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING},
    {"MultiHeadAttention", LAM_LAYER_MULTI_HEAD_ATTENTION},
};

/* The Keras 3 module and registered name of the layers that are not
 * Keras's own (NULL module: "keras.layers", registered_name null). */
static const struct { lam_layer_kind kind; const char *module, *registered; } packaged[] = {
    {LAM_LAYER_POSITION_EMBEDDING, "keras_hub.src.layers.modeling.position_embedding",
     "keras_hub>PositionEmbedding"},
    {LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING,
     "keras_hub.src.layers.modeling.token_and_position_embedding",
     "keras_hub>TokenAndPositionEmbedding"},
};

static int packaged_index(lam_layer_kind kind)
{
    for (size_t i = 0; i < sizeof packaged / sizeof packaged[0]; i++)
        if (packaged[i].kind == kind) return (int)i;
    return -1;
}

/* A layer's registered_name: null for Keras's own layers; for keras_hub's,
 * its registered name (or keras_nlp's). A "package>Class" of any other
 * package names a custom class that merely shares lamina's class name. */
static bool registered_name_ok(lam_layer_kind kind, const char *cls, const cJSON *v)
{
    if (is_null(v)) return true;
    if (!cJSON_IsString(v)) return false;
    if (packaged_index(kind) < 0) return !strchr(v->valuestring, '>');
    const char *bare = strchr(cls, '>') ? strchr(cls, '>') + 1 : cls;
    char hub[96], nlp[96];
    snprintf(hub, sizeof hub, "keras_hub>%s", bare);
    snprintf(nlp, sizeof nlp, "keras_nlp>%s", bare);
    return strcmp(v->valuestring, hub) == 0 || strcmp(v->valuestring, nlp) == 0;
}

/* Keras's class name of a kind, whether or not this build has its op. */
static const char *class_of(lam_layer_kind kind)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (classes[i].kind == kind) return classes[i].cls;
    return "?";
}

static bool is_1d(lam_layer_kind k) { return (KB(k) & K_1D) != 0; }

/* 1-D layers: an int or a list of one (kernel_size 3 or [3]); the second
 * entry of the pair is 1, the size of the absent axis. */
static bool get_size(lam_layer_kind k, const cJSON *v, int lo, int hi, int out[2])
{
    if (!is_1d(k)) return get_pair(v, lo, hi, out);
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1) v = cJSON_GetArrayItem(v, 0);
    if (!get_int(v, lo, hi, &out[0])) return false;
    out[1] = 1;
    return true;
}

static const char *size_expected(lam_layer_kind k)
{
    return is_1d(k) ? "expected a positive integer or a list of one"
                    : "expected a positive integer or a list of two";
}

/* An axis of the batch-including tensor, as Keras counts it: an int or a
 * list of one int (LayerNormalization's form; tf.keras 2 also writes
 * BatchNormalization's axis as [3]). 0, the batch axis, is no feature axis. */
static bool get_axis(const cJSON *v, int *out)
{
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1) v = cJSON_GetArrayItem(v, 0);
    return get_int(v, -5, 4, out) && *out != 0;
}

/* Keras 3 writes a pair of pairs; tf.keras 2 the same; users also give an
 * int (all four sides) or a pair (symmetric height, width). */
static bool get_pad2d(const cJSON *v, int pad[4])
{
    int p[2], q[2];
    const int hi = 1 << 16;
    if (get_int(v, 0, hi, &p[0])) {
        pad[0] = pad[1] = pad[2] = pad[3] = p[0];
        return true;
    }
    if (get_pair(v, 0, hi, p)) {
        pad[0] = pad[1] = p[0];
        pad[2] = pad[3] = p[1];
        return true;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2) return false;
    const cJSON *h = cJSON_GetArrayItem(v, 0), *w = cJSON_GetArrayItem(v, 1);
    if (!cJSON_IsArray(h) || !cJSON_IsArray(w) || !get_pair(h, 0, hi, p) || !get_pair(w, 0, hi, q))
        return false;
    pad[0] = p[0];
    pad[1] = p[1];
    pad[2] = q[0];
    pad[3] = q[1];
    return true;
}

static lam_status parse_layer_obj(const char *src, const char *where, const cJSON *layer,
                                  lam_layer_spec *s, const cJSON **cfg_out);

/* Bidirectional's "layer": a recurrent layer whose settings become the
 * wrapper's (units, activations, ...), its kind `wrapped`. */
static lam_status get_wrapped(const lctx *c, const cJSON *v, lam_layer_spec *s)
{
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(v, "class_name");
    bool rec = false;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        rec |= is_str(cn, classes[i].cls) && (KB(classes[i].kind) & K_REC);
    if (!rec)
        return reject(c, LAM_ERR_UNSUPPORTED, "layer.class_name", cn,
                      "lamina wraps LSTM, GRU or SimpleRNN");
    /* Messages about the wrapped layer name the wrapper first. */
    char src[320];
    snprintf(src, sizeof src, "%.200s: layer \"%.64s\" (Bidirectional)", c->src, c->name);
    lam_layer_spec w;
    const cJSON *wcfg = NULL;
    LAM_TRY(parse_layer_obj(src, "layer", v, &w, &wcfg));
    if (w.return_state)
        return reject(c, LAM_ERR_UNSUPPORTED, "layer.config.return_state",
                      cJSON_GetObjectItemCaseSensitive(wcfg, "return_state"),
                      "lamina supports only false (one output per layer)");
    if (w.go_backwards)
        return reject(c, LAM_ERR_UNSUPPORTED, "layer.config.go_backwards",
                      cJSON_GetObjectItemCaseSensitive(wcfg, "go_backwards"),
                      "lamina supports only false (the backward direction is the wrapper's)");
    s->wrapped = w.kind;
    s->units = w.units;
    s->activation = w.activation;
    s->recurrent_activation = w.recurrent_activation;
    s->use_bias = w.use_bias;
    s->return_sequences = w.return_sequences;
    s->unit_forget_bias = w.unit_forget_bias;
    s->reset_after = w.reset_after;
    return LAM_OK;
}

/* Keras 3 writes the backward layer it derived from "layer": the same
 * settings, going backwards. A different one is a layer lamina lacks. */
static lam_status check_backward(const lctx *c, const cJSON *v, const lam_layer_spec *s)
{
    if (is_null(v)) return LAM_OK;
    char src[320];
    snprintf(src, sizeof src, "%.200s: layer \"%.64s\" (Bidirectional)", c->src, c->name);
    lam_layer_spec b;
    const cJSON *bcfg = NULL;
    LAM_TRY(parse_layer_obj(src, "backward_layer", v, &b, &bcfg));
    bool same = b.kind == s->wrapped && b.units == s->units && b.activation == s->activation &&
                b.use_bias == s->use_bias && b.return_sequences == s->return_sequences &&
                !b.return_state && b.go_backwards &&
                (b.kind == LAM_LAYER_SIMPLERNN || b.recurrent_activation == s->recurrent_activation) &&
                (b.kind != LAM_LAYER_LSTM || b.unit_forget_bias == s->unit_forget_bias) &&
                (b.kind != LAM_LAYER_GRU || b.reset_after == s->reset_after);
    return same ? LAM_OK
                : reject(c, LAM_ERR_UNSUPPORTED, "backward_layer", v,
                         "lamina supports only the mirror of \"layer\" (same settings, "
                         "go_backwards true)");
}

static lam_status apply_rule(const lctx *c, const key_rule *r, const cJSON *v, lam_layer_spec *s)
{
    const char *key = r->key;
    int pair[2], x;
    switch (r->how) {
    case H_IGNORE:
        return LAM_OK;
    case H_TRUE:
        return cJSON_IsTrue(v) || is_null(v) ? LAM_OK
               : reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina trains every layer (true only)");
    case H_FALSE:
        return cJSON_IsFalse(v) || is_null(v) ? LAM_OK
               : reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports only false");
    case H_NULL:
        return is_null(v) ? LAM_OK
               : reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports only null");
    case H_ADAPTED:
        return is_null(v) ? LAM_OK
               : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                        "lamina reads null here: the statistics are the layer's weights, set "
                        "by adapting it (lam_model_adapt_normalization) or read with them");
    case H_ZERO:
        return is_null(v) || (cJSON_IsNumber(v) && v->valuedouble == 0.0)
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports only 0.0");
    case H_ONE:
        return cJSON_IsNumber(v) && v->valuedouble == 1.0
                   ? LAM_OK : reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports only 1");
    case H_ONES:
        return get_size(s->kind, v, 1, 1, pair)
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            is_1d(s->kind) ? "lamina supports only 1 or [1]"
                                           : "lamina supports only 1 or [1, 1]");
    case H_CHLAST:
        return is_null(v) || is_str(v, "channels_last")
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina supports only \"channels_last\" (NHWC)");
    case H_DTYPE:
        return dtype_ok(v) ? LAM_OK
               : reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports only float32");
    case H_INPUT_DTYPE:
        /* Token ids (keras.Input(dtype="int32") before an Embedding) travel as
         * float32, exact for ids below 2^24 (Embedding's largest input_dim). */
        return dtype_ok(v) || is_str(v, "int32") || is_str(v, "int64")
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina supports float32, and int32 or int64 ids (read as float32)");
    case H_GLOROT:
        return is_null(v) || init_is(v, "GlorotUniform", "glorot_uniform")
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina initialises kernels with GlorotUniform only");
    case H_ZEROS:
        return is_null(v) || init_is(v, "Zeros", "zeros")
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina initialises it with Zeros only");
    case H_ONESINIT:
        return is_null(v) || init_is(v, "Ones", "ones")
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina initialises it with Ones only");
    case H_ORTHO:
        return is_null(v) || init_is(v, "Orthogonal", "orthogonal")
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina initialises recurrent kernels with Orthogonal(gain=1) only");
    case H_UNITS:
        return get_int(v, 1, 1 << 24, &s->units)
                   ? LAM_OK
                   : reject(c, LAM_ERR_FORMAT, key, v, "expected a positive integer");
    case H_KERNEL:
        return get_size(s->kind, v, 1, 1 << 16, s->kernel)
                   ? LAM_OK : reject(c, LAM_ERR_FORMAT, key, v, size_expected(s->kind));
    case H_STRIDES:
        if (is_null(v) && !(KB(s->kind) & K_CONVS)) {
            s->strides[0] = s->strides[1] = 0; /* Keras: None = the pool size */
            return LAM_OK;
        }
        return get_size(s->kind, v, 1, 1 << 16, s->strides)
                   ? LAM_OK : reject(c, LAM_ERR_FORMAT, key, v, size_expected(s->kind));
    case H_POOL:
        return get_size(s->kind, v, 1, 1 << 16, s->pool)
                   ? LAM_OK : reject(c, LAM_ERR_FORMAT, key, v, size_expected(s->kind));
    case H_PADDING:
        if (cJSON_IsString(v) && strcasecmp(v->valuestring, "valid") == 0) s->padding = LAM_PAD_VALID;
        else if (cJSON_IsString(v) && strcasecmp(v->valuestring, "same") == 0) s->padding = LAM_PAD_SAME;
        else return reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports \"valid\" and \"same\"");
        return LAM_OK;
    case H_ACT:
        return get_activation(c, key, v, &s->activation);
    case H_RACT:
        return get_activation(c, key, v, &s->recurrent_activation);
    case H_BOOL:
        if (!cJSON_IsBool(v)) return reject(c, LAM_ERR_FORMAT, key, v, "expected true or false");
        *(bool *)((char *)s + r->field) = cJSON_IsTrue(v);
        return LAM_OK;
    case H_RATE:
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 1))
            return reject(c, LAM_ERR_FORMAT, key, v, "expected a number in [0, 1)");
        s->rate = (float)v->valuedouble;
        return LAM_OK;
    case H_AXIS:
        if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 1)
            return reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports a single axis");
        return get_axis(v, &s->axis)
                   ? LAM_OK
                   : reject(c, LAM_ERR_FORMAT, key, v,
                            "expected an axis of the batched tensor: -5 to 4, not 0 (the "
                            "batch axis)");
    case H_MOMENTUM:
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
            return reject(c, LAM_ERR_FORMAT, key, v, "expected a number in [0, 1]");
        s->momentum = (float)v->valuedouble;
        return LAM_OK;
    case H_EPSILON:
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble < 1e30))
            return reject(c, LAM_ERR_FORMAT, key, v, "expected a positive number");
        s->epsilon = (float)v->valuedouble;
        return s->epsilon > 0 ? LAM_OK
               : reject(c, LAM_ERR_FORMAT, key, v, "expected a positive float32 number");
    case H_TARGET: {
        int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0, unknown = 0;
        if (n < 1 || n > 4)
            return reject(c, LAM_ERR_UNSUPPORTED, key, v, "expected a list of 1 to 4 dimensions");
        for (int i = 0; i < n; i++) {
            const cJSON *d = cJSON_GetArrayItem(v, i);
            if (cJSON_IsNumber(d) && d->valuedouble == -1) {
                s->shape[i] = -1;
                unknown++;
            } else if (get_int(d, 1, 1 << 24, &x)) {
                s->shape[i] = x;
            } else {
                return reject(c, LAM_ERR_FORMAT, key, v,
                              "expected positive dimensions (one may be -1)");
            }
        }
        if (unknown > 1)
            return reject(c, LAM_ERR_FORMAT, key, v, "expected at most one -1 dimension");
        s->rank = n;
        return LAM_OK;
    }
    case H_DIMS: {
        int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
        bool seen[5] = {false};
        if (n < 1 || n > 4)
            return reject(c, LAM_ERR_UNSUPPORTED, key, v, "expected a list of 1 to 4 axes");
        for (int i = 0; i < n; i++) {
            if (!get_int(cJSON_GetArrayItem(v, i), 1, n, &x) || seen[x])
                return reject(c, LAM_ERR_FORMAT, key, v,
                              "expected a permutation of 1..n (1-based, the batch axis "
                              "excluded)");
            seen[x] = true;
            s->dims[i] = x;
        }
        return LAM_OK;
    }
    case H_REPEATS:
        return get_int(v, 1, 1 << 24, &s->repeats)
                   ? LAM_OK
                   : reject(c, LAM_ERR_FORMAT, key, v, "expected a positive integer");
    case H_PAD2D:
        return get_pad2d(v, s->pad)
                   ? LAM_OK
                   : reject(c, LAM_ERR_FORMAT, key, v,
                            "expected an int, [height, width] or [[top, bottom], [left, "
                            "right]] of integers >= 0");
    case H_SIZE:
        return get_pair(v, 1, 1 << 16, s->size)
                   ? LAM_OK
                   : reject(c, LAM_ERR_FORMAT, key, v,
                            "expected a positive integer or a list of two");
    case H_NEAREST:
        return is_null(v) || is_str(v, "nearest")
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports only \"nearest\"");
    case H_WRAPPED:
        return get_wrapped(c, v, s);
    case H_INPUT_DIM:
        return get_int(v, 1, 1 << 24, &s->input_dim)
                   ? LAM_OK
                   : reject(c, LAM_ERR_FORMAT, key, v, "expected a positive integer");
    case H_SEQLEN:
        return get_int(v, 1, 1 << 24, &s->sequence_length)
                   ? LAM_OK
                   : reject(c, LAM_ERR_FORMAT, key, v, "expected a positive integer");
    case H_TIED:
        /* false gives the token embedding a second, untied table for its
         * reverse projection, a weight lamina's layer does not have. */
        return is_null(v) || cJSON_IsTrue(v)
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina supports only true (one table, no separate "
                            "reverse_embeddings)");
    case H_UNIFORM:
        return is_null(v) || uniform_005(v)
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina initialises embeddings with \"uniform\" "
                            "(RandomUniform(-0.05, 0.05)) only");
    case H_HEADS:
        return get_int(v, 1, 4096, &s->num_heads)
                   ? LAM_OK : reject(c, LAM_ERR_FORMAT, key, v, "expected an integer 1 to 4096");
    case H_KEY_DIM:
        return get_int(v, 1, 1 << 16, &s->key_dim)
                   ? LAM_OK : reject(c, LAM_ERR_FORMAT, key, v, "expected an integer 1 to 65536");
    case H_VALUE_DIM:
        if (is_null(v)) {
            s->value_dim = 0; /* key_dim */
            return LAM_OK;
        }
        return get_int(v, 1, 1 << 16, &s->value_dim)
                   ? LAM_OK
                   : reject(c, LAM_ERR_FORMAT, key, v, "expected null or an integer 1 to 65536");
    case H_OUTPUT_SHAPE:
        /* None (the query's last axis), an int, or (Keras 3.15) a list of one. */
        if (is_null(v)) {
            s->output_dim = 0;
            return LAM_OK;
        }
        if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1) v = cJSON_GetArrayItem(v, 0);
        return get_int(v, 1, 1 << 24, &s->output_dim)
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina supports null, a positive integer or a list of one (the "
                            "output's last axis)");
    case H_ATTENTION_AXES:
        /* Attention over the sequence axis: axis 1 of (batch, T, features). */
        if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 1) v = cJSON_GetArrayItem(v, 0);
        return is_null(v) || (get_int(v, -2, 1, &x) && (x == 1 || x == -2))
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina attends over the sequence axis only (null, 1 or [1])");
    case H_MERGE: {
        static const char *const modes[] = {"concat", "sum", "ave", "mul"};
        for (int i = 0; i < 4; i++)
            if (is_str(v, modes[i])) {
                s->merge_mode = (lam_merge_mode)i;
                return LAM_OK;
            }
        return reject(c, LAM_ERR_UNSUPPORTED, key, v,
                      "lamina supports \"concat\", \"sum\", \"ave\" and \"mul\" (null, two "
                      "outputs, is not supported)");
    }
    }
    return LAM_OK;
}

/* [null, d1, ..., dk] -> the per-sample shape (the batch entry is ignored:
 * a fixed batch size does not change the architecture). */
static lam_status get_batch_shape(const lctx *c, const char *key, const cJSON *v,
                                  lam_layer_spec *s)
{
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (n < 2 || n > 5)
        return reject(c, LAM_ERR_UNSUPPORTED, key, v,
                      "expected [null, d1, ..., dk] with 1 to 4 per-sample dimensions");
    s->rank = n - 1;
    for (int i = 1; i < n; i++) {
        const cJSON *d = cJSON_GetArrayItem(v, i);
        int x;
        if (is_null(d))
            return reject(c, LAM_ERR_UNSUPPORTED, key, v,
                          "lamina needs every per-sample dimension fixed (no null after the "
                          "batch entry)");
        if (!get_int(d, 1, 1 << 24, &x))
            return reject(c, LAM_ERR_FORMAT, key, v, "expected positive integer dimensions");
        s->shape[i - 1] = x;
    }
    return LAM_OK;
}

static lam_status set_name(const lctx *c, const cJSON *cfg, lam_layer_spec *s)
{
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cfg, "name");
    if (is_null(nm)) return LAM_OK; /* automatic name */
    if (!cJSON_IsString(nm) || strlen(nm->valuestring) >= sizeof s->name)
        return reject(c, LAM_ERR_FORMAT, "name", nm, "expected a string of at most 63 bytes");
    snprintf(s->name, sizeof s->name, "%s", nm->valuestring);
    return LAM_OK;
}

/* Keys a kind cannot do without: their absence is a broken file, not a
 * default. A NULL-terminated list (empty for most kinds). */
static const char *const *required_keys(lam_layer_kind k)
{
    static const char *const units[] = {"units", NULL}, *const filters[] = {"filters", NULL},
        *const activation[] = {"activation", NULL}, *const target[] = {"target_shape", NULL},
        *const dims[] = {"dims", NULL}, *const n[] = {"n", NULL}, *const layer[] = {"layer", NULL},
        *const input_dim[] = {"input_dim", NULL},
        *const position[] = {"sequence_length", NULL},
        *const token_position[] = {"vocabulary_size", "sequence_length", "embedding_dim", NULL},
        *const heads[] = {"num_heads", "key_dim", NULL},
        *const none[] = {NULL};
    switch (k) {
    case LAM_LAYER_DENSE: case LAM_LAYER_LSTM: case LAM_LAYER_GRU: case LAM_LAYER_SIMPLERNN:
        return units;
    case LAM_LAYER_CONV2D: case LAM_LAYER_CONV1D: return filters;
    case LAM_LAYER_ACTIVATION: return activation;
    case LAM_LAYER_RESHAPE: return target;
    case LAM_LAYER_PERMUTE: return dims;
    case LAM_LAYER_REPEAT_VECTOR: return n;
    case LAM_LAYER_BIDIRECTIONAL: return layer;
    case LAM_LAYER_EMBEDDING: return input_dim;
    case LAM_LAYER_POSITION_EMBEDDING: return position;
    case LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING: return token_position;
    case LAM_LAYER_MULTI_HEAD_ATTENTION: return heads;
    default: return none;
    }
}

/* One layer object -> a spec; *cfg_out is its config object. where names
 * the layer until its own name is known ("#3"). */
static lam_status parse_layer_obj(const char *src, const char *where, const cJSON *layer,
                                  lam_layer_spec *s, const cJSON **cfg_out)
{
    lctx c = {src, where, "?"};
    if (!cJSON_IsObject(layer))
        return lam_error(LAM_ERR_FORMAT, "%s: layer %s is not a JSON object", src, where);
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(layer, "class_name");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(layer, "config");
    if (!cJSON_IsString(cn))
        return lam_error(LAM_ERR_FORMAT, "%s: layer %s has no \"class_name\" string", src, where);
    c.cls = cn->valuestring;
    if (!cJSON_IsObject(cfg))
        return lam_error(LAM_ERR_FORMAT, "%s: layer %s (%s) has no \"config\" object", src,
                         where, c.cls);
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cfg, "name");
    if (cJSON_IsString(nm)) c.name = nm->valuestring;
    int k = -1;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(classes[i].cls, c.cls) == 0) k = (int)classes[i].kind;
    if (k < 0)
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: layer \"%s\" (%s): layer class %s is not "
                         "supported; lamina reads InputLayer, Dense, Conv1D, Conv2D, the 1-D, "
                         "2-D and global pooling layers, Flatten, Reshape, Permute, "
                         "RepeatVector, Activation, Dropout, LSTM, GRU, SimpleRNN, "
                         "Bidirectional, Add, Subtract, Multiply, Average, Maximum, Minimum, "
                         "Concatenate, BatchNormalization, LayerNormalization, Normalization, "
                         "ZeroPadding2D, "
                         "UpSampling2D, Embedding, MultiHeadAttention, and keras_hub's PositionEmbedding and "
                         "TokenAndPositionEmbedding", src, c.name, c.cls, c.cls);
    const cJSON *reg = cJSON_GetObjectItemCaseSensitive(layer, "registered_name");
    if (!registered_name_ok((lam_layer_kind)k, c.cls, reg))
        return reject(&c, LAM_ERR_UNSUPPORTED, "registered_name", reg,
                      packaged_index((lam_layer_kind)k) >= 0
                          ? "expected keras_hub's (or keras_nlp's) registered name for this "
                            "class: another package's layer of that name is not lamina's"
                          : "expected null: a custom class registered by another package is "
                            "not Keras's layer of that name");
    *s = lam_layer_defaults((lam_layer_kind)k);
    LAM_TRY(set_name(&c, cfg, s));
    for (const cJSON *it = cfg->child; it; it = it->next) {
        const key_rule *r = NULL;
        for (size_t i = 0; i < sizeof rules / sizeof rules[0] && !r; i++)
            if ((rules[i].kinds & KB(k)) && strcmp(rules[i].key, it->string) == 0) r = &rules[i];
        if (!r) {
            /* Switched-off options Keras may add are harmless; anything
             * else would change the model's behaviour. */
            if (is_null(it) || cJSON_IsFalse(it)) continue;
            char key[96];
            snprintf(key, sizeof key, "key \"%.80s\"", it->string);
            return reject(&c, LAM_ERR_UNSUPPORTED, key, it,
                          "lamina does not implement this option");
        }
        LAM_TRY(apply_rule(&c, r, it, s));
    }
    if (k == LAM_LAYER_INPUT) {
        const cJSON *bs = cJSON_GetObjectItemCaseSensitive(cfg, "batch_shape");
        const char *key = "batch_shape";
        if (!bs) {
            bs = cJSON_GetObjectItemCaseSensitive(cfg, "batch_input_shape");
            key = "batch_input_shape";
        }
        if (!bs)
            return lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" (InputLayer) has neither "
                             "batch_shape nor batch_input_shape", src, c.name);
        LAM_TRY(get_batch_shape(&c, key, bs, s));
    }
    for (const char *const *req = required_keys((lam_layer_kind)k); *req; req++)
        if (!cJSON_GetObjectItemCaseSensitive(cfg, *req))
            return lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" (%s) has no \"%s\"", src,
                             c.name, c.cls, *req);
    if (k == LAM_LAYER_BIDIRECTIONAL)
        LAM_TRY(check_backward(&c, cJSON_GetObjectItemCaseSensitive(cfg, "backward_layer"), s));
    if (k == LAM_LAYER_SIMPLERNN) s->recurrent_activation = LAM_ACT_SIGMOID; /* unused */
    *cfg_out = cfg;
    return LAM_OK;
}

static lam_status parse_layer(const char *src, int index, const cJSON *layer,
                              lam_layer_spec *s, const cJSON **cfg_out)
{
    char where[32];
    snprintf(where, sizeof where, "#%d", index);
    return parse_layer_obj(src, where, layer, s, cfg_out);
}

/* Layers lamina reads but this build cannot compute yet: said here, with
 * the layer's name, rather than as a bare kind by the model builder. */
static lam_status check_available(const char *src, const lam_layer_spec *s)
{
    const lam_op *op = lam_op_for(s->kind);
    if (s->kind == LAM_LAYER_INPUT || (op && op->build)) return LAM_OK;
    return lam_error(LAM_ERR_UNSUPPORTED, "%s: layer \"%s\" (%s): %s layers are not available "
                     "in this build (the file is read correctly; the op is missing)", src,
                     s->name[0] ? s->name : "(automatic name)", class_of(s->kind),
                     class_of(s->kind));
}

lam_status lam_layer_from_cjson(const cJSON *layer, const char *src, lam_layer_spec *s)
{
    const cJSON *cfg;
    return parse_layer_obj(src && *src ? src : "<json>", "#0", layer, s, &cfg);
}

/* The model's name and float32 check, common to both model classes. */
static lam_status model_header(const cJSON *cfg, const char *src, const char *dflt,
                               const char **name)
{
    *name = dflt;
    if (!cJSON_IsObject(cfg)) return LAM_OK;
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cfg, "name");
    if (cJSON_IsString(nm)) *name = nm->valuestring;
    if (strlen(*name) >= 64)
        return lam_error(LAM_ERR_FORMAT, "%s: model name \"%.40s...\" is longer than 63 bytes",
                         src, *name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(cfg, "dtype");
    if (!dtype_ok(dt)) {
        char val[128];
        value_str(dt, val, sizeof val);
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: model \"%s\": dtype is %s; lamina "
                         "supports only float32", src, *name, val);
    }
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(cfg, "trainable");
    if (tr && !is_null(tr) && !cJSON_IsTrue(tr))
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: model \"%s\": trainable is false; lamina "
                         "trains every layer", src, *name);
    return LAM_OK;
}

static lam_status build_sequential(const cJSON *root, const char *src, lam_model **out)
{
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
    const cJSON *layers = NULL;
    const char *name = "sequential";
    if (cJSON_IsArray(cfg)) {
        layers = cfg; /* Keras <= 2.2: config is the list of layers */
    } else if (cJSON_IsObject(cfg)) {
        layers = cJSON_GetObjectItemCaseSensitive(cfg, "layers");
        LAM_TRY(model_header(cfg, src, "sequential", &name));
    }
    if (!cJSON_IsArray(layers))
        return lam_error(LAM_ERR_FORMAT, "%s: config has no \"layers\" list", src);
    lam_model *m = lam_sequential(name);
    if (!m) return lam_error_context(LAM_ERR_NOMEM, "%s", src);
    lam_status st = LAM_OK;
    int index = 0;
    for (const cJSON *layer = layers->child; layer && st == LAM_OK; layer = layer->next, index++) {
        lam_layer_spec s;
        const cJSON *lcfg = NULL;
        st = parse_layer(src, index, layer, &s, &lcfg);
        if (st != LAM_OK) break;
        if (lam_model_num_layers(m) == 0 && s.kind != LAM_LAYER_INPUT) {
            /* tf.keras 2 without an InputLayer: the first layer carries
             * batch_input_shape; the input gets Keras's automatic name. */
            const cJSON *bs = cJSON_GetObjectItemCaseSensitive(lcfg, "batch_input_shape");
            const char *key = "batch_input_shape";
            if (!bs) {
                bs = cJSON_GetObjectItemCaseSensitive(lcfg, "batch_shape");
                key = "batch_shape";
            }
            if (!bs) {
                st = lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" (%s) is the first layer but "
                               "has no batch_input_shape, and no InputLayer precedes it: the "
                               "input shape is unknown", src, s.name, class_of(s.kind));
                break;
            }
            lam_layer_spec in = lam_layer_defaults(LAM_LAYER_INPUT);
            lctx c = {src, s.name, class_of(s.kind)};
            st = get_batch_shape(&c, key, bs, &in);
            if (st == LAM_OK) st = lam_model_add(m, &in);
            if (st != LAM_OK) {
                st = lam_error_context(st, "%s", src);
                break;
            }
        }
        st = check_available(src, &s);
        if (st == LAM_OK) st = lam_model_add(m, &s);
        else break;
        if (st != LAM_OK)
            st = lam_error_context(st, "%s: layer #%d \"%s\" (%s)", src, index,
                                   s.name[0] ? s.name : "(automatic name)", class_of(s.kind));
    }
    if (st == LAM_OK && lam_model_num_layers(m) < 2)
        st = lam_error(LAM_ERR_FORMAT, "%s: the model has %d layer(s); expected an input and at "
                       "least one more", src, lam_model_num_layers(m));
    if (st != LAM_OK) {
        lam_model_free(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

/* ------------------------------------------------------ functional models
 *
 * Every layer lists its calls ("inbound_nodes"); each call names the tensors
 * it reads as (layer, node_index, tensor_index): the output of that layer's
 * node_index-th call. The calls are made in an order where every tensor a
 * call reads exists, whatever order the file lists the layers in. */

typedef struct fref {
    int layer, node;
} fref;

typedef struct fcall {
    int nargs;
    fref *args;
    int id; /* the model node, once made (-1 before) */
} fcall;

typedef struct flayer {
    lam_layer_spec spec;
    const cJSON *obj, *cfg;
    int ncalls, done;
    fcall *calls;
} flayer;

typedef struct fgraph {
    const char *src;
    int n;
    flayer *l;
} fgraph;

static void fgraph_free(fgraph *g)
{
    for (int i = 0; g->l && i < g->n; i++) {
        for (int k = 0; k < g->l[i].ncalls; k++) lam_free(g->l[i].calls[k].args);
        lam_free(g->l[i].calls);
    }
    lam_free(g->l);
}

static int find_layer(const fgraph *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->l[i].spec.name, name) == 0) return i;
    return -1;
}

static lam_status bad_ref(const fgraph *g, const flayer *L, const char *key, const cJSON *v,
                          const char *what)
{
    lctx c = {g->src, L->spec.name, class_of(L->spec.kind)};
    return reject(&c, LAM_ERR_FORMAT, key, v, what);
}

/* [name, node_index, tensor_index(, ...)] of at most max_len entries -> a
 * reference, checked against the layers the file has. */
static lam_status parse_ref(const fgraph *g, const flayer *L, const char *key, const cJSON *h,
                            int max_len, const char *expected, fref *out)
{
    int n = cJSON_IsArray(h) ? cJSON_GetArraySize(h) : 0;
    const cJSON *nm = cJSON_GetArrayItem(h, 0);
    int node, tensor;
    if (n < 3 || n > max_len || !cJSON_IsString(nm) ||
        !get_int(cJSON_GetArrayItem(h, 1), 0, 1 << 30, &node) ||
        !get_int(cJSON_GetArrayItem(h, 2), 0, 1 << 30, &tensor))
        return bad_ref(g, L, key, h, expected);
    int j = find_layer(g, nm->valuestring);
    if (j < 0) {
        char what[160];
        snprintf(what, sizeof what, "it names layer \"%.64s\", which the model does not have",
                 nm->valuestring);
        return bad_ref(g, L, key, h, what);
    }
    int ncalls = g->l[j].spec.kind == LAM_LAYER_INPUT ? 1 : g->l[j].ncalls;
    if (node >= ncalls) {
        char what[200];
        snprintf(what, sizeof what, "node index %d, but layer \"%s\" is called %d time(s)",
                 node, g->l[j].spec.name, ncalls);
        return bad_ref(g, L, key, h, what);
    }
    if (tensor != 0)
        return bad_ref(g, L, key, h,
                       "tensor index must be 0: every lamina layer has a single output");
    out->layer = j;
    out->node = node;
    return LAM_OK;
}

/* [name, node_index, tensor_index(, kwargs)] -> a reference. kwargs
 * (tf.keras 2) must be switched off. */
static lam_status parse_history(const fgraph *g, const flayer *L, const char *key,
                                const cJSON *h, bool kwargs_allowed, fref *out)
{
    LAM_TRY(parse_ref(g, L, key, h, kwargs_allowed ? 4 : 3,
                      kwargs_allowed ? "expected [layer name, node index, tensor index, "
                                       "{kwargs}]"
                                     : "expected [layer name, node index, tensor index]",
                      out));
    if (cJSON_GetArraySize(h) == 4) {
        const cJSON *kw = cJSON_GetArrayItem(h, 3);
        if (!is_null(kw) && !cJSON_IsObject(kw))
            return bad_ref(g, L, key, h, "expected a kwargs object as the 4th entry");
        for (const cJSON *it = kw ? kw->child : NULL; it; it = it->next)
            if (!is_null(it) && !(strcmp(it->string, "training") == 0 && cJSON_IsFalse(it))) {
                char k2[200];
                snprintf(k2, sizeof k2, "%s kwargs \"%.60s\"", key, it->string);
                lctx c = {g->src, L->spec.name, class_of(L->spec.kind)};
                return reject(&c, LAM_ERR_UNSUPPORTED, k2, it,
                              "lamina supports only null (and training false)");
            }
    }
    return LAM_OK;
}

/* Keras 3's {"class_name": "__keras_tensor__", "config": {"keras_history": [...]}}. */
static lam_status parse_keras_tensor(const fgraph *g, const flayer *L, const char *key,
                                     const cJSON *t, fref *out)
{
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(t, "class_name");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(t, "config"), "keras_history");
    if (!is_str(cn, "__keras_tensor__") || !h)
        return bad_ref(g, L, key, t,
                       "expected a {\"class_name\": \"__keras_tensor__\", \"config\": "
                       "{\"keras_history\": [...]}} tensor (lamina supports only tensor "
                       "arguments)");
    return parse_history(g, L, key, h, false, out);
}

/* MultiHeadAttention's call: query, value[, key] positional or by name, key
 * and attention_mask by name, and use_causal_mask. Keras 3 writes
 * {"args": [query, value], "kwargs": {"key": ..., "attention_mask": ...,
 * "use_causal_mask": true}}; tf.keras 2 [[[query, 0, 0, {"value": [...],
 * "key": [...], "attention_mask": [...], "use_causal_mask": true}]]]. lamina
 * keeps the options with the layer (its inputs: query, value, key, mask),
 * so every call of a shared layer must make the same ones. */
static lam_status parse_attention_call(const fgraph *g, flayer *L, int index,
                                       const cJSON *node, fcall *call)
{
    static const char *const names[4] = {"query", "value", "key", "attention_mask"};
    char key[64];
    snprintf(key, sizeof key, "inbound_nodes[%d]", index);
    lctx c = {g->src, L->spec.name, "MultiHeadAttention"};
    const bool keras3 = cJSON_IsObject(node);
    const cJSON *t[4] = {NULL, NULL, NULL, NULL}, *kwargs = NULL;
    if (keras3) {
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(node, "args");
        kwargs = cJSON_GetObjectItemCaseSensitive(node, "kwargs");
        const int n = cJSON_IsArray(args) ? cJSON_GetArraySize(args) : -1;
        if (n < 0 || n > 3)
            return bad_ref(g, L, key, args, "expected \"args\": [query, value(, key)]");
        for (int i = 0; i < n; i++) t[i] = cJSON_GetArrayItem(args, i);
    } else {
        const cJSON *h = cJSON_IsArray(node) && cJSON_GetArraySize(node) == 1
                             ? cJSON_GetArrayItem(node, 0) : NULL;
        if (!cJSON_IsArray(h) || cJSON_GetArraySize(h) != 4)
            return bad_ref(g, L, key, node, "expected [[query layer, node index, tensor "
                           "index, {\"value\": [...], ...}]] (tf.keras 2)");
        t[0] = h;
        kwargs = cJSON_GetArrayItem(h, 3);
    }
    if (kwargs && !is_null(kwargs) && !cJSON_IsObject(kwargs))
        return bad_ref(g, L, key, kwargs, "expected the keyword arguments as an object");
    bool causal = false;
    for (const cJSON *it = kwargs ? kwargs->child : NULL; it; it = it->next) {
        char k2[128];
        snprintf(k2, sizeof k2, "%s kwargs \"%.60s\"", key, it->string);
        int slot = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(it->string, names[i]) == 0) slot = i;
        if (slot >= 0 && !is_null(it)) {
            if (t[slot]) return reject(&c, LAM_ERR_FORMAT, k2, it, "given twice");
            t[slot] = it;
        } else if (strcmp(it->string, "use_causal_mask") == 0) {
            if (!is_null(it) && !cJSON_IsBool(it))
                return reject(&c, LAM_ERR_FORMAT, k2, it, "expected true or false");
            causal = cJSON_IsTrue(it);
        } else if (!is_null(it) && !((strcmp(it->string, "training") == 0 ||
                                      strcmp(it->string, "return_attention_scores") == 0) &&
                                     cJSON_IsFalse(it))) {
            /* query_mask, value_mask, key_mask: padding masks lamina lacks here */
            return reject(&c, LAM_ERR_UNSUPPORTED, k2, it,
                          "lamina supports key, attention_mask, use_causal_mask (and null, "
                          "training false, return_attention_scores false)");
        }
    }
    if (!t[0] || !t[1])
        return bad_ref(g, L, key, node, t[0] ? "the call has no value tensor"
                                              : "the call has no query tensor");
    const bool has_key = t[2] != NULL, has_mask = t[3] != NULL;
    if (index == 0) {
        L->spec.use_causal_mask = causal;
        L->spec.key_input = has_key;
        L->spec.mask_input = has_mask;
    } else if (L->spec.use_causal_mask != causal || L->spec.key_input != has_key ||
               L->spec.mask_input != has_mask) {
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: layer \"%s\" (MultiHeadAttention): %s "
                         "differs from the layer's first call in use_causal_mask, key or "
                         "attention_mask; lamina keeps these with the layer (make it two "
                         "layers)", g->src, L->spec.name, key);
    }
    const int n = 2 + has_key + has_mask;
    call->args = lam_calloc((size_t)n, sizeof(fref));
    if (!call->args) return lam_error_context(LAM_ERR_NOMEM, "%s", g->src);
    call->nargs = n;
    call->id = -1;
    for (int i = 0, k = 0; i < 4; i++) {
        if (!t[i]) continue;
        char k2[128];
        snprintf(k2, sizeof k2, "%s %s", key, names[i]);
        if (keras3) LAM_TRY(parse_keras_tensor(g, L, k2, t[i], &call->args[k++]));
        else LAM_TRY(parse_ref(g, L, k2, t[i], i == 0 ? 4 : 3,
                               "expected [layer name, node index, tensor index]",
                               &call->args[k++]));
    }
    return LAM_OK;
}

/* One entry of inbound_nodes -> the call's argument references. */
static lam_status parse_call(const fgraph *g, flayer *L, int index, const cJSON *node,
                             fcall *call)
{
    if (L->spec.kind == LAM_LAYER_MULTI_HEAD_ATTENTION)
        return parse_attention_call(g, L, index, node, call);
    char key[64];
    snprintf(key, sizeof key, "inbound_nodes[%d]", index);
    const cJSON *list = NULL;
    bool keras3 = cJSON_IsObject(node);
    if (keras3) {
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(node, "args");
        const cJSON *kwargs = cJSON_GetObjectItemCaseSensitive(node, "kwargs");
        if (!cJSON_IsArray(args) || cJSON_GetArraySize(args) != 1)
            return bad_ref(g, L, key, args,
                           "expected \"args\": a list holding one tensor or one list of "
                           "tensors");
        if (kwargs && !is_null(kwargs) && !cJSON_IsObject(kwargs))
            return bad_ref(g, L, key, kwargs, "expected \"kwargs\" to be an object");
        for (const cJSON *it = kwargs ? kwargs->child : NULL; it; it = it->next)
            if (!is_null(it) && !(strcmp(it->string, "training") == 0 && cJSON_IsFalse(it))) {
                /* Keras 3 records training=false for every layer that takes it
                 * and overrides it by the model's own mode in fit and predict,
                 * as lamina does; training=true (dropout at inference), a mask
                 * or an initial_state is behaviour lamina lacks. */
                char k2[128];
                snprintf(k2, sizeof k2, "%s kwargs \"%.60s\"", key, it->string);
                lctx c = {g->src, L->spec.name, class_of(L->spec.kind)};
                return reject(&c, LAM_ERR_UNSUPPORTED, k2, it,
                              "lamina supports only null (and training false)");
            }
        list = cJSON_GetArrayItem(args, 0);
    } else if (cJSON_IsArray(node)) {
        list = node; /* tf.keras 2: [[name, node, tensor, kwargs], ...] */
    } else {
        return bad_ref(g, L, key, node, "expected an object (Keras 3) or a list (tf.keras 2)");
    }
    /* Keras 3: one tensor object, or a list of them (merge layers). */
    int n = keras3 && cJSON_IsObject(list) ? 1 : cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
    if (n < 1) return bad_ref(g, L, key, node, "expected at least one input tensor");
    call->args = lam_calloc((size_t)n, sizeof(fref));
    if (!call->args) return lam_error_context(LAM_ERR_NOMEM, "%s", g->src);
    call->nargs = n;
    call->id = -1;
    if (keras3 && cJSON_IsObject(list)) return parse_keras_tensor(g, L, key, list, &call->args[0]);
    int k = 0;
    for (const cJSON *t = list->child; t; t = t->next, k++) {
        if (keras3) LAM_TRY(parse_keras_tensor(g, L, key, t, &call->args[k]));
        else LAM_TRY(parse_history(g, L, key, t, true, &call->args[k]));
    }
    return LAM_OK;
}

/* input_layers / output_layers: [[name, 0, 0], ...], or Keras 3's flat
 * [name, 0, 0] for a single one. */
static lam_status parse_endpoints(const fgraph *g, const cJSON *cfg, const char *key,
                                  fref **out, int *count)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    *out = NULL;
    *count = 0;
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (n < 1) {
        char val[128];
        value_str(v, val, sizeof val);
        return lam_error(LAM_ERR_FORMAT, "%s: model config %s is %s; expected a list of [layer "
                         "name, node index, tensor index]", g->src, key, val);
    }
    bool flat = cJSON_IsString(cJSON_GetArrayItem(v, 0));
    if (flat) n = 1;
    fref *r = lam_calloc((size_t)n, sizeof *r);
    if (!r) return lam_error_context(LAM_ERR_NOMEM, "%s", g->src);
    int k = 0;
    for (const cJSON *e = flat ? v : v->child; e && k < n; e = e->next, k++) {
        const cJSON *nm = cJSON_GetArrayItem(e, 0);
        int node, tensor, j = -1;
        if (cJSON_GetArraySize(e) != 3 || !cJSON_IsString(nm) ||
            !get_int(cJSON_GetArrayItem(e, 1), 0, 1 << 30, &node) ||
            !get_int(cJSON_GetArrayItem(e, 2), 0, 1 << 30, &tensor)) {
            char val[128];
            value_str(e, val, sizeof val);
            lam_free(r);
            return lam_error(LAM_ERR_FORMAT, "%s: model config %s[%d] is %s; expected [layer "
                             "name, node index, tensor index]", g->src, key, k, val);
        }
        j = find_layer(g, nm->valuestring);
        int ncalls = j < 0 ? 0 : g->l[j].spec.kind == LAM_LAYER_INPUT ? 1 : g->l[j].ncalls;
        const char *why = j < 0 ? "names no layer of the model"
                          : node >= ncalls ? "has a node index past the layer's calls"
                          : tensor != 0 ? "has a tensor index other than 0 (every lamina "
                                          "layer has a single output)"
                                        : NULL;
        if (why) {
            lam_free(r);
            return lam_error(LAM_ERR_FORMAT, "%s: model config %s[%d] (layer \"%.64s\", node "
                             "%d, tensor %d) %s", g->src, key, k, nm->valuestring, node,
                             tensor, why);
        }
        r[k] = (fref){j, node};
    }
    *out = r;
    *count = n;
    return LAM_OK;
}

/* The model node of a reference (-1 when its call is not made yet). */
static int ref_id(const fgraph *g, fref r)
{
    const flayer *L = &g->l[r.layer];
    if (L->spec.kind == LAM_LAYER_INPUT) return L->done ? L->calls[0].id : -1;
    return r.node < L->done ? L->calls[r.node].id : -1;
}

/* Makes every call whose inputs exist, round after round, until all are
 * made or a round makes none (a cycle or a tensor nobody produces). */
static lam_status make_calls(fgraph *g, lam_model *m)
{
    int ids[64];
    int *args = ids;
    int cap = 64;
    lam_status st = LAM_OK;
    for (bool progress = true; progress && st == LAM_OK;) {
        progress = false;
        for (int i = 0; i < g->n && st == LAM_OK; i++) {
            flayer *L = &g->l[i];
            while (L->spec.kind != LAM_LAYER_INPUT && L->done < L->ncalls && st == LAM_OK) {
                fcall *c = &L->calls[L->done];
                if (c->nargs > cap) {
                    int *na = lam_malloc(sizeof(int) * (size_t)c->nargs);
                    if (!na) {
                        st = lam_error_context(LAM_ERR_NOMEM, "%s", g->src);
                        break;
                    }
                    if (args != ids) lam_free(args);
                    args = na;
                    cap = c->nargs;
                }
                bool ready = true;
                for (int k = 0; k < c->nargs && ready; k++) ready = (args[k] = ref_id(g, c->args[k])) >= 0;
                if (!ready) break;
                if ((st = check_available(g->src, &L->spec)) != LAM_OK) break;
                if (L->done == 0) st = lam_model_call(m, &L->spec, c->nargs, args, &c->id);
                else st = lam_model_call_shared(m, L->calls[0].id, c->nargs, args, &c->id);
                if (st != LAM_OK) {
                    st = lam_error_context(st, "%s: layer \"%s\" (%s), call %d", g->src,
                                           L->spec.name, class_of(L->spec.kind), L->done);
                    break;
                }
                L->done++;
                progress = true;
            }
        }
    }
    if (args != ids) lam_free(args);
    if (st != LAM_OK) return st;
    for (int i = 0; i < g->n; i++) {
        const flayer *L = &g->l[i];
        if (L->spec.kind == LAM_LAYER_INPUT || L->done == L->ncalls) continue;
        const fcall *c = &L->calls[L->done];
        for (int k = 0; k < c->nargs; k++)
            if (ref_id(g, c->args[k]) < 0)
                return lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" (%s): inbound_nodes[%d] "
                                 "reads layer \"%s\" node %d, which can never be computed (a "
                                 "cycle, or an input not listed in input_layers)", g->src,
                                 L->spec.name, class_of(L->spec.kind), L->done,
                                 g->l[c->args[k].layer].spec.name, c->args[k].node);
    }
    return LAM_OK;
}

static lam_status build_functional(const cJSON *root, const char *src, lam_model **out)
{
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
    if (!cJSON_IsObject(cfg))
        return lam_error(LAM_ERR_FORMAT, "%s: a functional model needs a \"config\" object",
                         src);
    const char *name = "functional";
    LAM_TRY(model_header(cfg, src, "functional", &name));
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(cfg, "layers");
    if (!cJSON_IsArray(layers))
        return lam_error(LAM_ERR_FORMAT, "%s: config has no \"layers\" list", src);
    fgraph g = {src, 0, NULL};
    int nl = cJSON_GetArraySize(layers);
    fref *ins = NULL, *outs = NULL;
    int nins = 0, nouts = 0;
    int *ids = NULL;
    lam_model *m = NULL;
    lam_status st = LAM_OK;
    if (nl < 2) {
        st = lam_error(LAM_ERR_FORMAT, "%s: the model has %d layer(s); expected an input and at "
                       "least one more", src, nl);
        goto done;
    }
    if (!(g.l = lam_calloc((size_t)nl, sizeof *g.l))) {
        st = lam_error_context(LAM_ERR_NOMEM, "%s", src);
        goto done;
    }
    /* Every layer's settings and name first: calls refer to layers by name. */
    for (const cJSON *lo = layers->child; lo; lo = lo->next) {
        flayer *L = &g.l[g.n];
        if ((st = parse_layer(src, g.n, lo, &L->spec, &L->cfg)) != LAM_OK) goto done;
        L->obj = lo;
        g.n++;
        if (!L->spec.name[0]) {
            st = lam_error(LAM_ERR_FORMAT, "%s: layer #%d (%s) has no name; a functional "
                           "model refers to its layers by name", src, g.n - 1,
                           class_of(L->spec.kind));
            goto done;
        }
        if (find_layer(&g, L->spec.name) != g.n - 1) {
            st = lam_error(LAM_ERR_FORMAT, "%s: two layers are named \"%s\"", src, L->spec.name);
            goto done;
        }
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(lo, "inbound_nodes");
        int nc = cJSON_IsArray(in) ? cJSON_GetArraySize(in) : 0;
        if (in && !cJSON_IsArray(in)) {
            lctx c = {src, L->spec.name, class_of(L->spec.kind)};
            st = reject(&c, LAM_ERR_FORMAT, "inbound_nodes", in, "expected a list of calls");
            goto done;
        }
        if (L->spec.kind == LAM_LAYER_INPUT) {
            if (nc != 0) {
                lctx c = {src, L->spec.name, "InputLayer"};
                st = reject(&c, LAM_ERR_FORMAT, "inbound_nodes", in, "expected [] for an input");
                goto done;
            }
            nc = 1; /* its one node: the input itself */
        } else if (nc == 0) {
            st = lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" (%s) has no inbound_nodes: it is "
                           "never called", src, L->spec.name, class_of(L->spec.kind));
            goto done;
        }
        if (!(L->calls = lam_calloc((size_t)nc, sizeof *L->calls))) {
            st = lam_error_context(LAM_ERR_NOMEM, "%s", src);
            goto done;
        }
        L->ncalls = nc;
        for (int k = 0; k < nc; k++) L->calls[k].id = -1;
    }
    /* Then every call's references (which may point forward in the list). */
    for (int i = 0; i < g.n; i++) {
        flayer *L = &g.l[i];
        if (L->spec.kind == LAM_LAYER_INPUT) continue;
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(L->obj, "inbound_nodes");
        int k = 0;
        for (const cJSON *nd = in->child; nd; nd = nd->next, k++)
            if ((st = parse_call(&g, L, k, nd, &L->calls[k])) != LAM_OK) goto done;
    }
    if ((st = parse_endpoints(&g, cfg, "input_layers", &ins, &nins)) != LAM_OK) goto done;
    if ((st = parse_endpoints(&g, cfg, "output_layers", &outs, &nouts)) != LAM_OK) goto done;
    if (!(m = lam_model_new(name))) {
        st = lam_error_context(LAM_ERR_NOMEM, "%s", src);
        goto done;
    }
    /* Inputs in input_layers order: that is the order of the model's inputs. */
    for (int k = 0; k < nins; k++) {
        flayer *L = &g.l[ins[k].layer];
        if (L->spec.kind != LAM_LAYER_INPUT) {
            st = lam_error(LAM_ERR_FORMAT, "%s: model config input_layers[%d] is layer \"%s\" "
                           "(%s), not an InputLayer", src, k, L->spec.name, class_of(L->spec.kind));
            goto done;
        }
        if (L->done) {
            st = lam_error(LAM_ERR_FORMAT, "%s: model config input_layers lists layer \"%s\" "
                           "twice", src, L->spec.name);
            goto done;
        }
        st = lam_model_input(m, L->spec.name, L->spec.rank, L->spec.shape, &L->calls[0].id);
        if (st != LAM_OK) {
            st = lam_error_context(st, "%s", src);
            goto done;
        }
        L->done = 1;
    }
    for (int i = 0; i < g.n; i++)
        if (g.l[i].spec.kind == LAM_LAYER_INPUT && !g.l[i].done) {
            st = lam_error(LAM_ERR_FORMAT, "%s: InputLayer \"%s\" is not listed in the model "
                           "config's input_layers", src, g.l[i].spec.name);
            goto done;
        }
    if ((st = make_calls(&g, m)) != LAM_OK) goto done;
    if (!(ids = lam_malloc(sizeof(int) * (size_t)nouts))) {
        st = lam_error_context(LAM_ERR_NOMEM, "%s", src);
        goto done;
    }
    for (int k = 0; k < nouts; k++) ids[k] = ref_id(&g, outs[k]);
    st = lam_model_set_outputs(m, nouts, ids);
    if (st != LAM_OK) st = lam_error_context(st, "%s: output_layers", src);
done:
    lam_free(ids);
    lam_free(ins);
    lam_free(outs);
    fgraph_free(&g);
    if (st != LAM_OK) {
        lam_model_free(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

static lam_status build_model(const cJSON *root, const char *src, lam_model **out)
{
    if (!cJSON_IsObject(root))
        return lam_error(LAM_ERR_FORMAT, "%s: expected a JSON object with class_name and config",
                         src);
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(root, "class_name");
    if (!cJSON_IsString(cn))
        return lam_error(LAM_ERR_FORMAT, "%s: no \"class_name\" at the top level (is this a "
                         "Keras model.to_json() text?)", src);
    if (strcmp(cn->valuestring, "Sequential") == 0) return build_sequential(root, src, out);
    /* tf.keras 2 calls the functional class "Functional" (2.4+) or "Model". */
    if (strcmp(cn->valuestring, "Functional") == 0 || strcmp(cn->valuestring, "Model") == 0)
        return build_functional(root, src, out);
    return lam_error(LAM_ERR_UNSUPPORTED, "%s: model class %s is not supported; lamina reads "
                     "Sequential and Functional models", src, cn->valuestring);
}


lam_status lam_model_from_json(const char *json, const char *source_name, lam_model **out)
{
    const char *src = source_name && *source_name ? source_name : "<json>";
    if (!out) return lam_error(LAM_ERR_ARG, "lam_model_from_json: NULL out");
    *out = NULL;
    if (!json) return lam_error(LAM_ERR_ARG, "%s: lam_model_from_json: NULL text", src);
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= json ? (long)(at - json) : -1;
        return lam_error(LAM_ERR_FORMAT, "%s: not valid JSON (error near byte %ld: \"%.20s\")",
                         src, off, at ? at : "");
    }
    lam_status st = build_model(root, src, out);
    cJSON_Delete(root);
    return st;
}

lam_status lam_model_from_json_file(const char *path, lam_model **out)
{
    if (!path || !out) return lam_error(LAM_ERR_ARG, "lam_model_from_json_file: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lam_error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    lam_status st = LAM_OK;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > ((size_t)1 << 30)) {
                st = lam_error(LAM_ERR_FORMAT, "%s: larger than 1 GiB; not a model JSON", path);
                break;
            }
            char *nb = lam_realloc(buf, ncap);
            if (!nb) {
                st = lam_error_context(LAM_ERR_NOMEM, "%s", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) st = lam_error(LAM_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == LAM_OK) {
        buf[len] = '\0';
        if (strlen(buf) != len)
            st = lam_error(LAM_ERR_FORMAT, "%s: contains a NUL byte; not a JSON text", path);
        else
            st = lam_model_from_json(buf, path, out);
    }
    lam_free(buf);
    return st;
}

/* ---------------------------------------------------------------- writing */

/* Adds and returns; a NULL anywhere propagates to the final check, since
 * cJSON's Add functions accept a NULL parent. */
static cJSON *add_pair(cJSON *o, const char *key, int a, int b)
{
    cJSON *arr = cJSON_AddArrayToObject(o, key);
    if (arr) {
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(a));
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(b));
    }
    return arr;
}

static cJSON *add_ints(cJSON *o, const char *key, int n, const int *v)
{
    cJSON *arr = cJSON_AddArrayToObject(o, key);
    for (int i = 0; arr && i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(v[i]));
    return arr;
}

/* The shortest decimal that reads back as the same float: 0.99, not
 * 0.9900000095367432, so that Keras sees the number the user wrote. */
static double short_float(float f)
{
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if (strtof(buf, NULL) == f) return strtod(buf, NULL);
    }
    return (double)f;
}

static cJSON *initializer(const char *cls, bool gain)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "module", "keras.initializers");
    cJSON_AddStringToObject(o, "class_name", cls);
    cJSON *cfg = cJSON_AddObjectToObject(o, "config");
    if (strcmp(cls, "Zeros") != 0 && strcmp(cls, "Ones") != 0) cJSON_AddNullToObject(cfg, "seed");
    if (gain) cJSON_AddNumberToObject(cfg, "gain", 1.0);
    cJSON_AddNullToObject(o, "registered_name");
    return o;
}

static void add_weight_keys(cJSON *cfg, const lam_layer_spec *s, bool recurrent)
{
    cJSON_AddBoolToObject(cfg, "use_bias", s->use_bias);
    cJSON_AddItemToObject(cfg, "kernel_initializer", initializer("GlorotUniform", false));
    if (recurrent)
        cJSON_AddItemToObject(cfg, "recurrent_initializer", initializer("Orthogonal", true));
    cJSON_AddItemToObject(cfg, "bias_initializer", initializer("Zeros", false));
    cJSON_AddNullToObject(cfg, "kernel_regularizer");
    if (recurrent) cJSON_AddNullToObject(cfg, "recurrent_regularizer");
    cJSON_AddNullToObject(cfg, "bias_regularizer");
    cJSON_AddNullToObject(cfg, "activity_regularizer");
    cJSON_AddNullToObject(cfg, "kernel_constraint");
    if (recurrent) cJSON_AddNullToObject(cfg, "recurrent_constraint");
    cJSON_AddNullToObject(cfg, "bias_constraint");
}

static const char *padding_name(lam_padding p) { return p == LAM_PAD_SAME ? "same" : "valid"; }

/* The recurrent keys of kind k from spec s (a recurrent layer, or what a
 * Bidirectional wraps). */
static void add_recurrent_keys(cJSON *cfg, lam_layer_kind k, const lam_layer_spec *s,
                               bool go_backwards)
{
    cJSON_AddBoolToObject(cfg, "return_sequences", s->return_sequences);
    cJSON_AddBoolToObject(cfg, "return_state", s->return_state);
    cJSON_AddBoolToObject(cfg, "go_backwards", go_backwards);
    cJSON_AddBoolToObject(cfg, "stateful", false);
    cJSON_AddBoolToObject(cfg, "unroll", false);
    cJSON_AddNumberToObject(cfg, "units", s->units);
    cJSON_AddStringToObject(cfg, "activation", lam_activation_name(s->activation));
    if (k != LAM_LAYER_SIMPLERNN)
        cJSON_AddStringToObject(cfg, "recurrent_activation",
                                lam_activation_name(s->recurrent_activation));
    add_weight_keys(cfg, s, true);
    if (k == LAM_LAYER_LSTM) cJSON_AddBoolToObject(cfg, "unit_forget_bias", s->unit_forget_bias);
    if (k == LAM_LAYER_GRU) cJSON_AddBoolToObject(cfg, "reset_after", s->reset_after);
    cJSON_AddNumberToObject(cfg, "dropout", 0.0);
    cJSON_AddNumberToObject(cfg, "recurrent_dropout", 0.0);
    cJSON_AddNullToObject(cfg, "seed");
}

static void add_norm_keys(cJSON *cfg, const lam_layer_spec *s, bool batch)
{
    cJSON_AddNumberToObject(cfg, "axis", s->axis);
    if (batch) cJSON_AddNumberToObject(cfg, "momentum", short_float(s->momentum));
    cJSON_AddNumberToObject(cfg, "epsilon", short_float(s->epsilon));
    cJSON_AddBoolToObject(cfg, "center", s->center);
    cJSON_AddBoolToObject(cfg, "scale", s->scale);
    cJSON_AddItemToObject(cfg, "beta_initializer", initializer("Zeros", false));
    cJSON_AddItemToObject(cfg, "gamma_initializer", initializer("Ones", false));
    if (batch) {
        cJSON_AddItemToObject(cfg, "moving_mean_initializer", initializer("Zeros", false));
        cJSON_AddItemToObject(cfg, "moving_variance_initializer", initializer("Ones", false));
    }
    cJSON_AddNullToObject(cfg, "beta_regularizer");
    cJSON_AddNullToObject(cfg, "gamma_regularizer");
    cJSON_AddNullToObject(cfg, "beta_constraint");
    cJSON_AddNullToObject(cfg, "gamma_constraint");
    if (batch) cJSON_AddBoolToObject(cfg, "synchronized", false);
    else cJSON_AddBoolToObject(cfg, "rms_scaling", false);
}

/* One layer in Keras 3's form, with the keys Keras itself writes so that
 * keras.models.model_from_json can read it. */
static cJSON *layer_json(const lam_layer_spec *s)
{
    cJSON *l = cJSON_CreateObject();
    const int pk = packaged_index(s->kind);
    cJSON_AddStringToObject(l, "module", pk >= 0 ? packaged[pk].module : "keras.layers");
    cJSON_AddStringToObject(l, "class_name", class_of(s->kind));
    cJSON *cfg = cJSON_AddObjectToObject(l, "config");
    cJSON_AddStringToObject(cfg, "name", s->name);
    if (s->kind == LAM_LAYER_INPUT) {
        cJSON *bs = cJSON_AddArrayToObject(cfg, "batch_shape");
        cJSON_AddItemToArray(bs, cJSON_CreateNull());
        for (int d = 0; d < s->rank; d++) cJSON_AddItemToArray(bs, cJSON_CreateNumber((double)s->shape[d]));
        cJSON_AddStringToObject(cfg, "dtype", "float32");
        cJSON_AddBoolToObject(cfg, "sparse", false);
    } else {
        cJSON_AddBoolToObject(cfg, "trainable", true);
        cJSON_AddStringToObject(cfg, "dtype", "float32");
    }
    const bool one_d = is_1d(s->kind);
    switch (s->kind) {
    case LAM_LAYER_DENSE:
        cJSON_AddNumberToObject(cfg, "units", s->units);
        cJSON_AddStringToObject(cfg, "activation", lam_activation_name(s->activation));
        add_weight_keys(cfg, s, false);
        break;
    case LAM_LAYER_CONV2D:
    case LAM_LAYER_CONV1D:
        cJSON_AddNumberToObject(cfg, "filters", s->units);
        if (one_d) {
            add_ints(cfg, "kernel_size", 1, s->kernel);
            add_ints(cfg, "strides", 1, s->strides);
        } else {
            add_pair(cfg, "kernel_size", s->kernel[0], s->kernel[1]);
            add_pair(cfg, "strides", s->strides[0], s->strides[1]);
        }
        cJSON_AddStringToObject(cfg, "padding", padding_name(s->padding));
        cJSON_AddStringToObject(cfg, "data_format", "channels_last");
        if (one_d) add_ints(cfg, "dilation_rate", 1, (const int[]){1});
        else add_pair(cfg, "dilation_rate", 1, 1);
        cJSON_AddNumberToObject(cfg, "groups", 1);
        cJSON_AddStringToObject(cfg, "activation", lam_activation_name(s->activation));
        add_weight_keys(cfg, s, false);
        break;
    case LAM_LAYER_MAXPOOL2D:
    case LAM_LAYER_AVGPOOL2D:
    case LAM_LAYER_MAXPOOL1D:
    case LAM_LAYER_AVGPOOL1D:
        if (one_d) add_ints(cfg, "pool_size", 1, s->pool);
        else add_pair(cfg, "pool_size", s->pool[0], s->pool[1]);
        cJSON_AddStringToObject(cfg, "padding", padding_name(s->padding));
        /* 0 means "the pool size", which Keras spells null: the spec then
         * reads back unchanged. */
        if (!(s->strides[0] || s->strides[1])) cJSON_AddNullToObject(cfg, "strides");
        else if (one_d) add_ints(cfg, "strides", 1, s->strides);
        else add_pair(cfg, "strides", s->strides[0], s->strides[1]);
        cJSON_AddStringToObject(cfg, "data_format", "channels_last");
        break;
    case LAM_LAYER_FLATTEN:
        cJSON_AddStringToObject(cfg, "data_format", "channels_last");
        break;
    case LAM_LAYER_ACTIVATION:
        cJSON_AddStringToObject(cfg, "activation", lam_activation_name(s->activation));
        break;
    case LAM_LAYER_EMBEDDING: {
        cJSON_AddNumberToObject(cfg, "input_dim", s->input_dim);
        cJSON_AddNumberToObject(cfg, "output_dim", s->units);
        cJSON *init = initializer("RandomUniform", false);
        cJSON *icfg = cJSON_GetObjectItemCaseSensitive(init, "config");
        cJSON_AddNumberToObject(icfg, "minval", -0.05);
        cJSON_AddNumberToObject(icfg, "maxval", 0.05);
        cJSON_AddItemToObject(cfg, "embeddings_initializer", init);
        cJSON_AddNullToObject(cfg, "embeddings_regularizer");
        cJSON_AddNullToObject(cfg, "activity_regularizer");
        cJSON_AddNullToObject(cfg, "embeddings_constraint");
        cJSON_AddBoolToObject(cfg, "mask_zero", s->mask_zero);
        break;
    }
    case LAM_LAYER_POSITION_EMBEDDING:
        cJSON_AddNumberToObject(cfg, "sequence_length", s->sequence_length);
        cJSON_AddItemToObject(cfg, "initializer", initializer("GlorotUniform", false));
        break;
    case LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING: {
        cJSON_AddNumberToObject(cfg, "vocabulary_size", s->input_dim);
        cJSON_AddNumberToObject(cfg, "sequence_length", s->sequence_length);
        cJSON_AddNumberToObject(cfg, "embedding_dim", s->units);
        cJSON *init = initializer("RandomUniform", false);
        cJSON *icfg = cJSON_GetObjectItemCaseSensitive(init, "config");
        cJSON_AddNumberToObject(icfg, "minval", -0.05);
        cJSON_AddNumberToObject(icfg, "maxval", 0.05);
        cJSON_AddItemToObject(cfg, "embeddings_initializer", init);
        cJSON_AddBoolToObject(cfg, "tie_weights", true);
        cJSON_AddBoolToObject(cfg, "mask_zero", s->mask_zero);
        break;
    }
    case LAM_LAYER_MULTI_HEAD_ATTENTION: {
        /* The keys Keras 3 and tf.keras 2 share (not use_gate, seed: tf.keras
         * 2 would refuse them). 0 is Keras's None for value_dim and
         * output_shape, written as null so that the spec reads back the same. */
        cJSON_AddNumberToObject(cfg, "num_heads", s->num_heads);
        cJSON_AddNumberToObject(cfg, "key_dim", s->key_dim);
        if (s->value_dim) cJSON_AddNumberToObject(cfg, "value_dim", s->value_dim);
        else cJSON_AddNullToObject(cfg, "value_dim");
        cJSON_AddNumberToObject(cfg, "dropout", short_float(s->rate));
        if (s->output_dim) add_ints(cfg, "output_shape", 1, &s->output_dim);
        else cJSON_AddNullToObject(cfg, "output_shape");
        add_ints(cfg, "attention_axes", 1, (const int[]){1});
        add_weight_keys(cfg, s, false);
        break;
    }
    case LAM_LAYER_DROPOUT:
        cJSON_AddNumberToObject(cfg, "rate", short_float(s->rate));
        cJSON_AddNullToObject(cfg, "noise_shape");
        cJSON_AddNullToObject(cfg, "seed");
        break;
    case LAM_LAYER_LSTM:
    case LAM_LAYER_GRU:
    case LAM_LAYER_SIMPLERNN:
        add_recurrent_keys(cfg, s->kind, s, s->go_backwards);
        break;
    case LAM_LAYER_CONCATENATE:
        cJSON_AddNumberToObject(cfg, "axis", s->axis);
        break;
    case LAM_LAYER_RESHAPE: {
        cJSON *ts = cJSON_AddArrayToObject(cfg, "target_shape");
        for (int d = 0; ts && d < s->rank && d < 4; d++)
            cJSON_AddItemToArray(ts, cJSON_CreateNumber((double)s->shape[d]));
        break;
    }
    case LAM_LAYER_PERMUTE: {
        int n = 0;
        while (n < 4 && s->dims[n] > 0) n++;
        add_ints(cfg, "dims", n, s->dims);
        break;
    }
    case LAM_LAYER_REPEAT_VECTOR:
        cJSON_AddNumberToObject(cfg, "n", s->repeats);
        break;
    case LAM_LAYER_BATCH_NORM:
        add_norm_keys(cfg, s, true);
        break;
    case LAM_LAYER_LAYER_NORM:
        add_norm_keys(cfg, s, false);
        break;
    case LAM_LAYER_NORMALIZATION: /* Keras 3 writes the axis as a tuple */
        add_ints(cfg, "axis", 1, &s->axis);
        cJSON_AddBoolToObject(cfg, "invert", s->invert);
        cJSON_AddNullToObject(cfg, "mean");
        cJSON_AddNullToObject(cfg, "variance");
        break;
    case LAM_LAYER_GLOBAL_AVGPOOL1D:
    case LAM_LAYER_GLOBAL_AVGPOOL2D:
    case LAM_LAYER_GLOBAL_MAXPOOL1D:
    case LAM_LAYER_GLOBAL_MAXPOOL2D:
        cJSON_AddStringToObject(cfg, "data_format", "channels_last");
        cJSON_AddBoolToObject(cfg, "keepdims", false);
        break;
    case LAM_LAYER_ZERO_PADDING2D: {
        cJSON *p = cJSON_AddArrayToObject(cfg, "padding");
        cJSON *h = cJSON_CreateIntArray(s->pad, 2), *w = cJSON_CreateIntArray(s->pad + 2, 2);
        if (!cJSON_AddItemToArray(p, h)) cJSON_Delete(h);
        if (!cJSON_AddItemToArray(p, w)) cJSON_Delete(w);
        cJSON_AddStringToObject(cfg, "data_format", "channels_last");
        break;
    }
    case LAM_LAYER_UPSAMPLING2D:
        add_pair(cfg, "size", s->size[0], s->size[1]);
        cJSON_AddStringToObject(cfg, "data_format", "channels_last");
        cJSON_AddStringToObject(cfg, "interpolation", "nearest");
        break;
    case LAM_LAYER_BIDIRECTIONAL: {
        static const char *const modes[] = {"concat", "sum", "ave", "mul"};
        cJSON_AddStringToObject(cfg, "merge_mode",
                                (unsigned)s->merge_mode < 4 ? modes[s->merge_mode] : "?");
        cJSON *w = cJSON_AddObjectToObject(cfg, "layer");
        cJSON_AddStringToObject(w, "module", "keras.layers");
        cJSON_AddStringToObject(w, "class_name", class_of(s->wrapped));
        cJSON *wc = cJSON_AddObjectToObject(w, "config");
        /* Keras names them forward_<layer>; the backward one it derives. */
        char wname[80];
        snprintf(wname, sizeof wname, "forward_%s",
                 s->wrapped == LAM_LAYER_LSTM ? "lstm" : s->wrapped == LAM_LAYER_GRU ? "gru"
                                                                              : "simple_rnn");
        cJSON_AddStringToObject(wc, "name", wname);
        cJSON_AddBoolToObject(wc, "trainable", true);
        cJSON_AddStringToObject(wc, "dtype", "float32");
        lam_layer_spec ws = *s;
        ws.return_state = false;
        add_recurrent_keys(wc, s->wrapped, &ws, false);
        cJSON_AddNullToObject(w, "registered_name");
        break;
    }
    default:
        break;
    }
    if (pk >= 0) cJSON_AddStringToObject(l, "registered_name", packaged[pk].registered);
    else cJSON_AddNullToObject(l, "registered_name");
    return l;
}

cJSON *lam_layer_to_cjson(const lam_layer_spec *s) { return layer_json(s); }

/* Which call of its layer node i is (Keras's node_index). */
static int call_index(const lam_model *m, int i)
{
    int owner = lam_model_node_owner(m, i), k = 0;
    for (int j = owner; j < i; j++) k += lam_model_node_owner(m, j) == owner;
    return k;
}

/* Keras 3's reference to node i's output, with its shape. */
static cJSON *keras_tensor(const lam_model *m, int i)
{
    const lam_layer_spec *src = lam_model_layer(m, lam_model_node_owner(m, i));
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "class_name", "__keras_tensor__");
    cJSON *c = cJSON_AddObjectToObject(t, "config");
    cJSON *shape = cJSON_AddArrayToObject(c, "shape");
    int64_t dims[4];
    int rank = lam_model_layer_output_shape(m, i, dims);
    cJSON_AddItemToArray(shape, cJSON_CreateNull());
    for (int d = 0; d < rank; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)dims[d]));
    cJSON_AddStringToObject(c, "dtype", "float32");
    cJSON *h = cJSON_AddArrayToObject(c, "keras_history");
    cJSON_AddItemToArray(h, cJSON_CreateString(src->name));
    cJSON_AddItemToArray(h, cJSON_CreateNumber(call_index(m, i)));
    cJSON_AddItemToArray(h, cJSON_CreateNumber(0));
    return t;
}

static cJSON *endpoint(const lam_model *m, int i)
{
    cJSON *e = cJSON_CreateArray();
    cJSON_AddItemToArray(e, cJSON_CreateString(lam_model_layer(m, lam_model_node_owner(m, i))->name));
    cJSON_AddItemToArray(e, cJSON_CreateNumber(call_index(m, i)));
    cJSON_AddItemToArray(e, cJSON_CreateNumber(0));
    return e;
}

/* Appends item to arr; false (and item freed) when either is NULL. */
static bool append(cJSON *arr, cJSON *item)
{
    if (arr && item && cJSON_AddItemToArray(arr, item)) return true;
    cJSON_Delete(item);
    return false;
}

/* Layer i (an owner) with its calls: Keras 3's functional form. */
static cJSON *functional_layer_json(const lam_model *m, int i)
{
    cJSON *l = layer_json(lam_model_layer(m, i));
    cJSON_AddStringToObject(l, "name", lam_model_layer(m, i)->name);
    cJSON *nodes = cJSON_AddArrayToObject(l, "inbound_nodes");
    bool ok = l && nodes;
    if (lam_model_layer(m, i)->kind == LAM_LAYER_INPUT) return ok ? l : (cJSON_Delete(l), NULL);
    for (int j = i; ok && j < lam_model_num_layers(m); j++) {
        if (lam_model_node_owner(m, j) != i) continue;
        int in[64], n = lam_model_node_inputs(m, j, 64, in);
        cJSON *call = cJSON_CreateObject();
        cJSON *args = cJSON_AddArrayToObject(call, "args");
        cJSON *kwargs = cJSON_AddObjectToObject(call, "kwargs");
        ok = append(nodes, call) && args;
        const lam_layer_spec *ls = lam_model_layer(m, i);
        if (ls->kind == LAM_LAYER_MULTI_HEAD_ATTENTION) {
            /* Keras 3: args [query, value]; key, attention_mask and
             * use_causal_mask as keyword arguments. */
            ok = ok && kwargs && n >= 2 && append(args, keras_tensor(m, in[0])) &&
                 append(args, keras_tensor(m, in[1]));
            int k = 2;
            if (ok && ls->key_input)
                ok = cJSON_AddItemToObject(kwargs, "key", keras_tensor(m, in[k++]));
            if (ok && ls->mask_input)
                ok = cJSON_AddItemToObject(kwargs, "attention_mask", keras_tensor(m, in[k++]));
            if (ok && ls->use_causal_mask) ok = cJSON_AddTrueToObject(kwargs, "use_causal_mask");
            continue;
        }
        /* Keras 3 passes merge layers a list, others the tensor itself. */
        const lam_op *op = lam_op_for(lam_model_layer(m, i)->kind);
        bool list = n > 1 || (op && op->max_inputs > 1);
        cJSON *dst = list ? cJSON_CreateArray() : args;
        if (list) ok = ok && append(args, dst);
        for (int k = 0; ok && k < n && k < 64; k++) {
            if (n > 64) ok = false;
            ok = ok && append(dst, keras_tensor(m, in[k]));
        }
    }
    if (!ok) {
        cJSON_Delete(l);
        return NULL;
    }
    return l;
}

lam_status lam_model_to_json(const lam_model *m, char **out)
{
    if (!m || !out) return lam_error(LAM_ERR_ARG, "lam_model_to_json: NULL argument");
    *out = NULL;
    const int n = lam_model_num_layers(m);
    if (n < 1)
        return lam_error(LAM_ERR_STATE, "model \"%s\": no layers to write", lam_model_name(m));
    for (int i = 0; i < n; i++) {
        int in[64];
        if (lam_model_node_inputs(m, i, 64, in) > 64)
            return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": layer \"%s\" reads more than "
                             "64 tensors; lamina writes at most 64", lam_model_name(m),
                             lam_model_layer(m, lam_model_node_owner(m, i))->name);
    }
    const bool seq = m->sequential;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "module", seq ? "keras" : "keras.src.models.functional");
    cJSON_AddStringToObject(root, "class_name", seq ? "Sequential" : "Functional");
    cJSON *cfg = cJSON_AddObjectToObject(root, "config");
    cJSON_AddStringToObject(cfg, "name", lam_model_name(m));
    cJSON_AddBoolToObject(cfg, "trainable", true);
    if (seq) cJSON_AddStringToObject(cfg, "dtype", "float32");
    cJSON *layers = cJSON_AddArrayToObject(cfg, "layers");
    bool ok = root && cfg && layers;
    for (int i = 0; ok && i < n; i++) {
        if (!seq && lam_model_node_owner(m, i) != i) continue; /* a shared call */
        ok = append(layers, seq ? layer_json(lam_model_layer(m, i)) : functional_layer_json(m, i));
    }
    if (!seq) {
        cJSON *ins = cJSON_AddArrayToObject(cfg, "input_layers");
        cJSON *outs = cJSON_AddArrayToObject(cfg, "output_layers");
        ok = ok && ins && outs;
        for (int k = 0; ok && k < lam_model_num_inputs(m); k++)
            ok = append(ins, endpoint(m, lam_model_input_id(m, k)));
        for (int k = 0; ok && k < lam_model_num_outputs(m); k++)
            ok = append(outs, endpoint(m, lam_model_output_id(m, k)));
    }
    cJSON_AddItemToObject(root, "registered_name",
                          seq ? cJSON_CreateNull() : cJSON_CreateString("Functional"));
    /* cJSON's allocations are its own; the caller frees the text with free(). */
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return lam_error(LAM_ERR_NOMEM, "model \"%s\": out of memory writing its JSON",
                         lam_model_name(m));
    *out = text;
    return LAM_OK;
}


/* ------------------------------------------------------- training config */

static const char *const opt_class[LAM_OPT_COUNT] = {
    [LAM_OPT_ADAM] = "Adam",       [LAM_OPT_SGD] = "SGD",         [LAM_OPT_RMSPROP] = "RMSprop",
    [LAM_OPT_ADAMW] = "AdamW",     [LAM_OPT_ADAGRAD] = "Adagrad", [LAM_OPT_ADAMAX] = "Adamax",
    [LAM_OPT_NADAM] = "Nadam",
};
static const char *const opt_name[LAM_OPT_COUNT] = {
    [LAM_OPT_ADAM] = "adam",       [LAM_OPT_SGD] = "sgd",         [LAM_OPT_RMSPROP] = "rmsprop",
    [LAM_OPT_ADAMW] = "adamw",     [LAM_OPT_ADAGRAD] = "adagrad", [LAM_OPT_ADAMAX] = "adamax",
    [LAM_OPT_NADAM] = "nadam",
};
static const char *const schedule_class[LAM_SCHEDULE_COUNT] = {
    [LAM_SCHEDULE_EXPONENTIAL] = "ExponentialDecay",
    [LAM_SCHEDULE_PIECEWISE_CONSTANT] = "PiecewiseConstantDecay",
    [LAM_SCHEDULE_COSINE] = "CosineDecay",
    [LAM_SCHEDULE_INVERSE_TIME] = "InverseTimeDecay",
};

/* Keras writes an unset optional number as null. */
static void add_optional(cJSON *c, const char *key, float v)
{
    if (v > 0) cJSON_AddNumberToObject(c, key, (double)v);
    else cJSON_AddNullToObject(c, key);
}

/* The schedule as Keras 3 serialises a LearningRateSchedule learning_rate. */
static cJSON *schedule_to_cjson(const lam_optimizer *o)
{
    const lam_schedule *s = &o->schedule;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "module", "keras.optimizers.schedules");
    cJSON_AddStringToObject(root, "class_name", schedule_class[s->kind]);
    cJSON *c = cJSON_AddObjectToObject(root, "config");
    if (s->kind == LAM_SCHEDULE_PIECEWISE_CONSTANT) {
        cJSON *b = cJSON_AddArrayToObject(c, "boundaries");
        cJSON *v = cJSON_AddArrayToObject(c, "values");
        for (int i = 0; b && v && i <= s->n_boundaries; i++) {
            if (i < s->n_boundaries)
                cJSON_AddItemToArray(b, cJSON_CreateNumber((double)s->boundaries[i]));
            cJSON_AddItemToArray(v, cJSON_CreateNumber((double)s->values[i]));
        }
    } else {
        cJSON_AddNumberToObject(c, "initial_learning_rate", (double)o->learning_rate);
        cJSON_AddNumberToObject(c, "decay_steps", (double)s->decay_steps);
    }
    switch (s->kind) {
    case LAM_SCHEDULE_EXPONENTIAL:
    case LAM_SCHEDULE_INVERSE_TIME:
        cJSON_AddNumberToObject(c, "decay_rate", (double)s->decay_rate);
        cJSON_AddBoolToObject(c, "staircase", s->staircase);
        break;
    case LAM_SCHEDULE_COSINE:
        cJSON_AddNumberToObject(c, "alpha", (double)s->alpha);
        add_optional(c, "warmup_target", s->warmup_target);
        cJSON_AddNumberToObject(c, "warmup_steps", (double)s->warmup_steps);
        break;
    default:
        break;
    }
    cJSON_AddStringToObject(c, "name", schedule_class[s->kind]);
    cJSON_AddNullToObject(root, "registered_name");
    return root;
}

cJSON *lam_training_config_to_cjson(const lam_model *m)
{
    const lam_optimizer *o = lam_model_optimizer(m);
    cJSON *tc = cJSON_CreateObject();
    const int nout = lam_model_num_outputs(m);
    if (nout == 1) {
        cJSON_AddStringToObject(tc, "loss", lam_loss_name(lam_model_loss(m)));
    } else {
        /* Keras's compile(loss={...}, loss_weights={...}), keyed by output layer. */
        cJSON *lo = cJSON_AddObjectToObject(tc, "loss");
        cJSON *lw = cJSON_AddObjectToObject(tc, "loss_weights");
        for (int k = 0; k < nout; k++) {
            const char *name = lam_model_layer(m, lam_model_output_id(m, k))->name;
            cJSON_AddStringToObject(lo, name, lam_loss_name(m->losses[k]));
            cJSON_AddNumberToObject(lw, name, (double)m->loss_weights[k]);
        }
    }
    cJSON *metrics = cJSON_AddArrayToObject(tc, "metrics");
    if (lam_model_loss(m) != LAM_LOSS_MSE) cJSON_AddItemToArray(metrics, cJSON_CreateString("accuracy"));
    cJSON *oc = cJSON_AddObjectToObject(tc, "optimizer_config");
    bool known = (unsigned)o->kind < LAM_OPT_COUNT;
    cJSON_AddStringToObject(oc, "class_name", known ? opt_class[o->kind] : "?");
    cJSON *c = cJSON_AddObjectToObject(oc, "config");
    /* (double)float prints with 17 digits when needed and parses back to the
     * same float: a resumed run sees bit-identical hyperparameters. */
    cJSON_AddStringToObject(c, "name", known ? opt_name[o->kind] : "?");
    bool scheduled = o->schedule.kind > LAM_SCHEDULE_NONE && o->schedule.kind < LAM_SCHEDULE_COUNT;
    if (scheduled) cJSON_AddItemToObject(c, "learning_rate", schedule_to_cjson(o));
    else cJSON_AddNumberToObject(c, "learning_rate", (double)o->learning_rate);
    add_optional(c, "weight_decay", o->weight_decay);
    if (o->exclude_from_weight_decay[0]) /* lamina's: Keras does not save it */
        cJSON_AddStringToObject(c, "exclude_from_weight_decay", o->exclude_from_weight_decay);
    add_optional(c, "clipnorm", o->clipnorm);
    add_optional(c, "global_clipnorm", o->global_clipnorm);
    add_optional(c, "clipvalue", o->clipvalue);
    switch (o->kind) {
    case LAM_OPT_ADAM:
    case LAM_OPT_ADAMW:
    case LAM_OPT_ADAMAX:
    case LAM_OPT_NADAM:
        cJSON_AddNumberToObject(c, "beta_1", (double)o->beta_1);
        cJSON_AddNumberToObject(c, "beta_2", (double)o->beta_2);
        cJSON_AddNumberToObject(c, "epsilon", (double)o->epsilon);
        if (o->kind == LAM_OPT_ADAM || o->kind == LAM_OPT_ADAMW)
            cJSON_AddBoolToObject(c, "amsgrad", o->amsgrad);
        break;
    case LAM_OPT_SGD:
        cJSON_AddNumberToObject(c, "momentum", (double)o->momentum);
        cJSON_AddBoolToObject(c, "nesterov", o->nesterov);
        break;
    case LAM_OPT_RMSPROP:
        cJSON_AddNumberToObject(c, "rho", (double)o->rho);
        cJSON_AddNumberToObject(c, "momentum", (double)o->momentum);
        cJSON_AddNumberToObject(c, "epsilon", (double)o->epsilon);
        cJSON_AddBoolToObject(c, "centered", o->centered);
        break;
    case LAM_OPT_ADAGRAD:
        cJSON_AddNumberToObject(c, "initial_accumulator_value",
                                (double)o->initial_accumulator_value);
        cJSON_AddNumberToObject(c, "epsilon", (double)o->epsilon);
        break;
    default:
        break;
    }
    /* Every item above allocates; the last one of each object tells whether it all did. */
    const cJSON *lr = cJSON_GetObjectItemCaseSensitive(c, "learning_rate");
    bool ok = tc && metrics && oc && c && lr && cJSON_GetObjectItemCaseSensitive(c, "clipvalue");
    if (ok && scheduled) {
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(lr, "config");
        ok = sc && cJSON_GetObjectItemCaseSensitive(lr, "registered_name") &&
             cJSON_GetObjectItemCaseSensitive(sc, "name");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(sc, "values");
        if (ok && o->schedule.kind == LAM_SCHEDULE_PIECEWISE_CONSTANT)
            ok = cJSON_GetArraySize(v) == o->schedule.n_boundaries + 1 &&
                 cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sc, "boundaries")) ==
                     o->schedule.n_boundaries;
    }
    if (!ok) {
        cJSON_Delete(tc);
        lam_error(LAM_ERR_NOMEM, "model \"%s\": out of memory writing training_config",
                  lam_model_name(m));
        return NULL;
    }
    return tc;
}

static lam_status opt_float(const cJSON *c, const char *key, const char *src, float *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);
    if (!v) return LAM_OK; /* Keras's default stays */
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return lam_error(LAM_ERR_FORMAT, "%s: training_config: optimizer %s is not a number",
                         src, key);
    *out = (float)v->valuedouble;
    return LAM_OK;
}

/* Keras's optional numbers: null (or absent) is off, 0 here. */
static lam_status opt_optional(const cJSON *c, const char *key, const char *src, float *out)
{
    if (is_null(cJSON_GetObjectItemCaseSensitive(c, key))) return LAM_OK;
    return opt_float(c, key, src, out);
}

static lam_status opt_bool(const cJSON *c, const char *key, const char *src, bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);
    if (!v) return LAM_OK;
    if (!cJSON_IsBool(v))
        return lam_error(LAM_ERR_FORMAT, "%s: training_config: optimizer %s is not true or "
                         "false", src, key);
    *out = cJSON_IsTrue(v);
    return LAM_OK;
}

static lam_status opt_steps(const cJSON *c, const char *key, const char *src, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);
    if (!v) return LAM_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > 9007199254740992.0)
        return lam_error(LAM_ERR_FORMAT, "%s: training_config: learning-rate schedule %s is "
                         "not a whole number", src, key);
    *out = (int64_t)v->valuedouble;
    return LAM_OK;
}

/* A Keras-serialised LearningRateSchedule (Keras 3 or tf.keras 2 form). */
static lam_status schedule_parse(const cJSON *lr, const char *src, lam_optimizer *opt)
{
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(lr, "class_name");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(lr, "config");
    if (!cJSON_IsString(cn) || !cJSON_IsObject(c))
        return lam_error(LAM_ERR_FORMAT, "%s: training_config: optimizer learning_rate is "
                         "neither a number nor a schedule with class_name and config", src);
    lam_schedule *s = &opt->schedule;
    memset(s, 0, sizeof *s);
    for (int k = 1; k < LAM_SCHEDULE_COUNT; k++)
        if (strcmp(cn->valuestring, schedule_class[k]) == 0) s->kind = (lam_schedule_kind)k;
    if (s->kind == LAM_SCHEDULE_NONE)
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: training_config: learning-rate schedule %s "
                         "is not supported; lamina has ExponentialDecay, PiecewiseConstantDecay, "
                         "CosineDecay and InverseTimeDecay", src, cn->valuestring);
    if (s->kind == LAM_SCHEDULE_PIECEWISE_CONSTANT) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(c, "boundaries");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "values");
        int nb = cJSON_GetArraySize(b), nv = cJSON_GetArraySize(v);
        if (!cJSON_IsArray(b) || !cJSON_IsArray(v) || nb < 1 ||
            nb > LAM_SCHEDULE_MAX_VALUES - 1 || nv != nb + 1)
            return lam_error(LAM_ERR_FORMAT, "%s: training_config: PiecewiseConstantDecay needs "
                             "1 to %d boundaries and one more values", src,
                             LAM_SCHEDULE_MAX_VALUES - 1);
        s->n_boundaries = nb;
        for (int i = 0; i < nv; i++) {
            const cJSON *x = cJSON_GetArrayItem(v, i), *y = cJSON_GetArrayItem(b, i);
            if (!cJSON_IsNumber(x) ||
                (i < nb && (!cJSON_IsNumber(y) || y->valuedouble != floor(y->valuedouble) ||
                            fabs(y->valuedouble) > 9007199254740992.0)))
                return lam_error(LAM_ERR_FORMAT, "%s: training_config: PiecewiseConstantDecay "
                                 "boundaries must be whole numbers and values numbers", src);
            s->values[i] = (float)x->valuedouble;
            if (i < nb) s->boundaries[i] = (int64_t)y->valuedouble;
        }
        opt->learning_rate = s->values[0];
        return LAM_OK;
    }
    LAM_TRY(opt_float(c, "initial_learning_rate", src, &opt->learning_rate));
    LAM_TRY(opt_steps(c, "decay_steps", src, &s->decay_steps));
    LAM_TRY(opt_float(c, "decay_rate", src, &s->decay_rate));
    LAM_TRY(opt_bool(c, "staircase", src, &s->staircase));
    LAM_TRY(opt_float(c, "alpha", src, &s->alpha));
    LAM_TRY(opt_optional(c, "warmup_target", src, &s->warmup_target));
    LAM_TRY(opt_steps(c, "warmup_steps", src, &s->warmup_steps));
    return LAM_OK;
}

lam_status lam_training_config_output_losses(const cJSON *tc, const char *src, lam_model *m)
{
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(tc, "loss");
    const cJSON *lw = cJSON_GetObjectItemCaseSensitive(tc, "loss_weights");
    if (!cJSON_IsObject(lo)) return LAM_OK; /* one loss for every output */
    if (lw && !cJSON_IsObject(lw))
        return lam_error(LAM_ERR_FORMAT, "%s: training_config: loss_weights is not an object", src);
    for (const cJSON *e = lo->child; e; e = e->next) {
        int k = 0;
        while (k < lam_model_num_outputs(m) &&
               strcmp(lam_model_layer(m, lam_model_output_id(m, k))->name, e->string) != 0)
            k++;
        if (k == lam_model_num_outputs(m))
            return lam_error(LAM_ERR_FORMAT, "%s: training_config: loss of \"%s\", which is no "
                             "output of the model", src, e->string);
        if (!cJSON_IsString(e))
            return lam_error(LAM_ERR_FORMAT, "%s: training_config: loss of \"%s\" is not a "
                             "string", src, e->string);
        lam_loss loss;
        lam_status st = lam_loss_parse(e->valuestring, &loss);
        if (st != LAM_OK) return lam_error_context(st, "%s: training_config", src);
        const cJSON *w = lw ? cJSON_GetObjectItemCaseSensitive(lw, e->string) : NULL;
        if (w && !cJSON_IsNumber(w))
            return lam_error(LAM_ERR_FORMAT, "%s: training_config: loss_weights of \"%s\" is "
                             "not a number", src, e->string);
        st = lam_model_set_output_loss(m, k, loss, w ? (float)w->valuedouble : 1.0f);
        if (st != LAM_OK) return lam_error_context(st, "%s: training_config", src);
    }
    return LAM_OK;
}

lam_status lam_training_config_parse(const cJSON *tc, const char *src, lam_optimizer *opt,
                                     lam_loss *loss)
{
    if (!cJSON_IsObject(tc))
        return lam_error(LAM_ERR_FORMAT, "%s: training_config is not a JSON object", src);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(tc, "loss");
    if (cJSON_IsObject(l)) l = l->child; /* per output: compile with the first, then each */
    if (!cJSON_IsString(l))
        return lam_error(LAM_ERR_FORMAT, "%s: training_config has no \"loss\" string (or "
                         "object of strings)", src);
    lam_status st = lam_loss_parse(l->valuestring, loss);
    if (st != LAM_OK) return lam_error_context(st, "%s: training_config", src);
    const cJSON *oc = cJSON_GetObjectItemCaseSensitive(tc, "optimizer_config");
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(oc, "class_name");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(oc, "config");
    if (!cJSON_IsString(cn) || !cJSON_IsObject(c))
        return lam_error(LAM_ERR_FORMAT, "%s: training_config has no optimizer_config with "
                         "class_name and config", src);
    int kind = -1;
    for (int k = 0; k < LAM_OPT_COUNT; k++)
        if (strcasecmp(cn->valuestring, opt_class[k]) == 0) kind = k;
    if (kind < 0)
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: training_config: optimizer %s is not "
                         "supported; lamina has Adam, AdamW, SGD, RMSprop, Adagrad, Adamax and "
                         "Nadam", src, cn->valuestring);
    if (lam_optimizer_parse(opt_name[kind], opt) != LAM_OK)
        return lam_error(LAM_ERR_STATE, "%s: training_config: optimizer %s", src, opt_name[kind]);
    const cJSON *lr = cJSON_GetObjectItemCaseSensitive(c, "learning_rate");
    if (cJSON_IsObject(lr)) LAM_TRY(schedule_parse(lr, src, opt));
    else LAM_TRY(opt_float(c, "learning_rate", src, &opt->learning_rate));
    LAM_TRY(opt_float(c, "beta_1", src, &opt->beta_1));
    LAM_TRY(opt_float(c, "beta_2", src, &opt->beta_2));
    LAM_TRY(opt_float(c, "epsilon", src, &opt->epsilon));
    LAM_TRY(opt_float(c, "momentum", src, &opt->momentum));
    LAM_TRY(opt_float(c, "rho", src, &opt->rho));
    LAM_TRY(opt_float(c, "initial_accumulator_value", src, &opt->initial_accumulator_value));
    LAM_TRY(opt_optional(c, "weight_decay", src, &opt->weight_decay));
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(c, "exclude_from_weight_decay");
    if (ex) {
        if (!cJSON_IsString(ex) ||
            strlen(ex->valuestring) >= sizeof opt->exclude_from_weight_decay)
            return lam_error(LAM_ERR_FORMAT, "%s: optimizer_config \"exclude_from_weight_decay\" "
                             "is not a string of at most %zu characters", src,
                             sizeof opt->exclude_from_weight_decay - 1);
        strcpy(opt->exclude_from_weight_decay, ex->valuestring);
    }
    LAM_TRY(opt_optional(c, "clipnorm", src, &opt->clipnorm));
    LAM_TRY(opt_optional(c, "clipvalue", src, &opt->clipvalue));
    LAM_TRY(opt_optional(c, "global_clipnorm", src, &opt->global_clipnorm));
    LAM_TRY(opt_bool(c, "nesterov", src, &opt->nesterov));
    LAM_TRY(opt_bool(c, "amsgrad", src, &opt->amsgrad));
    LAM_TRY(opt_bool(c, "centered", src, &opt->centered));
    /* Keras options lamina does not implement must not load as if absent. */
    static const char *const unsupported[] = {"use_ema", "loss_scale_factor",
                                              "gradient_accumulation_steps"};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, unsupported[i]);
        if (v && !is_null(v) && !cJSON_IsFalse(v) &&
            !(cJSON_IsNumber(v) && v->valuedouble == 0.0)) {
            char val[64];
            value_str(v, val, sizeof val);
            return lam_error(LAM_ERR_UNSUPPORTED, "%s: training_config: optimizer %s has %s = "
                             "%s; lamina does not implement it", src, cn->valuestring,
                             unsupported[i], val);
        }
    }
    st = lam_optimizer_check(opt);
    if (st != LAM_OK) return lam_error_context(st, "%s: training_config", src);
    return LAM_OK;
}
