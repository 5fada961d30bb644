/* tokenizer.c - the public tokenizer calls: training, encoding, decoding,
 * JSON (the form kept in a model's metadata) and the command's spelling.
 *
 * JSON forms (docs/TEXT.md):
 *   {"type": "char", "version": 1, "code_points": [10, 32, 33, ...]}
 *   {"type": "bpe", "version": 1, "pre_split": "gpt2-bytes", "merges": [[101, 32], ...]}
 * Code points rather than strings: U+0000 is a valid character of a text and
 * cannot live in a C string. */
#include "text/text.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#define JSON_VERSION 1
#define PRE_SPLIT_NAME "gpt2-bytes"

lam_status lam_tokenizer_alloc(lam_tokenizer_kind kind, int vocab, lam_tokenizer **out)
{
    *out = NULL;
    lam_tokenizer *t = lam_calloc(1, sizeof *t);
    if (!t) return LAM_ERR_NOMEM;
    t->kind = kind;
    t->vocab = vocab;
    if (kind == LAM_TOKENIZER_CHAR) {
        t->code_points = lam_malloc(sizeof *t->code_points * (size_t)(vocab ? vocab : 1));
        if (!t->code_points) goto nomem;
    } else {
        t->nmerges = vocab - 256;
        t->merges = lam_malloc(sizeof *t->merges * 2 * (size_t)(t->nmerges ? t->nmerges : 1));
        if (!t->merges) goto nomem;
    }
    *out = t;
    return LAM_OK;
nomem:
    lam_tokenizer_free(t);
    return LAM_ERR_NOMEM;
}

void lam_tokenizer_free(lam_tokenizer *t)
{
    if (!t) return;
    lam_free(t->offsets);
    lam_free(t->bytes);
    lam_free(t->code_points);
    lam_free(t->merges);
    if (t->ranks) lam_pair_map_free(t->ranks);
    lam_free(t->ranks);
    lam_free(t);
}

lam_tokenizer_kind lam_tokenizer_kind_of(const lam_tokenizer *t) { return t->kind; }
int lam_tokenizer_vocab_size(const lam_tokenizer *t) { return t ? t->vocab : 0; }

static lam_status vocab_range(int vocab_size)
{
    if (vocab_size < 256)
        return lam_error(LAM_ERR_ARG, "BPE vocabulary too small: %d tokens, expected at least "
                         "256 (one per byte) and at most %d", vocab_size, LAM_TOKENIZER_MAX_VOCAB);
    if (vocab_size > LAM_TOKENIZER_MAX_VOCAB)
        return lam_error(LAM_ERR_ARG, "BPE vocabulary too large: %d tokens, expected 256 to %d",
                         vocab_size, LAM_TOKENIZER_MAX_VOCAB);
    return LAM_OK;
}

lam_status lam_tokenizer_parse(const char *spec, lam_tokenizer_kind *kind, int *vocab_size)
{
    if (!spec || !kind || !vocab_size)
        return lam_error(LAM_ERR_ARG, "lam_tokenizer_parse: NULL argument");
    if (strcmp(spec, "char") == 0) {
        *kind = LAM_TOKENIZER_CHAR;
        *vocab_size = 0;
        return LAM_OK;
    }
    if (strncmp(spec, "bpe:", 4) == 0) {
        const char *v = spec + 4;
        char *end = NULL;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (*v < '0' || *v > '9' || *end || errno)
            return lam_error(LAM_ERR_ARG, "tokenizer \"%s\": expected bpe:VOCAB with VOCAB a "
                             "whole number (256 to %d)", spec, LAM_TOKENIZER_MAX_VOCAB);
        if (n > LAM_TOKENIZER_MAX_VOCAB) n = (long)LAM_TOKENIZER_MAX_VOCAB + 1;
        lam_status st = vocab_range((int)n);
        if (st != LAM_OK) return lam_error_context(st, "tokenizer \"%s\"", spec);
        *kind = LAM_TOKENIZER_BPE;
        *vocab_size = (int)n;
        return LAM_OK;
    }
    return lam_error(LAM_ERR_ARG, "tokenizer \"%s\": expected \"char\" or \"bpe:VOCAB\"", spec);
}

