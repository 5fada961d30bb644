/* attribution.c - gradient attributions of one sample for deep models
 * (saliency, gradient x input, SmoothGrad, integrated gradients) and the
 * entry point lam_explain, which also dispatches to Grad-CAM (gradcam.c),
 * occlusion (occlusion.c) and exact integrated gradients (ig_exact.c).
 *
 * Every gradient method is one loop: points (the input itself, noisy
 * copies, points along a path) are written o->batch at a time into the
 * model's input rows, one forward in LAM_MODE_INFER_GRAD and one backward
 * with dScore/dScore = 1 in every row give each row's gradient, and the
 * weighted gradients are summed in double in the order of the points, so
 * the result does not depend on o->batch.
 *
 * Token ids (the input is read by an Embedding or TokenAndPositionEmbedding
 * only): a gradient with respect to an id means nothing, so gradients are
 * taken at the embedding's output instead (the engine's override puts the
 * points there) and per_position sums the attribution over its features. */
#include "explain/attribution.h"

#include <math.h>
#include <string.h>

static const char *const method_names[LAM_EXPLAIN_METHOD_COUNT] = {
    "saliency", "gradxinput", "ig", "smoothgrad", "gradcam", "occlusion"};

const char *lam_explain_method_name(lam_explain_method method)
{
    return (unsigned)method < LAM_EXPLAIN_METHOD_COUNT ? method_names[method] : "?";
}

lam_status lam_explain_method_parse(const char *name, lam_explain_method *out)
{
    if (!name || !out) return lam_error(LAM_ERR_ARG, "lam_explain_method_parse: NULL argument");
    for (int i = 0; i < LAM_EXPLAIN_METHOD_COUNT; i++)
        if (strcmp(name, method_names[i]) == 0) {
            *out = (lam_explain_method)i;
            return LAM_OK;
        }
    return lam_error(LAM_ERR_ARG, "attribution method \"%s\" is unknown (expected saliency, "
                     "gradxinput, ig, smoothgrad, gradcam or occlusion)", name);
}

lam_explain_options lam_explain_defaults(lam_explain_method method)
{
    lam_explain_options o;
    memset(&o, 0, sizeof o);
    o.method = method;
    o.score = LAM_SCORE_LOGIT;
    o.target = -1;
    o.batch = 64;
    o.steps = 50;
    o.quadrature = LAM_QUAD_GAUSS_LEGENDRE;
    o.baseline = LAM_BASELINE_BLACK;
    o.blur_sigma = 5.0f;
    o.noise_level = 0.15f;
    o.samples = 50;
    o.window[0] = o.window[1] = 4;
    o.stride[0] = o.stride[1] = 2;
    return o;
}

void lam_attribution_free(lam_attribution *a)
{
    if (!a) return;
    lam_free(a->map);
    lam_free(a->per_position);
    a->map = a->per_position = NULL;
}

/* ------------------------------------------------------------ the score */

static bool is_embedding(lam_layer_kind k)
{
    return k == LAM_LAYER_EMBEDDING || k == LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING;
}

