/* curves.c - learning curves (per-epoch loss and metrics) in and out: read
 * from a CSVLogger file or from the "history" a model file keeps in its
 * metadata (Keras's History: {"epoch": [0, 1], "loss": [...], ...}), and
 * recorded there after training. Both are untrusted input: every malformed
 * piece is an error naming the source, the line or key, and what was
 * expected (fuzz/fuzz_curves.c). */
#include "io/curves.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define CURVES_MAX_BYTES ((size_t)64 << 20) /* as a model's metadata value */

void lam_curves_free(lam_curves *c)
{
    if (!c) return;
    for (int k = 0; c->names && k < c->columns; k++) lam_free(c->names[k]);
    lam_free(c->names);
    lam_free(c->epoch);
    lam_free(c->values);
    lam_free(c);
}

/* An empty table of `columns` named columns and room for `epochs` rows, the
 * values NaN. */
static lam_status curves_new(int columns, int epochs, lam_curves **out)
{
    *out = NULL;
    lam_curves *c = lam_calloc(1, sizeof *c);
    if (!c) return LAM_ERR_NOMEM;
    c->columns = columns;
    c->epochs = epochs;
    c->names = lam_calloc((size_t)(columns > 0 ? columns : 1), sizeof *c->names);
    c->epoch = lam_calloc((size_t)(epochs > 0 ? epochs : 1), sizeof *c->epoch);
    c->values = lam_malloc((size_t)(columns > 0 ? columns : 1) * (size_t)(epochs > 0 ? epochs : 1) *
                           sizeof *c->values);
    if (!c->names || !c->epoch || !c->values) {
        lam_curves_free(c);
        return LAM_ERR_NOMEM;
    }
    for (size_t i = 0; i < (size_t)columns * (size_t)epochs; i++) c->values[i] = NAN;
    *out = c;
    return LAM_OK;
}

int lam_curves_column(const lam_curves *c, const char *name)
{
    for (int k = 0; k < c->columns; k++)
        if (!strcmp(c->names[k], name)) return k;
    return -1;
}

/* A column name: 1 to LAM_CURVES_MAX_NAME bytes of UTF-8 without control
 * characters, and not "epoch" (the row's own column). */
static lam_status check_name(const char *source, const char *name, size_t n)
{
    if (n < 1 || n > LAM_CURVES_MAX_NAME)
        return lam_error(LAM_ERR_FORMAT, "%s: a column name of %zu bytes (1 to %d expected)",
                         source, n, LAM_CURVES_MAX_NAME);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20)
            return lam_error(LAM_ERR_FORMAT, "%s: column name \"%.*s\" holds control byte 0x%02x",
                             source, (int)n, name, (unsigned char)name[i]);
    int64_t bad = lam_utf8_invalid_at(name, n);
    if (bad >= 0)
        return lam_error(LAM_ERR_FORMAT, "%s: column name is not UTF-8 (invalid byte 0x%02x at "
                         "%lld)", source, (unsigned char)name[bad], (long long)bad);
    return LAM_OK;
}

static lam_status check_epoch(const char *source, const char *where, double e)
{
    if (!(e >= 0 && e <= LAM_CURVES_MAX_EPOCH) || e != floor(e))
        return lam_error(LAM_ERR_FORMAT, "%s: %s: epoch %g (a whole number from 0 to %d "
                         "expected)", source, where, e, LAM_CURVES_MAX_EPOCH);
    return LAM_OK;
}

/* ------------------------------------------------------------------- CSV */

/* The field [p, end) as a number: empty, "NA" (Keras's CSVLogger for a value
 * an epoch lacks), "nan" give NaN. */
