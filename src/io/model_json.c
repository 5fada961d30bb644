/* model_json.c - Keras model.to_json() text <-> lamina Sequential models.
 *
 * Reads both forms Keras writes: Keras 3 ({"module":"keras","class_name":
 * "Sequential","config":{"name","layers":[InputLayer with batch_shape, ...]}})
 * and tf.keras 2 ({"class_name":"Sequential","config":{...},"keras_version",
 * "backend"}, with batch_input_shape on the first layer or on an explicit
 * InputLayer). Writes the Keras 3 form.
 *
 * Policy: every config key is either mapped onto lam_layer_spec, known to be
 * harmless (names, dtype float32, Keras's default initialisers, null
 * regularisers, ...), or rejected. A value lamina does not implement is never
 * silently dropped: the model would train or predict differently from the
 * Keras one. Unknown keys whose value is null or false are accepted, since
 * Keras keeps adding such switched-off options (quantization_config, ...). */
#include "train/train.h"
#include "io/model_file.h"

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
                  "lamina supports linear, relu, sigmoid, tanh and softmax");
}

/* What a key does, and for which layer kinds. */
enum {
    H_IGNORE, H_TRUE, H_FALSE, H_NULL, H_ZERO, H_ONE, H_ONES, H_CHLAST, H_DTYPE,
    H_GLOROT, H_ZEROS, H_ORTHO, H_UNITS, H_KERNEL, H_STRIDES, H_POOL, H_PADDING, H_ACT,
    H_RACT, H_BOOL, H_RATE
};
#define KB(k) (1u << (k))
#define K_INPUT KB(LAM_LAYER_INPUT)
#define K_DENSE KB(LAM_LAYER_DENSE)
#define K_CONV KB(LAM_LAYER_CONV2D)
#define K_POOL (KB(LAM_LAYER_MAXPOOL2D) | KB(LAM_LAYER_AVGPOOL2D))
#define K_FLAT KB(LAM_LAYER_FLATTEN)
#define K_ACTV KB(LAM_LAYER_ACTIVATION)
#define K_DROP KB(LAM_LAYER_DROPOUT)
#define K_LSTM KB(LAM_LAYER_LSTM)
#define K_GRU KB(LAM_LAYER_GRU)
#define K_RNN KB(LAM_LAYER_SIMPLERNN)
#define K_REC (K_LSTM | K_GRU | K_RNN)
#define K_ALL 0xFFFFu
#define K_WEIGHTED (K_DENSE | K_CONV | K_REC)

typedef struct key_rule {
    const char *key;
    unsigned kinds;
    int how;
    size_t field; /* H_BOOL: offset of the bool in lam_layer_spec */
} key_rule;

static const key_rule rules[] = {
    /* Everywhere: identity and bookkeeping. */
    {"name", K_ALL, H_IGNORE, 0}, /* read before the rules run */
    {"trainable", K_ALL, H_TRUE, 0},
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
    {"filters", K_CONV, H_UNITS, 0},
    {"activation", K_DENSE | K_CONV | K_ACTV | K_REC, H_ACT, 0},
    {"recurrent_activation", K_LSTM | K_GRU, H_RACT, 0},
    {"use_bias", K_WEIGHTED, H_BOOL, offsetof(lam_layer_spec, use_bias)},
    {"kernel_initializer", K_WEIGHTED, H_GLOROT, 0},
    {"bias_initializer", K_WEIGHTED, H_ZEROS, 0},
    {"recurrent_initializer", K_REC, H_ORTHO, 0},
    {"kernel_regularizer", K_WEIGHTED, H_NULL, 0},
    {"bias_regularizer", K_WEIGHTED, H_NULL, 0},
    {"recurrent_regularizer", K_REC, H_NULL, 0},
    {"activity_regularizer", K_WEIGHTED, H_NULL, 0},
    {"kernel_constraint", K_WEIGHTED, H_NULL, 0},
    {"bias_constraint", K_WEIGHTED, H_NULL, 0},
    {"recurrent_constraint", K_REC, H_NULL, 0},
    {"quantization_config", K_WEIGHTED, H_NULL, 0},
    {"lora_rank", K_WEIGHTED, H_NULL, 0},
    /* Convolution and pooling. */
    {"kernel_size", K_CONV, H_KERNEL, 0},
    {"strides", K_CONV | K_POOL, H_STRIDES, 0},
    {"pool_size", K_POOL, H_POOL, 0},
    {"padding", K_CONV | K_POOL, H_PADDING, 0},
    {"data_format", K_CONV | K_POOL | K_FLAT, H_CHLAST, 0},
    {"dilation_rate", K_CONV, H_ONES, 0},
    {"groups", K_CONV, H_ONE, 0},
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
    {"zero_output_for_mask", K_REC, H_IGNORE, 0}, /* lamina has no masking */
};

