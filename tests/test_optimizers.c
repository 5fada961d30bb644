/* test_optimizers.c - every optimizer, option and learning-rate schedule
 * against Keras 3 (tests/fixtures/optimizers, made by
 * tests/make_optimizer_fixtures.py): the whole parameter buffer after each
 * of 20 steps within 1e-5 relative. Also: a save after 10 steps, loaded and
 * continued, equals 20 uninterrupted steps bit for bit; the thread count does
 * not change the bits; bad settings are refused naming the option. */
#include "fixture.h"
#include "lamina.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STEPS 20
#define LR_STEPS 41
#define NP 16 /* kernel [3, 4] + bias [4] */
#define TOL 1e-5

static float *p0, *grads;
static char dir[256];

static float *load(const char *name, long want)
{
    char path[128];
    snprintf(path, sizeof path, "optimizers/%s.npy", name);
    long n = 0;
    float *a = fixture_load(path, &n);
    CHECK(a && n == want, "fixture %s: %ld values, expected %ld", path, n, want);
    if (a && n != want) {
        free(a);
        a = NULL;
    }
    return a;
}

static int64_t steps_taken(const lam_model *m)
{
    lam_train_state st;
    lam_model_train_state(m, &st);
    return st.step;
}

/* Input(3) -> Dense(4): two weight tensors of different shapes, as the
 * fixtures' two Keras variables, set to p0. */
static lam_model *tiny(const lam_optimizer *o)
{
    lam_model *m = lam_sequential("tiny");
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){3}));
    CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_LINEAR));
    CHECK_OK(lam_model_compile(m, o, LAM_LOSS_MSE));
    lam_tensor_info k, b;
    CHECK(lam_model_num_tensors(m) == 2, "tiny model: %d tensors", lam_model_num_tensors(m));
    CHECK_OK(lam_model_tensor(m, 0, &k));
    CHECK_OK(lam_model_tensor(m, 1, &b));
    CHECK(k.count == 12 && k.shape[0] == 3 && k.shape[1] == 4 && b.count == 4 &&
              k.data == lam_model_params(m) && b.data == k.data + 12,
          "tiny model: the layout is not kernel [3, 4] then bias [4]");
    memcpy(lam_model_params(m), p0, sizeof(float) * NP);
    return m;
}

/* Steps [from, to) with the fixture's gradients and the schedule's rate. */
static void run_steps(lam_model *m, int from, int to)
{
    for (int t = from; t < to; t++) {
        memcpy(lam_model_grads(m), grads + t * NP, sizeof(float) * NP);
        CHECK_OK(lam_optimizer_update(m, lam_model_learning_rate(m)));
    }
}

/* Runs 20 steps and compares every parameter after every step. */
static void against_keras(const char *name, lam_optimizer o)
{
    float *want = load(name, STEPS * NP);
    if (!want || !p0 || !grads) return;
    lam_model *m = tiny(&o);
    double worst = 0;
    int worst_t = 0, worst_i = 0;
    for (int t = 0; t < STEPS; t++) {
        run_steps(m, t, t + 1);
        const float *p = lam_model_params(m);
        for (int i = 0; i < NP; i++) {
            /* The fixtures keep every parameter at least 0.05 from zero. */
            double w = want[t * NP + i], e = fabs((double)p[i] - w) / fabs(w);
            if (!(e <= worst)) {
                worst = e;
                worst_t = t;
                worst_i = i;
            }
        }
    }
    CHECK(worst <= TOL, "%s: relative error %.3g at step %d, parameter %d", name, worst,
          worst_t + 1, worst_i);
    CHECK(steps_taken(m) == STEPS, "%s: %lld steps counted", name, (long long)steps_taken(m));
    printf("  %-32s max relative error vs Keras %.2e\n", name, worst);
    lam_model_free(m);
    free(want);
}

static lam_optimizer lr_of(lam_optimizer o, float lr)
{
    o.learning_rate = lr;
    return o;
}

