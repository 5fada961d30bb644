/* model_file.c - a whole model in one safetensors file: architecture,
 * weights, optimizer state and training progress, so that training resumes
 * bit-identically and any safetensors reader (or 10 lines of numpy) can get
 * at the weights. Layout and names: docs/MODEL_FILES.md.
 *
 *   [8 bytes: N, uint64 little-endian][N bytes: JSON header, space-padded to
 *   a multiple of 8][data: raw little-endian float32 tensors, back to back]
 *
 * Header: "__metadata__" (string -> string, as safetensors requires) and one
 * entry per tensor {"dtype":"F32","shape":[...],"data_offsets":[b,e]}, with
 * offsets relative to the start of the data section. Tensors are the weights
 * ("conv2d/kernel", in layer order) then, per optimizer slot, one tensor per
 * weight: "optimizer/<slot>/<weight name>" (slots: Adam and AdamW m, v,
 * v_hat; SGD momentum; RMSprop velocity, momentum, average_gradient; Adagrad
 * accumulator; Adamax m, u; Nadam m, v). */
#include "train/train.h"
#include "io/encrypt.h"
#include "io/keras_file.h"
#include "io/model_file.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define FORMAT_NAME "lamina"
#define FORMAT_VERSION "1"
/* A header larger than this is not one lamina wrote: refuse before parsing. */
#define MAX_HEADER ((uint64_t)256 << 20)
/* The user's metadata (lam_model_set_metadata) is saved under this prefix so
 * that no key can clash with lamina's own. */
#define USER_META_PREFIX "meta."

static const char *slot_name(const lam_model *m, int slot)
{
    return lam_optimizer_slot_name(&m->opt, slot);
}

static bool host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* ------------------------------------------------------------------ save */

typedef struct save_ctx {
    const lam_model *m;
    const char *path;
    const char *header; /* JSON text */
    size_t header_len, padded_len;
    int ntensors;
} save_ctx;

static lam_status write_all(FILE *f, const void *p, size_t n, const char *path)
{
    if (n && fwrite(p, 1, n, f) != n)
        return lam_error(LAM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return LAM_OK;
}

static lam_status save_write(FILE *f, void *user)
{
    save_ctx *c = user;
    unsigned char size[8];
    for (int i = 0; i < 8; i++) size[i] = (unsigned char)((uint64_t)c->padded_len >> (8 * i));
    LAM_TRY(write_all(f, size, 8, c->path));
    LAM_TRY(write_all(f, c->header, c->header_len, c->path));
    for (size_t i = c->header_len; i < c->padded_len; i++)
        if (fputc(' ', f) == EOF)
            return lam_error(LAM_ERR_IO, "%s: write failed: %s", c->path, strerror(errno));
    /* Same order as the header's offsets: weights, then each slot. */
    const lam_model *m = c->m;
    if (!m->params) return LAM_OK;
    for (int s = -1; s < m->nslots; s++) {
        for (int t = 0; t < c->ntensors; t++) {
            lam_tensor_info ti;
            LAM_TRY(lam_model_tensor(m, t, &ti));
            if (s >= 0 && !ti.trainable) continue; /* no optimizer state */
            const float *src = s < 0 ? ti.data : m->slots[s] + ti.offset;
            LAM_TRY(write_all(f, src, sizeof(float) * (size_t)ti.count, c->path));
        }
    }
    return LAM_OK;
}

static cJSON *tensor_entry(const lam_tensor_info *ti, uint64_t *offset)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "dtype", "F32");
    cJSON *shape = cJSON_AddArrayToObject(e, "shape");
    for (int d = 0; d < ti->rank; d++)
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)ti->shape[d]));
    cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
    uint64_t end = *offset + sizeof(float) * (uint64_t)ti->count;
    cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)*offset));
    cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)end));
    *offset = end;
    if (!e || !shape || !offs || cJSON_GetArraySize(offs) != 2) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}

/* Adds a metadata string; false when out of memory. */
static bool meta_add(cJSON *meta, const char *key, const char *value)
{
    return cJSON_AddStringToObject(meta, key, value) != NULL;
}

