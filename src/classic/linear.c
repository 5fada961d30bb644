/* linear.c - L2-regularised linear SVM, one-vs-rest, trained by dual
 * coordinate descent with shrinking (Hsieh et al. 2008; LIBLINEAR's
 * solve_l2r_l1l2_svc). Each pass costs O(n d) and needs no kernel matrix,
 * so it scales to the whole of Fashion-MNIST in seconds. The classes'
 * problems are independent and run in parallel; class c's coordinate order
 * comes from lam_rng_derive(seed, c, 0), so threads do not change results. */
#include "classic.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

struct lam_linear {
    lam_linear_params p;
    int64_t d;
    int k;
    int32_t *classes;
    double *w; /* k * (d + 1): w_c then b_c */
    int *iters;
};

lam_linear_params lam_linear_defaults(void)
{
    lam_linear_params p = {LAM_LINEAR_SQUARED_HINGE, 1.0, 0.1, 1000, 1.0, 0, LAM_SCALING_NONE};
    return p;
}

static lam_status linear_check_params(const lam_linear_params *p, const char *what)
{
    if (p->loss != LAM_LINEAR_HINGE && p->loss != LAM_LINEAR_SQUARED_HINGE)
        return lam_error(LAM_ERR_ARG, "%s: unknown loss %d", what, (int)p->loss);
    if (!(p->C > 0) || !isfinite(p->C)) return lam_error(LAM_ERR_ARG, "%s: C must be > 0", what);
    if (!(p->eps > 0)) return lam_error(LAM_ERR_ARG, "%s: eps must be > 0", what);
    if ((unsigned)p->scaling > LAM_SCALING_MINMAX)
        return lam_error(LAM_ERR_ARG, "%s: unknown scaling %d", what, (int)p->scaling);
    if (p->max_iter < 1) return lam_error(LAM_ERR_ARG, "%s: max_iter must be >= 1", what);
    if (!(p->bias >= 0) || !isfinite(p->bias))
        return lam_error(LAM_ERR_ARG, "%s: bias must be >= 0", what);
    return LAM_OK;
}

lam_status lam_linear_create(lam_linear **out, const lam_linear_params *params)
{
    if (!out) return lam_error(LAM_ERR_ARG, "linear create: out is NULL");
    *out = NULL;
    lam_linear_params p = params ? *params : lam_linear_defaults();
    LAM_TRY(linear_check_params(&p, "linear create"));
    lam_linear *m = lam_calloc(1, sizeof *m);
    if (!m) return LAM_ERR_NOMEM;
    m->p = p;
    *out = m;
    return LAM_OK;
}

static void linear_clear(lam_linear *m)
{
    lam_free(m->classes);
    lam_free(m->w);
    lam_free(m->iters);
    m->classes = NULL;
    m->w = NULL;
    m->iters = NULL;
    m->k = 0;
    m->d = 0;
}

void lam_linear_free(lam_linear *m)
{
    if (!m) return;
    linear_clear(m);
    lam_free(m);
}

int lam_linear_num_classes(const lam_linear *m) { return m ? m->k : 0; }
const int32_t *lam_linear_classes(const lam_linear *m) { return m ? m->classes : NULL; }
int64_t lam_linear_num_features(const lam_linear *m) { return m ? m->d : 0; }
const double *lam_linear_weights(const lam_linear *m) { return m ? m->w : NULL; }
const lam_linear_params *lam_linear_get_params(const lam_linear *m) { return m ? &m->p : NULL; }

static inline double dot_wx(const double *w, const float *x, int64_t d)
{
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < d; j++) s += w[j] * x[j];
    return s;
}