/* The optimizers of the fixture script's CASES, argument for argument. */
static void optimizers(void)
{
    lam_optimizer o;
    against_keras("sgd", lr_of(lam_sgd(), 0.05f));
    o = lr_of(lam_sgd(), 0.01f);
    o.momentum = 0.9f;
    against_keras("sgd_momentum", o);
    o.nesterov = true;
    against_keras("sgd_nesterov", o);

    against_keras("rmsprop", lr_of(lam_rmsprop(), 0.01f));
    o = lr_of(lam_rmsprop(), 0.01f);
    o.momentum = 0.8f;
    against_keras("rmsprop_momentum", o);
    o = lr_of(lam_rmsprop(), 0.01f);
    o.centered = true;
    against_keras("rmsprop_centered", o);
    o.rho = 0.85f;
    o.momentum = 0.8f;
    o.epsilon = 1e-6f;
    against_keras("rmsprop_centered_momentum", o);

    against_keras("adam", lr_of(lam_adam(), 0.01f));
    o = lr_of(lam_adam(), 0.01f);
    o.beta_1 = 0.8f;
    o.beta_2 = 0.9f;
    o.epsilon = 1e-4f;
    against_keras("adam_betas", o);
    o.amsgrad = true;
    against_keras("adam_amsgrad", o);
    against_keras("adamw", lr_of(lam_adamw(), 0.01f));
    o = lr_of(lam_adamw(), 0.01f);
    o.weight_decay = 0.1f;
    o.beta_1 = 0.8f;
    o.beta_2 = 0.99f;
    o.amsgrad = true;
    against_keras("adamw_amsgrad", o);

    against_keras("adagrad", lr_of(lam_adagrad(), 0.1f));
    o = lr_of(lam_adagrad(), 0.1f);
    o.initial_accumulator_value = 1.0f;
    o.epsilon = 1e-3f;
    against_keras("adagrad_init", o);

    against_keras("adamax", lr_of(lam_adamax(), 0.01f));
    o = lr_of(lam_adamax(), 0.01f);
    o.beta_1 = 0.8f;
    o.beta_2 = 0.9f;
    against_keras("adamax_betas", o);

    against_keras("nadam", lr_of(lam_nadam(), 0.01f));
    o = lr_of(lam_nadam(), 0.01f);
    o.beta_1 = 0.8f;
    o.beta_2 = 0.99f;
    against_keras("nadam_betas", o);

    o = lr_of(lam_sgd(), 0.01f);
    o.momentum = 0.9f;
    o.clipnorm = 1.0f;
    against_keras("sgd_clipnorm", o);
    o = lr_of(lam_sgd(), 0.05f);
    o.clipvalue = 0.5f;
    against_keras("sgd_clipvalue", o);
    o = lr_of(lam_sgd(), 0.05f);
    o.global_clipnorm = 1.5f;
    against_keras("sgd_global_clipnorm", o);
    o = lr_of(lam_sgd(), 0.01f);
    o.momentum = 0.9f;
    o.weight_decay = 0.5f;
    against_keras("sgd_weight_decay", o);
    o = lr_of(lam_adam(), 0.01f);
    o.clipnorm = 1.0f;
    against_keras("adam_clipnorm", o);
    o = lr_of(lam_rmsprop(), 0.01f);
    o.momentum = 0.5f;
    o.clipvalue = 0.5f;
    o.weight_decay = 0.05f;
    against_keras("rmsprop_clipvalue_weight_decay", o);
    o = lr_of(lam_adagrad(), 0.1f);
    o.clipnorm = 1.0f;
    o.weight_decay = 0.02f;
    against_keras("adagrad_clipnorm_weight_decay", o);
    o = lr_of(lam_adamax(), 0.01f);
    o.clipvalue = 0.3f;
    against_keras("adamax_clipvalue", o);
    o = lr_of(lam_nadam(), 0.01f);
    o.global_clipnorm = 1.0f;
    against_keras("nadam_global_clipnorm", o);
    o = lr_of(lam_nadam(), 0.01f);
    o.weight_decay = 0.05f;
    against_keras("nadam_weight_decay", o);
}

/* The fixture script's SCHEDULES, as the CLI's text (which also tests the
 * parser), with the initial rate as the optimizer's learning_rate. */
