/* keras_file.c - reading Keras's own model files (.keras and legacy .h5) into
 * a lamina model: the architecture through the Keras JSON reader
 * (model_json.c), the loss and optimizer from the compile configuration, then
 * every weight copied from the HDF5 data into the model's parameter (or
 * state) buffer with its shape checked, and Adam's or AdamW's state where the
 * file holds it. Layouts: keras_file.h and docs/MODEL_FILES.md, "Keras files".
 *
 * Everything is read from memory (the zip's model.weights.h5 never becomes a
 * file): HDF5's "core" driver opens a copy of the bytes, and libzip reads the
 * archive from a buffer. HDF5 prints an error stack on every failure by
 * default; that printing is switched off while lamina reads (and restored
 * after), because the library never prints. */
#include "io/keras_file.h"
#include "io/model_file.h"
#include "model.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#ifdef LAMINA_HAVE_HDF5
#include <hdf5.h>
#endif
#ifdef LAMINA_HAVE_ZIP
#include <zip.h>
#endif

bool lam_keras_magic(const unsigned char *buf, size_t size)
{
    return (size >= 4 && memcmp(buf, LAM_ZIP_MAGIC, 4) == 0) ||
           (size >= 8 && memcmp(buf, LAM_HDF5_MAGIC, 8) == 0);
}

void lam_keras_snake_case(const char *class_name, char *out, size_t size)
{
    /* Keras's three regular expressions, applied in turn: drop \W, then
     * "(.)([A-Z][a-z]+)" -> "\1_\2", then "([a-z])([A-Z])" -> "\1_\2", lower. */
    char a[128], b[256], c[384];
    size_t n = 0;
    for (const char *p = class_name; *p && n + 1 < sizeof a; p++)
        if (isalnum((unsigned char)*p) || *p == '_') a[n++] = *p;
    a[n] = 0;
    size_t j = 0;
    for (size_t i = 0; i < n && j + 3 < sizeof b;) {
        if (i + 2 < n && isupper((unsigned char)a[i + 1]) && islower((unsigned char)a[i + 2])) {
            b[j++] = a[i++];
            b[j++] = '_';
            b[j++] = a[i++];
            while (i < n && islower((unsigned char)a[i]) && j + 1 < sizeof b) b[j++] = a[i++];
        } else {
            b[j++] = a[i++];
        }
    }
    b[j] = 0;
    size_t k = 0;
    for (size_t i = 0; i < j && k + 3 < sizeof c;) {
        if (i + 1 < j && islower((unsigned char)b[i]) && isupper((unsigned char)b[i + 1])) {
            c[k++] = b[i++];
            c[k++] = '_';
            c[k++] = b[i++];
        } else {
            c[k++] = b[i++];
        }
    }
    c[k] = 0;
    for (size_t i = 0; i < k; i++) c[i] = (char)tolower((unsigned char)c[i]);
    snprintf(out, size, "%s", c);
}

#if defined(LAMINA_HAVE_HDF5)

/* ------------------------------------------------------------ compile */

#if defined(LAMINA_HAVE_ZIP)
/* Keras 3's compile_config ({"optimizer": {"class_name", "config", ...},
 * "loss": ..., "loss_weights": ...}) as the training_config form the model
 * file reader parses ({"optimizer_config": {"class_name", "config"}, ...}). */
static lam_status training_config_from_compile(const cJSON *cc, const char *path, cJSON **out)
{
    *out = NULL;
    cJSON *tc = cJSON_Duplicate(cc, true);
    cJSON *oc = cJSON_CreateObject();
    if (!tc || !oc) {
        cJSON_Delete(tc);
        cJSON_Delete(oc);
        return lam_error(LAM_ERR_NOMEM, "%s: out of memory reading compile_config", path);
    }
    cJSON_AddItemToObject(tc, "optimizer_config", oc);
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(cc, "optimizer");
    const cJSON *cn = cJSON_IsString(opt) ? opt : cJSON_GetObjectItemCaseSensitive(opt, "class_name");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(opt, "config");
    if (!cJSON_IsString(cn)) {
        cJSON_Delete(tc);
        return lam_error(LAM_ERR_FORMAT, "%s: config.json compile_config has no optimizer (a "
                         "name or an object with class_name)", path);
    }
    bool ok = cJSON_AddItemToObject(oc, "class_name", cJSON_CreateString(cn->valuestring)) &&
              cJSON_AddItemToObject(oc, "config", cJSON_IsObject(c) ? cJSON_Duplicate(c, true)
                                                                    : cJSON_CreateObject());
    /* A loss given as an object (keras.losses.SparseCategoricalCrossentropy())
     * is serialised with its config; its name is the loss lamina knows. */
    const cJSON *loss = cJSON_GetObjectItemCaseSensitive(cc, "loss");
    const cJSON *lc = cJSON_GetObjectItemCaseSensitive(loss, "config");
    if (ok && cJSON_IsObject(loss) && cJSON_GetObjectItemCaseSensitive(loss, "class_name")) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(lc, "name");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(lc, "from_logits"))) {
            cJSON_Delete(tc);
            return lam_error(LAM_ERR_UNSUPPORTED, "%s: compile_config: a loss with "
                             "from_logits=True; lamina's losses follow a softmax or sigmoid "
                             "output layer", path);
        }
        if (!cJSON_IsString(name)) {
            cJSON_Delete(tc);
            return lam_error(LAM_ERR_FORMAT, "%s: compile_config: the loss object has no "
                             "config.name", path);
        }
        ok = cJSON_ReplaceItemInObjectCaseSensitive(tc, "loss",
                                                    cJSON_CreateString(name->valuestring));
    }
    if (!ok) {
        cJSON_Delete(tc);
        return lam_error(LAM_ERR_NOMEM, "%s: out of memory reading compile_config", path);
    }
    *out = tc;
    return LAM_OK;
}