lam_status lam_scorer_init(lam_scorer *sc, lam_model *m, const lam_explain_options *o)
{
    memset(sc, 0, sizeof *sc);
    sc->m = m;
    const int nout = lam_model_num_outputs(m);
    if (lam_model_num_inputs(m) != 1)
        return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\" has %d inputs; attributions "
                         "explain models of one input", m->name, lam_model_num_inputs(m));
    if (o->output < 0 || o->output >= nout)
        return lam_error(LAM_ERR_ARG, "model \"%s\": output %d, expected 0 to %d", m->name,
                         o->output, nout - 1);
    if ((unsigned)o->score > LAM_SCORE_PROBABILITY)
        return lam_error(LAM_ERR_ARG, "score %d, expected 0 (logit) or 1 (probability)",
                         (int)o->score);
    if (o->batch < 1 || o->batch > 65536)
        return lam_error(LAM_ERR_ARG, "batch %d, expected 1 to 65536 rows per forward",
                         o->batch);
    lam_node *on = lam_model_output_node(m, o->output);
    sc->output = o->output;
    sc->target = o->target;
    sc->out_size = on->out.size;
    if (o->score == LAM_SCORE_LOGIT && lam_node_squashes(on)) {
        LAM_TRY(lam_model_keep_logits(m, o->output));
        sc->use_logits = true;
    }
    /* Token ids: the input's only reader embeds them. */
    const int in0 = lam_model_input_id(m, 0);
    int readers = 0, first = -1;
    for (int i = in0 + 1; i < m->n; i++)
        for (int k = 0; k < m->nodes[i].ninputs; k++)
            if (m->nodes[i].inputs[k] == in0) {
                readers++;
                if (first < 0) first = i;
            }
    sc->grad_node = in0;
    if (first >= 0 && is_embedding(m->nodes[first].spec.kind)) {
        if (readers != 1)
            return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": input \"%s\" holds token ids "
                             "(layer \"%s\" embeds them) and %d other layers read it too; "
                             "attributions need the embedding to be its only reader", m->name,
                             m->nodes[in0].spec.name, m->nodes[first].spec.name, readers - 1);
        sc->grad_node = first;
        sc->tokens = true;
    }
    sc->grad_size = m->nodes[sc->grad_node].out.size;
    sc->rows = o->batch;
    return lam_model_plan(m, sc->rows);
}

static const float *score_values(const lam_scorer *sc)
{
    return sc->use_logits ? lam_model_output_logits(sc->m, sc->output)
                          : lam_model_output(sc->m, sc->output);
}

lam_status lam_scorer_forward(lam_scorer *sc, int n, lam_mode mode, double *s)
{
    LAM_TRY(lam_forward(sc->m, n, mode));
    const float *v = score_values(sc);
    for (int r = 0; r < n; r++) s[r] = v[(int64_t)r * sc->out_size + sc->target];
    return LAM_OK;
}

lam_status lam_scorer_backward(lam_scorer *sc, int n, int node, const float **grad)
{
    lam_model *m = sc->m;
    /* Only this output's score: the other outputs send nothing back. */
    for (int k = 0; k < lam_model_num_outputs(m); k++) {
        const lam_node *ok = lam_model_output_node(m, k);
        float *g = k == sc->output && sc->use_logits ? lam_model_output_logit_grad(m, k)
                                                     : lam_model_output_grad(m, k);
        memset(g, 0, sizeof(float) * (size_t)n * (size_t)ok->out.size);
        if (k == sc->output)
            for (int r = 0; r < n; r++) g[(int64_t)r * sc->out_size + sc->target] = 1.0f;
    }
    /* Nodes at or below `node` need not run: its gradient is complete once
     * every reader (all later in the order) has run. */
    m->backward_lowest = node + 1;
    lam_status st = lam_backward_inputs(m, n);
    m->backward_lowest = 0;
    LAM_TRY(st);
    *grad = m->has_grad[node] ? m->nodes[node].grad : NULL;
    return LAM_OK;
}

/* ------------------------------------------------- gradients over points */

/* Writes point i (grad_size floats) into row. */
typedef void (*point_fn)(const void *ctx, int64_t i, float *row);

/* acc (grad_size doubles) += sum over points i of w[i] * gradient at point i
 * (w NULL: 1 / npoints each), points made by make, o->batch per forward. In
 * token mode the points go to the embedding's output (the input rows hold
 * the ids, x) through buf (rows x grad_size floats). */
