/* svm.c - C-SVC trained by SMO as libsvm does it: second-order working-set
 * selection (Fan, Chen, Lin 2005), shrinking with gradient reconstruction,
 * and an LRU cache of kernel rows. More than two classes: one-vs-one, the
 * pairwise problems solved in parallel, prediction by voting.
 *
 * The solver follows libsvm's Solver class step for step (same selection,
 * same clipping, same rho), so results can be compared with svm-train. */
#include "classic.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#define TAU 1e-12

struct lam_svm {
    lam_svm_params p;
    double gamma;       /* resolved */
    int64_t d;
    int k;              /* classes */
    int32_t *classes;   /* k sorted labels */
    int64_t n_sv;
    float *sv;          /* n_sv * d */
    double *sv_sq;      /* squared norms, for RBF */
    int32_t *sv_index;  /* training rows */
    int n_pairs;
    int32_t *pair_class;  /* 2 per pair */
    int64_t *pair_off;    /* n_pairs + 1 into pair_sv / pair_coef */
    int32_t *pair_sv;
    double *pair_coef;
    double *rho;
    int64_t *iters;
    lam_classic_scaler scaler; /* p.scaling, fitted */
};

lam_svm_params lam_svm_defaults(void)
{
    lam_svm_params p = {LAM_KERNEL_RBF, 1.0, 0.0, 3, 0.0, 1e-3, 200.0, true, 0,
                        LAM_SCALING_NONE};
    return p;
}

static lam_status svm_check_params(const lam_svm_params *p, const char *what)
{
    if (p->kernel != LAM_KERNEL_LINEAR && p->kernel != LAM_KERNEL_RBF &&
        p->kernel != LAM_KERNEL_POLY)
        return lam_error(LAM_ERR_ARG, "%s: unknown kernel %d", what, (int)p->kernel);
    if (!(p->C > 0) || !isfinite(p->C)) return lam_error(LAM_ERR_ARG, "%s: C must be > 0", what);
    if (!(p->gamma >= 0) || !isfinite(p->gamma))
        return lam_error(LAM_ERR_ARG, "%s: gamma must be >= 0 (0 = scale)", what);
    if (p->kernel == LAM_KERNEL_POLY && p->degree < 1)
        return lam_error(LAM_ERR_ARG, "%s: degree must be >= 1", what);
    if (!isfinite(p->coef0)) return lam_error(LAM_ERR_ARG, "%s: coef0 is not finite", what);
    if (!(p->eps > 0)) return lam_error(LAM_ERR_ARG, "%s: eps must be > 0", what);
    if (!(p->cache_mb > 0)) return lam_error(LAM_ERR_ARG, "%s: cache_mb must be > 0", what);
    if (p->max_iter < 0) return lam_error(LAM_ERR_ARG, "%s: max_iter < 0", what);
    if ((unsigned)p->scaling > LAM_SCALING_MINMAX)
        return lam_error(LAM_ERR_ARG, "%s: unknown scaling %d", what, (int)p->scaling);
    return LAM_OK;
}

lam_status lam_svm_create(lam_svm **out, const lam_svm_params *params)
{
    if (!out) return lam_error(LAM_ERR_ARG, "svm create: out is NULL");
    *out = NULL;
    lam_svm_params p = params ? *params : lam_svm_defaults();
    LAM_TRY(svm_check_params(&p, "svm create"));
    lam_svm *s = lam_calloc(1, sizeof *s);
    if (!s) return LAM_ERR_NOMEM;
    s->p = p;
    *out = s;
    return LAM_OK;
}

static void svm_clear(lam_svm *s)
{
    lam_classic_scaler_clear(&s->scaler);
    lam_free(s->classes);
    lam_free(s->sv);
    lam_free(s->sv_sq);
    lam_free(s->sv_index);
    lam_free(s->pair_class);
    lam_free(s->pair_off);
    lam_free(s->pair_sv);
    lam_free(s->pair_coef);
    lam_free(s->rho);
    lam_free(s->iters);
    lam_svm_params p = s->p;
    memset(s, 0, sizeof *s);
    s->p = p;
}

void lam_svm_free(lam_svm *s)
{
    if (!s) return;
    svm_clear(s);
    lam_free(s);
}

int lam_svm_num_classes(const lam_svm *s) { return s ? s->k : 0; }
const int32_t *lam_svm_classes(const lam_svm *s) { return s ? s->classes : NULL; }
int lam_svm_num_pairs(const lam_svm *s) { return s ? s->n_pairs : 0; }
int64_t lam_svm_num_features(const lam_svm *s) { return s ? s->d : 0; }
double lam_svm_gamma(const lam_svm *s) { return s ? s->gamma : 0; }
int64_t lam_svm_num_support(const lam_svm *s) { return s ? s->n_sv : 0; }
const float *lam_svm_support_vectors(const lam_svm *s) { return s ? s->sv : NULL; }
const int32_t *lam_svm_support_indices(const lam_svm *s) { return s ? s->sv_index : NULL; }
const lam_svm_params *lam_svm_get_params(const lam_svm *s) { return s ? &s->p : NULL; }

lam_status lam_svm_pair(const lam_svm *s, int p, lam_svm_pair_info *out)
{
    if (!s || !out) return lam_error(LAM_ERR_ARG, "svm pair: NULL argument");
    if (p < 0 || p >= s->n_pairs)
        return lam_error(LAM_ERR_ARG, "svm pair: %d outside %d pairs", p, s->n_pairs);
    out->class_a = s->pair_class[2 * p];
    out->class_b = s->pair_class[2 * p + 1];
    out->count = s->pair_off[p + 1] - s->pair_off[p];
    out->sv = s->pair_sv + s->pair_off[p];
    out->coef = s->pair_coef + s->pair_off[p];
    out->rho = s->rho[p];
    out->iterations = s->iters ? s->iters[p] : 0;
    return LAM_OK;
}

/* ----------------------------------------------------------------- kernels */

static inline float dotf(const float *a, const float *b, int64_t d)
{
    float s = 0;
    /* simd reduction lets the compiler reassociate: vector lanes. */
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < d; i++) s += a[i] * b[i];
    return s;
}

typedef struct kern {
    lam_kernel kind;
    double gamma, coef0;
    int degree;
    int64_t d;
} kern;

