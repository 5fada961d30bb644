/* char_gpt.c - a character-level GPT on Shakespeare, nanoGPT's CPU
 * configuration, written on lamina's public training step.
 *
 *   char_gpt --corpus data/shakespeare.txt [--iters 2000] [--threads N] [--seed N]
 *            [--block 64] [--out char_gpt.safetensors] [--json]
 *
 * The model (bench/gpt_common.py describes the three twins that match it):
 *
 *   ids (64,) -> Embedding(vocab, 128) -> + PositionEmbedding(64)
 *   4 x [ x + MultiHeadAttention(4 heads, key_dim 32, causal)(LayerNorm(x))
 *         x + Dense(128)(Dense(512, gelu)(LayerNorm(x))) ]
 *   -> LayerNorm -> Dense(vocab, softmax), sparse cross-entropy at every position
 *
 * Training as nanoGPT's `train.py config/train_shakespeare_char.py --device=cpu
 * --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128
 * --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0`: random windows of
 * the first 90% of the text, AdamW (lr 1e-3 after 100 warmup steps, cosine
 * down to 1e-4 at 2000; betas 0.9/0.99; weight decay 0.1 on kernels and
 * embeddings only; global gradient norm clipped to 1).
 *
 * Prints the loss every 100 iterations, then as its last line one JSON
 * object: ms_per_iter (median over iterations after the first), train_loss
 * and val_loss (mean cross-entropy over 960 fixed windows of each split),
 * and saves the model with its tokenizer, which `lamina generate` reads.
 */
#include <lamina.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N_LAYER = 4, N_HEAD = 4, N_EMBD = 128, BATCH = 12, EVAL_WINDOWS = 960, MAX_BLOCK = 1024 };
static int block_len = 64; /* the context (--block), nanoGPT's block_size */

#define TRY(call)                                                          \
    do {                                                                   \
        lam_status try_s_ = (call);                                        \
        if (try_s_ != LAM_OK) return try_s_;                               \
    } while (0)

static lam_status call(lam_model *m, lam_layer_spec s, int n, const int *in, int *out)
{
    return lam_model_call(m, &s, n, in, out);
}

static lam_layer_spec layer_norm(void)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_LAYER_NORM);
    s.epsilon = 1e-5f; /* PyTorch's, as nanoGPT (Keras's default is 1e-3) */
    return s;
}

static lam_layer_spec dense(int units, lam_activation act)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_DENSE);
    s.units = units;
    s.activation = act;
    return s;
}

/* x + f(LayerNorm(x)) for the attention and the MLP halves of a block. */
static lam_status block(lam_model *m, int x, int *out)
{
    const lam_layer_spec add = lam_layer_defaults(LAM_LAYER_ADD);
    lam_layer_spec mha = lam_layer_defaults(LAM_LAYER_MULTI_HEAD_ATTENTION);
    mha.num_heads = N_HEAD;
    mha.key_dim = N_EMBD / N_HEAD;
    mha.use_causal_mask = true;
    int a, att, r, n, h, f;
    TRY(call(m, layer_norm(), 1, &x, &a));
    TRY(call(m, mha, 2, (int[]){a, a}, &att));
    TRY(call(m, add, 2, (int[]){x, att}, &r));
    TRY(call(m, layer_norm(), 1, &r, &n));
    TRY(call(m, dense(4 * N_EMBD, LAM_ACT_GELU), 1, &n, &h));
    TRY(call(m, dense(N_EMBD, LAM_ACT_LINEAR), 1, &h, &f));
    return call(m, lam_layer_defaults(LAM_LAYER_ADD), 2, (int[]){r, f}, out);
}