static lam_status sum_gradients(lam_scorer *sc, const float *x, int64_t npoints, point_fn make,
                                const void *ctx, const double *w, float *buf, double *acc)
{
    lam_model *m = sc->m;
    const int64_t gs = sc->grad_size;
    float *rows = sc->tokens ? buf : lam_model_input_buffer(m, 0);
    if (sc->tokens) {
        const int64_t in = lam_model_input_node(m, 0)->out.size;
        for (int r = 0; r < sc->rows; r++)
            memcpy(lam_model_input_buffer(m, 0) + r * in, x, sizeof(float) * (size_t)in);
        m->override_node = sc->grad_node;
        m->override_values = buf;
    }
    memset(acc, 0, sizeof(double) * (size_t)gs);
    lam_status st = LAM_OK;
    for (int64_t first = 0; first < npoints && st == LAM_OK; first += sc->rows) {
        const int n = (int)(npoints - first < sc->rows ? npoints - first : sc->rows);
        for (int r = 0; r < n; r++) make(ctx, first + r, rows + r * gs);
        const float *g = NULL;
        st = lam_forward(m, n, LAM_MODE_INFER_GRAD);
        if (st == LAM_OK) st = lam_scorer_backward(sc, n, sc->grad_node, &g);
        if (st != LAM_OK || !g) continue; /* no gradient reached: it is zero */
        for (int r = 0; r < n; r++) {
            const double wr = w ? w[first + r] : 1.0 / (double)npoints;
            const float *gr = g + r * gs;
            for (int64_t j = 0; j < gs; j++) acc[j] += wr * gr[j];
        }
    }
    m->override_values = NULL;
    return st;
}

/* Points of integrated gradients: b + alpha[i] (x - b). */
typedef struct path_points {
    const float *x, *b;
    const double *alpha;
    int64_t size;
} path_points;

static void path_point(const void *ctx, int64_t i, float *row)
{
    const path_points *p = ctx;
    const double a = p->alpha[i];
    for (int64_t j = 0; j < p->size; j++)
        row[j] = (float)(p->b[j] + a * ((double)p->x[j] - p->b[j]));
}

/* SmoothGrad's points: x plus Gaussian noise, drawn in point order from one
 * generator seeded by o->seed (so the draws do not depend on the batch). */
typedef struct noisy_points {
    const float *x;
    int64_t size;
    double sigma;
    lam_rng *rng;
} noisy_points;

static void noisy_point(const void *ctx, int64_t i, float *row)
{
    (void)i; /* the generator is in point order already */
    const noisy_points *p = ctx;
    for (int64_t j = 0; j < p->size; j++)
        row[j] = (float)(p->x[j] + p->sigma * lam_rng_normal(p->rng));
}

static void min_max(const float *x, int64_t n, double *lo, double *hi)
{
    *lo = *hi = x[0];
    for (int64_t i = 1; i < n; i++) {
        if (x[i] < *lo) *lo = x[i];
        if (x[i] > *hi) *hi = x[i];
    }
}

/* Gaussian blur along the middle axis of v viewed as [outer, len, inner],
 * in place; the kernel (radius ceil(3 sigma)) is renormalised over the taps
 * inside the array, so a constant stays constant at the edges. */
static void blur_axis(float *v, int64_t outer, int64_t len, int64_t inner, double sigma,
                      double *line)
{
    int64_t r = (int64_t)ceil(3.0 * sigma);
    if (r > len - 1) r = len - 1;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < inner; c++) {
            float *p = v + o * len * inner + c;
            for (int64_t i = 0; i < len; i++) line[i] = p[i * inner];
            for (int64_t i = 0; i < len; i++) {
                double s = 0, ws = 0;
                for (int64_t k = -r; k <= r; k++) {
                    if (i + k < 0 || i + k >= len) continue;
                    const double wk = exp(-0.5 * (double)(k * k) / (sigma * sigma));
                    s += wk * line[i + k];
                    ws += wk;
                }
                p[i * inner] = (float)(s / ws);
            }
        }
}

