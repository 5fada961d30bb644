/* metadata.c - text kept with a model (tokenizers, preprocessing,
 * provenance): a small key -> value map, sorted by key so that a saved file
 * lists it in one order whatever order the keys were set in (saves are
 * byte-identical). io/model_file.c saves it as "meta.<key>" entries of the
 * safetensors __metadata__. */
#include "model.h"

#include <string.h>

lam_status lam_metadata_check_key(const char *key)
{
    if (!key) return lam_error(LAM_ERR_ARG, "metadata key is NULL");
    size_t n = strlen(key);
    if (n < 1 || n > LAM_METADATA_MAX_KEY)
        return lam_error(LAM_ERR_ARG, "metadata key \"%.80s\" has %zu characters, expected 1 to "
                         "%d", key, n, LAM_METADATA_MAX_KEY);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return lam_error(LAM_ERR_ARG, "metadata key \"%.80s\": byte %zu is 0x%02X; keys are "
                             "made of A-Z a-z 0-9 _ . -", key, i, c);
    }
    return LAM_OK;
}

/* Index of key in the sorted keys, or -(insertion point) - 1. */
static int find(const lam_model *m, const char *key)
{
    int lo = 0, hi = m->nmeta - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(m->meta_keys[mid], key);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -lo - 1;
}

lam_status lam_model_set_metadata(lam_model *m, const char *key, const char *value)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_model_set_metadata: NULL model");
    lam_status st = lam_metadata_check_key(key);
    if (st != LAM_OK) return lam_error_context(st, "model \"%s\"", m->name);
    int at = find(m, key);
    if (!value) { /* removal */
        if (at < 0) return LAM_OK;
        lam_free(m->meta_keys[at]);
        lam_free(m->meta_values[at]);
        memmove(m->meta_keys + at, m->meta_keys + at + 1,
                sizeof *m->meta_keys * (size_t)(m->nmeta - at - 1));
        memmove(m->meta_values + at, m->meta_values + at + 1,
                sizeof *m->meta_values * (size_t)(m->nmeta - at - 1));
        m->nmeta--;
        return LAM_OK;
    }
    size_t len = strlen(value);
    if (len > LAM_METADATA_MAX_VALUE)
        return lam_error(LAM_ERR_ARG, "model \"%s\": metadata \"%s\" is %zu bytes, more than the "
                         "%d allowed", m->name, key, len, LAM_METADATA_MAX_VALUE);
    /* safetensors headers are UTF-8 JSON: other bytes would make the file
     * unreadable to every other reader. */
    int64_t bad = lam_utf8_invalid_at(value, len);
    if (bad >= 0)
        return lam_error(LAM_ERR_ARG, "model \"%s\": metadata \"%s\" is not UTF-8 text: invalid "
                         "byte 0x%02X at offset %lld", m->name, key,
                         (unsigned char)value[bad], (long long)bad);
    char *v = lam_malloc(len + 1);
    if (!v) return lam_error_context(LAM_ERR_NOMEM, "model \"%s\": metadata \"%s\"", m->name, key);
    memcpy(v, value, len + 1);
    if (at >= 0) { /* replacement */
        lam_free(m->meta_values[at]);
        m->meta_values[at] = v;
        return LAM_OK;
    }
    if (m->nmeta >= LAM_METADATA_MAX_KEYS) {
        lam_free(v);
        return lam_error(LAM_ERR_ARG, "model \"%s\": metadata \"%s\" would be key %d, more than "
                         "the %d allowed", m->name, key, m->nmeta + 1, LAM_METADATA_MAX_KEYS);
    }
    char *k = lam_strdup(key);
    char **keys = k ? lam_realloc(m->meta_keys, sizeof *keys * (size_t)(m->nmeta + 1)) : NULL;
    if (keys) m->meta_keys = keys;
    char **vals = keys ? lam_realloc(m->meta_values, sizeof *vals * (size_t)(m->nmeta + 1)) : NULL;
    if (!vals) {
        lam_free(k);
        lam_free(v);
        return lam_error_context(LAM_ERR_NOMEM, "model \"%s\": metadata \"%s\"", m->name, key);
    }
    m->meta_values = vals;
    at = -at - 1;
    memmove(m->meta_keys + at + 1, m->meta_keys + at, sizeof *keys * (size_t)(m->nmeta - at));
    memmove(m->meta_values + at + 1, m->meta_values + at, sizeof *vals * (size_t)(m->nmeta - at));
    m->meta_keys[at] = k;
    m->meta_values[at] = v;
    m->nmeta++;
    return LAM_OK;
}

const char *lam_model_metadata(const lam_model *m, const char *key)
{
    if (!m || !key) return NULL;
    int at = find(m, key);
    return at >= 0 ? m->meta_values[at] : NULL;
}

lam_status lam_model_copy_metadata(lam_model *dst, const lam_model *src)
{
    for (int i = 0; i < src->nmeta; i++)
        LAM_TRY(lam_model_set_metadata(dst, src->meta_keys[i], src->meta_values[i]));
    return LAM_OK;
}

void lam_model_free_metadata(lam_model *m)
{
    for (int i = 0; i < m->nmeta; i++) {
        lam_free(m->meta_keys[i]);
        lam_free(m->meta_values[i]);
    }
    lam_free(m->meta_keys);
    lam_free(m->meta_values);
    m->meta_keys = m->meta_values = NULL;
    m->nmeta = 0;
}
