/* test_callbacks.c - Keras's built-in callbacks: EarlyStopping (patience,
 * min_delta, restore_best_weights), ReduceLROnPlateau (factor, min_lr,
 * cooldown), CSVLogger (Keras's header and rows, append), ModelCheckpoint
 * (save_best_only, {epoch:02d} paths), TerminateOnNaN, and their refusals. */
#include "lamina.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static lam_dataset *toy(void)
{
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, 64, 1, (int64_t[]){4}, true, 0));
    float *x = lam_dataset_x(ds);
    int32_t *y = lam_dataset_labels(ds);
    for (int i = 0; i < 64; i++) {
        y[i] = i % 2;
        for (int k = 0; k < 4; k++) x[i * 4 + k] = (k == y[i] ? 1.0f : 0.0f) + 0.2f * test_rndf();
    }
    return ds;
}

static lam_model *mlp(float lr)
{
    lam_model *m = lam_sequential("mlp");
    lam_model_set_seed(m, 9);
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){4}));
    CHECK_OK(lam_model_add_dense(m, 8, LAM_ACT_TANH));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_SOFTMAX));
    lam_optimizer sgd = lam_sgd();
    sgd.learning_rate = lr;
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    return m;
}

static lam_fit_options opts(int epochs, const lam_callback *cbs, int n)
{
    lam_fit_options fo = lam_fit_defaults();
    fo.epochs = epochs;
    fo.batch_size = 16;
    fo.verbose = 0;
    fo.callbacks = cbs;
    fo.ncallbacks = n;
    return fo;
}

static void early_stopping(void)
{
    lam_dataset *ds = toy();
    /* No epoch improves by min_delta: epoch 1 sets the best, epochs 2 and 3
     * wait, and patience 2 stops after epoch 3. */
    lam_model *m = mlp(0.1f);
    lam_callback es = lam_early_stopping();
    es.monitor = "loss";
    es.patience = 2;
    es.min_delta = 1e9;
    lam_fit_options fo = opts(10, &es, 1);
    lam_history *h = NULL;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    CHECK(h && h->epochs == 3, "EarlyStopping(patience 2) ran %d epochs, expected 3",
          h ? h->epochs : -1);
    CHECK(h && strcmp(h->stopped_by, "EarlyStopping") == 0 && h->stopped_epoch == 3,
          "stopped_by \"%s\" at %d", h ? h->stopped_by : "", h ? h->stopped_epoch : -1);
    lam_history_free(h);
    lam_model_free(m);

    /* restore_best_weights: with mode max on the loss, epoch 1 (the highest
     * loss) stays best; stopping after epoch 2 restores epoch 1's weights,
     * which are those of a one-epoch run. */
    lam_model *a = mlp(0.1f), *b = mlp(0.1f);
    es = lam_early_stopping();
    es.monitor = "loss";
    es.mode = LAM_MONITOR_MAX;
    es.patience = 1;
    es.restore_best_weights = true;
    fo = opts(10, &es, 1);
    CHECK_OK(lam_fit(a, ds, &fo, &h));
    CHECK(h && h->epochs == 2 && h->best_epoch == 1, "ran %d epochs, best %d",
          h ? h->epochs : -1, h ? h->best_epoch : -1);
    lam_history_free(h);
    fo = opts(1, NULL, 0);
    CHECK_OK(lam_fit(b, ds, &fo, NULL));
    CHECK(memcmp(lam_model_params(a), lam_model_params(b),
                 sizeof(float) * (size_t)lam_model_param_count(a)) == 0,
          "restored weights are not epoch 1's");
    lam_model_free(a);
    lam_model_free(b);

    /* An improving run does not stop. */
    m = mlp(0.5f);
    es = lam_early_stopping();
    es.monitor = "loss";
    fo = opts(4, &es, 1);
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    CHECK(h && h->epochs == 4 && h->stopped_by[0] == '\0', "an improving run stopped after %d",
          h ? h->epochs : -1);
    lam_history_free(h);
    lam_model_free(m);
    lam_dataset_free(ds);
}