static inline double kern_eval(const kern *k, const float *a, double sqa, const float *b,
                               double sqb)
{
    double dot = dotf(a, b, k->d);
    switch (k->kind) {
    case LAM_KERNEL_LINEAR: return dot;
    case LAM_KERNEL_RBF: {
        double dist = sqa + sqb - 2.0 * dot;
        return exp(-k->gamma * (dist > 0 ? dist : 0));
    }
    default: return pow(k->gamma * dot + k->coef0, k->degree);
    }
}

/* ------------------------------------------------------------- LRU cache */

typedef struct cache_head {
    struct cache_head *prev, *next;
    float *data;
    int len;
} cache_head;

typedef struct row_cache {
    int l;
    int64_t size; /* floats still available */
    cache_head *head;
    cache_head lru; /* sentinel of the circular LRU list */
} row_cache;

static void lru_delete(cache_head *h)
{
    h->prev->next = h->next;
    h->next->prev = h->prev;
}

static void lru_insert(row_cache *c, cache_head *h)
{
    h->next = &c->lru;
    h->prev = c->lru.prev;
    h->prev->next = h;
    h->next->prev = h;
}

static lam_status cache_init(row_cache *c, int l, double bytes)
{
    c->l = l;
    c->head = lam_calloc((size_t)l, sizeof(cache_head));
    if (!c->head) return LAM_ERR_NOMEM;
    int64_t size = (int64_t)(bytes / sizeof(float)) - (int64_t)l * (int64_t)(sizeof(cache_head) / sizeof(float));
    /* At least two full rows: the solver holds rows i and j at once. */
    if (size < 2 * (int64_t)l) size = 2 * (int64_t)l;
    c->size = size;
    c->lru.next = c->lru.prev = &c->lru;
    return LAM_OK;
}

static void cache_free(row_cache *c)
{
    if (c->head)
        for (int i = 0; i < c->l; i++) lam_free(c->head[i].data);
    lam_free(c->head);
    c->head = NULL;
}

/* Makes row index hold len entries; returns how many were already valid, or
 * -1 when out of memory. */
static int cache_get(row_cache *c, int index, float **data, int len)
{
    cache_head *h = &c->head[index];
    if (h->len) lru_delete(h);
    int more = len - h->len;
    if (more > 0) {
        while (c->size < more) {
            cache_head *old = c->lru.next;
            lru_delete(old);
            lam_free(old->data);
            c->size += old->len;
            old->data = NULL;
            old->len = 0;
        }
        float *nd = lam_realloc(h->data, sizeof(float) * (size_t)len);
        if (!nd) {
            if (h->len) lru_insert(c, h);
            return -1;
        }
        h->data = nd;
        c->size -= more;
        int old_len = h->len;
        h->len = len;
        len = old_len;
    }
    lru_insert(c, h);
    *data = h->data;
    return len;
}

static void cache_swap(row_cache *c, int i, int j)
{
    if (i == j) return;
    if (c->head[i].len) lru_delete(&c->head[i]);
    if (c->head[j].len) lru_delete(&c->head[j]);
    float *td = c->head[i].data;
    c->head[i].data = c->head[j].data;
    c->head[j].data = td;
    int tl = c->head[i].len;
    c->head[i].len = c->head[j].len;
    c->head[j].len = tl;
    if (c->head[i].len) lru_insert(c, &c->head[i]);
    if (c->head[j].len) lru_insert(c, &c->head[j]);
    if (i > j) {
        int t = i;
        i = j;
        j = t;
    }
    for (cache_head *h = c->lru.next; h != &c->lru;) {
        cache_head *next = h->next;
        if (h->len > i) {
            if (h->len > j) {
                float t = h->data[i];
                h->data[i] = h->data[j];
                h->data[j] = t;
            } else {
                /* The row holds i but not j: drop it rather than recompute. */
                lru_delete(h);
                lam_free(h->data);
                c->size += h->len;
                h->data = NULL;
                h->len = 0;
            }
        }
        h = next;
    }
}

/* ------------------------------------------------------------------ solver */

enum { LOWER = 0, UPPER = 1, FREE = 2 };

typedef struct smo {
    int l;
    const kern *k;
    const float **x; /* rows, permuted with the active set */
    double *sq;
    int8_t *y;
    double *QD;
    row_cache cache;
    double C, eps;
    double *alpha, *G, *G_bar;
    char *status;
    int *active_set;
    int active_size;
    int unshrink;
} smo;

static const float *get_q(smo *s, int i, int len)
{
    float *data;
    int start = cache_get(&s->cache, i, &data, len);
    if (start < 0) return NULL;
    const float *xi = s->x[i];
    const double sqi = s->sq[i];
    const int8_t yi = s->y[i];
    for (int j = start; j < len; j++)
        data[j] = (float)(yi * s->y[j] * kern_eval(s->k, xi, sqi, s->x[j], s->sq[j]));
    return data;
}

static inline void update_status(smo *s, int i)
{
    s->status[i] = s->alpha[i] >= s->C ? UPPER : s->alpha[i] <= 0 ? LOWER : FREE;
}
#define IS_UPPER(s, i) ((s)->status[i] == UPPER)
#define IS_LOWER(s, i) ((s)->status[i] == LOWER)
#define IS_FREE(s, i) ((s)->status[i] == FREE)

#define SWAPV(T, a, b) do { T t_ = (a); (a) = (b); (b) = t_; } while (0)

static void swap_index(smo *s, int i, int j)
{
    cache_swap(&s->cache, i, j);
    SWAPV(const float *, s->x[i], s->x[j]);
    SWAPV(double, s->sq[i], s->sq[j]);
    SWAPV(int8_t, s->y[i], s->y[j]);
    SWAPV(double, s->QD[i], s->QD[j]);
    SWAPV(char, s->status[i], s->status[j]);
    SWAPV(double, s->alpha[i], s->alpha[j]);
    SWAPV(double, s->G[i], s->G[j]);
    SWAPV(double, s->G_bar[i], s->G_bar[j]);
    SWAPV(int, s->active_set[i], s->active_set[j]);
}

