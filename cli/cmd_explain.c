/* cmd_explain.c - `lamina explain`: why a model decides. Attributions of a
 * deep model for images, .npy arrays or samples of a data source (one line or
 * JSON object per input and method, a picture of all methods side by side);
 * SHAP values, permutation or impurity importances of a tree or forest (and
 * permutation importances of a deep model) over a data source. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: lamina explain MODEL (IMAGE.png | IMAGE.pgm | ARRAY.npy)... [options]\n"
    "       lamina explain MODEL --data SOURCE [--index I] [--count N] [options]\n"
    "       lamina explain MODEL --text \"TEXT\" [options]   (a text classifier)\n"
    "\n"
    "Attributions of a deep model's score for each input: which input values raised or\n"
    "lowered the score of a class (by default the predicted one). Methods (--method, comma-\n"
    "separated for several; `all` = the six below):\n"
    "  saliency    |d score / d x|\n"
    "  gradxinput  d score / d x * x\n"
    "  ig          integrated gradients from a baseline (--baseline, --steps, --quadrature;\n"
    "              --exact: region by region, exact for ReLU/max-pool/Dense/Conv networks);\n"
    "              reports the completeness delta: sum of attributions - (score - baseline)\n"
    "  smoothgrad  mean gradient over --samples copies with Gaussian noise (--noise-level)\n"
    "  gradcam     Grad-CAM on a Conv2D layer (--layer, default the last)\n"
    "  occlusion   score drop when a --window slides over the input (--stride, --fill)\n"
    "For a decision tree or random forest file (saved by the library) and --data:\n"
    "  shap        exact TreeSHAP values (mean |SHAP| per feature; --out draws a beeswarm)\n"
    "  permutation accuracy drop when a feature is shuffled (also for deep models)\n"
    "  impurity    the trees' impurity importances\n"
    "\n"
    "  --method LIST       default ig\n"
    "  --class K           the class explained (default: the predicted one)\n"
    "  --score S           logit (before the final softmax, default) or probability\n"
    "  --steps N           ig: quadrature points (default 50)\n"
    "  --quadrature Q      ig: gauss-legendre (default), left, right, middle, trapezoid\n"
    "  --exact             ig: exact integration over the linear regions of the path\n"
    "  --baseline B        ig: black (default), blur, noise, or an image/.npy FILE\n"
    "  --samples N         smoothgrad: noisy copies (default 50)\n"
    "  --noise-level F     smoothgrad: noise std / (max - min) of the input (default 0.15)\n"
    "  --layer NAME        gradcam: a Conv2D layer\n"
    "  --window R[xC]      occlusion: window rows x columns (default 4x4)\n"
    "  --stride R[xC]      occlusion: default 2x2\n"
    "  --fill V            occlusion: covering value (default 0)\n"
    "  --data SOURCE       explain samples of a data source's test split (see `lamina --help`)\n"
    "  --text TEXT         explain TEXT with a text classifier trained on textcls:DIR (its\n"
    "                      tokenizer, its input length); attributions per token\n"
    "  --index I           the first sample explained (default 0)\n"
    "  --count N           samples explained (default 1)\n"
    "  --limit N           shap/permutation/impurity: the first N test samples only (the\n"
    "                      source's test split, else its last fifth)\n"
    "  --repeats N         permutation: shuffles per feature (default 5)\n"
    "  --labels L          class names: fashion-mnist, or a file with one name per line\n"
    "  --out FILE.png      a picture: the input and one heatmap per method (with several\n"
    "                      inputs, FILE-1.png, FILE-2.png, ...); importances as bars, SHAP\n"
    "                      as a beeswarm; for text, the tokens coloured by attribution\n"
    "                      (FILE.html or FILE.png; FILE-METHOD.* for several methods)\n"
    "  --batch-size N      samples per forward pass (default 64)\n"
    "  --seed N            noise baseline and smoothgrad draws, shuffles (default 0)\n"
    "  --threads N         0 = all cores (default)\n"
    "  --label-column C    CSV: label column name or index (default 0)\n"
    "  --no-header         CSV: no header row\n"
    "  --max-len N         textcls:DIR: tokens per sample (default: the model's input length)\n"
    "  --json              one JSON object per line: per input and method (method, input,\n"
    "                      class, label, score, probability, seconds; ig adds baseline_score,\n"
    "                      attribution_sum, completeness_delta, relative_delta, evaluations)\n";

typedef struct explain_args {
    const char *methods, *score, *quadrature, *baseline, *layer, *window, *stride, *data;
    const char *labels, *out, *label_column, *text;
    long target, steps, samples, batch, seed, threads, index, count, limit, repeats, max_len;
    double noise_level, fill;
    bool exact, json, no_header, target_seen;
} explain_args;

/* "R" or "RxC" into two positive ints. */
static bool parse_pair(const char *s, int out[2])
{
    char *end;
    long r = strtol(s, &end, 10), c = r;
    if (*end == 'x' || *end == 'X') c = strtol(end + 1, &end, 10);
    if (*end || r < 1 || c < 1 || r > 1 << 20 || c > 1 << 20) return false;
    out[0] = (int)r;
    out[1] = (int)c;
    return true;
}

