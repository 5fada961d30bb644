/* data.c - the --data sources of the command, all read through lamina.h:
 *
 *   fashion-mnist       lam_load_fashion_mnist ($LAMINA_DATA or the Debian folder)
 *   DIR                 a folder of IDX files: train-images-idx3-ubyte[.gz],
 *                       train-labels-idx1-ubyte[.gz], optionally t10k-* (the test split)
 *   FILE.csv            lam_load_csv (--label-column NAME|INDEX, --no-header)
 *   X.npy[:Y.npy]       lam_open_npy, labels from the second file; mapped from 64 MiB on
 *   'X_*.npy[:Y_*.npy]' lam_open_npy_shards over the files matching the glob patterns,
 *                       sorted (docs/STREAMING.md)
 *   FILE.libsvm|.svm|.txt  lam_load_libsvm
 *   text:PATH           lam_load_text, a tokenizer, lam_lm_split: windows of --block ids with
 *                       next-token labels; the last 10% of the tokens are the test split
 *   textcls:DIR         lam_load_textcls (--min-class-samples N: the classes with at least N),
 *                       a tokenizer, lam_textcls_dataset (--max-len ids per sample) or
 *                       lam_textcls_counts (compare's classic models)
 */
#include "cli.h"

#include <glob.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* dir/base, or dir/base.gz when only the compressed file is there. */
static bool idx_path(const char *dir, const char *base, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", dir, base);
    if (exists(buf)) return true;
    snprintf(buf, n, "%s/%s.gz", dir, base);
    return exists(buf);
}

static int load_idx_pair(const char *dir, const char *prefix, bool required, lam_dataset **out)
{
    char images[4096], labels[4096], base[64];
    snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
    bool has_images = idx_path(dir, base, images, sizeof images);
    snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
    bool has_labels = idx_path(dir, base, labels, sizeof labels);
    if (!has_images || !has_labels) {
        if (!required) return CLI_OK;
        return cli_error("%s: no %s-images-idx3-ubyte[.gz] and %s-labels-idx1-ubyte[.gz] in "
                         "this folder", dir, prefix, prefix);
    }
    return lam_open_idx(images, labels, LAM_STORAGE_AUTO, out) == LAM_OK ? CLI_OK
                                                                          : cli_lib_error();
}

static int load_idx_dir(const char *dir, lam_dataset **train, lam_dataset **test)
{
    if (train && load_idx_pair(dir, "train", true, train) != CLI_OK) return CLI_FAIL;
    if (test && load_idx_pair(dir, "t10k", false, test) != CLI_OK) return CLI_FAIL;
    return CLI_OK;
}

/* "NAME" or an integer index ("2", "-1" = last). */
static void csv_label_column(const char *spec, lam_csv_options *o)
{
    char *end;
    long v = strtol(spec, &end, 10);
    if (*spec && !*end) {
        o->label_index = (int)v;
        o->label_column = NULL;
    } else {
        o->label_column = spec;
    }
}

/* A glob pattern: '*', '?' or '[' in the name. */
static bool is_pattern(const char *path) { return strpbrk(path, "*?[") != NULL; }

/* Files matching pattern, sorted (glob's order: strcoll of the names). */
static int glob_files(const char *pattern, glob_t *g)
{
    int e = glob(pattern, GLOB_ERR, NULL, g);
    if (e == GLOB_NOMATCH) return cli_error("%s: no file matches this pattern", pattern);
    if (e != 0) return cli_error("%s: cannot list the files of this pattern", pattern);
    return CLI_OK;
}

/* X_PATTERN[:Y_PATTERN]: one data set over the matching files, mapped, in
 * sorted order; the i-th y file holds the labels of the i-th x file. */
