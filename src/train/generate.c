/* generate.c - sampling tokens from a sequence model, one at a time, with
 * the decoder's key/value cache (each token costs one position through the
 * network) or, as the reference, a full forward over the context for every
 * token.
 *
 * The context is the tokens the next one is predicted from: the prompt's
 * last T (the model's sequence length), then each sampled token appended.
 * When appending would make it longer than T it restarts from its last T/2
 * tokens: positions are learned per index, so a window cannot slide under a
 * cache, and re-reading T/2 tokens every T/2 tokens keeps the cached path's
 * cost at about 3 positions per token. Both paths use this same context, so
 * they sample the same tokens for the same seed. */
#define _GNU_SOURCE /* qsort_r */
#include "core/model.h"
#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

lam_generate_options lam_generate_defaults(void)
{
    return (lam_generate_options){.max_tokens = 100, .temperature = 1.0f, .top_p = 1.0f};
}

typedef struct generator {
    lam_model *m;       /* the model (no cache) or its decoder */
    bool cached;
    int64_t T, V;       /* sequence length; output row width */
    int64_t vocab;      /* ids drawn from [0, vocab) */
    int32_t *context;   /* T tokens */
    int64_t len;
    float *probs;       /* V */
    int32_t *order;     /* V, for top-k / top-p */
    bool softmax_out;   /* the output is probabilities (else logits) */
} generator;

static lam_status check_model(const lam_model *m, int64_t *T, int64_t *V)
{
    if (lam_model_num_inputs(m) != 1 || lam_model_num_outputs(m) != 1)
        return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": generation needs one input and "
                         "one output, it has %d and %d", m->name, lam_model_num_inputs(m),
                         lam_model_num_outputs(m));
    const lam_node *in = lam_model_input_node(m, 0), *out = lam_model_output_node(m, 0);
    if (in->out.rank != 1 || out->out.rank != 2 || out->out.dim[0] != in->out.dim[0])
        return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": generation needs token ids (T,) "
                         "in and one row of scores per position (T, vocabulary) out", m->name);
    *T = in->out.dim[0];
    *V = out->out.dim[1];
    return LAM_OK;
}

/* The output row that predicts the token after the context. */
static lam_status next_scores(generator *g, const float **row)
{
    if (g->cached) {
        *row = lam_model_output(g->m, 0);
        return LAM_OK;
    }
    float *x = lam_model_input_buffer(g->m, 0);
    for (int64_t t = 0; t < g->T; t++) x[t] = t < g->len ? (float)g->context[t] : 0.0f;
    LAM_TRY(lam_forward(g->m, 1, LAM_MODE_INFER));
    *row = lam_model_output(g->m, 0) + (g->len - 1) * g->V;
    return LAM_OK;
}

/* Runs the decoder over context positions [from, len). */
static lam_status feed(generator *g, int64_t from)
{
    if (!g->cached) return LAM_OK;
    for (int64_t t = from; t < g->len; t++) {
        lam_model_input_buffer(g->m, 0)[0] = (float)g->context[t];
        LAM_TRY(lam_decoder_step(g->m, t));
    }
    return LAM_OK;
}

/* Appends a token, restarting from the last T/2 when the context is full. */
static lam_status append(generator *g, int32_t token)
{
    if (g->len < g->T) {
        g->context[g->len++] = token;
        return feed(g, g->len - 1);
    }
    const int64_t keep = g->T / 2 > 0 ? g->T / 2 : 1;
    memmove(g->context, g->context + g->len - (keep - 1), sizeof(int32_t) * (size_t)(keep - 1));
    g->context[keep - 1] = token;
    g->len = keep;
    return feed(g, 0);
}

static int by_prob_desc(const void *a, const void *b, void *probs)
{
    const float *p = probs;
    const float x = p[*(const int32_t *)a], y = p[*(const int32_t *)b];
    if (x != y) return x > y ? -1 : 1;
    return *(const int32_t *)a - *(const int32_t *)b; /* ties: the lower id first */
}

/* Picks the next token from a row of scores: temperature, then top-k, then
 * top-p, then one draw (or the most likely token at temperature 0). */