lam_status lam_tokenizer_train(lam_tokenizer_kind kind, int vocab_size, const char *text,
                               size_t len, lam_tokenizer **out)
{
    if (!out || (!text && len)) return lam_error(LAM_ERR_ARG, "lam_tokenizer_train: NULL argument");
    *out = NULL;
    if (len == 0) return lam_error(LAM_ERR_ARG, "tokenizer training: the text is empty");
    if (kind == LAM_TOKENIZER_CHAR) {
        if (vocab_size < 0 || vocab_size > LAM_TOKENIZER_MAX_VOCAB)
            return lam_error(LAM_ERR_ARG, "char tokenizer: vocabulary size %d, expected 0 (as "
                             "many as the text has) to %d", vocab_size, LAM_TOKENIZER_MAX_VOCAB);
        return lam_char_train(vocab_size, text, len, out);
    }
    if (kind == LAM_TOKENIZER_BPE) {
        LAM_TRY(vocab_range(vocab_size));
        return lam_bpe_train(vocab_size, text, len, out);
    }
    return lam_error(LAM_ERR_ARG, "lam_tokenizer_train: unknown tokenizer kind %d", (int)kind);
}

lam_status lam_tokenizer_encode(const lam_tokenizer *t, const char *text, size_t len,
                                int32_t **ids, int64_t *n)
{
    if (!t || !ids || !n || (!text && len))
        return lam_error(LAM_ERR_ARG, "lam_tokenizer_encode: NULL argument");
    *ids = NULL;
    *n = 0;
    /* Never more ids than bytes (each token holds at least one byte). */
    int32_t *out = lam_malloc(sizeof *out * (len ? len : 1));
    if (!out) return lam_error_context(LAM_ERR_NOMEM, "tokenizer encode");
    int64_t count = 0;
    lam_status st = t->kind == LAM_TOKENIZER_CHAR ? lam_char_encode(t, text, len, out, &count)
                                                  : lam_bpe_encode(t, text, len, out, &count);
    if (st != LAM_OK) {
        lam_free(out);
        return st;
    }
    /* Shrink: BPE output is a fraction of the bytes. Plain realloc, not
     * lam_realloc: a failed shrink keeps the block and loses nothing, so it is
     * no failure to inject. */
    int32_t *fit = count > 0 && (size_t)count < len ? realloc(out, sizeof *out * (size_t)count)
                                                    : NULL;
    *ids = fit ? fit : out;
    *n = count;
    return LAM_OK;
}

static lam_status check_id(const lam_tokenizer *t, int32_t id, int64_t pos)
{
    if (id >= 0 && id < t->vocab) return LAM_OK;
    return lam_error(LAM_ERR_ARG, "token %lld is id %d, outside the tokenizer's vocabulary "
                     "(0 to %d)", (long long)pos, id, t->vocab - 1);
}

lam_status lam_tokenizer_decode_token(const lam_tokenizer *t, int32_t id, const char **bytes,
                                      size_t *len)
{
    if (!t || !bytes || !len)
        return lam_error(LAM_ERR_ARG, "lam_tokenizer_decode_token: NULL argument");
    LAM_TRY(check_id(t, id, 0));
    *bytes = t->bytes + t->offsets[id];
    *len = (size_t)(t->offsets[id + 1] - t->offsets[id]);
    return LAM_OK;
}

lam_status lam_tokenizer_decode(const lam_tokenizer *t, const int32_t *ids, int64_t n,
                                char **text, size_t *len)
{
    if (!t || !text || !len || n < 0 || (!ids && n))
        return lam_error(LAM_ERR_ARG, "lam_tokenizer_decode: NULL argument or n < 0");
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        LAM_TRY(check_id(t, ids[i], i));
        total += (size_t)(t->offsets[ids[i] + 1] - t->offsets[ids[i]]);
    }
    char *out = lam_malloc(total + 1);
    if (!out) return lam_error_context(LAM_ERR_NOMEM, "tokenizer decode");
    size_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        const size_t k = (size_t)(t->offsets[ids[i] + 1] - t->offsets[ids[i]]);
        memcpy(out + at, t->bytes + t->offsets[ids[i]], k);
        at += k;
    }
    out[at] = '\0';
    *text = out;
    *len = at;
    return LAM_OK;
}