static const struct {
    const char *name, *text;
    float lr;
} schedules[] = {
    {"exponential", "exponential:decay_steps=5,decay_rate=0.5", 0.02f},
    {"exponential_staircase", "exponential:decay_steps=5,decay_rate=0.5,staircase=1", 0.02f},
    {"piecewise", "piecewise:boundaries=4/9/14,values=0.02/0.01/0.005/0.002", 0.02f},
    {"cosine", "cosine:decay_steps=15,alpha=0.1", 0.02f},
    {"cosine_warmup", "CosineDecay:decay_steps=10,warmup_target=0.02,warmup_steps=5", 0.002f},
    {"inverse_time", "inverse_time:decay_steps=4,decay_rate=0.5", 0.02f},
    {"inverse_time_staircase", "InverseTimeDecay:decay_steps=4,decay_rate=0.5,staircase=true",
     0.02f},
};
#define NSCHED (int)(sizeof schedules / sizeof schedules[0])

static lam_optimizer scheduled(lam_optimizer o, int k)
{
    o.learning_rate = schedules[k].lr;
    CHECK_OK(lam_schedule_parse(schedules[k].text, &o.schedule));
    return o;
}

static void learning_rate_schedules(void)
{
    for (int k = 0; k < NSCHED; k++) {
        char name[64];
        snprintf(name, sizeof name, "lr_%s", schedules[k].name);
        float *want = load(name, LR_STEPS);
        if (!want) continue;
        lam_optimizer o = scheduled(lam_sgd(), k);
        double worst = 0;
        for (int s = 0; s < LR_STEPS; s++) {
            double got = lam_schedule_lr(&o, s), e = fabs(got - want[s]);
            /* Cosine decays to exactly 0 with alpha 0: absolute there. */
            e = want[s] != 0 ? e / fabs(want[s]) : e;
            CHECK(e <= TOL, "%s: step %d: %.9g, Keras %.9g", name, s, got, (double)want[s]);
            if (e > worst) worst = e;
        }
        printf("  %-32s max relative error vs Keras %.2e\n", name, worst);
        free(want);

        snprintf(name, sizeof name, "sched_%s", schedules[k].name);
        o = scheduled(lam_sgd(), k);
        o.momentum = 0.5f;
        against_keras(name, o);
    }
    lam_optimizer o = lam_adamw();
    o.weight_decay = 0.5f;
    against_keras("sched_adamw_cosine_warmup", scheduled(o, 4));
    against_keras("sched_nadam_exponential", scheduled(lam_nadam(), 0));

    /* The model's rate follows its step; set_learning_rate replaces the
     * schedule from that step on and keeps the step and the state. */
    lam_optimizer e = scheduled(lam_adam(), 0);
    lam_model *m = tiny(&e);
    CHECK(lam_model_learning_rate(m) == 0.02f, "lr at step 0: %g", lam_model_learning_rate(m));
    run_steps(m, 0, 5);
    CHECK(fabsf(lam_model_learning_rate(m) - 0.01f) < 1e-9f, "exponential lr at step 5: %.9g, "
          "expected 0.01", lam_model_learning_rate(m));
    float m0 = lam_model_slot(m, 0)[3];
    CHECK_OK(lam_model_set_learning_rate(m, 0.003f));
    CHECK(lam_model_optimizer(m)->schedule.kind == LAM_SCHEDULE_NONE, "schedule kept");
    CHECK(lam_model_learning_rate(m) == 0.003f && steps_taken(m) == 5 &&
              lam_model_slot(m, 0)[3] == m0,
          "set_learning_rate: lr %g, step %lld", lam_model_learning_rate(m),
          (long long)steps_taken(m));
    run_steps(m, 5, 7);
    CHECK(lam_model_learning_rate(m) == 0.003f, "constant lr after 7 steps: %g",
          lam_model_learning_rate(m));
    CHECK_FAILS(lam_model_set_learning_rate(m, -1), LAM_ERR_ARG, "learning_rate");
    lam_model_free(m);
}

