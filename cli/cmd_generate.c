/* cmd_generate.c - `lamina generate`: text from a saved sequence model and
 * the tokenizer saved with it, streamed as the tokens come. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: lamina generate MODEL.safetensors [options]\n"
    "\n"
    "Continues a prompt with tokens sampled from a language model trained on text (its\n"
    "tokenizer is saved in the model file), writing each token as soon as it is chosen.\n"
    "With the key/value cache each token costs one position through the network.\n"
    "\n"
    "  --prompt TEXT      the text to continue (default: a newline)\n"
    "  --tokens N         tokens to generate (default 200)\n"
    "  --temperature T    default 1; 0 always takes the most likely token\n"
    "  --top-k K          sample among the K most likely tokens (default 0: all)\n"
    "  --top-p P          ... among the fewest whose probabilities sum to P (default 1: all)\n"
    "  --seed S           the draws (default 0)\n"
    "  --no-cache         recompute the whole context for every token (the reference)\n"
    "  --threads N        0 = all cores (default)\n"
    "  --json             no streaming; print one JSON object: prompt, text, tokens,\n"
    "                     ms_per_token (between the first token and the last),\n"
    "                     first_token_ms (the decoder made and the prompt read), cache\n";

typedef struct stream {
    const lam_tokenizer *tok;
    bool print;
    long seen;
    double first, last; /* when the first and the last token came */
} stream;

static lam_status print_token(int32_t token, void *user)
{
    stream *s = user;
    s->last = cli_now();
    if (s->seen++ == 0) s->first = s->last;
    if (!s->print) return LAM_OK;
    const char *bytes;
    size_t len;
    lam_status st = lam_tokenizer_decode_token(s->tok, token, &bytes, &len);
    if (st != LAM_OK) return st;
    fwrite(bytes, 1, len, stdout);
    fflush(stdout);
    return LAM_OK;
}

int cmd_generate(int argc, char **argv)
{
    const char *prompt = "\n";
    long tokens = 200, top_k = 0, seed = 0, threads = 0;
    double temperature = 1.0, top_p = 1.0;
    bool no_cache = false, json = false;
    const cli_option opts[] = {
        {"--prompt", OPT_STR, &prompt, NULL},
        {"--tokens", OPT_INT, &tokens, NULL},
        {"--temperature", OPT_FLOAT, &temperature, NULL},
        {"--top-k", OPT_INT, &top_k, NULL},
        {"--top-p", OPT_FLOAT, &top_p, NULL},
        {"--seed", OPT_INT, &seed, NULL},
        {"--no-cache", OPT_FLAG, &no_cache, NULL},
        {"--threads", OPT_INT, &threads, NULL},
        {"--json", OPT_FLAG, &json, NULL},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[1];
    int npos = 0;
    int rc = cli_parse("generate", USAGE, argc, argv, opts, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1) return cli_usage_error("generate", "give one MODEL file");
    if (tokens < 0 || top_k < 0 || top_k > (1L << 30))
        return cli_usage_error("generate", "--tokens and --top-k must be >= 0");
    lam_set_threads((int)threads);

    lam_model *m = NULL;
    lam_tokenizer *tok = NULL;
    char *text = NULL;
    size_t len = 0;
    rc = cli_open_model(pos[0], &m);
    if (rc) return rc;
    if (lam_model_tokenizer(m, &tok) != LAM_OK) rc = cli_lib_error();
    else if (!tok)
        rc = cli_error("%s has no tokenizer: train it on a text source (--data text:PATH) to "
                       "generate text", pos[0]);
    if (!rc) { /* the prompt checked before anything is printed */
        int32_t *ids = NULL;
        int64_t n = 0;
        if (lam_tokenizer_encode(tok, prompt, strlen(prompt), &ids, &n) != LAM_OK)
            rc = cli_error("--prompt: %s", lam_last_error());
        free(ids);
    }
    if (rc) goto done;
    lam_generate_options o = lam_generate_defaults();
    o.max_tokens = tokens;
    o.temperature = (float)temperature;
    o.top_k = (int)top_k;
    o.top_p = (float)top_p;
    o.seed = (uint64_t)seed;
    o.no_cache = no_cache;
    stream s = {.tok = tok, .print = !json};
    o.on_token = print_token;
    o.user = &s;
    if (!json) fputs(prompt, stdout);
    const double t0 = cli_now();
    if (lam_generate(m, tok, prompt, &o, &text, &len) != LAM_OK) {
        if (!json) putchar('\n');
        rc = cli_lib_error();
        goto done;
    }
    /* The rate between the first token and the last, as decoding speed is
     * quoted; the wait for the first (the decoder made, the prompt read)
     * apart. */
    const double first_ms = s.seen ? 1e3 * (s.first - t0) : 0;
    const double ms = s.seen > 1 ? 1e3 * (s.last - s.first) / (double)(s.seen - 1) : first_ms;
    if (!json) {
        putchar('\n');
        fflush(stdout); /* before the line on stderr */
        fprintf(stderr, "%ld tokens, %.3f ms per token after the first, which took %.1f ms "
                "(%s)\n", tokens, ms, first_ms, no_cache ? "no cache" : "key/value cache");
    } else {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "prompt", prompt);
        cJSON_AddStringToObject(j, "text", text);
        cli_json_number(j, "tokens", (double)tokens);
        cli_json_number(j, "ms_per_token", ms);
        cli_json_number(j, "first_token_ms", first_ms);
        cJSON_AddBoolToObject(j, "cache", !no_cache);
        cli_json_print(j); /* and frees it */
    }
done:
    free(text);
    lam_tokenizer_free(tok);
    lam_model_free(m);
    return rc;
}
