/* cmd_select.c - `lamina select`: ranks the features of a data set by what a
 * tree or forest trained on it makes of them (mean |SHAP|, permutation
 * importance or impurity decrease), retrains the model on the top k for a few
 * k and tabulates test accuracy against k, and writes the data set reduced to
 * the best (or a chosen) k as .npy files that `lamina train` and
 * `lamina compare` read back (--data PREFIX.train.npy:PREFIX.train.labels.npy).
 *
 * A failed --plot (lam_plot_lines; builds without cairo cannot draw) does not
 * stop the rest: the ranking, the table and the files are all produced first,
 * then the plot's error is printed and the command exits 1, so that a script
 * asking for a picture learns that it did not get one. */
#include "cli.h"

#include "io/npy.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: lamina select --data SOURCE [--rank shap|permutation|impurity] [--model forest|tree]\n"
    "                     [--k 1,2,5,...|all] [--out PREFIX [--keep K]] [--plot FILE.png]\n"
    "                     [options]\n"
    "\n"
    "Fits the model on the training split and ranks the features:\n"
    "  shap         mean |SHAP value| over the test rows and classes (exact path-dependent\n"
    "               TreeSHAP on the class probabilities)\n"
    "  permutation  drop in test accuracy when the feature's column is shuffled\n"
    "  impurity     the model's impurity decrease (scikit-learn's feature_importances_)\n"
    "Prints the top 20, then the test accuracy of the model retrained on the top k features\n"
    "for each k. The test split is the source's own or else the last 20% of the samples.\n"
    "\n"
    "  --data SOURCE     data (see `lamina --help`)\n"
    "  --rank METHOD     shap (default), permutation or impurity\n"
    "  --model M         forest (default) or tree\n"
    "  --k LIST          comma-separated feature counts, `all` = every feature (default\n"
    "                    1,2,5,10,20,50,... below the feature count, and all)\n"
    "  --out PREFIX      write the data reduced to the best k (highest test accuracy, the\n"
    "                    smallest such k) as PREFIX.train.npy, PREFIX.train.labels.npy,\n"
    "                    PREFIX.test.npy, PREFIX.test.labels.npy and PREFIX.features.txt (the\n"
    "                    kept features' indices and names, in column order)\n"
    "  --keep K          with --out: keep the top K features instead of the best k\n"
    "  --plot FILE.png   draw test accuracy against k; when it cannot be drawn the error is\n"
    "                    printed after everything else is done, and the exit status is 1\n"
    "  --save-model FILE save the model fitted on every feature (a tree or forest file that\n"
    "                    `lamina explain FILE --method shap` reads)\n"
    "  --trees N         forest size (default 100)\n"
    "  --repeats N       permutation: shuffles per feature (default 5)\n"
    "  --rank-limit N    shap, permutation: rank on the first N test rows (default 200;\n"
    "                    0 = all). SHAP on a forest of 100 full trees over Fashion-MNIST\n"
    "                    takes about 0.6 s of CPU a row\n"
    "  --limit N         train on the first N training samples only\n"
    "  --test-limit N    test on the first N test samples only\n"
    "  --seed N          model and shuffles (default 42)\n"
    "  --threads N       0 = all cores (default)\n"
    "  --label-column C  CSV: label column name or index (default 0)\n"
    "  --no-header       CSV: no header row\n"
    "  --json            print one JSON object: ranking, table, best k, files\n";

#define TOP_SHOWN 20

typedef struct select_args {
    const char *data, *rank, *model, *k, *out, *plot, *save_model, *label_column;
    long keep, trees, repeats, rank_limit, limit, test_limit, seed, threads;
    bool json, no_header;
} select_args;

typedef enum { RANK_SHAP, RANK_PERMUTATION, RANK_IMPURITY } rank_method;
static const char *const RANK_NAMES[] = {"shap", "permutation", "impurity"};

/* ------------------------------------------------------------ the model */

typedef struct fitted {
    lam_tree *tree;
    lam_forest *forest;
} fitted;

static void fitted_free(fitted *m)
{
    lam_tree_free(m->tree);
    lam_forest_free(m->forest);
    m->tree = NULL;
    m->forest = NULL;
}

