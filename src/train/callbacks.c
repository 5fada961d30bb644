/* callbacks.c - Keras's built-in callbacks (EarlyStopping, ModelCheckpoint,
 * ReduceLROnPlateau, CSVLogger, TerminateOnNaN) with their state during
 * one fit. lam_fit calls them after every step and at the end of every
 * epoch; they see the model and the epoch's log, nothing of the loop. */
#include "train/train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

lam_callback lam_callback_defaults(lam_callback_kind kind)
{
    lam_callback c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.monitor = "val_loss";
    c.mode = LAM_MONITOR_AUTO;
    c.separator = ',';
    return c;
}

lam_callback lam_early_stopping(void) { return lam_callback_defaults(LAM_CB_EARLY_STOPPING); }

lam_callback lam_reduce_lr_on_plateau(void)
{
    lam_callback c = lam_callback_defaults(LAM_CB_REDUCE_LR_ON_PLATEAU);
    c.factor = 0.1;
    c.patience = 10;
    c.min_delta = 1e-4;
    return c;
}

lam_callback lam_csv_logger(const char *path)
{
    lam_callback c = lam_callback_defaults(LAM_CB_CSV_LOGGER);
    c.path = path;
    return c;
}

lam_callback lam_terminate_on_nan(void) { return lam_callback_defaults(LAM_CB_TERMINATE_ON_NAN); }

static const char *const kind_names[] = {"EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau",
                                         "CSVLogger", "TerminateOnNaN"};

/* One callback's state during a fit. */
typedef struct cb_state {
    lam_callback cb;
    bool maximize;
    double best;
    int wait, cooldown_left;
    float *best_params, *best_state; /* EarlyStopping with restore_best_weights */
    bool have_best_weights;
    char *csv;                       /* CSVLogger: the file's text so far */
    size_t csv_len, csv_cap;
} cb_state;

struct lam_callback_run {
    int n;
    cb_state *s;
    bool lr_logged; /* a ReduceLROnPlateau adds learning_rate to the log */
};

/* The logged quantity a monitor names; false when the log lacks it. */
static bool log_value(const lam_epoch_log *log, const char *name, bool lr_logged, double *v)
{
    if (strcmp(name, "loss") == 0) *v = log->loss;
    else if (strcmp(name, "accuracy") == 0 && log->has_accuracy) *v = log->accuracy;
    else if (strcmp(name, "val_loss") == 0 && log->has_val) *v = log->val_loss;
    else if (strcmp(name, "val_accuracy") == 0 && log->has_val && log->has_accuracy)
        *v = log->val_accuracy;
    else if (strcmp(name, "learning_rate") == 0 && lr_logged) *v = log->learning_rate;
    else return false;
    return true;
}

