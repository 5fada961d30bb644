/* test_dp.c - DP-SGD in lam_fit (lam_fit_options.dp): the update's
 * sensitivity (the mean of per-sample gradients clipped to C, each computed
 * here from its own batch-1 backward), the noise's scale, epsilon equal to
 * the accountant's for the steps taken (and carried by the model's metadata
 * into the next fit), BatchNormalization refused, Poisson batch sizes, and a
 * small model that still learns under mild DP. */
#include "lamina.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* n samples of 6 features, labels 0/1 split by the sign of feature 0. */
static lam_dataset *separable(int n)
{
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, n, 1, (int64_t[]){6}, true, 0));
    float *x = lam_dataset_x(ds);
    int32_t *y = lam_dataset_labels(ds);
    for (int i = 0; i < n; i++) {
        y[i] = i % 2;
        for (int k = 0; k < 6; k++) x[i * 6 + k] = test_rndf();
        x[i * 6] = (y[i] ? 1.0f : -1.0f) * (0.5f + 0.5f * fabsf(test_rndf()));
    }
    return ds;
}

static lam_model *mlp(int hidden, float lr)
{
    lam_model *m = lam_sequential("mlp");
    lam_model_set_seed(m, 5);
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){6}));
    CHECK_OK(lam_model_add_dense(m, hidden, LAM_ACT_TANH));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_SOFTMAX));
    lam_optimizer sgd = lam_sgd();
    sgd.learning_rate = lr;
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    return m;
}

/* Keeps the gradients handed to the hook at every step (up to 256 steps). */
typedef struct capture {
    int calls;
    int64_t n;
    float *g[256];
} capture;

static lam_status keep_grads(lam_model *m, float *grads, int64_t n, void *user)
{
    (void)m;
    capture *c = user;
    if (c->calls < 256) {
        c->g[c->calls] = malloc(sizeof(float) * (size_t)n);
        memcpy(c->g[c->calls], grads, sizeof(float) * (size_t)n);
    }
    c->n = n;
    c->calls++;
    return LAM_OK;
}

static void capture_free(capture *c)
{
    for (int i = 0; i < 256 && i < c->calls; i++) free(c->g[i]);
    memset(c, 0, sizeof *c);
}

/* The gradient of samples [first, first + count) of ds at m's weights, by
 * the public step calls at batch count. */