static bool same_optimizer(const lam_optimizer *a, const lam_optimizer *b)
{
    const lam_schedule *s = &a->schedule, *t = &b->schedule;
    bool same = a->kind == b->kind && a->learning_rate == b->learning_rate &&
                a->beta_1 == b->beta_1 && a->beta_2 == b->beta_2 && a->epsilon == b->epsilon &&
                a->momentum == b->momentum && a->nesterov == b->nesterov &&
                a->amsgrad == b->amsgrad && a->centered == b->centered && a->rho == b->rho &&
                a->initial_accumulator_value == b->initial_accumulator_value &&
                a->weight_decay == b->weight_decay &&
                strcmp(a->exclude_from_weight_decay, b->exclude_from_weight_decay) == 0 &&
                a->clipnorm == b->clipnorm &&
                a->clipvalue == b->clipvalue && a->global_clipnorm == b->global_clipnorm &&
                s->kind == t->kind && s->staircase == t->staircase &&
                s->decay_rate == t->decay_rate && s->decay_steps == t->decay_steps &&
                s->alpha == t->alpha && s->warmup_target == t->warmup_target &&
                s->warmup_steps == t->warmup_steps && s->n_boundaries == t->n_boundaries;
    for (int i = 0; same && i < s->n_boundaries; i++)
        same = s->boundaries[i] == t->boundaries[i] && s->values[i] == t->values[i] &&
               s->values[i + 1] == t->values[i + 1];
    return same;
}

/* Save after 10 steps, load, 10 more == 20 steps at once, bit for bit:
 * weights, every slot, Nadam's u_product (through the weights it moves),
 * the step and so the schedule's position. */
static void resume(void)
{
    lam_optimizer cases[6];
    cases[0] = scheduled(lam_nadam(), 4); /* cosine with warmup */
    cases[0].clipnorm = 1.0f;
    cases[1] = scheduled(lam_adagrad(), 0); /* exponential */
    cases[1].weight_decay = 0.01f;
    cases[2] = scheduled(lam_rmsprop(), 2); /* piecewise */
    cases[2].centered = true;
    cases[2].momentum = 0.5f;
    cases[3] = scheduled(lam_adamw(), 6); /* inverse time, staircase */
    cases[3].amsgrad = true;
    cases[3].global_clipnorm = 2.0f;
    strcpy(cases[3].exclude_from_weight_decay, "bias");
    cases[4] = scheduled(lam_adamax(), 3); /* cosine */
    cases[4].clipvalue = 0.4f;
    cases[5] = scheduled(lam_sgd(), 1); /* exponential, staircase */
    cases[5].momentum = 0.9f;
    cases[5].nesterov = true;
    char path[512];
    snprintf(path, sizeof path, "%s/resume.safetensors", dir);
    for (int k = 0; k < 6; k++) {
        lam_model *full = tiny(&cases[k]), *half = tiny(&cases[k]), *back = NULL;
        run_steps(full, 0, STEPS);
        run_steps(half, 0, STEPS / 2);
        CHECK_OK(lam_model_save(half, path));
        CHECK_OK(lam_model_load(path, &back));
        if (!back) {
            lam_model_free(full);
            lam_model_free(half);
            continue;
        }
        CHECK(same_optimizer(lam_model_optimizer(back), &cases[k]),
              "case %d: the optimizer read back differs from the one saved", k);
        CHECK(steps_taken(back) == STEPS / 2, "case %d: step %lld read back", k,
              (long long)steps_taken(back));
        CHECK(lam_model_learning_rate(back) == lam_model_learning_rate(half),
              "case %d: lr %g read back, %g saved", k, lam_model_learning_rate(back),
              lam_model_learning_rate(half));
        run_steps(back, STEPS / 2, STEPS);
        CHECK(memcmp(lam_model_params(back), lam_model_params(full), sizeof(float) * NP) == 0,
              "case %d (%s): 10 + 10 steps through a file != 20 steps", k,
              lam_model_optimizer(full)->kind == LAM_OPT_NADAM ? "nadam" : "other");
        CHECK(lam_model_num_slots(back) == lam_model_num_slots(full) &&
                  lam_model_num_slots(full) == lam_optimizer_slot_count(&cases[k]),
              "case %d: %d slots, expected %d", k, lam_model_num_slots(back),
              lam_optimizer_slot_count(&cases[k]));
        for (int s = 0; s < lam_model_num_slots(full); s++)
            CHECK(memcmp(lam_model_slot(back, s), lam_model_slot(full, s),
                         sizeof(float) * NP) == 0, "case %d: slot %d differs", k, s);
        lam_model_free(back);
        lam_model_free(full);
        lam_model_free(half);
    }
    unlink(path);
}

