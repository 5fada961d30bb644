/* test_step_api.c - the public training step: the calls lam_fit is made of
 * give the same bits as lam_fit; the gradient hook sees and may change the
 * gradients; inference-mode input gradients (dropout off, max-pool winners
 * recorded) against finite differences; sequence losses with per-position
 * labels and masks against hand-computed values; and the refusals of calls
 * made in the wrong order. */
#include "gradcheck.h"

#include <string.h>
#include <unistd.h>

static lam_dataset *toy_images(int n)
{
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, n, 3, (int64_t[]){6, 6, 1}, true, 0));
    float *x = lam_dataset_x(ds);
    int32_t *y = lam_dataset_labels(ds);
    for (int i = 0; i < n; i++) {
        y[i] = i % 3;
        for (int k = 0; k < 36; k++) /* class c lights up row 2c */
            x[i * 36 + k] = (k / 6 == 2 * y[i] ? 1.0f : 0.0f) + 0.1f * test_rndf();
    }
    return ds;
}

static lam_model *small_cnn(void)
{
    lam_model *m = lam_sequential("cnn");
    lam_model_set_seed(m, 11);
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){6, 6, 1}));
    CHECK_OK(lam_model_add_conv2d(m, 4, 3, 3, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dropout(m, 0.3f));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    return m;
}

/* lam_fit without shuffling equals a hand-written loop of the step calls. */
static void steps_equal_fit(void)
{
    lam_dataset *ds = toy_images(40);
    lam_model *a = small_cnn(), *b = small_cnn();
    lam_fit_options fo = lam_fit_defaults();
    fo.batch_size = 8;
    fo.shuffle = false;
    fo.verbose = 0;
    CHECK_OK(lam_fit(a, ds, &fo, NULL));

    CHECK_OK(lam_model_plan(b, 8));
    int32_t labels[8];
    for (int first = 0; first < 40; first += 8) {
        CHECK_OK(lam_dataset_gather(ds, (int64_t[]){first, first + 1, first + 2, first + 3,
                                                    first + 4, first + 5, first + 6, first + 7},
                                    8, lam_model_input_buffer(b, 0), labels, NULL));
        lam_target t = {labels, NULL, NULL};
        lam_batch_metrics bm;
        CHECK_OK(lam_forward(b, 8, LAM_MODE_TRAIN));
        CHECK_OK(lam_loss_eval(b, 8, &t, true, &bm));
        CHECK_OK(lam_backward(b, 8, false));
        CHECK_OK(lam_optimizer_update(b, lam_model_learning_rate(b)));
    }
    const int64_t np = lam_model_param_count(a);
    CHECK(memcmp(lam_model_params(a), lam_model_params(b), sizeof(float) * (size_t)np) == 0,
          "5 steps by hand differ from lam_fit's epoch");
    lam_model_free(a);
    lam_model_free(b);
    lam_dataset_free(ds);
}

typedef struct hook_log { int calls; int64_t n; float *first_grads; bool zero; } hook_log;

static lam_status hook(lam_model *m, float *grads, int64_t n, void *user)
{
    hook_log *h = user;
    h->calls++;
    h->n = n;
    CHECK(grads == lam_model_grads(m), "the hook gets the model's gradient buffer");
    if (!h->first_grads) {
        h->first_grads = malloc(sizeof(float) * (size_t)n);
        memcpy(h->first_grads, grads, sizeof(float) * (size_t)n);
    }
    if (h->zero) memset(grads, 0, sizeof(float) * (size_t)n);
    return h->calls == 100 ? lam_error(LAM_ERR_ARG, "hook says stop") : LAM_OK;
}

/* The hook runs once per step, before the update: zeroing the gradients
 * leaves plain SGD's weights where they were; an error stops fit. */
static void gradient_hook(void)
{
    lam_dataset *ds = toy_images(40);
    lam_model *m = small_cnn();
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    const int64_t np = lam_model_param_count(m);
    float *before = malloc(sizeof(float) * (size_t)np);
    memcpy(before, lam_model_params(m), sizeof(float) * (size_t)np);
    hook_log h = {0, 0, NULL, true};
    lam_fit_options fo = lam_fit_defaults();
    fo.batch_size = 8;
    fo.verbose = 0;
    fo.gradient_hook = hook;
    fo.gradient_hook_user = &h;
    CHECK_OK(lam_fit(m, ds, &fo, NULL));
    CHECK(h.calls == 5, "hook called %d times for 5 steps", h.calls);
    CHECK(h.n == np, "hook saw %lld gradients, the model has %lld", (long long)h.n, (long long)np);
    double norm = 0;
    for (int64_t i = 0; i < np; i++) norm += (double)h.first_grads[i] * h.first_grads[i];
    CHECK(norm > 0, "the hook saw a zero gradient before zeroing it");
    CHECK(memcmp(before, lam_model_params(m), sizeof(float) * (size_t)np) == 0,
          "zeroed gradients still moved SGD's weights");
    h.calls = 95;
    fo.epochs = 2;
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "hook says stop");
    free(h.first_grads);
    free(before);
    lam_model_free(m);
    lam_dataset_free(ds);
}