/* The baseline of integrated gradients for an input of shape s. */
static lam_status make_baseline(const lam_explain_options *o, const float *x, const lam_shape *s,
                                float *b)
{
    const int64_t n = s->size;
    double lo, hi;
    switch (o->baseline) {
    case LAM_BASELINE_BLACK: memset(b, 0, sizeof(float) * (size_t)n); break;
    case LAM_BASELINE_INPUT: memcpy(b, o->baseline_input, sizeof(float) * (size_t)n); break;
    case LAM_BASELINE_NOISE: {
        lam_rng rng;
        lam_rng_seed(&rng, o->seed);
        min_max(x, n, &lo, &hi);
        for (int64_t i = 0; i < n; i++) b[i] = (float)(lo + (hi - lo) * lam_rng_uniform(&rng));
        break;
    }
    case LAM_BASELINE_BLUR: {
        /* An image (H, W, C) is blurred over H and W per channel; anything
         * else along its first axis (a sequence's time). */
        int64_t longest = s->dim[0] > s->dim[1] ? s->dim[0] : s->dim[1];
        double *line = lam_malloc(sizeof(double) * (size_t)(longest > 0 ? longest : 1));
        if (!line) return LAM_ERR_NOMEM;
        memcpy(b, x, sizeof(float) * (size_t)n);
        if (s->rank == 3) {
            blur_axis(b, 1, s->dim[0], s->dim[1] * s->dim[2], o->blur_sigma, line);
            blur_axis(b, s->dim[0], s->dim[1], s->dim[2], o->blur_sigma, line);
        } else {
            blur_axis(b, 1, s->dim[0], n / s->dim[0], o->blur_sigma, line);
        }
        lam_free(line);
        break;
    }
    }
    return LAM_OK;
}

/* ------------------------------------------------------------- options */

static lam_status check_options(const lam_model *m, const lam_explain_options *o,
                                const lam_shape *in)
{
    switch (o->method) {
    case LAM_EXPLAIN_SALIENCY:
    case LAM_EXPLAIN_GRAD_X_INPUT: break;
    case LAM_EXPLAIN_IG:
        if ((unsigned)o->baseline > LAM_BASELINE_INPUT)
            return lam_error(LAM_ERR_ARG, "integrated gradients: baseline %d, expected 0 "
                             "(black) to 3 (input)", (int)o->baseline);
        if (o->baseline == LAM_BASELINE_INPUT && !o->baseline_input)
            return lam_error(LAM_ERR_ARG, "integrated gradients: baseline \"input\" needs "
                             "baseline_input (%lld floats)", (long long)in->size);
        if (o->baseline == LAM_BASELINE_BLUR && !(o->blur_sigma > 0 && o->blur_sigma < 1e6f))
            return lam_error(LAM_ERR_ARG, "integrated gradients: blur_sigma is %g, expected a "
                             "positive number of pixels", (double)o->blur_sigma);
        if (!o->exact && (o->steps < 1 || o->steps > LAM_QUADRATURE_MAX))
            return lam_error(LAM_ERR_ARG, "integrated gradients: steps is %d, expected 1 to "
                             "%d", o->steps, LAM_QUADRATURE_MAX);
        break;
    case LAM_EXPLAIN_SMOOTHGRAD:
        if (o->samples < 1 || o->samples > LAM_QUADRATURE_MAX)
            return lam_error(LAM_ERR_ARG, "SmoothGrad: samples is %d, expected 1 to %d",
                             o->samples, LAM_QUADRATURE_MAX);
        if (!(o->noise_level >= 0 && o->noise_level < 1e6f))
            return lam_error(LAM_ERR_ARG, "SmoothGrad: noise_level is %g, expected >= 0 (a "
                             "fraction of the input's range)", (double)o->noise_level);
        break;
    case LAM_EXPLAIN_GRADCAM: {
        char buf[64];
        if (in->rank != 3)
            return lam_error(LAM_ERR_SHAPE, "Grad-CAM: input \"%s\" has shape %s; Grad-CAM "
                             "explains images (H, W, C)", lam_model_input_node(m, 0)->spec.name,
                             lam_dims_str(in->dim, in->rank, buf, sizeof buf));
        int node;
        LAM_TRY(lam_gradcam_layer(m, o->layer, &node));
        break;
    }
    case LAM_EXPLAIN_OCCLUSION: {
        /* (H, W, C): rows x columns; (T, F) and (T,): a window of T only. */
        const int64_t H = in->dim[0], W = in->rank >= 3 ? in->dim[1] : 1;
        const int ww = in->rank >= 3 ? o->window[1] : 1, sw = in->rank >= 3 ? o->stride[1] : 1;
        if (o->window[0] < 1 || o->window[0] > H || ww < 1 || ww > W)
            return lam_error(LAM_ERR_ARG, "occlusion: window %d x %d does not fit the input "
                             "(%lld x %lld); each side must be 1 to the input's", o->window[0],
                             ww, (long long)H, (long long)W);
        if (o->stride[0] < 1 || sw < 1)
            return lam_error(LAM_ERR_ARG, "occlusion: stride %d x %d, expected >= 1",
                             o->stride[0], sw);
        break;
    }
    default:
        return lam_error(LAM_ERR_ARG, "attribution method %d, expected 0 to %d",
                         (int)o->method, LAM_EXPLAIN_METHOD_COUNT - 1);
    }
    return LAM_OK;
}