static cJSON *build_header(const lam_model *m, const char *path, lam_status *st)
{
    *st = LAM_OK;
    cJSON *h = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(h, "__metadata__");
    bool ok = h && meta;
    char *arch = NULL;
    *st = lam_model_to_json(m, &arch);
    if (*st != LAM_OK) {
        cJSON_Delete(h);
        lam_error_context(*st, "%s", path);
        return NULL;
    }
    ok = ok && meta_add(meta, "format", FORMAT_NAME) &&
         meta_add(meta, "format_version", FORMAT_VERSION) &&
         meta_add(meta, "lamina_version", lam_version()) && meta_add(meta, "model_config", arch);
    free(arch); /* cJSON text: its own allocator */
    if (ok && m->compiled) {
        cJSON *tc = lam_training_config_to_cjson(m);
        char *tct = tc ? cJSON_PrintUnformatted(tc) : NULL;
        ok = tct && meta_add(meta, "training_config", tct);
        free(tct);
        cJSON_Delete(tc);
    }
    char num[96];
    lam_train_state ts;
    lam_model_train_state(m, &ts);
    snprintf(num, sizeof num, "%" PRId64, ts.epoch);
    ok = ok && meta_add(meta, "epoch", num);
    snprintf(num, sizeof num, "%" PRId64, ts.step);
    ok = ok && meta_add(meta, "step", num);
    /* Decimal, comma-separated: exact, and easy to read from any language. */
    snprintf(num, sizeof num, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, ts.rng[0],
             ts.rng[1], ts.rng[2], ts.rng[3]);
    ok = ok && meta_add(meta, "rng", num);
    /* The seed drives dropout masks (with the step), so resuming needs it. */
    snprintf(num, sizeof num, "%" PRIu64, m->seed);
    ok = ok && meta_add(meta, "seed", num);
    if (m->compiled && m->opt.kind == LAM_OPT_NADAM) {
        /* Nadam's scalar state; hex float: the exact double. */
        snprintf(num, sizeof num, "%a", m->opt_scalar);
        ok = ok && meta_add(meta, "optimizer_u_product", num);
    }
    if (ts.epoch_step > 0) {
        /* A checkpoint inside an epoch: where it was, to continue the same order. */
        snprintf(num, sizeof num, "%" PRId64, ts.epoch_step);
        ok = ok && meta_add(meta, "epoch_step", num);
        snprintf(num, sizeof num, "%" PRId64, ts.epoch_batch_size);
        ok = ok && meta_add(meta, "epoch_batch_size", num);
        snprintf(num, sizeof num, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
                 ts.epoch_rng[0], ts.epoch_rng[1], ts.epoch_rng[2], ts.epoch_rng[3]);
        ok = ok && meta_add(meta, "epoch_rng", num);
        snprintf(num, sizeof num, "%a", ts.epoch_loss); /* hex float: exact */
        ok = ok && meta_add(meta, "epoch_loss", num);
        snprintf(num, sizeof num, "%" PRId64, ts.epoch_correct);
        ok = ok && meta_add(meta, "epoch_correct", num);
    }

    for (int i = 0; ok && i < m->nmeta; i++) {
        char key[sizeof USER_META_PREFIX + LAM_METADATA_MAX_KEY];
        snprintf(key, sizeof key, USER_META_PREFIX "%s", m->meta_keys[i]);
        ok = meta_add(meta, key, m->meta_values[i]);
    }

    uint64_t offset = 0;
    int nt = lam_model_num_tensors(m);
    for (int s = -1; ok && m->params && s < m->nslots; s++) {
        for (int t = 0; ok && t < nt; t++) {
            lam_tensor_info ti;
            if ((*st = lam_model_tensor(m, t, &ti)) != LAM_OK) {
                cJSON_Delete(h);
                return NULL;
            }
            if (s >= 0 && !ti.trainable) continue; /* moving statistics: no slots */
            char name[160];
            if (s < 0) snprintf(name, sizeof name, "%s", ti.name);
            else snprintf(name, sizeof name, "optimizer/%s/%s", slot_name(m, s), ti.name);
            cJSON *e = tensor_entry(&ti, &offset);
            ok = e && cJSON_AddItemToObject(h, name, e);
            if (e && !ok) cJSON_Delete(e);
        }
    }
    if (!ok) {
        cJSON_Delete(h);
        *st = lam_error(LAM_ERR_NOMEM, "%s: out of memory building the file header", path);
        return NULL;
    }
    return h;
}