static bool parse_number(const char *p, const char *end, double *v)
{
    char buf[64];
    size_t n = (size_t)(end - p);
    while (n && (*p == ' ')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\r')) n--;
    if (n == 0 || (n == 2 && !strncmp(p, "NA", 2))) {
        *v = NAN;
        return true;
    }
    if (n >= sizeof buf) return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *stop;
    errno = 0;
    *v = strtod(buf, &stop);
    return *stop == '\0' && errno != ERANGE;
}

/* The number of fields of line [p, end) separated by sep. */
static int count_fields(const char *p, const char *end, char sep)
{
    int n = 1;
    for (; p < end; p++) n += *p == sep;
    return n;
}

static lam_status parse_csv(const char *text, size_t len, const char *source, lam_curves **out)
{
    const char *end = text + len, *nl = memchr(text, '\n', len);
    size_t hlen = nl ? (size_t)(nl - text) : len;
    if (hlen > 0 && text[hlen - 1] == '\r') hlen--;
    const char *hend = text + hlen;
    /* CSVLogger's separator is ',' unless its user chose another: the first
     * of , ; tab the header holds. */
    char sep = ',';
    if (!memchr(text, ',', hlen)) {
        if (memchr(text, ';', hlen)) sep = ';';
        else if (memchr(text, '\t', hlen)) sep = '\t';
    }
    const int fields = count_fields(text, hend, sep);
    if (fields - 1 > LAM_CURVES_MAX_COLUMNS)
        return lam_error(LAM_ERR_FORMAT, "%s: line 1: %d columns (at most %d)", source,
                         fields - 1, LAM_CURVES_MAX_COLUMNS);
    const char *f = memchr(text, sep, hlen);
    if ((size_t)((f ? f : hend) - text) != 5 || strncmp(text, "epoch", 5))
        return lam_error(LAM_ERR_FORMAT, "%s: line 1: the header \"%.*s\" does not start with "
                         "\"epoch\" (a CSVLogger file expected: epoch,loss,...)", source,
                         (int)(hlen < 80 ? hlen : 80), text);
    if (fields < 2)
        return lam_error(LAM_ERR_FORMAT, "%s: line 1: only an epoch column, no values", source);
    /* A first pass counts the rows and checks their field counts, so that
     * what is allocated stays in proportion to the text (every row holds
     * fields - 1 separators). */
    int rows = 0, line = 1;
    for (const char *p = nl ? nl + 1 : end; p < end;) {
        const char *le = memchr(p, '\n', (size_t)(end - p));
        if (!le) le = end;
        const char *lend = le > p && le[-1] == '\r' ? le - 1 : le;
        line++;
        if (lend > p) {
            if (count_fields(p, lend, sep) != fields)
                return lam_error(LAM_ERR_FORMAT, "%s: line %d: %d fields, the header has %d",
                                 source, line, count_fields(p, lend, sep), fields);
            if (++rows > LAM_CURVES_MAX_EPOCHS)
                return lam_error(LAM_ERR_FORMAT, "%s: more than %d epochs", source,
                                 LAM_CURVES_MAX_EPOCHS);
        }
        p = le + 1;
    }
    if (rows == 0) return lam_error(LAM_ERR_FORMAT, "%s: a header and no epochs", source);
    lam_curves *c;
    lam_status s = curves_new(fields - 1, rows, &c);
    if (s != LAM_OK) return lam_error_context(s, "%s", source);
    /* The names. */
    const char *p = f + 1;
    for (int k = 0; k < c->columns; k++) {
        const char *q = p;
        while (q < hend && *q != sep) q++;
        if ((s = check_name(source, p, (size_t)(q - p))) != LAM_OK) goto fail;
        c->names[k] = lam_malloc((size_t)(q - p) + 1);
        if (!c->names[k]) {
            s = lam_error_context(LAM_ERR_NOMEM, "%s", source);
            goto fail;
        }
        memcpy(c->names[k], p, (size_t)(q - p));
        c->names[k][q - p] = '\0';
        for (int j = 0; j < k; j++)
            if (!strcmp(c->names[j], c->names[k])) {
                s = lam_error(LAM_ERR_FORMAT, "%s: line 1: column \"%s\" twice", source,
                              c->names[k]);
                goto fail;
            }
        p = q + 1;
    }
    /* The rows (blank lines skipped). */
    int r = 0;
    line = 1;
    for (p = nl ? nl + 1 : end; p < end;) {
        const char *le = memchr(p, '\n', (size_t)(end - p));
        if (!le) le = end;
        line++;
        const char *lend = le > p && le[-1] == '\r' ? le - 1 : le;
        if (lend == p) {
            p = le + 1;
            continue;
        }
        char where[32];
        snprintf(where, sizeof where, "line %d", line);
        for (int k = -1; k < c->columns; k++) {
            const char *q = p;
            while (q < lend && *q != sep) q++;
            double v;
            if (!parse_number(p, q, &v)) {
                s = lam_error(LAM_ERR_FORMAT, "%s: line %d: \"%.*s\" in column %s is not a "
                              "number", source, line, (int)(q - p < 40 ? q - p : 40), p,
                              k < 0 ? "epoch" : c->names[k]);
                goto fail;
            }
            if (k < 0) {
                if ((s = check_epoch(source, where, v)) != LAM_OK) goto fail;
                c->epoch[r] = (int)v;
            } else {
                c->values[(size_t)k * (size_t)rows + (size_t)r] = v;
            }
            p = q + 1;
        }
        r++;
        p = le + 1;
    }
    *out = c;
    return LAM_OK;
fail:
    lam_curves_free(c);
    return s;
}

/* ------------------------------------------------------------------ JSON */

static lam_status parse_json(const char *text, size_t len, const char *source, lam_curves **out)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) return lam_error(LAM_ERR_FORMAT, "%s: not JSON", source);
    lam_status s = LAM_OK;
    lam_curves *c = NULL;
    if (!cJSON_IsObject(root)) {
        s = lam_error(LAM_ERR_FORMAT, "%s: a JSON object {\"epoch\": [...], \"loss\": [...]} "
                      "expected", source);
        goto done;
    }
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(root, "epoch");
    if (!cJSON_IsArray(ep)) {
        s = lam_error(LAM_ERR_FORMAT, "%s: no \"epoch\" array", source);
        goto done;
    }
    const int rows = cJSON_GetArraySize(ep);
    int columns = 0;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (!strcmp(it->string, "epoch")) continue;
        columns++;
        /* Checked before anything is allocated for them. */
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != rows) {
            s = lam_error(LAM_ERR_FORMAT, "%s: \"%.64s\" is not an array of %d values (one per "
                          "epoch)", source, it->string, rows);
            goto done;
        }
    }
    if (rows < 1 || rows > LAM_CURVES_MAX_EPOCHS || columns < 1 ||
        columns > LAM_CURVES_MAX_COLUMNS) {
        s = lam_error(LAM_ERR_FORMAT, "%s: %d epochs and %d quantities (1 to %d and 1 to %d "
                      "expected)", source, rows, columns, LAM_CURVES_MAX_EPOCHS,
                      LAM_CURVES_MAX_COLUMNS);
        goto done;
    }
    if ((s = curves_new(columns, rows, &c)) != LAM_OK) {
        s = lam_error_context(s, "%s", source);
        goto done;
    }
    int i = 0;
    for (const cJSON *e = ep->child; e; e = e->next, i++) {
        char where[32];
        snprintf(where, sizeof where, "epoch[%d]", i);
        if (!cJSON_IsNumber(e)) {
            s = lam_error(LAM_ERR_FORMAT, "%s: %s is not a number", source, where);
            goto done;
        }
        if ((s = check_epoch(source, where, e->valuedouble)) != LAM_OK) goto done;
        c->epoch[i] = (int)e->valuedouble;
    }
    int k = 0;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (!strcmp(it->string, "epoch")) continue;
        if ((s = check_name(source, it->string, strlen(it->string))) != LAM_OK) goto done;
        for (int j = 0; j < k; j++)
            if (!strcmp(c->names[j], it->string)) {
                s = lam_error(LAM_ERR_FORMAT, "%s: \"%s\" twice", source, it->string);
                goto done;
            }
        i = 0;
        for (const cJSON *v = it->child; v; v = v->next, i++) {
            if (cJSON_IsNull(v)) continue; /* NaN: the epoch has none */
            if (!cJSON_IsNumber(v)) {
                s = lam_error(LAM_ERR_FORMAT, "%s: \"%s\"[%d] is not a number or null", source,
                              it->string, i);
                goto done;
            }
            c->values[(size_t)k * (size_t)rows + (size_t)i] = v->valuedouble;
        }
        if (!(c->names[k] = lam_strdup(it->string))) {
            s = lam_error_context(LAM_ERR_NOMEM, "%s", source);
            goto done;
        }
        k++;
    }
