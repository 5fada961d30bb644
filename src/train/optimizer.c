/* optimizer.c - Keras 3's optimizers (SGD, RMSprop, Adam, AdamW, Adagrad,
 * Adamax, Nadam) with their exact update rules, their generic options
 * (weight_decay, clipnorm, clipvalue, global_clipnorm) and learning-rate
 * schedules, over the flat parameter, gradient and slot buffers.
 * Formulas as in keras/src/optimizers/<name>.py, base_optimizer.py and
 * schedules/learning_rate_schedule.py (Keras 3.15). */
#include "train/train.h"
#include "kernels/kernels.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ constructors */

/* Zeroed first so that padding is too: two optimizers with equal settings
 * compare equal with memcmp (the model-file round-trip tests do). */
static lam_optimizer base(lam_optimizer_kind kind, float lr)
{
    lam_optimizer o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    o.learning_rate = lr;
    o.beta_1 = 0.9f;
    o.beta_2 = 0.999f;
    o.epsilon = 1e-7f;
    o.rho = 0.9f;
    o.initial_accumulator_value = 0.1f;
    return o;
}

lam_optimizer lam_adam(void) { return base(LAM_OPT_ADAM, 1e-3f); }
lam_optimizer lam_sgd(void) { return base(LAM_OPT_SGD, 0.01f); }
lam_optimizer lam_rmsprop(void) { return base(LAM_OPT_RMSPROP, 1e-3f); }
lam_optimizer lam_adagrad(void) { return base(LAM_OPT_ADAGRAD, 1e-3f); }
lam_optimizer lam_adamax(void) { return base(LAM_OPT_ADAMAX, 1e-3f); }
lam_optimizer lam_nadam(void) { return base(LAM_OPT_NADAM, 1e-3f); }

lam_optimizer lam_adamw(void)
{
    lam_optimizer o = base(LAM_OPT_ADAMW, 1e-3f);
    o.weight_decay = 0.004f; /* Keras's AdamW default */
    return o;
}

static const char *const kind_name[LAM_OPT_COUNT] = {
    [LAM_OPT_ADAM] = "adam",       [LAM_OPT_SGD] = "sgd",       [LAM_OPT_RMSPROP] = "rmsprop",
    [LAM_OPT_ADAMW] = "adamw",     [LAM_OPT_ADAGRAD] = "adagrad", [LAM_OPT_ADAMAX] = "adamax",
    [LAM_OPT_NADAM] = "nadam",
};

lam_status lam_optimizer_parse(const char *name, lam_optimizer *out)
{
    static lam_optimizer (*const make[LAM_OPT_COUNT])(void) = {
        [LAM_OPT_ADAM] = lam_adam,       [LAM_OPT_SGD] = lam_sgd,
        [LAM_OPT_RMSPROP] = lam_rmsprop, [LAM_OPT_ADAMW] = lam_adamw,
        [LAM_OPT_ADAGRAD] = lam_adagrad, [LAM_OPT_ADAMAX] = lam_adamax,
        [LAM_OPT_NADAM] = lam_nadam,
    };
    if (!name || !out) return lam_error(LAM_ERR_ARG, "lam_optimizer_parse: NULL argument");
    for (int k = 0; k < LAM_OPT_COUNT; k++)
        if (strcasecmp(name, kind_name[k]) == 0) {
            *out = make[k]();
            return LAM_OK;
        }
    return lam_error(LAM_ERR_UNSUPPORTED, "optimizer \"%s\" is not supported (expected adam, "
                     "adamw, sgd, rmsprop, adagrad, adamax or nadam)", name);
}

/* ------------------------------------------------------------------ checks */

static const char *schedule_name(lam_schedule_kind k)
{
    switch (k) {
    case LAM_SCHEDULE_NONE: return "none";
    case LAM_SCHEDULE_EXPONENTIAL: return "exponential";
    case LAM_SCHEDULE_PIECEWISE_CONSTANT: return "piecewise";
    case LAM_SCHEDULE_COSINE: return "cosine";
    case LAM_SCHEDULE_INVERSE_TIME: return "inverse_time";
    default: return "?";
    }
}