lam_callback lam_model_checkpoint(const char *path)
{
    lam_callback c = lam_callback_defaults(LAM_CB_MODEL_CHECKPOINT);
    c.path = path;
    c.save = lam_model_save;
    return c;
}

lam_callback lam_model_checkpoint_encrypted(const char *path, const lam_key *key)
{
    lam_callback c = lam_model_checkpoint(path);
    c.key = key;
    c.save_encrypted = lam_model_save_encrypted;
    return c;
}

/* Saves in plaintext, or encrypted with key when it is not NULL. */
static lam_status save_file(const lam_model *m, const char *path, const lam_key *key)
{
    if (!host_is_little_endian())
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: saving needs a little-endian host", path);
    if (lam_model_num_layers(m) < 2)
        return lam_error(LAM_ERR_STATE, "%s: model \"%s\" needs an input and at least one more "
                         "layer to be saved", path, m->name);
    lam_status st;
    cJSON *h = build_header(m, path, &st);
    if (!h) return st;
    char *text = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    if (!text) return lam_error(LAM_ERR_NOMEM, "%s: out of memory writing the header", path);
    size_t len = strlen(text);
    if ((uint64_t)len > MAX_HEADER) {
        free(text);
        return lam_error(LAM_ERR_ARG, "%s: the file header would be %zu bytes, more than the %"
                         PRIu64 " a reader accepts (too much metadata?)", path, len, MAX_HEADER);
    }
    /* safetensors pads the header with spaces so the data starts 8-aligned. */
    save_ctx c = {m, path, text, len, (len + 7) / 8 * 8, lam_model_num_tensors(m)};
    st = key ? lam_write_atomic_encrypted(path, save_write, &c, key)
             : lam_write_atomic(path, save_write, &c);
    free(text);
    return st;
}

lam_status lam_model_save(const lam_model *m, const char *path)
{
    if (!m || !path) return lam_error(LAM_ERR_ARG, "lam_model_save: NULL argument");
    return save_file(m, path, NULL);
}

lam_status lam_model_save_encrypted(const lam_model *m, const char *path, const lam_key *key)
{
    if (!m || !path || !key)
        return lam_error(LAM_ERR_ARG, "lam_model_save_encrypted: NULL argument");
    return save_file(m, path, key);
}

/* ------------------------------------------------------------------ load */

typedef struct span {
    uint64_t b, e;
    const char *name;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b ? 1 : (x->e > y->e) - (x->e < y->e);
}

static bool json_u64(const cJSON *v, uint64_t *out)
{
    /* Exact in a double up to 2^53, far beyond any file lamina reads. */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return false;
    *out = (uint64_t)v->valuedouble;
    return true;
}

static lam_status read_file(const char *path, unsigned char **buf, size_t *size)
{
    *buf = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return lam_error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    lam_status st = LAM_OK;
    long n = -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        st = lam_error(LAM_ERR_IO, "%s: cannot determine the size: %s", path, strerror(errno));
    if (st == LAM_OK && !(*buf = lam_malloc((size_t)n + 1)))
        st = lam_error_context(LAM_ERR_NOMEM, "%s", path);
    if (st == LAM_OK && fread(*buf, 1, (size_t)n, f) != (size_t)n)
        st = lam_error(LAM_ERR_IO, "%s: read failed after %ld bytes", path, n);
    fclose(f);
    if (st != LAM_OK) {
        lam_free(*buf);
        *buf = NULL;
        return st;
    }
    *size = (size_t)n;
    return LAM_OK;
}