done:
    cJSON_Delete(root);
    if (s != LAM_OK) lam_curves_free(c);
    else *out = c;
    return s;
}

lam_status lam_curves_parse(const char *text, size_t len, const char *source, lam_curves **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_curves_parse: out is NULL");
    *out = NULL;
    if (!text || !source) return lam_error(LAM_ERR_ARG, "lam_curves_parse: text or source is NULL");
    if (len > CURVES_MAX_BYTES)
        return lam_error(LAM_ERR_FORMAT, "%s: %zu bytes (at most %zu)", source, len,
                         CURVES_MAX_BYTES);
    if (memchr(text, '\0', len))
        return lam_error(LAM_ERR_FORMAT, "%s: holds a NUL byte; not a CSV log or JSON history",
                         source);
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) i++;
    if (i == len) return lam_error(LAM_ERR_FORMAT, "%s: empty", source);
    return text[i] == '{' ? parse_json(text + i, len - i, source, out)
                          : parse_csv(text + i, len - i, source, out);
}

lam_status lam_curves_read(const char *path, lam_curves **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_curves_read: out is NULL");
    *out = NULL;
    if (!path) return lam_error(LAM_ERR_ARG, "lam_curves_read: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return lam_error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = lam_malloc(cap);
    lam_status s = buf ? LAM_OK : lam_error_context(LAM_ERR_NOMEM, "%s", path);
    while (s == LAM_OK) {
        if (n == cap) {
            if (cap > CURVES_MAX_BYTES) {
                s = lam_error(LAM_ERR_FORMAT, "%s: larger than %zu bytes; not a CSV log", path,
                              CURVES_MAX_BYTES);
                break;
            }
            char *p = lam_realloc(buf, cap * 2);
            if (!p) {
                s = lam_error_context(LAM_ERR_NOMEM, "%s", path);
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) s = lam_error(LAM_ERR_IO, "%s: reading failed", path);
            break;
        }
    }
    fclose(f);
    if (s == LAM_OK) s = lam_curves_parse(buf, n, path, out);
    lam_free(buf);
    return s;
}

lam_status lam_model_history(const lam_model *m, lam_curves **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_model_history: out is NULL");
    *out = NULL;
    if (!m) return lam_error(LAM_ERR_ARG, "lam_model_history: model is NULL");
    const char *h = lam_model_metadata(m, LAM_HISTORY_METADATA_KEY);
    if (!h)
        return lam_error(LAM_ERR_ARG, "the model has no training history (metadata \"%s\": "
                         "`lamina train` and lam_model_record_history keep it)",
                         LAM_HISTORY_METADATA_KEY);
    return lam_curves_parse(h, strlen(h), "the model's history (metadata \"" 
                            LAM_HISTORY_METADATA_KEY "\")", out);
}

/* -------------------------------------------------------------- recording */

/* The quantities an epoch log has, in Keras's History order. */
#define NQ 6
static const char *const Q_NAMES[NQ] = {"loss", "val_loss", "accuracy", "val_accuracy",
                                        "learning_rate", "epsilon"};

static double log_value(const lam_epoch_log *e, int q)
{
    switch (q) {
    case 0: return e->loss;
    case 1: return e->has_val ? e->val_loss : NAN;
    case 2: return e->has_accuracy ? e->accuracy : NAN;
    case 3: return e->has_val && e->has_accuracy ? e->val_accuracy : NAN;
    case 4: return e->learning_rate;
    default: return e->epsilon;
    }
}

/* v exactly (cJSON's own printing may round to 15 digits), or null for NaN. */
static cJSON *exact_number(double v)
{
    if (!isfinite(v)) return cJSON_CreateNull();
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    return cJSON_CreateRaw(buf);
}

lam_status lam_model_record_history(lam_model *m, const lam_history *h, int initial_epoch)
{
    if (!m || !h) return lam_error(LAM_ERR_ARG, "lam_model_record_history: %s is NULL",
                                   m ? "history" : "model");
    if (initial_epoch < 0 || h->epochs < 0 || (h->epochs > 0 && !h->log))
        return lam_error(LAM_ERR_ARG, "lam_model_record_history: initial_epoch %d, %d epochs "
                         "(>= 0 expected, and a log for them)", initial_epoch, h->epochs);
    if (h->epochs == 0) return LAM_OK;
    /* What the model kept so far, up to initial_epoch: a run resumed from an
     * earlier checkpoint replaces the epochs after it. */
    lam_curves *old = NULL;
    if (lam_model_metadata(m, LAM_HISTORY_METADATA_KEY)) LAM_TRY(lam_model_history(m, &old));
    cJSON *root = cJSON_CreateObject();
    cJSON *ep = cJSON_AddArrayToObject(root, "epoch");
    lam_status s = root && ep ? LAM_OK : lam_error(LAM_ERR_NOMEM, "lam_model_record_history");
    int kept = 0;
    for (int i = 0; old && s == LAM_OK && i < old->epochs; i++)
        if (old->epoch[i] < initial_epoch) {
            cJSON_AddItemToArray(ep, cJSON_CreateNumber(old->epoch[i]));
            kept++;
        }
    for (int i = 0; s == LAM_OK && i < h->epochs; i++)
        cJSON_AddItemToArray(ep, cJSON_CreateNumber(initial_epoch + i));
    /* The old columns, then the quantities this run logs that they lack. */
    const int nold = old ? old->columns : 0;
    for (int k = 0; s == LAM_OK && k < nold + NQ; k++) {
        const char *name = k < nold ? old->names[k] : Q_NAMES[k - nold];
        const int q = k < nold ? -1 : k - nold;
        int q_of_name = -1;
        for (int j = 0; j < NQ; j++)
            if (!strcmp(name, Q_NAMES[j])) q_of_name = j;
        if (q >= 0 && old && lam_curves_column(old, name) >= 0) continue; /* already written */
        bool any = false;
        for (int i = 0; q_of_name >= 0 && i < h->epochs; i++)
            any |= !isnan(log_value(&h->log[i], q_of_name));
        if (q >= 0 && !any) continue; /* not logged by this run either */
        cJSON *arr = cJSON_AddArrayToObject(root, name);
        for (int i = 0; old && arr && i < old->epochs; i++)
            if (old->epoch[i] < initial_epoch) {
                const double v = k < nold ? old->values[(size_t)k * (size_t)old->epochs + (size_t)i]
                                          : NAN;
                cJSON_AddItemToArray(arr, exact_number(v));
            }
        for (int i = 0; arr && i < h->epochs; i++) {
            const double v = q_of_name >= 0 ? log_value(&h->log[i], q_of_name) : NAN;
            cJSON_AddItemToArray(arr, exact_number(v));
        }
        if (!arr || cJSON_GetArraySize(arr) != kept + h->epochs)
            s = lam_error(LAM_ERR_NOMEM, "lam_model_record_history");
    }
    lam_curves_free(old);
    char *text = s == LAM_OK ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (s == LAM_OK && !text) s = lam_error(LAM_ERR_NOMEM, "lam_model_record_history");
    if (s == LAM_OK) s = lam_model_set_metadata(m, LAM_HISTORY_METADATA_KEY, text);
    free(text); /* cJSON's allocator */
    return s;
}