static lam_status build(lam_model *m, int vocab, uint64_t seed, int64_t iters)
{
    lam_model_set_seed(m, seed);
    int ids, tok, pos, x;
    TRY(lam_model_input(m, "ids", 1, (int64_t[]){block_len}, &ids));
    lam_layer_spec emb = lam_layer_defaults(LAM_LAYER_EMBEDDING);
    emb.input_dim = vocab;
    emb.units = N_EMBD;
    TRY(call(m, emb, 1, &ids, &tok));
    lam_layer_spec pe = lam_layer_defaults(LAM_LAYER_POSITION_EMBEDDING);
    pe.sequence_length = block_len;
    TRY(call(m, pe, 1, &tok, &pos));
    TRY(call(m, lam_layer_defaults(LAM_LAYER_ADD), 2, (int[]){tok, pos}, &x));
    for (int l = 0; l < N_LAYER; l++) TRY(block(m, x, &x));
    int n, y;
    TRY(call(m, layer_norm(), 1, &x, &n));
    TRY(call(m, dense(vocab, LAM_ACT_SOFTMAX), 1, &n, &y));
    TRY(lam_model_set_outputs(m, 1, &y));

    lam_optimizer o = lam_adamw();
    o.learning_rate = 0; /* the warmup's start */
    o.beta_1 = 0.9f;
    o.beta_2 = 0.99f;
    o.epsilon = 1e-8f;
    o.weight_decay = 0.1f;
    strcpy(o.exclude_from_weight_decay, "bias,gamma,beta");
    o.global_clipnorm = 1.0f;
    /* Keras's CosineDecay(0, iters - 100, alpha=0.1, warmup_target=1e-3,
     * warmup_steps=100); a run of 100 iterations or fewer just decays. */
    o.schedule.kind = LAM_SCHEDULE_COSINE;
    o.schedule.alpha = 0.1f;
    if (iters > 100) {
        o.schedule.warmup_target = 1e-3f;
        o.schedule.warmup_steps = 100;
        o.schedule.decay_steps = iters - 100;
    } else {
        o.learning_rate = 1e-3f;
        o.schedule.decay_steps = iters > 0 ? iters : 1;
    }
    return lam_model_compile(m, &o, LAM_LOSS_SPARSE_CATEGORICAL_CE);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Mean cross-entropy per token over EVAL_WINDOWS windows spread evenly over
 * ids[0..n) (bench/gpt_common.py's eval_offsets). */
static lam_status evaluate(lam_model *m, const int32_t *ids, int64_t n, double *loss)
{
    int32_t labels[BATCH * MAX_BLOCK];
    const int64_t last = n - block_len - 1;
    double total = 0;
    for (int first = 0; first < EVAL_WINDOWS; first += BATCH) {
        const int b = EVAL_WINDOWS - first < BATCH ? EVAL_WINDOWS - first : BATCH;
        float *x = lam_model_input_buffer(m, 0);
        for (int k = 0; k < b; k++) {
            const int64_t off = (int64_t)(first + k) * last / (EVAL_WINDOWS - 1);
            for (int t = 0; t < block_len; t++) {
                x[k * block_len + t] = (float)ids[off + t];
                labels[k * block_len + t] = ids[off + t + 1];
            }
        }
        TRY(lam_forward(m, b, LAM_MODE_INFER));
        lam_batch_metrics bm;
        TRY(lam_loss_eval(m, b, &(lam_target){.labels = labels}, false, &bm));
        total += bm.loss; /* summed over samples, each the mean over its positions */
    }
    *loss = total / EVAL_WINDOWS;
    return LAM_OK;
}

typedef struct options {
    const char *corpus, *out;
    long iters, threads, seed;
    bool json;
} options;

static int parse(int argc, char **argv, options *o)
{
    *o = (options){.corpus = "data/shakespeare.txt", .out = "char_gpt.safetensors",
                   .iters = 2000, .seed = 1337};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            o->json = true;
            continue;
        }
        if (i + 1 >= argc) goto usage;
        const char *v = argv[++i];
        char *end;
        if (!strcmp(a, "--corpus")) o->corpus = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else {
            long n = strtol(v, &end, 10);
            if (*end || n < 0) {
                fprintf(stderr, "char_gpt: %s: \"%s\" is not a non-negative integer\n", a, v);
                return 2;
            }
            if (!strcmp(a, "--iters")) o->iters = n;
            else if (!strcmp(a, "--threads")) o->threads = n;
            else if (!strcmp(a, "--seed")) o->seed = n;
            else if (!strcmp(a, "--block") && n >= 1 && n <= MAX_BLOCK) block_len = (int)n;
            else goto usage;
        }
    }
    return 0;
usage:
    fprintf(stderr, "usage: char_gpt [--corpus FILE] [--iters N] [--threads N] [--seed N] "
                    "[--block 1..%d] [--out FILE] [--json]\n", MAX_BLOCK);
    return 2;
}

