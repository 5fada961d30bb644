/* test_model_json.c - functional models as Keras JSON: the Keras fixtures
 * (tests/make_json_fixtures.py) checked node by node against what Keras
 * said about them, round trips (load -> to_json -> load, and the layers
 * listed in reverse), every layer kind's config both ways, a table of
 * broken documents that must be refused naming the layer and the key, the
 * "Connected to" summary, and a functional model file saved and loaded
 * bit-identically.
 *
 * A fixture whose layers this build lacks (merging, normalisation, ... land
 * one by one) is still read: the test prints what it cannot check and
 * asserts that loading stops at a missing layer, naming it.
 *
 * With LAMINA_JSON_OUT=<dir> it also writes what lamina writes (models and
 * one file per layer kind) for tests/check_keras_json.py. */
#include "lamina.h"
#include "test.h"
#include "ops/op.h"
#include "io/model_file.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *json_out; /* LAMINA_JSON_OUT */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b) b[n] = '\0';
    fclose(f);
    return b;
}

static void write_out(const char *name, const char *text)
{
    if (!json_out) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", json_out, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Keras class -> kind, the test's own table (the reader's is private). */
static const struct { const char *cls; lam_layer_kind kind; } kinds[] = {
    {"InputLayer", LAM_LAYER_INPUT}, {"Dense", LAM_LAYER_DENSE}, {"Conv2D", LAM_LAYER_CONV2D},
    {"MaxPooling2D", LAM_LAYER_MAXPOOL2D}, {"AveragePooling2D", LAM_LAYER_AVGPOOL2D},
    {"Flatten", LAM_LAYER_FLATTEN}, {"Activation", LAM_LAYER_ACTIVATION},
    {"Dropout", LAM_LAYER_DROPOUT}, {"LSTM", LAM_LAYER_LSTM}, {"GRU", LAM_LAYER_GRU},
    {"SimpleRNN", LAM_LAYER_SIMPLERNN}, {"Add", LAM_LAYER_ADD}, {"Subtract", LAM_LAYER_SUBTRACT},
    {"Multiply", LAM_LAYER_MULTIPLY}, {"Average", LAM_LAYER_AVERAGE},
    {"Maximum", LAM_LAYER_MAXIMUM}, {"Minimum", LAM_LAYER_MINIMUM},
    {"Concatenate", LAM_LAYER_CONCATENATE}, {"Reshape", LAM_LAYER_RESHAPE},
    {"Permute", LAM_LAYER_PERMUTE}, {"RepeatVector", LAM_LAYER_REPEAT_VECTOR},
    {"BatchNormalization", LAM_LAYER_BATCH_NORM}, {"LayerNormalization", LAM_LAYER_LAYER_NORM},
    {"Conv1D", LAM_LAYER_CONV1D}, {"MaxPooling1D", LAM_LAYER_MAXPOOL1D},
    {"AveragePooling1D", LAM_LAYER_AVGPOOL1D},
    {"GlobalAveragePooling1D", LAM_LAYER_GLOBAL_AVGPOOL1D},
    {"GlobalAveragePooling2D", LAM_LAYER_GLOBAL_AVGPOOL2D},
    {"GlobalMaxPooling1D", LAM_LAYER_GLOBAL_MAXPOOL1D},
    {"GlobalMaxPooling2D", LAM_LAYER_GLOBAL_MAXPOOL2D},
    {"ZeroPadding2D", LAM_LAYER_ZERO_PADDING2D}, {"UpSampling2D", LAM_LAYER_UPSAMPLING2D},
    {"Bidirectional", LAM_LAYER_BIDIRECTIONAL}, {"Embedding", LAM_LAYER_EMBEDDING},
    {"PositionEmbedding", LAM_LAYER_POSITION_EMBEDDING},
    {"TokenAndPositionEmbedding", LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING},
    {"MultiHeadAttention", LAM_LAYER_MULTI_HEAD_ATTENTION},
    {"Normalization", LAM_LAYER_NORMALIZATION},
};

static int kind_of(const char *cls)
{
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kinds[i].cls, cls) == 0) return (int)kinds[i].kind;
    return -1;
}

static const char *class_name(lam_layer_kind k)
{
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (kinds[i].kind == k) return kinds[i].cls;
    return "?";
}

static bool available(lam_layer_kind k)
{
    return k == LAM_LAYER_INPUT || (lam_op_for(k) && lam_op_for(k)->build);
}

