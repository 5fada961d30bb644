/* optimizer.c - Adam, SGD (momentum, Nesterov) and RMSprop with Keras's
 * exact update rules, over the flat parameter and gradient buffers. */
#include "train/train.h"
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

lam_optimizer lam_adam(void)
{
    return (lam_optimizer){.kind = LAM_OPT_ADAM, .learning_rate = 1e-3f, .beta_1 = 0.9f,
                           .beta_2 = 0.999f, .epsilon = 1e-7f, .rho = 0.9f};
}

lam_optimizer lam_sgd(void)
{
    return (lam_optimizer){.kind = LAM_OPT_SGD, .learning_rate = 0.01f, .beta_1 = 0.9f,
                           .beta_2 = 0.999f, .epsilon = 1e-7f, .rho = 0.9f};
}

lam_optimizer lam_rmsprop(void)
{
    return (lam_optimizer){.kind = LAM_OPT_RMSPROP, .learning_rate = 1e-3f, .beta_1 = 0.9f,
                           .beta_2 = 0.999f, .epsilon = 1e-7f, .rho = 0.9f};
}

lam_status lam_optimizer_parse(const char *name, lam_optimizer *out)
{
    if (strcmp(name, "adam") == 0) *out = lam_adam();
    else if (strcmp(name, "sgd") == 0) *out = lam_sgd();
    else if (strcmp(name, "rmsprop") == 0) *out = lam_rmsprop();
    else
        return lam_error(LAM_ERR_UNSUPPORTED, "optimizer \"%s\" is not supported (expected "
                         "adam, sgd or rmsprop)", name);
    return LAM_OK;
}

lam_status lam_optimizer_check(const lam_optimizer *o)
{
    if (o->kind != LAM_OPT_ADAM && o->kind != LAM_OPT_SGD && o->kind != LAM_OPT_RMSPROP)
        return lam_error(LAM_ERR_ARG, "optimizer: unknown kind %d", o->kind);
    if (!(o->learning_rate > 0 && isfinite(o->learning_rate)))
        return lam_error(LAM_ERR_ARG, "optimizer: learning_rate is %g, expected a finite "
                         "value > 0", (double)o->learning_rate);
    if (o->kind == LAM_OPT_ADAM &&
        !(o->beta_1 >= 0 && o->beta_1 < 1 && o->beta_2 >= 0 && o->beta_2 < 1))
        return lam_error(LAM_ERR_ARG, "optimizer adam: beta_1 %g and beta_2 %g must be in "
                         "[0, 1)", (double)o->beta_1, (double)o->beta_2);
    if (!(o->epsilon >= 0 && isfinite(o->epsilon)))
        return lam_error(LAM_ERR_ARG, "optimizer: epsilon is %g, expected >= 0",
                         (double)o->epsilon);
    if (!(o->momentum >= 0 && o->momentum < 1))
        return lam_error(LAM_ERR_ARG, "optimizer: momentum is %g, expected 0 <= momentum < 1",
                         (double)o->momentum);
    if (o->kind == LAM_OPT_RMSPROP && !(o->rho >= 0 && o->rho < 1))
        return lam_error(LAM_ERR_ARG, "optimizer rmsprop: rho is %g, expected in [0, 1)",
                         (double)o->rho);
    return LAM_OK;
}