static lam_status schedule_check(const lam_schedule *s)
{
    const char *n = schedule_name(s->kind);
    switch (s->kind) {
    case LAM_SCHEDULE_NONE:
        return LAM_OK;
    case LAM_SCHEDULE_EXPONENTIAL:
    case LAM_SCHEDULE_INVERSE_TIME:
    case LAM_SCHEDULE_COSINE:
        if (s->decay_steps <= 0)
            return lam_error(LAM_ERR_ARG, "learning-rate schedule %s: decay_steps is %lld, "
                             "expected a whole number > 0", n, (long long)s->decay_steps);
        break;
    case LAM_SCHEDULE_PIECEWISE_CONSTANT:
        break;
    default:
        return lam_error(LAM_ERR_ARG, "learning-rate schedule: unknown kind %d", (int)s->kind);
    }
    if (s->kind == LAM_SCHEDULE_EXPONENTIAL && !(s->decay_rate > 0 && isfinite(s->decay_rate)))
        return lam_error(LAM_ERR_ARG, "learning-rate schedule exponential: decay_rate is %g, "
                         "expected a finite value > 0", (double)s->decay_rate);
    if (s->kind == LAM_SCHEDULE_INVERSE_TIME && !(s->decay_rate >= 0 && isfinite(s->decay_rate)))
        return lam_error(LAM_ERR_ARG, "learning-rate schedule inverse_time: decay_rate is %g, "
                         "expected a finite value >= 0", (double)s->decay_rate);
    if (s->kind == LAM_SCHEDULE_COSINE) {
        if (!(s->alpha >= 0 && s->alpha <= 1))
            return lam_error(LAM_ERR_ARG, "learning-rate schedule cosine: alpha is %g, expected "
                             "0 <= alpha <= 1", (double)s->alpha);
        if (!(s->warmup_target >= 0 && isfinite(s->warmup_target)))
            return lam_error(LAM_ERR_ARG, "learning-rate schedule cosine: warmup_target is %g, "
                             "expected a finite value >= 0 (0: no warmup)",
                             (double)s->warmup_target);
        if (s->warmup_steps < 0 || (s->warmup_steps > 0 && s->warmup_target == 0))
            return lam_error(LAM_ERR_ARG, "learning-rate schedule cosine: warmup_steps is %lld, "
                             "expected >= 0, and 0 unless warmup_target is set",
                             (long long)s->warmup_steps);
        if (s->warmup_steps > INT64_MAX - s->decay_steps)
            return lam_error(LAM_ERR_ARG, "learning-rate schedule cosine: warmup_steps + "
                             "decay_steps overflow");
    }
    if (s->kind == LAM_SCHEDULE_PIECEWISE_CONSTANT) {
        if (s->n_boundaries < 1 || s->n_boundaries > LAM_SCHEDULE_MAX_VALUES - 1)
            return lam_error(LAM_ERR_ARG, "learning-rate schedule piecewise: %d boundaries, "
                             "expected 1 to %d", s->n_boundaries, LAM_SCHEDULE_MAX_VALUES - 1);
        for (int i = 1; i < s->n_boundaries; i++)
            if (s->boundaries[i] <= s->boundaries[i - 1])
                return lam_error(LAM_ERR_ARG, "learning-rate schedule piecewise: boundaries[%d] "
                                 "= %lld after %lld; expected increasing boundaries", i,
                                 (long long)s->boundaries[i], (long long)s->boundaries[i - 1]);
        for (int i = 0; i <= s->n_boundaries; i++)
            if (!(s->values[i] >= 0 && isfinite(s->values[i])))
                return lam_error(LAM_ERR_ARG, "learning-rate schedule piecewise: values[%d] is "
                                 "%g, expected a finite value >= 0", i, (double)s->values[i]);
    }
    return LAM_OK;
}

static bool uses_betas(lam_optimizer_kind k)
{
    return k == LAM_OPT_ADAM || k == LAM_OPT_ADAMW || k == LAM_OPT_ADAMAX || k == LAM_OPT_NADAM;
}

/* One optional value: finite and >= 0 (0 meaning off). */
static lam_status check_off_or_positive(const char *opt, const char *what, float v)
{
    if (!(v >= 0 && isfinite(v)))
        return lam_error(LAM_ERR_ARG, "optimizer %s: %s is %g, expected a finite value >= 0 "
                         "(0: off)", opt, what, (double)v);
    return LAM_OK;
}