/* ------------------------------------------------------------ explain */

static lam_status alloc_map(lam_attribution *a, int rank, const int64_t *shape)
{
    a->rank = rank;
    a->size = 1;
    for (int i = 0; i < 4; i++) {
        a->shape[i] = i < rank ? shape[i] : 0;
        if (i < rank) a->size *= shape[i];
    }
    a->map = lam_calloc((size_t)a->size, sizeof(float));
    return a->map ? LAM_OK : LAM_ERR_NOMEM;
}

/* The score of one point (in token mode: embedding output e). */
static lam_status score_at(lam_scorer *sc, const float *x, const float *e, double *s)
{
    lam_model *m = sc->m;
    const int64_t in = lam_model_input_node(m, 0)->out.size;
    memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * (size_t)in);
    if (e) {
        m->override_node = sc->grad_node;
        m->override_values = e;
    }
    lam_status st = lam_scorer_forward(sc, 1, LAM_MODE_INFER_GRAD, s);
    m->override_values = NULL;
    return st;
}

static void copy_point(const void *ctx, int64_t i, float *row)
{
    (void)i;
    const path_points *p = ctx;
    memcpy(row, p->x, sizeof(float) * (size_t)p->size);
}

/* Saliency, gradient x input, SmoothGrad and integrated gradients into
 * a->map (grad_size values); e is the embedding's output in token mode. */