/* Recomputes G of the shrunk variables from G_bar and the free ones. */
static lam_status reconstruct_gradient(smo *s)
{
    if (s->active_size == s->l) return LAM_OK;
    int l = s->l, as = s->active_size, nr_free = 0;
    for (int j = as; j < l; j++) s->G[j] = s->G_bar[j] - 1.0;
    for (int j = 0; j < as; j++)
        if (IS_FREE(s, j)) nr_free++;
    if ((int64_t)nr_free * l > 2 * (int64_t)as * (l - as)) {
        for (int i = as; i < l; i++) {
            const float *Qi = get_q(s, i, as);
            if (!Qi) return LAM_ERR_NOMEM;
            for (int j = 0; j < as; j++)
                if (IS_FREE(s, j)) s->G[i] += s->alpha[j] * Qi[j];
        }
    } else {
        for (int i = 0; i < as; i++)
            if (IS_FREE(s, i)) {
                const float *Qi = get_q(s, i, l);
                if (!Qi) return LAM_ERR_NOMEM;
                double ai = s->alpha[i];
                for (int j = as; j < l; j++) s->G[j] += ai * Qi[j];
            }
    }
    return LAM_OK;
}

/* WSS2: i maximises -y G over I_up; j minimises the second-order estimate of
 * the objective decrease. Returns 1 when optimal within eps, -1 on OOM. */
static int select_working_set(smo *s, int *out_i, int *out_j)
{
    double Gmax = -INFINITY, Gmax2 = -INFINITY, obj_diff_min = INFINITY;
    int Gmax_idx = -1, Gmin_idx = -1;
    const int as = s->active_size;
    for (int t = 0; t < as; t++) {
        if (s->y[t] == +1) {
            if (!IS_UPPER(s, t) && -s->G[t] >= Gmax) {
                Gmax = -s->G[t];
                Gmax_idx = t;
            }
        } else {
            if (!IS_LOWER(s, t) && s->G[t] >= Gmax) {
                Gmax = s->G[t];
                Gmax_idx = t;
            }
        }
    }
    int i = Gmax_idx;
    const float *Qi = NULL;
    if (i != -1) {
        Qi = get_q(s, i, as);
        if (!Qi) return -1;
    }
    for (int j = 0; j < as; j++) {
        if (s->y[j] == +1) {
            if (!IS_LOWER(s, j)) {
                double grad_diff = Gmax + s->G[j];
                if (s->G[j] >= Gmax2) Gmax2 = s->G[j];
                if (grad_diff > 0) {
                    double quad = s->QD[i] + s->QD[j] - 2.0 * s->y[i] * Qi[j];
                    double obj = -(grad_diff * grad_diff) / (quad > 0 ? quad : TAU);
                    if (obj <= obj_diff_min) {
                        Gmin_idx = j;
                        obj_diff_min = obj;
                    }
                }
            }
        } else {
            if (!IS_UPPER(s, j)) {
                double grad_diff = Gmax - s->G[j];
                if (-s->G[j] >= Gmax2) Gmax2 = -s->G[j];
                if (grad_diff > 0) {
                    double quad = s->QD[i] + s->QD[j] + 2.0 * s->y[i] * Qi[j];
                    double obj = -(grad_diff * grad_diff) / (quad > 0 ? quad : TAU);
                    if (obj <= obj_diff_min) {
                        Gmin_idx = j;
                        obj_diff_min = obj;
                    }
                }
            }
        }
    }
    if (Gmax + Gmax2 < s->eps || Gmin_idx == -1) return 1;
    *out_i = Gmax_idx;
    *out_j = Gmin_idx;
    return 0;
}

static int be_shrunk(const smo *s, int i, double Gmax1, double Gmax2)
{
    if (IS_UPPER(s, i)) return s->y[i] == +1 ? -s->G[i] > Gmax1 : -s->G[i] > Gmax2;
    if (IS_LOWER(s, i)) return s->y[i] == +1 ? s->G[i] > Gmax2 : s->G[i] > Gmax1;
    return 0;
}

static lam_status do_shrinking(smo *s)
{
    double Gmax1 = -INFINITY, Gmax2 = -INFINITY;
    for (int i = 0; i < s->active_size; i++) {
        if (s->y[i] == +1) {
            if (!IS_UPPER(s, i) && -s->G[i] >= Gmax1) Gmax1 = -s->G[i];
            if (!IS_LOWER(s, i) && s->G[i] >= Gmax2) Gmax2 = s->G[i];
        } else {
            if (!IS_UPPER(s, i) && -s->G[i] >= Gmax2) Gmax2 = -s->G[i];
            if (!IS_LOWER(s, i) && s->G[i] >= Gmax1) Gmax1 = s->G[i];
        }
    }
    /* Close to the end: bring everything back once so that nothing was
     * shrunk by mistake. */
    if (!s->unshrink && Gmax1 + Gmax2 <= s->eps * 10) {
        s->unshrink = 1;
        LAM_TRY(reconstruct_gradient(s));
        s->active_size = s->l;
    }
    for (int i = 0; i < s->active_size; i++)
        if (be_shrunk(s, i, Gmax1, Gmax2)) {
            s->active_size--;
            while (s->active_size > i) {
                if (!be_shrunk(s, s->active_size, Gmax1, Gmax2)) {
                    swap_index(s, i, s->active_size);
                    break;
                }
                s->active_size--;
            }
        }
    return LAM_OK;
}

static double calculate_rho(const smo *s)
{
    int nr_free = 0;
    double ub = INFINITY, lb = -INFINITY, sum_free = 0;
    for (int i = 0; i < s->active_size; i++) {
        double yG = s->y[i] * s->G[i];
        if (IS_UPPER(s, i)) {
            if (s->y[i] == -1) ub = fmin(ub, yG);
            else lb = fmax(lb, yG);
        } else if (IS_LOWER(s, i)) {
            if (s->y[i] == +1) ub = fmin(ub, yG);
            else lb = fmax(lb, yG);
        } else {
            nr_free++;
            sum_free += yG;
        }
    }
    return nr_free > 0 ? sum_free / nr_free : (ub + lb) / 2;
}

/* Solves the dual of a 2-class C-SVC over rows x[0..l) with labels y (+1/-1):
 * min 1/2 a'Qa - e'a, 0 <= a <= C, y'a = 0. alpha_out: l values in the
 * original order. */