/* The options every deep method shares, from the arguments; CLI_USAGE on a bad value. */
static int deep_options(const explain_args *a, lam_explain_options *o)
{
    lam_explain_method method = o->method;
    *o = lam_explain_defaults(method);
    o->target = a->target_seen ? (int)a->target : -1;
    o->batch = (int)a->batch;
    o->seed = (uint64_t)a->seed;
    if (!strcmp(a->score, "logit")) o->score = LAM_SCORE_LOGIT;
    else if (!strcmp(a->score, "probability")) o->score = LAM_SCORE_PROBABILITY;
    else return cli_usage_error("explain", "--score must be logit or probability, not '%s'",
                                a->score);
    static const struct { const char *name; lam_quadrature q; } QUAD[] = {
        {"gauss-legendre", LAM_QUAD_GAUSS_LEGENDRE}, {"gl", LAM_QUAD_GAUSS_LEGENDRE},
        {"left", LAM_QUAD_RIEMANN_LEFT},             {"right", LAM_QUAD_RIEMANN_RIGHT},
        {"middle", LAM_QUAD_RIEMANN_MIDDLE},         {"trapezoid", LAM_QUAD_TRAPEZOID},
    };
    size_t q = 0;
    while (q < sizeof QUAD / sizeof QUAD[0] && strcmp(QUAD[q].name, a->quadrature)) q++;
    if (q == sizeof QUAD / sizeof QUAD[0])
        return cli_usage_error("explain", "--quadrature must be gauss-legendre, left, right, "
                               "middle or trapezoid, not '%s'", a->quadrature);
    o->quadrature = QUAD[q].q;
    o->steps = (int)a->steps;
    o->exact = a->exact;
    o->samples = (int)a->samples;
    o->noise_level = (float)a->noise_level;
    o->layer = a->layer;
    o->fill = (float)a->fill;
    if (a->window && !parse_pair(a->window, o->window))
        return cli_usage_error("explain", "--window must be R or RxC (positive), not '%s'",
                               a->window);
    if (a->stride && !parse_pair(a->stride, o->stride))
        return cli_usage_error("explain", "--stride must be R or RxC (positive), not '%s'",
                               a->stride);
    if (!strcmp(a->baseline, "black")) o->baseline = LAM_BASELINE_BLACK;
    else if (!strcmp(a->baseline, "blur")) o->baseline = LAM_BASELINE_BLUR;
    else if (!strcmp(a->baseline, "noise")) o->baseline = LAM_BASELINE_NOISE;
    else o->baseline = LAM_BASELINE_INPUT; /* a file, read by the caller */
    return CLI_OK;
}

/* The methods of a comma-separated list ("all": every deep method). */
static int parse_methods(const char *list, lam_explain_method *out, int *n)
{
    *n = 0;
    if (!strcmp(list, "all")) {
        for (int k = 0; k < LAM_EXPLAIN_METHOD_COUNT; k++) out[(*n)++] = (lam_explain_method)k;
        return CLI_OK;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (*n == LAM_EXPLAIN_METHOD_COUNT)
            return cli_usage_error("explain", "--method lists a method twice");
        if (lam_explain_method_parse(t, &out[*n]) != LAM_OK)
            return cli_usage_error("explain", "%s", lam_last_error());
        for (int k = 0; k < *n; k++)
            if (out[k] == out[*n])
                return cli_usage_error("explain", "--method lists '%s' twice", t);
        (*n)++;
    }
    if (!*n) return cli_usage_error("explain", "--method is empty");
    return CLI_OK;
}

/* -------------------------------------------------------------- deep models */

typedef struct sample {
    char name[4200];
    float *x;      /* borrowed: one sample */
    int32_t label; /* the true class, -1 when unknown */
} sample;

/* path with "-suffix" before its extension: FILE.png -> FILE-suffix.png. */
static void suffixed(const char *path, const char *suffix, char *buf, size_t cap)
{
    const char *dot = strrchr(path, '.');
    int stem = dot && !strchr(dot, '/') ? (int)(dot - path) : (int)strlen(path);
    snprintf(buf, cap, "%.*s-%s%s", stem, path, suffix, path + stem);
}

/* A picture name for input i of n: FILE.png, or FILE-<i+1>.png. */
static void picture_name(const char *out, int64_t i, int64_t n, char *buf, size_t cap)
{
    char number[24];
    snprintf(number, sizeof number, "%lld", (long long)i + 1);
    if (n == 1) snprintf(buf, cap, "%s", out);
    else suffixed(out, number, buf, cap);
}