lam_status lam_optimizer_check(const lam_optimizer *o)
{
    if (!o) return lam_error(LAM_ERR_ARG, "lam_optimizer_check: NULL optimizer");
    if ((unsigned)o->kind >= LAM_OPT_COUNT)
        return lam_error(LAM_ERR_ARG, "optimizer: unknown kind %d", (int)o->kind);
    const char *n = kind_name[o->kind];
    /* A piecewise schedule takes its rates from its values only; a cosine
     * warmup may start from 0 (Keras's CosineDecay(0.0, ..., warmup_target)). */
    const bool warmup = o->schedule.kind == LAM_SCHEDULE_COSINE && o->schedule.warmup_target > 0;
    if (o->schedule.kind != LAM_SCHEDULE_PIECEWISE_CONSTANT &&
        !((warmup ? o->learning_rate >= 0 : o->learning_rate > 0) && isfinite(o->learning_rate)))
        return lam_error(LAM_ERR_ARG, "optimizer %s: learning_rate is %g, expected a finite "
                         "value > 0%s", n, (double)o->learning_rate,
                         warmup ? " (or 0, where a warmup starts)" : "");
    if (uses_betas(o->kind) && !(o->beta_1 >= 0 && o->beta_1 < 1))
        return lam_error(LAM_ERR_ARG, "optimizer %s: beta_1 is %g, expected 0 <= beta_1 < 1", n,
                         (double)o->beta_1);
    if (uses_betas(o->kind) && !(o->beta_2 >= 0 && o->beta_2 < 1))
        return lam_error(LAM_ERR_ARG, "optimizer %s: beta_2 is %g, expected 0 <= beta_2 < 1", n,
                         (double)o->beta_2);
    if (!(o->epsilon >= 0 && isfinite(o->epsilon)))
        return lam_error(LAM_ERR_ARG, "optimizer %s: epsilon is %g, expected a finite value "
                         ">= 0", n, (double)o->epsilon);
    if (!(o->momentum >= 0 && o->momentum < 1))
        return lam_error(LAM_ERR_ARG, "optimizer %s: momentum is %g, expected 0 <= momentum < 1",
                         n, (double)o->momentum);
    if (o->momentum > 0 && o->kind != LAM_OPT_SGD && o->kind != LAM_OPT_RMSPROP)
        return lam_error(LAM_ERR_ARG, "optimizer %s: momentum applies to sgd and rmsprop only",
                         n);
    if (o->nesterov && o->kind != LAM_OPT_SGD)
        return lam_error(LAM_ERR_ARG, "optimizer %s: nesterov applies to sgd only", n);
    if (o->amsgrad && o->kind != LAM_OPT_ADAM && o->kind != LAM_OPT_ADAMW)
        return lam_error(LAM_ERR_ARG, "optimizer %s: amsgrad applies to adam and adamw only", n);
    if (o->centered && o->kind != LAM_OPT_RMSPROP)
        return lam_error(LAM_ERR_ARG, "optimizer %s: centered applies to rmsprop only", n);
    if (o->kind == LAM_OPT_RMSPROP && !(o->rho >= 0 && o->rho < 1))
        return lam_error(LAM_ERR_ARG, "optimizer rmsprop: rho is %g, expected 0 <= rho < 1",
                         (double)o->rho);
    if (o->kind == LAM_OPT_ADAGRAD &&
        !(o->initial_accumulator_value >= 0 && isfinite(o->initial_accumulator_value)))
        return lam_error(LAM_ERR_ARG, "optimizer adagrad: initial_accumulator_value is %g, "
                         "expected a finite value >= 0", (double)o->initial_accumulator_value);
    LAM_TRY(check_off_or_positive(n, "weight_decay", o->weight_decay));
    const char *ex = o->exclude_from_weight_decay;
    const size_t exlen = strnlen(ex, sizeof o->exclude_from_weight_decay);
    if (exlen == sizeof o->exclude_from_weight_decay)
        return lam_error(LAM_ERR_ARG, "optimizer %s: exclude_from_weight_decay is longer than "
                         "%zu characters", n, sizeof o->exclude_from_weight_decay - 1);
    for (size_t i = 0; i < exlen; i++)
        if ((ex[i] == ',' && (i == 0 || i + 1 == exlen || ex[i + 1] == ',')) ||
            (unsigned char)ex[i] <= ' ')
            return lam_error(LAM_ERR_ARG, "optimizer %s: exclude_from_weight_decay \"%s\": "
                             "expected comma-separated names without spaces or empty entries",
                             n, ex);
    LAM_TRY(check_off_or_positive(n, "clipnorm", o->clipnorm));
    LAM_TRY(check_off_or_positive(n, "clipvalue", o->clipvalue));
    LAM_TRY(check_off_or_positive(n, "global_clipnorm", o->global_clipnorm));
    if ((o->clipnorm > 0) + (o->clipvalue > 0) + (o->global_clipnorm > 0) > 1)
        return lam_error(LAM_ERR_ARG, "optimizer %s: only one of clipnorm (%g), clipvalue (%g) "
                         "and global_clipnorm (%g) can be set, as in Keras", n,
                         (double)o->clipnorm, (double)o->clipvalue, (double)o->global_clipnorm);
    lam_status st = schedule_check(&o->schedule);
    if (st != LAM_OK) return lam_error_context(st, "optimizer %s", n);
    return LAM_OK;
}

/* ------------------------------------------------------------------- slots */

int lam_optimizer_slot_count(const lam_optimizer *o)
{
    switch (o->kind) {
    case LAM_OPT_SGD: return o->momentum > 0;
    case LAM_OPT_RMSPROP: return 1 + (o->momentum > 0) + o->centered;
    case LAM_OPT_ADAM:
    case LAM_OPT_ADAMW: return 2 + o->amsgrad;
    case LAM_OPT_ADAGRAD: return 1;
    case LAM_OPT_ADAMAX:
    case LAM_OPT_NADAM: return 2;
    default: return 0;
    }
}