#endif

/* Compiles m as the file says (tc: a training_config), or, for a model saved
 * without compile, with Adam and sparse categorical cross-entropy: lamina
 * keeps weights only in compiled models. */
static lam_status compile_as(lam_model *m, const cJSON *tc, const char *path)
{
    lam_optimizer opt = lam_adam();
    lam_loss loss = LAM_LOSS_SPARSE_CATEGORICAL_CE;
    if (tc) LAM_TRY(lam_training_config_parse(tc, path, &opt, &loss));
    lam_status st = lam_model_compile(m, &opt, loss);
    if (st != LAM_OK) return lam_error_context(st, "%s", path);
    if (tc) LAM_TRY(lam_training_config_output_losses(tc, path, m));
    return LAM_OK;
}

/* The model of a Keras config text, compiled. *cfg keeps the parsed config
 * (the layer list names the weights). */
static lam_status model_from_config(const char *path, const char *what, const char *json,
                                    const cJSON *tc, cJSON **cfg, lam_model **out)
{
    *cfg = cJSON_Parse(json);
    if (!cJSON_IsObject(*cfg))
        return lam_error(LAM_ERR_FORMAT, "%s: %s is not a JSON object", path, what);
    char src[512];
    snprintf(src, sizeof src, "%s (%s)", path, what);
    LAM_TRY(lam_model_from_json(json, src, out));
    return compile_as(*out, tc, path);
}

/* ---------------------------------------------------------------- HDF5 */

#define MAX_STRING_BYTES ((size_t)256 << 20)

typedef struct strlist {
    int n;
    char **s;
} strlist;

static void strlist_free(strlist *l)
{
    for (int i = 0; i < l->n; i++) lam_free(l->s[i]);
    lam_free(l->s);
    l->n = 0;
    l->s = NULL;
}

/* Appends the strings of attribute `name` of obj (a scalar or an array of
 * fixed- or variable-length strings, as h5py writes str and numpy bytes), at
 * most max of them in l: the count is checked before reading, because
 * libhdf5 reads every variable-length string of a damaged attribute from the
 * file's global heap, which a forged count makes take minutes (found by
 * fuzz/fuzz_keras_h5.c). */
static lam_status attr_strings(hid_t obj, const char *name, const char *path, const char *where,
                               int max, strlist *l)
{
    lam_status st = LAM_OK;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return lam_error(LAM_ERR_FORMAT, "%s: %s: attribute %s cannot be read", path, where, name);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a), mt = -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    char **vl = NULL, *raw = NULL;
    if (t < 0 || H5Tget_class(t) != H5T_STRING || n < 0) {
        st = lam_error(LAM_ERR_FORMAT, "%s: %s: attribute %s is not a string or list of strings",
                       path, where, name);
        goto done;
    }
    if (n > max - l->n) {
        st = lam_error(LAM_ERR_FORMAT, "%s: %s: attribute %s holds %lld strings, expected at most "
                       "%d", path, where, name, (long long)n, max - l->n);
        goto done;
    }
    char **grown = lam_realloc(l->s, sizeof *l->s * (size_t)(l->n + n + 1));
    if (!grown) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    l->s = grown;
    htri_t is_vl = H5Tis_variable_str(t);
    if (is_vl > 0) {
        mt = H5Tcopy(H5T_C_S1);
        vl = lam_calloc((size_t)n + 1, sizeof *vl);
        if (!vl) {
            st = LAM_ERR_NOMEM;
            goto done;
        }
        if (mt < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Tset_cset(mt, H5Tget_cset(t)) < 0 ||
            H5Aread(a, mt, vl) < 0) {
            st = lam_error(LAM_ERR_FORMAT, "%s: %s: attribute %s cannot be read", path, where,
                           name);
            goto done;
        }
        for (hssize_t i = 0; i < n && st == LAM_OK; i++) {
            char *s = lam_strdup(vl[i] ? vl[i] : "");
            if (!s) st = LAM_ERR_NOMEM;
            else l->s[l->n++] = s;
        }
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, vl);
    } else {
        size_t sz = H5Tget_size(t);
        if (sz == 0 || (n > 0 && sz > MAX_STRING_BYTES / (size_t)n)) {
            st = lam_error(LAM_ERR_FORMAT, "%s: %s: attribute %s of %lld strings of %zu bytes is "
                           "implausible", path, where, name, (long long)n, sz);
            goto done;
        }
        raw = lam_malloc(sz * (size_t)n + 1);
        if (!raw) {
            st = LAM_ERR_NOMEM;
            goto done;
        }
        if (n > 0 && H5Aread(a, t, raw) < 0) {
            st = lam_error(LAM_ERR_FORMAT, "%s: %s: attribute %s cannot be read", path, where,
                           name);
            goto done;
        }
        for (hssize_t i = 0; i < n && st == LAM_OK; i++) {
            size_t len = strnlen(raw + (size_t)i * sz, sz);
            char *s = lam_malloc(len + 1);
            if (!s) {
                st = LAM_ERR_NOMEM;
                break;
            }
            memcpy(s, raw + (size_t)i * sz, len);
            s[len] = 0;
            l->s[l->n++] = s;
        }
    }