/* One attribution as a text line or a JSON object. */
static void report(const explain_args *a, const cli_labels *lb, const sample *s,
                   const lam_attribution *r, double seconds)
{
    const char *label = cli_label(lb, r->target);
    const bool ig = r->method == LAM_EXPLAIN_IG;
    const double gap = r->score - r->baseline_score;
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "input", s->name);
        cJSON_AddStringToObject(o, "method", lam_explain_method_name(r->method));
        if (ig && a->exact) cJSON_AddBoolToObject(o, "exact", true);
        cJSON_AddNumberToObject(o, "class", r->target);
        if (label) cJSON_AddStringToObject(o, "label", label);
        if (s->label >= 0) cJSON_AddNumberToObject(o, "true_class", s->label);
        cli_json_number(o, "score", r->score);
        cli_json_number(o, "probability", r->probability);
        if (ig) {
            cli_json_number(o, "baseline_score", r->baseline_score);
            cli_json_number(o, "attribution_sum", r->attribution_sum);
            cli_json_number(o, "completeness_delta", r->completeness_delta);
            cli_json_number(o, "relative_delta", fabs(r->completeness_delta) / fabs(gap));
        }
        cJSON_AddNumberToObject(o, "evaluations", (double)r->evaluations);
        cli_json_number(o, "seconds", seconds);
        if (r->per_position) {
            cJSON *p = cJSON_AddArrayToObject(o, "per_position");
            for (int64_t t = 0; t < r->positions; t++)
                cJSON_AddItemToArray(p, cJSON_CreateNumber((double)r->per_position[t]));
        }
        cli_json_print(o);
        return;
    }
    printf("%s: %s, class %d%s%s%s score %.6g", s->name, lam_explain_method_name(r->method),
           r->target, label ? " (" : "", label ? label : "", label ? ")" : "", r->score);
    if (isfinite(r->probability)) printf(", probability %.4f", r->probability);
    if (ig)
        printf(", baseline %.6g, sum of attributions %.6g, completeness delta %.3g "
               "(relative %.3g)", r->baseline_score, r->attribution_sum,
               r->completeness_delta, fabs(r->completeness_delta) / fabs(gap));
    printf(", %lld evaluations, %.1f ms\n", (long long)r->evaluations, 1e3 * seconds);
}

/* The input image's height, width and channels, or false for other inputs. */
static bool image_dims(const lam_model *m, int *h, int *w, int *c)
{
    int64_t s[4];
    int rank = lam_model_input_shape(m, s);
    if (rank != 2 && rank != 3) return false;
    *h = (int)s[0];
    *w = (int)s[1];
    *c = rank == 3 ? (int)s[2] : 1;
    return *c == 1 || *c == 3;
}

/* The attribution over the image grid (H, W): summed over channels. */
static void map_to_grid(const lam_attribution *r, int h, int w, int c, float *grid)
{
    if (r->size == (int64_t)h * w) {
        memcpy(grid, r->map, sizeof(float) * (size_t)(h * w));
        return;
    }
    for (int64_t p = 0; p < (int64_t)h * w; p++) {
        float v = 0;
        for (int k = 0; k < c; k++) v += r->map[p * c + k];
        grid[p] = v;
    }
}

/* A text classifier's tokens (ids shifted by one, 0 = padding, as textcls:DIR
 * makes them) coloured by their attributions: one picture per method. */
static int draw_tokens(lam_model *m, const char *title, const sample *s,
                       const lam_attribution *r, int nmethods, const char *path)
{
    lam_tokenizer *tok = NULL;
    if (lam_model_tokenizer(m, &tok) != LAM_OK) return cli_lib_error();
    const int64_t T = r[0].positions;
    char **tokens = calloc((size_t)T, sizeof(char *));
    float *values = malloc(sizeof(float) * (size_t)T);
    int rc = tokens && values ? CLI_OK : cli_error("out of memory");
    int64_t n = 0;
    for (int64_t t = 0; rc == CLI_OK && t < T; t++) {
        const int32_t id = (int32_t)s->x[t] - 1;
        const char *bytes;
        size_t len;
        if (id < 0) continue; /* padding */
        /* Not NUL-terminated (strndup may read past them): copied by length. */
        if (lam_tokenizer_decode_token(tok, id, &bytes, &len) != LAM_OK) rc = cli_lib_error();
        else if (!(tokens[n] = malloc(len + 1))) rc = cli_error("out of memory");
        else {
            memcpy(tokens[n], bytes, len);
            tokens[n++][len] = '\0';
        }
    }
    for (int k = 0; rc == CLI_OK && k < nmethods; k++) {
        int64_t kept = 0;
        for (int64_t t = 0; t < T; t++)
            if (s->x[t] >= 1) values[kept++] = r[k].per_position[t];
        char file[4300];
        if (nmethods == 1) snprintf(file, sizeof file, "%s", path);
        else suffixed(path, lam_explain_method_name(r[k].method), file, sizeof file);
        if (lam_plot_tokens(file, title, (const char *const *)tokens, values, n) != LAM_OK)
            rc = cli_lib_error();
    }
    for (int64_t i = 0; tokens && i < n; i++) free(tokens[i]);
    free(tokens);
    free(values);
    lam_tokenizer_free(tok);
    return rc;
}