/* Input gradients in LAM_MODE_INFER_GRAD are those of the inference
 * function (dropout off) and match its finite differences; training mode
 * (dropout on) gives other ones. */
static void inference_input_gradients(void)
{
    lam_model *m = small_cnn();
    const int B = 2;
    CHECK_OK(lam_model_plan(m, B));
    float *x = lam_model_input_buffer(m, 0);
    /* Distinct values (29 is prime to 72), 0.02 apart: no max-pool ties or
     * ReLU kinks within the finite-difference step. */
    for (int i = 0; i < B * 36; i++) x[i] = 0.02f * (float)((i * 29) % 72) - 0.7f;
    /* Score: output class 1 of each sample. */
    const int64_t D = lam_model_output_size(m);
    CHECK_OK(lam_forward(m, B, LAM_MODE_INFER_GRAD));
    float *dy = lam_model_output_grad(m, 0);
    memset(dy, 0, sizeof(float) * (size_t)(B * D));
    for (int b = 0; b < B; b++) dy[b * D + 1] = 1.0f;
    CHECK_OK(lam_backward(m, B, true));
    float *g = malloc(sizeof(float) * (size_t)(B * 36));
    memcpy(g, lam_model_input_grad(m, 0), sizeof(float) * (size_t)(B * 36));
    double worst = 0, gnorm = 0;
    for (int i = 0; i < B * 36; i++) {
        const float eps = 4e-3f, keep = x[i];
        double s[2];
        for (int k = 0; k < 2; k++) {
            x[i] = keep + (k ? -eps : eps);
            CHECK_OK(lam_forward(m, B, LAM_MODE_INFER));
            s[k] = 0;
            for (int b = 0; b < B; b++) s[k] += lam_model_output(m, 0)[b * D + 1];
        }
        x[i] = keep;
        double num = (s[0] - s[1]) / (2 * eps), e = fabs(num - g[i]) / fmax(fabs(num), 1e-2);
        if (e > worst) worst = e;
        gnorm += fabs(g[i]);
    }
    CHECK(gnorm > 0, "inference input gradient is all zero");
    CHECK(worst <= 1e-3, "inference input gradient vs finite differences: worst rel %.3g", worst);
    printf("inference-mode input gradient: worst relative error %.2e\n", worst);
    /* Training mode applies dropout: the gradient differs. */
    CHECK_OK(lam_forward(m, B, LAM_MODE_TRAIN));
    dy = lam_model_output_grad(m, 0);
    memset(dy, 0, sizeof(float) * (size_t)(B * D));
    for (int b = 0; b < B; b++) dy[b * D + 1] = 1.0f;
    CHECK_OK(lam_backward(m, B, true));
    CHECK(memcmp(g, lam_model_input_grad(m, 0), sizeof(float) * (size_t)(B * 36)) != 0,
          "dropout did not change the training-mode input gradient");
    free(g);
    lam_model_free(m);
}

/* lam_backward_inputs gives lam_backward's input gradients, bit for bit, and
 * leaves the parameter gradients alone (Dense and Conv2D skip them). */