static lam_status smo_solve(const kern *k, const float **x_in, const double *sq_in,
                            const int8_t *y_in, int l, double C, double eps, int shrinking,
                            int64_t max_iter, double cache_bytes, double *alpha_out,
                            double *rho_out, int64_t *iter_out)
{
    smo s = {0};
    s.l = l;
    s.k = k;
    s.C = C;
    s.eps = eps;
    lam_status st = LAM_ERR_NOMEM;
    s.x = lam_malloc((size_t)l * sizeof *s.x);
    s.sq = lam_malloc((size_t)l * sizeof(double));
    s.y = lam_malloc((size_t)l);
    s.QD = lam_malloc((size_t)l * sizeof(double));
    s.alpha = lam_calloc((size_t)l, sizeof(double));
    s.G = lam_malloc((size_t)l * sizeof(double));
    s.G_bar = lam_calloc((size_t)l, sizeof(double));
    s.status = lam_malloc((size_t)l);
    s.active_set = lam_malloc((size_t)l * sizeof(int));
    if (!s.x || !s.sq || !s.y || !s.QD || !s.alpha || !s.G || !s.G_bar || !s.status ||
        !s.active_set || cache_init(&s.cache, l, cache_bytes) != LAM_OK)
        goto done;
    memcpy(s.x, x_in, (size_t)l * sizeof *s.x);
    memcpy(s.sq, sq_in, (size_t)l * sizeof(double));
    memcpy(s.y, y_in, (size_t)l);
    for (int i = 0; i < l; i++) {
        s.QD[i] = kern_eval(k, s.x[i], s.sq[i], s.x[i], s.sq[i]);
        s.G[i] = -1.0; /* alpha starts at 0: G = Q alpha + p = p = -e */
        s.active_set[i] = i;
        update_status(&s, i);
    }
    s.active_size = l;
    if (max_iter <= 0) max_iter = l > INT32_MAX / 100 ? INT32_MAX : (100 * (int64_t)l > 10000000 ? 100 * (int64_t)l : 10000000);
    int64_t iter = 0;
    int counter = (l < 1000 ? l : 1000) + 1;
    st = LAM_OK;
    while (iter < max_iter) {
        if (--counter == 0) {
            counter = l < 1000 ? l : 1000;
            if (shrinking && (st = do_shrinking(&s)) != LAM_OK) goto done;
        }
        int i = -1, j = -1;
        int r = select_working_set(&s, &i, &j);
        if (r < 0) {
            st = LAM_ERR_NOMEM;
            goto done;
        }
        if (r != 0) {
            if ((st = reconstruct_gradient(&s)) != LAM_OK) goto done;
            s.active_size = l;
            r = select_working_set(&s, &i, &j);
            if (r < 0) {
                st = LAM_ERR_NOMEM;
                goto done;
            }
            if (r != 0) break;
            counter = 1; /* shrink at the next iteration */
        }
        iter++;
        const float *Qi = get_q(&s, i, s.active_size);
        const float *Qj = Qi ? get_q(&s, j, s.active_size) : NULL;
        if (!Qj) {
            st = LAM_ERR_NOMEM;
            goto done;
        }
        double Ci = C, Cj = C;
        double old_ai = s.alpha[i], old_aj = s.alpha[j];
        double *a = s.alpha;
        if (s.y[i] != s.y[j]) {
            double quad = s.QD[i] + s.QD[j] + 2 * Qi[j];
            if (quad <= 0) quad = TAU;
            double delta = (-s.G[i] - s.G[j]) / quad;
            double diff = a[i] - a[j];
            a[i] += delta;
            a[j] += delta;
            if (diff > 0) {
                if (a[j] < 0) {
                    a[j] = 0;
                    a[i] = diff;
                }
            } else if (a[i] < 0) {
                a[i] = 0;
                a[j] = -diff;
            }
            if (diff > Ci - Cj) {
                if (a[i] > Ci) {
                    a[i] = Ci;
                    a[j] = Ci - diff;
                }
            } else if (a[j] > Cj) {
                a[j] = Cj;
                a[i] = Cj + diff;
            }
        } else {
            double quad = s.QD[i] + s.QD[j] - 2 * Qi[j];
            if (quad <= 0) quad = TAU;
            double delta = (s.G[i] - s.G[j]) / quad;
            double sum = a[i] + a[j];
            a[i] -= delta;
            a[j] += delta;
            if (sum > Ci) {
                if (a[i] > Ci) {
                    a[i] = Ci;
                    a[j] = sum - Ci;
                }
            } else if (a[j] < 0) {
                a[j] = 0;
                a[i] = sum;
            }
            if (sum > Cj) {
                if (a[j] > Cj) {
                    a[j] = Cj;
                    a[i] = sum - Cj;
                }
            } else if (a[i] < 0) {
                a[i] = 0;
                a[j] = sum;
            }
        }
        double dai = a[i] - old_ai, daj = a[j] - old_aj;
        for (int t = 0; t < s.active_size; t++) s.G[t] += Qi[t] * dai + Qj[t] * daj;
        int ui = IS_UPPER(&s, i), uj = IS_UPPER(&s, j);
        update_status(&s, i);
        update_status(&s, j);
        /* G_bar = sum over alpha at C of C Q_i: kept for reconstruction. */
        if (ui != IS_UPPER(&s, i)) {
            const float *Q = get_q(&s, i, l);
            if (!Q) {
                st = LAM_ERR_NOMEM;
                goto done;
            }
            double c = ui ? -Ci : Ci;
            for (int t = 0; t < l; t++) s.G_bar[t] += c * Q[t];
        }
        if (uj != IS_UPPER(&s, j)) {
            const float *Q = get_q(&s, j, l);
            if (!Q) {
                st = LAM_ERR_NOMEM;
                goto done;
            }
            double c = uj ? -Cj : Cj;
            for (int t = 0; t < l; t++) s.G_bar[t] += c * Q[t];
        }
    }
    if (s.active_size < l) {
        if ((st = reconstruct_gradient(&s)) != LAM_OK) goto done;
        s.active_size = l;
    }
    *rho_out = calculate_rho(&s);
    *iter_out = iter;
    for (int i = 0; i < l; i++) alpha_out[s.active_set[i]] = s.alpha[i];
done:
    cache_free(&s.cache);
    lam_free(s.x);
    lam_free(s.sq);
    lam_free(s.y);
    lam_free(s.QD);
    lam_free(s.alpha);
    lam_free(s.G);
    lam_free(s.G_bar);
    lam_free(s.status);
    lam_free(s.active_set);
    return st;
}