static int fit(const select_args *a, const float *x, int64_t n, int64_t d, const int32_t *y,
               fitted *m)
{
    memset(m, 0, sizeof *m);
    lam_status st;
    if (!strcmp(a->model, "tree")) {
        lam_tree_params p = lam_tree_defaults();
        p.seed = (uint64_t)a->seed;
        st = lam_tree_create(&m->tree, &p);
        if (st == LAM_OK) st = lam_tree_fit(m->tree, x, n, d, y);
    } else {
        lam_forest_params p = lam_forest_defaults();
        p.n_trees = (int)a->trees;
        p.seed = (uint64_t)a->seed;
        st = lam_forest_create(&m->forest, &p);
        if (st == LAM_OK) st = lam_forest_fit(m->forest, x, n, d, y);
    }
    if (st != LAM_OK) {
        fitted_free(m);
        return cli_lib_error();
    }
    return CLI_OK;
}

/* A lam_predict_fn over a fitted model. */
static lam_status fitted_predict(void *model, const float *x, int64_t n, int64_t d,
                                 int32_t *labels)
{
    const fitted *m = model;
    return m->tree ? lam_tree_predict(m->tree, x, n, d, labels)
                   : lam_forest_predict(m->forest, x, n, d, labels);
}

static int accuracy(const fitted *m, const float *x, int64_t n, int64_t d, const int32_t *y,
                    double *acc)
{
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)n);
    if (!pred) return cli_error("out of memory");
    if (fitted_predict((void *)m, x, n, d, pred) != LAM_OK) {
        free(pred);
        return cli_lib_error();
    }
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += pred[i] == y[i];
    free(pred);
    *acc = (double)ok / (double)n;
    return CLI_OK;
}

/* ------------------------------------------------------------ ranking */

typedef struct split {
    float *xtr, *xte;
    int32_t *ytr, *yte;
    int64_t ntr, nte, d;
    int32_t classes;
} split;

/* Mean |SHAP| over rows and classes, rows taken a block at a time so that
 * phi (rows * d * classes doubles) stays small for wide inputs. */
static int score_shap(const fitted *m, const float *x, int64_t n, int64_t d, double *score)
{
    const int32_t k = m->tree ? lam_tree_num_classes(m->tree) : lam_forest_num_classes(m->forest);
    const int64_t block = 64;
    double *phi = malloc(sizeof(double) * (size_t)(block * d * k));
    double *expected = malloc(sizeof(double) * (size_t)k);
    if (!phi || !expected) {
        free(phi);
        free(expected);
        return cli_error("out of memory for the SHAP values");
    }
    for (int64_t j = 0; j < d; j++) score[j] = 0;
    int rc = CLI_OK;
    for (int64_t i = 0; i < n && rc == CLI_OK; i += block) {
        const int64_t b = n - i < block ? n - i : block;
        lam_status st = m->tree ? lam_tree_shap(m->tree, x + i * d, b, d, phi, expected)
                                : lam_forest_shap(m->forest, x + i * d, b, d, phi, expected);
        if (st != LAM_OK) rc = cli_lib_error();
        for (int64_t r = 0; rc == CLI_OK && r < b; r++)
            for (int64_t j = 0; j < d; j++)
                for (int32_t c = 0; c < k; c++) score[j] += fabs(phi[(r * d + j) * k + c]);
    }
    for (int64_t j = 0; j < d; j++) score[j] /= (double)n * k;
    free(phi);
    free(expected);
    return rc;
}

static int score_features(const select_args *a, rank_method method, const fitted *m,
                          const split *s, int64_t rows, double *score)
{
    if (method == RANK_IMPURITY) {
        lam_status st = m->tree ? lam_tree_feature_importances(m->tree, score)
                                : lam_forest_feature_importances(m->forest, score);
        return st == LAM_OK ? CLI_OK : cli_lib_error();
    }
    if (method == RANK_SHAP) return score_shap(m, s->xte, rows, s->d, score);
    double baseline;
    lam_status st = lam_permutation_importance(fitted_predict, (void *)m, s->xte, rows, s->d,
                                               s->yte, (int)a->repeats, (uint64_t)a->seed, score,
                                               NULL, &baseline);
    return st == LAM_OK ? CLI_OK : cli_lib_error();
}