/* Every field JSON carries (conv_algo is lamina's own, not Keras's). */
static bool spec_equal(const lam_layer_spec *a, const lam_layer_spec *b, char *why, size_t n)
{
#define SAME(f)                                                    \
    if (memcmp(&a->f, &b->f, sizeof a->f) != 0) {                  \
        snprintf(why, n, "%s differs", #f);                        \
        return false;                                              \
    }
    SAME(kind) SAME(units) SAME(kernel) SAME(strides) SAME(pool) SAME(padding)
    SAME(activation) SAME(recurrent_activation) SAME(use_bias) SAME(rate)
    SAME(return_sequences) SAME(return_state) SAME(go_backwards) SAME(unit_forget_bias)
    SAME(reset_after) SAME(rank) SAME(axis) SAME(momentum) SAME(epsilon) SAME(center)
    SAME(scale) SAME(dims) SAME(repeats) SAME(pad) SAME(size) SAME(wrapped) SAME(merge_mode)
    SAME(input_dim) SAME(mask_zero) SAME(sequence_length) SAME(num_heads) SAME(key_dim)
    SAME(value_dim) SAME(output_dim) SAME(invert)
#undef SAME
    if (strcmp(a->name, b->name) != 0) {
        snprintf(why, n, "name \"%s\" vs \"%s\"", a->name, b->name);
        return false;
    }
    for (int d = 0; d < a->rank && d < 4; d++)
        if (a->shape[d] != b->shape[d]) {
            snprintf(why, n, "shape[%d] differs", d);
            return false;
        }
    return true;
}

/* Which call of its layer node i is (Keras's node_index). */
static int call_of(const lam_model *m, int i)
{
    int o = lam_model_node_owner(m, i), k = 0;
    for (int j = o; j < i; j++) k += lam_model_node_owner(m, j) == o;
    return k;
}

/* The node of layer `name`'s call k, or -1. */
static int node_of(const lam_model *m, const char *name, int k)
{
    for (int i = 0; i < lam_model_num_layers(m); i++)
        if (lam_model_node_owner(m, i) == i && strcmp(lam_model_layer(m, i)->name, name) == 0) {
            for (int j = i; j < lam_model_num_layers(m); j++)
                if (lam_model_node_owner(m, j) == i && k-- == 0) return j;
            return -1;
        }
    return -1;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The graph, independent of node numbering: one sorted line per node,
 * "layer#call <- in#call, ...: shape, params; outputs ...". */
static char *signature(const lam_model *m)
{
    int n = lam_model_num_layers(m);
    char **lines = calloc((size_t)n + 2, sizeof *lines);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        char buf[1024];
        int o = lam_model_node_owner(m, i), in[64];
        int k = snprintf(buf, sizeof buf, "%s#%d <-", lam_model_layer(m, o)->name, call_of(m, i));
        int ni = lam_model_node_inputs(m, i, 64, in);
        for (int a = 0; a < ni && a < 64; a++)
            k += snprintf(buf + k, sizeof buf - (size_t)k, " %s#%d",
                          lam_model_layer(m, lam_model_node_owner(m, in[a]))->name,
                          call_of(m, in[a]));
        int64_t d[4];
        int r = lam_model_layer_output_shape(m, i, d);
        k += snprintf(buf + k, sizeof buf - (size_t)k, ": (");
        for (int j = 0; j < r; j++) k += snprintf(buf + k, sizeof buf - (size_t)k, " %lld", (long long)d[j]);
        snprintf(buf + k, sizeof buf - (size_t)k, " ) params %lld",
                 (long long)lam_model_layer_param_count(m, o));
        lines[i] = strdup(buf);
        total += strlen(buf) + 1;
    }
    qsort(lines, (size_t)n, sizeof *lines, by_str);
    char io[2048];
    int k = snprintf(io, sizeof io, "inputs:");
    for (int j = 0; j < lam_model_num_inputs(m); j++)
        k += snprintf(io + k, sizeof io - (size_t)k, " %s", lam_model_layer(m, lam_model_input_id(m, j))->name);
    k += snprintf(io + k, sizeof io - (size_t)k, " outputs:");
    for (int j = 0; j < lam_model_num_outputs(m); j++) {
        int id = lam_model_output_id(m, j);
        k += snprintf(io + k, sizeof io - (size_t)k, " %s#%d",
                      lam_model_layer(m, lam_model_node_owner(m, id))->name, call_of(m, id));
    }
    char *s = malloc(total + strlen(io) + 2);
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(s, lines[i]);
        strcat(s, "\n");
        free(lines[i]);
    }
    strcat(s, io);
    free(lines);
    return s;
}

/* Node by node against Keras's account of the model (functional_expected.json). */
static void check_against_keras(const char *file, const lam_model *m, const cJSON *exp)
{
    const cJSON *layers = cJSON_GetObjectItem(exp, "layers");
    int nodes = 0;
    const cJSON *L;
    cJSON_ArrayForEach(L, layers) {
        const char *name = cJSON_GetObjectItem(L, "name")->valuestring;
        const cJSON *calls = cJSON_GetObjectItem(L, "calls");
        int k = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, calls) {
            int id = node_of(m, name, k);
            CHECK(id >= 0, "%s: layer %s call %d is not in the model", file, name, k);
            nodes++;
            if (id < 0) continue;
            if (k == 0)
                CHECK(lam_model_layer_param_count(m, id) ==
                          (int64_t)cJSON_GetObjectItem(L, "params")->valuedouble,
                      "%s: layer %s has %lld params, Keras count_params() %g", file, name,
                      (long long)lam_model_layer_param_count(m, id),
                      cJSON_GetObjectItem(L, "params")->valuedouble);
            else
                CHECK(lam_model_node_owner(m, id) == node_of(m, name, 0),
                      "%s: layer %s call %d is not a shared call of its first", file, name, k);
            /* Its inputs: exactly the tensors Keras recorded, in order. */
            const cJSON *ins = cJSON_GetObjectItem(c, "inputs");
            int want[64], nw = 0, got[64];
            const cJSON *r;
            cJSON_ArrayForEach(r, ins) {
                want[nw++] = node_of(m, cJSON_GetArrayItem(r, 0)->valuestring,
                                     cJSON_GetArrayItem(r, 1)->valueint);
            }
            int ng = lam_model_node_inputs(m, id, 64, got);
            CHECK(ng == nw && memcmp(got, want, sizeof(int) * (size_t)nw) == 0,
                  "%s: layer %s call %d reads %d nodes (first %d), Keras %d (first %d)", file,
                  name, k, ng, ng ? got[0] : -1, nw, nw ? want[0] : -1);
            /* Its output shape. */
            const cJSON *shape = cJSON_GetObjectItem(c, "shape");
            int64_t d[4];
            int rank = lam_model_layer_output_shape(m, id, d);
            bool same = rank == cJSON_GetArraySize(shape);
            for (int j = 0; same && j < rank; j++)
                same = d[j] == (int64_t)cJSON_GetArrayItem(shape, j)->valuedouble;
            CHECK(same, "%s: layer %s call %d has another output shape than Keras's", file,
                  name, k);
            k++;
        }
    }
    CHECK(lam_model_num_layers(m) == nodes, "%s: %d nodes, Keras's calls make %d", file,
          lam_model_num_layers(m), nodes);
    const cJSON *ins = cJSON_GetObjectItem(exp, "inputs"), *outs = cJSON_GetObjectItem(exp, "outputs");
    CHECK(lam_model_num_inputs(m) == cJSON_GetArraySize(ins), "%s: %d inputs", file,
          lam_model_num_inputs(m));
    for (int k = 0; k < lam_model_num_inputs(m) && k < cJSON_GetArraySize(ins); k++)
        CHECK(lam_model_input_id(m, k) == node_of(m, cJSON_GetArrayItem(ins, k)->valuestring, 0),
              "%s: input %d is not %s", file, k, cJSON_GetArrayItem(ins, k)->valuestring);
    CHECK(lam_model_num_outputs(m) == cJSON_GetArraySize(outs), "%s: %d outputs", file,
          lam_model_num_outputs(m));
    for (int k = 0; k < lam_model_num_outputs(m) && k < cJSON_GetArraySize(outs); k++) {
        const cJSON *o = cJSON_GetArrayItem(outs, k);
        CHECK(lam_model_output_id(m, k) == node_of(m, cJSON_GetArrayItem(o, 0)->valuestring,
                                                   cJSON_GetArrayItem(o, 1)->valueint),
              "%s: output %d is not %s", file, k, cJSON_GetArrayItem(o, 0)->valuestring);
        const cJSON *shape = cJSON_GetArrayItem(cJSON_GetObjectItem(exp, "output_shapes"), k);
        int64_t d[4];
        int rank = lam_model_output_shape(m, k, d);
        bool same = rank == cJSON_GetArraySize(shape);
        for (int j = 0; same && j < rank; j++)
            same = d[j] == (int64_t)cJSON_GetArrayItem(shape, j)->valuedouble;
        CHECK(same, "%s: output %d shape differs from Keras's", file, k);
    }
    double total = cJSON_GetObjectItem(exp, "count_params")->valuedouble;
    double trainable = cJSON_GetObjectItem(exp, "trainable_params")->valuedouble;
    CHECK(lam_model_param_count(m) + lam_model_state_count(m) == (int64_t)total &&
              lam_model_param_count(m) == (int64_t)trainable,
          "%s: %lld + %lld params, Keras %g (%g trainable)", file,
          (long long)lam_model_param_count(m), (long long)lam_model_state_count(m), total,
          trainable);
}

