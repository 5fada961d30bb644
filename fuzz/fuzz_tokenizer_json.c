/* fuzz_tokenizer_json.c - lam_tokenizer_from_json on arbitrary text (the
 * tokenizer a model file carries in its metadata). A tokenizer that loads
 * must write itself back to JSON that loads to the same vocabulary, decode
 * every one of its tokens, and (BPE) encode then decode a probe exactly. */
#include "fuzz_common.h"

static const char tokenizer_json_probe[] =
    "The fox's 3 caf\xc3\xa9s \xe6\x9d\xb1 \x00\xff!  end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = malloc(size + 1);
    if (!json) return 0;
    memcpy(json, data, size);
    json[size] = '\0';
    lam_tokenizer *t = NULL;
    lam_error_clear();
    lam_status s = lam_tokenizer_from_json(json, "fuzz.json", &t);
    fuzz_check(s, t, "lam_tokenizer_from_json");
    free(json);
    if (!t) return 0;

    const int v = lam_tokenizer_vocab_size(t);
    for (int32_t id = 0; id < v; id++) {
        const char *b;
        size_t n;
        if (lam_tokenizer_decode_token(t, id, &b, &n) != LAM_OK || n == 0) {
            fprintf(stderr, "token %d of %d does not decode\n", id, v);
            abort();
        }
    }
    char *again = NULL;
    lam_tokenizer *u = NULL;
    if (lam_tokenizer_to_json(t, &again) != LAM_OK ||
        lam_tokenizer_from_json(again, "again", &u) != LAM_OK ||
        lam_tokenizer_vocab_size(u) != v) {
        fprintf(stderr, "JSON round trip failed: %s\n", lam_last_error());
        abort();
    }
    free(again);
    lam_tokenizer_free(u);

    const size_t plen = sizeof tokenizer_json_probe - 1;
    int32_t *ids = NULL;
    int64_t n = 0;
    lam_error_clear();
    s = lam_tokenizer_encode(t, tokenizer_json_probe, plen, &ids, &n);
    fuzz_check(s, ids, "lam_tokenizer_encode");
    if (lam_tokenizer_kind_of(t) == LAM_TOKENIZER_BPE && s != LAM_OK) {
        fprintf(stderr, "BPE refused bytes: %s\n", lam_last_error());
        abort();
    }
    if (ids) {
        char *back = NULL;
        size_t blen = 0;
        /* The char tokenizer refuses the probe's 0xFF, so only BPE gets here with it. */
        if (lam_tokenizer_decode(t, ids, n, &back, &blen) != LAM_OK || blen != plen ||
            memcmp(back, tokenizer_json_probe, plen) != 0) {
            fprintf(stderr, "encode -> decode is not the identity\n");
            abort();
        }
        free(back);
        free(ids);
    }
    lam_tokenizer_free(t);
    return 0;
}