static int draw(const cli_labels *lb, lam_model *m, const sample *s,
                const lam_attribution *r, int nmethods, const char *path)
{
    int h, w, c;
    char title[512];
    const char *label = cli_label(lb, r[0].target);
    int n = snprintf(title, sizeof title, "%s: class %d%s%s", s->name, r[0].target,
                     label ? " " : "", label ? label : "");
    if (isfinite(r[0].probability) && n > 0 && (size_t)n < sizeof title)
        snprintf(title + n, sizeof title - (size_t)n, ", p = %.3f", r[0].probability);
    if (r[0].per_position && lam_model_input_shape(m, (int64_t[4]){0}) == 1 &&
        lam_model_metadata(m, LAM_TOKENIZER_METADATA_KEY))
        return draw_tokens(m, title, s, r, nmethods, path);
    if (!image_dims(m, &h, &w, &c))
        return cli_error("%s: --out draws images (rank 2 or 3 with 1 or 3 channels) and the "
                         "tokens of text classifiers; use --json for the values of other "
                         "inputs", path);
    float *grids = malloc(sizeof(float) * (size_t)(nmethods * h * w));
    if (!grids) return cli_error("out of memory");
    const float *maps[LAM_EXPLAIN_METHOD_COUNT];
    const char *titles[LAM_EXPLAIN_METHOD_COUNT];
    char tbuf[LAM_EXPLAIN_METHOD_COUNT][64];
    for (int k = 0; k < nmethods; k++) {
        map_to_grid(&r[k], h, w, c, grids + (int64_t)k * h * w);
        maps[k] = grids + (int64_t)k * h * w;
        if (r[k].method == LAM_EXPLAIN_IG)
            snprintf(tbuf[k], sizeof tbuf[k], "ig (delta %.1e)", fabs(r[k].completeness_delta));
        else snprintf(tbuf[k], sizeof tbuf[k], "%s", lam_explain_method_name(r[k].method));
        titles[k] = tbuf[k];
    }
    lam_status st = lam_plot_attributions(path, title, s->x, h, w, c, maps, titles, nmethods);
    free(grids);
    return st == LAM_OK ? CLI_OK : cli_lib_error();
}

/* Runs every method on one sample; the picture when --out. */
static int explain_sample(const explain_args *a, const cli_labels *lb, lam_model *m,
                          const lam_explain_method *methods, int nmethods,
                          const float *baseline, const sample *s, const char *picture)
{
    lam_attribution r[LAM_EXPLAIN_METHOD_COUNT];
    memset(r, 0, sizeof r);
    int rc = CLI_OK, done = 0;
    for (int k = 0; rc == CLI_OK && k < nmethods; k++) {
        lam_explain_options o = {.method = methods[k]};
        rc = deep_options(a, &o);
        if (baseline) o.baseline_input = baseline;
        double t0 = cli_now();
        if (rc == CLI_OK && lam_explain(m, s->x, &o, &r[k]) != LAM_OK) rc = cli_lib_error();
        if (rc == CLI_OK) {
            report(a, lb, s, &r[k], cli_now() - t0);
            done++;
        }
    }
    if (rc == CLI_OK && picture) rc = draw(lb, m, s, r, nmethods, picture);
    for (int k = 0; k < done; k++) lam_attribution_free(&r[k]);
    return rc;
}

/* Inputs named on the command line or a slice of a data source, as samples. */
typedef struct sample_set {
    sample *items;
    int64_t n;
    float **owned; /* buffers to free */
    int nowned;
    lam_dataset *train, *test;
} sample_set;

static void sample_set_free(sample_set *ss)
{
    for (int i = 0; i < ss->nowned; i++) free(ss->owned[i]);
    free(ss->owned);
    free(ss->items);
    lam_dataset_free(ss->train);
    lam_dataset_free(ss->test);
}