/* Every layer object of a fixture through the reader, the writer and the
 * reader again, whatever this build can compute. Returns the layer count. */
static int check_layers_both_ways(const char *file, const cJSON *doc, lam_layer_spec *specs,
                                  int max)
{
    const cJSON *layers = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "config"), "layers");
    int n = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, layers) {
        lam_layer_spec s, back;
        const char *cls = cJSON_GetObjectItem(l, "class_name")->valuestring;
        CHECK_OK(lam_layer_from_cjson(l, file, &s));
        CHECK((int)s.kind == kind_of(cls), "%s: %s read as kind %d", file, cls, s.kind);
        cJSON *w = lam_layer_to_cjson(&s);
        CHECK(w != NULL, "%s: writing %s", file, s.name);
        if (w) {
            CHECK_OK(lam_layer_from_cjson(w, file, &back));
            char why[128] = "";
            CHECK(spec_equal(&s, &back, why, sizeof why), "%s: layer %s (%s) after a round "
                  "trip: %s", file, s.name, cls, why);
            cJSON_Delete(w);
        }
        if (n < max) specs[n] = s;
        n++;
    }
    return n;
}

static const lam_layer_spec *find_spec(const lam_layer_spec *specs, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(specs[i].name, name) == 0) return &specs[i];
    return NULL;
}

/* What the reader must have taken from Keras's configs, layer by layer. */
static void check_parsed_values(const char *file, const lam_layer_spec *sp, int n)
{
    bool k2 = strstr(file, "tfkeras2") != NULL;
    const lam_layer_spec *s;
    if ((s = find_spec(sp, n, "zp")))
        CHECK(s->pad[0] == 1 && s->pad[1] == 2 && s->pad[2] == 3 && s->pad[3] == 4,
              "%s: zp pad %d %d %d %d", file, s->pad[0], s->pad[1], s->pad[2], s->pad[3]);
    if ((s = find_spec(sp, n, "up")))
        CHECK(s->size[0] == 2 && s->size[1] == 3, "%s: up size %d %d", file, s->size[0], s->size[1]);
    if ((s = find_spec(sp, n, "c1")))
        CHECK(s->units == 6 && s->kernel[0] == 3 && s->kernel[1] == 1 &&
                  s->padding == LAM_PAD_SAME && s->strides[0] == 1,
              "%s: c1 Conv1D(6, 3, same)", file);
    if ((s = find_spec(sp, n, "mp1")))
        CHECK(s->pool[0] == 2 && s->strides[0] == 2, "%s: mp1 pool %d strides %d", file,
              s->pool[0], s->strides[0]);
    if ((s = find_spec(sp, n, "ap1")))
        CHECK(s->pool[0] == 2 && s->strides[0] == 1, "%s: ap1 pool %d strides %d", file,
              s->pool[0], s->strides[0]);
    if ((s = find_spec(sp, n, "rs")))
        CHECK(s->rank == 2 && s->shape[0] == 3 && s->shape[1] == 1, "%s: rs target", file);
    if ((s = find_spec(sp, n, "pm")))
        CHECK(s->dims[0] == 2 && s->dims[1] == 1 && s->dims[2] == 0, "%s: pm dims", file);
    if ((s = find_spec(sp, n, "rv"))) CHECK(s->repeats == 4, "%s: rv n %d", file, s->repeats);
    if ((s = find_spec(sp, n, "bn")))
        CHECK(s->momentum == 0.99f && s->epsilon == 1e-3f && s->center && s->scale &&
                  s->axis == (k2 ? 1 : -1),
              "%s: bn momentum %g epsilon %g axis %d", file, s->momentum, s->epsilon, s->axis);
    if ((s = find_spec(sp, n, "ln")))
        CHECK(s->epsilon == 1e-3f && s->axis == (k2 ? 1 : -1), "%s: ln axis %d", file, s->axis);
    if ((s = find_spec(sp, n, "concat"))) CHECK(s->axis == -1, "%s: concat axis %d", file, s->axis);
    if ((s = find_spec(sp, n, "bi_lstm")))
        CHECK(s->wrapped == LAM_LAYER_LSTM && s->units == 8 && s->return_sequences &&
                  s->merge_mode == LAM_MERGE_CONCAT && s->activation == LAM_ACT_TANH &&
                  s->unit_forget_bias,
              "%s: bi_lstm", file);
    if ((s = find_spec(sp, n, "bi_gru")))
        CHECK(s->wrapped == LAM_LAYER_GRU && s->units == 4 && !s->return_sequences &&
                  s->merge_mode == LAM_MERGE_SUM && s->reset_after,
              "%s: bi_gru", file);
    if ((s = find_spec(sp, n, "bi_rnn")))
        CHECK(s->wrapped == LAM_LAYER_SIMPLERNN && s->units == 5 && s->merge_mode == LAM_MERGE_MUL,
              "%s: bi_rnn", file);
}