/* The slots in the order the update reads them. Adam's "m" and "v" and
 * RMSprop's "velocity" and "momentum" are the names older files use. */
const char *lam_optimizer_slot_name(const lam_optimizer *o, int slot)
{
    switch (o->kind) {
    case LAM_OPT_SGD: return "momentum";
    case LAM_OPT_RMSPROP:
        if (slot == 0) return "velocity";
        if (slot == 1 && o->momentum > 0) return "momentum";
        return "average_gradient";
    case LAM_OPT_ADAM:
    case LAM_OPT_ADAMW: return slot == 0 ? "m" : slot == 1 ? "v" : "v_hat";
    case LAM_OPT_ADAGRAD: return "accumulator";
    case LAM_OPT_ADAMAX: return slot == 0 ? "m" : "u";
    case LAM_OPT_NADAM: return slot == 0 ? "m" : "v";
    default: return "?";
    }
}

lam_status lam_optimizer_alloc_slots(lam_model *m)
{
    for (int i = 0; i < LAM_MAX_SLOTS; i++) {
        lam_free_aligned(m->slots[i]);
        m->slots[i] = NULL;
    }
    m->nslots = 0;
    const int nslots = lam_optimizer_slot_count(&m->opt);
    for (int i = 0; i < nslots; i++) {
        m->slots[i] = lam_alloc_aligned(sizeof(float) * (size_t)(m->nparams ? m->nparams : 1));
        if (!m->slots[i]) return LAM_ERR_NOMEM;
    }
    m->nslots = nslots;
    lam_optimizer_reset_state(m);
    return LAM_OK;
}

void lam_optimizer_reset_state(lam_model *m)
{
    if (m->opt.kind == LAM_OPT_ADAGRAD && m->nslots > 0)
        for (int64_t i = 0; i < m->nparams; i++) m->slots[0][i] = m->opt.initial_accumulator_value;
    m->opt_scalar = 1.0;
}

/* --------------------------------------------------------------- schedules */

float lam_schedule_lr(const lam_optimizer *o, int64_t step)
{
    const lam_schedule *s = &o->schedule;
    const double lr = o->learning_rate, t = (double)(step < 0 ? 0 : step);
    switch (s->kind) {
    case LAM_SCHEDULE_EXPONENTIAL: {
        double p = t / (double)s->decay_steps;
        if (s->staircase) p = floor(p);
        return (float)(lr * pow(s->decay_rate, p));
    }
    case LAM_SCHEDULE_INVERSE_TIME: {
        double p = t / (double)s->decay_steps;
        if (s->staircase) p = floor(p);
        return (float)(lr / (1.0 + s->decay_rate * p));
    }
    case LAM_SCHEDULE_PIECEWISE_CONSTANT: {
        int i = 0;
        while (i < s->n_boundaries && step > s->boundaries[i]) i++;
        return s->values[i];
    }
    case LAM_SCHEDULE_COSINE: {
        const double ds = (double)s->decay_steps, ws = (double)s->warmup_steps;
        const double alpha = s->alpha, pi = 3.14159265358979323846;
        double from = lr, x = t;
        if (s->warmup_target > 0) {
            x = fmin(x, ds + ws);
            if (x < ws) return (float)((s->warmup_target - lr) * (x / ws) + lr);
            x -= ws;
            from = s->warmup_target;
        }
        x = fmin(x, ds);
        return (float)(from * ((1 - alpha) * 0.5 * (1 + cos(pi * x / ds)) + alpha));
    }
    default:
        return o->learning_rate;
    }
}

float lam_model_learning_rate(const lam_model *m) { return lam_schedule_lr(&m->opt, m->step); }

lam_status lam_model_set_learning_rate(lam_model *m, float learning_rate)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_model_set_learning_rate: NULL model");
    lam_optimizer o = m->opt;
    o.learning_rate = learning_rate;
    memset(&o.schedule, 0, sizeof o.schedule);
    LAM_TRY(lam_optimizer_check(&o));
    m->opt = o;
    return LAM_OK;
}