static lam_status meta_str(const cJSON *meta, const char *path, const char *key, bool required,
                           const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);
    *out = NULL;
    if (!v) {
        if (!required) return LAM_OK;
        return lam_error(LAM_ERR_FORMAT, "%s: __metadata__ has no \"%s\"", path, key);
    }
    if (!cJSON_IsString(v))
        return lam_error(LAM_ERR_FORMAT, "%s: __metadata__ \"%s\" is not a string (safetensors "
                         "metadata values are strings)", path, key);
    *out = v->valuestring;
    return LAM_OK;
}

static lam_status parse_u64(const char *path, const char *key, const char *s, uint64_t *out,
                            const char **end)
{
    errno = 0;
    char *e = NULL;
    if (*s < '0' || *s > '9')
        return lam_error(LAM_ERR_FORMAT, "%s: __metadata__ \"%s\" is not a whole number", path, key);
    unsigned long long v = strtoull(s, &e, 10);
    if (errno || e == s)
        return lam_error(LAM_ERR_FORMAT, "%s: __metadata__ \"%s\" is not a whole number", path, key);
    *out = v;
    if (end) *end = e;
    else if (*e)
        return lam_error(LAM_ERR_FORMAT, "%s: __metadata__ \"%s\" has trailing text", path, key);
    return LAM_OK;
}

/* A generator state: 4 comma-separated whole numbers, not all zero. */
static lam_status parse_rng(const cJSON *meta, const char *path, const char *key, uint64_t out[4])
{
    const char *s;
    LAM_TRY(meta_str(meta, path, key, true, &s));
    for (int i = 0; i < 4; i++) {
        const char *e = s;
        LAM_TRY(parse_u64(path, key, s, &out[i], &e));
        if (*e != (i < 3 ? ',' : '\0'))
            return lam_error(LAM_ERR_FORMAT, "%s: __metadata__ \"%s\" must be 4 comma-separated "
                             "whole numbers", path, key);
        s = e + (i < 3);
    }
    if ((out[0] | out[1] | out[2] | out[3]) == 0)
        return lam_error(LAM_ERR_FORMAT, "%s: __metadata__ \"%s\" is all zero (an invalid "
                         "generator state)", path, key);
    return LAM_OK;
}

/* The progress, seed and generator state from the metadata. */
static lam_status load_state(const cJSON *meta, const char *path, lam_train_state *ts,
                             uint64_t *seed, bool *has_seed)
{
    const char *s;
    uint64_t v;
    LAM_TRY(meta_str(meta, path, "epoch", true, &s));
    LAM_TRY(parse_u64(path, "epoch", s, &v, NULL));
    if (v > INT32_MAX) return lam_error(LAM_ERR_FORMAT, "%s: epoch %s is out of range", path, s);
    ts->epoch = (int64_t)v;
    LAM_TRY(meta_str(meta, path, "step", true, &s));
    LAM_TRY(parse_u64(path, "step", s, &v, NULL));
    if (v > INT64_MAX) return lam_error(LAM_ERR_FORMAT, "%s: step %s is out of range", path, s);
    ts->step = (int64_t)v;
    LAM_TRY(parse_rng(meta, path, "rng", ts->rng));
    LAM_TRY(meta_str(meta, path, "epoch_step", false, &s));
    if (s) {
        LAM_TRY(parse_u64(path, "epoch_step", s, &v, NULL));
        if (v > INT32_MAX)
            return lam_error(LAM_ERR_FORMAT, "%s: epoch_step %s is out of range", path, s);
        ts->epoch_step = (int64_t)v;
        LAM_TRY(meta_str(meta, path, "epoch_batch_size", true, &s));
        LAM_TRY(parse_u64(path, "epoch_batch_size", s, &v, NULL));
        if (v < 1 || v > INT32_MAX)
            return lam_error(LAM_ERR_FORMAT, "%s: epoch_batch_size %s is out of range", path, s);
        ts->epoch_batch_size = (int64_t)v;
        LAM_TRY(parse_rng(meta, path, "epoch_rng", ts->epoch_rng));
        LAM_TRY(meta_str(meta, path, "epoch_correct", true, &s));
        LAM_TRY(parse_u64(path, "epoch_correct", s, &v, NULL));
        if (v > INT64_MAX)
            return lam_error(LAM_ERR_FORMAT, "%s: epoch_correct %s is out of range", path, s);
        ts->epoch_correct = (int64_t)v;
        LAM_TRY(meta_str(meta, path, "epoch_loss", true, &s));
        char *end;
        ts->epoch_loss = strtod(s, &end);
        if (end == s || *end || !(ts->epoch_loss >= 0))
            return lam_error(LAM_ERR_FORMAT, "%s: __metadata__ \"epoch_loss\" is \"%s\", expected "
                             "a number >= 0", path, s);
    }
    LAM_TRY(meta_str(meta, path, "seed", false, &s));
    *has_seed = s != NULL;
    if (s) LAM_TRY(parse_u64(path, "seed", s, seed, NULL));
    return LAM_OK;
}

