/* residual_cnn.c - a small residual CNN with BatchNormalization on
 * Fashion-MNIST, built with the functional calls. The Keras program it
 * mirrors (examples/residual_cnn.json is its model.to_json()):
 *
 *   def conv_bn(x, filters, relu=True):
 *       x = Conv2D(filters, 3, padding='same', use_bias=False)(x)
 *       x = BatchNormalization()(x)
 *       return Activation('relu')(x) if relu else x
 *   def block(x, filters):
 *       y = conv_bn(x, filters)
 *       y = conv_bn(y, filters, relu=False)
 *       return Activation('relu')(Add()([x, y]))
 *   inputs = Input((28, 28, 1))
 *   x = conv_bn(inputs, 16); x = block(x, 16); x = MaxPooling2D()(x)
 *   x = conv_bn(x, 32);      x = block(x, 32); x = MaxPooling2D()(x)
 *   x = GlobalAveragePooling2D()(x)
 *   outputs = Dense(10, activation='softmax')(x)
 *   model = Model(inputs, outputs)
 *   model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
 *   model.fit(x_train, y_train, epochs=8, batch_size=64)
 *
 * Options as the seed programs (--epochs, --limit, --batch-size, --seed,
 * --threads, --verbose, --data); defaults 8 epochs, batch 64.
 */
#include "seed_options.h"

/* Conv2D (3x3, same, no bias: BatchNormalization's beta is the bias) ->
 * BatchNormalization -> ReLU unless it feeds a residual Add. */
static lam_status conv_bn(lam_model *m, int x, int filters, bool relu, int *out)
{
    lam_layer_spec conv = lam_layer_defaults(LAM_LAYER_CONV2D);
    conv.units = filters;
    conv.padding = LAM_PAD_SAME;
    conv.use_bias = false;
    lam_layer_spec bn = lam_layer_defaults(LAM_LAYER_BATCH_NORM);
    lam_layer_spec act = lam_layer_defaults(LAM_LAYER_ACTIVATION);
    act.activation = LAM_ACT_RELU;
    int c, b;
    LAM_TRY_EXAMPLE(lam_model_call(m, &conv, 1, &x, &c));
    LAM_TRY_EXAMPLE(lam_model_call(m, &bn, 1, &c, relu ? &b : out));
    if (relu) LAM_TRY_EXAMPLE(lam_model_call(m, &act, 1, &b, out));
    return LAM_OK;
}

/* relu(x + conv_bn(conv_bn(x))) */
static lam_status residual_block(lam_model *m, int x, int filters, int *out)
{
    int y1, y2, sum;
    LAM_TRY_EXAMPLE(conv_bn(m, x, filters, true, &y1));
    LAM_TRY_EXAMPLE(conv_bn(m, y1, filters, false, &y2));
    lam_layer_spec add = lam_layer_defaults(LAM_LAYER_ADD);
    LAM_TRY_EXAMPLE(lam_model_call(m, &add, 2, (int[]){x, y2}, &sum));
    lam_layer_spec act = lam_layer_defaults(LAM_LAYER_ACTIVATION);
    act.activation = LAM_ACT_RELU;
    return lam_model_call(m, &act, 1, &sum, out);
}

static lam_status build(lam_model *m)
{
    int x, h, pooled, gap, y;
    LAM_TRY_EXAMPLE(lam_model_input(m, NULL, 3, (int64_t[]){28, 28, 1}, &x));
    lam_layer_spec pool = lam_layer_defaults(LAM_LAYER_MAXPOOL2D);
    const int widths[2] = {16, 32};
    for (int stage = 0; stage < 2; stage++) {
        LAM_TRY_EXAMPLE(conv_bn(m, x, widths[stage], true, &h));
        LAM_TRY_EXAMPLE(residual_block(m, h, widths[stage], &h));
        LAM_TRY_EXAMPLE(lam_model_call(m, &pool, 1, &h, &pooled));
        x = pooled;
    }
    lam_layer_spec global = lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL2D);
    LAM_TRY_EXAMPLE(lam_model_call(m, &global, 1, &x, &gap));
    lam_layer_spec dense = lam_layer_defaults(LAM_LAYER_DENSE);
    dense.units = 10;
    dense.activation = LAM_ACT_SOFTMAX;
    LAM_TRY_EXAMPLE(lam_model_call(m, &dense, 1, &gap, &y));
    return lam_model_set_outputs(m, 1, &y);
}

int main(int argc, char **argv)
{
    seed_program = "residual_cnn";
    seed_options o;
    int rc = seed_parse_defaults(argc, argv, &o, 8, 64);
    if (rc) return rc;
    lam_dataset *train = NULL, *test = NULL;
    CHECK(seed_load(&o, &train, &test));

    lam_model *model = lam_model_new("residual_cnn");
    if (!model) {
        fprintf(stderr, "%s: %s\n", seed_program, lam_last_error());
        return 1;
    }
    lam_model_set_seed(model, (uint64_t)o.seed);
    CHECK(build(model));
    lam_optimizer adam = lam_adam();
    CHECK(lam_model_compile(model, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK(lam_model_summary(model, stdout));

    CHECK(seed_fit_evaluate(model, train, test, &o));

    lam_model_free(model);
    lam_dataset_free(train);
    lam_dataset_free(test);
    return 0;
}