static void reduce_lr(void)
{
    lam_dataset *ds = toy();
    lam_model *m = mlp(0.08f);
    lam_callback rl = lam_reduce_lr_on_plateau();
    rl.monitor = "loss";
    rl.patience = 1;
    rl.factor = 0.5;
    rl.min_delta = 1e9; /* never an improvement after the first epoch */
    rl.min_lr = 0.015;
    lam_fit_options fo = opts(5, &rl, 1);
    lam_history *h = NULL;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    /* Keras: epoch 1 sets the best; each later epoch waits 1 >= patience
     * and halves, down to min_lr. The log holds the rate the epoch ran with
     * (Keras logs it before reducing). */
    const double want[5] = {0.08, 0.08, 0.04, 0.02, 0.015};
    for (int e = 0; h && e < 5; e++) CHECK_NEAR(h->log[e].learning_rate, want[e], 1e-7);
    lam_history_free(h);
    lam_model_free(m);

    /* cooldown 2: the epoch after a reduction only counts the cooldown
     * down, the next one waits again (Keras: with cooldown 1 the counter is
     * spent at once, so it takes 2 to skip an epoch). */
    m = mlp(0.08f);
    rl.min_lr = 0;
    rl.cooldown = 2;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    const double want_cd[5] = {0.08, 0.08, 0.04, 0.04, 0.02};
    for (int e = 0; h && e < 5; e++) CHECK_NEAR(h->log[e].learning_rate, want_cd[e], 1e-7);
    lam_history_free(h);
    lam_model_free(m);
    lam_dataset_free(ds);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void csv_logger(void)
{
    lam_dataset *ds = toy();
    lam_model *m = mlp(0.3f);
    char path[512];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    lam_callback cl = lam_csv_logger(path);
    lam_fit_options fo = opts(2, &cl, 1);
    fo.validation_split = 0.25f;
    lam_history *h = NULL;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    char *text = slurp(path);
    CHECK(text != NULL, "no CSV log at %s", path);
    if (text && h) {
        CHECK(strncmp(text, "epoch,accuracy,loss,val_accuracy,val_loss\n", 42) == 0,
              "CSV header: %.60s", text);
        /* Row e: "e,accuracy,loss,..." with the history's values read back exactly. */
        const char *row = strchr(text, '\n') + 1;
        for (int e = 0; e < 2; e++) {
            int epoch;
            double acc, loss, vacc, vloss;
            int got = sscanf(row, "%d,%lf,%lf,%lf,%lf", &epoch, &acc, &loss, &vacc, &vloss);
            CHECK(got == 5 && epoch == e, "CSV row %d: %.80s", e, row);
            CHECK(acc == h->log[e].accuracy && loss == h->log[e].loss &&
                      vacc == h->log[e].val_accuracy && vloss == h->log[e].val_loss,
                  "CSV row %d does not read back the history's values", e);
            row = strchr(row, '\n') + 1;
        }
        CHECK(*row == '\0', "CSV has more than 2 rows");
    }
    free(text);
    lam_history_free(h);
    /* append: the rows stay, and no second header. */
    cl.append = true;
    fo = opts(1, &cl, 1);
    fo.validation_split = 0.25f;
    CHECK_OK(lam_fit(m, ds, &fo, NULL));
    text = slurp(path);
    int lines = 0, headers = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n') + 1) {
        lines++;
        headers += strncmp(p, "epoch", 5) == 0;
    }
    CHECK(lines == 4 && headers == 1, "appended log has %d lines, %d headers", lines, headers);
    free(text);
    unlink(path);
    lam_model_free(m);
    lam_dataset_free(ds);
}