/* One binary problem: labels yc (+1/-1); w (d + 1) out. Returns passes. */
static int dcd_solve(const lam_linear_params *p, const float *x, int64_t n, int64_t d,
                     const int8_t *yc, const double *xsq, double *w, double *alpha, int64_t *index,
                     lam_rng *rng)
{
    const double bias = p->bias;
    /* L2 loss: D_ii = 1/(2C), no upper bound; L1 loss: D = 0, bound C. */
    const int l2 = p->loss == LAM_LINEAR_SQUARED_HINGE;
    const double diag = l2 ? 0.5 / p->C : 0;
    const double ub = l2 ? INFINITY : p->C;
    memset(w, 0, (size_t)(d + 1) * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        alpha[i] = 0;
        index[i] = i;
    }
    int64_t active = n;
    double PGmax_old = INFINITY, PGmin_old = -INFINITY;
    int iter = 0;
    while (iter < p->max_iter) {
        double PGmax_new = -INFINITY, PGmin_new = INFINITY;
        for (int64_t i = 0; i < active; i++) {
            int64_t j = i + (int64_t)lam_rng_below(rng, (uint64_t)(active - i));
            int64_t t = index[i];
            index[i] = index[j];
            index[j] = t;
        }
        for (int64_t s = 0; s < active; s++) {
            int64_t i = index[s];
            const float *xi = x + i * d;
            const double yi = yc[i];
            double G = yi * (dot_wx(w, xi, d) + w[d] * bias) - 1 + alpha[i] * diag;
            double PG = 0;
            if (alpha[i] == 0) {
                if (G > PGmax_old) {
                    /* At the bound and pushing outward: shrink. */
                    active--;
                    index[s] = index[active];
                    index[active] = i;
                    s--;
                    continue;
                }
                if (G < 0) PG = G;
            } else if (alpha[i] == ub) {
                if (G < PGmin_old) {
                    active--;
                    index[s] = index[active];
                    index[active] = i;
                    s--;
                    continue;
                }
                if (G > 0) PG = G;
            } else {
                PG = G;
            }
            if (PG > PGmax_new) PGmax_new = PG;
            if (PG < PGmin_new) PGmin_new = PG;
            if (fabs(PG) > 1e-12) {
                double old = alpha[i];
                double qd = xsq[i] + bias * bias + diag;
                double a = old - G / qd;
                alpha[i] = a < 0 ? 0 : a > ub ? ub : a;
                double dlt = (alpha[i] - old) * yi;
#pragma omp simd
                for (int64_t j = 0; j < d; j++) w[j] += dlt * xi[j];
                w[d] += dlt * bias;
            }
        }
        iter++;
        if (PGmax_new - PGmin_new <= p->eps) {
            if (active == n) break;
            /* Converged on the active set: check everything once more. */
            active = n;
            PGmax_old = INFINITY;
            PGmin_old = -INFINITY;
            continue;
        }
        PGmax_old = PGmax_new <= 0 ? INFINITY : PGmax_new;
        PGmin_old = PGmin_new >= 0 ? -INFINITY : PGmin_new;
    }
    return iter;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The fit on x as given (already scaled). */
static lam_status linear_fit_scaled(lam_linear *m, const float *x, int64_t n, int64_t d,
                                    const int32_t *y)
{
    linear_clear(m);
    int32_t *sorted = lam_malloc((size_t)n * sizeof(int32_t));
    double *xsq = lam_malloc((size_t)n * sizeof(double));
    if (!sorted || !xsq) {
        lam_free(sorted);
        lam_free(xsq);
        return LAM_ERR_NOMEM;
    }
    memcpy(sorted, y, (size_t)n * sizeof(int32_t));
    qsort(sorted, (size_t)n, sizeof(int32_t), cmp_i32);
    int k = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || sorted[i] != sorted[i - 1]) sorted[k++] = sorted[i];
    lam_status st = LAM_OK;
    if (k < 2) {
        st = lam_error(LAM_ERR_ARG, "linear fit: need at least 2 classes, got %d", k);
        goto done;
    }
    m->k = k;
    m->d = d;
    m->classes = lam_malloc((size_t)k * sizeof(int32_t));
    m->w = lam_calloc((size_t)(k * (d + 1)), sizeof(double));
    m->iters = lam_calloc((size_t)k, sizeof(int));
    if (!m->classes || !m->w || !m->iters) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    memcpy(m->classes, sorted, (size_t)k * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) s += (double)x[i * d + j] * x[i * d + j];
        xsq[i] = s;
    }
    int failed = 0;