static void batch_gradient(lam_model *m, const lam_dataset *ds, int first, int count, float *out)
{
    CHECK_OK(lam_model_plan(m, count));
    int64_t idx[64];
    int32_t labels[64];
    for (int i = 0; i < count; i++) idx[i] = first + i;
    CHECK_OK(lam_dataset_gather(ds, idx, count, lam_model_input_buffer(m, 0), labels, NULL));
    lam_target t = {labels, NULL, NULL};
    lam_batch_metrics bm;
    CHECK_OK(lam_forward(m, count, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval(m, count, &t, true, &bm));
    CHECK_OK(lam_backward(m, count, false));
    memcpy(out, lam_model_grads(m), sizeof(float) * (size_t)lam_model_param_count(m));
}

static lam_fit_options dp_fit(const lam_dp_options *dp, int batch, capture *c)
{
    lam_fit_options fo = lam_fit_defaults();
    fo.batch_size = batch;
    fo.verbose = 0;
    fo.dp = dp;
    fo.gradient_hook = keep_grads;
    fo.gradient_hook_user = c;
    return fo;
}

/* DP without noise on fixed, unshuffled batches: the update is a plain
 * function of the clipped gradients. */
static lam_dp_options dp_exact(double clip_norm)
{
    lam_dp_options dp = lam_dp_defaults();
    dp.clip_norm = clip_norm;
    dp.noise_multiplier = 0;
    dp.poisson = false;
    dp.seeded_noise = true;
    return dp;
}

/* Each sample's clip factors, one per group of parameters [at[k], at[k + 1]). */
static void clip_groups(const float *g, const int64_t *at, int groups, double C, double *scale,
                        int *clipped)
{
    for (int k = 0; k < groups; k++) {
        double sq = 0;
        for (int64_t j = at[k]; j < at[k + 1]; j++) sq += (double)g[j] * g[j];
        const double norm = sqrt(sq);
        scale[k] = norm > C ? C / norm : 1.0;
        *clipped += norm > C;
    }
}

/* (a) sigma = 0: the update is the mean of the clipped per-sample gradients;
 * with a huge C, the ordinary mean gradient of the batch. Cases: C below
 * every norm; C huge; C 0.9 times the smallest norm (every norm between C
 * and sqrt(C), where comparing norm^2 with C would not clip); per-layer
 * clipping, each Dense layer's part to C / sqrt(2). */
static void sensitivity(void)
{
    lam_dataset *ds = separable(8);
    for (int t = 0; t < 4; t++) {
        const bool huge = t == 1, per_layer = t == 3;
        lam_model *m = mlp(8, 0.1f), *ref = mlp(8, 0.1f);
        const int64_t P = lam_model_param_count(ref);
        float *g = malloc(sizeof(float) * 4 * (size_t)P);
        double smallest = INFINITY;
        for (int i = 0; i < 4; i++) {
            batch_gradient(ref, ds, i, 1, g + i * P);
            double sq = 0;
            for (int64_t j = 0; j < P; j++) sq += (double)g[i * P + j] * g[i * P + j];
            smallest = fmin(smallest, sqrt(sq));
        }
        const double C = huge ? 1e9 : t == 2 ? 0.9 * smallest : 0.05;
        if (t == 2)
            CHECK(C < 1 && smallest < sqrt(C), "norms %g and C %g leave no room between C and "
                  "sqrt(C)", smallest, C);
        /* Groups: the whole vector, or each Dense layer (kernel and bias). */
        const int64_t first = lam_model_layer_param_count(ref, 1);
        const int64_t at[3] = {0, per_layer ? first : P, P};
        const int groups = per_layer ? 2 : 1;
        const double group_C = C / sqrt((double)groups);
        lam_dp_options dp = dp_exact(C);
        dp.per_layer = per_layer;
        capture c = {0};
        lam_fit_options fo = dp_fit(&dp, 4, &c);
        fo.shuffle = false;
        CHECK_OK(lam_fit(m, ds, &fo, NULL));
        CHECK(c.calls == 2, "two steps, got %d", c.calls);
        double *mean = calloc((size_t)P, sizeof(double));
        int clipped = 0;
        for (int i = 0; i < 4; i++) {
            double scale[2];
            clip_groups(g + i * P, at, groups, group_C, scale, &clipped);
            double csq = 0;
            for (int k = 0; k < groups; k++)
                for (int64_t j = at[k]; j < at[k + 1]; j++) {
                    const double v = scale[k] * g[i * P + j];
                    mean[j] += v / 4;
                    csq += v * v;
                }
            CHECK(sqrt(csq) <= C + 1e-6, "clipped norm %g above C %g", sqrt(csq), C);
        }
        CHECK(huge ? clipped == 0 : clipped == 4 * groups, "case %d: C %g clipped %d of %d", t,
              C, clipped, 4 * groups);
        double worst = 0;
        for (int64_t j = 0; j < P; j++) worst = fmax(worst, fabs(c.g[0][j] - mean[j]));
        CHECK(worst < 1e-6, "case %d, C %g: DP update differs from the clipped mean by %g", t, C,
              worst);
        if (huge) {
            batch_gradient(ref, ds, 0, 4, g);
            worst = 0;
            for (int64_t j = 0; j < P; j++) worst = fmax(worst, fabs(c.g[0][j] - g[j]));
            CHECK(worst < 1e-6, "huge C: DP update differs from the batch gradient by %g",
                  worst);
            printf("sensitivity: huge C, |DP - batch mean gradient| max %.2e\n", worst);
        }
        free(g);
        free(mean);
        capture_free(&c);
        lam_model_free(m);
        lam_model_free(ref);
    }
    lam_dataset_free(ds);
}

/* Dropout draws its masks per sample of the step's batch, so with a huge C
 * and no noise a DP step (batched, or one sample at a time on the
 * reference path) gives the plain batch gradient with dropout. */
static void dropout_masks(void)
{
    lam_dataset *ds = separable(8);
    for (int reference = 0; reference < 2; reference++) {
        lam_model *m[2];
        for (int k = 0; k < 2; k++) {
            m[k] = lam_sequential("dropout");
            lam_model_set_seed(m[k], 5);
            CHECK_OK(lam_model_add_input(m[k], 1, (int64_t[]){6}));
            CHECK_OK(lam_model_add_dense(m[k], 32, LAM_ACT_TANH));
            CHECK_OK(lam_model_add_dropout(m[k], 0.5f));
            CHECK_OK(lam_model_add_dense(m[k], 2, LAM_ACT_SOFTMAX));
            lam_optimizer sgd = lam_sgd();
            CHECK_OK(lam_model_compile(m[k], &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
        }
        const int64_t P = lam_model_param_count(m[0]);
        float *g = malloc(sizeof(float) * (size_t)P);
        batch_gradient(m[1], ds, 0, 4, g);
        lam_dp_options dp = dp_exact(1e9);
        dp.reference_clipping = reference;
        capture c = {0};
        lam_fit_options fo = dp_fit(&dp, 4, &c);
        fo.shuffle = false;
        CHECK_OK(lam_fit(m[0], ds, &fo, NULL));
        double worst = 0;
        for (int64_t j = 0; j < P; j++) worst = fmax(worst, fabs(c.g[0][j] - g[j]));
        CHECK(worst < 1e-6, "%s path with dropout: DP update differs from the batch gradient "
              "by %g", reference ? "reference" : "batched", worst);
        free(g);
        capture_free(&c);
        lam_model_free(m[0]);
        lam_model_free(m[1]);
    }
    lam_dataset_free(ds);
}

/* (b) the noise: the difference between runs with and without noise (same
 * batches: fixed order) is N(0, (sigma C / (q n))^2) per coordinate. */
static void noise_scale(void)
{
    lam_dataset *ds = separable(40);
    const double sigma = 1.5, C = 0.2;
    float *g[3];
    int64_t P = 0;
    for (int run = 0; run < 3; run++) {
        lam_dp_options dp = lam_dp_defaults();
        dp.clip_norm = C;
        dp.noise_multiplier = run ? sigma : 0;
        dp.poisson = false;
        dp.seeded_noise = run == 1;
        capture c = {0};
        lam_fit_options fo = dp_fit(&dp, 10, &c);
        fo.shuffle = false;
        lam_model *m = mlp(64, 0.1f);
        CHECK_OK(lam_fit(m, ds, &fo, NULL));
        P = c.n;
        g[run] = c.g[0];
        c.g[0] = NULL;
        capture_free(&c);
        lam_model_free(m);
    }
    const double want = sigma * C / 10.0;
    for (int run = 1; run < 3; run++) {
        double s = 0, s2 = 0;
        for (int64_t j = 0; j < P; j++) {
            const double d = (double)g[run][j] - g[0][j];
            s += d;
            s2 += d * d;
        }
        const double mean = s / (double)P, sd = sqrt(s2 / (double)P - mean * mean);
        printf("noise (%s): %lld coordinates, std %.5f (expected %.5f), mean %.1e\n",
               run == 1 ? "seeded" : "secure", (long long)P, sd, want, mean);
        /* 5 standard errors of the estimates. */
        CHECK(fabs(sd - want) < 5 * want / sqrt(2.0 * (double)P), "noise std %g, expected %g",
              sd, want);
        CHECK(fabs(mean) < 5 * want / sqrt((double)P), "noise mean %g", mean);
    }
    int same = 0;
    for (int64_t j = 0; j < P; j++) same += g[1][j] == g[2][j];
    CHECK(same < P / 100, "secure and seeded noise agree on %d coordinates", same);
    for (int run = 0; run < 3; run++) free(g[run]);
    lam_dataset_free(ds);
}

/* (c) epsilon after k steps is the accountant's for (sigma, q, k) exactly,
 * and a second fit continues from the model's metadata. */
static void accounting(void)
{
    lam_dataset *ds = separable(20);
    lam_dp_options dp = lam_dp_defaults();
    dp.noise_multiplier = 1.1;
    dp.seeded_noise = true;
    capture c = {0};
    lam_fit_options fo = dp_fit(&dp, 5, &c);
    fo.epochs = 2;
    lam_model *m = mlp(4, 0.1f);
    lam_history *h = NULL;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    for (int e = 0; e < 2; e++) {
        double want;
        CHECK_OK(lam_privacy_epsilon(LAM_ACCOUNTANT_RDP, 1.1, 0.25, 4 * (e + 1), 1e-5, &want,
                                     NULL));
        CHECK(h->log[e].epsilon == want, "epoch %d: epsilon %.17g, accountant %.17g", e + 1,
              h->log[e].epsilon, want);
    }
    printf("accounting: epsilon after 8 steps %.6f\n", h->log[1].epsilon);
    CHECK(strcmp(lam_model_metadata(m, "dp.steps"), "8") == 0, "dp.steps %s",
          lam_model_metadata(m, "dp.steps"));
    CHECK(lam_model_metadata(m, "dp.history") != NULL, "no dp.history");
    lam_history_free(h);
    fo.epochs = 1;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    double want;
    CHECK_OK(lam_privacy_epsilon(LAM_ACCOUNTANT_RDP, 1.1, 0.25, 12, 1e-5, &want, NULL));
    CHECK(h->log[0].epsilon == want, "resumed: epsilon %.17g, accountant for 12 steps %.17g",
          h->log[0].epsilon, want);
    CHECK(strcmp(lam_model_metadata(m, "dp.steps"), "12") == 0, "dp.steps %s",
          lam_model_metadata(m, "dp.steps"));
    lam_history_free(h);
    /* Without DP, the log says so. */
    fo.dp = NULL;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    CHECK(isnan(h->log[0].epsilon), "epsilon without DP %g", h->log[0].epsilon);
    lam_history_free(h);
    /* The PRV accountant: epsilon at each epoch's end (PRV is too slow for every step's
     * progress line), equal to its one-shot value, and in the metadata. */
    lam_model *p = mlp(4, 0.1f);
    dp.accountant = LAM_ACCOUNTANT_PRV;
    fo.dp = &dp;
    fo.epochs = 2;
    CHECK_OK(lam_fit(p, ds, &fo, &h));
    for (int e = 0; e < 2; e++) {
        double prv;
        CHECK_OK(lam_privacy_epsilon(LAM_ACCOUNTANT_PRV, 1.1, 0.25, 4 * (e + 1), 1e-5, &prv,
                                     NULL));
        CHECK(h->log[e].epsilon == prv, "PRV, epoch %d: epsilon %.17g, accountant %.17g",
              e + 1, h->log[e].epsilon, prv);
    }
    const char *meta = lam_model_metadata(p, "dp.epsilon");
    CHECK(meta && strtod(meta, NULL) == h->log[1].epsilon, "PRV dp.epsilon %s, log %.17g",
          meta ? meta : "(none)", h->log[1].epsilon);
    lam_history_free(h);
    lam_model_free(p);
    capture_free(&c);
    lam_model_free(m);
    lam_dataset_free(ds);
}

/* (d) BatchNormalization mixes samples: refused, naming the layer. */
static void batchnorm_refused(void)
{
    lam_dataset *ds = separable(8);
    lam_model *m = lam_sequential("bn");
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){6}));
    CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_RELU));
    lam_layer_spec bn = lam_layer_defaults(LAM_LAYER_BATCH_NORM);
    snprintf(bn.name, sizeof bn.name, "my_bn");
    CHECK_OK(lam_model_add(m, &bn));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_SOFTMAX));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    lam_dp_options dp = lam_dp_defaults();
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.dp = &dp;
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_UNSUPPORTED, "layer \"my_bn\"");
    CHECK(strstr(lam_last_error(), "mixes the samples") != NULL, "message: %s", lam_last_error());
    dp.clip_norm = 0;
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "clip_norm 0");
    lam_model_free(m);
    lam_dataset_free(ds);
}

