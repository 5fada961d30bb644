/* char_tokenizer.c - the character-level tokenizer: one token per distinct
 * Unicode code point of the training text, in code point order (nanoGPT's
 * shakespeare_char: chars = sorted(set(data)); Python sorts str by code point). */
#include "text/text.h"

#include <string.h>

/* "U+00E9 'é'" (the character itself only when printable). */
static void describe(uint32_t cp, char *buf, size_t n)
{
    char u[5] = {0};
    if (cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp < 0xA0)) {
        lam_utf8_encode(cp, u);
        snprintf(buf, n, "U+%04X '%s'", (unsigned)cp, u);
    } else {
        snprintf(buf, n, "U+%04X", (unsigned)cp);
    }
}

static lam_status invalid_utf8(const char *text, int64_t at)
{
    return lam_error(LAM_ERR_FORMAT, "invalid UTF-8 at byte offset %lld (byte 0x%02X): the "
                     "char tokenizer needs UTF-8 text", (long long)at,
                     (unsigned char)text[at]);
}

lam_status lam_char_train(int vocab_size, const char *text, size_t len, lam_tokenizer **out)
{
    /* One bit per possible code point: 136 KiB, and sorting is a scan. */
    const uint32_t ncp = 0x110000;
    uint64_t *seen = lam_calloc(ncp / 64, sizeof *seen);
    if (!seen) return lam_error_context(LAM_ERR_NOMEM, "char tokenizer");
    const unsigned char *s = (const unsigned char *)text;
    int distinct = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = lam_utf8_decode(s + i, len - i, &cp);
        if (!k) {
            lam_free(seen);
            return invalid_utf8(text, (int64_t)i);
        }
        if (!(seen[cp / 64] >> (cp % 64) & 1)) {
            seen[cp / 64] |= (uint64_t)1 << (cp % 64);
            distinct++;
        }
        i += k;
    }
    if (vocab_size > 0 && distinct > vocab_size) {
        lam_free(seen);
        return lam_error(LAM_ERR_ARG, "the text has %d distinct characters, more than the "
                         "vocabulary size %d", distinct, vocab_size);
    }
    lam_tokenizer *t = NULL;
    lam_status st = lam_tokenizer_alloc(LAM_TOKENIZER_CHAR, distinct, &t);
    if (st == LAM_OK) {
        int at = 0;
        for (uint32_t w = 0; w < ncp / 64; w++) /* set bits in order: sorted code points */
            for (uint64_t bits = seen[w]; bits; bits &= bits - 1)
                t->code_points[at++] = w * 64 + (uint32_t)__builtin_ctzll(bits);
        st = lam_char_finish(t, "char tokenizer");
    }
    lam_free(seen);
    if (st != LAM_OK) {
        lam_tokenizer_free(t);
        return st;
    }
    *out = t;
    return LAM_OK;
}

lam_status lam_char_finish(lam_tokenizer *t, const char *source)
{
    size_t total = 0;
    for (int i = 0; i < t->vocab; i++) {
        const uint32_t cp = t->code_points[i];
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return lam_error(LAM_ERR_FORMAT, "%s: token %d is code point %u, not a Unicode "
                             "character (surrogate or above U+10FFFF)", source, i, (unsigned)cp);
        if (i > 0 && cp <= t->code_points[i - 1])
            return lam_error(LAM_ERR_FORMAT, "%s: token %d is U+%04X after U+%04X; code points "
                             "must be strictly increasing", source, i, (unsigned)cp,
                             (unsigned)t->code_points[i - 1]);
        total += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }
    t->offsets = lam_malloc(sizeof *t->offsets * (size_t)(t->vocab + 1));
    t->bytes = lam_malloc(total ? total : 1);
    if (!t->offsets || !t->bytes) return lam_error_context(LAM_ERR_NOMEM, "%s", source);
    int64_t at = 0;
    for (int i = 0; i < 128; i++) t->ascii[i] = -1;
    for (int i = 0; i < t->vocab; i++) {
        t->offsets[i] = at;
        at += (int64_t)lam_utf8_encode(t->code_points[i], t->bytes + at);
        if (t->code_points[i] < 128) t->ascii[t->code_points[i]] = i;
    }
    t->offsets[t->vocab] = at;
    return LAM_OK;
}

static int32_t lookup(const lam_tokenizer *t, uint32_t cp)
{
    if (cp < 128) return t->ascii[cp];
    int lo = 0, hi = t->vocab - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (t->code_points[mid] == cp) return mid;
        if (t->code_points[mid] < cp) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

lam_status lam_char_encode(const lam_tokenizer *t, const char *text, size_t len, int32_t *ids,
                           int64_t *n)
{
    const unsigned char *s = (const unsigned char *)text;
    int64_t count = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = lam_utf8_decode(s + i, len - i, &cp);
        if (!k) return invalid_utf8(text, (int64_t)i);
        int32_t id = lookup(t, cp);
        if (id < 0) {
            char d[32];
            describe(cp, d, sizeof d);
            return lam_error(LAM_ERR_FORMAT, "character %s at byte offset %zu is not in the "
                             "char tokenizer's vocabulary (%d characters)", d, i, t->vocab);
        }
        ids[count++] = id;
        i += k;
    }
    *n = count;
    return LAM_OK;
}