static void test_fixtures(void)
{
    char *text = slurp("fixtures/functional_expected.json");
    CHECK(text != NULL, "fixtures/functional_expected.json missing (run from tests/)");
    cJSON *all = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *models = cJSON_GetObjectItem(all, "models");
    CHECK(cJSON_GetArraySize(models) >= 10, "only %d fixtures", cJSON_GetArraySize(models));
    const cJSON *exp;
    int loaded = 0;
    cJSON_ArrayForEach(exp, models) {
        char path[512];
        snprintf(path, sizeof path, "fixtures/%s", exp->string);
        char *doc_text = slurp(path);
        CHECK(doc_text != NULL, "cannot read %s", path);
        if (!doc_text) continue;
        cJSON *doc = cJSON_Parse(doc_text);
        lam_layer_spec specs[64];
        int ns = check_layers_both_ways(path, doc, specs, 64);
        check_parsed_values(path, specs, ns < 64 ? ns : 64);
        /* The layers this build lacks. */
        char missing[512] = "";
        const cJSON *L;
        cJSON_ArrayForEach(L, cJSON_GetObjectItem(exp, "layers")) {
            const char *cls = cJSON_GetObjectItem(L, "class")->valuestring;
            CHECK(kind_of(cls) >= 0, "%s: class %s unknown to the test", path, cls);
            if (kind_of(cls) >= 0 && !available((lam_layer_kind)kind_of(cls)) &&
                !strstr(missing, cls) && strlen(missing) + strlen(cls) + 3 < sizeof missing) {
                if (missing[0]) strcat(missing, ", ");
                strcat(missing, cls);
            }
        }
        lam_model *m = NULL;
        lam_status st = lam_model_from_json(doc_text, path, &m);
        if (missing[0]) {
            /* Read up to the first call of a missing layer, which it names. */
            CHECK(st == LAM_ERR_UNSUPPORTED && m == NULL, "%s: status %d", path, st);
            CHECK(strstr(lam_last_error(), "not available in this build") != NULL,
                  "%s: %s", path, lam_last_error());
            bool named = false;
            cJSON_ArrayForEach(L, cJSON_GetObjectItem(exp, "layers")) {
                const char *cls = cJSON_GetObjectItem(L, "class")->valuestring;
                char needle[160];
                snprintf(needle, sizeof needle, "layer \"%s\" (%s)",
                         cJSON_GetObjectItem(L, "name")->valuestring, cls);
                if (kind_of(cls) >= 0 && !available((lam_layer_kind)kind_of(cls)) &&
                    strstr(lam_last_error(), needle))
                    named = true;
            }
            CHECK(named, "%s: the error names no missing layer: %s", path, lam_last_error());
            printf("  %s: cannot check the graph (this build lacks %s); read every layer "
                   "config both ways, stopped at: %s\n", path, missing, lam_last_error());
        } else {
            CHECK(st == LAM_OK, "%s: %s", path, lam_last_error());
        }
        if (m) {
            loaded++;
            check_against_keras(path, m, exp);
            /* load -> to_json -> load: the same graph, the same specs. */
            char *back = NULL, *back2 = NULL;
            CHECK_OK(lam_model_to_json(m, &back));
            lam_model *r = NULL;
            if (back) CHECK_OK(lam_model_from_json(back, "round trip", &r));
            if (r) {
                char *a = signature(m), *b = signature(r);
                CHECK(strcmp(a, b) == 0, "%s: round trip changed the graph:\n%s\nvs\n%s", path, a, b);
                free(a);
                free(b);
                for (int i = 0; i < lam_model_num_layers(m) && i < lam_model_num_layers(r); i++) {
                    char why[128] = "";
                    CHECK(spec_equal(lam_model_layer(m, i), lam_model_layer(r, i), why, sizeof why),
                          "%s: node %d after a round trip: %s", path, i, why);
                }
                CHECK_OK(lam_model_to_json(r, &back2));
                CHECK(back2 && strcmp(back, back2) == 0, "%s: to_json is not a fixed point", path);
                check_against_keras(path, r, exp);
                char name[600];
                snprintf(name, sizeof name, "lamina_%s", exp->string);
                write_out(name, back);
            }
            free(back);
            free(back2);
            lam_model_free(r);
            /* The layers listed in reverse: calls are made in a valid order anyway. */
            cJSON *rev = cJSON_Duplicate(doc, true);
            cJSON *ls = cJSON_GetObjectItem(cJSON_GetObjectItem(rev, "config"), "layers");
            cJSON *fresh = cJSON_CreateArray();
            while (cJSON_GetArraySize(ls) > 0) cJSON_AddItemToArray(fresh, cJSON_DetachItemFromArray(ls, 0));
            while (cJSON_GetArraySize(fresh) > 0)
                cJSON_AddItemToArray(ls, cJSON_DetachItemFromArray(fresh, cJSON_GetArraySize(fresh) - 1));
            cJSON_Delete(fresh);
            char *rtext = cJSON_PrintUnformatted(rev);
            lam_model *rm = NULL;
            CHECK_OK(lam_model_from_json(rtext, "reversed", &rm));
            if (rm) {
                char *a = signature(m), *b = signature(rm);
                CHECK(strcmp(a, b) == 0, "%s: reversed layer list gives another graph", path);
                CHECK(lam_model_layer(rm, 0)->kind == LAM_LAYER_INPUT &&
                          lam_model_input_id(rm, 0) == 0,
                      "%s: inputs are not made first", path);
                free(a);
                free(b);
            }
            lam_model_free(rm);
            free(rtext);
            cJSON_Delete(rev);
            lam_model_free(m);
        }
        cJSON_Delete(doc);
        free(doc_text);
    }
    /* functional_shared and functional_rnn need only layers every build has. */
    CHECK(loaded >= 4, "only %d fixtures loaded whole", loaded);
    cJSON_Delete(all);
}

/* One spec per kind with values unlike the defaults, through the writer and
 * the reader. */