static lam_status check_callback(const lam_model *m, const lam_callback *c, int i, bool has_val)
{
    const char *kn = (unsigned)c->kind <= LAM_CB_TERMINATE_ON_NAN ? kind_names[c->kind] : "?";
    if ((unsigned)c->kind > LAM_CB_TERMINATE_ON_NAN)
        return lam_error(LAM_ERR_ARG, "callback %d: unknown kind %d", i, c->kind);
    if ((unsigned)c->mode > LAM_MONITOR_MAX)
        return lam_error(LAM_ERR_ARG, "callback %d (%s): unknown mode %d", i, kn, c->mode);
    const bool monitors = c->kind == LAM_CB_EARLY_STOPPING || c->kind == LAM_CB_REDUCE_LR_ON_PLATEAU ||
                          (c->kind == LAM_CB_MODEL_CHECKPOINT && c->save_best_only);
    if (monitors) {
        lam_epoch_log probe = {.has_accuracy = m->has_accuracy, .has_val = has_val};
        double v;
        if (!c->monitor || !log_value(&probe, c->monitor, false, &v))
            return lam_error(LAM_ERR_ARG, "callback %d (%s): monitor \"%s\" is not logged by this "
                             "fit (it logs loss%s%s)", i, kn, c->monitor ? c->monitor : "(null)",
                             m->has_accuracy ? ", accuracy" : "",
                             has_val ? (m->has_accuracy ? ", val_loss, val_accuracy" : ", val_loss")
                                     : "; val_* need validation data");
    }
    if (c->patience < 0 || c->cooldown < 0 || c->start_from_epoch < 0)
        return lam_error(LAM_ERR_ARG, "callback %d (%s): patience %d, cooldown %d and "
                         "start_from_epoch %d must be >= 0", i, kn, c->patience, c->cooldown,
                         c->start_from_epoch);
    if (!(c->min_delta >= 0 && isfinite(c->min_delta)))
        return lam_error(LAM_ERR_ARG, "callback %d (%s): min_delta %g, expected a finite value "
                         ">= 0", i, kn, c->min_delta);
    if (c->kind == LAM_CB_REDUCE_LR_ON_PLATEAU && !(c->factor > 0 && c->factor < 1))
        return lam_error(LAM_ERR_ARG, "callback %d (ReduceLROnPlateau): factor %g, expected 0 < "
                         "factor < 1", i, c->factor);
    if (c->kind == LAM_CB_REDUCE_LR_ON_PLATEAU && m->opt.schedule.kind != LAM_SCHEDULE_NONE)
        return lam_error(LAM_ERR_ARG, "callback %d (ReduceLROnPlateau): the optimizer follows a "
                         "learning-rate schedule, which the callback cannot change (Keras refuses "
                         "it too); use a constant learning rate", i);
    if (c->kind == LAM_CB_REDUCE_LR_ON_PLATEAU && !(c->min_lr >= 0))
        return lam_error(LAM_ERR_ARG, "callback %d (ReduceLROnPlateau): min_lr %g, expected >= 0",
                         i, c->min_lr);
    if ((c->kind == LAM_CB_MODEL_CHECKPOINT || c->kind == LAM_CB_CSV_LOGGER) && (!c->path || !*c->path))
        return lam_error(LAM_ERR_ARG, "callback %d (%s): no file path", i, kn);
    if (c->kind == LAM_CB_MODEL_CHECKPOINT && !c->save)
        return lam_error(LAM_ERR_ARG, "callback %d (ModelCheckpoint): no save function (make it "
                         "with lam_model_checkpoint)", i);
    if (c->kind == LAM_CB_MODEL_CHECKPOINT && c->key && !c->save_encrypted)
        return lam_error(LAM_ERR_ARG, "callback %d (ModelCheckpoint): a key but no save_encrypted "
                         "function (make it with lam_model_checkpoint_encrypted)", i);
    if (c->kind == LAM_CB_CSV_LOGGER && (c->separator == '\0' || c->separator == '\n'))
        return lam_error(LAM_ERR_ARG, "callback %d (CSVLogger): separator must be a printable "
                         "character", i);
    return LAM_OK;
}

static bool wants_max(const lam_callback *c)
{
    if (c->mode != LAM_MONITOR_AUTO) return c->mode == LAM_MONITOR_MAX;
    return c->monitor && strstr(c->monitor, "acc") != NULL;
}

static lam_status csv_append(cb_state *s, const char *text)
{
    size_t n = strlen(text);
    if (s->csv_len + n + 1 > s->csv_cap) {
        size_t cap = (s->csv_len + n + 1) * 2;
        char *p = lam_realloc(s->csv, cap);
        if (!p) return LAM_ERR_NOMEM;
        s->csv = p;
        s->csv_cap = cap;
    }
    memcpy(s->csv + s->csv_len, text, n + 1);
    s->csv_len += n;
    return LAM_OK;
}

