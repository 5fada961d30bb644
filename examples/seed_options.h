/* seed_options.h - what the two seed programs share besides their models:
 * their command-line options and the Fashion-MNIST loading. */
#ifndef SEED_OPTIONS_H
#define SEED_OPTIONS_H

#include <lamina.h>

#include <stdlib.h>
#include <string.h>

/* Prints the library's message and leaves main with status 1. */
#define CHECK(call)                                                        \
    do {                                                                   \
        if ((call) != LAM_OK) {                                            \
            fprintf(stderr, "%s: %s\n", seed_program, lam_last_error());    \
            return 1;                                                      \
        }                                                                  \
    } while (0)

static const char *seed_program = "seed";

typedef struct seed_options {
    long epochs, limit, batch, seed, threads, verbose;
    const char *data; /* NULL: $LAMINA_DATA or the Debian package's folder */
} seed_options;

/* Reads one non-negative integer option value; returns -1 on a bad one. */
static long seed_arg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", seed_program, argv[*i]);
        return -1;
    }
    char *end;
    long v = strtol(argv[++*i], &end, 10);
    if (*end || v < 0) {
        fprintf(stderr, "%s: %s: \"%s\" is not a non-negative integer\n", seed_program,
                argv[*i - 1], argv[*i]);
        return -1;
    }
    return v;
}

/* Returns from the calling function with the status of a failed call. */
#define LAM_TRY_EXAMPLE(call)                                              \
    do {                                                                   \
        lam_status try_s_ = (call);                                        \
        if (try_s_ != LAM_OK) return try_s_;                               \
    } while (0)

/* The given epochs and batch size unless overridden. Returns 0, or 2 on a
 * usage error (already reported). */
static int seed_parse_defaults(int argc, char **argv, seed_options *o, long epochs, long batch)
{
    *o = (seed_options){.epochs = epochs, .batch = batch, .seed = 42, .verbose = 1,
                        .data = getenv("LAMINA_DATA")};
    for (int i = 1; i < argc; i++) {
        long *dst = !strcmp(argv[i], "--epochs")       ? &o->epochs
                    : !strcmp(argv[i], "--limit")      ? &o->limit
                    : !strcmp(argv[i], "--batch-size") ? &o->batch
                    : !strcmp(argv[i], "--seed")       ? &o->seed
                    : !strcmp(argv[i], "--threads")    ? &o->threads
                    : !strcmp(argv[i], "--verbose")    ? &o->verbose
                                                       : NULL;
        if (dst) {
            if ((*dst = seed_arg(argc, argv, &i)) < 0) return 2;
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            o->data = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--epochs N] [--limit N] [--batch-size N] [--seed N] "
                            "[--threads N] [--verbose 0|1|2] [--data DIR]\n", seed_program);
            return 2;
        }
    }
    if (o->batch < 1) {
        fprintf(stderr, "%s: --batch-size must be at least 1\n", seed_program);
        return 2;
    }
    lam_set_threads((int)o->threads);
    return 0;
}

/* The seed's own settings: epochs=10, batch_size=32. */
static inline int seed_parse(int argc, char **argv, seed_options *o)
{
    return seed_parse_defaults(argc, argv, o, 10, 32);
}

/* Fashion-MNIST's training set (its first --limit images) and test set. */
static lam_status seed_load(const seed_options *o, lam_dataset **train, lam_dataset **test)
{
    lam_status s = lam_load_fashion_mnist(o->data, true, train);
    if (s == LAM_OK) s = lam_load_fashion_mnist(o->data, false, test);
    if (s == LAM_OK && o->limit > 0 && o->limit < lam_dataset_count(*train))
        s = lam_dataset_truncate(*train, o->limit);
    return s;
}

/* model.fit(x_train, y_train, epochs, batch_size), then model.evaluate on
 * the test set; prints the test figures, the accuracy last. */
static lam_status seed_fit_evaluate(lam_model *model, const lam_dataset *train,
                                    const lam_dataset *test, const seed_options *o)
{
    lam_fit_options fit = lam_fit_defaults();
    fit.epochs = (int)o->epochs;
    fit.batch_size = (int)o->batch;
    fit.verbose = (int)o->verbose;
    lam_status s = lam_fit(model, train, &fit, NULL);
    lam_eval_result res;
    if (s == LAM_OK) s = lam_evaluate(model, test, (int)o->batch, (int)o->verbose, &res);
    if (s != LAM_OK) return s;
    printf("test loss: %.4f\n", res.loss);
    printf("test accuracy: %.4f\n", res.accuracy);
    return LAM_OK;
}

#endif