static lam_status apply_rule(const lctx *c, const key_rule *r, const cJSON *v, lam_layer_spec *s)
{
    const char *key = r->key;
    int pair[2];
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
    case H_ZERO:
        return is_null(v) || (cJSON_IsNumber(v) && v->valuedouble == 0.0)
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports only 0.0");
    case H_ONE:
        return cJSON_IsNumber(v) && v->valuedouble == 1.0
                   ? LAM_OK : reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports only 1");
    case H_ONES:
        return get_pair(v, 1, 1, pair)
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports only 1 or [1, 1]");
    case H_CHLAST:
        return is_null(v) || is_str(v, "channels_last")
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina supports only \"channels_last\" (NHWC)");
    case H_DTYPE:
        return dtype_ok(v) ? LAM_OK
               : reject(c, LAM_ERR_UNSUPPORTED, key, v, "lamina supports only float32");
    case H_GLOROT:
        return is_null(v) || init_is(v, "GlorotUniform", "glorot_uniform")
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina initialises kernels with GlorotUniform only");
    case H_ZEROS:
        return is_null(v) || init_is(v, "Zeros", "zeros")
                   ? LAM_OK
                   : reject(c, LAM_ERR_UNSUPPORTED, key, v,
                            "lamina initialises biases with Zeros only");
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
        return get_pair(v, 1, 1 << 16, s->kernel)
                   ? LAM_OK
                   : reject(c, LAM_ERR_FORMAT, key, v,
                            "expected a positive integer or a list of two");
    case H_STRIDES:
        if (is_null(v) && s->kind != LAM_LAYER_CONV2D) {
            s->strides[0] = s->strides[1] = 0; /* Keras: None = the pool size */
            return LAM_OK;
        }
        return get_pair(v, 1, 1 << 16, s->strides)
                   ? LAM_OK
                   : reject(c, LAM_ERR_FORMAT, key, v,
                            "expected a positive integer or a list of two");
    case H_POOL:
        return get_pair(v, 1, 1 << 16, s->pool)
                   ? LAM_OK
                   : reject(c, LAM_ERR_FORMAT, key, v,
                            "expected a positive integer or a list of two");
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
    }
    return LAM_OK;
}

static const struct { const char *cls; lam_layer_kind kind; } classes[] = {
    {"InputLayer", LAM_LAYER_INPUT},       {"Dense", LAM_LAYER_DENSE},
    {"Conv2D", LAM_LAYER_CONV2D},          {"Convolution2D", LAM_LAYER_CONV2D},
    {"MaxPooling2D", LAM_LAYER_MAXPOOL2D}, {"MaxPool2D", LAM_LAYER_MAXPOOL2D},
    {"AveragePooling2D", LAM_LAYER_AVGPOOL2D}, {"AvgPool2D", LAM_LAYER_AVGPOOL2D},
    {"Flatten", LAM_LAYER_FLATTEN},        {"Activation", LAM_LAYER_ACTIVATION},
    {"Dropout", LAM_LAYER_DROPOUT},        {"LSTM", LAM_LAYER_LSTM},
    {"GRU", LAM_LAYER_GRU},                {"SimpleRNN", LAM_LAYER_SIMPLERNN},
};

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