/* -------------------------------------------------------------------- fit */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static kern svm_kern(const lam_svm *s)
{
    kern k = {s->p.kernel, s->gamma, s->p.coef0, s->p.degree, s->d};
    return k;
}

/* The fit on x as given (already scaled). */
static lam_status svm_fit_scaled(lam_svm *s, const float *x, int64_t n, int64_t d,
                                 const int32_t *y)
{
    svm_clear(s);
    lam_status st = LAM_ERR_NOMEM;
    int32_t *sorted = NULL, *cls_of = NULL, *sv_map = NULL;
    int64_t *cls_start = NULL, *cls_rows = NULL;
    double *sq = NULL, **alphas = NULL;

    /* gamma "scale" = 1 / (d * Var(X)) over all entries, as scikit-learn. */
    s->d = d;
    s->gamma = s->p.gamma;
    if (s->gamma == 0) {
        double mean = 0, m2 = 0;
        for (int64_t i = 0; i < n * d; i++) mean += x[i];
        mean /= (double)(n * d);
        for (int64_t i = 0; i < n * d; i++) m2 += (x[i] - mean) * (x[i] - mean);
        double var = m2 / (double)(n * d);
        s->gamma = var > 0 ? 1.0 / ((double)d * var) : 1.0;
    }

    /* Classes, and the rows of each grouped (libsvm's svm_group_classes). */
    sorted = lam_malloc((size_t)n * sizeof(int32_t));
    if (!sorted) goto done;
    memcpy(sorted, y, (size_t)n * sizeof(int32_t));
    qsort(sorted, (size_t)n, sizeof(int32_t), cmp_i32);
    int k = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || sorted[i] != sorted[i - 1]) sorted[k++] = sorted[i];
    if (k < 2) {
        st = lam_error(LAM_ERR_ARG, "svm fit: need at least 2 classes, got %d", k);
        goto done;
    }
    s->k = k;
    s->classes = lam_malloc((size_t)k * sizeof(int32_t));
    cls_of = lam_malloc((size_t)n * sizeof(int32_t));
    cls_start = lam_calloc((size_t)k + 1, sizeof(int64_t));
    cls_rows = lam_malloc((size_t)n * sizeof(int64_t));
    sq = lam_malloc((size_t)n * sizeof(double));
    if (!s->classes || !cls_of || !cls_start || !cls_rows || !sq) goto done;
    memcpy(s->classes, sorted, (size_t)k * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) {
        int32_t *hit = bsearch(&y[i], s->classes, (size_t)k, sizeof(int32_t), cmp_i32);
        cls_of[i] = (int32_t)(hit - s->classes);
        cls_start[cls_of[i] + 1]++;
        sq[i] = dotf(x + i * d, x + i * d, d);
    }
    for (int c = 0; c < k; c++) cls_start[c + 1] += cls_start[c];
    {
        int64_t *fill = lam_malloc((size_t)k * sizeof(int64_t));
        if (!fill) goto done;
        memcpy(fill, cls_start, (size_t)k * sizeof(int64_t));
        for (int64_t i = 0; i < n; i++) cls_rows[fill[cls_of[i]]++] = i;
        lam_free(fill);
    }

    /* One problem per pair; the cache is split among the threads that run
     * problems at the same time so that the total stays at cache_mb. */
    const int np = k * (k - 1) / 2;
    s->n_pairs = np;
    s->pair_class = lam_malloc((size_t)np * 2 * sizeof(int32_t));
    s->rho = lam_malloc((size_t)np * sizeof(double));
    s->iters = lam_malloc((size_t)np * sizeof(int64_t));
    alphas = lam_calloc((size_t)np, sizeof(double *));
    if (!s->pair_class || !s->rho || !s->iters || !alphas) goto done;
    for (int a = 0, p = 0; a < k; a++)
        for (int b = a + 1; b < k; b++, p++) {
            s->pair_class[2 * p] = a;
            s->pair_class[2 * p + 1] = b;
        }
    int threads = omp_get_max_threads();
    if (threads > np) threads = np;
    const double cache_bytes = s->p.cache_mb * 1048576.0 / threads;
    const kern kk = svm_kern(s);
    lam_status first = LAM_OK;
    int first_pair = -1;
    char msg[512] = "";
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int p = 0; p < np; p++) {
        int a = s->pair_class[2 * p], b = s->pair_class[2 * p + 1];
        int64_t na = cls_start[a + 1] - cls_start[a], nb = cls_start[b + 1] - cls_start[b];
        int l = (int)(na + nb);
        const float **px = lam_malloc((size_t)l * sizeof *px);
        double *psq = lam_malloc((size_t)l * sizeof(double));
        int8_t *py = lam_malloc((size_t)l);
        alphas[p] = lam_malloc((size_t)l * sizeof(double));
        lam_status ps = LAM_ERR_NOMEM;
        if (px && psq && py && alphas[p]) {
            for (int64_t i = 0; i < l; i++) {
                int64_t r = i < na ? cls_rows[cls_start[a] + i] : cls_rows[cls_start[b] + i - na];
                px[i] = x + r * d;
                psq[i] = sq[r];
                py[i] = i < na ? +1 : -1;
            }
            ps = smo_solve(&kk, px, psq, py, l, s->p.C, s->p.eps, s->p.shrinking,
                           s->p.max_iter, cache_bytes, alphas[p], &s->rho[p], &s->iters[p]);
        }
        lam_free(px);
        lam_free(psq);
        lam_free(py);
        if (ps != LAM_OK) {
#pragma omp critical(lam_svm_err)
            if (first == LAM_OK || p < first_pair) {
                first = ps;
                first_pair = p;
                snprintf(msg, sizeof msg, "%s", lam_last_error());
            }
        }
    }
    if (first != LAM_OK) {
        st = lam_error(first, "svm fit: classes pair %d: %s", first_pair, msg);
        goto done;
    }

    /* Support vectors: rows with a non-zero alpha in any pair, in class
     * order, then each pair's (sv, y alpha) list. */
    sv_map = lam_malloc((size_t)n * sizeof(int32_t));
    if (!sv_map) goto done;
    for (int64_t i = 0; i < n; i++) sv_map[i] = -1;
    int64_t total = 0;
    for (int p = 0; p < np; p++) {
        int a = s->pair_class[2 * p], b = s->pair_class[2 * p + 1];
        int64_t na = cls_start[a + 1] - cls_start[a], nb = cls_start[b + 1] - cls_start[b];
        for (int64_t i = 0; i < na + nb; i++)
            if (alphas[p][i] > 0) {
                int64_t r = i < na ? cls_rows[cls_start[a] + i] : cls_rows[cls_start[b] + i - na];
                sv_map[r] = 0;
                total++;
            }
    }
    int64_t nsv = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = cls_rows[i];
        if (sv_map[r] == 0) sv_map[r] = (int32_t)nsv++;
        else sv_map[r] = -1;
    }
    s->n_sv = nsv;
    s->sv = lam_malloc((size_t)(nsv * d) * sizeof(float) + 1);
    s->sv_sq = lam_malloc((size_t)nsv * sizeof(double) + 1);
    s->sv_index = lam_malloc((size_t)nsv * sizeof(int32_t) + 1);
    s->pair_off = lam_malloc((size_t)(np + 1) * sizeof(int64_t));
    s->pair_sv = lam_malloc((size_t)total * sizeof(int32_t) + 1);
    s->pair_coef = lam_malloc((size_t)total * sizeof(double) + 1);
    if (!s->sv || !s->sv_sq || !s->sv_index || !s->pair_off || !s->pair_sv || !s->pair_coef)
        goto done;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = cls_rows[i];
        if (sv_map[r] < 0) continue;
        int64_t v = sv_map[r];
        memcpy(s->sv + v * d, x + r * d, (size_t)d * sizeof(float));
        s->sv_sq[v] = sq[r];
        s->sv_index[v] = (int32_t)r;
    }
    int64_t o = 0;
    for (int p = 0; p < np; p++) {
        s->pair_off[p] = o;
        int a = s->pair_class[2 * p], b = s->pair_class[2 * p + 1];
        int64_t na = cls_start[a + 1] - cls_start[a], nb = cls_start[b + 1] - cls_start[b];
        for (int64_t i = 0; i < na + nb; i++)
            if (alphas[p][i] > 0) {
                int64_t r = i < na ? cls_rows[cls_start[a] + i] : cls_rows[cls_start[b] + i - na];
                s->pair_sv[o] = sv_map[r];
                s->pair_coef[o] = i < na ? alphas[p][i] : -alphas[p][i];
                o++;
            }
    }
    s->pair_off[np] = o;
    st = LAM_OK;
