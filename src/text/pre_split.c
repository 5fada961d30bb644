/* pre_split.c - GPT-2's pre-tokenisation on bytes. GPT-2 splits text with
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * and BPE merges only inside a chunk, so a token never spans a word and the
 * space before it ("Hello", " world", "!"). lamina applies the same pattern
 * to bytes with ASCII classes and every byte >= 0x80 counted as a letter, so
 * UTF-8 words stay whole without Unicode tables (and tests/make_bpe_fixture.py
 * can mirror it in a few lines). */
#include "text/text.h"

enum { LETTER, DIGIT, SPACE, OTHER };

static inline int byte_class(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return LETTER;
    if (c >= '0' && c <= '9') return DIGIT;
    if (c == ' ' || (c >= '\t' && c <= '\r')) return SPACE; /* \t \n \v \f \r */
    return OTHER;
}

size_t lam_bpe_chunk_end(const unsigned char *s, size_t n, size_t i)
{
    const unsigned char c = s[i];
    if (c == '\'' && i + 1 < n) { /* contractions, in the pattern's order */
        const unsigned char d = s[i + 1];
        if (d == 's' || d == 't' || d == 'm' || d == 'd') return i + 2;
        if (i + 2 < n) {
            const unsigned char e = s[i + 2];
            if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l'))
                return i + 3;
        }
    }
    size_t j = i;
    if (c == ' ' && i + 1 < n && byte_class(s[i + 1]) != SPACE) j = i + 1; /* " ?" */
    const int k = byte_class(s[j]);
    size_t e = j + 1;
    if (k != SPACE) {
        while (e < n && byte_class(s[e]) == k) e++;
        return e;
    }
    while (e < n && byte_class(s[e]) == SPACE) e++;
    /* \s+(?!\S): a run followed by more text leaves its last character to
     * start the next chunk (as " world"); a single one stands alone (\s+). */
    if (e == n || e - i == 1) return e;
    return e - 1;
}