/* Schedule text: "kind[:key=value,...]" (lamina.h). */
static lam_status parse_num(const char *spec, const char *key, const char *v, size_t len,
                            bool whole, double *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return lam_error(LAM_ERR_ARG, "learning-rate schedule \"%s\": %s needs a value", spec,
                         key);
    memcpy(buf, v, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (*end || errno || !isfinite(d) || (whole && (d != floor(d) || fabs(d) > 9e15)))
        return lam_error(LAM_ERR_ARG, "learning-rate schedule \"%s\": %s is \"%s\", expected %s",
                         spec, key, buf, whole ? "a whole number" : "a number");
    *out = d;
    return LAM_OK;
}

/* A '/'-separated list into out[0..max); its length in *n. */
static lam_status parse_list(const char *spec, const char *key, const char *v, size_t len,
                             bool whole, double *out, int max, int *n)
{
    *n = 0;
    size_t at = 0;
    while (at <= len) {
        size_t e = at;
        while (e < len && v[e] != '/') e++;
        if (*n == max)
            return lam_error(LAM_ERR_ARG, "learning-rate schedule \"%s\": %s has more than %d "
                             "entries", spec, key, max);
        LAM_TRY(parse_num(spec, key, v + at, e - at, whole, &out[(*n)++]));
        at = e + 1;
    }
    return LAM_OK;
}

static bool kind_is(const char *s, size_t len, const char *const *names)
{
    for (; *names; names++)
        if (strlen(*names) == len && strncasecmp(s, *names, len) == 0) return true;
    return false;
}

lam_status lam_schedule_parse(const char *text, lam_schedule *out)
{
    if (!text || !out) return lam_error(LAM_ERR_ARG, "lam_schedule_parse: NULL argument");
    static const char *const exp_names[] = {"exponential", "exponential_decay",
                                            "ExponentialDecay", NULL};
    static const char *const pw_names[] = {"piecewise", "piecewise_constant",
                                           "piecewise_constant_decay", "PiecewiseConstantDecay",
                                           NULL};
    static const char *const cos_names[] = {"cosine", "cosine_decay", "CosineDecay", NULL};
    static const char *const inv_names[] = {"inverse_time", "inverse_time_decay",
                                            "InverseTimeDecay", NULL};
    static const char *const none_names[] = {"none", "constant", NULL};
    lam_schedule s;
    memset(&s, 0, sizeof s);
    const char *colon = strchr(text, ':');
    size_t klen = colon ? (size_t)(colon - text) : strlen(text);
    if (kind_is(text, klen, exp_names)) s.kind = LAM_SCHEDULE_EXPONENTIAL;
    else if (kind_is(text, klen, pw_names)) s.kind = LAM_SCHEDULE_PIECEWISE_CONSTANT;
    else if (kind_is(text, klen, cos_names)) s.kind = LAM_SCHEDULE_COSINE;
    else if (kind_is(text, klen, inv_names)) s.kind = LAM_SCHEDULE_INVERSE_TIME;
    else if (kind_is(text, klen, none_names)) s.kind = LAM_SCHEDULE_NONE;
    else
        return lam_error(LAM_ERR_ARG, "learning-rate schedule \"%s\": unknown kind \"%.*s\" "
                         "(expected exponential, piecewise, cosine, inverse_time or none)", text,
                         (int)klen, text);
    const char *n = schedule_name(s.kind);
    int nvalues = 0;
    bool has_values = false;
    for (const char *p = colon ? colon + 1 : NULL; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq)
            return lam_error(LAM_ERR_ARG, "learning-rate schedule \"%s\": \"%.*s\" is not "
                             "key=value", text, (int)len, p);
        size_t kl = (size_t)(eq - p), vl = len - kl - 1;
        char key[32];
        snprintf(key, sizeof key, "%.*s", (int)kl, p);
        const char *v = eq + 1;
        double d;
        bool decaying = s.kind == LAM_SCHEDULE_EXPONENTIAL || s.kind == LAM_SCHEDULE_INVERSE_TIME;
        if (strcmp(key, "decay_steps") == 0 && s.kind != LAM_SCHEDULE_PIECEWISE_CONSTANT &&
            s.kind != LAM_SCHEDULE_NONE) {
            LAM_TRY(parse_num(text, key, v, vl, true, &d));
            s.decay_steps = (int64_t)d;
        } else if (strcmp(key, "decay_rate") == 0 && decaying) {
            LAM_TRY(parse_num(text, key, v, vl, false, &d));
            s.decay_rate = (float)d;
        } else if (strcmp(key, "staircase") == 0 && decaying) {
            if (vl == 1 && (*v == '0' || *v == '1')) s.staircase = *v == '1';
            else if (vl == 4 && strncasecmp(v, "true", 4) == 0) s.staircase = true;
            else if (vl == 5 && strncasecmp(v, "false", 5) == 0) s.staircase = false;
            else
                return lam_error(LAM_ERR_ARG, "learning-rate schedule \"%s\": staircase is "
                                 "\"%.*s\", expected 0, 1, true or false", text, (int)vl, v);
        } else if (strcmp(key, "alpha") == 0 && s.kind == LAM_SCHEDULE_COSINE) {
            LAM_TRY(parse_num(text, key, v, vl, false, &d));
            s.alpha = (float)d;
        } else if (strcmp(key, "warmup_target") == 0 && s.kind == LAM_SCHEDULE_COSINE) {
            LAM_TRY(parse_num(text, key, v, vl, false, &d));
            s.warmup_target = (float)d;
        } else if (strcmp(key, "warmup_steps") == 0 && s.kind == LAM_SCHEDULE_COSINE) {
            LAM_TRY(parse_num(text, key, v, vl, true, &d));
            s.warmup_steps = (int64_t)d;
        } else if (strcmp(key, "boundaries") == 0 && s.kind == LAM_SCHEDULE_PIECEWISE_CONSTANT) {
            double b[LAM_SCHEDULE_MAX_VALUES - 1];
            LAM_TRY(parse_list(text, key, v, vl, true, b, LAM_SCHEDULE_MAX_VALUES - 1,
                               &s.n_boundaries));
            for (int i = 0; i < s.n_boundaries; i++) s.boundaries[i] = (int64_t)b[i];
        } else if (strcmp(key, "values") == 0 && s.kind == LAM_SCHEDULE_PIECEWISE_CONSTANT) {
            double x[LAM_SCHEDULE_MAX_VALUES];
            LAM_TRY(parse_list(text, key, v, vl, false, x, LAM_SCHEDULE_MAX_VALUES, &nvalues));
            for (int i = 0; i < nvalues; i++) s.values[i] = (float)x[i];
            has_values = true;
        } else {
            return lam_error(LAM_ERR_ARG, "learning-rate schedule \"%s\": %s takes no \"%s\" "
                             "(see `lamina train --help`)", text, n, key);
        }
        p = end ? end + 1 : NULL;
    }
    if (s.kind == LAM_SCHEDULE_PIECEWISE_CONSTANT &&
        (!has_values || nvalues != s.n_boundaries + 1))
        return lam_error(LAM_ERR_ARG, "learning-rate schedule \"%s\": piecewise needs "
                         "boundaries=B1/B2/... and one more values=V0/V1/... (%d boundaries, "
                         "%d values)", text, s.n_boundaries, nvalues);
    lam_status st = schedule_check(&s);
    if (st != LAM_OK) return lam_error_context(st, "\"%s\"", text);
    *out = s;
    return LAM_OK;
}

