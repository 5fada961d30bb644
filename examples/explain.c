/* explain.c - why the seed CNN calls a Fashion-MNIST image what it calls it,
 * with the C API of lamina_explain.h:
 *
 *   1. a trained model: MODEL.safetensors (`lamina train --model
 *      examples/seed_cnn.json --data fashion-mnist --out cnn.safetensors`), or,
 *      without one, the seed CNN trained here for one epoch on 10,000 images;
 *   2. integrated gradients of the predicted class's logit from a black
 *      image, 256 Gauss-Legendre steps, then exactly (region by region): the
 *      completeness delta says how far each is from the identity
 *      sum of attributions = score(image) - score(black);
 *   3. saliency, SmoothGrad, Grad-CAM and occlusion of the same class;
 *   4. all of them side by side in a picture (when lamina has cairo).
 *
 * Usage: explain [MODEL.safetensors] [--index I] [--out FILE.png]
 */
#include <lamina.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                        \
    do {                                                                   \
        if ((call) != LAM_OK) {                                            \
            fprintf(stderr, "explain: %s\n", lam_last_error());            \
            return 1;                                                      \
        }                                                                  \
    } while (0)

static const char *const CLASSES[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                        "Sandal",      "Shirt",   "Sneaker",  "Bag",
                                        "Ankle boot"};

/* The seed CNN, one epoch on the first 10,000 training images (about 2 s). */
static lam_status train_seed_cnn(lam_model **out)
{
    lam_dataset *train = NULL;
    lam_status st = lam_load_fashion_mnist(getenv("LAMINA_DATA"), true, &train);
    if (st == LAM_OK) st = lam_dataset_truncate(train, 10000);
    lam_model *m = st == LAM_OK ? lam_sequential("seed_cnn") : NULL;
    if (st == LAM_OK && !m) st = LAM_ERR_NOMEM;
    if (st == LAM_OK) st = lam_model_add_input(m, 3, (int64_t[]){28, 28, 1});
    if (st == LAM_OK) st = lam_model_add_conv2d(m, 32, 3, 3, LAM_ACT_RELU);
    if (st == LAM_OK) st = lam_model_add_maxpool2d(m, 2, 2);
    if (st == LAM_OK) st = lam_model_add_conv2d(m, 64, 3, 3, LAM_ACT_RELU);
    if (st == LAM_OK) st = lam_model_add_maxpool2d(m, 2, 2);
    if (st == LAM_OK) st = lam_model_add_flatten(m);
    if (st == LAM_OK) st = lam_model_add_dense(m, 64, LAM_ACT_RELU);
    if (st == LAM_OK) st = lam_model_add_dense(m, 10, LAM_ACT_SOFTMAX);
    lam_optimizer adam = lam_adam();
    if (st == LAM_OK) st = lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    lam_fit_options fit = lam_fit_defaults();
    fit.epochs = 1;
    fit.verbose = 0;
    if (st == LAM_OK) st = lam_fit(m, train, &fit, NULL);
    lam_dataset_free(train);
    if (st != LAM_OK) {
        lam_model_free(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *out = "explain.png";
    long index = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--index") && i + 1 < argc) index = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] != '-' && !model_path) model_path = argv[i];
        else {
            fprintf(stderr, "usage: explain [MODEL.safetensors] [--index I] [--out FILE.png]\n");
            return 2;
        }
    }
    lam_model *m = NULL;
    if (model_path) CHECK(lam_model_load(model_path, &m));
    else CHECK(train_seed_cnn(&m));

    lam_dataset *test = NULL;
    CHECK(lam_load_fashion_mnist(getenv("LAMINA_DATA"), false, &test));
    if (index < 0 || index >= lam_dataset_count(test)) {
        fprintf(stderr, "explain: --index %ld, the test set has %lld images\n", index,
                (long long)lam_dataset_count(test));
        return 2;
    }
    float x[28 * 28];
    int32_t label;
    CHECK(lam_dataset_gather(test, (int64_t[]){index}, 1, x, &label, NULL));

    /* 2. Integrated gradients, by quadrature and exactly. */
    lam_explain_options ig = lam_explain_defaults(LAM_EXPLAIN_IG);
    ig.steps = 256;
    lam_attribution by_steps, exact;
    CHECK(lam_explain(m, x, &ig, &by_steps));
    ig.exact = true;
    CHECK(lam_explain(m, x, &ig, &exact));
    printf("test image %ld (%s): the model says %s, probability %.3f\n", index,
           CLASSES[label], CLASSES[by_steps.target], by_steps.probability);
    printf("logit %.6f, at the black image %.6f\n", by_steps.score, by_steps.baseline_score);
    printf("IG, 256 Gauss-Legendre steps: sum %.6f, completeness delta %.2e\n",
           by_steps.attribution_sum, by_steps.completeness_delta);
    printf("IG, exact over %lld linear regions: sum %.6f, completeness delta %.2e\n",
           (long long)exact.evaluations, exact.attribution_sum, exact.completeness_delta);

    /* 3. The other methods, on the same class. */
    const lam_explain_method others[] = {LAM_EXPLAIN_SALIENCY, LAM_EXPLAIN_SMOOTHGRAD,
                                         LAM_EXPLAIN_GRADCAM, LAM_EXPLAIN_OCCLUSION};
    lam_attribution r[4];
    for (int k = 0; k < 4; k++) {
        lam_explain_options o = lam_explain_defaults(others[k]);
        o.target = by_steps.target;
        CHECK(lam_explain(m, x, &o, &r[k]));
    }

    /* 4. The picture. */
    const float *maps[] = {exact.map, r[0].map, r[1].map, r[2].map, r[3].map};
    const char *titles[] = {"integrated gradients", "saliency", "SmoothGrad", "Grad-CAM",
                            "occlusion"};
    char title[128];
    snprintf(title, sizeof title, "%s (p = %.3f)", CLASSES[by_steps.target],
             by_steps.probability);
    if (!lam_plot_available()) printf("(no picture: lamina was built without cairo)\n");
    else if (lam_plot_attributions(out, title, x, 28, 28, 1, maps, titles, 5) != LAM_OK)
        fprintf(stderr, "explain: %s\n", lam_last_error());
    else printf("wrote %s\n", out);

    for (int k = 0; k < 4; k++) lam_attribution_free(&r[k]);
    lam_attribution_free(&by_steps);
    lam_attribution_free(&exact);
    lam_dataset_free(test);
    lam_model_free(m);
    return 0;
}