done:
    lam_free(vl);
    lam_free(raw);
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Aclose(a);
    return st;
}

/* A list attribute as Keras writes it: `name`, or, when too large for one
 * object header, `name0`, `name1`, ... (save_attributes_to_hdf5_group). */
static lam_status attr_list(hid_t obj, const char *name, const char *path, const char *where,
                            int max, strlist *l)
{
    if (H5Aexists(obj, name) > 0) return attr_strings(obj, name, path, where, max, l);
    char chunk[80];
    int k = 0;
    for (; k <= max; k++) {
        snprintf(chunk, sizeof chunk, "%s%d", name, k);
        if (H5Aexists(obj, chunk) <= 0) break;
        LAM_TRY(attr_strings(obj, chunk, path, where, max, l));
    }
    if (k == 0)
        return lam_error(LAM_ERR_FORMAT, "%s: %s has no attribute %s", path, where, name);
    return LAM_OK;
}

/* One string attribute of the root group, *out NULL when absent and not required. */
static lam_status root_string(hid_t f, const char *name, const char *path, bool required,
                              char **out)
{
    *out = NULL;
    if (H5Aexists(f, name) <= 0) {
        if (!required) return LAM_OK;
        return lam_error(LAM_ERR_FORMAT, "%s: an HDF5 file without the %s attribute: not a Keras "
                         "model file (a weights-only file from save_weights has no "
                         "architecture)", path, name);
    }
    strlist l = {0, NULL};
    lam_status st = attr_strings(f, name, path, "the root group", 1, &l);
    if (st == LAM_OK && l.n != 1)
        st = lam_error(LAM_ERR_FORMAT, "%s: attribute %s holds no string", path, name);
    if (st == LAM_OK) {
        *out = l.s[0];
        l.n = 0;
    }
    strlist_free(&l);
    return st;
}

static void shape_str(char *buf, size_t size, int rank, const hsize_t *h, const int64_t *s)
{
    size_t k = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < rank && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%llu", i ? ", " : "",
                              h ? (unsigned long long)h[i] : (unsigned long long)s[i]);
    if (rank == 1 && k < size) k += (size_t)snprintf(buf + k, size - k, ",");
    if (k < size) snprintf(buf + k, size - k, ")");
}

/* What one read needs: the file, how to name it, where it goes. */
typedef struct reader {
    const char *path;
    hid_t f;
    lam_model *m;
    /* The trainable weights in Keras's order (model.trainable_variables), and
     * for .h5 files their Keras names (for the optimizer's variable names). */
    const lam_param_desc **order;
    char **order_names;
    int norder;
} reader;

/* Reads dataset dpath of layer `layer` into dst, which lamina's weight d
 * (rank and shape; d NULL: a scalar) fills. */
static lam_status read_floats(const reader *r, const char *dpath, const char *layer,
                              const lam_param_desc *d, float *dst)
{
    const char *lname = d ? d->name : "a scalar";
    hid_t ds = H5Dopen2(r->f, dpath, H5P_DEFAULT);
    if (ds < 0)
        return lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\": no variable %s in the file (the "
                         "weight lamina calls \"%s\")", r->path, layer, dpath, lname);
    lam_status st = LAM_OK;
    hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds);
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    hsize_t dims[H5S_MAX_RANK];
    const int want = d ? d->rank : 0;
    if (cls != H5T_FLOAT && !(cls == H5T_INTEGER && !d)) {
        st = lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\": variable %s is not floating point",
                       r->path, layer, dpath);
        goto done;
    }
    if (rank < 0 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
        st = lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\": variable %s has no readable shape",
                       r->path, layer, dpath);
        goto done;
    }
    bool same = rank == want;
    for (int i = 0; same && i < rank; i++) same = (int64_t)dims[i] == d->shape[i];
    if (!same) {
        char found[160], expected[160];
        shape_str(found, sizeof found, rank, dims, NULL);
        shape_str(expected, sizeof expected, want, NULL, d ? d->shape : NULL);
        st = lam_error(LAM_ERR_SHAPE, "%s: layer \"%s\": variable %s has shape %s, expected %s "
                       "(the weight lamina calls \"%s\")", r->path, layer, dpath, found, expected,
                       lname);
        goto done;
    }
    if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
        st = lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\": variable %s cannot be read (a "
                       "truncated or damaged file?)", r->path, layer, dpath);
done:
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(ds);
    return st;
}

static float *weight_dst(lam_model *m, const lam_param_desc *d)
{
    return (d->trainable ? m->params : m->state) + d->offset;
}

/* The number of links in group gpath (-1: no such group). */
static long long group_size(hid_t f, const char *gpath)
{
    H5G_info_t info;
    if (H5Lexists(f, gpath, H5P_DEFAULT) <= 0) return -1;
    if (H5Gget_info_by_name(f, gpath, &info, H5P_DEFAULT) < 0) return -1;
    return (long long)info.nlinks;
}

static lam_status add_to_order(reader *r, const lam_param_desc *d, const char *keras_name)
{
    if (!d->trainable) return LAM_OK;
    r->order[r->norder] = d;
    if (keras_name && !(r->order_names[r->norder] = lam_strdup(keras_name))) return LAM_ERR_NOMEM;
    r->norder++;
    return LAM_OK;
}

