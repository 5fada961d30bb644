/* inputs.c - samples named on the command line: an image fitted to the
 * model's input, or an .npy array of one or more samples. */
#include "cli.h"

#include <stdlib.h>

/* An .npy file: any shape whose element count is a multiple of the input size. */
static int read_npy(const lam_model *m, const char *path, float **out, int64_t *count)
{
    lam_dataset *ds = NULL;
    if (lam_load_npy(path, NULL, &ds) != LAM_OK) return cli_lib_error();
    const int64_t n = lam_dataset_count(ds), size = lam_dataset_sample_size(ds);
    const int64_t in = lam_model_input_size(m), total = n * size;
    int rc = CLI_OK;
    float *x = malloc(sizeof(float) * (size_t)(total > 0 ? total : 1));
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!x || !idx) rc = cli_error("out of memory");
    if (rc == CLI_OK && (total == 0 || total % in != 0)) {
        int64_t s[4];
        char want[96];
        cli_shape_str(want, sizeof want, lam_model_input_shape(m, s), s);
        rc = cli_error("%s: %lld values do not make whole samples of the model's input shape %s "
                       "(%lld values)", path, (long long)total, want, (long long)in);
    }
    for (int64_t i = 0; rc == CLI_OK && i < n; i++) idx[i] = i;
    if (rc == CLI_OK && lam_dataset_gather(ds, idx, n, x, NULL, NULL) != LAM_OK) rc = cli_lib_error();
    free(idx);
    lam_dataset_free(ds);
    if (rc != CLI_OK) {
        free(x);
        return rc;
    }
    *out = x;
    *count = total / in;
    return CLI_OK;
}

static int read_image(const lam_model *m, const char *path, float **out, int64_t *count)
{
    cli_image img;
    if (cli_image_read(path, &img) != CLI_OK) return CLI_FAIL;
    int64_t shape[4];
    int rank = lam_model_input_shape(m, shape);
    float *x = malloc(sizeof(float) * (size_t)lam_model_input_size(m));
    int rc = x ? cli_image_to_input(&img, path, rank, shape, x) : cli_error("out of memory");
    cli_image_free(&img);
    if (rc != CLI_OK) {
        free(x);
        return rc;
    }
    *out = x;
    *count = 1;
    return CLI_OK;
}

int cli_read_inputs(const lam_model *m, const char *path, float **x, int64_t *n)
{
    *x = NULL;
    *n = 0;
    return cli_ends_with(path, ".npy") ? read_npy(m, path, x, n) : read_image(m, path, x, n);
}