static int load_npy_shards(const char *x, const char *y, lam_dataset **out)
{
    glob_t gx = {0}, gy = {0};
    int rc = glob_files(x, &gx);
    if (rc == CLI_OK && y) rc = glob_files(y, &gy);
    if (rc == CLI_OK && y && gx.gl_pathc != gy.gl_pathc)
        rc = cli_error("%s matches %zu files but %s matches %zu: every x shard needs its y "
                       "shard", x, (size_t)gx.gl_pathc, y, (size_t)gy.gl_pathc);
    if (rc == CLI_OK && gx.gl_pathc > INT32_MAX) rc = cli_error("%s: too many files", x);
    if (rc == CLI_OK &&
        lam_open_npy_shards((int)gx.gl_pathc, (const char *const *)gx.gl_pathv,
                            y ? (const char *const *)gy.gl_pathv : NULL, out) != LAM_OK)
        rc = cli_lib_error();
    if (gx.gl_pathv) globfree(&gx);
    if (gy.gl_pathv) globfree(&gy);
    return rc;
}

static int load_npy(const char *source, lam_dataset **out)
{
    /* X.npy:Y.npy; a ':' is only a separator after ".npy" so that paths with
     * colons still load. Large files are mapped (LAM_STORAGE_AUTO). */
    const char *sep = strstr(source, ".npy:");
    if (!sep) {
        if (is_pattern(source)) return load_npy_shards(source, NULL, out);
        return lam_open_npy(source, NULL, LAM_STORAGE_AUTO, out) == LAM_OK ? CLI_OK
                                                                            : cli_lib_error();
    }
    size_t n = (size_t)(sep - source) + 4;
    char *x = malloc(n + 1);
    if (!x) return cli_error("out of memory");
    memcpy(x, source, n);
    x[n] = '\0';
    int rc;
    if (is_pattern(x) || is_pattern(sep + 5)) rc = load_npy_shards(x, sep + 5, out);
    else rc = lam_open_npy(x, sep + 5, LAM_STORAGE_AUTO, out) == LAM_OK ? CLI_OK
                                                                        : cli_lib_error();
    free(x);
    return rc;
}

/* ------------------------------------------------------------------ text */

#define TEXT_VAL_FRACTION 0.1 /* nanoGPT's split: the last 10% of the tokens */
#define TEXTCLS_ORDER_SEED 42 /* a fixed sample order, so every class reaches the last fraction */

/* Length of the model's rank-1 input, for --block / --max-len defaults (0: none). */
static long model_sequence_length(const lam_model *m)
{
    int64_t shape[4];
    return m && lam_model_input_shape(m, shape) == 1 ? (long)shape[0] : 0;
}

/* The model's tokenizer, or one trained on text (stored in the model when asked). */
static int text_tokenizer(const cli_data_options *opt, const char *source, const char *text,
                          size_t len, lam_tokenizer **out)
{
    lam_model *m = opt->model;
    if (m && lam_model_tokenizer(m, out) != LAM_OK) return cli_lib_error();
    if (*out) {
        if (opt->tokenizer)
            fprintf(stderr, "lamina: model \"%s\" has a tokenizer (%d tokens); --tokenizer %s "
                    "is not used\n", lam_model_name(m), lam_tokenizer_vocab_size(*out),
                    opt->tokenizer);
        return CLI_OK;
    }
    if (m && !opt->store_tokenizer)
        return cli_error("%s: model \"%s\" has no tokenizer (metadata \"%s\"); train it on a "
                         "text source first", source, lam_model_name(m), LAM_TOKENIZER_METADATA_KEY);
    lam_tokenizer_kind kind;
    int vocab;
    if (lam_tokenizer_parse(opt->tokenizer ? opt->tokenizer : "char", &kind, &vocab) != LAM_OK)
        return cli_lib_error();
    if (lam_tokenizer_train(kind, vocab, text, len, out) != LAM_OK)
        return cli_error("%s: %s", source, lam_last_error());
    fprintf(stderr, "lamina: %s tokenizer trained on %s: %d tokens\n",
            kind == LAM_TOKENIZER_CHAR ? "char" : "BPE", source, lam_tokenizer_vocab_size(*out));
    if (m && lam_model_set_tokenizer(m, *out) != LAM_OK) return cli_lib_error();
    return CLI_OK;
}

