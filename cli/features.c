/* features.c - what `select` and `surrogate` share about tabular views of a
 * data source: a held-out split, the samples as flat float rows, and names
 * for the features (CSV header names, "pixel (r, c)" for images, else
 * "x[i]"). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_hold_out(const char *source, long limit, long test_limit, lam_dataset **train,
                 lam_dataset **test)
{
    int rc = CLI_OK;
    if (!*test) {
        lam_dataset *all = *train;
        *train = NULL;
        int64_t n = lam_dataset_count(all), ntr = n - n / 5;
        if (ntr < 1 || ntr >= n)
            rc = cli_error("%s: too few samples (%lld) to hold out a fifth for testing", source,
                           (long long)n);
        else if (lam_dataset_slice(all, 0, ntr, train) != LAM_OK ||
                 lam_dataset_slice(all, ntr, n - ntr, test) != LAM_OK)
            rc = cli_lib_error();
        lam_dataset_free(all);
    }
    if (rc == CLI_OK && limit > 0 && limit < lam_dataset_count(*train) &&
        lam_dataset_truncate(*train, limit) != LAM_OK)
        rc = cli_lib_error();
    if (rc == CLI_OK && test_limit > 0 && test_limit < lam_dataset_count(*test) &&
        lam_dataset_truncate(*test, test_limit) != LAM_OK)
        rc = cli_lib_error();
    if (rc == CLI_OK && lam_dataset_sample_size(*test) != lam_dataset_sample_size(*train))
        rc = cli_error("%s: training samples have %lld values, test samples %lld", source,
                       (long long)lam_dataset_sample_size(*train),
                       (long long)lam_dataset_sample_size(*test));
    if (rc != CLI_OK) {
        lam_dataset_free(*train);
        lam_dataset_free(*test);
        *train = *test = NULL;
    }
    return rc;
}

int cli_flat_rows(lam_dataset *ds, float **x, int32_t **y)
{
    const int64_t n = lam_dataset_count(ds), d = lam_dataset_sample_size(ds);
    *x = malloc(sizeof(float) * (size_t)(n * d > 0 ? n * d : 1));
    *y = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    if (!*x || !*y) {
        free(*x);
        free(*y);
        *x = NULL;
        *y = NULL;
        return cli_error("out of memory for %lld samples of %lld values", (long long)n,
                         (long long)d);
    }
    if (lam_dataset_gather(ds, NULL, n, *x, lam_dataset_labels(ds) ? *y : NULL, NULL) != LAM_OK)
        return cli_lib_error();
    if (!lam_dataset_labels(ds)) memset(*y, 0, sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    return CLI_OK;
}

/* ------------------------------------------------------------ names */

/* The CSV's header fields (unquoted, trimmed), or NULL when it has none that
 * can be read. *count: how many. */
static char **csv_header(const char *path, int *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char line[65536];
    char *got;
    do {
        got = fgets(line, sizeof line, f);
    } while (got && strspn(line, " \t\r\n") == strlen(line));
    fclose(f);
    if (!got) return NULL;
    char *p = line;
    if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        p += 3; /* UTF-8 byte-order mark */
    int cap = 16, n = 0;
    char **names = malloc(sizeof(char *) * (size_t)cap);
    if (!names) return NULL;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        char field[1024];
        size_t len = 0;
        if (*p == '"') {
            for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
                if (*p == '"') p++; /* "" is one quote */
                if (len + 1 < sizeof field) field[len++] = *p;
            }
            if (*p == '"') p++;
            while (*p && *p != ',' && *p != '\n' && *p != '\r') p++;
        } else {
            for (; *p && *p != ',' && *p != '\n' && *p != '\r'; p++)
                if (len + 1 < sizeof field) field[len++] = *p;
            while (len > 0 && (field[len - 1] == ' ' || field[len - 1] == '\t')) len--;
        }
        field[len] = '\0';
        if (n == cap) {
            char **more = realloc(names, sizeof(char *) * (size_t)(cap *= 2));
            if (!more) break;
            names = more;
        }
        if (!(names[n] = strdup(field))) break;
        n++;
        if (*p != ',') break;
        p++;
    }
    *count = n;
    return names;
}

/* Feature names of a CSV: the header without the label column (chosen as
 * lam_load_csv chooses it); NULL when the header does not give d of them. */
static char **csv_feature_names(const char *path, const cli_data_options *opt, int64_t d)
{
    if (opt && opt->no_header) return NULL;
    int ncols = 0;
    char **cols = csv_header(path, &ncols);
    if (!cols) return NULL;
    int label = 0;
    const char *spec = opt ? opt->label_column : NULL;
    if (spec) {
        char *end;
        long v = strtol(spec, &end, 10);
        if (*spec && !*end) {
            label = v == -1 ? ncols - 1 : (int)v;
        } else {
            label = -1;
            for (int i = 0; i < ncols; i++)
                if (!strcmp(cols[i], spec)) label = i;
        }
    }
    char **names = NULL;
    if (label >= 0 && label < ncols && ncols - 1 == d && (names = malloc(sizeof(char *) * (size_t)d))) {
        int64_t j = 0;
        for (int i = 0; i < ncols; i++) {
            if (i == label) free(cols[i]);
            else names[j++] = cols[i];
        }
    } else {
        for (int i = 0; i < ncols; i++) free(cols[i]);
    }
    free(cols);
    return names;
}

char **cli_feature_names(const char *source, const cli_data_options *opt, lam_dataset *ds)
{
    const int64_t d = lam_dataset_sample_size(ds);
    if (cli_ends_with(source, ".csv")) {
        char **names = csv_feature_names(source, opt, d);
        if (names) return names;
    }
    char **names = calloc((size_t)d, sizeof(char *));
    if (!names) return NULL;
    int64_t shape[4];
    const int rank = lam_dataset_shape(ds, shape);
    const bool image = rank == 3; /* (H, W, C): IDX folders give (H, W, 1) */
    for (int64_t i = 0; i < d; i++) {
        char buf[64];
        if (image && shape[2] == 1)
            snprintf(buf, sizeof buf, "pixel (%lld, %lld)", (long long)(i / shape[1]),
                     (long long)(i % shape[1]));
        else if (image)
            snprintf(buf, sizeof buf, "pixel (%lld, %lld, %lld)",
                     (long long)(i / (shape[1] * shape[2])),
                     (long long)(i / shape[2] % shape[1]), (long long)(i % shape[2]));
        else
            snprintf(buf, sizeof buf, "x[%lld]", (long long)i);
        if (!(names[i] = strdup(buf))) {
            cli_names_free(names, i);
            return NULL;
        }
    }
    return names;
}

void cli_names_free(char **names, int64_t n)
{
    if (!names) return;
    for (int64_t i = 0; i < n; i++) free(names[i]);
    free(names);
}