/* The updates over [0, n), vectorised; Keras's formulas exactly. */
LAM_VEC static void adam_update(float *restrict p, const float *restrict g, float *restrict m,
                                float *restrict v, int64_t n,
                                float alpha, float b1c, float b2c, float eps)
{
    for (int64_t i = 0; i < n; i++) {
        m[i] += (g[i] - m[i]) * b1c;
        v[i] += (g[i] * g[i] - v[i]) * b2c;
        p[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
    }
}

LAM_VEC static void sgd_update(float *restrict p, const float *restrict g, float *restrict v,
                               int64_t n, float lr,
                               float mu, bool nesterov)
{
    if (!v) {
        for (int64_t i = 0; i < n; i++) p[i] -= lr * g[i];
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        v[i] = mu * v[i] - lr * g[i];
        p[i] += nesterov ? mu * v[i] - lr * g[i] : v[i];
    }
}

LAM_VEC static void rmsprop_update(float *restrict p, const float *restrict g, float *restrict v,
                                   float *restrict mom, int64_t n,
                                   float lr, float rho, float eps, float mu)
{
    for (int64_t i = 0; i < n; i++) {
        v[i] = rho * v[i] + (1 - rho) * g[i] * g[i];
        float inc = lr * g[i] / sqrtf(v[i] + eps);
        if (mom) {
            mom[i] = mu * mom[i] + inc;
            p[i] -= mom[i];
        } else {
            p[i] -= inc;
        }
    }
}

lam_status lam_optimizer_alloc_slots(lam_model *m)
{
    const lam_optimizer *o = &m->opt;
    int nslots = o->kind == LAM_OPT_ADAM ? 2
                 : o->kind == LAM_OPT_RMSPROP ? (o->momentum > 0 ? 2 : 1)
                 : (o->momentum > 0 ? 1 : 0);
    for (int i = 0; i < LAM_MAX_SLOTS; i++) {
        lam_free_aligned(m->slots[i]);
        m->slots[i] = NULL;
    }
    m->nslots = 0;
    for (int i = 0; i < nslots; i++) {
        m->slots[i] = lam_alloc_aligned(sizeof(float) * (size_t)(m->nparams ? m->nparams : 1));
        if (!m->slots[i]) return LAM_ERR_NOMEM;
    }
    m->nslots = nslots;
    return LAM_OK;
}

float lam_model_learning_rate(const lam_model *m) { return m->opt.learning_rate; }

/* One update of every parameter. Elementwise, so splitting the buffer
 * across threads does not change the bits. */
lam_status lam_optimizer_update(lam_model *m, float learning_rate)
{
    if (!m || !m->compiled)
        return lam_error(LAM_ERR_STATE, "lam_optimizer_update: the model is not compiled");
    if (!(learning_rate >= 0 && isfinite(learning_rate)))
        return lam_error(LAM_ERR_ARG, "model \"%s\": learning rate %g, expected a finite value "
                         ">= 0", m->name, (double)learning_rate);
    const lam_optimizer *o = &m->opt;
    const int64_t n = m->nparams;
    const double t = (double)(m->step + 1);
    /* Keras's Adam: alpha = lr sqrt(1-b2^t)/(1-b1^t); eps added to the
     * uncorrected sqrt(v). */
    const float alpha = (float)(learning_rate * sqrt(1.0 - pow(o->beta_2, t)) /
                                (1.0 - pow(o->beta_1, t)));
    const int chunks = n > 65536 ? 2 * lam_get_threads() : 1;
    #pragma omp parallel for schedule(static) if (chunks > 1)
    for (int c = 0; c < chunks; c++) {
        const int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
        float *p = m->params + b, *s0 = m->slots[0] ? m->slots[0] + b : NULL,
              *s1 = m->slots[1] ? m->slots[1] + b : NULL;
        const float *g = m->grads + b;
        switch (o->kind) {
        case LAM_OPT_ADAM:
            adam_update(p, g, s0, s1, e - b, alpha, 1.0f - o->beta_1, 1.0f - o->beta_2,
                        o->epsilon);
            break;
        case LAM_OPT_SGD:
            sgd_update(p, g, o->momentum > 0 ? s0 : NULL, e - b, learning_rate, o->momentum,
                       o->nesterov);
            break;
        case LAM_OPT_RMSPROP:
            /* Keras 3: v = rho v + (1-rho) g^2; inc = lr g / sqrt(v + eps). */
            rmsprop_update(p, g, s0, m->nslots > 1 ? s1 : NULL, e - b, learning_rate, o->rho,
                           o->epsilon, o->momentum);
            break;
        }
    }
    m->step++;
    return LAM_OK;
}