done:
    if (alphas)
        for (int p = 0; p < s->n_pairs; p++) lam_free(alphas[p]);
    lam_free(alphas);
    lam_free(sorted);
    lam_free(cls_of);
    lam_free(cls_start);
    lam_free(cls_rows);
    lam_free(sq);
    lam_free(sv_map);
    if (st != LAM_OK) {
        svm_clear(s);
        if (st == LAM_ERR_NOMEM) return lam_error_context(st, "svm fit");
    }
    return st;
}

lam_status lam_svm_fit(lam_svm *s, const float *x, int64_t n, int64_t d, const int32_t *y)
{
    if (!s) return lam_error(LAM_ERR_ARG, "svm fit: svm is NULL");
    LAM_TRY(lam_classic_check_xy("svm fit", x, n, d, y));
    lam_classic_scaler sc = {0};
    const float *xs;
    float *owned = NULL;
    lam_status st = lam_classic_scaler_fit(&sc, s->p.scaling, x, n, d, "svm fit");
    if (st == LAM_OK) st = lam_classic_scaler_apply(&sc, x, n, &xs, &owned);
    if (st == LAM_OK) st = svm_fit_scaled(s, xs, n, d, y);
    lam_free(owned);
    if (st != LAM_OK) {
        lam_classic_scaler_clear(&sc);
        return st;
    }
    s->scaler = sc; /* svm_fit_scaled cleared the old one */
    return LAM_OK;
}

lam_status lam_svm_fit_dataset(lam_svm *s, const lam_dataset *ds)
{
    float *x;
    int32_t *y;
    int64_t n, d;
    LAM_TRY(lam_classic_gather("svm fit", ds, &x, &y, &n, &d));
    lam_status st = lam_svm_fit(s, x, n, d, y);
    lam_free(x);
    lam_free(y);
    return st;
}

/* ---------------------------------------------------------------- predict */

static lam_status svm_check_predict(const lam_svm *s, const float *x, int64_t n, int64_t d,
                                    const void *out)
{
    if (!s || !x || !out) return lam_error(LAM_ERR_ARG, "svm predict: NULL argument");
    if (s->k == 0) return lam_error(LAM_ERR_STATE, "svm predict: the svm is not fitted");
    if (d != s->d)
        return lam_error(LAM_ERR_SHAPE,
                         "svm predict: x has %" PRId64 " features, the svm was fit on %" PRId64,
                         d, s->d);
    if (n < 0) return lam_error(LAM_ERR_ARG, "svm predict: n < 0");
    return LAM_OK;
}