/* The user's metadata: every "meta.<key>" entry, with a valid key and a string value. */
static lam_status load_user_metadata(const cJSON *meta, const char *path, lam_model *m)
{
    const size_t np = strlen(USER_META_PREFIX);
    for (const cJSON *e = meta->child; e; e = e->next) {
        if (strncmp(e->string, USER_META_PREFIX, np) != 0) continue;
        if (!cJSON_IsString(e))
            return lam_error(LAM_ERR_FORMAT, "%s: __metadata__ \"%.80s\" is not a string "
                             "(safetensors metadata values are strings)", path, e->string);
        if (lam_model_metadata(m, e->string + np))
            return lam_error(LAM_ERR_FORMAT, "%s: __metadata__ \"%.80s\" appears twice", path,
                             e->string);
        lam_status st = lam_model_set_metadata(m, e->string + np, e->valuestring);
        if (st != LAM_OK)
            return lam_error_context(st == LAM_ERR_NOMEM ? st : LAM_ERR_FORMAT, "%s: __metadata__",
                                     path);
    }
    return LAM_OK;
}

/* Checks every tensor entry on its own and that together they tile the data
 * section exactly: no gaps, no overlaps, nothing past the end. */
static lam_status check_entries(const cJSON *h, const char *path, uint64_t data_size,
                                int *nentries)
{
    int n = 0;
    for (const cJSON *e = h->child; e; e = e->next)
        if (strcmp(e->string, "__metadata__") != 0) n++;
    *nentries = n;
    if (n == 0) {
        if (data_size != 0)
            return lam_error(LAM_ERR_FORMAT, "%s: %" PRIu64 " data bytes but no tensors", path,
                             data_size);
        return LAM_OK;
    }
    span *sp = lam_malloc(sizeof *sp * (size_t)n);
    if (!sp) return lam_error_context(LAM_ERR_NOMEM, "%s", path);
    lam_status st = LAM_OK;
    int k = 0;
    for (const cJSON *e = h->child; e && st == LAM_OK; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) continue;
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        uint64_t b = 0, en = 0, count = 1;
        if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) ||
            !cJSON_IsArray(of)) {
            st = lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\": expected an object with dtype, "
                           "shape and data_offsets", path, e->string);
            break;
        }
        if (strcmp(dt->valuestring, "F32") != 0) {
            st = lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\" has dtype %s; lamina stores F32",
                           path, e->string, dt->valuestring);
            break;
        }
        for (const cJSON *d = sh->child; d && st == LAM_OK; d = d->next) {
            uint64_t x;
            if (!json_u64(d, &x) || x > ((uint64_t)1 << 32) || (x && count > UINT64_MAX / 4 / x))
                st = lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\": bad shape entry", path,
                               e->string);
            else count *= x;
        }
        if (st != LAM_OK) break;
        if (cJSON_GetArraySize(of) != 2 || !json_u64(cJSON_GetArrayItem(of, 0), &b) ||
            !json_u64(cJSON_GetArrayItem(of, 1), &en) || en < b) {
            st = lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\": data_offsets must be [begin, end] "
                           "with begin <= end", path, e->string);
            break;
        }
        if (en > data_size) {
            st = lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%" PRIu64 ", %"
                           PRIu64 "] out of range: the data section has %" PRIu64 " bytes",
                           path, e->string, b, en, data_size);
            break;
        }
        if (en - b != 4 * count) {
            st = lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\": data_offsets span %" PRIu64
                           " bytes, but its shape needs %" PRIu64 " (F32)", path, e->string,
                           en - b, 4 * count);
            break;
        }
        sp[k++] = (span){b, en, e->string};
    }
    if (st == LAM_OK) {
        qsort(sp, (size_t)n, sizeof *sp, span_cmp);
        uint64_t at = 0;
        for (int i = 0; i < n && st == LAM_OK; i++) {
            if (sp[i].b != at)
                st = lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\" starts at data byte %" PRIu64
                               ", expected %" PRIu64 " (tensors must be contiguous and must "
                               "not overlap)", path, sp[i].name, sp[i].b, at);
            at = sp[i].e;
        }
        if (st == LAM_OK && at != data_size)
            st = lam_error(LAM_ERR_FORMAT, "%s: the tensors cover %" PRIu64 " of the %" PRIu64
                           " data bytes", path, at, data_size);
    }
    lam_free(sp);
    return st;
}