static int add_samples(sample_set *ss, const char *name, float *x, int64_t n, int64_t size,
                       const int32_t *labels, int64_t first)
{
    sample *grown = realloc(ss->items, sizeof(sample) * (size_t)(ss->n + n));
    float **owned = realloc(ss->owned, sizeof(float *) * (size_t)(ss->nowned + 1));
    if (grown) ss->items = grown;
    if (owned) ss->owned = owned;
    if (!grown || !owned) {
        free(x);
        return cli_error("out of memory");
    }
    ss->owned[ss->nowned++] = x;
    for (int64_t i = 0; i < n; i++) {
        sample *s = &ss->items[ss->n++];
        if (labels || n > 1) snprintf(s->name, sizeof s->name, "%s[%lld]", name,
                                      (long long)(first + i));
        else snprintf(s->name, sizeof s->name, "%s", name);
        s->x = x + i * size;
        s->label = labels ? labels[i] : -1;
    }
    return CLI_OK;
}

static int collect_samples(const explain_args *a, lam_model *m, const char *const *files,
                           int nfiles, sample_set *ss)
{
    const int64_t size = lam_model_input_size(m);
    for (int i = 0; i < nfiles; i++) {
        float *x;
        int64_t n;
        if (cli_read_inputs(m, files[i], &x, &n) != CLI_OK) return CLI_FAIL;
        if (add_samples(ss, files[i], x, n, size, NULL, 0) != CLI_OK) return CLI_FAIL;
    }
    if (a->text) {
        /* As textcls:DIR makes samples: the first T token ids, each + 1, padded with 0. */
        lam_tokenizer *tok = NULL;
        int32_t *ids = NULL;
        int64_t nids = 0;
        if (lam_model_tokenizer(m, &tok) != LAM_OK) return cli_lib_error();
        lam_status st = lam_tokenizer_encode(tok, a->text, strlen(a->text), &ids, &nids);
        lam_tokenizer_free(tok);
        if (st != LAM_OK) return cli_lib_error();
        float *x = calloc((size_t)size, sizeof(float));
        if (!x) {
            free(ids);
            return cli_error("out of memory");
        }
        for (int64_t t = 0; t < nids && t < size; t++) x[t] = (float)ids[t] + 1.0f;
        free(ids);
        if (add_samples(ss, "text", x, 1, size, NULL, 0) != CLI_OK) return CLI_FAIL;
    }
    if (!a->data) return CLI_OK;
    cli_data_options dopt = {.label_column = a->label_column, .no_header = a->no_header,
                             .model = m, .max_len = a->max_len};
    if (cli_load_data(a->data, &dopt, &ss->train, &ss->test) != CLI_OK) return CLI_FAIL;
    lam_dataset *ds = ss->test ? ss->test : ss->train;
    if (cli_fit_data_to_model(m, ds, a->data) != CLI_OK) return CLI_FAIL;
    const int64_t total = lam_dataset_count(ds);
    if (a->index >= total || a->index + a->count > total)
        return cli_error("%s: samples %ld to %ld asked, the %s split has %lld", a->data,
                         a->index, a->index + a->count - 1, ss->test ? "test" : "whole",
                         (long long)total);
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)a->count);
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)a->count);
    float *x = malloc(sizeof(float) * (size_t)(a->count * size));
    int rc = idx && labels && x ? CLI_OK : cli_error("out of memory");
    for (long i = 0; rc == CLI_OK && i < a->count; i++) idx[i] = a->index + i;
    if (rc == CLI_OK && lam_dataset_gather(ds, idx, a->count, x, labels, NULL) != LAM_OK)
        rc = cli_lib_error();
    if (rc == CLI_OK) rc = add_samples(ss, a->data, x, a->count, size, labels, a->index);
    else free(x);
    free(idx);
    free(labels);
    return rc;
}

static int explain_deep(const explain_args *a, lam_model *m, const char *const *files,
                        int nfiles)
{
    lam_explain_method methods[LAM_EXPLAIN_METHOD_COUNT];
    int nmethods;
    int rc = parse_methods(a->methods, methods, &nmethods);
    if (rc) return rc;
    if (nfiles == 0 && !a->data && !a->text)
        return cli_usage_error("explain", "give input files, --data SOURCE or --text TEXT");
    if (lam_model_num_inputs(m) != 1)
        return cli_error("%s: explain takes single-input models; this one has %d inputs",
                         lam_model_name(m), lam_model_num_inputs(m));
    cli_labels lb;
    sample_set ss = {0};
    float *baseline = NULL;
    rc = cli_labels_load(a->labels, m, &lb);
    if (rc == CLI_OK && strcmp(a->baseline, "black") && strcmp(a->baseline, "blur") &&
        strcmp(a->baseline, "noise")) {
        int64_t n;
        rc = cli_read_inputs(m, a->baseline, &baseline, &n);
        if (rc == CLI_OK && n != 1)
            rc = cli_error("%s: a baseline is one sample; this file holds %lld", a->baseline,
                           (long long)n);
    }
    if (rc == CLI_OK) rc = collect_samples(a, m, files, nfiles, &ss);
    for (int64_t i = 0; rc == CLI_OK && i < ss.n; i++) {
        char picture[4200];
        if (a->out) picture_name(a->out, i, ss.n, picture, sizeof picture);
        rc = explain_sample(a, &lb, m, methods, nmethods, baseline, &ss.items[i],
                            a->out ? picture : NULL);
    }
    free(baseline);
    sample_set_free(&ss);
    cli_labels_free(&lb);
    return rc;
}