static void input_gradients_only(void)
{
    lam_model *m = lam_sequential("cnn2");
    lam_model_set_seed(m, 5);
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){10, 10, 3}));
    CHECK_OK(lam_model_add_conv2d(m, 8, 3, 3, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_conv2d(m, 16, 3, 3, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    const int B = 3;
    const int64_t n_in = B * lam_model_input_size(m), D = lam_model_output_size(m);
    CHECK_OK(lam_model_plan(m, B));
    for (int64_t i = 0; i < n_in; i++) lam_model_input_buffer(m, 0)[i] = test_rndf();
    float *want = malloc(sizeof(float) * (size_t)n_in);
    for (int pass = 0; pass < 2; pass++) {
        CHECK_OK(lam_forward(m, B, LAM_MODE_INFER_GRAD));
        float *dy = lam_model_output_grad(m, 0);
        for (int64_t i = 0; i < B * D; i++) dy[i] = (float)(i % 3) - 0.5f;
        float *grads = lam_model_grads(m);
        for (int64_t i = 0; i < lam_model_param_count(m); i++) grads[i] = NAN;
        if (pass == 0) {
            CHECK_OK(lam_backward(m, B, true));
            memcpy(want, lam_model_input_grad(m, 0), sizeof(float) * (size_t)n_in);
            CHECK(!isnan(grads[0]), "lam_backward wrote no parameter gradient");
        } else {
            CHECK_OK(lam_backward_inputs(m, B));
            CHECK(memcmp(want, lam_model_input_grad(m, 0), sizeof(float) * (size_t)n_in) == 0,
                  "lam_backward_inputs' input gradient differs from lam_backward's");
            int64_t untouched = 0;
            for (int64_t i = 0; i < lam_model_param_count(m); i++) untouched += isnan(grads[i]);
            CHECK(untouched == lam_model_param_count(m),
                  "lam_backward_inputs wrote %lld parameter gradients",
                  (long long)(lam_model_param_count(m) - untouched));
        }
    }
    free(want);
    lam_model_free(m);
}

/* Sparse cross-entropy over (T, C) outputs: one label per position, a mask
 * weight per position; the loss is the weighted sum over positions divided
 * by batch * T (Keras's sample_weight with sum_over_batch_size). */
static void sequence_loss(void)
{
    lam_model *m = lam_sequential("seq");
    CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){3, 2}));
    CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_SOFTMAX));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    const int B = 2, T = 3, C = 4;
    CHECK_OK(lam_model_plan(m, B));
    float *x = lam_model_input_buffer(m, 0);
    for (int i = 0; i < B * T * 2; i++) x[i] = test_rndf();
    int32_t labels[6] = {0, 3, 1, 2, 2, 0};
    float w[6] = {1, 1, 0, 1, 0.5f, 1};
    lam_target t = {labels, NULL, w};
    lam_batch_metrics bm;
    CHECK_OK(lam_forward(m, B, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval(m, B, &t, true, &bm));
    const float *p = lam_model_output(m, 0);
    double ref = 0, right = 0, counted = 0;
    for (int r = 0; r < B * T; r++) {
        ref += w[r] * -log(p[r * C + labels[r]]) / T;
        int best = 0;
        for (int j = 1; j < C; j++)
            if (p[r * C + j] > p[r * C + best]) best = j;
        right += w[r] * (best == labels[r]);
        counted += w[r];
    }
    CHECK_NEAR(bm.loss, ref, 1e-5);
    CHECK_NEAR(bm.correct, right, 1e-12);
    CHECK_NEAR(bm.counted, counted, 1e-12);
    /* A masked position gets no gradient (position 2 of sample 0). */
    for (int j = 0; j < C; j++) CHECK(lam_model_output(m, 0) && m->nodes[1].grad[2 * C + j] == 0.0f,
                                      "masked position has gradient %g", m->nodes[1].grad[2 * C + j]);
    lam_model_free(m);

    /* The same through lam_fit: per-position labels from the data set. */
    lam_model *s = lam_sequential("tagger");
    lam_model_set_seed(s, 5);
    CHECK_OK(lam_model_add_input(s, 2, (int64_t[]){5, 3}));
    CHECK_OK(lam_model_add_dense(s, 3, LAM_ACT_SOFTMAX));
    lam_optimizer adam = lam_adam();
    adam.learning_rate = 0.05f;
    CHECK_OK(lam_model_compile(s, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    lam_dataset *ds = NULL;
    const int n = 64;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, n, 2, (int64_t[]){5, 3}, false, 0));
    float *xs = lam_dataset_x(ds);
    int32_t *ys = malloc(sizeof(int32_t) * n * 5);
    for (int i = 0; i < n * 5; i++) {
        ys[i] = (int32_t)(test_rnd() % 3); /* the tag is the hot feature */
        for (int f = 0; f < 3; f++) xs[i * 3 + f] = f == ys[i] ? 1.0f : 0.0f;
    }
    CHECK_OK(lam_dataset_set_labels(ds, 5, ys, NULL));
    lam_fit_options fo = lam_fit_defaults();
    fo.epochs = 20;
    fo.batch_size = 16;
    fo.verbose = 0;
    lam_history *h = NULL;
    CHECK_OK(lam_fit(s, ds, &fo, &h));
    CHECK(h && h->log[h->epochs - 1].accuracy == 1.0, "per-position tagging not learnt: %g",
          h ? h->log[h->epochs - 1].accuracy : -1);
    /* Labels per sample must match the output's positions. */
    CHECK_OK(lam_dataset_set_labels(ds, 1, ys, NULL));
    CHECK_FAILS(lam_fit(s, ds, &fo, NULL), LAM_ERR_SHAPE, "predicts 5 positions per sample");
    lam_history_free(h);
    free(ys);
    lam_dataset_free(ds);
    lam_model_free(s);
}