/* CSVLogger with append: the rows already in the file stay. */
static lam_status csv_read_existing(cb_state *s)
{
    FILE *f = fopen(s->cb.path, "rb");
    if (!f) return errno == ENOENT ? LAM_OK
                                   : lam_error(LAM_ERR_IO, "CSVLogger: cannot read %s: %s",
                                               s->cb.path, strerror(errno));
    char buf[4096];
    size_t got;
    lam_status st = LAM_OK;
    while (st == LAM_OK && (got = fread(buf, 1, sizeof buf - 1, f)) > 0) {
        buf[got] = '\0';
        if (strlen(buf) != got)
            st = lam_error(LAM_ERR_FORMAT, "CSVLogger: %s holds a NUL byte; not a CSV log",
                           s->cb.path);
        else if (s->csv_len + got > ((size_t)1 << 26))
            st = lam_error(LAM_ERR_FORMAT, "CSVLogger: %s is larger than 64 MiB; not appending",
                           s->cb.path);
        else st = csv_append(s, buf);
    }
    fclose(f);
    return st;
}

void lam_callbacks_end(lam_callback_run *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        lam_free_aligned(r->s[i].best_params);
        lam_free_aligned(r->s[i].best_state);
        lam_free(r->s[i].csv);
    }
    lam_free(r->s);
    lam_free(r);
}

lam_status lam_callbacks_begin(lam_model *m, const lam_callback *cbs, int n, bool has_val,
                               lam_callback_run **out)
{
    *out = NULL;
    if (n < 0 || (n > 0 && !cbs))
        return lam_error(LAM_ERR_ARG, "fit: %d callbacks but no list", n);
    for (int i = 0; i < n; i++) LAM_TRY(check_callback(m, &cbs[i], i, has_val));
    lam_callback_run *r = lam_calloc(1, sizeof *r);
    if (!r) return LAM_ERR_NOMEM;
    r->s = lam_calloc((size_t)(n ? n : 1), sizeof *r->s);
    if (!r->s) {
        lam_free(r);
        return LAM_ERR_NOMEM;
    }
    r->n = n;
    lam_status st = LAM_OK;
    for (int i = 0; i < n && st == LAM_OK; i++) {
        cb_state *s = &r->s[i];
        s->cb = cbs[i];
        s->maximize = wants_max(&s->cb);
        s->best = s->maximize ? -INFINITY : INFINITY;
        if (s->cb.kind == LAM_CB_REDUCE_LR_ON_PLATEAU) r->lr_logged = true;
        if (s->cb.kind == LAM_CB_EARLY_STOPPING && s->cb.restore_best_weights) {
            s->best_params = lam_alloc_aligned(sizeof(float) * (size_t)(m->nparams ? m->nparams : 1));
            s->best_state = lam_alloc_aligned(sizeof(float) * (size_t)(m->nstate ? m->nstate : 1));
            if (!s->best_params || !s->best_state) st = LAM_ERR_NOMEM;
        }
        if (s->cb.kind == LAM_CB_CSV_LOGGER && s->cb.append && st == LAM_OK) st = csv_read_existing(s);
    }
    if (st != LAM_OK) {
        lam_callbacks_end(r);
        return st;
    }
    *out = r;
    return LAM_OK;
}

bool lam_callbacks_stop_on_loss(const lam_callback_run *r)
{
    for (int i = 0; r && i < r->n; i++)
        if (r->s[i].cb.kind == LAM_CB_TERMINATE_ON_NAN) return true;
    return false;
}

/* Python's repr of a float: the shortest text that reads back the same. */
static void shortest(char *buf, size_t n, double v)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (!strchr(buf, '.') && !strchr(buf, 'e') && !strchr(buf, 'n') && !strchr(buf, 'i') &&
        strlen(buf) + 2 < n)
        strcat(buf, ".0");
}

/* The log's keys in Keras's (sorted) order. */
static int log_keys(const lam_epoch_log *log, bool lr_logged, const char **keys)
{
    static const char *const all[] = {"accuracy", "learning_rate", "loss", "val_accuracy",
                                      "val_loss"};
    int k = 0;
    double v;
    for (int i = 0; i < 5; i++)
        if (log_value(log, all[i], lr_logged, &v)) keys[k++] = all[i];
    return k;
}