static lam_status train(const options *o, lam_model *m, const int32_t *ids, int64_t n,
                        double *times)
{
    const int64_t n_train = (int64_t)((double)n * 0.9);
    int32_t labels[BATCH * MAX_BLOCK];
    TRY(lam_model_plan(m, BATCH));
    for (long it = 0; it < o->iters; it++) {
        const double t0 = now();
        TRY(lam_lm_batch(ids, n_train, block_len, BATCH, (uint64_t)o->seed, it,
                         lam_model_input_buffer(m, 0), labels));
        TRY(lam_forward(m, BATCH, LAM_MODE_TRAIN));
        lam_batch_metrics bm;
        TRY(lam_loss_eval(m, BATCH, &(lam_target){.labels = labels}, true, &bm));
        TRY(lam_backward(m, BATCH, false));
        TRY(lam_optimizer_update(m, lam_model_learning_rate(m)));
        times[it] = 1e3 * (now() - t0);
        if (!o->json && (it % 100 == 0 || it + 1 == o->iters))
            printf("iter %4ld: loss %.4f, %.1f ms\n", it, bm.loss / BATCH, times[it]);
    }
    return LAM_OK;
}

static lam_status run(const options *o)
{
    char *text = NULL;
    size_t len = 0;
    int32_t *ids = NULL;
    int64_t n = 0;
    lam_tokenizer *tok = NULL;
    lam_model *m = NULL;
    double *times = NULL;
    lam_status st = lam_load_text(o->corpus, &text, &len);
    if (st == LAM_OK) st = lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, text, len, &tok);
    if (st == LAM_OK) st = lam_tokenizer_encode(tok, text, len, &ids, &n);
    if (st == LAM_OK && !(m = lam_model_new("char_gpt"))) st = LAM_ERR_NOMEM;
    if (st == LAM_OK)
        st = build(m, lam_tokenizer_vocab_size(tok), (uint64_t)o->seed, o->iters);
    if (st == LAM_OK) st = lam_model_set_tokenizer(m, tok);
    if (st == LAM_OK && !(times = calloc((size_t)(o->iters ? o->iters : 1), sizeof *times)))
        st = LAM_ERR_NOMEM;
    if (st == LAM_OK && !o->json)
        printf("%lld characters, vocabulary %d, %lld parameters\n", (long long)n,
               lam_tokenizer_vocab_size(tok), (long long)lam_model_param_count(m));
    if (st == LAM_OK) st = train(o, m, ids, n, times);
    double train_loss = 0, val_loss = 0;
    const int64_t n_train = (int64_t)((double)n * 0.9);
    if (st == LAM_OK) st = evaluate(m, ids, n_train, &train_loss);
    if (st == LAM_OK) st = evaluate(m, ids + n_train, n - n_train, &val_loss);
    if (st == LAM_OK) st = lam_model_save(m, o->out);
    if (st == LAM_OK) {
        double med = 0;
        if (o->iters > 1) {
            qsort(times + 1, (size_t)(o->iters - 1), sizeof *times, cmp_double);
            med = times[1 + (o->iters - 1) / 2];
        } else if (o->iters == 1) {
            med = times[0];
        }
        if (!o->json) printf("saved %s\n", o->out);
        printf("{\"framework\": \"lamina\", \"ms_per_iter\": %.3f, \"train_loss\": %.4f, "
               "\"val_loss\": %.4f, \"iters\": %ld, \"block\": %d, \"threads\": %d, \"params\": %lld}\n",
               med, train_loss, val_loss, o->iters, block_len, lam_get_threads(),
               (long long)lam_model_param_count(m));
    }
    free(times);
    lam_model_free(m);
    lam_tokenizer_free(tok);
    free(ids);
    free(text);
    return st;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc;
    lam_set_threads((int)o.threads);
    if (run(&o) != LAM_OK) {
        fprintf(stderr, "char_gpt: %s\n", lam_last_error());
        return 1;
    }
    return 0;
}