static const double *sort_scores; /* for by_score: qsort has no context argument */

/* Larger scores first; equal scores in feature order. */
static int by_score(const void *pa, const void *pb)
{
    const int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    if (sort_scores[a] != sort_scores[b]) return sort_scores[a] > sort_scores[b] ? -1 : 1;
    return (a > b) - (a < b);
}

static int by_index(const void *pa, const void *pb)
{
    const int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

/* ------------------------------------------------------------- k list */

/* Parses --k: integers >= 1 or "all" (stored as 0 until d is known). */
static int parse_k_list(const char *spec, long **out, int *count)
{
    int n = 1;
    for (const char *p = spec; *p; p++) n += *p == ',';
    long *ks = malloc(sizeof(long) * (size_t)n);
    if (!ks) return cli_error("out of memory");
    char *copy = strdup(spec);
    if (!copy) {
        free(ks);
        return cli_error("out of memory");
    }
    int m = 0;
    int rc = CLI_OK;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && rc == CLI_OK;
         t = strtok_r(NULL, ",", &save)) {
        char *end;
        errno = 0;
        long v = strtol(t, &end, 10);
        if (!strcmp(t, "all")) ks[m++] = 0;
        else if (*t && !*end && errno == 0 && v >= 1) ks[m++] = v;
        else rc = cli_usage_error("select", "--k: \"%s\" is not a feature count >= 1 or all", t);
    }
    free(copy);
    if (rc == CLI_OK && m == 0) rc = cli_usage_error("select", "--k lists no feature count");
    if (rc != CLI_OK) {
        free(ks);
        return rc;
    }
    *out = ks;
    *count = m;
    return CLI_OK;
}

static int cmp_long(const void *pa, const void *pb)
{
    const long a = *(const long *)pa, b = *(const long *)pb;
    return (a > b) - (a < b);
}

/* Resolves "all", checks the range, sorts and drops repeats. */
static int resolve_k_list(long *ks, int *count, int64_t d)
{
    for (int i = 0; i < *count; i++) {
        if (ks[i] == 0) ks[i] = (long)d;
        if (ks[i] > d)
            return cli_usage_error("select", "--k %ld: the data have %lld features (k must be "
                                   "1..%lld, or all)", ks[i], (long long)d, (long long)d);
    }
    qsort(ks, (size_t)*count, sizeof *ks, cmp_long);
    int m = 0;
    for (int i = 0; i < *count; i++)
        if (m == 0 || ks[i] != ks[m - 1]) ks[m++] = ks[i];
    *count = m;
    return CLI_OK;
}

/* 1, 2, 5, 10, 20, 50, ... below d, then d. */
static int default_k_list(int64_t d, long **out, int *count)
{
    long *ks = malloc(sizeof(long) * 64);
    if (!ks) return cli_error("out of memory");
    int m = 0;
    for (long base = 1; base < d && m < 60; base *= 10) {
        const long steps[3] = {1, 2, 5};
        for (int i = 0; i < 3; i++)
            if (base * steps[i] < d) ks[m++] = base * steps[i];
    }
    ks[m++] = (long)d;
    *out = ks;
    *count = m;
    return CLI_OK;
}

/* ------------------------------------------------------------ reduction */

/* Columns keep[0..k) of x (n rows of d) into out (n rows of k). */
static void take_columns(const float *x, int64_t n, int64_t d, const int64_t *keep, int64_t k,
                         float *out)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++) out[i * k + j] = x[i * d + keep[j]];
}

/* The top k features of the ranking, in column order, into keep (k). */
static void top_features(const int64_t *order, int64_t k, int64_t *keep)
{
    memcpy(keep, order, sizeof(int64_t) * (size_t)k);
    qsort(keep, (size_t)k, sizeof *keep, by_index);
}