/* One entry of "layers" -> a spec; *cfg_out is its config object. */
static lam_status parse_layer(const char *src, int index, const cJSON *layer,
                              lam_layer_spec *s, const cJSON **cfg_out)
{
    char where[32];
    snprintf(where, sizeof where, "#%d", index);
    lctx c = {src, where, "?"};
    if (!cJSON_IsObject(layer))
        return lam_error(LAM_ERR_FORMAT, "%s: layer #%d is not a JSON object", src, index);
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(layer, "class_name");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(layer, "config");
    if (!cJSON_IsString(cn))
        return lam_error(LAM_ERR_FORMAT, "%s: layer #%d has no \"class_name\" string", src, index);
    c.cls = cn->valuestring;
    if (!cJSON_IsObject(cfg))
        return lam_error(LAM_ERR_FORMAT, "%s: layer #%d (%s) has no \"config\" object", src,
                         index, c.cls);
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cfg, "name");
    if (cJSON_IsString(nm)) c.name = nm->valuestring;
    int k = -1;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(classes[i].cls, c.cls) == 0) k = (int)classes[i].kind;
    if (k < 0)
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: layer \"%s\" (%s): layer class %s is not "
                         "supported; lamina reads InputLayer, Dense, Conv2D, MaxPooling2D, "
                         "AveragePooling2D, Flatten, Activation, Dropout, LSTM, GRU and "
                         "SimpleRNN", src, c.name, c.cls, c.cls);
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
            snprintf(key, sizeof key, "key \"%s\"", it->string);
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
    if ((k == LAM_LAYER_DENSE || k == LAM_LAYER_CONV2D || (KB(k) & K_REC)) &&
        !cJSON_GetObjectItemCaseSensitive(cfg, k == LAM_LAYER_CONV2D ? "filters" : "units"))
        return lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" (%s) has no \"%s\"", src, c.name,
                         c.cls, k == LAM_LAYER_CONV2D ? "filters" : "units");
    if (k == LAM_LAYER_ACTIVATION && !cJSON_GetObjectItemCaseSensitive(cfg, "activation"))
        return lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" (Activation) has no \"activation\"",
                         src, c.name);
    if (k == LAM_LAYER_SIMPLERNN) s->recurrent_activation = LAM_ACT_SIGMOID; /* unused */
    *cfg_out = cfg;
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
    if (strcmp(cn->valuestring, "Sequential") != 0)
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: model class %s is not supported; lamina "
                         "reads Sequential models", src, cn->valuestring);
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
    const cJSON *layers = NULL;
    const char *name = "sequential";
    if (cJSON_IsArray(cfg)) {
        layers = cfg; /* Keras <= 2.2: config is the list of layers */
    } else if (cJSON_IsObject(cfg)) {
        layers = cJSON_GetObjectItemCaseSensitive(cfg, "layers");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cfg, "name");
        if (cJSON_IsString(nm)) name = nm->valuestring;
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(cfg, "dtype");
        if (!dtype_ok(dt)) {
            char val[128];
            value_str(dt, val, sizeof val);
            return lam_error(LAM_ERR_UNSUPPORTED, "%s: model \"%s\": dtype is %s; lamina "
                             "supports only float32", src, name, val);
        }
    }
    if (!cJSON_IsArray(layers))
        return lam_error(LAM_ERR_FORMAT, "%s: config has no \"layers\" list", src);
    if (strlen(name) >= 64)
        return lam_error(LAM_ERR_FORMAT, "%s: model name \"%.40s...\" is longer than 63 bytes",
                         src, name);
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
                               "input shape is unknown", src, s.name, lam_layer_kind_name(s.kind));
                break;
            }
            lam_layer_spec in = lam_layer_defaults(LAM_LAYER_INPUT);
            lctx c = {src, s.name, lam_layer_kind_name(s.kind)};
            st = get_batch_shape(&c, key, bs, &in);
            if (st == LAM_OK) st = lam_model_add(m, &in);
            if (st != LAM_OK) {
                st = lam_error_context(st, "%s", src);
                break;
            }
        }
        st = lam_model_add(m, &s);
        if (st != LAM_OK)
            st = lam_error_context(st, "%s: layer #%d \"%s\" (%s)", src, index,
                                   s.name[0] ? s.name : "(automatic name)",
                                   lam_layer_kind_name(s.kind));
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

static cJSON *initializer(const char *cls, bool gain)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "module", "keras.initializers");
    cJSON_AddStringToObject(o, "class_name", cls);
    cJSON *cfg = cJSON_AddObjectToObject(o, "config");
    if (strcmp(cls, "Zeros") != 0) cJSON_AddNullToObject(cfg, "seed");
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

/* One layer in Keras 3's form, with the keys Keras itself writes so that
 * keras.models.model_from_json can read it. */