static void test_every_kind_both_ways(void)
{
    for (int k = 0; k < LAM_LAYER_KIND_COUNT; k++) {
        lam_layer_spec s = lam_layer_defaults((lam_layer_kind)k), back;
        snprintf(s.name, sizeof s.name, "layer_%d", k);
        switch ((lam_layer_kind)k) {
        case LAM_LAYER_INPUT: s.rank = 3; s.shape[0] = 5; s.shape[1] = 6; s.shape[2] = 2; break;
        case LAM_LAYER_DENSE: s.units = 7; s.activation = LAM_ACT_SIGMOID; s.use_bias = false; break;
        case LAM_LAYER_CONV2D:
            s.units = 3; s.kernel[0] = 2; s.kernel[1] = 4; s.strides[0] = 2; s.strides[1] = 3;
            s.padding = LAM_PAD_SAME; s.activation = LAM_ACT_RELU; break;
        case LAM_LAYER_MAXPOOL2D: case LAM_LAYER_AVGPOOL2D:
            s.pool[0] = 3; s.pool[1] = 2; s.strides[0] = 1; s.strides[1] = 2; s.padding = LAM_PAD_SAME; break;
        case LAM_LAYER_ACTIVATION: s.activation = LAM_ACT_SOFTMAX; break;
        case LAM_LAYER_DROPOUT: s.rate = 0.3f; break;
        case LAM_LAYER_LSTM: case LAM_LAYER_GRU: case LAM_LAYER_SIMPLERNN:
            s.units = 9; s.return_sequences = true; s.go_backwards = true;
            s.activation = LAM_ACT_RELU;
            if (k != LAM_LAYER_SIMPLERNN) s.recurrent_activation = LAM_ACT_TANH;
            s.unit_forget_bias = k != LAM_LAYER_LSTM; s.reset_after = k != LAM_LAYER_GRU; break;
        case LAM_LAYER_CONCATENATE: s.axis = 1; break;
        case LAM_LAYER_RESHAPE: s.rank = 3; s.shape[0] = 2; s.shape[1] = -1; s.shape[2] = 4; break;
        case LAM_LAYER_PERMUTE: s.dims[0] = 3; s.dims[1] = 1; s.dims[2] = 2; break;
        case LAM_LAYER_REPEAT_VECTOR: s.repeats = 5; break;
        case LAM_LAYER_BATCH_NORM:
            s.axis = -2; s.momentum = 0.9f; s.epsilon = 1e-5f; s.center = false; break;
        case LAM_LAYER_LAYER_NORM: s.axis = 2; s.epsilon = 1e-6f; s.scale = false; break;
        case LAM_LAYER_CONV1D:
            s.units = 5; s.kernel[0] = 4; s.strides[0] = 2; s.padding = LAM_PAD_SAME; break;
        case LAM_LAYER_MAXPOOL1D: case LAM_LAYER_AVGPOOL1D:
            s.pool[0] = 3; s.strides[0] = 2; s.strides[1] = 1; break;
        case LAM_LAYER_ZERO_PADDING2D: s.pad[0] = 0; s.pad[1] = 1; s.pad[2] = 2; s.pad[3] = 3; break;
        case LAM_LAYER_UPSAMPLING2D: s.size[0] = 3; s.size[1] = 1; break;
        case LAM_LAYER_BIDIRECTIONAL:
            s.wrapped = LAM_LAYER_GRU; s.units = 6; s.merge_mode = LAM_MERGE_AVE;
            s.return_sequences = true; s.reset_after = false; break;
        case LAM_LAYER_EMBEDDING: s.input_dim = 12; s.units = 5; s.mask_zero = true; break;
        case LAM_LAYER_POSITION_EMBEDDING: s.sequence_length = 17; break;
        case LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING:
            s.input_dim = 30; s.units = 6; s.sequence_length = 9; s.mask_zero = true; break;
        case LAM_LAYER_MULTI_HEAD_ATTENTION:
            s.num_heads = 3; s.key_dim = 5; s.value_dim = 2; s.output_dim = 7; s.rate = 0.25f;
            s.use_bias = false; break;
        case LAM_LAYER_NORMALIZATION: s.axis = 2; s.invert = true; break;
        default: break;
        }
        cJSON *w = lam_layer_to_cjson(&s);
        CHECK(w != NULL, "kind %d: writing", k);
        if (!w) continue;
        CHECK(strcmp(cJSON_GetObjectItem(w, "class_name")->valuestring, class_name((lam_layer_kind)k)) == 0,
              "kind %d written as %s", k, cJSON_GetObjectItem(w, "class_name")->valuestring);
        CHECK_OK(lam_layer_from_cjson(w, "kind", &back));
        char why[128] = "";
        CHECK(spec_equal(&s, &back, why, sizeof why), "kind %s: %s", class_name((lam_layer_kind)k), why);
        char *t = cJSON_PrintUnformatted(w);
        char name[96];
        snprintf(name, sizeof name, "layer_%s.json", class_name((lam_layer_kind)k));
        write_out(name, t);
        /* 0.3 reads as 0.3 in Keras, not 0.30000001192092896. */
        if (k == LAM_LAYER_DROPOUT) CHECK(strstr(t, "\"rate\":0.3,") != NULL, "%s", t);
        if (k == LAM_LAYER_BATCH_NORM) CHECK(strstr(t, "\"momentum\":0.9,") != NULL, "%s", t);
        free(t);
        cJSON_Delete(w);
    }
}

/* A broken document: the base fixture with one thing changed. */
typedef struct broken {
    const char *base;  /* fixture file */
    const char *layer; /* whose object changes ("" = the model config) */
    const char *where; /* "config", "node0", "kwargs0", "history0", "model" */
    const char *key;
    const char *value; /* JSON text; NULL removes the key */
    lam_status st;
    const char *needle1, *needle2;
} broken;

static cJSON *layer_obj(cJSON *doc, const char *name)
{
    cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "config"), "layers"))
        if (strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "config"), "name")->valuestring, name) == 0)
            return l;
    return NULL;
}

static void set_key(cJSON *obj, const char *key, const char *value)
{
    cJSON_DeleteItemFromObject(obj, key);
    if (value) cJSON_AddItemToObject(obj, key, cJSON_Parse(value));
}