#pragma omp parallel
    {
        int8_t *yc = lam_malloc((size_t)n);
        double *alpha = lam_malloc((size_t)n * sizeof(double));
        int64_t *index = lam_malloc((size_t)n * sizeof(int64_t));
        if (!yc || !alpha || !index) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < k; c++) {
            if (!yc || !alpha || !index) continue;
            for (int64_t i = 0; i < n; i++) yc[i] = y[i] == m->classes[c] ? 1 : -1;
            lam_rng rng;
            lam_rng_derive(&rng, m->p.seed, (uint64_t)c, 0);
            m->iters[c] = dcd_solve(&m->p, x, n, d, yc, xsq, m->w + (int64_t)c * (d + 1), alpha,
                                    index, &rng);
        }
        lam_free(yc);
        lam_free(alpha);
        lam_free(index);
    }
    if (failed) st = lam_error(LAM_ERR_NOMEM, "linear fit: out of memory");
    else
        for (int64_t i = 0; i < k * (d + 1); i++)
            if (!isfinite(m->w[i])) {
                st = lam_error(LAM_ERR_NUMERIC, "linear fit: a weight is not finite");
                break;
            }
    /* Stored with the bias folded in: b_c = bias * w_c[d]. */
    if (st == LAM_OK)
        for (int c = 0; c < k; c++) m->w[(int64_t)c * (d + 1) + d] *= m->p.bias;
done:
    lam_free(sorted);
    lam_free(xsq);
    if (st != LAM_OK) linear_clear(m);
    return st;
}

lam_status lam_linear_fit(lam_linear *m, const float *x, int64_t n, int64_t d, const int32_t *y)
{
    if (!m) return lam_error(LAM_ERR_ARG, "linear fit: model is NULL");
    LAM_TRY(lam_classic_check_xy("linear fit", x, n, d, y));
    lam_classic_scaler sc = {0};
    const float *xs;
    float *owned = NULL;
    lam_status st = lam_classic_scaler_fit(&sc, m->p.scaling, x, n, d, "linear fit");
    if (st == LAM_OK) st = lam_classic_scaler_apply(&sc, x, n, &xs, &owned);
    if (st == LAM_OK) st = linear_fit_scaled(m, xs, n, d, y);
    /* w . (x - o) / s + b = (w / s) . x + (b - sum of w o / s): the weights
     * become those of the raw x, and predict needs no scaler. */
    for (int c = 0; st == LAM_OK && sc.kind != LAM_SCALING_NONE && c < m->k; c++) {
        double *w = m->w + (int64_t)c * (d + 1);
        for (int64_t j = 0; j < d; j++) {
            w[j] /= sc.scale[j];
            w[d] -= w[j] * sc.offset[j];
        }
    }
    lam_free(owned);
    lam_classic_scaler_clear(&sc);
    return st;
}

lam_status lam_linear_fit_dataset(lam_linear *m, const lam_dataset *ds)
{
    float *x;
    int32_t *y;
    int64_t n, d;
    LAM_TRY(lam_classic_gather("linear fit", ds, &x, &y, &n, &d));
    lam_status st = lam_linear_fit(m, x, n, d, y);
    lam_free(x);
    lam_free(y);
    return st;
}

static lam_status linear_check_predict(const lam_linear *m, const float *x, int64_t n, int64_t d,
                                       const void *out)
{
    if (!m || !x || !out) return lam_error(LAM_ERR_ARG, "linear predict: NULL argument");
    if (m->k == 0) return lam_error(LAM_ERR_STATE, "linear predict: the model is not fitted");
    if (d != m->d)
        return lam_error(LAM_ERR_SHAPE,
                         "linear predict: x has %" PRId64 " features, the model %" PRId64, d,
                         m->d);
    if (n < 0) return lam_error(LAM_ERR_ARG, "linear predict: n < 0");
    return LAM_OK;
}

lam_status lam_linear_decision_function(const lam_linear *m, const float *x, int64_t n,
                                        int64_t d, double *out)
{
    LAM_TRY(linear_check_predict(m, x, n, d, out));
#pragma omp parallel for schedule(static) if (n > 256)
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < m->k; c++) {
            const double *w = m->w + (int64_t)c * (d + 1);
            out[i * m->k + c] = dot_wx(w, x + i * d, d) + w[d];
        }
    return LAM_OK;
}

lam_status lam_linear_predict(const lam_linear *m, const float *x, int64_t n, int64_t d,
                              int32_t *out)
{
    LAM_TRY(linear_check_predict(m, x, n, d, out));
#pragma omp parallel for schedule(static) if (n > 256)
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        double bv = -INFINITY;
        for (int c = 0; c < m->k; c++) {
            const double *w = m->w + (int64_t)c * (d + 1);
            double v = dot_wx(w, x + i * d, d) + w[d];
            if (v > bv) {
                bv = v;
                best = c;
            }
        }
        out[i] = m->classes[best];
    }
    return LAM_OK;
}

