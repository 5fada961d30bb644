/* fuzz_tokenizer_encode.c - the tokenizers on arbitrary bytes. The first byte
 * picks a BPE vocabulary size; the rest is the text. A BPE tokenizer trained
 * on the text, and one trained on a fixed corpus, must encode it so that
 * decoding gives the same bytes (any bytes are encodable). The char tokenizer
 * trained on the text must load exactly when it is UTF-8 and then round trip;
 * one trained on a fixed alphabet must round trip or refuse with a message. */
#include "fuzz_common.h"

static const char tokenizer_encode_corpus[] =
    "the quick brown fox jumps over the lazy dog; THE DOG'S 42 naps\n\tare 3.5 hours long.";

/* Encodes text with t and aborts unless decoding gives it back; a refusal
 * must carry a message, and BPE may not refuse. */
static void round_trip(const lam_tokenizer *t, const char *text, size_t len, const char *what)
{
    int32_t *ids = NULL;
    int64_t n = 0;
    lam_error_clear();
    lam_status s = lam_tokenizer_encode(t, text, len, &ids, &n);
    fuzz_check(s, ids, what);
    if (s != LAM_OK) {
        if (lam_tokenizer_kind_of(t) == LAM_TOKENIZER_BPE) {
            fprintf(stderr, "%s: BPE refused bytes: %s\n", what, lam_last_error());
            abort();
        }
        return;
    }
    char *back = NULL;
    size_t blen = 0;
    if (lam_tokenizer_decode(t, ids, n, &back, &blen) != LAM_OK || blen != len ||
        (len && memcmp(back, text, len) != 0)) {
        fprintf(stderr, "%s: encode -> decode is not the identity (%zu bytes back of %zu)\n",
                what, blen, len);
        abort();
    }
    /* Streaming, token by token, gives the same bytes. */
    size_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        const char *b;
        size_t k;
        if (lam_tokenizer_decode_token(t, ids[i], &b, &k) != LAM_OK || at + k > len ||
            memcmp(text + at, b, k) != 0) {
            fprintf(stderr, "%s: token %lld streams other bytes\n", what, (long long)i);
            abort();
        }
        at += k;
    }
    free(back);
    free(ids);
}

/* Strict UTF-8 by the table of well-formed sequences (Unicode 15, table 3-7),
 * written apart from the library's decoder so that each checks the other. */
static bool is_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const uint8_t c = s[i];
        size_t k;
        uint8_t lo = 0x80, hi = 0xBF; /* the allowed range of the second byte */
        if (c <= 0x7F) k = 1;
        else if (c >= 0xC2 && c <= 0xDF) k = 2;
        else if (c == 0xE0) { k = 3; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) k = 3;
        else if (c == 0xED) { k = 3; hi = 0x9F; }
        else if (c >= 0xEE && c <= 0xEF) k = 3;
        else if (c == 0xF0) { k = 4; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) k = 4;
        else if (c == 0xF4) { k = 4; hi = 0x8F; }
        else return false;
        if (i + k > n) return false;
        if (k > 1 && (s[i + 1] < lo || s[i + 1] > hi)) return false;
        for (size_t j = 2; j < k; j++)
            if (s[i + j] < 0x80 || s[i + j] > 0xBF) return false;
        i += k;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static lam_tokenizer *fixed_bpe, *fixed_char;
    if (!fixed_bpe) {
        const size_t n = sizeof tokenizer_encode_corpus - 1;
        if (lam_tokenizer_train(LAM_TOKENIZER_BPE, 300, tokenizer_encode_corpus, n, &fixed_bpe) ||
            lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, tokenizer_encode_corpus, n, &fixed_char))
            abort();
    }
    const char *text = (const char *)data + 1;
    const size_t len = size - 1;
    round_trip(fixed_bpe, text, len, "fixed BPE");
    round_trip(fixed_char, text, len, "fixed char");
    if (len == 0) return 0;

    lam_tokenizer *t = NULL;
    lam_error_clear();
    lam_status s = lam_tokenizer_train(LAM_TOKENIZER_BPE, 256 + data[0], text, len, &t);
    fuzz_check(s, t, "BPE training");
    if (s != LAM_OK) {
        fprintf(stderr, "BPE training refused bytes: %s\n", lam_last_error());
        abort();
    }
    round_trip(t, text, len, "BPE trained on the input");
    lam_tokenizer_free(t);

    t = NULL;
    lam_error_clear();
    s = lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, text, len, &t);
    fuzz_check(s, t, "char training");
    if ((s == LAM_OK) != is_utf8(data + 1, len)) {
        fprintf(stderr, "char training %s text that is%s UTF-8\n", s ? "refused" : "accepted",
                s ? "" : " not");
        abort();
    }
    if (t) round_trip(t, text, len, "char trained on the input");
    lam_tokenizer_free(t);
    return 0;
}