/* (e) Poisson batches: with identical samples, sigma = 0 and no clipping,
 * the update is count * g / (q n), which gives each step's batch size. */
static void poisson_sizes(void)
{
    const int n = 200, batch = 20, epochs = 20;
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, n, 1, (int64_t[]){6}, true, 0));
    float *x = lam_dataset_x(ds);
    for (int i = 0; i < n * 6; i++) x[i] = 0.3f * (float)(i % 6) - 0.5f;
    /* A learning rate far below float resolution keeps the weights, and so g. */
    lam_model *m = mlp(4, 1e-30f), *ref = mlp(4, 1e-30f);
    lam_dataset *ten = separable(10);
    const int64_t P = lam_model_param_count(ref);
    float *g1 = malloc(sizeof(float) * (size_t)P);
    batch_gradient(ref, ds, 0, 1, g1);
    int64_t j = 0;
    for (int64_t k = 1; k < P; k++)
        if (fabsf(g1[k]) > fabsf(g1[j])) j = k;
    for (int small = 0; small < 2; small++) {
        lam_dp_options dp = lam_dp_defaults();
        dp.clip_norm = 1e9;
        dp.noise_multiplier = 0;
        dp.seeded_noise = true;
        capture c = {0};
        lam_fit_options fo = dp_fit(&dp, small ? 1 : batch, &c);
        fo.epochs = small ? 1 : epochs;
        CHECK_OK(lam_fit(small ? ref : m, small ? ten : ds, &fo, NULL));
        if (small) {
            /* q = 0.1 over 10 samples: 10 steps, some of them empty (noise only). */
            int empty = 0;
            for (int s = 0; s < c.calls; s++) {
                bool zero = true;
                for (int64_t k = 0; k < P; k++) zero = zero && c.g[s][k] == 0;
                empty += zero;
            }
            CHECK(c.calls == 10 && empty > 0, "%d steps, %d empty", c.calls, empty);
            printf("poisson: q 0.1, 10 samples: %d of %d steps had an empty batch\n", empty,
                   c.calls);
        } else {
            CHECK(c.calls == epochs * n / batch, "%d steps", c.calls);
            double s = 0, s2 = 0;
            int distinct = 0;
            for (int st = 0; st < c.calls; st++) {
                const double cnt = c.g[st][j] * (double)batch / g1[j];
                CHECK(fabs(cnt - round(cnt)) < 1e-3, "step %d: batch size %g", st, cnt);
                s += cnt;
                s2 += cnt * cnt;
                distinct += lround(cnt) != batch;
            }
            const double mean = s / c.calls, var = s2 / c.calls - mean * mean;
            printf("poisson: %d steps, batch size mean %.2f (expected %d), variance %.2f "
                   "(binomial %.1f)\n", c.calls, mean, batch, var, n * 0.1 * 0.9);
            CHECK(fabs(mean - batch) < 2.0, "mean batch size %g", mean);
            CHECK(var > 11 && var < 25, "batch size variance %g", var);
            CHECK(distinct > 0, "every batch had exactly %d samples", batch);
        }
        capture_free(&c);
    }
    free(g1);
    lam_model_free(m);
    lam_model_free(ref);
    lam_dataset_free(ten);
    lam_dataset_free(ds);
}

