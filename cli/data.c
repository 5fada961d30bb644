/* data.c - the --data sources of the command, all read through lamina.h:
 *
 *   fashion-mnist       lam_load_fashion_mnist ($LAMINA_DATA or the Debian folder)
 *   DIR                 a folder of IDX files: train-images-idx3-ubyte[.gz],
 *                       train-labels-idx1-ubyte[.gz], optionally t10k-* (the test split)
 *   FILE.csv            lam_load_csv (--label-column NAME|INDEX, --no-header)
 *   X.npy[:Y.npy]       lam_load_npy, labels from the second file
 *   FILE.libsvm|.svm|.txt  lam_load_libsvm
 */
#include "cli.h"

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
    return lam_load_idx(images, labels, out) == LAM_OK ? CLI_OK : cli_lib_error();
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

static int load_npy(const char *source, lam_dataset **out)
{
    /* X.npy:Y.npy; a ':' is only a separator after ".npy" so that paths with
     * colons still load. */
    const char *sep = strstr(source, ".npy:");
    if (!sep) return lam_load_npy(source, NULL, out) == LAM_OK ? CLI_OK : cli_lib_error();
    size_t n = (size_t)(sep - source) + 4;
    char *x = malloc(n + 1);
    if (!x) return cli_error("out of memory");
    memcpy(x, source, n);
    x[n] = '\0';
    lam_status st = lam_load_npy(x, sep + 5, out);
    free(x);
    return st == LAM_OK ? CLI_OK : cli_lib_error();
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
                         "files, FILE.csv, X.npy[:Y.npy] or FILE.libsvm|.svm|.txt", source);
    }
    return st == LAM_OK ? CLI_OK : cli_lib_error();
}

int cli_load_data(const char *source, const cli_data_options *opt, lam_dataset **train,
                  lam_dataset **test)
{
    if (train) *train = NULL;
    if (test) *test = NULL;
    int rc;
    if (!strcmp(source, "fashion-mnist")) {
        if (train && lam_load_fashion_mnist(NULL, true, train) != LAM_OK) return cli_lib_error();
        if (test && lam_load_fashion_mnist(NULL, false, test) != LAM_OK) rc = cli_lib_error();
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
