/* cli.h - what the files of the `lamina` command share.
 *
 * The command is a thin client of lamina.h: every model, data and file
 * operation goes through the public API, so the command shows what a user of
 * the library can do. Exit codes: 0 success, 1 a failure (the library's
 * message, or the command's own naming the file), 2 a usage error. */
#ifndef LAMINA_CLI_H
#define LAMINA_CLI_H

#include <lamina.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* ------------------------------------------------------------ args.c */

typedef enum { OPT_FLAG, OPT_INT, OPT_FLOAT, OPT_STR } cli_opt_kind;

/* One option of a subcommand. For OPT_INT the value is a long, OPT_FLOAT a
 * double, OPT_STR a const char *, OPT_FLAG a bool; `seen` (may be NULL) is set
 * when the option is given, so defaults can depend on what the user said. */
typedef struct cli_option {
    const char *name; /* "--epochs" */
    cli_opt_kind kind;
    void *dst;
    bool *seen;
} cli_option;

/* Parses argv[1..argc) (argv[0] is the subcommand) against opts; positional
 * arguments go to pos (at most max_pos). "-h"/"--help" prints usage and
 * returns -1 (the caller exits 0). Returns CLI_OK or CLI_USAGE after printing
 * a one-line hint. Accepts "--name value" and "--name=value". */
int cli_parse(const char *cmd, const char *usage, int argc, char **argv,
              const cli_option *opts, const char **pos, int max_pos, int *npos);

/* Prints "lamina: <lam_last_error()>" and returns CLI_FAIL. */
int cli_lib_error(void);
/* Prints "lamina: <message>" and returns CLI_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "lamina <cmd>: <message>" and a hint to --help; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

bool cli_ends_with(const char *s, const char *suffix);
/* Wall clock in seconds. */
double cli_now(void);
/* "(28, 28, 1)" */
void cli_shape_str(char *buf, size_t n, int rank, const int64_t *shape);

/* ------------------------------------------------------------ data.c */

typedef struct cli_data_options {
    const char *label_column; /* CSV: a name or an index ("0", "-1") */
    bool no_header;           /* CSV without a header row */
    /* Text sources (text:PATH, textcls:DIR). The model's tokenizer (metadata
     * "tokenizer") is used when it has one; else, with store_tokenizer, one is
     * trained as `tokenizer` says ("char" when NULL) and stored in the model;
     * without a model (compare) one is trained and dropped. */
    lam_model *model;
    bool store_tokenizer;
    const char *tokenizer;    /* "char" | "bpe:VOCAB" */
    long block;               /* text: window length (0: the model's input length) */
    long max_len;             /* textcls: tokens per sample (0: the model's input length) */
    bool counts;              /* textcls: token counts per sample (classic models) */
    long min_class_samples;   /* textcls: keep the classes with at least this many samples */
} cli_data_options;

/* The model metadata key where `train` on textcls:DIR keeps the class names,
 * one per line (predict shows them). */
#define CLI_CLASS_NAMES_KEY "class_names"

/* Loads a data source (see `lamina --help`): the training split into *train
 * and, when the source has one, the test split into *test (else NULL).
 * train or test may be NULL when the caller does not want that split. */
int cli_load_data(const char *source, const cli_data_options *opt, lam_dataset **train,
                  lam_dataset **test);
/* Makes ds's per-sample shape the model's input shape when only trailing 1s
 * or a reshape of the same element count separate them; else an error naming
 * both shapes. */
int cli_fit_data_to_model(const lam_model *m, lam_dataset *ds, const char *source);

/* -------------------------------------------------------- features.c */

/* When test is NULL, the last fifth of *train becomes *test (the first four
 * fifths stay *train); then the first limit / test_limit samples (0: all).
 * On error both are freed and NULL. */
int cli_hold_out(const char *source, long limit, long test_limit, lam_dataset **train,
                 lam_dataset **test);
/* The samples as flat float rows (*x: n * sample_size) and labels (*y: n,
 * zeros when ds has none); free both with free(). */