int lam_keras3_weight_groups(const lam_node *nd, const char *subs[4], int counts[4])
{
    const int bias = nd->spec.use_bias ? 2 : 1;
    subs[0] = "";
    counts[0] = nd->ntensors;
    switch (nd->spec.kind) {
    case LAM_LAYER_LSTM: case LAM_LAYER_GRU: case LAM_LAYER_SIMPLERNN:
        subs[0] = "/cell";
        return 1;
    case LAM_LAYER_BIDIRECTIONAL:
        subs[0] = "/forward_layer/cell";
        subs[1] = "/backward_layer/cell";
        counts[0] = counts[1] = nd->ntensors / 2;
        return 2;
    case LAM_LAYER_MULTI_HEAD_ATTENTION:
        subs[0] = "/query_dense";
        subs[1] = "/key_dense";
        subs[2] = "/value_dense";
        subs[3] = "/output_dense";
        for (int k = 0; k < 4; k++) counts[k] = bias;
        return 4;
    case LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING:
        subs[0] = "/token_embedding";
        subs[1] = "/position_embedding";
        counts[0] = counts[1] = 1;
        return 2;
    default:
        return 1;
    }
}

lam_status lam_keras3_layer_paths(const cJSON *layers, char (**names)[160])
{
    int n = cJSON_GetArraySize(layers);
    char(*kn)[160] = lam_calloc((size_t)n + 1, sizeof *kn);
    char(*base)[128] = lam_calloc((size_t)n + 1, sizeof *base);
    if (!kn || !base) {
        lam_free(kn);
        lam_free(base);
        return LAM_ERR_NOMEM;
    }
    int i = 0;
    for (const cJSON *l = layers->child; l; l = l->next, i++) {
        const cJSON *cn = cJSON_GetObjectItemCaseSensitive(l, "class_name");
        if (!cJSON_IsString(cn)) continue;
        /* Keras 3 names a layer's weights after its class, numbered per class
         * in layer order: the second Dense is layers/dense_1. */
        lam_keras_snake_case(cn->valuestring, base[i], sizeof base[i]);
        int same = 0;
        for (int k = 0; k < i; k++) same += strcmp(base[k], base[i]) == 0;
        if (same) snprintf(kn[i], sizeof kn[i], "%s_%d", base[i], same);
        else snprintf(kn[i], sizeof kn[i], "%s", base[i]);
    }
    lam_free(base);
    *names = kn;
    return LAM_OK;
}

/* Keras 3: the weights of one layer at layers/<kname>[/<sub>]/vars/<i>, the
 * sub-objects (RNN cells, Bidirectional's two layers, MultiHeadAttention's
 * four EinsumDense) in the order of the layer's weights. */
static lam_status keras3_layer(reader *r, const lam_node *nd, const char *kname)
{
    const char *subs[4];
    int counts[4];
    const int nsub = lam_keras3_weight_groups(nd, subs, counts);
    int t = 0;
    for (int s = 0; s < nsub; s++) {
        char g[300];
        snprintf(g, sizeof g, "layers/%s%s/vars", kname, subs[s]);
        long long have = group_size(r->f, g);
        if (have < 0)
            return lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" (%s): no group %s in "
                             "model.weights.h5 (expected %d variables there)", r->path,
                             nd->spec.name, lam_layer_kind_name(nd->spec.kind), g, counts[s]);
        if (have != counts[s])
            return lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" (%s): %s holds %lld variables, "
                             "expected %d", r->path, nd->spec.name,
                             lam_layer_kind_name(nd->spec.kind), g, have, counts[s]);
        for (int i = 0; i < counts[s]; i++, t++) {
            char dpath[320];
            snprintf(dpath, sizeof dpath, "%s/%d", g, i);
            const lam_param_desc *d = &nd->tensors[t];
            LAM_TRY(read_floats(r, dpath, nd->spec.name, d, weight_dst(r->m, d)));
            LAM_TRY(add_to_order(r, d, NULL));
        }
    }
    return LAM_OK;
}

/* The last part of a weight name without Keras 2's ":0". */
static size_t short_name(const char *name, const char **start)
{
    const char *slash = strrchr(name, '/');
    *start = slash ? slash + 1 : name;
    const char *colon = strchr(*start, ':');
    return colon ? (size_t)(colon - *start) : strlen(*start);
}

/* Legacy .h5: model_weights/<layer>/<weight name> for the names in the
 * group's weight_names, in the order of the layer's weights. */
