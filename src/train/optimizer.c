/* optimizer.c - Adam, SGD (momentum, Nesterov) and RMSprop with Keras's
 * exact update rules, over the flat parameter and gradient buffers. */
#include "core/model.h"

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

/* One update of every parameter; elementwise, so the split across threads
 * does not change the bits. */
void lam_optimizer_step(lam_model *m)
{
    const lam_optimizer *o = &m->opt;
    const int64_t n = m->nparams;
    float *p = m->params;
    const float *g = m->grads;
    const float lr = o->learning_rate;
    const double t = (double)(m->step + 1);
    switch (o->kind) {
    case LAM_OPT_ADAM: {
        /* Keras: alpha = lr sqrt(1-b2^t)/(1-b1^t); eps added to the
         * uncorrected sqrt(v). */
        const float alpha =
            (float)(lr * sqrt(1.0 - pow(o->beta_2, t)) / (1.0 - pow(o->beta_1, t)));
        const float b1c = 1.0f - o->beta_1, b2c = 1.0f - o->beta_2, eps = o->epsilon;
        float *mm = m->slots[0], *vv = m->slots[1];
        #pragma omp parallel for schedule(static) if (n > 65536)
        for (int64_t i = 0; i < n; i++) {
            mm[i] += (g[i] - mm[i]) * b1c;
            vv[i] += (g[i] * g[i] - vv[i]) * b2c;
            p[i] -= alpha * mm[i] / (sqrtf(vv[i]) + eps);
        }
        break;
    }
    case LAM_OPT_SGD: {
        if (o->momentum > 0) {
            float *v = m->slots[0];
            const float mu = o->momentum;
            #pragma omp parallel for schedule(static) if (n > 65536)
            for (int64_t i = 0; i < n; i++) {
                v[i] = mu * v[i] - lr * g[i];
                p[i] += o->nesterov ? mu * v[i] - lr * g[i] : v[i];
            }
        } else {
            #pragma omp parallel for schedule(static) if (n > 65536)
            for (int64_t i = 0; i < n; i++) p[i] -= lr * g[i];
        }
        break;
    }
    case LAM_OPT_RMSPROP: {
        /* Keras 3: v = rho v + (1-rho) g^2; inc = lr g / sqrt(v + eps). */
        float *v = m->slots[0], *mom = m->nslots > 1 ? m->slots[1] : NULL;
        const float rho = o->rho, eps = o->epsilon, mu = o->momentum;
        #pragma omp parallel for schedule(static) if (n > 65536)
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
        break;
    }
    }
    m->step++;
}