int cli_flat_rows(lam_dataset *ds, float **x, int32_t **y);
/* sample_size names for ds's features: the CSV header's (without the label
 * column) for FILE.csv with a header, "pixel (r, c)" ("pixel (r, c, ch)")
 * for (H, W, C) samples, else "x[i]". NULL when out of memory. */
char **cli_feature_names(const char *source, const cli_data_options *opt, lam_dataset *ds);
void cli_names_free(char **names, int64_t n);

/* ----------------------------------------------------------- model.c */

/* Opens a model: a Keras JSON spec (*.json) or a saved lamina file. */
int cli_open_model(const char *path, lam_model **out);
/* Adds the seed's CNN (cnn) or stacked LSTM to an empty model. */
lam_status cli_build_seed(lam_model *m, bool cnn, int64_t H, int64_t W, int classes);
bool cli_is_spec(const char *path);

/* ------------------------------------------------------------- key.c */

/* The key for encrypted model files from LAMINA_KEY_FILE or LAMINA_KEY;
 * *out is NULL when neither is set. An unreadable or malformed key, or both
 * variables set, is an error. */
int cli_env_key(lam_key **out);
/* lam_model_save, or lam_model_save_encrypted when key is not NULL. */
int cli_save_model(const lam_model *m, const char *path, const lam_key *key);

/* ------------------------------------------------------- json_out.c */

struct cJSON;
/* Prints obj as one line on stdout and frees it. */
void cli_json_print(struct cJSON *obj);
/* Adds a number rounded to significant digits that survive a float round
 * trip; non-finite values become null (JSON has no NaN). */
void cli_json_number(struct cJSON *obj, const char *key, double v);

/* ---------------------------------------------------------- image.c */

/* An image as floats in [0, 1], row-major HWC. */
typedef struct cli_image {
    int width, height, channels; /* channels 1 (gray) or 3 (RGB) */
    float *pixels;
} cli_image;
/* Reads a PNG (libpng) or a PGM (P5/P2) by its contents. */
int cli_image_read(const char *path, cli_image *out);
void cli_image_free(cli_image *img);
/* Fits an image to a model input of rank 2 (H, W) or 3 (H, W, C): converts
 * the channels (RGB -> gray by ITU-R 601 luma, gray -> RGB by copy), resizes
 * bilinearly when H, W differ. out: H*W*C floats. Rejects other ranks or
 * channel counts with a message naming the file. */
int cli_image_to_input(const cli_image *img, const char *path, int rank, const int64_t *shape,
                       float *out);
/* Bilinear resize with half-pixel centres (as PIL and tf.image.resize). */
void cli_resize_bilinear(const float *src, int sh, int sw, int c, float *dst, int dh, int dw);

/* ---------------------------------------------------------- inputs.c */

/* The samples of an input file for m: an image (PNG, PGM; one sample fitted
 * to the input shape as cli_image_to_input does) or an .npy array whose
 * element count is a multiple of the input size. *x: *n samples (free()). */
int cli_read_inputs(const lam_model *m, const char *path, float **x, int64_t *n);

/* ---------------------------------------------------------- labels.c */

/* Class names: names[k] for k < count (count 0: indices only). */
typedef struct cli_labels {
    char **names;
    int count;
    char *text; /* backing store of a labels file */
} cli_labels;
/* --labels SPEC (fashion-mnist, or a file with one name per line), else the
 * class names a text classifier keeps in its metadata, else none. */
int cli_labels_load(const char *spec, const lam_model *m, cli_labels *l);
void cli_labels_free(cli_labels *l);
/* names[k], or NULL when there is none. */
const char *cli_label(const cli_labels *l, int64_t k);

/* ---------------------------------------------------- subcommands */

int cmd_train(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_select(int argc, char **argv);
int cmd_surrogate(int argc, char **argv);
int cmd_privacy(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_desensitize(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_plot(int argc, char **argv);

/* Fashion-MNIST class names, index 0..9. */
extern const char *const cli_fashion_mnist_labels[10];

#endif