/* ----------------------------------------------------------------- updates */

/* The rules over [0, n), vectorised; Keras's formulas, operation for
 * operation where the rounding could show. */
LAM_VEC static void sgd_update(float *restrict p, const float *restrict g, float *restrict v,
                               int64_t n, float lr, float mu, bool nesterov)
{
    if (!v) {
        for (int64_t i = 0; i < n; i++) p[i] -= g[i] * lr;
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        v[i] = v[i] * mu - g[i] * lr;
        p[i] += nesterov ? v[i] * mu - g[i] * lr : v[i];
    }
}

/* Keras 3: v = rho v + (1-rho) g^2; centered: a = rho a + (1-rho) g and the
 * denominator is v - a^2 + eps; inc = lr g / sqrt(den); with momentum
 * mom = mu mom + inc and p -= mom. */
LAM_VEC static void rmsprop_update(float *restrict p, const float *restrict g, float *restrict v,
                                   float *restrict mom, float *restrict avg, int64_t n,
                                   float lr, float rho, float eps, float mu)
{
    const float r1 = 1 - rho;
    for (int64_t i = 0; i < n; i++) {
        v[i] = rho * v[i] + r1 * (g[i] * g[i]);
        float den = v[i] + eps;
        if (avg) {
            avg[i] = rho * avg[i] + r1 * g[i];
            den = v[i] - avg[i] * avg[i] + eps;
        }
        float inc = lr * g[i] / sqrtf(den);
        if (mom) {
            mom[i] = mu * mom[i] + inc;
            p[i] -= mom[i];
        } else {
            p[i] -= inc;
        }
    }
}

/* alpha = lr sqrt(1-b2^t)/(1-b1^t); eps is added to the uncorrected
 * sqrt(v) (or of v_hat = max(v_hat, v) with amsgrad). */
LAM_VEC static void adam_update(float *restrict p, const float *restrict g, float *restrict m,
                                float *restrict v, float *restrict vh, int64_t n,
                                float alpha, float b1c, float b2c, float eps)
{
    for (int64_t i = 0; i < n; i++) {
        m[i] += (g[i] - m[i]) * b1c;
        v[i] += (g[i] * g[i] - v[i]) * b2c;
        float vv = v[i];
        if (vh) {
            vh[i] = vh[i] > v[i] ? vh[i] : v[i];
            vv = vh[i];
        }
        p[i] -= m[i] * alpha / (sqrtf(vv) + eps);
    }
}

LAM_VEC static void adagrad_update(float *restrict p, const float *restrict g,
                                   float *restrict acc, int64_t n, float lr, float eps)
{
    for (int64_t i = 0; i < n; i++) {
        acc[i] += g[i] * g[i];
        p[i] -= lr * g[i] / sqrtf(acc[i] + eps);
    }
}