static void model_checkpoint(void)
{
    lam_dataset *ds = toy();
    lam_model *m = mlp(0.5f);
    char pattern[512];
    snprintf(pattern, sizeof pattern, "%s/ck-{epoch:02d}-{loss:.3f}.safetensors", dir);
    lam_callback mc = lam_model_checkpoint(pattern);
    mc.monitor = "loss";
    mc.save_best_only = true;
    lam_fit_options fo = opts(3, &mc, 1);
    lam_history *h = NULL;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    for (int e = 0; h && e < 3; e++) {
        char p[600];
        snprintf(p, sizeof p, "%s/ck-%02d-%.3f.safetensors", dir, e + 1, h->log[e].loss);
        bool improved = e == 0 || h->log[e].loss < h->log[e - 1].loss;
        CHECK((access(p, F_OK) == 0) == improved, "checkpoint %s: exists %d, improved %d", p,
              access(p, F_OK) == 0, improved);
        unlink(p);
    }
    lam_history_free(h);
    mc = lam_model_checkpoint("{nope}.safetensors");
    fo = opts(1, &mc, 1);
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "{nope} is not logged");
    lam_model_free(m);
    lam_dataset_free(ds);
}

static void terminate_on_nan(void)
{
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, 32, 1, (int64_t[]){2}, false, 1));
    float *x = lam_dataset_x(ds), *t = lam_dataset_targets(ds);
    for (int i = 0; i < 32; i++) {
        x[2 * i] = x[2 * i + 1] = 1.0f;
        t[i] = 3e38f; /* the squared error overflows */
    }
    lam_model *m = lam_sequential("nan");
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){2}));
    CHECK_OK(lam_model_add_dense(m, 1, LAM_ACT_LINEAR));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    lam_fit_options fo = opts(3, NULL, 0);
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_NUMERIC, "loss became");
    lam_callback tn = lam_terminate_on_nan();
    fo = opts(3, &tn, 1);
    lam_history *h = NULL;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    CHECK(h && strcmp(h->stopped_by, "TerminateOnNaN") == 0 && h->stopped_epoch == 1,
          "TerminateOnNaN: stopped_by \"%s\" at %d", h ? h->stopped_by : "", h ? h->stopped_epoch : -1);
    lam_history_free(h);
    lam_model_free(m);
    lam_dataset_free(ds);
}

static void refusals(void)
{
    lam_dataset *ds = toy();
    lam_model *m = mlp(0.1f);
    lam_callback es = lam_early_stopping(); /* monitors val_loss */
    lam_fit_options fo = opts(1, &es, 1);
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "val_* need validation data");
    es.monitor = "val_acc";
    fo.validation_split = 0.25f;
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "monitor \"val_acc\" is not logged");
    lam_callback rl = lam_reduce_lr_on_plateau();
    rl.monitor = "loss";
    rl.factor = 1.5;
    fo = opts(1, &rl, 1);
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "factor 1.5");
    lam_model *sched = mlp(0.1f);
    lam_optimizer o = *lam_model_optimizer(sched);
    CHECK_OK(lam_schedule_parse("exponential:decay_steps=10,decay_rate=0.5", &o.schedule));
    CHECK_OK(lam_model_compile(sched, &o, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    rl.factor = 0.5;
    CHECK_FAILS(lam_fit(sched, ds, &fo, NULL), LAM_ERR_ARG, "follows a learning-rate schedule");
    lam_model_free(sched);
    lam_callback cl = lam_csv_logger(NULL);
    fo = opts(1, &cl, 1);
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "CSVLogger): no file path");
    lam_callback mc = lam_model_checkpoint("x.st");
    mc.save = NULL;
    fo = opts(1, &mc, 1);
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "no save function");
    lam_model_free(m);
    lam_dataset_free(ds);
}

int main(void)
{
    lam_set_threads(1);
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/lamina-cb-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    early_stopping();
    reduce_lr();
    csv_logger();
    model_checkpoint();
    terminate_on_nan();
    refusals();
    rmdir(dir);
    return test_summary("test_callbacks");
}