/* exclude_from_weight_decay: with zero gradients an AdamW step only
 * decays, so the kernel shrinks by lr * weight_decay and an excluded bias
 * stays as it was; "ker" matches "kernel" (substrings); bad lists refused. */
static void weight_decay_exclusions(void)
{
    static const char *const lists[] = {"bias", "gamma,bias", "ker", ""};
    static const bool kernel_decays[] = {true, true, false, true};
    static const bool bias_decays[] = {false, false, true, true};
    for (int c = 0; c < 4; c++) {
        lam_optimizer o = lam_adamw();
        o.weight_decay = 0.5f;
        o.learning_rate = 0.1f;
        strcpy(o.exclude_from_weight_decay, lists[c]);
        lam_model *m = lam_sequential("decay");
        CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){3}));
        CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_LINEAR));
        CHECK_OK(lam_model_compile(m, &o, LAM_LOSS_MSE));
        float *p = lam_model_params(m);
        for (int i = 0; i < NP; i++) p[i] = 1.0f + (float)i;
        memset(lam_model_grads(m), 0, sizeof(float) * NP);
        CHECK_OK(lam_optimizer_update(m, 0.1f));
        for (int i = 0; i < NP; i++) {
            const bool decays = i < 12 ? kernel_decays[c] : bias_decays[c];
            const float want = decays ? (1.0f + (float)i) * (1.0f - 0.05f) : 1.0f + (float)i;
            CHECK_NEAR(p[i], want, 1e-5 * want);
        }
        lam_model_free(m);
    }
    static const char *const bad[] = {",bias", "bias,", "bias,,gamma", "bias gamma"};
    for (int c = 0; c < 4; c++) {
        lam_optimizer o = lam_adamw();
        strcpy(o.exclude_from_weight_decay, bad[c]);
        CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "exclude_from_weight_decay");
    }
}

/* Larger than the 65,536 parameters above which the update is split
 * across threads: one thread and two give the same bits, clipping norms
 * included. */
static void thread_independence(void)
{
    lam_optimizer cases[3] = {lam_adam(), lam_nadam(), lam_rmsprop()};
    cases[0].clipnorm = 0.5f;
    cases[1].global_clipnorm = 1.0f;
    cases[2].centered = true;
    cases[2].clipvalue = 0.01f;
    cases[2].weight_decay = 0.1f;
    const int before = lam_get_threads();
    for (int k = 0; k < 3; k++) {
        lam_model *m[2];
        int64_t n = 0;
        for (int r = 0; r < 2; r++) {
            lam_set_threads(r + 1);
            m[r] = lam_sequential("wide");
            CHECK_OK(lam_model_add_input(m[r], 1, (int64_t[]){300}));
            CHECK_OK(lam_model_add_dense(m[r], 300, LAM_ACT_LINEAR));
            CHECK_OK(lam_model_compile(m[r], &cases[k], LAM_LOSS_MSE));
            n = lam_model_param_count(m[r]);
            test_rng_state = 0x1234567ull + (uint64_t)k;
            for (int t = 0; t < 3; t++) {
                float *g = lam_model_grads(m[r]);
                for (int64_t i = 0; i < n; i++) g[i] = test_rndf() * 0.01f;
                CHECK_OK(lam_optimizer_update(m[r], lam_model_learning_rate(m[r])));
            }
        }
        CHECK(n > 65536, "the wide model has only %lld parameters", (long long)n);
        CHECK(memcmp(lam_model_params(m[0]), lam_model_params(m[1]), sizeof(float) * n) == 0,
              "case %d: 1 and 2 threads give different weights", k);
        for (int s = 0; s < lam_model_num_slots(m[0]); s++)
            CHECK(memcmp(lam_model_slot(m[0], s), lam_model_slot(m[1], s),
                         sizeof(float) * n) == 0, "case %d: slot %d differs by threads", k, s);
        lam_model_free(m[0]);
        lam_model_free(m[1]);
    }
    lam_set_threads(before);
}