static lam_status write_text(FILE *f, void *user)
{
    const cb_state *s = user;
    if (s->csv_len && fwrite(s->csv, 1, s->csv_len, f) != s->csv_len)
        return lam_error(LAM_ERR_IO, "CSVLogger: writing %s failed", s->cb.path);
    return LAM_OK;
}

static lam_status csv_epoch(cb_state *s, int epoch, const lam_epoch_log *log, bool lr_logged)
{
    const char *keys[5];
    const int nk = log_keys(log, lr_logged, keys);
    char line[512], num[40];
    const char sep[2] = {s->cb.separator, '\0'};
    if (s->csv_len == 0) {
        snprintf(line, sizeof line, "epoch");
        for (int i = 0; i < nk; i++) {
            strcat(line, sep);
            strcat(line, keys[i]);
        }
        strcat(line, "\n");
        LAM_TRY(csv_append(s, line));
    }
    snprintf(line, sizeof line, "%d", epoch);
    for (int i = 0; i < nk; i++) {
        double v = 0;
        log_value(log, keys[i], lr_logged, &v);
        shortest(num, sizeof num, v);
        strcat(line, sep);
        strcat(line, num);
    }
    strcat(line, "\n");
    LAM_TRY(csv_append(s, line));
    return lam_write_atomic(s->cb.path, write_text, s);
}

/* Keras's filepath formatting: {epoch}, {epoch:02d}, {val_loss:.4f}. */
static lam_status format_path(const cb_state *s, int epoch, const lam_epoch_log *log,
                              bool lr_logged, char *out, size_t n)
{
    const char *p = s->cb.path;
    size_t k = 0;
    while (*p) {
        if (*p != '{') {
            if (k + 1 >= n) goto too_long;
            out[k++] = *p++;
            continue;
        }
        const char *end = strchr(p, '}');
        if (!end || end - p > 60)
            return lam_error(LAM_ERR_ARG, "ModelCheckpoint: path \"%s\": unclosed \"{\"", s->cb.path);
        char key[64], spec[32] = "";
        size_t len = (size_t)(end - p - 1);
        memcpy(key, p + 1, len);
        key[len] = '\0';
        char *colon = strchr(key, ':');
        if (colon) {
            snprintf(spec, sizeof spec, "%s", colon + 1);
            *colon = '\0';
        }
        char fmt[40], piece[64];
        double v;
        if (strcmp(key, "epoch") == 0) {
            bool ok = !spec[0] || (strspn(spec, "0123456789") == strlen(spec) - 1 &&
                                   spec[strlen(spec) - 1] == 'd');
            if (!ok)
                return lam_error(LAM_ERR_ARG, "ModelCheckpoint: path \"%s\": {epoch:%s} is not an "
                                 "integer format such as {epoch:02d}", s->cb.path, spec);
            snprintf(fmt, sizeof fmt, "%%%s", spec[0] ? spec : "d");
            snprintf(piece, sizeof piece, fmt, epoch + 1);
        } else if (log_value(log, key, lr_logged, &v)) {
            bool ok = !spec[0] || (spec[0] == '.' && strspn(spec + 1, "0123456789") ==
                                                          strlen(spec) - 2 &&
                                   strchr("fge", spec[strlen(spec) - 1]) && strlen(spec) >= 3);
            if (!ok)
                return lam_error(LAM_ERR_ARG, "ModelCheckpoint: path \"%s\": {%s:%s} is not a "
                                 "float format such as {%s:.4f}", s->cb.path, key, spec, key);
            snprintf(fmt, sizeof fmt, "%%%s", spec[0] ? spec : "g");
            snprintf(piece, sizeof piece, fmt, v);
        } else {
            return lam_error(LAM_ERR_ARG, "ModelCheckpoint: path \"%s\": {%s} is not logged by "
                             "this fit", s->cb.path, key);
        }
        size_t pl = strlen(piece);
        if (k + pl >= n) goto too_long;
        memcpy(out + k, piece, pl);
        k += pl;
        p = end + 1;
    }
    out[k] = '\0';
    return LAM_OK;
too_long:
    return lam_error(LAM_ERR_ARG, "ModelCheckpoint: path \"%s\" is too long once formatted",
                     s->cb.path);
}