static lam_status gradient_method(lam_scorer *sc, const float *x, const float *e,
                                  const lam_explain_options *o, lam_attribution *a)
{
    lam_model *m = sc->m;
    const lam_shape *in = &lam_model_input_node(m, 0)->out;
    const int64_t gs = sc->grad_size;
    const float *point = sc->tokens ? e : x; /* where the gradient is taken */
    double *acc = lam_malloc(sizeof(double) * (size_t)gs);
    float *buf = sc->tokens ? lam_malloc(sizeof(float) * (size_t)sc->rows * (size_t)gs) : NULL;
    float *base = o->method == LAM_EXPLAIN_IG ? lam_calloc((size_t)gs, sizeof(float)) : NULL;
    const int steps = o->method == LAM_EXPLAIN_IG && !o->exact ? o->steps : 1;
    double *alpha = lam_malloc(sizeof(double) * (size_t)steps);
    double *w = lam_malloc(sizeof(double) * (size_t)steps);
    lam_status st = LAM_OK;
    if (!acc || (sc->tokens && !buf) || (o->method == LAM_EXPLAIN_IG && !base) || !alpha || !w) {
        st = LAM_ERR_NOMEM;
        goto done;
    }
    path_points pp = {point, NULL, NULL, gs};
    switch (o->method) {
    case LAM_EXPLAIN_SALIENCY:
    case LAM_EXPLAIN_GRAD_X_INPUT:
        st = sum_gradients(sc, x, 1, copy_point, &pp, NULL, buf, acc);
        for (int64_t j = 0; j < gs && st == LAM_OK; j++)
            a->map[j] = (float)(o->method == LAM_EXPLAIN_SALIENCY ? fabs(acc[j])
                                                                  : acc[j] * point[j]);
        a->evaluations = 1;
        break;
    case LAM_EXPLAIN_SMOOTHGRAD: {
        if (sc->tokens) {
            st = lam_error(LAM_ERR_UNSUPPORTED, "SmoothGrad: input \"%s\" holds token ids, "
                           "which noise does not perturb meaningfully; use saliency, "
                           "gradxinput or ig", lam_model_input_node(m, 0)->spec.name);
            break;
        }
        double lo, hi;
        min_max(x, gs, &lo, &hi);
        lam_rng rng;
        lam_rng_seed(&rng, o->seed);
        noisy_points np = {x, gs, o->noise_level * (hi - lo), &rng};
        st = sum_gradients(sc, x, o->samples, noisy_point, &np, NULL, buf, acc);
        for (int64_t j = 0; j < gs && st == LAM_OK; j++) a->map[j] = (float)acc[j];
        a->evaluations = o->samples;
        break;
    }
    case LAM_EXPLAIN_IG: {
        if (sc->tokens && o->baseline != LAM_BASELINE_BLACK) {
            st = lam_error(LAM_ERR_UNSUPPORTED, "integrated gradients: input \"%s\" holds token "
                           "ids, whose baseline is the zero embedding (black); blur, noise and "
                           "input baselines are for real-valued inputs",
                           lam_model_input_node(m, 0)->spec.name);
            break;
        }
        if (sc->tokens && o->exact) {
            st = lam_error(LAM_ERR_UNSUPPORTED, "exact integrated gradients: input \"%s\" holds "
                           "token ids; the exact walk runs in input space (use Gauss-Legendre "
                           "steps)", lam_model_input_node(m, 0)->spec.name);
            break;
        }
        if (!sc->tokens) st = make_baseline(o, x, in, base);
        if (st == LAM_OK)
            st = score_at(sc, sc->tokens ? x : base, sc->tokens ? base : NULL,
                          &a->baseline_score);
        if (st != LAM_OK) break;
        if (o->exact) {
            st = lam_ig_exact(m, x, base, o->output, sc->target, o->score, a->map,
                              &a->evaluations);
            /* The walk may plan the model its own way: plan ours again. */
            if (st == LAM_OK) st = lam_model_plan(m, sc->rows);
        } else {
            st = lam_quadrature_rule(o->quadrature, steps, alpha, w);
            pp.b = base;
            pp.alpha = alpha;
            if (st == LAM_OK) st = sum_gradients(sc, x, steps, path_point, &pp, w, buf, acc);
            for (int64_t j = 0; j < gs && st == LAM_OK; j++)
                a->map[j] = (float)(((double)point[j] - base[j]) * acc[j]);
            a->evaluations = steps;
        }
        if (st != LAM_OK) break;
        double sum = 0;
        for (int64_t j = 0; j < gs; j++) sum += a->map[j];
        a->attribution_sum = sum;
        a->completeness_delta = sum - (a->score - a->baseline_score);
        break;
    }
    default: break;
    }
done:
    lam_free(acc);
    lam_free(buf);
    lam_free(base);
    lam_free(alpha);
    lam_free(w);
    return st;
}