/* Every check names the option and the range it expects. */
static void refusals(void)
{
    lam_optimizer o;
    CHECK_FAILS(lam_optimizer_parse("adagradd", &o), LAM_ERR_UNSUPPORTED, "adagradd");
    const char *names[] = {"adam", "ADAMW", "sgd", "RMSprop", "adagrad", "adamax", "Nadam"};
    const lam_optimizer_kind kinds[] = {LAM_OPT_ADAM,    LAM_OPT_ADAMW,   LAM_OPT_SGD,
                                        LAM_OPT_RMSPROP, LAM_OPT_ADAGRAD, LAM_OPT_ADAMAX,
                                        LAM_OPT_NADAM};
    for (int i = 0; i < 7; i++) {
        CHECK_OK(lam_optimizer_parse(names[i], &o));
        CHECK(o.kind == kinds[i], "%s parsed as kind %d", names[i], (int)o.kind);
        CHECK_OK(lam_optimizer_check(&o));
    }
    /* Keras's defaults. */
    o = lam_adamw();
    CHECK(o.weight_decay == 0.004f && o.learning_rate == 1e-3f && o.epsilon == 1e-7f,
          "adamw defaults");
    o = lam_adagrad();
    CHECK(o.initial_accumulator_value == 0.1f && o.epsilon == 1e-7f && o.learning_rate == 1e-3f,
          "adagrad defaults");
    CHECK(lam_optimizer_slot_count(&o) == 1, "adagrad slots");
    o = lam_nadam();
    CHECK(o.beta_1 == 0.9f && o.beta_2 == 0.999f && lam_optimizer_slot_count(&o) == 2,
          "nadam defaults");

    o = lam_adam();
    o.beta_1 = 1.0f;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "beta_1 is 1, expected 0 <= beta_1 < 1");
    o = lam_adamax();
    o.beta_2 = -0.1f;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "beta_2");
    o = lam_sgd();
    o.clipnorm = 1;
    o.clipvalue = 1;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "only one of clipnorm");
    o = lam_sgd();
    o.global_clipnorm = -1;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "global_clipnorm is -1");
    o = lam_sgd();
    o.weight_decay = NAN;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "weight_decay");
    o = lam_sgd();
    o.amsgrad = true;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "amsgrad applies to adam and adamw");
    o = lam_adam();
    o.centered = true;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "centered applies to rmsprop");
    o = lam_nadam();
    o.momentum = 0.5f;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "momentum applies to sgd and rmsprop");
    o = lam_adagrad();
    o.initial_accumulator_value = -1;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "initial_accumulator_value");
    o = lam_rmsprop();
    o.rho = 1;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "rho is 1");

    o = lam_sgd();
    o.schedule.kind = LAM_SCHEDULE_EXPONENTIAL;
    o.schedule.decay_rate = 0.5f;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "decay_steps is 0, expected");
    o.schedule.decay_steps = 10;
    CHECK_OK(lam_optimizer_check(&o));
    o.schedule.decay_rate = 0;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "decay_rate is 0");
    o.schedule = (lam_schedule){.kind = LAM_SCHEDULE_PIECEWISE_CONSTANT, .n_boundaries = 2,
                                .boundaries = {5, 5}, .values = {0.1f, 0.01f, 0.001f}};
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "increasing boundaries");
    o.schedule.n_boundaries = LAM_SCHEDULE_MAX_VALUES;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "expected 1 to 15");
    o.schedule = (lam_schedule){.kind = LAM_SCHEDULE_COSINE, .decay_steps = 10,
                                .warmup_steps = 3};
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "unless warmup_target is set");
    o.schedule.warmup_target = 0.1f;
    CHECK_OK(lam_optimizer_check(&o));
    /* A warmup may start from 0 (Keras's CosineDecay(0.0, ...)): rate 0 at
     * step 0, half the target half way; without a warmup 0 is refused. */
    const float lr0 = o.learning_rate;
    o.learning_rate = 0;
    CHECK_OK(lam_optimizer_check(&o));
    CHECK(lam_schedule_lr(&o, 0) == 0.0f, "warmup from 0: lr %g at step 0",
          (double)lam_schedule_lr(&o, 0));
    CHECK_NEAR(lam_schedule_lr(&o, 1), 0.1 / 3, 1e-7);
    o.schedule.warmup_target = 0;
    o.schedule.warmup_steps = 0;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "learning_rate is 0");
    o.learning_rate = lr0;
    o.schedule.warmup_target = 0.1f;
    o.schedule.warmup_steps = 3;
    o.schedule.alpha = 2;
    CHECK_FAILS(lam_optimizer_check(&o), LAM_ERR_ARG, "alpha is 2");

    lam_schedule s;
    CHECK_FAILS(lam_schedule_parse("linear:decay_steps=3", &s), LAM_ERR_ARG, "unknown kind");
    CHECK_FAILS(lam_schedule_parse("exponential:decay_steps=3,alpha=1", &s), LAM_ERR_ARG,
                "takes no \"alpha\"");
    CHECK_FAILS(lam_schedule_parse("exponential:decay_steps=2.5,decay_rate=1", &s), LAM_ERR_ARG,
                "decay_steps is \"2.5\", expected a whole number");
    CHECK_FAILS(lam_schedule_parse("exponential:decay_rate=0.5", &s), LAM_ERR_ARG,
                "decay_steps is 0");
    CHECK_FAILS(lam_schedule_parse("piecewise:boundaries=1/2,values=0.1/0.2", &s), LAM_ERR_ARG,
                "one more values");
    CHECK_FAILS(lam_schedule_parse("cosine:decay_steps", &s), LAM_ERR_ARG, "key=value");
    CHECK_FAILS(lam_schedule_parse("inverse_time:decay_steps=3,staircase=yes", &s), LAM_ERR_ARG,
                "staircase");
    CHECK_OK(lam_schedule_parse("piecewise:boundaries=100/200,values=0.1/0.01/0.001", &s));
    CHECK(s.kind == LAM_SCHEDULE_PIECEWISE_CONSTANT && s.n_boundaries == 2 &&
              s.boundaries[1] == 200 && s.values[2] == 0.001f,
          "piecewise parsed wrong");
    o = lam_sgd();
    o.schedule = s;
    CHECK(lam_schedule_lr(&o, 100) == 0.1f && lam_schedule_lr(&o, 101) == 0.01f &&
              lam_schedule_lr(&o, 201) == 0.001f,
          "piecewise: a boundary step belongs to the piece it ends");
    CHECK_OK(lam_schedule_parse("none", &s));
    CHECK(s.kind == LAM_SCHEDULE_NONE, "none");

    lam_model *m = tiny(&(lam_optimizer){.kind = LAM_OPT_SGD, .learning_rate = 0.1f});
    CHECK_FAILS(lam_optimizer_update(m, NAN), LAM_ERR_ARG, "learning rate nan");
    CHECK_FAILS(lam_optimizer_update(m, -0.5f), LAM_ERR_ARG, "expected a finite value >= 0");
    CHECK(steps_taken(m) == 0, "a refused update counted a step");
    lam_model_free(m);
    lam_model *raw = lam_sequential("raw");
    CHECK_OK(lam_model_add_input(raw, 1, (int64_t[]){3}));
    CHECK_OK(lam_model_add_dense(raw, 2, LAM_ACT_LINEAR));
    CHECK_FAILS(lam_optimizer_update(raw, 0.1f), LAM_ERR_STATE, "before compile");
    lam_model_free(raw);
}

int main(void)
{
    lam_set_threads(1);
    snprintf(dir, sizeof dir, "/tmp/lamina_test_optimizers.%ld", (long)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not create %s\n", dir);
    p0 = load("p0", NP);
    grads = load("grads", STEPS * NP);
    if (p0 && grads) {
        optimizers();
        learning_rate_schedules();
        resume();
    }
    thread_independence();
    weight_decay_exclusions();
    refusals();
    free(p0);
    free(grads);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("test_optimizers");
}