/* Sequence loss with a mask: gradient check. */
static void sequence_gradcheck(void)
{
    lam_model *m = model_with_input(2, (int64_t[]){3, 2});
    CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_SOFTMAX));
    gradcheck("Dense (T, C) softmax + per-position sparse CE", m,
              LAM_LOSS_SPARSE_CATEGORICAL_CE, 3, smooth);
    lam_model_free(m);
}

/* lam_predict_multi and lam_evaluate_multi on a two-input, two-output
 * model equal the step calls over the same batch. */
static void multi_io(void)
{
    lam_model *m = lam_model_new("two");
    lam_model_set_seed(m, 4);
    int a, b, c, y1, y2;
    CHECK_OK(lam_model_input(m, "a", 1, (int64_t[]){3}, &a));
    CHECK_OK(lam_model_input(m, "b", 1, (int64_t[]){3}, &b));
    lam_layer_spec cat = lam_layer_defaults(LAM_LAYER_CONCATENATE);
    CHECK_OK(lam_model_call(m, &cat, 2, (int[]){a, b}, &c));
    lam_layer_spec d = lam_layer_defaults(LAM_LAYER_DENSE);
    d.units = 4;
    d.activation = LAM_ACT_SOFTMAX;
    CHECK_OK(lam_model_call(m, &d, 1, &c, &y1));
    d.units = 1;
    d.activation = LAM_ACT_LINEAR;
    CHECK_OK(lam_model_call(m, &d, 1, &b, &y2));
    CHECK_OK(lam_model_set_outputs(m, 2, (int[]){y1, y2}));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK_OK(lam_model_set_output_loss(m, 1, LAM_LOSS_MSE, 0.25f));
    lam_dataset *xa = NULL, *xb = NULL;
    CHECK_OK(lam_dataset_create(&xa, LAM_F32, 10, 1, (int64_t[]){3}, true, 0));
    CHECK_OK(lam_dataset_create(&xb, LAM_F32, 10, 1, (int64_t[]){3}, true, 0));
    for (int i = 0; i < 30; i++) {
        ((float *)lam_dataset_x(xa))[i] = test_rndf();
        ((float *)lam_dataset_x(xb))[i] = test_rndf();
    }
    for (int i = 0; i < 10; i++) {
        lam_dataset_labels(xa)[i] = i % 4;
        lam_dataset_labels(xb)[i] = i % 3; /* the regression target */
    }
    float p1[40], p2[10];
    const lam_dataset *xs[2] = {xa, xb}, *ys[2] = {xa, xb};
    CHECK_OK(lam_predict_multi(m, 2, xs, 4, (float *[]){p1, p2}));
    lam_eval_result r;
    CHECK_OK(lam_evaluate_multi(m, 2, xs, 2, ys, 10, 0, &r));
    /* The same by hand, one batch of 10. */
    CHECK_OK(lam_model_plan(m, 10));
    memcpy(lam_model_input_buffer(m, 0), lam_dataset_x(xa), sizeof(float) * 30);
    memcpy(lam_model_input_buffer(m, 1), lam_dataset_x(xb), sizeof(float) * 30);
    CHECK_OK(lam_forward(m, 10, LAM_MODE_INFER));
    CHECK(memcmp(p1, lam_model_output(m, 0), sizeof p1) == 0, "predict_multi output 0");
    CHECK(memcmp(p2, lam_model_output(m, 1), sizeof p2) == 0, "predict_multi output 1");
    float t2[10];
    for (int i = 0; i < 10; i++) t2[i] = (float)(i % 3);
    lam_target t[2] = {{lam_dataset_labels(xa), NULL, NULL}, {NULL, t2, NULL}};
    lam_batch_metrics bm;
    CHECK_OK(lam_loss_eval(m, 10, t, false, &bm));
    CHECK_NEAR(r.loss, bm.loss / 10, 1e-12);
    CHECK_NEAR(r.accuracy, bm.correct / bm.counted, 1e-12);
    lam_eval_result r1;
    CHECK_FAILS(lam_evaluate(m, xa, 10, 0, &r1), LAM_ERR_ARG, "use lam_evaluate_multi");
    CHECK_FAILS(lam_predict_multi(m, 1, xs, 4, (float *[]){p1, p2}), LAM_ERR_ARG,
                "1 prediction input data sets for 2 model inputs");
    /* The per-output losses and weights survive a model file. */
    char path[] = "/tmp/lamina-step-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    CHECK_OK(lam_model_save(m, path));
    lam_model *back = NULL;
    CHECK_OK(lam_model_load(path, &back));
    unlink(path);
    CHECK(back && back->losses[0] == LAM_LOSS_SPARSE_CATEGORICAL_CE &&
              back->losses[1] == LAM_LOSS_MSE && back->loss_weights[0] == 1.0f &&
              back->loss_weights[1] == 0.25f,
          "per-output losses after load: %d %d, weights %g %g", back ? (int)back->losses[0] : -1,
          back ? (int)back->losses[1] : -1, back ? back->loss_weights[0] : 0,
          back ? back->loss_weights[1] : 0);
    lam_eval_result r2;
    CHECK_OK(lam_evaluate_multi(back, 2, xs, 2, ys, 10, 0, &r2));
    /* Near, not equal: m was planned for batch 4 by predict_multi, so its evaluation ran in
     * pieces of 4 (fit.c's inference_plan) and summed the loss in another order. */
    CHECK_NEAR(r2.loss, r.loss, 1e-12);
    lam_model_free(back);
    lam_dataset_free(xa);
    lam_dataset_free(xb);
    lam_model_free(m);
}

