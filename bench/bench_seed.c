/* bench_seed.c - lamina's side of bench/run.sh: trains the seed CNN or the
 * seed LSTM for one epoch of Fashion-MNIST and prints one JSON line with the
 * same fields as the PyTorch and Keras twins (see bench/README.md).
 *
 * usage: bench_seed --model cnn|lstm [--threads N] [--limit N] [--batch-size N] [--repeats R]
 */
#include <lamina.h>

#include "bench_common.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Timing as the twins: the epoch without its first step. */
typedef struct {
    double first_step_end, epoch_end;
    int64_t steps;
} timing;

static void on_progress(const lam_progress *p, void *user)
{
    timing *t = user;
    if (p->event == LAM_PROGRESS_STEP && p->step == 1) t->first_step_end = p->seconds;
    if (p->event == LAM_PROGRESS_EPOCH_END) {
        t->epoch_end = p->seconds;
        t->steps = p->steps;
    }
}

static lam_model *seed_model(bool lstm)
{
    lam_model *m = lam_sequential("sequential");
    if (!m) return NULL;
    lam_model_set_seed(m, 42);
    lam_status s;
    if (lstm) {
        s = lam_model_add_input(m, 2, (int64_t[]){28, 28});
        if (!s) s = lam_model_add_lstm(m, 64, true);
        if (!s) s = lam_model_add_lstm(m, 64, true);
        if (!s) s = lam_model_add_lstm(m, 64, false);
    } else {
        s = bench_add_seed_cnn_body(m, 28);
    }
    if (!s) s = lam_model_add_dense(m, 10, LAM_ACT_SOFTMAX);
    lam_optimizer adam = lam_adam();
    if (!s) s = lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    if (s) {
        lam_model_free(m);
        return NULL;
    }
    return m;
}

#define FAIL(...)                                 \
    do {                                          \
        fprintf(stderr, "bench_seed: " __VA_ARGS__); \
        fprintf(stderr, "\n");                    \
        return 1;                                 \
    } while (0)

int main(int argc, char **argv)
{
    const char *model_name = "cnn";
    int threads = 1, batch = 32, repeats = 3;
    long limit = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model_name = argv[i + 1];
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--limit")) limit = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch-size")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--repeats")) repeats = atoi(argv[i + 1]);
        else FAIL("unknown option %s", argv[i]);
    }
    const bool lstm = !strcmp(model_name, "lstm");
    if (!lstm && strcmp(model_name, "cnn")) FAIL("--model is cnn or lstm, not %s", model_name);
    if (repeats < 1 || repeats > 50 || batch < 1) FAIL("bad --repeats or --batch-size");
    lam_set_threads(threads);

    lam_dataset *train, *test;
    const char *dir = getenv("LAMINA_DATA");
    if (lam_load_fashion_mnist(dir, true, &train) || lam_load_fashion_mnist(dir, false, &test))
        FAIL("%s", lam_last_error());
    if (limit > 0 && limit < lam_dataset_count(train)) lam_dataset_truncate(train, limit);
    if (lstm) {
        lam_dataset_reshape(train, 2, (int64_t[]){28, 28});
        lam_dataset_reshape(test, 2, (int64_t[]){28, 28});
    }
    const int64_t n = lam_dataset_count(train);

    double us[50], epoch_s[50];
    lam_model *m = NULL;
    for (int r = 0; r < repeats; r++) {
        lam_model_free(m);
        if (!(m = seed_model(lstm))) FAIL("%s", lam_last_error());
        timing t = {0};
        lam_fit_options fo = lam_fit_defaults();
        fo.batch_size = batch;
        fo.verbose = 0;
        fo.progress = on_progress;
        fo.progress_user = &t;
        if (lam_fit(m, train, &fo, NULL)) FAIL("%s", lam_last_error());
        int64_t after_first = n - (n < batch ? n : batch);
        us[r] = after_first > 0 ? (t.epoch_end - t.first_step_end) / (double)after_first * 1e6
                                : t.epoch_end / (double)n * 1e6;
        epoch_s[r] = t.epoch_end;
    }

    lam_eval_result ev;
    if (lam_evaluate(m, test, 256, 0, &ev)) FAIL("%s", lam_last_error());

    /* Batch-1 latency: median of single-sample forward passes. */
    const int64_t in = lam_model_input_size(m);
    float *x = malloc(sizeof(float) * (size_t)(256 * in)), out[256 * 10];
    if (!x) FAIL("out of memory");
    lam_dataset_gather(test, (int64_t[]){0}, 1, x, NULL, NULL);
    double lat[200];
    for (int i = 0; i < 10; i++) lam_predict_raw(m, x, 1, out); /* warm up */
    for (int i = 0; i < 200; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        lam_predict_raw(m, x, 1, out);
        clock_gettime(CLOCK_MONOTONIC, &b);
        lat[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) * 1e-3;
    }
    /* Batch-256 throughput over the test set. */
    int64_t idx[256];
    struct timespec a, b;
    double thr_total = 0;
    int64_t done = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int64_t s = 0; s + 256 <= lam_dataset_count(test); s += 256) {
        for (int i = 0; i < 256; i++) idx[i] = s + i;
        lam_dataset_gather(test, idx, 256, x, NULL, NULL);
        lam_predict_raw(m, x, 256, out);
        done += 256;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    thr_total = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double us_sorted[50], ep_sorted[50];
    memcpy(us_sorted, us, sizeof us);
    memcpy(ep_sorted, epoch_s, sizeof epoch_s);
    printf("{\"framework\": \"lamina\", \"model\": \"%s\", \"threads\": %d, "
           "\"batch_size\": %d, \"train_samples\": %lld, \"repeats\": %d, "
           "\"us_per_sample\": %.2f, \"us_per_sample_all\": [",
           model_name, threads, batch, (long long)n, repeats, bench_median(us_sorted, repeats));
    for (int r = 0; r < repeats; r++) printf(r ? ", %.2f" : "%.2f", us[r]);
    printf("], \"epoch_s\": %.3f, \"latency_b1_us\": %.2f, \"throughput_b256_per_s\": %.1f, "
           "\"peak_rss_mb\": %.1f, \"test_accuracy\": %.4f, \"versions\": {\"lamina\": \"%s\"}}\n",
           bench_median(ep_sorted, repeats), bench_median(lat, 200), (double)done / thr_total,
           (double)ru.ru_maxrss / 1024.0, ev.accuracy, lam_version());
    free(x);
    lam_model_free(m);
    lam_dataset_free(train);
    lam_dataset_free(test);
    return 0;
}
