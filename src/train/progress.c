/* progress.c - Keras 3's progress display: a bar redrawn in place on a
 * terminal, one plain line per epoch otherwise (so logs stay readable). */
#include "train/progress.h"

#include <string.h>
#include <unistd.h>

void lam_display_init(lam_display *d, FILE *out, int verbose)
{
    memset(d, 0, sizeof *d);
    d->out = out ? out : stdout;
    d->verbose = verbose;
    d->tty = isatty(fileno(d->out));
}

static void format_duration(char *buf, size_t n, double s)
{
    if (s >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, ((int)s % 3600) / 60, (int)s % 60);
    else if (s >= 60) snprintf(buf, n, "%d:%02d", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%ds", (int)(s + 0.5));
}

static void format_per_step(char *buf, size_t n, double s)
{
    if (s >= 1 || s == 0) snprintf(buf, n, "%.0fs/step", s);
    else if (s >= 1e-3) snprintf(buf, n, "%.0fms/step", s * 1e3);
    else snprintf(buf, n, "%.0fus/step", s * 1e6);
}

/* " - accuracy: 0.9012 - loss: 0.3150", names sorted as Keras prints them. */
static void format_metrics(char *buf, size_t n, const lam_progress *p, bool with_val)
{
    int k = 0;
    buf[0] = '\0';
    if (p->has_accuracy) k += snprintf(buf + k, n - (size_t)k, " - accuracy: %.4f", p->accuracy);
    k += snprintf(buf + k, n - (size_t)k, " - loss: %.4f", p->loss);
    if (with_val && p->has_val) {
        if (p->has_accuracy)
            k += snprintf(buf + k, n - (size_t)k, " - val_accuracy: %.4f", p->val_accuracy);
        k += snprintf(buf + k, n - (size_t)k, " - val_loss: %.4f", p->val_loss);
    }
    if (p->has_epsilon) snprintf(buf + k, n - (size_t)k, " - eps %.2f", p->epsilon);
}

static double per_step(const lam_progress *p)
{
    /* Keras leaves the first step (warm-up) out of the per-step time. */
    if (p->step > 1) return (p->seconds - p->first_step_seconds) / (double)(p->step - 1);
    return p->seconds;
}

static void draw_bar(lam_display *d, const lam_progress *p, bool final)
{
    char count[48], times[64], metrics[256], bar[256];
    int digits = snprintf(NULL, 0, "%lld", (long long)p->steps);
    snprintf(count, sizeof count, "%*lld/%lld", digits, (long long)p->step, (long long)p->steps);
    int width = 20, filled = (int)(width * (double)p->step / (double)(p->steps ? p->steps : 1));
    int k = 0;
    if (d->tty) k += snprintf(bar + k, sizeof bar - (size_t)k, "\033[32m");
    for (int i = 0; i < filled; i++) k += snprintf(bar + k, sizeof bar - (size_t)k, "━");
    if (d->tty) k += snprintf(bar + k, sizeof bar - (size_t)k, "\033[0m\033[37m");
    for (int i = filled; i < width; i++) k += snprintf(bar + k, sizeof bar - (size_t)k, "━");
    if (d->tty) snprintf(bar + k, sizeof bar - (size_t)k, "\033[0m");
    char t1[32], t2[32];
    double ps = per_step(p);
    if (final) {
        format_duration(t1, sizeof t1, p->seconds);
    } else {
        format_duration(t1, sizeof t1, ps * (double)(p->steps - p->step));
    }
    format_per_step(t2, sizeof t2, ps);
    snprintf(times, sizeof times, "%s %s", t1, t2);
    format_metrics(metrics, sizeof metrics, p, final);
    fprintf(d->out, "\r%s %s %s%s\033[K", count, bar, times, metrics);
    if (final) fputc('\n', d->out);
    fflush(d->out);
}

static void plain_line(lam_display *d, const lam_progress *p)
{
    char t1[32], t2[32], metrics[256];
    format_duration(t1, sizeof t1, p->seconds);
    format_per_step(t2, sizeof t2, per_step(p));
    format_metrics(metrics, sizeof metrics, p, true);
    fprintf(d->out, "%lld/%lld - %s - %s%s\n", (long long)p->step, (long long)p->steps, t1, t2,
            metrics);
    fflush(d->out);
}

void lam_display_progress(const lam_progress *p, void *user)
{
    lam_display *d = user;
    if (d->verbose <= 0) return;
    switch (p->event) {
    case LAM_PROGRESS_EPOCH_BEGIN:
        if (p->epochs > 1 || p->epoch > 1) fprintf(d->out, "Epoch %d/%d\n", p->epoch, p->epochs);
        d->last_draw = -1;
        break;
    case LAM_PROGRESS_STEP:
    case LAM_PROGRESS_EVAL_STEP:
        if (d->verbose == 1 && d->tty && p->step < p->steps &&
            (d->last_draw < 0 || p->seconds - d->last_draw >= 0.05)) {
            draw_bar(d, p, false);
            d->last_draw = p->seconds;
        }
        break;
    case LAM_PROGRESS_EPOCH_END:
    case LAM_PROGRESS_EVAL_END:
        if (d->verbose == 1 && d->tty) draw_bar(d, p, true);
        else plain_line(d, p);
        break;
    }
}