/* ------------------------------------------------------------------ JSON */

lam_status lam_tokenizer_to_json(const lam_tokenizer *t, char **json)
{
    if (!t || !json) return lam_error(LAM_ERR_ARG, "lam_tokenizer_to_json: NULL argument");
    *json = NULL;
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    ok = ok && cJSON_AddStringToObject(root, "type", t->kind == LAM_TOKENIZER_CHAR ? "char" : "bpe");
    ok = ok && cJSON_AddNumberToObject(root, "version", JSON_VERSION);
    if (ok && t->kind == LAM_TOKENIZER_CHAR) {
        cJSON *arr = cJSON_AddArrayToObject(root, "code_points");
        ok = arr != NULL;
        for (int i = 0; ok && i < t->vocab; i++) {
            cJSON *v = cJSON_CreateNumber((double)t->code_points[i]);
            ok = v && cJSON_AddItemToArray(arr, v);
        }
    } else if (ok) {
        ok = cJSON_AddStringToObject(root, "pre_split", PRE_SPLIT_NAME) != NULL;
        cJSON *arr = ok ? cJSON_AddArrayToObject(root, "merges") : NULL;
        ok = arr != NULL;
        for (int i = 0; ok && i < t->nmerges; i++) {
            cJSON *p = cJSON_CreateIntArray(t->merges + 2 * i, 2);
            ok = p && cJSON_AddItemToArray(arr, p);
        }
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) return lam_error(LAM_ERR_NOMEM, "tokenizer to JSON: out of memory");
    *json = text;
    return LAM_OK;
}

/* An integer JSON number in [lo, hi]. */
static bool json_int(const cJSON *v, double lo, double hi, int32_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return false;
    *out = (int32_t)v->valuedouble;
    return true;
}

static lam_status char_from_json(const cJSON *root, const char *src, lam_tokenizer **out)
{
    const cJSON *cps = cJSON_GetObjectItemCaseSensitive(root, "code_points");
    if (!cJSON_IsArray(cps))
        return lam_error(LAM_ERR_FORMAT, "%s: char tokenizer: expected \"code_points\", an array "
                         "of integers", src);
    const int n = cJSON_GetArraySize(cps);
    if (n < 1 || n > LAM_TOKENIZER_MAX_VOCAB)
        return lam_error(LAM_ERR_FORMAT, "%s: char tokenizer: %d code points, expected 1 to %d",
                         src, n, LAM_TOKENIZER_MAX_VOCAB);
    lam_tokenizer *t;
    LAM_TRY(lam_tokenizer_alloc(LAM_TOKENIZER_CHAR, n, &t));
    int i = 0;
    lam_status st = LAM_OK;
    for (const cJSON *v = cps->child; v; v = v->next, i++) {
        int32_t cp;
        if (!json_int(v, 0, 0x10FFFF, &cp)) {
            st = lam_error(LAM_ERR_FORMAT, "%s: char tokenizer: code_points[%d] is not an integer "
                           "in [0, 1114111]", src, i);
            break;
        }
        t->code_points[i] = (uint32_t)cp;
    }
    if (st == LAM_OK) st = lam_char_finish(t, src);
    if (st != LAM_OK) {
        lam_tokenizer_free(t);
        return st;
    }
    *out = t;
    return LAM_OK;
}