/* ------------------------------------------------- importances over data */

/* A model to rank features with: a deep model, a tree or a forest. */
typedef struct ranked_model {
    lam_model *deep;
    lam_tree *tree;
    lam_forest *forest;
    float *probs;      /* the deep model's outputs for up to nprobs samples */
    int64_t nprobs;
} ranked_model;

static lam_status predict_ranked(void *model, const float *x, int64_t n, int64_t d,
                                 int32_t *labels)
{
    ranked_model *r = model;
    if (r->tree) return lam_tree_predict(r->tree, x, n, d, labels);
    if (r->forest) return lam_forest_predict(r->forest, x, n, d, labels);
    const int64_t k = lam_model_output_size(r->deep);
    float *p = r->probs;
    if (n > r->nprobs) return LAM_ERR_ARG; /* sized by the caller for every call it makes */
    lam_status st = lam_predict_raw(r->deep, x, n, p);
    for (int64_t i = 0; st == LAM_OK && i < n; i++) {
        int64_t best = 0;
        for (int64_t c = 1; c < k; c++)
            if (p[i * k + c] > p[i * k + best]) best = c;
        labels[i] = (int32_t)best;
    }
    return st;
}

/* Prints (or JSON) the top features of one importance vector and draws bars. */
static int report_importances(const explain_args *a, const char *method, char **names,
                              const double *value, const double *err, int64_t d,
                              double baseline)
{
    int64_t *order = malloc(sizeof(int64_t) * (size_t)d);
    if (!order) return cli_error("out of memory");
    for (int64_t i = 0; i < d; i++) order[i] = i;
    /* Insertion sort by decreasing value: stable, d is at most thousands. */
    for (int64_t i = 1; i < d; i++)
        for (int64_t j = i; j > 0 && value[order[j]] > value[order[j - 1]]; j--) {
            int64_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    const int64_t top = d < 20 ? d : 20;
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "method", method);
        if (isfinite(baseline)) cli_json_number(o, "baseline_accuracy", baseline);
        cJSON *arr = cJSON_AddArrayToObject(o, "features");
        for (int64_t k = 0; k < d; k++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", names[order[k]]);
            cJSON_AddNumberToObject(e, "index", (double)order[k]);
            cli_json_number(e, "importance", value[order[k]]);
            if (err) cli_json_number(e, "std", err[order[k]]);
            cJSON_AddItemToArray(arr, e);
        }
        cli_json_print(o);
    } else {
        if (isfinite(baseline)) printf("%s: baseline accuracy %.4f\n", method, baseline);
        int width = 8;
        for (int64_t k = 0; k < top; k++)
            if ((int)strlen(names[order[k]]) > width) width = (int)strlen(names[order[k]]);
        printf("%-*s %12s%s\n", width, "feature", method, err ? "          std" : "");
        for (int64_t k = 0; k < top; k++) {
            printf("%-*s %12.6f", width, names[order[k]], value[order[k]]);
            if (err) printf(" %12.6f", err[order[k]]);
            printf("\n");
        }
    }
    free(order);
    if (!a->out) return CLI_OK;
    char xlabel[64];
    snprintf(xlabel, sizeof xlabel, "%s importance", method);
    return lam_plot_bars(a->out, method, xlabel, (const char *const *)names, value, err, (int)d,
                         20) == LAM_OK ? CLI_OK : cli_lib_error();
}