static lam_status legacy_layer(reader *r, const lam_node *nd)
{
    char g[160];
    snprintf(g, sizeof g, "model_weights/%s", nd->spec.name);
    if (H5Lexists(r->f, "model_weights", H5P_DEFAULT) <= 0 ||
        H5Lexists(r->f, g, H5P_DEFAULT) <= 0)
        return lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" (%s): no group %s in the file", r->path,
                         nd->spec.name, lam_layer_kind_name(nd->spec.kind), g);
    hid_t grp = H5Gopen2(r->f, g, H5P_DEFAULT);
    if (grp < 0)
        return lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\": %s is not a group", r->path,
                         nd->spec.name, g);
    strlist names = {0, NULL};
    /* One more than expected is allowed, so that too many is reported as such. */
    lam_status st = attr_list(grp, "weight_names", r->path, g, nd->ntensors + 1, &names);
    H5Gclose(grp);
    if (st == LAM_OK && names.n != nd->ntensors)
        st = lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" (%s): %s lists %d weights, expected %d",
                       r->path, nd->spec.name, lam_layer_kind_name(nd->spec.kind), g, names.n,
                       nd->ntensors);
    for (int t = 0; st == LAM_OK && t < nd->ntensors; t++) {
        const lam_param_desc *d = &nd->tensors[t];
        /* The weights are matched by position, as Keras does; their last
         * names must agree too ("kernel", "moving_mean"), so a reordered or
         * renamed list is refused rather than loaded into the wrong place. */
        const char *a, *b;
        size_t la = short_name(names.s[t], &a), lb = short_name(d->name, &b);
        if (la != lb || memcmp(a, b, la) != 0) {
            st = lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\": weight %d is \"%s\" in the file, "
                           "expected \"%.*s\"", r->path, nd->spec.name, t, names.s[t], (int)lb, b);
            break;
        }
        char dpath[512];
        if ((size_t)snprintf(dpath, sizeof dpath, "%s/%s", g, names.s[t]) >= sizeof dpath) {
            st = lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\": weight name of %zu characters is "
                           "too long", r->path, nd->spec.name, strlen(names.s[t]));
            break;
        }
        st = read_floats(r, dpath, nd->spec.name, d, weight_dst(r->m, d));
        if (st == LAM_OK) st = add_to_order(r, d, names.s[t]);
    }
    strlist_free(&names);
    return st;
}

/* The layer list of a Keras model config: config.layers. */
static const cJSON *config_layers(const cJSON *cfg)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "config"),
                                            "layers");
}

/* Every weight, layer by layer in the config's order (Keras's model.layers,
 * which also fixes model.trainable_variables' order for the optimizer). */
static lam_status read_weights(reader *r, const cJSON *cfg, bool keras3)
{
    lam_model *m = r->m;
    const cJSON *layers = config_layers(cfg);
    if (!cJSON_IsArray(layers))
        return lam_error(LAM_ERR_FORMAT, "%s: the model config has no config.layers list",
                         r->path);
    char(*kname)[160] = NULL;
    bool *done = lam_calloc((size_t)m->n + 1, sizeof *done);
    lam_status st = done ? lam_keras3_layer_paths(layers, &kname) : LAM_ERR_NOMEM;
    int li = 0;
    for (const cJSON *l = layers->child; st == LAM_OK && l; l = l->next, li++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(l, "config");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "name");
        if (!kname[li][0] || !cJSON_IsString(name)) continue; /* the JSON reader refused such
                                                                 a layer already */
        for (int i = 0; i < m->n; i++) {
            const lam_node *nd = &m->nodes[i];
            if (nd->owner != i || done[i] || strcmp(nd->spec.name, name->valuestring) != 0)
                continue;
            done[i] = true;
            if (nd->ntensors > 0)
                st = keras3 ? keras3_layer(r, nd, kname[li]) : legacy_layer(r, nd);
            break;
        }
    }
    for (int i = 0; st == LAM_OK && i < m->n; i++)
        if (m->nodes[i].owner == i && m->nodes[i].ntensors > 0 && !done[i])
            st = lam_error(LAM_ERR_FORMAT, "%s: layer \"%s\" is not in the config's layer list, "
                           "so its weights cannot be found", r->path, m->nodes[i].spec.name);
    lam_free(kname);
    lam_free(done);
    return st;
}

/* Adam's and AdamW's state: iterations, learning_rate (absent under a
 * schedule), then per trainable weight in model.trainable_variables order its
 * momentum (m) and velocity (v). Other optimizers start fresh (their Keras
 * variable layouts differ between versions; docs/MODEL_FILES.md). */
static bool optimizer_importable(const lam_model *m)
{
    return (m->opt.kind == LAM_OPT_ADAM || m->opt.kind == LAM_OPT_ADAMW) && !m->opt.amsgrad &&
           m->nslots == 2;
}