/* Copies tensor `name` (which must have the architecture's shape) to dst. */
static lam_status copy_tensor(const cJSON *h, const char *path, const char *name,
                              const lam_tensor_info *ti, const unsigned char *data, float *dst)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(h, name);
    if (!e)
        return lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\" is missing", path, name);
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    bool same = cJSON_GetArraySize(sh) == ti->rank;
    for (int d = 0; same && d < ti->rank; d++) {
        uint64_t x;
        same = json_u64(cJSON_GetArrayItem(sh, d), &x) && x == (uint64_t)ti->shape[d];
    }
    if (!same) {
        char want[96], got[128];
        int k = snprintf(want, sizeof want, "[");
        for (int d = 0; d < ti->rank; d++)
            k += snprintf(want + k, sizeof want - (size_t)k, d ? ", %lld" : "%lld",
                          (long long)ti->shape[d]);
        snprintf(want + k, sizeof want - (size_t)k, "]");
        char *p = cJSON_PrintUnformatted(sh);
        snprintf(got, sizeof got, "%s", p ? p : "?");
        free(p);
        return lam_error(LAM_ERR_SHAPE, "%s: tensor \"%s\" has shape %s, the architecture "
                         "needs %s", path, name, got, want);
    }
    uint64_t b = 0; /* check_entries validated it */
    json_u64(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e, "data_offsets"), 0), &b);
    memcpy(dst, data + b, sizeof(float) * (size_t)ti->count); /* unaligned source: memcpy */
    return LAM_OK;
}