static void test_broken(void)
{
    static const broken cases[] = {
        {"functional_shared_keras3", "flat", "layer", "class_name", "\"Flattenz\"",
         LAM_ERR_UNSUPPORTED, "layer \"flat\" (Flattenz)", "not supported"},
        {"functional_shared_keras3", "drop", "kwargs0", "training", "true",
         LAM_ERR_UNSUPPORTED, "layer \"drop\" (Dropout)", "inbound_nodes[0] kwargs \"training\""},
        {"functional_shared_keras3", "head_left", "kwargs0", "mask", "[1]",
         LAM_ERR_UNSUPPORTED, "layer \"head_left\" (Dense)", "kwargs \"mask\""},
        {"functional_shared_keras3", "embed", "history0", "2", "1",
         LAM_ERR_FORMAT, "layer \"embed\" (Dense): inbound_nodes[0]", "tensor index must be 0"},
        {"functional_shared_keras3", "embed", "history0", "0", "\"nowhere\"",
         LAM_ERR_FORMAT, "layer \"embed\" (Dense): inbound_nodes[0]", "names layer \"nowhere\""},
        {"functional_shared_keras3", "squash", "history0", "1", "5",
         LAM_ERR_FORMAT, "layer \"squash\" (Activation): inbound_nodes[0]", "node index 5"},
        {"functional_shared_keras3", "conv", "history0", "0", "\"embed\"",
         LAM_ERR_FORMAT, "layer \"conv\" (Conv2D)", "can never be computed"},
        {"functional_shared_keras3", "conv", "config", "dilation_rate", "[2, 2]",
         LAM_ERR_UNSUPPORTED, "layer \"conv\" (Conv2D)", "dilation_rate"},
        {"functional_shared_keras3", "embed", "config", "kernel_regularizer",
         "{\"class_name\": \"L2\", \"config\": {\"l2\": 0.01}}",
         LAM_ERR_UNSUPPORTED, "layer \"embed\" (Dense)", "kernel_regularizer"},
        {"functional_shared_keras3", "pool", "config", "foo", "3",
         LAM_ERR_UNSUPPORTED, "layer \"pool\" (MaxPooling2D)", "key \"foo\""},
        {"functional_shared_keras3", "squash", "config", "name", "\"drop\"",
         LAM_ERR_FORMAT, "two layers are named \"drop\"", "<json>"},
        {"functional_shared_keras3", "embed", "node0", "args", "[1, 2]",
         LAM_ERR_FORMAT, "layer \"embed\" (Dense): inbound_nodes[0]", "\"args\""},
        {"functional_shared_keras3", "embed", "layer", "inbound_nodes", "[]",
         LAM_ERR_FORMAT, "layer \"embed\" (Dense)", "never called"},
        {"functional_shared_keras3", "", "model", "output_layers", "[[\"nothing\", 0, 0]]",
         LAM_ERR_FORMAT, "output_layers[0]", "\"nothing\""},
        {"functional_shared_keras3", "", "model", "input_layers", "[[\"left\", 0, 0]]",
         LAM_ERR_FORMAT, "InputLayer \"right\"", "input_layers"},
        {"functional_shared_keras3", "", "model", "input_layers", "[[\"conv\", 0, 0], [\"right\", 0, 0]]",
         LAM_ERR_FORMAT, "input_layers[0]", "not an InputLayer"},
        {"functional_shared_keras3", "", "model", "output_layers", "[[\"embed\", 2, 0]]",
         LAM_ERR_FORMAT, "output_layers[0]", "node index past"},
        {"functional_shared_tfkeras2", "drop", "kwargs0", "training", "true",
         LAM_ERR_UNSUPPORTED, "layer \"drop\" (Dropout)", "kwargs \"training\""},
        {"functional_shared_tfkeras2", "head_left", "history0", "2", "3",
         LAM_ERR_FORMAT, "layer \"head_left\" (Dense): inbound_nodes[0]", "tensor index"},
        {"functional_layers_keras3", "up", "config", "interpolation", "\"bilinear\"",
         LAM_ERR_UNSUPPORTED, "layer \"up\" (UpSampling2D)", "interpolation"},
        {"functional_layers_keras3", "zp", "config", "padding", "[[1, 2, 3]]",
         LAM_ERR_FORMAT, "layer \"zp\" (ZeroPadding2D)", "padding"},
        {"functional_layers_keras3", "c1", "config", "padding", "\"causal\"",
         LAM_ERR_UNSUPPORTED, "layer \"c1\" (Conv1D)", "padding"},
        {"functional_layers_keras3", "pm", "config", "dims", "[1, 1]",
         LAM_ERR_FORMAT, "layer \"pm\" (Permute)", "permutation"},
        {"functional_layers_keras3", "rs", "config", "target_shape", "[-1, -1]",
         LAM_ERR_FORMAT, "layer \"rs\" (Reshape)", "one -1"},
        {"functional_layers_keras3", "gap1", "config", "keepdims", "true",
         LAM_ERR_UNSUPPORTED, "layer \"gap1\" (GlobalAveragePooling1D)", "keepdims"},
        {"functional_residual_keras3", "ln", "config", "axis", "[1, 2]",
         LAM_ERR_UNSUPPORTED, "layer \"ln\" (LayerNormalization)", "single axis"},
        {"functional_residual_keras3", "bn", "config", "renorm", "true",
         LAM_ERR_UNSUPPORTED, "layer \"bn\" (BatchNormalization)", "renorm"},
        {"functional_residual_keras3", "bn", "config", "axis", "0",
         LAM_ERR_FORMAT, "layer \"bn\" (BatchNormalization)", "batch axis"},
        {"functional_residual_keras3", "bn", "config", "gamma_initializer", "\"zeros\"",
         LAM_ERR_UNSUPPORTED, "layer \"bn\" (BatchNormalization)", "gamma_initializer"},
        {"functional_residual_keras3", "concat", "config", "axis", "\"last\"",
         LAM_ERR_FORMAT, "layer \"concat\" (Concatenate)", "axis"},
        {"functional_bilstm_keras3", "bi_gru", "config", "merge_mode", "null",
         LAM_ERR_UNSUPPORTED, "layer \"bi_gru\" (Bidirectional)", "merge_mode"},
        {"functional_bilstm_keras3", "bi_lstm", "backward", "units", "9",
         LAM_ERR_UNSUPPORTED, "layer \"bi_lstm\" (Bidirectional)", "backward_layer"},
        {"functional_bilstm_keras3", "bi_lstm", "wrapped", "class_name", "\"Dense\"",
         LAM_ERR_UNSUPPORTED, "layer \"bi_lstm\" (Bidirectional)", "LSTM, GRU or SimpleRNN"},
        {"functional_bilstm_tfkeras2", "bi_rnn", "wrappedcfg", "go_backwards", "true",
         LAM_ERR_UNSUPPORTED, "layer \"bi_rnn\" (Bidirectional)", "go_backwards"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const broken *c = &cases[i];
        char path[256];
        snprintf(path, sizeof path, "fixtures/%s.json", c->base);
        char *text = slurp(path);
        cJSON *doc = text ? cJSON_Parse(text) : NULL;
        free(text);
        CHECK(doc != NULL, "case %zu: %s", i, path);
        if (!doc) continue;
        cJSON *l = c->layer[0] ? layer_obj(doc, c->layer) : NULL;
        cJSON *node = l ? cJSON_GetArrayItem(cJSON_GetObjectItem(l, "inbound_nodes"), 0) : NULL;
        if (strcmp(c->where, "model") == 0) set_key(cJSON_GetObjectItem(doc, "config"), c->key, c->value);
        else if (strcmp(c->where, "layer") == 0) set_key(l, c->key, c->value);
        else if (strcmp(c->where, "config") == 0) set_key(cJSON_GetObjectItem(l, "config"), c->key, c->value);
        else if (strcmp(c->where, "wrapped") == 0)
            set_key(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "config"), "layer"), c->key, c->value);
        else if (strcmp(c->where, "wrappedcfg") == 0)
            set_key(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "config"), "layer"), "config"),
                    c->key, c->value);
        else if (strcmp(c->where, "backward") == 0)
            set_key(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "config"), "backward_layer"), "config"),
                    c->key, c->value);
        else if (strcmp(c->where, "node0") == 0) set_key(node, c->key, c->value);
        else if (strcmp(c->where, "kwargs0") == 0) {
            if (cJSON_IsObject(node)) set_key(cJSON_GetObjectItem(node, "kwargs"), c->key, c->value);
            else set_key(cJSON_GetArrayItem(cJSON_GetArrayItem(node, 0), 3), c->key, c->value);
        } else if (strcmp(c->where, "history0") == 0) {
            /* The first tensor of call 0, in either form. */
            cJSON *h = cJSON_IsObject(node)
                           ? cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
                                 cJSON_GetObjectItem(node, "args"), 0), "config"), "keras_history")
                           : cJSON_GetArrayItem(node, 0);
            CHECK(h != NULL, "case %zu: no keras_history", i);
            if (h) cJSON_ReplaceItemInArray(h, atoi(c->key), cJSON_Parse(c->value));
        }
        char *bad = cJSON_PrintUnformatted(doc);
        lam_model *m = NULL;
        lam_status st = lam_model_from_json(bad, NULL, &m);
        CHECK(st == c->st && m == NULL, "case %zu (%s %s %s): status %d, expected %d: %s", i,
              c->base, c->layer, c->key, st, c->st, lam_last_error());
        CHECK(strstr(lam_last_error(), c->needle1) && strstr(lam_last_error(), c->needle2),
              "case %zu (%s %s %s): message \"%s\" lacks \"%s\" or \"%s\"", i, c->base, c->layer,
              c->key, lam_last_error(), c->needle1, c->needle2);
        lam_model_free(m);
        free(bad);
        cJSON_Delete(doc);
    }
}

