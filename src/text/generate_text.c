/* generate_text.c - lam_generate: lam_generate_tokens between a tokenizer's
 * encode of the prompt and decode of what was sampled. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

lam_status lam_generate(lam_model *m, const lam_tokenizer *tok, const char *prompt,
                        const lam_generate_options *o, char **text, size_t *len)
{
    if (!m || !tok || !prompt || !o || !text)
        return lam_error(LAM_ERR_ARG, "lam_generate: NULL argument");
    *text = NULL;
    if (len) *len = 0;
    if (o->max_tokens < 0)
        return lam_error(LAM_ERR_ARG, "lam_generate: %lld tokens, expected >= 0",
                         (long long)o->max_tokens);
    int32_t *ids = NULL, *out = NULL;
    int64_t n = 0;
    lam_status st = lam_tokenizer_encode(tok, prompt, strlen(prompt), &ids, &n);
    if (st == LAM_OK &&
        !(out = lam_malloc(sizeof(int32_t) * (size_t)(o->max_tokens ? o->max_tokens : 1))))
        st = LAM_ERR_NOMEM;
    lam_generate_options within = *o; /* ids the tokenizer can decode */
    within.vocab_size = lam_tokenizer_vocab_size(tok);
    if (st == LAM_OK) st = lam_generate_tokens(m, ids, n, &within, out);
    size_t bytes = 0;
    if (st == LAM_OK) st = lam_tokenizer_decode(tok, out, o->max_tokens, text, &bytes);
    if (st == LAM_OK && len) *len = bytes;
    free(ids);
    lam_free(out);
    return st;
}