static int importances(const explain_args *a, ranked_model *rm, const char *method,
                       const float *x, const int32_t *y, int64_t n, int64_t d, char **names)
{
    int rc = CLI_OK;
    double *value = calloc((size_t)d, sizeof(double)), *err = calloc((size_t)d, sizeof(double));
    if (!value || !err) rc = cli_error("out of memory");
    double baseline = NAN;
    if (rc == CLI_OK && !strcmp(method, "permutation")) {
        if (lam_permutation_importance(predict_ranked, rm, x, n, d, y, (int)a->repeats,
                                       (uint64_t)a->seed, value, err, &baseline) != LAM_OK)
            rc = cli_lib_error();
        if (rc == CLI_OK) rc = report_importances(a, method, names, value, err, d, baseline);
    } else if (rc == CLI_OK && !strcmp(method, "impurity")) {
        if (!rm->tree && !rm->forest)
            rc = cli_error("impurity importances are for trees and forests");
        else if ((rm->tree ? lam_tree_feature_importances(rm->tree, value)
                           : lam_forest_feature_importances(rm->forest, value)) != LAM_OK)
            rc = cli_lib_error();
        if (rc == CLI_OK) rc = report_importances(a, method, names, value, NULL, d, NAN);
    } else if (rc == CLI_OK) { /* shap */
        if (!rm->tree && !rm->forest)
            rc = cli_error("shap is for trees and forests; for a deep model use --method ig");
        int32_t k = rm->tree ? lam_tree_num_classes(rm->tree)
                             : lam_forest_num_classes(rm->forest);
        double *phi = rc == CLI_OK ? malloc(sizeof(double) * (size_t)(n * d * k)) : NULL;
        double *expected = rc == CLI_OK ? malloc(sizeof(double) * (size_t)k) : NULL;
        if (rc == CLI_OK && (!phi || !expected)) rc = cli_error("out of memory");
        if (rc == CLI_OK && (rm->tree ? lam_tree_shap(rm->tree, x, n, d, phi, expected)
                                      : lam_forest_shap(rm->forest, x, n, d, phi, expected)))
            rc = cli_lib_error();
        /* Mean |SHAP| over samples and classes, as shap's bar summary of all classes. */
        for (int64_t i = 0; rc == CLI_OK && i < n; i++)
            for (int64_t f = 0; f < d; f++)
                for (int32_t c = 0; c < k; c++)
                    value[f] += fabs(phi[(i * d + f) * k + c]) / (double)n;
        const char *out = a->out;
        explain_args quiet = *a;
        quiet.out = NULL; /* the beeswarm, not bars */
        if (rc == CLI_OK) rc = report_importances(&quiet, "mean |SHAP|", names, value, NULL, d,
                                                  NAN);
        /* The beeswarm shows one class's SHAP values (--class K), as shap's does for one
         * output; without --class, each sample's predicted class. */
        double *own = rc == CLI_OK && out ? malloc(sizeof(double) * (size_t)(n * d)) : NULL;
        int32_t *pred = own ? malloc(sizeof(int32_t) * (size_t)n) : NULL;
        if (rc == CLI_OK && out && (!own || !pred)) rc = cli_error("out of memory");
        if (rc == CLI_OK && out && predict_ranked(rm, x, n, d, pred) != LAM_OK)
            rc = cli_lib_error();
        if (rc == CLI_OK && a->target_seen && a->target >= k)
            rc = cli_error("--class %ld is out of range: the model has %d classes", a->target, k);
        for (int64_t i = 0; rc == CLI_OK && out && i < n; i++) {
            const int32_t c = a->target_seen ? (int32_t)a->target : pred[i];
            for (int64_t f = 0; f < d; f++) own[i * d + f] = phi[(i * d + f) * k + c];
        }
        char title[64];
        if (a->target_seen) snprintf(title, sizeof title, "SHAP values of class %ld", a->target);
        else snprintf(title, sizeof title, "SHAP values of each sample's predicted class");
        if (rc == CLI_OK && out &&
            lam_plot_beeswarm(out, title, (const char *const *)names, own, x, n, d, 20) != LAM_OK)
            rc = cli_lib_error();
        free(own);
        free(pred);
        free(phi);
        free(expected);
    }
    free(value);
    free(err);
    return rc;
}

/* Whether path is a forest or tree file (then opened into rm). */
static bool open_classic(const char *path, ranked_model *rm)
{
    return lam_forest_load(path, &rm->forest) == LAM_OK || lam_tree_load(path, &rm->tree) == LAM_OK;
}

static int explain_over_data(const explain_args *a, ranked_model *rm, const char *model_path)
{
    if (!a->data)
        return cli_usage_error("explain", "--method %s ranks features over a data set: give "
                               "--data SOURCE", a->methods);
    if (strchr(a->methods, ','))
        return cli_usage_error("explain", "shap, permutation and impurity run one at a time");
    cli_data_options dopt = {.label_column = a->label_column, .no_header = a->no_header,
                             .model = rm->deep, .max_len = a->max_len};
    lam_dataset *train = NULL, *test = NULL;
    if (cli_load_data(a->data, &dopt, &train, &test) != CLI_OK) return CLI_FAIL;
    /* The source's test split, or its last fifth as `select` and `surrogate` hold out. */
    if (cli_hold_out(a->data, 0, a->limit, &train, &test) != CLI_OK) return CLI_FAIL;
    int rc = rm->deep ? cli_fit_data_to_model(rm->deep, test, a->data) : CLI_OK;
    const int64_t d = lam_dataset_sample_size(test), n = lam_dataset_count(test);
    const int64_t want = rm->deep ? lam_model_input_size(rm->deep)
                         : rm->tree ? lam_tree_num_features(rm->tree)
                                    : lam_forest_num_features(rm->forest);
    if (rc == CLI_OK && d != want)
        rc = cli_error("%s: samples have %lld features, %s expects %lld", a->data, (long long)d,
                       model_path, (long long)want);
    float *x = NULL;
    int32_t *y = NULL;
    char **names = NULL;
    if (rc == CLI_OK) rc = cli_flat_rows(test, &x, &y);
    if (rc == CLI_OK && !(names = cli_feature_names(a->data, &dopt, test)))
        rc = cli_error("out of memory");
    if (rc == CLI_OK && rm->deep) {
        rm->probs = malloc(sizeof(float) * (size_t)(n * lam_model_output_size(rm->deep)));
        rm->nprobs = n;
        if (!rm->probs) rc = cli_error("out of memory");
    }
    if (rc == CLI_OK) rc = importances(a, rm, a->methods, x, y, n, d, names);
    cli_names_free(names, d);
    free(x);
    free(y);
    lam_dataset_free(train);
    lam_dataset_free(test);
    return rc;
}