static int32_t sample(generator *g, const float *row, const lam_generate_options *o,
                      lam_rng *rng)
{
    const int64_t V = g->vocab;
    float *p = g->probs;
    int32_t best = 0;
    for (int64_t v = 1; v < V; v++)
        if (row[v] > row[best]) best = (int32_t)v;
    if (o->temperature == 0) return best;
    /* log-probabilities (or logits) / temperature, softmaxed. */
    double mx = -INFINITY, sum = 0;
    for (int64_t v = 0; v < V; v++) {
        const double s = g->softmax_out ? log(row[v] > 1e-30f ? row[v] : 1e-30f) : row[v];
        p[v] = (float)(s / o->temperature);
        if (p[v] > mx) mx = p[v];
    }
    for (int64_t v = 0; v < V; v++) sum += (p[v] = (float)exp(p[v] - mx));
    for (int64_t v = 0; v < V; v++) {
        p[v] = (float)(p[v] / sum);
        g->order[v] = (int32_t)v;
    }
    int64_t keep = V;
    if ((o->top_k > 0 && o->top_k < V) || o->top_p < 1.0f) {
        qsort_r(g->order, (size_t)V, sizeof(int32_t), by_prob_desc, p);
        if (o->top_k > 0 && o->top_k < V) keep = o->top_k;
        if (o->top_p < 1.0f) {
            double c = 0;
            for (int64_t i = 0; i < keep; i++) {
                c += p[g->order[i]];
                if (c >= o->top_p) {
                    keep = i + 1;
                    break;
                }
            }
        }
    }
    double total = 0;
    for (int64_t i = 0; i < keep; i++) total += p[g->order[i]];
    double u = lam_rng_uniform(rng) * total;
    for (int64_t i = 0; i < keep; i++) {
        u -= p[g->order[i]];
        if (u < 0) return g->order[i];
    }
    return g->order[keep - 1]; /* rounding left u >= 0: the last kept */
}

static lam_status check_options(const lam_model *m, const lam_generate_options *o)
{
    if (o->max_tokens < 0)
        return lam_error(LAM_ERR_ARG, "model \"%s\": generate %lld tokens, expected >= 0",
                         m->name, (long long)o->max_tokens);
    if (!(o->temperature >= 0 && isfinite(o->temperature)))
        return lam_error(LAM_ERR_ARG, "generation: temperature %g, expected a finite value >= 0",
                         (double)o->temperature);
    if (o->top_k < 0)
        return lam_error(LAM_ERR_ARG, "generation: top_k %d, expected >= 0 (0: off)", o->top_k);
    if (!(o->top_p > 0 && o->top_p <= 1))
        return lam_error(LAM_ERR_ARG, "generation: top_p %g, expected 0 < top_p <= 1 (1: off)",
                         (double)o->top_p);
    return LAM_OK;
}

static lam_status run(generator *g, const int32_t *prompt, int64_t n,
                      const lam_generate_options *o, int32_t *out)
{
    for (int64_t i = 0; i < n; i++)
        if (prompt[i] < 0 || prompt[i] >= g->vocab)
            return lam_error(LAM_ERR_ARG, "generation: prompt token %lld is %d, expected 0 to "
                             "%lld (the vocabulary)", (long long)i, prompt[i],
                             (long long)(g->vocab - 1));
    const int64_t first = n > g->T ? n - g->T : 0;
    g->len = n - first;
    memcpy(g->context, prompt + first, sizeof(int32_t) * (size_t)g->len);
    LAM_TRY(feed(g, 0));
    lam_rng rng;
    lam_rng_seed(&rng, o->seed);
    for (int64_t k = 0; k < o->max_tokens; k++) {
        const float *row;
        LAM_TRY(next_scores(g, &row));
        const int32_t tok = sample(g, row, o, &rng);
        out[k] = tok;
        if (o->on_token) LAM_TRY(o->on_token(tok, o->user));
        if (k + 1 < o->max_tokens) LAM_TRY(append(g, tok));
    }
    return LAM_OK;
}

lam_status lam_generate_tokens(lam_model *m, const int32_t *prompt, int64_t n,
                               const lam_generate_options *o, int32_t *out)
{
    if (!m || !o || (n > 0 && !prompt) || (o->max_tokens > 0 && !out))
        return lam_error(LAM_ERR_ARG, "lam_generate_tokens: NULL argument");
    LAM_TRY(check_options(m, o));
    if (n < 1)
        return lam_error(LAM_ERR_ARG, "model \"%s\": the prompt is empty; generation needs at "
                         "least one token to start from", m->name);
    generator g = {.cached = !o->no_cache};
    LAM_TRY(check_model(m, &g.T, &g.V));
    if (o->vocab_size < 0 || o->vocab_size > g.V)
        return lam_error(LAM_ERR_ARG, "model \"%s\": generation from a vocabulary of %d, "
                         "expected 1 to %lld (the model's output size)", m->name,
                         o->vocab_size, (long long)g.V);
    g.vocab = o->vocab_size ? o->vocab_size : g.V;
    const lam_node *out_node = lam_model_output_node(m, 0);
    g.softmax_out = out_node->spec.activation == LAM_ACT_SOFTMAX;
    lam_status st = LAM_OK;
    if (g.cached) st = lam_model_decoder(m, &g.m);
    else {
        g.m = m;
        st = lam_model_plan(m, 1);
    }
    g.context = lam_malloc(sizeof(int32_t) * (size_t)g.T);
    g.probs = lam_malloc(sizeof(float) * (size_t)g.V);
    g.order = lam_malloc(sizeof(int32_t) * (size_t)g.V);
    if (st == LAM_OK && (!g.context || !g.probs || !g.order)) st = LAM_ERR_NOMEM;
    if (st == LAM_OK) st = run(&g, prompt, n, o, out);
    if (g.cached) lam_model_free(g.m);
    lam_free(g.context);
    lam_free(g.probs);
    lam_free(g.order);
    return st;
}