/* The model must take ids up to max_id (its Embedding's input_dim) and give at
 * least `outputs` classes: say so here rather than fail in the middle of fit. */
static int check_model_fits(const lam_model *m, int64_t max_id, int64_t outputs, const char *source,
                            const char *what)
{
    if (!m) return CLI_OK;
    for (int i = 0; i < lam_model_num_layers(m); i++) {
        const lam_layer_spec *sp = lam_model_layer(m, i);
        const bool embeds = sp->kind == LAM_LAYER_EMBEDDING ||
                            sp->kind == LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING;
        if (embeds && sp->input_dim <= max_id)
            return cli_error("%s: ids reach %lld (%s), but layer \"%s\" of model \"%s\" has "
                             "input_dim %d: it needs at least %lld", source, (long long)max_id,
                             what, sp->name, lam_model_name(m), sp->input_dim,
                             (long long)max_id + 1);
    }
    int64_t shape[4];
    int rank = lam_model_output_shape(m, 0, shape);
    if (rank > 0 && shape[rank - 1] < outputs)
        return cli_error("%s: %lld classes to predict (%s), but model \"%s\" gives %lld per "
                         "position", source, (long long)outputs, what, lam_model_name(m),
                         (long long)shape[rank - 1]);
    return CLI_OK;
}

/* text:PATH - the first 90% of the tokens train, the last 10% test. */
static int load_text_source(const char *path, const cli_data_options *opt, lam_dataset **train,
                            lam_dataset **test)
{
    long block = opt->block ? opt->block : model_sequence_length(opt->model);
    if (block < 1) return cli_error("text:%s: give --block T (the window length)", path);
    char *text = NULL;
    size_t len = 0;
    if (lam_load_text(path, &text, &len) != LAM_OK) return cli_lib_error();
    lam_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    int64_t n = 0;
    int rc = text_tokenizer(opt, path, text, len, &tok);
    if (rc == CLI_OK && lam_tokenizer_encode(tok, text, len, &ids, &n) != LAM_OK)
        rc = cli_error("%s: %s", path, lam_last_error());
    free(text);
    if (rc == CLI_OK) {
        const int v = lam_tokenizer_vocab_size(tok);
        char what[64];
        snprintf(what, sizeof what, "a vocabulary of %d tokens", v);
        rc = check_model_fits(opt->model, v - 1, v, path, what);
    }
    lam_dataset *tr = NULL, *te = NULL;
    if (rc == CLI_OK && lam_lm_split(ids, n, block, TEXT_VAL_FRACTION, &tr, &te) != LAM_OK)
        rc = cli_error("%s: %s", path, lam_last_error());
    free(ids);
    lam_tokenizer_free(tok);
    if (rc != CLI_OK) return rc;
    if (train) *train = tr;
    else lam_dataset_free(tr);
    if (test) *test = te;
    else lam_dataset_free(te);
    return CLI_OK;
}

/* The class names, one per line, for predict to show. */
static int store_class_names(lam_model *m, const lam_text_samples *s)
{
    size_t n = 1;
    for (int k = 0; k < lam_text_samples_num_classes(s); k++)
        n += strlen(lam_text_samples_class_name(s, k)) + 1;
    char *names = malloc(n), *p = names;
    if (!names) return cli_error("out of memory");
    for (int k = 0; k < lam_text_samples_num_classes(s); k++)
        p += sprintf(p, "%s\n", lam_text_samples_class_name(s, k));
    *p = '\0';
    lam_status st = lam_model_set_metadata(m, CLI_CLASS_NAMES_KEY, names);
    free(names);
    return st == LAM_OK ? CLI_OK : cli_lib_error();
}

/* A model trained on textcls data knows its classes: the data must number them the
 * same way, else its labels would mean other classes. */