lam_status lam_linear_save(const lam_linear *m, const char *path)
{
    if (!m) return lam_error(LAM_ERR_ARG, "linear save: model is NULL");
    if (m->k == 0) return lam_error(LAM_ERR_STATE, "linear save: the model is not fitted");
    lam_st_tensor ts[] = {
        {"classes", LAM_ST_I32, 1, {m->k, 0}, m->classes},
        {"weights", LAM_ST_F64, 2, {m->k, m->d + 1}, m->w},
    };
    char sd[32], C[40], eps[40], mi[32], b[40], seed[32];
    snprintf(sd, sizeof sd, "%" PRId64, m->d);
    snprintf(C, sizeof C, "%.17g", m->p.C);
    snprintf(eps, sizeof eps, "%.17g", m->p.eps);
    snprintf(mi, sizeof mi, "%d", m->p.max_iter);
    snprintf(b, sizeof b, "%.17g", m->p.bias);
    snprintf(seed, sizeof seed, "%" PRIu64, m->p.seed);
    const char *meta[] = {"n_features", sd,
                          "loss", m->p.loss == LAM_LINEAR_HINGE ? "hinge" : "squared_hinge",
                          "C", C, "eps", eps, "max_iter", mi, "bias", b, "seed", seed,
                          "scaling", lam_scaling_name(m->p.scaling)};
    return lam_st_save(path, "linear", ts, 2, meta, 8);
}

lam_status lam_linear_load(const char *path, lam_linear **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "linear load: out is NULL");
    *out = NULL;
    lam_st_file f;
    LAM_TRY(lam_st_open(&f, path, "linear"));
    lam_linear *m = NULL;
    lam_linear_params p = lam_linear_defaults();
    int64_t d, v;
    const char *str;
    lam_status st;
    if ((st = lam_st_meta_int(&f, "n_features", 1, INT32_MAX, &d)) ||
        (st = lam_st_meta_str(&f, "loss", &str)))
        goto done;
    if (strcmp(str, "hinge") == 0) p.loss = LAM_LINEAR_HINGE;
    else if (strcmp(str, "squared_hinge") == 0) p.loss = LAM_LINEAR_SQUARED_HINGE;
    else {
        st = lam_error(LAM_ERR_FORMAT, "%s: unknown loss \"%s\"", path, str);
        goto done;
    }
    if ((st = lam_st_meta_double(&f, "C", &p.C)) || (st = lam_st_meta_double(&f, "eps", &p.eps)) ||
        (st = lam_st_meta_int(&f, "max_iter", 1, INT32_MAX, &v)))
        goto done;
    p.max_iter = (int)v;
    if ((st = lam_st_meta_double(&f, "bias", &p.bias)) ||
        (st = lam_st_meta_int(&f, "seed", 0, INT64_MAX, &v)))
        goto done;
    p.seed = (uint64_t)v;
    /* The scaling is folded into the weights; the name records how they were fitted
     * (absent in files from before it existed). */
    if ((st = lam_classic_scaling_meta(&f, &p.scaling))) goto done;
    if ((st = linear_check_params(&p, path)) || (st = lam_linear_create(&m, &p))) goto done;
    int64_t sh[2] = {-1, -1};
    if ((st = lam_st_tensor_copy(&f, "classes", LAM_ST_I32, 1, sh, (void **)&m->classes)))
        goto done;
    m->k = (int)sh[0];
    if (sh[0] < 2 || sh[0] > 65536) {
        st = lam_error(LAM_ERR_FORMAT, "%s: %" PRId64 " classes", path, sh[0]);
        goto done;
    }
    for (int c = 1; c < m->k; c++)
        if (m->classes[c] <= m->classes[c - 1]) {
            st = lam_error(LAM_ERR_FORMAT, "%s: classes are not strictly increasing", path);
            goto done;
        }
    int64_t wsh[2] = {m->k, d + 1};
    if ((st = lam_st_tensor_copy(&f, "weights", LAM_ST_F64, 2, wsh, (void **)&m->w))) goto done;
    m->d = d;
    for (int64_t i = 0; i < m->k * (d + 1); i++)
        if (!isfinite(m->w[i])) {
            st = lam_error(LAM_ERR_FORMAT, "%s: weight %" PRId64 " is not finite", path, i);
            goto done;
        }
done:
    lam_st_close(&f);
    if (st != LAM_OK) {
        lam_linear_free(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}