int cmd_explain(int argc, char **argv)
{
    explain_args a = {.methods = "ig", .score = "logit", .quadrature = "gauss-legendre",
                      .baseline = "black", .steps = 50, .samples = 50, .batch = 64,
                      .count = 1, .repeats = 5, .noise_level = 0.15};
    const cli_option opts[] = {
        {"--method", OPT_STR, &a.methods, NULL},
        {"--class", OPT_INT, &a.target, &a.target_seen},
        {"--score", OPT_STR, &a.score, NULL},
        {"--steps", OPT_INT, &a.steps, NULL},
        {"--quadrature", OPT_STR, &a.quadrature, NULL},
        {"--exact", OPT_FLAG, &a.exact, NULL},
        {"--baseline", OPT_STR, &a.baseline, NULL},
        {"--samples", OPT_INT, &a.samples, NULL},
        {"--noise-level", OPT_FLOAT, &a.noise_level, NULL},
        {"--layer", OPT_STR, &a.layer, NULL},
        {"--window", OPT_STR, &a.window, NULL},
        {"--stride", OPT_STR, &a.stride, NULL},
        {"--fill", OPT_FLOAT, &a.fill, NULL},
        {"--data", OPT_STR, &a.data, NULL},
        {"--text", OPT_STR, &a.text, NULL},
        {"--index", OPT_INT, &a.index, NULL},
        {"--count", OPT_INT, &a.count, NULL},
        {"--limit", OPT_INT, &a.limit, NULL},
        {"--repeats", OPT_INT, &a.repeats, NULL},
        {"--labels", OPT_STR, &a.labels, NULL},
        {"--out", OPT_STR, &a.out, NULL},
        {"--batch-size", OPT_INT, &a.batch, NULL},
        {"--seed", OPT_INT, &a.seed, NULL},
        {"--threads", OPT_INT, &a.threads, NULL},
        {"--label-column", OPT_STR, &a.label_column, NULL},
        {"--no-header", OPT_FLAG, &a.no_header, NULL},
        {"--max-len", OPT_INT, &a.max_len, NULL},
        {"--json", OPT_FLAG, &a.json, NULL},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[256];
    int npos;
    int rc = cli_parse("explain", USAGE, argc, argv, opts, pos, 256, &npos);
    if (rc) return rc;
    if (npos < 1) return cli_usage_error("explain", "give a model file");
    if (a.steps < 1 || a.samples < 1 || a.batch < 1 || a.index < 0 || a.count < 1 ||
        a.limit < 0 || a.repeats < 1 || a.threads < 0 || a.max_len < 0 || a.seed < 0 ||
        !(a.noise_level >= 0))
        return cli_usage_error("explain", "--steps, --samples, --batch-size, --count and "
                               "--repeats must be >= 1; --index, --limit, --threads, --seed, "
                               "--max-len and --noise-level >= 0");
    if (a.target_seen && a.target < 0)
        return cli_usage_error("explain", "--class must be >= 0");
    lam_set_threads((int)a.threads);

    const bool over_data = !strcmp(a.methods, "shap") || !strcmp(a.methods, "permutation") ||
                           !strcmp(a.methods, "impurity");
    ranked_model rm = {0};
    if (!cli_is_spec(pos[0]) && open_classic(pos[0], &rm)) {
        rc = over_data ? explain_over_data(&a, &rm, pos[0])
                       : cli_error("%s: a %s explains through shap, permutation or impurity "
                                   "importances (--method)", pos[0],
                                   rm.tree ? "decision tree" : "random forest");
    } else {
        rc = cli_open_model(pos[0], &rm.deep);
        if (rc == CLI_OK)
            rc = over_data ? explain_over_data(&a, &rm, pos[0])
                           : explain_deep(&a, rm.deep, pos + 1, npos - 1);
    }
    lam_model_free(rm.deep);
    free(rm.probs);
    lam_tree_free(rm.tree);
    lam_forest_free(rm.forest);
    return rc;
}