/* Test accuracy of the model retrained on the top k features. */
static int accuracy_with_top(const select_args *a, const split *s, const int64_t *order,
                             int64_t k, double *acc)
{
    int64_t *keep = malloc(sizeof(int64_t) * (size_t)k);
    float *xtr = malloc(sizeof(float) * (size_t)(s->ntr * k));
    float *xte = malloc(sizeof(float) * (size_t)(s->nte * k));
    int rc = keep && xtr && xte ? CLI_OK : cli_error("out of memory");
    fitted m = {0};
    if (rc == CLI_OK) {
        top_features(order, k, keep);
        take_columns(s->xtr, s->ntr, s->d, keep, k, xtr);
        take_columns(s->xte, s->nte, s->d, keep, k, xte);
        rc = fit(a, xtr, s->ntr, k, s->ytr, &m);
    }
    if (rc == CLI_OK) rc = accuracy(&m, xte, s->nte, k, s->yte, acc);
    fitted_free(&m);
    free(keep);
    free(xtr);
    free(xte);
    return rc;
}

/* An int32 .npy (labels; lam_load_npy takes any integer dtype), written to a
 * temporary name and renamed so that no half-written file is left behind. */
static int write_labels_npy(const char *path, const int32_t *y, int64_t n)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return cli_error("%s: cannot create: %s", tmp, strerror(errno));
    char dict[128];
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '<i4', 'fortran_order': False, 'shape': (%lld,), }",
                       (long long)n);
    /* NumPy pads the header with spaces and a newline to a multiple of 64 bytes. */
    const int total = (10 + len + 1 + 63) / 64 * 64, hlen = total - 10;
    const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                   (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)len, f) == (size_t)len;
    for (int i = len; ok && i + 1 < hlen; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    for (int64_t i = 0; ok && i < n; i++) {
        const uint32_t u = (uint32_t)y[i];
        const unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8),
                                    (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
        ok = fwrite(b, 1, 4, f) == 4;
    }
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return cli_error("%s: write failed: %s", path, strerror(e));
    }
    return CLI_OK;
}