/* m += (g-m)(1-b1); u = max(b2 u, |g|); p -= lr m / ((1-b1^t)(u + eps)). */
LAM_VEC static void adamax_update(float *restrict p, const float *restrict g, float *restrict m,
                                  float *restrict u, int64_t n, float lr, float b1c, float b2,
                                  float bias1, float eps)
{
    for (int64_t i = 0; i < n; i++) {
        m[i] += (g[i] - m[i]) * b1c;
        float bu = b2 * u[i], ag = fabsf(g[i]);
        u[i] = bu > ag ? bu : ag;
        p[i] -= lr * m[i] / (bias1 * (u[i] + eps));
    }
}

/* m_hat = c1 m + c2 g with c1 = u_{t+1}/(1 - prod_{t+1}) and
 * c2 = (1 - u_t)/(1 - prod_t); v_hat = v / (1 - b2^t). */
LAM_VEC static void nadam_update(float *restrict p, const float *restrict g, float *restrict m,
                                 float *restrict v, int64_t n, float lr, float b1c, float b2c,
                                 float c1, float c2, float bias2, float eps)
{
    for (int64_t i = 0; i < n; i++) {
        m[i] += (g[i] - m[i]) * b1c;
        v[i] += (g[i] * g[i] - v[i]) * b2c;
        float m_hat = c1 * m[i] + c2 * g[i];
        float v_hat = v[i] / bias2;
        p[i] -= m_hat * lr / (sqrtf(v_hat) + eps);
    }
}

/* Keras 3 decays before the rule, with the step's rate: p -= p * wd * lr. */
LAM_VEC static void decay_weights(float *restrict p, int64_t n, float wd, float lr)
{
    for (int64_t i = 0; i < n; i++) p[i] -= p[i] * wd * lr;
}

/* Whether weight decay skips the tensor called name ("dense/bias"): its
 * short name (after the last '/') contains one of list's comma-separated
 * entries. */
static bool decay_excluded(const char *list, const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *shortname = slash ? slash + 1 : name;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        for (const char *q = shortname; len && strlen(q) >= len; q++)
            if (strncmp(q, p, len) == 0) return true;
        p += len + (p[len] == ',');
    }
    return false;
}

/* Decoupled weight decay tensor by tensor, for an optimizer that excludes
 * some of them (the others decay inside the update's single pass); threads
 * take whole tensors, so the bits do not depend on their number. */
static void decay_selected(lam_model *m, float lr)
{
    #pragma omp parallel for schedule(dynamic) if (m->nparams > 65536)
    for (int i = 0; i < m->n; i++) {
        const lam_node *nd = &m->nodes[i];
        if (!nd->op || nd->owner != i) continue; /* a shared call's weights are its owner's */
        for (int t = 0; t < nd->ntensors; t++) {
            const lam_param_desc *d = &nd->tensors[t];
            if (d->trainable && !decay_excluded(m->opt.exclude_from_weight_decay, d->name))
                decay_weights(m->params + d->offset, d->count, m->opt.weight_decay, lr);
        }
    }
}

LAM_VEC static void clamp_values(float *restrict g, int64_t n, float c)
{
    for (int64_t i = 0; i < n; i++) g[i] = g[i] < -c ? -c : g[i] > c ? c : g[i];
}

LAM_VEC static void scale_values(float *restrict g, int64_t n, float s)
{
    for (int64_t i = 0; i < n; i++) g[i] *= s;
}

/* Sum of squares in double, in a fixed order (eight interleaved partial sums
 * added at the end), so the norm's bits depend on nothing but the data. */