/* Keras 3's own table for functional_shared_keras3.json (model.summary()). */
static void test_functional_summary(void)
{
    lam_model *m = NULL;
    CHECK_OK(lam_model_from_json_file("fixtures/functional_shared_keras3.json", &m));
    if (!m) return;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_OK(lam_model_summary(m, f));
    fclose(f);
    static const char *const lines[] = {
        "┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃\n",
        "│ left (InputLayer)   │ (None, 10, 10, 1) │          0 │ -                 │\n",
        "│ embed (Dense)       │ (None, 8)         │        520 │ flat[0][0],       │\n"
        "│                     │                   │            │ flat[1][0]        │\n",
        "│ squash (Activation) │ (None, 8)         │          0 │ embed[1][0]       │\n",
        " Total params: 587 (2.29 KB)\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        CHECK(buf && strstr(buf, lines[i]), "summary lacks:\n%s\nin:\n%s", lines[i], buf ? buf : "");
    free(buf);
    lam_model_free(m);
}

/* Two inputs, a Dense shared by both, two outputs; compiled, trained a
 * step so weights and optimizer slots are not their initial values. */
static lam_model *two_tower(void)
{
    lam_model *m = lam_model_new("two_tower");
    int a, b, ha, hb, ya, yb;
    CHECK_OK(lam_model_input(m, "a", 1, (int64_t[]){6}, &a));
    CHECK_OK(lam_model_input(m, "b", 1, (int64_t[]){6}, &b));
    lam_layer_spec d = lam_layer_defaults(LAM_LAYER_DENSE);
    d.units = 5;
    d.activation = LAM_ACT_TANH;
    snprintf(d.name, sizeof d.name, "tower");
    CHECK_OK(lam_model_call(m, &d, 1, &a, &ha));
    CHECK_OK(lam_model_call_shared(m, ha, 1, &b, &hb));
    lam_layer_spec h = lam_layer_defaults(LAM_LAYER_DENSE);
    h.units = 3;
    h.activation = LAM_ACT_SOFTMAX;
    CHECK_OK(lam_model_call(m, &h, 1, &ha, &ya));
    lam_layer_spec h2 = lam_layer_defaults(LAM_LAYER_DENSE);
    h2.units = 2;
    CHECK_OK(lam_model_call(m, &h2, 1, &hb, &yb));
    CHECK_OK(lam_model_set_outputs(m, 2, (int[]){ya, yb}));
    lam_model_set_seed(m, 7);
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_MSE));
    return m;
}