static lam_status bpe_from_json(const cJSON *root, const char *src, lam_tokenizer **out)
{
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(root, "pre_split");
    if (!cJSON_IsString(ps) || strcmp(ps->valuestring, PRE_SPLIT_NAME) != 0)
        return lam_error(LAM_ERR_FORMAT, "%s: bpe tokenizer: expected \"pre_split\": \""
                         PRE_SPLIT_NAME "\" (the only rule lamina knows)", src);
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(root, "merges");
    if (!cJSON_IsArray(merges))
        return lam_error(LAM_ERR_FORMAT, "%s: bpe tokenizer: expected \"merges\", an array of "
                         "[id, id] pairs", src);
    const int n = cJSON_GetArraySize(merges);
    if (n > LAM_TOKENIZER_MAX_VOCAB - 256)
        return lam_error(LAM_ERR_FORMAT, "%s: bpe tokenizer: %d merges, at most %d", src, n,
                         LAM_TOKENIZER_MAX_VOCAB - 256);
    lam_tokenizer *t;
    LAM_TRY(lam_tokenizer_alloc(LAM_TOKENIZER_BPE, 256 + n, &t));
    int i = 0;
    lam_status st = LAM_OK;
    for (const cJSON *p = merges->child; p; p = p->next, i++) {
        if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2 ||
            !json_int(p->child, 0, LAM_TOKENIZER_MAX_VOCAB, &t->merges[2 * i]) ||
            !json_int(p->child->next, 0, LAM_TOKENIZER_MAX_VOCAB, &t->merges[2 * i + 1])) {
            st = lam_error(LAM_ERR_FORMAT, "%s: bpe tokenizer: merges[%d] is not a pair of "
                           "token ids [a, b]", src, i);
            break;
        }
    }
    if (st == LAM_OK) st = lam_bpe_finish(t, src);
    if (st != LAM_OK) {
        lam_tokenizer_free(t);
        return st;
    }
    *out = t;
    return LAM_OK;
}

lam_status lam_tokenizer_from_json(const char *json, const char *source_name,
                                   lam_tokenizer **out)
{
    if (!json || !out) return lam_error(LAM_ERR_ARG, "lam_tokenizer_from_json: NULL argument");
    *out = NULL;
    const char *src = source_name ? source_name : "tokenizer JSON";
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return lam_error(LAM_ERR_FORMAT, "%s: not a JSON object (a tokenizer is {\"type\": "
                         "\"char\" | \"bpe\", ...})", src);
    }
    lam_status st;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    int32_t v = 0;
    if (!json_int(ver, 0, 1e9, &v) || v != JSON_VERSION)
        st = lam_error(LAM_ERR_FORMAT, "%s: tokenizer \"version\" must be %d", src, JSON_VERSION);
    else if (cJSON_IsString(type) && strcmp(type->valuestring, "char") == 0)
        st = char_from_json(root, src, out);
    else if (cJSON_IsString(type) && strcmp(type->valuestring, "bpe") == 0)
        st = bpe_from_json(root, src, out);
    else
        st = lam_error(LAM_ERR_FORMAT, "%s: tokenizer \"type\" must be \"char\" or \"bpe\"", src);
    cJSON_Delete(root);
    return st;
}

/* --------------------------------------------------------- model metadata */

lam_status lam_model_set_tokenizer(lam_model *m, const lam_tokenizer *t)
{
    if (!m || !t) return lam_error(LAM_ERR_ARG, "lam_model_set_tokenizer: NULL argument");
    char *json;
    LAM_TRY(lam_tokenizer_to_json(t, &json));
    lam_status st = lam_model_set_metadata(m, LAM_TOKENIZER_METADATA_KEY, json);
    free(json); /* cJSON's allocation */
    return st;
}

lam_status lam_model_tokenizer(const lam_model *m, lam_tokenizer **out)
{
    if (!m || !out) return lam_error(LAM_ERR_ARG, "lam_model_tokenizer: NULL argument");
    *out = NULL;
    const char *json = lam_model_metadata(m, LAM_TOKENIZER_METADATA_KEY);
    if (!json) return LAM_OK;
    char src[128];
    snprintf(src, sizeof src, "model \"%s\" (metadata \"" LAM_TOKENIZER_METADATA_KEY "\")",
             lam_model_name(m));
    return lam_tokenizer_from_json(json, src, out);
}