static lam_status explain_run(lam_model *m, const float *x, const lam_explain_options *o,
                              lam_attribution *a)
{
    const lam_shape *in = &lam_model_input_node(m, 0)->out;
    LAM_TRY(check_options(m, o, in));
    lam_scorer sc;
    LAM_TRY(lam_scorer_init(&sc, m, o));
    /* The prediction at x: the target, the score and the probability. */
    memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * (size_t)in->size);
    LAM_TRY(lam_forward(m, 1, LAM_MODE_INFER_GRAD));
    const lam_node *on = lam_model_output_node(m, o->output);
    const float *y = lam_model_output(m, o->output);
    if (o->target == -1) {
        int64_t best = 0;
        for (int64_t j = 1; j < sc.out_size; j++)
            if (y[j] > y[best]) best = j;
        sc.target = (int)best;
    } else if (o->target < 0 || o->target >= sc.out_size) {
        return lam_error(LAM_ERR_ARG, "class %d is out of range: output \"%s\" has %lld "
                         "classes (0 to %lld; -1 for the predicted one)", o->target,
                         on->spec.name, (long long)sc.out_size, (long long)sc.out_size - 1);
    }
    a->target = sc.target;
    a->probability = lam_node_squashes(on) ? y[sc.target] : NAN;
    a->score = score_values(&sc)[sc.target];
    /* The embedding's output at x, where token-mode gradients are taken. */
    float *e = NULL;
    if (sc.tokens) {
        if (!(e = lam_malloc(sizeof(float) * (size_t)sc.grad_size))) return LAM_ERR_NOMEM;
        memcpy(e, m->nodes[sc.grad_node].value, sizeof(float) * (size_t)sc.grad_size);
    }
    lam_status st;
    if (o->method == LAM_EXPLAIN_GRADCAM) {
        int node = 0;
        st = lam_gradcam_layer(m, o->layer, &node);
        const lam_shape *ls = &m->nodes[node].out;
        float *cam = st == LAM_OK ? lam_malloc(sizeof(float) * (size_t)(ls->dim[0] * ls->dim[1]))
                                  : NULL;
        if (st == LAM_OK && !cam) st = LAM_ERR_NOMEM;
        if (st == LAM_OK) st = alloc_map(a, 2, in->dim);
        if (st == LAM_OK) st = lam_gradcam_grid(&sc, node, x, cam);
        if (st == LAM_OK)
            lam_resize_bilinear(cam, ls->dim[0], ls->dim[1], a->map, in->dim[0], in->dim[1]);
        a->evaluations = 1;
        lam_free(cam);
    } else if (o->method == LAM_EXPLAIN_OCCLUSION) {
        st = alloc_map(a, in->rank, in->dim);
        if (st == LAM_OK) st = lam_occlusion(&sc, x, o, a->map, &a->evaluations);
    } else {
        if (sc.tokens) st = alloc_map(a, m->nodes[sc.grad_node].out.rank,
                                      m->nodes[sc.grad_node].out.dim);
        else st = alloc_map(a, in->rank, in->dim);
        if (st == LAM_OK) st = gradient_method(&sc, x, e, o, a);
    }
    lam_free(e);
    if (st != LAM_OK) return st;
    /* Sequences: the map summed over features per position. Token ids keep
     * only that (T,): the features were the embedding's, not the input's. */
    if (o->method != LAM_EXPLAIN_GRADCAM && (sc.tokens || in->rank == 2)) {
        const int64_t T = a->shape[0], F = a->rank == 2 ? a->shape[1] : 1;
        if (!(a->per_position = lam_calloc((size_t)T, sizeof(float)))) return LAM_ERR_NOMEM;
        a->positions = T;
        for (int64_t t = 0; t < T; t++) {
            double s = 0;
            for (int64_t f = 0; f < F; f++) s += a->map[t * F + f];
            a->per_position[t] = (float)s;
        }
        if (sc.tokens && a->rank == 2) {
            memcpy(a->map, a->per_position, sizeof(float) * (size_t)T);
            a->rank = 1;
            a->size = T;
            a->shape[1] = 0;
        }
    }
    return LAM_OK;
}

lam_status lam_explain(lam_model *m, const float *x, const lam_explain_options *o,
                       lam_attribution *out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_explain: NULL attribution");
    memset(out, 0, sizeof *out);
    out->score = out->probability = NAN;
    out->baseline_score = out->attribution_sum = out->completeness_delta = NAN;
    if (!m || !x || !o)
        return lam_error(LAM_ERR_ARG, "lam_explain: NULL %s", !m ? "model" : !x ? "input x"
                                                                                : "options");
    if (m->ninputs < 1)
        return lam_error(LAM_ERR_ARG, "model \"%s\" has no input", m->name);
    out->method = o->method;
    lam_status st = explain_run(m, x, o, out);
    m->override_values = NULL;
    m->backward_lowest = 0;
    if (st != LAM_OK) {
        lam_attribution_free(out);
        out->rank = 0;
        out->size = 0;
    }
    return st;
}