static void forward_outputs(lam_model *m, int batch, const float *xa, const float *xb,
                            float *y0, float *y1)
{
    CHECK_OK(lam_model_plan(m, batch));
    memcpy(lam_model_input_buffer(m, 0), xa, sizeof(float) * (size_t)batch * 6);
    memcpy(lam_model_input_buffer(m, 1), xb, sizeof(float) * (size_t)batch * 6);
    CHECK_OK(lam_forward(m, batch, LAM_MODE_INFER));
    memcpy(y0, lam_model_output(m, 0), sizeof(float) * (size_t)batch * 3);
    memcpy(y1, lam_model_output(m, 1), sizeof(float) * (size_t)batch * 2);
}

static void test_save_load_functional(void)
{
    enum { B = 4 };
    float xa[B * 6], xb[B * 6], t0[B * 3], t1[B * 2];
    for (int i = 0; i < B * 6; i++) {
        xa[i] = test_rndf();
        xb[i] = test_rndf();
    }
    for (int i = 0; i < B * 3; i++) t0[i] = test_rndf();
    for (int i = 0; i < B * 2; i++) t1[i] = test_rndf();
    lam_model *m = two_tower();
    /* One training step: weights leave their initial values. */
    CHECK_OK(lam_model_plan(m, B));
    memcpy(lam_model_input_buffer(m, 0), xa, sizeof xa);
    memcpy(lam_model_input_buffer(m, 1), xb, sizeof xb);
    CHECK_OK(lam_forward(m, B, LAM_MODE_TRAIN));
    lam_target tg[2] = {{NULL, t0, NULL}, {NULL, t1, NULL}};
    lam_batch_metrics bm;
    CHECK_OK(lam_loss_eval(m, B, tg, true, &bm));
    CHECK_OK(lam_backward(m, B, false));
    CHECK_OK(lam_optimizer_update(m, lam_model_learning_rate(m)));
    float y0[B * 3], y1[B * 2], z0[B * 3], z1[B * 2];
    forward_outputs(m, B, xa, xb, y0, y1);

    char path[] = "/tmp/lamina-test-json-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) close(fd);
    CHECK_OK(lam_model_save(m, path));
    lam_model *r = NULL;
    CHECK_OK(lam_model_load(path, &r));
    unlink(path);
    if (r) {
        CHECK(lam_model_num_inputs(r) == 2 && lam_model_num_outputs(r) == 2,
              "loaded: %d inputs, %d outputs", lam_model_num_inputs(r), lam_model_num_outputs(r));
        int tower1 = node_of(r, "tower", 1);
        CHECK(tower1 >= 0 && lam_model_node_owner(r, tower1) == node_of(r, "tower", 0),
              "the shared call is not shared after loading");
        CHECK(lam_model_param_count(r) == lam_model_param_count(m), "params %lld vs %lld",
              (long long)lam_model_param_count(r), (long long)lam_model_param_count(m));
        CHECK(memcmp(lam_model_params(r), lam_model_params(m),
                     sizeof(float) * (size_t)lam_model_param_count(m)) == 0, "weights differ");
        for (int s = 0; s < lam_model_num_slots(m); s++)
            CHECK(memcmp(lam_model_slot(r, s), lam_model_slot(m, s),
                         sizeof(float) * (size_t)lam_model_param_count(m)) == 0,
                  "optimizer slot %d differs", s);
        forward_outputs(r, B, xa, xb, z0, z1);
        CHECK(memcmp(y0, z0, sizeof y0) == 0 && memcmp(y1, z1, sizeof y1) == 0,
              "predictions differ after save and load");
        char *text = NULL;
        CHECK_OK(lam_model_to_json(r, &text));
        CHECK(text && strstr(text, "\"class_name\":\"Functional\"") &&
                  strstr(text, "\"keras_history\":[\"tower\",1,0]"),
              "the loaded model writes as Functional with tower's second call: %s", text ? text : "");
        if (text) write_out("lamina_two_tower.json", text);
        free(text);
    }
    lam_model_free(r);
    lam_model_free(m);
}

/* Sequential stays Sequential: a chain built with lam_model_add. */
static void test_sequential_stays(void)
{
    lam_model *m = lam_sequential("chain");
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){8, 8, 1}));
    CHECK_OK(lam_model_add_conv2d(m, 4, 3, 3, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_avgpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dropout(m, 0.3f));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    char *text = NULL;
    CHECK_OK(lam_model_to_json(m, &text));
    CHECK(text && strstr(text, "\"class_name\":\"Sequential\"") && !strstr(text, "inbound_nodes"),
          "%s", text ? text : "");
    if (text) write_out("lamina_sequential_cnn.json", text);
    free(text);
    lam_model_free(m);
    /* A functional chain writes as Functional (it was not built as Sequential). */
    m = lam_model_new("fchain");
    int x, y;
    CHECK_OK(lam_model_input(m, NULL, 1, (int64_t[]){4}, &x));
    lam_layer_spec d = lam_layer_defaults(LAM_LAYER_DENSE);
    d.units = 2;
    CHECK_OK(lam_model_call(m, &d, 1, &x, &y));
    CHECK_OK(lam_model_to_json(m, &text));
    CHECK(text && strstr(text, "\"class_name\":\"Functional\"") &&
              strstr(text, "\"input_layers\":[[\"input_layer\",0,0]]"),
          "%s", text ? text : "");
    free(text);
    lam_model_free(m);
    /* A Sequential model that grows a branch (a call on an earlier node) is
     * one no longer, and must not be written as a chain. */
    m = lam_sequential("branched");
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){4}));
    CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_TANH));
    int a;
    lam_layer_spec add = lam_layer_defaults(LAM_LAYER_ADD);
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){0, 1}, &a));
    CHECK_OK(lam_model_to_json(m, &text));
    CHECK(text && strstr(text, "\"class_name\":\"Functional\""), "%s", text ? text : "");
    lam_model *back = NULL;
    CHECK_OK(lam_model_from_json(text, "branched.json", &back));
    CHECK(back && lam_model_num_layers(back) == 3 && lam_model_node_inputs(back, 2, 0, NULL) == 2,
          "branched model read back with %d nodes", back ? lam_model_num_layers(back) : -1);
    lam_model_free(back);
    free(text);
    lam_model_free(m);
}

int main(void)
{
    lam_set_threads(1);
    json_out = getenv("LAMINA_JSON_OUT");
    test_fixtures();
    test_every_kind_both_ways();
    test_broken();
    test_functional_summary();
    test_save_load_functional();
    test_sequential_stays();
    return test_summary("test_model_json");
}