static int check_class_names(const lam_model *m, const lam_text_samples *s, const char *dir)
{
    const char *names = lam_model_metadata(m, CLI_CLASS_NAMES_KEY);
    if (!names) return CLI_OK;
    const int n = lam_text_samples_num_classes(s);
    int k = 0;
    for (const char *p = names; *p; k++) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *have = lam_text_samples_class_name(s, k);
        if (!have || strlen(have) != len || memcmp(have, p, len) != 0)
            return cli_error("textcls:%s: class %d is \"%s\" here but \"%.*s\" in model \"%s\" "
                             "(metadata %s): the classes must be the ones it was trained on "
                             "(the same folder and --min-class-samples)", dir, k,
                             have ? have : "(none)", (int)len, p, lam_model_name(m),
                             CLI_CLASS_NAMES_KEY);
        p = e ? e + 1 : p + len;
    }
    if (k != n)
        return cli_error("textcls:%s: %d classes here, %d in model \"%s\" (metadata %s): the "
                         "classes must be the ones it was trained on (the same folder and "
                         "--min-class-samples)", dir, n, k, lam_model_name(m), CLI_CLASS_NAMES_KEY);
    return CLI_OK;
}

/* textcls:DIR - one split: token ids (or counts) and class labels. */
static int load_textcls_source(const char *dir, const cli_data_options *opt, lam_dataset **out)
{
    long max_len = opt->max_len ? opt->max_len : model_sequence_length(opt->model);
    if (!opt->counts && max_len < 1)
        return cli_error("textcls:%s: give --max-len N (tokens per sample)", dir);
    lam_text_samples *s = NULL;
    if (lam_load_textcls(dir, &s) != LAM_OK) return cli_lib_error();
    int rc = CLI_OK;
    if (opt->min_class_samples > 0) {
        const int before = lam_text_samples_num_classes(s);
        if (lam_text_samples_drop_small_classes(s, opt->min_class_samples) != LAM_OK)
            rc = cli_error("textcls:%s: %s", dir, lam_last_error());
        else
            fprintf(stderr, "lamina: textcls:%s: %d of %d classes have at least %ld samples "
                    "(%lld samples); the others are left out\n", dir,
                    lam_text_samples_num_classes(s), before, opt->min_class_samples,
                    (long long)lam_text_samples_count(s));
    }
    /* After the classes are chosen: the order depends on the samples kept. */
    lam_text_samples_shuffle(s, TEXTCLS_ORDER_SEED);
    lam_tokenizer *tok = NULL;
    if (rc == CLI_OK && opt->model) rc = check_class_names(opt->model, s, dir);
    /* The samples are joined only when a tokenizer is to be trained on them. */
    const bool model_tokenizer = opt->model && (lam_model_metadata(opt->model,
                                                                  LAM_TOKENIZER_METADATA_KEY) ||
                                                !opt->store_tokenizer);
    if (rc == CLI_OK && model_tokenizer) {
        rc = text_tokenizer(opt, dir, NULL, 0, &tok);
    } else if (rc == CLI_OK) {
        char *text = NULL;
        size_t len = 0;
        if (lam_text_samples_join(s, &text, &len) != LAM_OK) rc = cli_lib_error();
        if (rc == CLI_OK) rc = text_tokenizer(opt, dir, text, len, &tok);
        free(text);
    }
    if (rc == CLI_OK && !opt->counts) {
        const int v = lam_tokenizer_vocab_size(tok);
        char what[96];
        snprintf(what, sizeof what, "a vocabulary of %d tokens + 1 for padding", v);
        rc = check_model_fits(opt->model, v, lam_text_samples_num_classes(s), dir, what);
    }
    if (rc == CLI_OK && opt->model && opt->store_tokenizer) rc = store_class_names(opt->model, s);
    if (rc == CLI_OK) {
        lam_status st = opt->counts ? lam_textcls_counts(s, tok, out)
                                    : lam_textcls_dataset(s, tok, max_len, out);
        if (st != LAM_OK) rc = cli_lib_error();
    }
    lam_tokenizer_free(tok);
    lam_text_samples_free(s);
    return rc;
}