static lam_status load_from(const char *path, const unsigned char *buf, size_t size,
                            lam_model **out)
{
    if (size < 8)
        return lam_error(LAM_ERR_FORMAT, "%s: truncated: %zu bytes, but a safetensors file "
                         "starts with an 8-byte header size", path, size);
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n |= (uint64_t)buf[i] << (8 * i);
    if (n > size - 8)
        return lam_error(LAM_ERR_FORMAT, "%s: header size %" PRIu64 " is larger than the file "
                         "(%zu bytes): truncated or not a safetensors file", path, n, size);
    if (n < 2 || n > MAX_HEADER)
        return lam_error(LAM_ERR_FORMAT, "%s: header size %" PRIu64 " is implausible; not a "
                         "safetensors file", path, n);
    cJSON *h = cJSON_ParseWithLength((const char *)buf + 8, (size_t)n);
    if (!h || !cJSON_IsObject(h)) {
        cJSON_Delete(h);
        return lam_error(LAM_ERR_FORMAT, "%s: the %" PRIu64 "-byte header is not valid JSON "
                         "(an object)", path, n);
    }
    lam_status st = LAM_OK;
    lam_model *m = NULL;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
    const char *fmt = NULL, *ver = NULL, *arch = NULL, *tcs = NULL;
    if (!cJSON_IsObject(meta)) {
        st = lam_error(LAM_ERR_FORMAT, "%s: no __metadata__ in the header; not a lamina model "
                       "file", path);
        goto done;
    }
    if ((st = meta_str(meta, path, "format", true, &fmt)) != LAM_OK) goto done;
    if (strcmp(fmt, FORMAT_NAME) != 0) {
        st = lam_error(LAM_ERR_FORMAT, "%s: format is \"%s\", not \"" FORMAT_NAME "\"; not a "
                       "lamina model file", path, fmt);
        goto done;
    }
    if ((st = meta_str(meta, path, "format_version", true, &ver)) != LAM_OK) goto done;
    if (strcmp(ver, FORMAT_VERSION) != 0) {
        st = lam_error(LAM_ERR_FORMAT, "%s: written by format version %s, this lamina reads "
                       FORMAT_VERSION, path, ver);
        goto done;
    }
    if ((st = meta_str(meta, path, "model_config", true, &arch)) != LAM_OK) goto done;
    if ((st = meta_str(meta, path, "training_config", false, &tcs)) != LAM_OK) goto done;
    lam_train_state ts;
    memset(&ts, 0, sizeof ts);
    uint64_t seed = 0;
    bool has_seed = false;
    if ((st = load_state(meta, path, &ts, &seed, &has_seed)) != LAM_OK) goto done;
    const uint64_t data_size = (uint64_t)(size - 8 - n);
    int nentries = 0;
    if ((st = check_entries(h, path, data_size, &nentries)) != LAM_OK) goto done;

    char src[512];
    snprintf(src, sizeof src, "%s (model_config)", path);
    if ((st = lam_model_from_json(arch, src, &m)) != LAM_OK) goto done;
    if (has_seed) lam_model_set_seed(m, seed);
    if (tcs) {
        cJSON *tc = cJSON_Parse(tcs);
        if (!tc) {
            st = lam_error(LAM_ERR_FORMAT, "%s: training_config is not valid JSON", path);
            goto done;
        }
        lam_optimizer opt;
        lam_loss loss;
        st = lam_training_config_parse(tc, path, &opt, &loss);
        /* Compile allocates the weights and slots (and initialises them,
         * which the copies below overwrite). */
        if (st == LAM_OK && (st = lam_model_compile(m, &opt, loss)) != LAM_OK)
            st = lam_error_context(st, "%s", path);
        if (st == LAM_OK) st = lam_training_config_output_losses(tc, path, m);
        cJSON_Delete(tc);
        if (st != LAM_OK) goto done;
    }
    const unsigned char *data = buf + 8 + n;
    int nt = lam_model_num_tensors(m), expected = 0;
    for (int s = -1; m->params && s < m->nslots; s++) {
        for (int t = 0; t < nt; t++) {
            lam_tensor_info ti;
            if ((st = lam_model_tensor(m, t, &ti)) != LAM_OK) goto done;
            if (s >= 0 && !ti.trainable) continue;
            char name[160];
            if (s < 0) snprintf(name, sizeof name, "%s", ti.name);
            else snprintf(name, sizeof name, "optimizer/%s/%s", slot_name(m, s), ti.name);
            /* Weights go where the model keeps them (trainable ones in the
             * parameter buffer, moving statistics in the state buffer). */
            float *dst = s < 0 ? ti.data : m->slots[s] + ti.offset;
            if ((st = copy_tensor(h, path, name, &ti, data, dst)) != LAM_OK) goto done;
            expected++;
        }
    }
    if (nentries != expected) {
        /* Name the first tensor the architecture has no place for. */
        for (const cJSON *e = h->child; e; e = e->next) {
            if (strcmp(e->string, "__metadata__") == 0) continue;
            bool known = false;
            for (int s = -1; m->params && s < m->nslots && !known; s++)
                for (int t = 0; t < nt && !known; t++) {
                    lam_tensor_info ti;
                    lam_model_tensor(m, t, &ti);
                    if (s >= 0 && !ti.trainable) continue;
                    char name[160];
                    if (s < 0) snprintf(name, sizeof name, "%s", ti.name);
                    else snprintf(name, sizeof name, "optimizer/%s/%s", slot_name(m, s), ti.name);
                    known = strcmp(name, e->string) == 0;
                }
            if (!known) {
                st = lam_error(LAM_ERR_FORMAT, "%s: unexpected tensor \"%s\": the model%s has "
                               "no such weight", path, e->string,
                               m->compiled ? "" : " (saved without compile, so without weights)");
                goto done;
            }
        }
        st = lam_error(LAM_ERR_FORMAT, "%s: %d tensors, expected %d", path, nentries, expected);
        goto done;
    }
    if (m->compiled && m->opt.kind == LAM_OPT_NADAM) {
        const char *u = NULL;
        char *end = NULL;
        if ((st = meta_str(meta, path, "optimizer_u_product", true, &u)) != LAM_OK) goto done;
        double v = strtod(u, &end);
        /* A product of factors in [0, 1): anything else is not one lamina wrote. */
        if (end == u || *end || !(v >= 0 && v <= 1)) {
            st = lam_error(LAM_ERR_FORMAT, "%s: __metadata__ \"optimizer_u_product\" is \"%s\", "
                           "expected a number in [0, 1]", path, u);
            goto done;
        }
        m->opt_scalar = v;
    }
    if ((st = load_user_metadata(meta, path, m)) != LAM_OK) goto done;
    if ((st = lam_model_set_train_state(m, &ts)) != LAM_OK) {
        st = lam_error_context(st, "%s", path);
        goto done;
    }
done:
    cJSON_Delete(h);
    if (st != LAM_OK) {
        lam_model_free(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

/* Loads the file's bytes: decrypted with key when they are encrypted. */
static lam_status load_bytes(const char *path, const unsigned char *buf, size_t size,
                             const lam_key *key, lam_model **out)
{
    /* Keras's own files (.keras, .h5) are told by their first bytes. */
    if (lam_keras_magic(buf, size)) return lam_keras_from_bytes(path, buf, size, out);
    if (!lam_encrypted_magic(buf, size)) return load_from(path, buf, size, out);
    if (!key) {
        char id[17] = "?";
        if (size >= LAM_ENC_FIXED_BYTES) lam_encrypted_key_id_hex(buf, id);
        return lam_error(LAM_ERR_FORMAT, "%s: an encrypted lamina model file (key id %s): it "
                         "needs its key to be read (lam_model_load_key)", path, id);
    }
    unsigned char *plain;
    size_t n;
    LAM_TRY(lam_decrypt_bytes(path, buf, size, key, &plain, &n));
    lam_status st = load_from(path, plain, n, out);
    lam_wipe(plain, n); /* the weights live on in the model, but not twice */
    lam_free(plain);
    return st;
}

static lam_status load_file(const char *path, const lam_key *key, lam_model **out)
{
    *out = NULL;
    if (!host_is_little_endian())
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: loading needs a little-endian host", path);
    unsigned char *buf;
    size_t size;
    LAM_TRY(read_file(path, &buf, &size));
    lam_status st = load_bytes(path, buf, size, key, out);
    lam_free(buf);
    return st;
}

lam_status lam_model_load(const char *path, lam_model **out)
{
    if (!path || !out) return lam_error(LAM_ERR_ARG, "lam_model_load: NULL argument");
    return load_file(path, NULL, out);
}

lam_status lam_model_load_key(const char *path, const lam_key *key, lam_model **out)
{
    if (!path || !out) return lam_error(LAM_ERR_ARG, "lam_model_load_key: NULL argument");
    return load_file(path, key, out);
}

lam_status lam_model_file_encrypted(const char *path, bool *encrypted)
{
    if (!path || !encrypted) return lam_error(LAM_ERR_ARG, "lam_model_file_encrypted: NULL argument");
    *encrypted = false;
    FILE *f = fopen(path, "rb");
    if (!f) return lam_error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[LAM_ENC_MAGIC_LEN];
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    *encrypted = lam_encrypted_magic(magic, n);
    return LAM_OK;
}
