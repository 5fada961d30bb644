/* seed_lstm.c - the seed's second Keras program (the LSTM), line for line, in C:
 *
 *   model = Sequential()
 *   model.add(LSTM(64, return_sequences=True, input_shape=(28, 28)))
 *   model.add(LSTM(64, return_sequences=True))
 *   model.add(LSTM(64))
 *   model.add(Dense(10, activation='softmax'))
 *   model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
 *   model.fit(x_train, y_train, epochs=10, batch_size=32)
 *
 * on Fashion-MNIST with each image read as 28 timesteps of 28 features (one
 * pixel row per step), then evaluates on the 10,000 test images.
 * Options: --epochs N, --limit N (first N training images), --batch-size N,
 * --seed N, --threads N, --verbose 0|1|2, --data DIR.
 */
#include <lamina.h>

#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                        \
    do {                                                                   \
        if ((call) != LAM_OK) {                                            \
            fprintf(stderr, "seed_lstm: %s\n", lam_last_error());          \
            return 1;                                                      \
        }                                                                  \
    } while (0)

static long arg_long(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "seed_lstm: %s needs a value\n", argv[*i]);
        exit(2);
    }
    char *end;
    long v = strtol(argv[++*i], &end, 10);
    if (*end || v < 0) {
        fprintf(stderr, "seed_lstm: %s: \"%s\" is not a non-negative integer\n", argv[*i - 1], argv[*i]);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long epochs = 10, limit = 0, batch = 32, seed = 42, threads = 0, verbose = 1;
    const char *data = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--epochs")) epochs = arg_long(argc, argv, &i);
        else if (!strcmp(argv[i], "--limit")) limit = arg_long(argc, argv, &i);
        else if (!strcmp(argv[i], "--batch-size")) batch = arg_long(argc, argv, &i);
        else if (!strcmp(argv[i], "--seed")) seed = arg_long(argc, argv, &i);
        else if (!strcmp(argv[i], "--threads")) threads = arg_long(argc, argv, &i);
        else if (!strcmp(argv[i], "--verbose")) verbose = arg_long(argc, argv, &i);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else {
            fprintf(stderr, "usage: seed_lstm [--epochs N] [--limit N] [--batch-size N] "
                            "[--seed N] [--threads N] [--verbose 0|1|2] [--data DIR]\n");
            return 2;
        }
    }
    lam_set_threads((int)threads);

    lam_dataset *train = NULL, *test = NULL;
    CHECK(lam_load_fashion_mnist(data, true, &train));
    CHECK(lam_load_fashion_mnist(data, false, &test));
    if (limit > 0 && limit < lam_dataset_count(train)) CHECK(lam_dataset_truncate(train, limit));
    /* (28, 28, 1) images -> (28, 28) sequences: same bytes, rank 2 */
    CHECK(lam_dataset_reshape(train, 2, (int64_t[]){28, 28}));
    CHECK(lam_dataset_reshape(test, 2, (int64_t[]){28, 28}));

    lam_model *model = lam_sequential("sequential");
    if (!model) {
        fprintf(stderr, "seed_lstm: %s\n", lam_last_error());
        return 1;
    }
    lam_model_set_seed(model, (uint64_t)seed);
    CHECK(lam_model_add_input(model, 2, (int64_t[]){28, 28}));
    CHECK(lam_model_add_lstm(model, 64, true));
    CHECK(lam_model_add_lstm(model, 64, true));
    CHECK(lam_model_add_lstm(model, 64, false));
    CHECK(lam_model_add_dense(model, 10, LAM_ACT_SOFTMAX));

    lam_optimizer adam = lam_adam();
    CHECK(lam_model_compile(model, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK(lam_model_summary(model, stdout));

    lam_fit_options fit = lam_fit_defaults();
    fit.epochs = (int)epochs;
    fit.batch_size = (int)batch;
    fit.verbose = (int)verbose;
    CHECK(lam_fit(model, train, &fit, NULL));

    lam_eval_result res;
    CHECK(lam_evaluate(model, test, (int)batch, (int)verbose, &res));
    printf("test loss: %.4f\n", res.loss);
    printf("test accuracy: %.4f\n", res.accuracy);

    lam_model_free(model);
    lam_dataset_free(train);
    lam_dataset_free(test);
    return 0;
}