static cJSON *layer_json(const lam_model *m, int i)
{
    const lam_layer_spec *s = lam_model_layer(m, i);
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "module", "keras.layers");
    cJSON_AddStringToObject(l, "class_name", lam_layer_kind_name(s->kind));
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
    bool rec = s->kind == LAM_LAYER_LSTM || s->kind == LAM_LAYER_GRU ||
               s->kind == LAM_LAYER_SIMPLERNN;
    switch (s->kind) {
    case LAM_LAYER_DENSE:
        cJSON_AddNumberToObject(cfg, "units", s->units);
        cJSON_AddStringToObject(cfg, "activation", lam_activation_name(s->activation));
        add_weight_keys(cfg, s, false);
        break;
    case LAM_LAYER_CONV2D:
        cJSON_AddNumberToObject(cfg, "filters", s->units);
        add_pair(cfg, "kernel_size", s->kernel[0], s->kernel[1]);
        add_pair(cfg, "strides", s->strides[0], s->strides[1]);
        cJSON_AddStringToObject(cfg, "padding", s->padding == LAM_PAD_SAME ? "same" : "valid");
        cJSON_AddStringToObject(cfg, "data_format", "channels_last");
        add_pair(cfg, "dilation_rate", 1, 1);
        cJSON_AddNumberToObject(cfg, "groups", 1);
        cJSON_AddStringToObject(cfg, "activation", lam_activation_name(s->activation));
        add_weight_keys(cfg, s, false);
        break;
    case LAM_LAYER_MAXPOOL2D:
    case LAM_LAYER_AVGPOOL2D:
        add_pair(cfg, "pool_size", s->pool[0], s->pool[1]);
        cJSON_AddStringToObject(cfg, "padding", s->padding == LAM_PAD_SAME ? "same" : "valid");
        /* 0 means "the pool size", which Keras spells null: the spec then
         * reads back unchanged. */
        if (s->strides[0] || s->strides[1]) add_pair(cfg, "strides", s->strides[0], s->strides[1]);
        else cJSON_AddNullToObject(cfg, "strides");
        cJSON_AddStringToObject(cfg, "data_format", "channels_last");
        break;
    case LAM_LAYER_FLATTEN:
        cJSON_AddStringToObject(cfg, "data_format", "channels_last");
        break;
    case LAM_LAYER_ACTIVATION:
        cJSON_AddStringToObject(cfg, "activation", lam_activation_name(s->activation));
        break;
    case LAM_LAYER_DROPOUT:
        cJSON_AddNumberToObject(cfg, "rate", (double)s->rate);
        cJSON_AddNullToObject(cfg, "noise_shape");
        cJSON_AddNullToObject(cfg, "seed");
        break;
    default:
        break;
    }
    if (rec) {
        cJSON_AddBoolToObject(cfg, "return_sequences", s->return_sequences);
        cJSON_AddBoolToObject(cfg, "return_state", s->return_state);
        cJSON_AddBoolToObject(cfg, "go_backwards", s->go_backwards);
        cJSON_AddBoolToObject(cfg, "stateful", false);
        cJSON_AddBoolToObject(cfg, "unroll", false);
        cJSON_AddNumberToObject(cfg, "units", s->units);
        cJSON_AddStringToObject(cfg, "activation", lam_activation_name(s->activation));
        if (s->kind != LAM_LAYER_SIMPLERNN)
            cJSON_AddStringToObject(cfg, "recurrent_activation",
                                    lam_activation_name(s->recurrent_activation));
        add_weight_keys(cfg, s, true);
        if (s->kind == LAM_LAYER_LSTM) cJSON_AddBoolToObject(cfg, "unit_forget_bias", s->unit_forget_bias);
        if (s->kind == LAM_LAYER_GRU) cJSON_AddBoolToObject(cfg, "reset_after", s->reset_after);
        cJSON_AddNumberToObject(cfg, "dropout", 0.0);
        cJSON_AddNumberToObject(cfg, "recurrent_dropout", 0.0);
        cJSON_AddNullToObject(cfg, "seed");
    }
    cJSON_AddNullToObject(l, "registered_name");
    return l;
}

lam_status lam_model_to_json(const lam_model *m, char **out)
{
    if (!m || !out) return lam_error(LAM_ERR_ARG, "lam_model_to_json: NULL argument");
    *out = NULL;
    if (lam_model_num_layers(m) < 1)
        return lam_error(LAM_ERR_STATE, "model \"%s\": no layers to write", lam_model_name(m));
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "module", "keras");
    cJSON_AddStringToObject(root, "class_name", "Sequential");
    cJSON *cfg = cJSON_AddObjectToObject(root, "config");
    cJSON_AddStringToObject(cfg, "name", lam_model_name(m));
    cJSON_AddBoolToObject(cfg, "trainable", true);
    cJSON_AddStringToObject(cfg, "dtype", "float32");
    cJSON *layers = cJSON_AddArrayToObject(cfg, "layers");
    bool ok = root && cfg && layers;
    for (int i = 0; ok && i < lam_model_num_layers(m); i++) {
        cJSON *l = layer_json(m, i);
        ok = l && cJSON_AddItemToArray(layers, l);
        if (l && !ok) cJSON_Delete(l);
    }
    cJSON_AddNullToObject(root, "registered_name");
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
    cJSON_AddStringToObject(tc, "loss", lam_loss_name(lam_model_loss(m)));
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

lam_status lam_training_config_parse(const cJSON *tc, const char *src, lam_optimizer *opt,
                                     lam_loss *loss)
{
    if (!cJSON_IsObject(tc))
        return lam_error(LAM_ERR_FORMAT, "%s: training_config is not a JSON object", src);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(tc, "loss");
    if (!cJSON_IsString(l))
        return lam_error(LAM_ERR_FORMAT, "%s: training_config has no \"loss\" string", src);
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
