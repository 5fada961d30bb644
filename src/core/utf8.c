/* utf8.c - strict UTF-8 decoding, as Python's bytes.decode("utf-8"): no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 * Text that Python would refuse is refused here too, so a tokenizer's
 * vocabulary is the one `sorted(set(text))` gives. */
#include "internal.h"

size_t lam_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0) return 0;
    const unsigned c0 = s[0];
    if (c0 < 0x80) {
        *cp = c0;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c0 >= 0xC2 && c0 <= 0xDF) {
        len = 2;
        v = c0 & 0x1F;
        min = 0x80;
    } else if (c0 >= 0xE0 && c0 <= 0xEF) {
        len = 3;
        v = c0 & 0x0F;
        min = 0x800;
    } else if (c0 >= 0xF0 && c0 <= 0xF4) {
        len = 4;
        v = c0 & 0x07;
        min = 0x10000;
    } else {
        return 0; /* a continuation byte, 0xC0/0xC1 (always overlong) or 0xF5.. */
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

int64_t lam_utf8_invalid_at(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) { /* ASCII runs are most text: skip them without decoding */
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = lam_utf8_decode(s + i, n - i, &cp);
        if (!k) return (int64_t)i;
        i += k;
    }
    return -1;
}

size_t lam_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