/* Decision values (n * n_pairs, may be NULL) and/or voted labels. */
static lam_status svm_run(const lam_svm *s, const float *x, int64_t n, double *dec,
                          int32_t *labels)
{
    const kern kk = svm_kern(s);
    const int64_t d = s->d;
    int failed = 0;
#pragma omp parallel
    {
        double *kv = lam_malloc((size_t)s->n_sv * sizeof(double) + 1);
        double *dv = lam_malloc((size_t)s->n_pairs * sizeof(double));
        int *votes = lam_malloc((size_t)s->k * sizeof(int));
        if (!kv || !dv || !votes) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 16)
        for (int64_t i = 0; i < n; i++) {
            if (!kv || !dv || !votes) continue;
            const float *row = x + i * d;
            double sqr = kk.kind == LAM_KERNEL_RBF ? dotf(row, row, d) : 0;
            for (int64_t v = 0; v < s->n_sv; v++)
                kv[v] = kern_eval(&kk, s->sv + v * d, s->sv_sq[v], row, sqr);
            for (int p = 0; p < s->n_pairs; p++) {
                double sum = 0;
                for (int64_t o = s->pair_off[p]; o < s->pair_off[p + 1]; o++)
                    sum += s->pair_coef[o] * kv[s->pair_sv[o]];
                dv[p] = sum - s->rho[p];
            }
            if (dec) memcpy(dec + i * s->n_pairs, dv, (size_t)s->n_pairs * sizeof(double));
            if (labels) {
                for (int c = 0; c < s->k; c++) votes[c] = 0;
                for (int p = 0; p < s->n_pairs; p++)
                    votes[dv[p] > 0 ? s->pair_class[2 * p] : s->pair_class[2 * p + 1]]++;
                int best = 0;
                for (int c = 1; c < s->k; c++)
                    if (votes[c] > votes[best]) best = c;
                labels[i] = s->classes[best];
            }
        }
        lam_free(kv);
        lam_free(dv);
        lam_free(votes);
    }
    return failed ? lam_error(LAM_ERR_NOMEM, "svm predict: out of memory") : LAM_OK;
}

/* svm_run on x scaled as the training x was. */
static lam_status svm_run_raw(const lam_svm *s, const float *x, int64_t n, double *dec,
                              int32_t *labels)
{
    const float *xs;
    float *owned;
    LAM_TRY(lam_classic_scaler_apply(&s->scaler, x, n, &xs, &owned));
    lam_status st = svm_run(s, xs, n, dec, labels);
    lam_free(owned);
    return st;
}

lam_status lam_svm_decision_function(const lam_svm *s, const float *x, int64_t n, int64_t d,
                                     double *out)
{
    LAM_TRY(svm_check_predict(s, x, n, d, out));
    return svm_run_raw(s, x, n, out, NULL);
}

lam_status lam_svm_predict(const lam_svm *s, const float *x, int64_t n, int64_t d, int32_t *out)
{
    LAM_TRY(svm_check_predict(s, x, n, d, out));
    return svm_run_raw(s, x, n, NULL, out);
}

/* ------------------------------------------------------------------ files */

static const char *const kernel_names[] = {"linear", "rbf", "poly"};

lam_status lam_svm_save(const lam_svm *s, const char *path)
{
    if (!s) return lam_error(LAM_ERR_ARG, "svm save: svm is NULL");
    if (s->k == 0) return lam_error(LAM_ERR_STATE, "svm save: the svm is not fitted");
    int64_t total = s->pair_off[s->n_pairs];
    /* Pair offsets as I32 (the format has no I64): total < 2^31 is checked. */
    if (total > INT32_MAX) return lam_error(LAM_ERR_UNSUPPORTED, "svm save: too many coefficients");
    int32_t *off = lam_malloc((size_t)(s->n_pairs + 1) * sizeof(int32_t));
    if (!off) return LAM_ERR_NOMEM;
    for (int p = 0; p <= s->n_pairs; p++) off[p] = (int32_t)s->pair_off[p];
    lam_st_tensor ts[10] = {
        {"classes", LAM_ST_I32, 1, {s->k, 0}, s->classes},
        {"support_vectors", LAM_ST_F32, 2, {s->n_sv, s->d}, s->sv},
        {"support", LAM_ST_I32, 1, {s->n_sv, 0}, s->sv_index},
        {"pair_classes", LAM_ST_I32, 2, {s->n_pairs, 2}, s->pair_class},
        {"pair_offsets", LAM_ST_I32, 1, {s->n_pairs + 1, 0}, off},
        {"pair_sv", LAM_ST_I32, 1, {total, 0}, s->pair_sv},
        {"pair_coef", LAM_ST_F64, 1, {total, 0}, s->pair_coef},
        {"rho", LAM_ST_F64, 1, {s->n_pairs, 0}, s->rho},
    };
    char sd[32], g[40], C[40], deg[16], c0[40], eps[40], cache[40], mi[32];
    snprintf(sd, sizeof sd, "%" PRId64, s->d);
    snprintf(g, sizeof g, "%.17g", s->gamma);
    snprintf(C, sizeof C, "%.17g", s->p.C);
    snprintf(deg, sizeof deg, "%d", s->p.degree);
    snprintf(c0, sizeof c0, "%.17g", s->p.coef0);
    snprintf(eps, sizeof eps, "%.17g", s->p.eps);
    snprintf(cache, sizeof cache, "%.17g", s->p.cache_mb);
    snprintf(mi, sizeof mi, "%" PRId64, s->p.max_iter);
    const char *meta[] = {"n_features", sd, "kernel", kernel_names[s->p.kernel],
                          "gamma", g, "gamma_param", s->p.gamma == 0 ? "scale" : g,
                          "C", C, "degree", deg, "coef0", c0, "eps", eps, "cache_mb", cache,
                          "shrinking", s->p.shrinking ? "true" : "false", "max_iter", mi,
                          "scaling", lam_scaling_name(s->scaler.kind)};
    const int nt = 8 + lam_classic_scaler_tensors(&s->scaler, ts + 8);
    lam_status st = lam_st_save(path, "svm", ts, nt, meta, 12);
    lam_free(off);
    return st;
}