static int write_reduced(const select_args *a, const split *s, const int64_t *order, int64_t k,
                         char *const *names)
{
    int64_t *keep = malloc(sizeof(int64_t) * (size_t)k);
    const int64_t nmax = s->ntr > s->nte ? s->ntr : s->nte;
    float *buf = malloc(sizeof(float) * (size_t)(nmax * k));
    if (!keep || !buf) {
        free(keep);
        free(buf);
        return cli_error("out of memory");
    }
    top_features(order, k, keep);
    char path[4096];
    int rc = CLI_OK;
    const struct { const char *part; const float *x; const int32_t *y; int64_t n; } parts[2] = {
        {"train", s->xtr, s->ytr, s->ntr}, {"test", s->xte, s->yte, s->nte}};
    for (int p = 0; p < 2 && rc == CLI_OK; p++) {
        take_columns(parts[p].x, parts[p].n, s->d, keep, k, buf);
        snprintf(path, sizeof path, "%s.%s.npy", a->out, parts[p].part);
        const int64_t shape[2] = {parts[p].n, k};
        if (lam_npy_write_f32(path, 2, shape, buf) != LAM_OK) rc = cli_lib_error();
        snprintf(path, sizeof path, "%s.%s.labels.npy", a->out, parts[p].part);
        if (rc == CLI_OK) rc = write_labels_npy(path, parts[p].y, parts[p].n);
    }
    snprintf(path, sizeof path, "%s.features.txt", a->out);
    FILE *f = rc == CLI_OK ? fopen(path, "w") : NULL;
    if (rc == CLI_OK && !f) rc = cli_error("%s: cannot create: %s", path, strerror(errno));
    if (f) {
        for (int64_t j = 0; j < k; j++) fprintf(f, "%lld\t%s\n", (long long)keep[j], names[keep[j]]);
        if (fclose(f) != 0) rc = cli_error("%s: write failed: %s", path, strerror(errno));
    }
    free(keep);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------ output */

typedef struct report {
    rank_method method;
    int64_t rows; /* test rows ranked on (shap, permutation) */
    double full_accuracy;
    const double *score;
    const int64_t *order;
    char *const *names;
    const long *ks;
    const double *acc;
    int nk;
    long best_k, kept; /* kept: 0 without --out */
} report;

static void print_text(const select_args *a, const split *s, const report *r)
{
    printf("%s on %lld training samples; %lld test samples, %lld features, %d classes\n",
           !strcmp(a->model, "tree") ? "decision tree" : "random forest", (long long)s->ntr,
           (long long)s->nte, (long long)s->d, (int)s->classes);
    printf("test accuracy with every feature: %.4f\n\n", r->full_accuracy);
    if (r->method == RANK_SHAP)
        printf("ranking by mean |SHAP| over %lld test samples and %d classes:\n",
               (long long)r->rows, (int)s->classes);
    else if (r->method == RANK_PERMUTATION)
        printf("ranking by permutation importance (accuracy drop, %ld shuffles) on %lld test "
               "samples:\n", a->repeats, (long long)r->rows);
    else
        printf("ranking by impurity decrease:\n");
    int w = 7;
    for (int64_t i = 0; i < s->d && i < TOP_SHOWN; i++)
        if ((int)strlen(r->names[r->order[i]]) > w) w = (int)strlen(r->names[r->order[i]]);
    printf("%5s  %-*s  %s\n", "rank", w, "feature", "score");
    for (int64_t i = 0; i < s->d && i < TOP_SHOWN; i++)
        printf("%5lld  %-*s  %.6g\n", (long long)i + 1, w, r->names[r->order[i]],
               r->score[r->order[i]]);
    if (s->d > TOP_SHOWN) printf("  ... %lld more\n", (long long)(s->d - TOP_SHOWN));
    printf("\n%8s  %13s\n", "features", "test accuracy");
    for (int i = 0; i < r->nk; i++) printf("%8ld  %13.4f\n", r->ks[i], r->acc[i]);
    printf("\nbest k: %ld\n", r->best_k);
    if (r->kept)
        printf("wrote %s.train.npy, %s.train.labels.npy, %s.test.npy, %s.test.labels.npy and "
               "%s.features.txt (%ld feature%s)\n", a->out, a->out, a->out, a->out, a->out,
               r->kept, r->kept == 1 ? "" : "s");
}

static void print_json(const select_args *a, const split *s, const report *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", a->model);
    cJSON_AddStringToObject(o, "rank", RANK_NAMES[r->method]);
    cJSON_AddNumberToObject(o, "train_samples", (double)s->ntr);
    cJSON_AddNumberToObject(o, "test_samples", (double)s->nte);
    cJSON_AddNumberToObject(o, "features", (double)s->d);
    cJSON_AddNumberToObject(o, "classes", s->classes);
    if (r->method != RANK_IMPURITY) cJSON_AddNumberToObject(o, "ranked_on", (double)r->rows);
    cli_json_number(o, "full_accuracy", r->full_accuracy);
    cJSON *rank = cJSON_AddArrayToObject(o, "ranking");
    for (int64_t i = 0; i < s->d; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "feature", (double)r->order[i]);
        cJSON_AddStringToObject(e, "name", r->names[r->order[i]]);
        cli_json_number(e, "score", r->score[r->order[i]]);
        cJSON_AddItemToArray(rank, e);
    }
    cJSON *table = cJSON_AddArrayToObject(o, "table");
    for (int i = 0; i < r->nk; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "k", (double)r->ks[i]);
        cli_json_number(e, "accuracy", r->acc[i]);
        cJSON_AddItemToArray(table, e);
    }
    cJSON_AddNumberToObject(o, "best_k", (double)r->best_k);
    if (r->kept) {
        cJSON_AddNumberToObject(o, "kept", (double)r->kept);
        cJSON_AddStringToObject(o, "out", a->out);
    }
    cli_json_print(o);
}

static int draw_plot(const select_args *a, const report *r)
{
    double *x = malloc(sizeof(double) * (size_t)r->nk);
    if (!x) return cli_error("out of memory");
    for (int i = 0; i < r->nk; i++) x[i] = (double)r->ks[i];
    const double *y[1] = {r->acc};
    const char *series[1] = {!strcmp(a->model, "tree") ? "decision tree" : "random forest"};
    char title[256];
    snprintf(title, sizeof title, "test accuracy against features kept (ranked by %s)",
             RANK_NAMES[r->method]);
    lam_status st = lam_plot_lines(a->plot, title, "features kept (k)", "test accuracy", x, y,
                                   series, 1, r->nk);
    free(x);
    if (st != LAM_OK) return cli_error("--plot %s: %s", a->plot, lam_last_error());
    if (!a->json) printf("wrote %s\n", a->plot);
    return CLI_OK;
}