LAM_VEC static double sum_squares(const float *restrict x, int64_t n)
{
    double acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += (double)x[i + j] * (double)x[i + j];
    for (; i < n; i++) acc[i & 7] += (double)x[i] * (double)x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static void scale_parallel(float *g, int64_t n, float s)
{
    const int chunks = n > 65536 ? 2 * lam_get_threads() : 1;
    #pragma omp parallel for schedule(static) if (chunks > 1)
    for (int c = 0; c < chunks; c++) {
        const int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
        scale_values(g + b, e - b, s);
    }
}

/* Keras's clipnorm (per weight tensor: g * c / max(|g|, c)) and
 * global_clipnorm (all of them by c / max(global norm, c)), in place. A
 * tensor already within the bound is left bit-identical. */
static lam_status clip_norms(lam_model *m)
{
    const lam_optimizer *o = &m->opt;
    const int nt = lam_model_num_tensors(m);
    if (o->clipnorm > 0) {
        for (int t = 0; t < nt; t++) {
            lam_tensor_info ti;
            LAM_TRY(lam_model_tensor(m, t, &ti));
            double norm = sqrt(sum_squares(ti.grad, ti.count));
            if (norm > o->clipnorm) scale_parallel(ti.grad, ti.count, (float)(o->clipnorm / norm));
        }
    } else if (o->global_clipnorm > 0) {
        double ss = 0;
        for (int t = 0; t < nt; t++) {
            lam_tensor_info ti;
            LAM_TRY(lam_model_tensor(m, t, &ti));
            ss += sum_squares(ti.grad, ti.count);
        }
        double norm = sqrt(ss);
        if (norm > o->global_clipnorm)
            scale_parallel(m->grads, m->nparams, (float)(o->global_clipnorm / norm));
    }
    return LAM_OK;
}

lam_status lam_optimizer_update(lam_model *m, float learning_rate)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_optimizer_update: NULL model");
    if (!m->compiled || !m->params)
        return lam_error(LAM_ERR_STATE, "model \"%s\": lam_optimizer_update before compile",
                         m->name);
    if (!(learning_rate >= 0 && isfinite(learning_rate)))
        return lam_error(LAM_ERR_ARG, "model \"%s\": learning rate %g for step %lld, expected "
                         "a finite value >= 0", m->name, (double)learning_rate,
                         (long long)m->step);
    const lam_optimizer *o = &m->opt;
    LAM_TRY(clip_norms(m));
    const bool decay_all = o->weight_decay > 0 && !o->exclude_from_weight_decay[0];
    if (o->weight_decay > 0 && !decay_all) decay_selected(m, learning_rate);
    const int64_t n = m->nparams;
    const double t = (double)(m->step + 1);
    const float lr = learning_rate;
    /* Step-dependent scalars, in double once per step. */
    float alpha = 0, bias1 = 0, bias2 = 0, c1 = 0, c2 = 0;
    switch (o->kind) {
    case LAM_OPT_ADAM:
    case LAM_OPT_ADAMW:
        alpha = (float)(lr * sqrt(1.0 - pow(o->beta_2, t)) / (1.0 - pow(o->beta_1, t)));
        break;
    case LAM_OPT_ADAMAX:
        bias1 = (float)(1.0 - pow(o->beta_1, t));
        break;
    case LAM_OPT_NADAM: {
        /* Keras keeps the product of the momentum schedule u_1 ... u_t as
         * state (m->opt_scalar, saved with the model) rather than a closed
         * form, so a resumed run multiplies on from the same value. */
        const double u_t = o->beta_1 * (1.0 - 0.5 * pow(0.96, t));
        const double u_t1 = o->beta_1 * (1.0 - 0.5 * pow(0.96, t + 1));
        m->opt_scalar *= u_t;
        c1 = (float)(u_t1 / (1.0 - m->opt_scalar * u_t1));
        c2 = (float)((1.0 - u_t) / (1.0 - m->opt_scalar));
        bias2 = (float)(1.0 - pow(o->beta_2, t));
        break;
    }
    default:
        break;
    }
    const float b1c = 1.0f - o->beta_1, b2c = 1.0f - o->beta_2;
    float *s0 = m->slots[0], *s1 = m->slots[1], *s2 = m->slots[2];
    /* Elementwise from here on: splitting the buffer across threads does
     * not change the bits. */
    const int chunks = n > 65536 ? 2 * lam_get_threads() : 1;
    #pragma omp parallel for schedule(static) if (chunks > 1)
    for (int c = 0; c < chunks; c++) {
        const int64_t b = n * c / chunks, e = n * (c + 1) / chunks, k = e - b;
        float *p = m->params + b, *g = m->grads + b;
        float *a0 = s0 ? s0 + b : NULL, *a1 = s1 ? s1 + b : NULL, *a2 = s2 ? s2 + b : NULL;
        if (o->clipvalue > 0) clamp_values(g, k, o->clipvalue);
        if (decay_all) decay_weights(p, k, o->weight_decay, lr);
        switch (o->kind) {
        case LAM_OPT_SGD:
            sgd_update(p, g, o->momentum > 0 ? a0 : NULL, k, lr, o->momentum, o->nesterov);
            break;
        case LAM_OPT_RMSPROP: {
            float *mom = o->momentum > 0 ? a1 : NULL;
            float *avg = o->centered ? (o->momentum > 0 ? a2 : a1) : NULL;
            rmsprop_update(p, g, a0, mom, avg, k, lr, o->rho, o->epsilon, o->momentum);
            break;
        }
        case LAM_OPT_ADAM:
        case LAM_OPT_ADAMW:
            adam_update(p, g, a0, a1, o->amsgrad ? a2 : NULL, k, alpha, b1c, b2c, o->epsilon);
            break;
        case LAM_OPT_ADAGRAD:
            adagrad_update(p, g, a0, k, lr, o->epsilon);
            break;
        case LAM_OPT_ADAMAX:
            adamax_update(p, g, a0, a1, k, lr, b1c, o->beta_2, bias1, o->epsilon);
            break;
        case LAM_OPT_NADAM:
            nadam_update(p, g, a0, a1, k, lr, b1c, b2c, c1, c2, bias2, o->epsilon);
            break;
        default:
            break;
        }
    }
    m->step++;
    return LAM_OK;
}