lam_status lam_svm_load(const char *path, lam_svm **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "svm load: out is NULL");
    *out = NULL;
    lam_st_file f;
    LAM_TRY(lam_st_open(&f, path, "svm"));
    lam_svm *s = NULL;
    lam_svm_params p = lam_svm_defaults();
    const char *str;
    int64_t d, v;
    double gamma;
    int32_t *off = NULL;
    lam_status st;
    if ((st = lam_st_meta_int(&f, "n_features", 1, INT32_MAX, &d)) ||
        (st = lam_st_meta_str(&f, "kernel", &str)))
        goto done;
    int kind = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(str, kernel_names[i]) == 0) kind = i;
    if (kind < 0) {
        st = lam_error(LAM_ERR_FORMAT, "%s: unknown kernel \"%s\"", path, str);
        goto done;
    }
    p.kernel = (lam_kernel)kind;
    if ((st = lam_st_meta_double(&f, "gamma", &gamma)) || (st = lam_st_meta_double(&f, "C", &p.C)) ||
        (st = lam_st_meta_int(&f, "degree", 1, 1000, &v)))
        goto done;
    p.degree = (int)v;
    if ((st = lam_st_meta_double(&f, "coef0", &p.coef0)) ||
        (st = lam_st_meta_double(&f, "eps", &p.eps)) ||
        (st = lam_st_meta_double(&f, "cache_mb", &p.cache_mb)) ||
        (st = lam_st_meta_int(&f, "max_iter", 0, INT64_MAX, &p.max_iter)) ||
        (st = lam_st_meta_str(&f, "shrinking", &str)))
        goto done;
    p.shrinking = strcmp(str, "true") == 0;
    if ((st = lam_st_meta_str(&f, "gamma_param", &str))) goto done;
    p.gamma = strcmp(str, "scale") == 0 ? 0 : gamma;
    if ((st = svm_check_params(&p, path))) goto done;
    if (!(gamma > 0)) {
        st = lam_error(LAM_ERR_FORMAT, "%s: gamma must be > 0", path);
        goto done;
    }
    if ((st = lam_svm_create(&s, &p)) || (st = lam_classic_scaler_load(&s->scaler, &f, d)))
        goto done;
    s->p.scaling = s->scaler.kind;
    s->d = d;
    s->gamma = gamma;
    int64_t sh[2] = {-1, -1};
    if ((st = lam_st_tensor_copy(&f, "classes", LAM_ST_I32, 1, sh, (void **)&s->classes))) goto done;
    s->k = (int)sh[0];
    if (s->k < 2 || s->k > 4096) { /* k (k - 1) / 2 pairs must stay small */
        st = lam_error(LAM_ERR_FORMAT, "%s: %d classes", path, s->k);
        goto done;
    }
    for (int c = 1; c < s->k; c++)
        if (s->classes[c] <= s->classes[c - 1]) {
            st = lam_error(LAM_ERR_FORMAT, "%s: classes are not strictly increasing", path);
            goto done;
        }
    int64_t sv_sh[2] = {-1, d};
    if ((st = lam_st_tensor_copy(&f, "support_vectors", LAM_ST_F32, 2, sv_sh, (void **)&s->sv)))
        goto done;
    s->n_sv = sv_sh[0];
    int64_t si_sh[1] = {s->n_sv};
    if ((st = lam_st_tensor_copy(&f, "support", LAM_ST_I32, 1, si_sh, (void **)&s->sv_index)))
        goto done;
    s->n_pairs = s->k * (s->k - 1) / 2;
    int64_t pc_sh[2] = {s->n_pairs, 2}, po_sh[1] = {s->n_pairs + 1}, r_sh[1] = {s->n_pairs};
    if ((st = lam_st_tensor_copy(&f, "pair_classes", LAM_ST_I32, 2, pc_sh, (void **)&s->pair_class)) ||
        (st = lam_st_tensor_copy(&f, "pair_offsets", LAM_ST_I32, 1, po_sh, (void **)&off)) ||
        (st = lam_st_tensor_copy(&f, "rho", LAM_ST_F64, 1, r_sh, (void **)&s->rho)))
        goto done;
    int64_t t_sh[1] = {-1};
    if ((st = lam_st_tensor_copy(&f, "pair_sv", LAM_ST_I32, 1, t_sh, (void **)&s->pair_sv)))
        goto done;
    int64_t total = t_sh[0];
    if ((st = lam_st_tensor_copy(&f, "pair_coef", LAM_ST_F64, 1, t_sh, (void **)&s->pair_coef)))
        goto done;
    /* Invariants: pairs in libsvm order, offsets monotone and ending at the
     * coefficient count, SV indices in range, every number finite. */
    s->pair_off = lam_malloc((size_t)(s->n_pairs + 1) * sizeof(int64_t));
    s->sv_sq = lam_malloc((size_t)s->n_sv * sizeof(double) + 1);
    if (!s->pair_off || !s->sv_sq) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    for (int a = 0, q = 0; a < s->k; a++)
        for (int b = a + 1; b < s->k; b++, q++)
            if (s->pair_class[2 * q] != a || s->pair_class[2 * q + 1] != b) {
                st = lam_error(LAM_ERR_FORMAT, "%s: pair %d is not classes (%d, %d)", path, q, a, b);
                goto done;
            }
    if (off[0] != 0 || off[s->n_pairs] != total) {
        st = lam_error(LAM_ERR_FORMAT, "%s: pair_offsets must run from 0 to %" PRId64, path, total);
        goto done;
    }
    for (int q = 0; q <= s->n_pairs; q++) {
        if (q > 0 && off[q] < off[q - 1]) {
            st = lam_error(LAM_ERR_FORMAT, "%s: pair_offsets decrease at %d", path, q);
            goto done;
        }
        s->pair_off[q] = off[q];
    }
    for (int64_t o = 0; o < total; o++) {
        if (s->pair_sv[o] < 0 || s->pair_sv[o] >= s->n_sv) {
            st = lam_error(LAM_ERR_FORMAT,
                           "%s: pair_sv[%" PRId64 "] = %d outside %" PRId64 " support vectors",
                           path, o, s->pair_sv[o], s->n_sv);
            goto done;
        }
        if (!isfinite(s->pair_coef[o])) {
            st = lam_error(LAM_ERR_FORMAT, "%s: pair_coef[%" PRId64 "] is not finite", path, o);
            goto done;
        }
    }
    for (int q = 0; q < s->n_pairs; q++)
        if (!isfinite(s->rho[q])) {
            st = lam_error(LAM_ERR_FORMAT, "%s: rho[%d] is not finite", path, q);
            goto done;
        }
    for (int64_t i = 0; i < s->n_sv * d; i++)
        if (!isfinite(s->sv[i])) {
            st = lam_error(LAM_ERR_FORMAT, "%s: support vector %" PRId64 " is not finite", path,
                           i / d);
            goto done;
        }
    for (int64_t v2 = 0; v2 < s->n_sv; v2++) s->sv_sq[v2] = dotf(s->sv + v2 * d, s->sv + v2 * d, d);
    st = LAM_OK;
done:
    lam_free(off);
    lam_st_close(&f);
    if (st != LAM_OK) {
        lam_svm_free(s);
        return st;
    }
    *out = s;
    return LAM_OK;
}