/* ------------------------------------------------------------ command */

static int load_split(const select_args *a, split *s, char ***names)
{
    memset(s, 0, sizeof *s);
    *names = NULL;
    cli_data_options dopt = {.label_column = a->label_column, .no_header = a->no_header,
                             .counts = true};
    lam_dataset *train = NULL, *test = NULL;
    if (cli_load_data(a->data, &dopt, &train, &test) != CLI_OK) return CLI_FAIL;
    if (!lam_dataset_labels(train)) {
        lam_dataset_free(train);
        lam_dataset_free(test);
        return cli_error("%s: select needs class labels (X.npy:Y.npy, a label column, ...)",
                         a->data);
    }
    int rc = cli_hold_out(a->data, a->limit, a->test_limit, &train, &test);
    if (rc == CLI_OK && !lam_dataset_labels(test))
        rc = cli_error("%s: the test split has no labels", a->data);
    if (rc == CLI_OK) {
        s->ntr = lam_dataset_count(train);
        s->nte = lam_dataset_count(test);
        s->d = lam_dataset_sample_size(train);
        s->classes = lam_dataset_num_classes(train);
        if (lam_dataset_num_classes(test) > s->classes) s->classes = lam_dataset_num_classes(test);
        rc = cli_flat_rows(train, &s->xtr, &s->ytr);
    }
    if (rc == CLI_OK) rc = cli_flat_rows(test, &s->xte, &s->yte);
    if (rc == CLI_OK && !(*names = cli_feature_names(a->data, &dopt, train)))
        rc = cli_error("out of memory for the feature names");
    lam_dataset_free(train);
    lam_dataset_free(test);
    return rc;
}

static void split_free(split *s)
{
    free(s->xtr);
    free(s->xte);
    free(s->ytr);
    free(s->yte);
}

static int run(const select_args *a, rank_method method, long *ks, int nk)
{
    split s;
    char **names = NULL;
    fitted m = {0};
    double *score = NULL, *acc = NULL;
    int64_t *order = NULL;
    int rc = load_split(a, &s, &names);
    if (rc == CLI_OK && !ks) rc = default_k_list(s.d, &ks, &nk);
    else if (rc == CLI_OK) rc = resolve_k_list(ks, &nk, s.d);
    if (rc == CLI_OK && a->keep > s.d)
        rc = cli_usage_error("select", "--keep %ld: the data have %lld features", a->keep,
                             (long long)s.d);
    if (rc == CLI_OK) {
        score = malloc(sizeof(double) * (size_t)s.d);
        order = malloc(sizeof(int64_t) * (size_t)s.d);
        acc = malloc(sizeof(double) * (size_t)nk);
        if (!score || !order || !acc) rc = cli_error("out of memory");
    }
    if (!a->json && rc == CLI_OK) fprintf(stderr, "training the %s...\n", a->model);
    if (rc == CLI_OK) rc = fit(a, s.xtr, s.ntr, s.d, s.ytr, &m);
    report r = {.method = method, .score = score, .order = order, .names = names, .ks = ks,
                .acc = acc, .nk = nk};
    if (rc == CLI_OK) rc = accuracy(&m, s.xte, s.nte, s.d, s.yte, &r.full_accuracy);
    r.rows = a->rank_limit > 0 && a->rank_limit < s.nte ? a->rank_limit : s.nte;
    if (!a->json && rc == CLI_OK) fprintf(stderr, "ranking by %s...\n", RANK_NAMES[method]);
    if (rc == CLI_OK) rc = score_features(a, method, &m, &s, r.rows, score);
    if (rc == CLI_OK && a->save_model &&
        (m.tree ? lam_tree_save(m.tree, a->save_model) : lam_forest_save(m.forest, a->save_model)))
        rc = cli_lib_error();
    fitted_free(&m);
    if (rc == CLI_OK) {
        for (int64_t j = 0; j < s.d; j++) order[j] = j;
        sort_scores = score;
        qsort(order, (size_t)s.d, sizeof *order, by_score);
    }
    for (int i = 0; rc == CLI_OK && i < nk; i++) {
        if (ks[i] == s.d) {
            acc[i] = r.full_accuracy; /* the same columns in the same order: the same model */
            continue;
        }
        if (!a->json) fprintf(stderr, "retraining on the top %ld features...\n", ks[i]);
        rc = accuracy_with_top(a, &s, order, ks[i], &acc[i]);
    }
    if (rc == CLI_OK) {
        r.best_k = ks[0];
        double best = acc[0];
        for (int i = 1; i < nk; i++)
            if (acc[i] > best) {
                best = acc[i];
                r.best_k = ks[i];
            }
        if (a->out) {
            r.kept = a->keep > 0 ? a->keep : r.best_k;
            rc = write_reduced(a, &s, order, r.kept, names);
        }
    }
    if (rc == CLI_OK) {
        if (a->json) print_json(a, &s, &r);
        else print_text(a, &s, &r);
        fflush(stdout);
        if (a->plot) rc = draw_plot(a, &r);
    }
    cli_names_free(names, s.d);
    split_free(&s);
    free(score);
    free(order);
    free(acc);
    free(ks);
    return rc;
}

