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
#include "seed_options.h"

int main(int argc, char **argv)
{
    seed_program = "seed_lstm";
    seed_options o;
    int rc = seed_parse(argc, argv, &o);
    if (rc) return rc;
    lam_dataset *train = NULL, *test = NULL;
    CHECK(seed_load(&o, &train, &test));
    /* (28, 28, 1) images -> (28, 28) sequences: same bytes, rank 2 */
    CHECK(lam_dataset_reshape(train, 2, (int64_t[]){28, 28}));
    CHECK(lam_dataset_reshape(test, 2, (int64_t[]){28, 28}));

    lam_model *model = lam_sequential("sequential");
    if (!model) {
        fprintf(stderr, "%s: %s\n", seed_program, lam_last_error());
        return 1;
    }
    lam_model_set_seed(model, (uint64_t)o.seed);
    CHECK(lam_model_add_input(model, 2, (int64_t[]){28, 28}));
    CHECK(lam_model_add_lstm(model, 64, true));
    CHECK(lam_model_add_lstm(model, 64, true));
    CHECK(lam_model_add_lstm(model, 64, false));
    CHECK(lam_model_add_dense(model, 10, LAM_ACT_SOFTMAX));

    lam_optimizer adam = lam_adam();
    CHECK(lam_model_compile(model, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK(lam_model_summary(model, stdout));

    CHECK(seed_fit_evaluate(model, train, test, &o));

    lam_model_free(model);
    lam_dataset_free(train);
    lam_dataset_free(test);
    return 0;
}