static lam_status read_iterations(const reader *r, const char *dpath, int64_t *iters)
{
    hid_t ds = H5Dopen2(r->f, dpath, H5P_DEFAULT);
    if (ds < 0)
        return lam_error(LAM_ERR_FORMAT, "%s: optimizer: no variable %s (iterations)", r->path,
                         dpath);
    hid_t sp = H5Dget_space(ds);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    long long v = -1;
    lam_status st = LAM_OK;
    if (n != 1 || H5Dread(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0 || v < 0)
        st = lam_error(LAM_ERR_FORMAT, "%s: optimizer: %s is not one non-negative count of "
                       "iterations", r->path, dpath);
    if (sp >= 0) H5Sclose(sp);
    H5Dclose(ds);
    *iters = v;
    return st;
}

/* Sets what was read: the step count and, when it differs from the
 * configured one, the learning rate Keras had reached (ReduceLROnPlateau). */
static lam_status set_optimizer_progress(reader *r, int64_t iters, bool has_lr, float lr)
{
    lam_train_state ts;
    lam_model_train_state(r->m, &ts);
    ts.step = iters;
    LAM_TRY(lam_model_set_train_state(r->m, &ts));
    if (has_lr && lr != r->m->opt.learning_rate) {
        if (!(lr >= 0 && lr < 1e6f))
            return lam_error(LAM_ERR_FORMAT, "%s: optimizer: learning_rate %g is not a learning "
                             "rate", r->path, (double)lr);
        LAM_TRY(lam_model_set_learning_rate(r->m, lr));
    }
    return LAM_OK;
}

static lam_status keras3_optimizer(reader *r)
{
    long long have = group_size(r->f, "optimizer/vars");
    if (have < 0 || !optimizer_importable(r->m)) return LAM_OK;
    const bool has_lr = r->m->opt.schedule.kind == LAM_SCHEDULE_NONE;
    const int first = has_lr ? 2 : 1;
    const long long want = first + 2LL * r->norder;
    if (have != want)
        return lam_error(LAM_ERR_FORMAT, "%s: optimizer/vars holds %lld variables, expected %lld "
                         "(iterations%s, then Adam's momentum and velocity of %d weights)",
                         r->path, have, want, has_lr ? ", learning_rate" : "", r->norder);
    int64_t iters;
    float lr = 0;
    LAM_TRY(read_iterations(r, "optimizer/vars/0", &iters));
    if (has_lr) LAM_TRY(read_floats(r, "optimizer/vars/1", "optimizer", NULL, &lr));
    for (int k = 0; k < r->norder; k++)
        for (int s = 0; s < 2; s++) {
            char dpath[64];
            snprintf(dpath, sizeof dpath, "optimizer/vars/%d", first + 2 * k + s);
            const lam_param_desc *d = r->order[k];
            LAM_TRY(read_floats(r, dpath, "optimizer", d, r->m->slots[s] + d->offset));
        }
    return set_optimizer_progress(r, iters, has_lr, lr);
}

/* Does name equal prefix + flat + suffix, where flat is keras_name with '/'
 * made '_' (Keras 3's legacy .h5 optimizer names: "adam/dense_kernel_momentum")? */
static bool is_slot_name(const char *name, const char *prefix, size_t plen, const char *keras_name,
                         const char *suffix)
{
    if (strncmp(name, prefix, plen) != 0) return false;
    name += plen;
    for (; *keras_name; keras_name++, name++)
        if (*name != (*keras_name == '/' ? '_' : *keras_name)) return false;
    return strcmp(name, suffix) == 0;
}

static lam_status legacy_optimizer(reader *r)
{
    if (H5Lexists(r->f, "optimizer_weights", H5P_DEFAULT) <= 0 || !optimizer_importable(r->m))
        return LAM_OK;
    hid_t g = H5Gopen2(r->f, "optimizer_weights", H5P_DEFAULT);
    if (g < 0) return lam_error(LAM_ERR_FORMAT, "%s: optimizer_weights is not a group", r->path);
    strlist names = {0, NULL};
    const bool has_lr = r->m->opt.schedule.kind == LAM_SCHEDULE_NONE;
    const int first = has_lr ? 2 : 1;
    lam_status st = attr_list(g, "weight_names", r->path, "optimizer_weights",
                              first + 2 * r->norder + 1, &names);
    H5Gclose(g);
    const char *slash = st == LAM_OK && names.n > 0 ? strchr(names.s[0], '/') : NULL;
    /* Keras 3 writes "adam/iteration" first; tf.keras 2's names ("Adam/iter:0",
     * "Adam/dense/kernel/m:0") are another layout: a fresh optimizer then. */
    if (st != LAM_OK || !slash || strcmp(slash, "/iteration") != 0) {
        strlist_free(&names);
        return st;
    }
    const size_t plen = (size_t)(slash - names.s[0]) + 1;
    int64_t iters = 0;
    float lr = 0;
    char dpath[600];
    if (names.n != first + 2 * r->norder)
        st = lam_error(LAM_ERR_FORMAT, "%s: optimizer_weights lists %d variables, expected %d "
                       "(iterations%s, then Adam's momentum and velocity of %d weights)", r->path,
                       names.n, first + 2 * r->norder, has_lr ? ", learning_rate" : "",
                       r->norder);
    if (st == LAM_OK) {
        snprintf(dpath, sizeof dpath, "optimizer_weights/%s", names.s[0]);
        st = read_iterations(r, dpath, &iters);
    }
    if (st == LAM_OK && has_lr) {
        snprintf(dpath, sizeof dpath, "optimizer_weights/%s", names.s[1]);
        st = read_floats(r, dpath, "optimizer", NULL, &lr);
    }
    static const char *const suffix[2] = {"_momentum", "_velocity"};
    for (int k = 0; st == LAM_OK && k < r->norder; k++)
        for (int s = 0; st == LAM_OK && s < 2; s++) {
            const char *name = names.s[first + 2 * k + s];
            const char *kw = r->order_names[k];
            const char *a;
            size_t len = short_name(kw, &a);
            char bare[256];
            snprintf(bare, sizeof bare, "%.*s", (int)(a - kw + (ptrdiff_t)len), kw);
            if (!is_slot_name(name, names.s[0], plen, bare, suffix[s])) {
                st = lam_error(LAM_ERR_FORMAT, "%s: optimizer_weights: variable %d is \"%s\", "
                               "expected the %s of \"%s\"", r->path, first + 2 * k + s, name,
                               suffix[s] + 1, bare);
                break;
            }
            if ((size_t)snprintf(dpath, sizeof dpath, "optimizer_weights/%s", name) >= sizeof dpath)
                st = lam_error(LAM_ERR_FORMAT, "%s: optimizer_weights: a name too long", r->path);
            else
                st = read_floats(r, dpath, "optimizer", r->order[k],
                                 r->m->slots[s] + r->order[k]->offset);
        }
    strlist_free(&names);
    if (st == LAM_OK) st = set_optimizer_progress(r, iters, has_lr, lr);
    return st;
}

/* The weights (and optimizer state) of model m, built from cfg, from the
 * HDF5 image buf. */
static lam_status read_h5_into(const char *path, hid_t f, const cJSON *cfg, bool keras3,
                               lam_model *m)
{
    int ntrain = 0;
    for (int i = 0; i < m->n; i++)
        for (int t = 0; m->nodes[i].owner == i && t < m->nodes[i].ntensors; t++)
            ntrain += m->nodes[i].tensors[t].trainable;
    reader r = {path, f, m, lam_calloc((size_t)ntrain + 1, sizeof *r.order),
                lam_calloc((size_t)ntrain + 1, sizeof *r.order_names), 0};
    lam_status st = r.order && r.order_names ? LAM_OK : LAM_ERR_NOMEM;
    if (st == LAM_OK) st = read_weights(&r, cfg, keras3);
    if (st == LAM_OK) st = keras3 ? keras3_optimizer(&r) : legacy_optimizer(&r);
    for (int k = 0; r.order_names && k < r.norder; k++) lam_free(r.order_names[k]);
    lam_free(r.order_names);
    lam_free(r.order);
    return st;
}

/* Opens an HDF5 image held in memory (the core driver copies it). */
static hid_t open_image(const unsigned char *buf, size_t size)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
    hid_t f = -1;
    /* STRONG: closing the file closes whatever an error path left open. */
    if (H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0 &&
        H5Pset_file_image(fapl, (void *)buf, size) >= 0)
        f = H5Fopen("lamina-keras-image.h5", H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    return f;
}

/* Runs HDF5 calls with its error printing off, restoring the caller's. */
typedef struct h5_quiet {
    H5E_auto2_t fn;
    void *data;
} h5_quiet;
static h5_quiet quiet_begin(void)
{
    h5_quiet q = {NULL, NULL};
    H5Eget_auto2(H5E_DEFAULT, &q.fn, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}
static void quiet_end(h5_quiet q) { H5Eset_auto2(H5E_DEFAULT, q.fn, q.data); }

static lam_status weights_from_image(const char *path, const char *what,
                                     const unsigned char *buf, size_t size, const cJSON *cfg,
                                     lam_model *m)
{
    h5_quiet q = quiet_begin();
    hid_t f = open_image(buf, size);
    lam_status st = f >= 0 ? read_h5_into(path, f, cfg, true, m)
                           : lam_error(LAM_ERR_FORMAT, "%s: %s is not a readable HDF5 file "
                                       "(truncated or damaged)", path, what);
    if (f >= 0) H5Fclose(f);
    quiet_end(q);
    return st;
}

static lam_status from_h5(const char *path, const unsigned char *buf, size_t size,
                          lam_model **out)
{
    h5_quiet q = quiet_begin();
    hid_t f = open_image(buf, size);
    char *arch = NULL, *tcs = NULL;
    cJSON *tc = NULL, *cfg = NULL;
    lam_model *m = NULL;
    lam_status st = LAM_OK;
    if (f < 0) {
        st = lam_error(LAM_ERR_FORMAT, "%s: not a readable HDF5 file (truncated or damaged)",
                       path);
        goto done;
    }
    if ((st = root_string(f, "model_config", path, true, &arch)) != LAM_OK) goto done;
    if ((st = root_string(f, "training_config", path, false, &tcs)) != LAM_OK) goto done;
    if (tcs && !(tc = cJSON_Parse(tcs))) {
        st = lam_error(LAM_ERR_FORMAT, "%s: training_config is not valid JSON", path);
        goto done;
    }
    if ((st = model_from_config(path, "model_config", arch, tc, &cfg, &m)) != LAM_OK) goto done;
    st = read_h5_into(path, f, cfg, false, m);
done:
    if (f >= 0) H5Fclose(f);
    quiet_end(q);
    lam_free(arch);
    lam_free(tcs);
    cJSON_Delete(tc);
    cJSON_Delete(cfg);
    if (st != LAM_OK) {
        lam_model_free(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

#else /* !LAMINA_HAVE_HDF5 */

static lam_status no_hdf5(const char *path)
{
    return lam_error(LAM_ERR_UNSUPPORTED, "%s: a Keras file (HDF5 inside), but this lamina was "
                     "built without libhdf5: install libhdf5-dev (scripts/install-deps.sh) and "
                     "rebuild", path);
}
static lam_status from_h5(const char *path, const unsigned char *buf, size_t size,
                          lam_model **out)
{
    (void)buf, (void)size, (void)out;
    return no_hdf5(path);
}
#endif

#if defined(LAMINA_HAVE_ZIP) && defined(LAMINA_HAVE_HDF5)

/* ------------------------------------------------------------------ zip */

/* The largest archive member lamina reads (weights of 512M floats). */
#define MAX_ENTRY ((zip_uint64_t)2 << 30)

/* Reads member `entry` (NUL-terminated); *buf NULL when absent and not required.
 * The buffer grows with what decompresses rather than trusting the size the
 * archive declares, so a forged size cannot make lamina allocate it. */
static lam_status zip_member(zip_t *z, const char *path, const char *entry, unsigned char **buf,
                             size_t *size)
{
    *buf = NULL;
    *size = 0;
    zip_int64_t idx = zip_name_locate(z, entry, 0);
    if (idx < 0)
        return lam_error(LAM_ERR_FORMAT, "%s: a zip archive without %s: not a Keras 3 .keras "
                         "file", path, entry);
    zip_file_t *zf = zip_fopen_index(z, (zip_uint64_t)idx, 0);
    if (!zf)
        return lam_error(LAM_ERR_FORMAT, "%s: %s cannot be opened in the archive: %s", path,
                         entry, zip_strerror(z));
    lam_status st = LAM_OK;
    size_t cap = 0, n = 0;
    unsigned char *b = NULL;
    for (;;) {
        if (n + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 1 << 16;
            if (ncap > MAX_ENTRY + 1) ncap = MAX_ENTRY + 1;
            if (n + 1 >= ncap) {
                st = lam_error(LAM_ERR_FORMAT, "%s: %s is larger than %llu bytes", path, entry,
                               (unsigned long long)MAX_ENTRY);
                break;
            }
            unsigned char *nb = lam_realloc(b, ncap);
            if (!nb) {
                st = LAM_ERR_NOMEM;
                break;
            }
            b = nb;
            cap = ncap;
        }
        zip_int64_t got = zip_fread(zf, b + n, cap - 1 - n);
        if (got < 0) {
            st = lam_error(LAM_ERR_FORMAT, "%s: %s cannot be read from the archive: %s "
                           "(truncated or damaged)", path, entry, zip_file_strerror(zf));
            break;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    zip_fclose(zf);
    if (st != LAM_OK) {
        lam_free(b);
        return st;
    }
    b[n] = 0;
    *buf = b;
    *size = n;
    return LAM_OK;
}

static lam_status from_zip(const char *path, const unsigned char *buf, size_t size,
                           lam_model **out)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, size, 0, &ze);
    zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    if (!z) {
        lam_status st = lam_error(LAM_ERR_FORMAT, "%s: not a readable zip archive (%s): a "
                                  ".keras file is one", path, zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        return st;
    }
    zip_error_fini(&ze);
    unsigned char *config = NULL, *weights = NULL;
    size_t config_size, weights_size;
    cJSON *cfg = NULL, *tc = NULL;
    lam_model *m = NULL;
    lam_status st = zip_member(z, path, "config.json", &config, &config_size);
    if (st == LAM_OK) st = zip_member(z, path, "model.weights.h5", &weights, &weights_size);
    if (st == LAM_OK) {
        cJSON *probe = cJSON_Parse((const char *)config);
        const cJSON *cc = cJSON_GetObjectItemCaseSensitive(probe, "compile_config");
        if (!cJSON_IsObject(probe))
            st = lam_error(LAM_ERR_FORMAT, "%s: config.json is not a JSON object", path);
        else if (cJSON_IsObject(cc))
            st = training_config_from_compile(cc, path, &tc);
        cJSON_Delete(probe);
    }
    if (st == LAM_OK) st = model_from_config(path, "config.json", (const char *)config, tc, &cfg, &m);
    if (st == LAM_OK)
        st = weights_from_image(path, "model.weights.h5", weights, weights_size, cfg, m);
    zip_discard(z);
    lam_free(config);
    lam_free(weights);
    cJSON_Delete(cfg);
    cJSON_Delete(tc);
    if (st != LAM_OK) {
        lam_model_free(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

#else

static lam_status from_zip(const char *path, const unsigned char *buf, size_t size,
                           lam_model **out)
{
    (void)buf, (void)size, (void)out;
    return lam_error(LAM_ERR_UNSUPPORTED, "%s: a Keras 3 .keras file (a zip archive holding "
                     "HDF5), but this lamina was built without %s: install %s "
                     "(scripts/install-deps.sh) and rebuild", path,
#ifdef LAMINA_HAVE_HDF5
                     "libzip", "libzip-dev"
#elif defined(LAMINA_HAVE_ZIP)
                     "libhdf5", "libhdf5-dev"
#else
                     "libzip and libhdf5", "libzip-dev and libhdf5-dev"
#endif
    );
}
#endif

/* ------------------------------------------------------------- entries */

lam_status lam_keras_from_bytes(const char *path, const unsigned char *buf, size_t size,
                                lam_model **out)
{
    *out = NULL;
    lam_status st = LAM_ERR_FORMAT;
    if (size >= 4 && memcmp(buf, LAM_ZIP_MAGIC, 4) == 0) st = from_zip(path, buf, size, out);
    else if (size >= 8 && memcmp(buf, LAM_HDF5_MAGIC, 8) == 0) st = from_h5(path, buf, size, out);
    else
        return lam_error(LAM_ERR_FORMAT, "%s: neither a Keras 3 .keras file (a zip archive) nor a "
                     "legacy .h5 file (HDF5)", path);
    /* An allocation failure deep inside names no file: say which. */
    if (st != LAM_OK && !strstr(lam_last_error(), path)) lam_error_context(st, "%s", path);
    return st;
}

lam_status lam_model_import_keras(const char *path, lam_model **out)
{
    if (!path || !out) return lam_error(LAM_ERR_ARG, "lam_model_import_keras: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lam_error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    lam_status st = LAM_OK;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1 << 16;
            unsigned char *nb = lam_realloc(buf, ncap);
            if (!nb) {
                st = LAM_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) st = lam_error(LAM_ERR_IO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (st == LAM_ERR_NOMEM) lam_error_context(st, "%s", path);
    if (st == LAM_OK) st = lam_keras_from_bytes(path, buf, n, out);
    lam_free(buf);
    return st;
}