int cmd_select(int argc, char **argv)
{
    select_args a = {.rank = "shap", .model = "forest", .trees = 100, .repeats = 5,
                     .rank_limit = 200, .seed = 42};
    const cli_option opts[] = {
        {"--data", OPT_STR, &a.data, NULL},
        {"--rank", OPT_STR, &a.rank, NULL},
        {"--model", OPT_STR, &a.model, NULL},
        {"--k", OPT_STR, &a.k, NULL},
        {"--out", OPT_STR, &a.out, NULL},
        {"--keep", OPT_INT, &a.keep, NULL},
        {"--plot", OPT_STR, &a.plot, NULL},
        {"--save-model", OPT_STR, &a.save_model, NULL},
        {"--trees", OPT_INT, &a.trees, NULL},
        {"--repeats", OPT_INT, &a.repeats, NULL},
        {"--rank-limit", OPT_INT, &a.rank_limit, NULL},
        {"--limit", OPT_INT, &a.limit, NULL},
        {"--test-limit", OPT_INT, &a.test_limit, NULL},
        {"--seed", OPT_INT, &a.seed, NULL},
        {"--threads", OPT_INT, &a.threads, NULL},
        {"--label-column", OPT_STR, &a.label_column, NULL},
        {"--no-header", OPT_FLAG, &a.no_header, NULL},
        {"--json", OPT_FLAG, &a.json, NULL},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse("select", USAGE, argc, argv, opts, pos, 0, &npos);
    if (rc) return rc;
    if (!a.data) return cli_usage_error("select", "--data is required");
    if (!strncmp(a.data, "text:", 5))
        return cli_usage_error("select", "%s: select needs one class per sample; text:PATH is "
                               "next-token data", a.data);
    int method = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(a.rank, RANK_NAMES[i])) method = i;
    if (method < 0)
        return cli_usage_error("select", "--rank \"%s\": expected shap, permutation or impurity",
                               a.rank);
    if (strcmp(a.model, "forest") != 0 && strcmp(a.model, "tree") != 0)
        return cli_usage_error("select", "--model \"%s\": expected forest or tree", a.model);
    if (a.trees < 1 || a.repeats < 1)
        return cli_usage_error("select", "--trees and --repeats must be >= 1");
    if (a.keep < 0 || a.rank_limit < 0 || a.limit < 0 || a.test_limit < 0 || a.threads < 0 ||
        a.seed < 0)
        return cli_usage_error("select", "--keep, --rank-limit, --limit, --test-limit, --seed "
                               "and --threads must be >= 0");
    if (a.keep > 0 && !a.out) return cli_usage_error("select", "--keep needs --out PREFIX");
    long *ks = NULL;
    int nk = 0;
    if (a.k && (rc = parse_k_list(a.k, &ks, &nk)) != CLI_OK) return rc;
    lam_set_threads((int)a.threads);
    return run(&a, (rank_method)method, ks, nk);
}