static bool improves(const cb_state *s, double v, double ref, double delta)
{
    return s->maximize ? v - delta > ref : v + delta < ref;
}

lam_status lam_callbacks_epoch_end(lam_callback_run *r, lam_model *m, int epoch,
                                   lam_epoch_log *log, lam_history *h, bool *stop)
{
    if (!r) return LAM_OK;
    if (r->lr_logged) log->learning_rate = lam_model_learning_rate(m);
    for (int i = 0; i < r->n; i++) {
        cb_state *s = &r->s[i];
        const lam_callback *c = &s->cb;
        double v = 0;
        const bool has = c->monitor && log_value(log, c->monitor, r->lr_logged, &v);
        switch (c->kind) {
        case LAM_CB_EARLY_STOPPING: {
            /* Keras 3: nothing before start_from_epoch; the first epoch's
             * weights are the fallback; stop once `patience` epochs in a row
             * brought no improvement of more than min_delta. */
            if (epoch < c->start_from_epoch || !has) break;
            if (c->restore_best_weights && !s->have_best_weights) {
                memcpy(s->best_params, m->params, sizeof(float) * (size_t)m->nparams);
                memcpy(s->best_state, m->state, sizeof(float) * (size_t)m->nstate);
                s->have_best_weights = true;
            }
            s->wait++;
            if (improves(s, v, s->best, c->min_delta)) {
                s->best = v;
                if (h) h->best_epoch = epoch + 1;
                if (c->restore_best_weights) {
                    memcpy(s->best_params, m->params, sizeof(float) * (size_t)m->nparams);
                    memcpy(s->best_state, m->state, sizeof(float) * (size_t)m->nstate);
                }
                if (!c->has_baseline || improves(s, v, c->baseline, c->min_delta)) {
                    s->wait = 0;
                    break;
                }
            }
            if (s->wait >= c->patience && epoch > 0) {
                *stop = true;
                if (h) {
                    snprintf(h->stopped_by, sizeof h->stopped_by, "EarlyStopping");
                    h->stopped_epoch = epoch + 1;
                }
                if (c->restore_best_weights && s->have_best_weights) {
                    memcpy(m->params, s->best_params, sizeof(float) * (size_t)m->nparams);
                    memcpy(m->state, s->best_state, sizeof(float) * (size_t)m->nstate);
                }
            }
            break;
        }
        case LAM_CB_REDUCE_LR_ON_PLATEAU: {
            if (!has) break;
            if (s->cooldown_left > 0) {
                s->cooldown_left--;
                s->wait = 0;
            }
            if (improves(s, v, s->best, c->min_delta)) {
                s->best = v;
                s->wait = 0;
            } else if (s->cooldown_left == 0 && ++s->wait >= c->patience) {
                /* The rate of the coming step, whether constant or scheduled;
                 * the reduced rate replaces a schedule from here on (Keras
                 * refuses to set a schedule's rate at all). */
                const double old = lam_model_learning_rate(m);
                if (old > c->min_lr) {
                    double lr = old * c->factor;
                    LAM_TRY(lam_model_set_learning_rate(m, (float)(lr > c->min_lr ? lr : c->min_lr)));
                    s->cooldown_left = c->cooldown;
                    s->wait = 0;
                }
            }
            break;
        }
        case LAM_CB_MODEL_CHECKPOINT: {
            if (c->save_best_only) {
                if (!has || !improves(s, v, s->best, 0)) break;
                s->best = v;
            }
            char path[1024];
            LAM_TRY(format_path(s, epoch, log, r->lr_logged, path, sizeof path));
            LAM_TRY(c->key ? c->save_encrypted(m, path, c->key) : c->save(m, path));
            break;
        }
        case LAM_CB_CSV_LOGGER:
            LAM_TRY(csv_epoch(s, epoch, log, r->lr_logged));
            break;
        case LAM_CB_TERMINATE_ON_NAN:
            break;
        }
    }
    return LAM_OK;
}