/* A layer that feeds no output gets zero gradients, whatever the buffer
 * held before (the update must not move it on stale values). */
static void dead_branch(void)
{
    lam_model *m = lam_model_new("dead");
    int x, y, d;
    CHECK_OK(lam_model_input(m, NULL, 1, (int64_t[]){3}, &x));
    lam_layer_spec dense = lam_layer_defaults(LAM_LAYER_DENSE);
    dense.units = 2;
    CHECK_OK(lam_model_call(m, &dense, 1, &x, &y));
    CHECK_OK(lam_model_call(m, &dense, 1, &x, &d)); /* reaches no output */
    CHECK_OK(lam_model_set_outputs(m, 1, &y));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, 2));
    for (int i = 0; i < 6; i++) lam_model_input_buffer(m, 0)[i] = test_rndf();
    memset(lam_model_grads(m), 0x7f, sizeof(float) * (size_t)lam_model_param_count(m));
    float t[4] = {1, 2, 3, 4};
    lam_target tg = {NULL, t, NULL};
    lam_batch_metrics bm;
    CHECK_OK(lam_forward(m, 2, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval(m, 2, &tg, true, &bm));
    CHECK_OK(lam_backward(m, 2, false));
    const lam_node *dn = &m->nodes[d];
    for (int64_t i = 0; i < dn->param_count; i++)
        CHECK(lam_model_grads(m)[dn->param_offset + i] == 0.0f, "dead layer gradient %lld is %g",
              (long long)i, lam_model_grads(m)[dn->param_offset + i]);
    lam_model_free(m);
}

static void wrong_order(void)
{
    lam_model *m = small_cnn();
    CHECK_FAILS(lam_forward(m, 4, LAM_MODE_TRAIN), LAM_ERR_STATE, "call lam_model_plan");
    CHECK_OK(lam_model_plan(m, 4));
    CHECK_FAILS(lam_backward(m, 4, false), LAM_ERR_STATE, "needs a forward");
    CHECK_OK(lam_forward(m, 4, LAM_MODE_INFER));
    CHECK_FAILS(lam_backward(m, 4, false), LAM_ERR_STATE, "LAM_MODE_INFER_GRAD");
    CHECK_OK(lam_forward(m, 4, LAM_MODE_TRAIN));
    CHECK_FAILS(lam_backward(m, 3, false), LAM_ERR_STATE, "batch 3");
    lam_batch_metrics bm;
    lam_target t = {NULL, NULL, NULL};
    CHECK_FAILS(lam_loss_eval(m, 4, &t, true, &bm), LAM_ERR_ARG, "needs integer labels");
    CHECK_FAILS(lam_optimizer_update(m, -1.0f), LAM_ERR_ARG, "learning rate -1");
    lam_model_free(m);
}

int main(void)
{
    lam_set_threads(1);
    steps_equal_fit();
    gradient_hook();
    inference_input_gradients();
    input_gradients_only();
    sequence_loss();
    sequence_gradcheck();
    multi_io();
    dead_branch();
    wrong_order();
    return test_summary("test_step_api");
}