/* (f) a small model still learns under mild DP (C = 1, sigma = 0.5, secure
 * noise). */
static void learns(void)
{
    lam_dataset *ds = separable(200);
    lam_model *m = mlp(8, 0.5f);
    lam_dp_options dp = lam_dp_defaults();
    dp.clip_norm = 1.0;
    dp.noise_multiplier = 0.5;
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.batch_size = 20;
    fo.epochs = 10;
    fo.dp = &dp;
    lam_history *h = NULL;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    lam_eval_result r;
    CHECK_OK(lam_evaluate(m, ds, 50, 0, &r));
    printf("learns: accuracy %.3f after 10 epochs, epsilon %.2f at delta 1e-5\n", r.accuracy,
           h->log[9].epsilon);
    CHECK(r.accuracy > 0.9, "accuracy %g under DP", r.accuracy);
    CHECK(isfinite(h->log[9].epsilon) && h->log[9].epsilon > h->log[0].epsilon,
          "epsilon %g then %g", h->log[0].epsilon, h->log[9].epsilon);
    lam_history_free(h);
    lam_model_free(m);
    lam_dataset_free(ds);
}

/* A target epsilon: fit chooses sigma so that the run ends within it, and a
 * resumed run counts what the model spent before. */
static void target_epsilon(void)
{
    lam_dataset *ds = separable(20);
    lam_dp_options dp = lam_dp_defaults();
    dp.target_epsilon = 4.0;
    dp.seeded_noise = true;
    lam_fit_options fo = lam_fit_defaults();
    fo.batch_size = 5;
    fo.verbose = 0;
    fo.dp = &dp;
    fo.epochs = 3;
    lam_model *m = mlp(4, 0.1f);
    lam_history *h = NULL;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    const double sigma1 = strtod(lam_model_metadata(m, "dp.noise_multiplier"), NULL);
    double want;
    CHECK_OK(lam_privacy_noise_multiplier(LAM_ACCOUNTANT_RDP, 4.0, 1e-5, 0.25, 12, 0.01, &want));
    CHECK(sigma1 == want, "sigma %.17g, one-shot calibration %.17g", sigma1, want);
    CHECK(h->log[2].epsilon <= 4.0 && h->log[2].epsilon > 3.99, "epsilon %.6f after the run",
          h->log[2].epsilon);
    lam_history_free(h);
    /* Resumed with a larger budget: the total stays within it, so sigma is
     * larger than the same budget from scratch would need. */
    dp.target_epsilon = 6.0;
    fo.initial_epoch = 3;
    fo.epochs = 3;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    const double sigma2 = strtod(lam_model_metadata(m, "dp.noise_multiplier"), NULL);
    CHECK_OK(lam_privacy_noise_multiplier(LAM_ACCOUNTANT_RDP, 6.0, 1e-5, 0.25, 12, 0.01, &want));
    CHECK(sigma2 > want, "resumed sigma %.6g, not above the fresh run's %.6g", sigma2, want);
    CHECK(h->log[2].epsilon <= 6.0 && h->log[2].epsilon > 5.99, "resumed: epsilon %.6f at the "
          "end, budget 6", h->log[2].epsilon);
    printf("target epsilon: sigma %.4f for 4 in 12 steps, then %.4f for 6 in 24\n", sigma1,
           sigma2);
    lam_history_free(h);
    /* A budget already spent is refused. */
    dp.target_epsilon = 5.0;
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "already spent");
    lam_model_free(m);
    lam_dataset_free(ds);
}

int main(void)
{
    lam_set_threads(1);
    sensitivity();
    dropout_masks();
    noise_scale();
    accounting();
    target_epsilon();
    batchnorm_refused();
    poisson_sizes();
    learns();
    return test_summary("test_dp");
}