/* Sources with a single split: the one split serves as training data; a
 * caller asking only for the test split (evaluate, predict) gets it too. */
static int load_single(const char *source, const cli_data_options *opt, lam_dataset **out)
{
    lam_status st;
    if (cli_ends_with(source, ".csv")) {
        lam_csv_options o = lam_csv_defaults();
        if (opt && opt->no_header) o.header = false;
        if (opt && opt->label_column) csv_label_column(opt->label_column, &o);
        st = lam_load_csv(source, &o, out);
    } else if (cli_ends_with(source, ".npy") || strstr(source, ".npy:")) {
        return load_npy(source, out);
    } else if (cli_ends_with(source, ".libsvm") || cli_ends_with(source, ".svm") ||
               cli_ends_with(source, ".txt")) {
        st = lam_load_libsvm(source, 0, out);
    } else {
        return cli_error("%s: unknown data source; expected fashion-mnist, a folder of IDX "
                         "files, FILE.csv, X.npy[:Y.npy], FILE.libsvm|.svm|.txt, text:PATH or "
                         "textcls:DIR", source);
    }
    return st == LAM_OK ? CLI_OK : cli_lib_error();
}

int cli_load_data(const char *source, const cli_data_options *opt, lam_dataset **train,
                  lam_dataset **test)
{
    if (train) *train = NULL;
    if (test) *test = NULL;
    const cli_data_options none = {0};
    if (!opt) opt = &none;
    int rc;
    if (!strncmp(source, "text:", 5)) {
        rc = load_text_source(source + 5, opt, train, test);
    } else if (!strncmp(source, "textcls:", 8)) {
        /* One split: the training data, or what a test-only caller evaluates. */
        rc = load_textcls_source(source + 8, opt, train ? train : test);
    } else if (!strcmp(source, "fashion-mnist")) {
        const char *dir = getenv("LAMINA_DATA"); /* NULL: the Debian package's folder */
        if (train && lam_load_fashion_mnist(dir, true, train) != LAM_OK) return cli_lib_error();
        if (test && lam_load_fashion_mnist(dir, false, test) != LAM_OK) rc = cli_lib_error();
        else rc = CLI_OK;
    } else if (is_dir(source)) {
        rc = load_idx_dir(source, train, test);
    } else {
        if (!train) return load_single(source, opt, test);
        rc = load_single(source, opt, train);
    }
    if (rc != CLI_OK && train) {
        lam_dataset_free(*train);
        *train = NULL;
    }
    return rc;
}

/* Drops trailing 1s: (28, 28, 1) and (28, 28) are the same sample. */
static int squeeze(int rank, const int64_t *shape)
{
    while (rank > 1 && shape[rank - 1] == 1) rank--;
    return rank;
}

int cli_fit_data_to_model(const lam_model *m, lam_dataset *ds, const char *source)
{
    int64_t ms[4], ds_shape[4];
    int mr = lam_model_input_shape(m, ms);
    int dr = lam_dataset_shape(ds, ds_shape);
    int a = squeeze(mr, ms), b = squeeze(dr, ds_shape);
    bool same = a == b;
    for (int i = 0; same && i < a; i++) same = ms[i] == ds_shape[i];
    if (same) return CLI_OK;
    if (lam_dataset_sample_size(ds) == lam_model_input_size(m))
        return lam_dataset_reshape(ds, mr, ms) == LAM_OK ? CLI_OK : cli_lib_error();
    char want[96], have[96];
    cli_shape_str(want, sizeof want, mr, ms);
    cli_shape_str(have, sizeof have, dr, ds_shape);
    return cli_error("%s: samples have shape %s (%lld values) but model \"%s\" takes inputs of "
                     "shape %s (%lld values)", source, have,
                     (long long)lam_dataset_sample_size(ds), lam_model_name(m), want,
                     (long long)lam_model_input_size(m));
}
