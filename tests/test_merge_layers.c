/* test_merge_layers.c - the merging layers (Add, Subtract, Multiply, Average,
 * Maximum, Minimum, Concatenate) and the shape layers (Reshape, Permute,
 * RepeatVector), and the graph they make possible:
 *   - their kernels against naive references;
 *   - finite-difference checks of every op over several shapes, and of the
 *     engine's graph cases: one tensor feeding three consumers, a node that
 *     lists one input twice, several inputs, a shared layer (also against two
 *     separate layers of equal weights), several outputs with their own
 *     losses and weights;
 *   - forward against Keras 3 (tests/make_graph_fixtures.py);
 *   - builder refusals, each naming the layer;
 *   - lam_fit_multi learning a two-input, two-output problem. */
#include "fixture.h"
#include "gradcheck.h"
#include "kernels/merge_kernels.h"
#include "kernels/shape_kernels.h"

#include <string.h>

static lam_layer_spec spec_named(lam_layer_kind kind, const char *name)
{
    lam_layer_spec s = lam_layer_defaults(kind);
    if (name) snprintf(s.name, sizeof s.name, "%s", name);
    return s;
}

/* Calls a new layer of the given spec on n nodes; returns the new node. */
static int call(lam_model *m, lam_layer_spec s, int n, const int *ins)
{
    int id = -1;
    CHECK_OK(lam_model_call(m, &s, n, ins, &id));
    return id;
}

static int dense(lam_model *m, int from, int units, lam_activation act)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_DENSE);
    s.units = units;
    s.activation = act;
    return call(m, s, 1, &from);
}

static int input(lam_model *m, int rank, const int64_t *shape)
{
    int id = -1;
    CHECK_OK(lam_model_input(m, NULL, rank, shape, &id));
    return id;
}

static lam_model *functional(void)
{
    lam_model *m = lam_model_new("graph");
    lam_model_set_seed(m, 11);
    return m;
}

static void outputs(lam_model *m, int n, const int *ids) { CHECK_OK(lam_model_set_outputs(m, n, ids)); }

/* The graphs here compose more curvature than one layer does (tanh outputs
 * multiplied together, squared, summed twice): at gradcheck's usual eps of
 * 1e-2 the central difference's O(eps^2) error alone reaches 1e-3. At 4e-3
 * it and float32 rounding (which grows as eps shrinks) both stay near 5e-4. */
static const check_opts gentle = {0, 0, 4e-3f};

/* Inputs spaced 0.03 apart, never within 2 eps of each other: Maximum and
 * Minimum keep their winners under the perturbation. */
static const check_opts distinct = {-1.0f, 0.03f, 1e-2f};

/* ---------------------------------------------------------------- kernels */

static void kernels_against_naive(void)
{
    /* Values from a set of 5, so many elements tie; 1300 crosses blocks. */
    enum { N = 1300, K = 4 };
    float *x[K], *dxa[K], *dxb[K], dy[N];
    for (int k = 0; k < K; k++) {
        x[k] = malloc(sizeof(float) * N);
        dxa[k] = malloc(sizeof(float) * N);
        dxb[k] = malloc(sizeof(float) * N);
        for (int i = 0; i < N; i++) x[k][i] = (float)(test_rnd() % 5) - 2.0f;
    }
    for (int i = 0; i < N; i++) dy[i] = test_rndf();
    for (int n = 1; n <= K; n++)
        for (int mx = 0; mx < 2; mx++) {
            float *const *pa = dxa, *const *pb = dxb;
            float *sa[K], *sb[K];
            /* Once with every gradient wanted, once with input 1's left out. */
            for (int skip = 0; skip < 2; skip++) {
                for (int k = 0; k < K; k++) {
                    sa[k] = skip && k == 1 ? NULL : dxa[k];
                    sb[k] = skip && k == 1 ? NULL : dxb[k];
                    memset(dxa[k], 0x7f, sizeof(float) * N);
                    memset(dxb[k], 0x7f, sizeof(float) * N);
                }
                pa = sa;
                pb = sb;
                lam_merge_select_grad((const float *const *)x, n, mx, dy, N, pa);
                lam_merge_select_grad_naive((const float *const *)x, n, mx, dy, N, pb);
                bool same = true;
                for (int k = 0; k < n; k++)
                    if (pa[k]) same &= memcmp(pa[k], pb[k], sizeof(float) * N) == 0;
                CHECK(same, "select gradient (n %d, %s) differs from the naive one", n,
                      mx ? "max" : "min");
            }
            /* Every element's dy goes to exactly one input: the first that
             * attains the extreme, which is also the forward value. */
            float y[N];
            lam_merge_select((const float *const *)x, n, mx, N, y);
            lam_merge_select_grad((const float *const *)x, n, mx, dy, N, dxa);
            int bad = 0;
            for (int i = 0; i < N; i++) {
                int first = 0;
                for (int k = 1; k < n; k++)
                    if (mx ? x[k][i] > x[first][i] : x[k][i] < x[first][i]) first = k;
                for (int k = 0; k < n; k++) bad += dxa[k][i] != (k == first ? dy[i] : 0.0f);
                bad += y[i] != x[first][i];
            }
            CHECK(bad == 0, "%s of %d inputs: %d elements not sent to the first winner",
                  mx ? "max" : "min", n, bad);
        }
    for (int k = 0; k < K; k++) {
        free(x[k]);
        free(dxa[k]);
        free(dxb[k]);
    }

    /* Every permutation of a rank-5 array (the batch axis and four more). */
    const int64_t dim[5] = {2, 3, 1, 4, 5};
    enum { T = 2 * 3 * 1 * 4 * 5 };
    float src[T], a[T], b[T];
    for (int i = 0; i < T; i++) src[i] = (float)i;
    int perm[5], bad = 0, count = 0;
    for (int p = 0; p < 3125; p++) {
        int used = 0, q = p;
        for (int i = 0; i < 5; i++, q /= 5) {
            perm[i] = q % 5;
            used |= 1 << perm[i];
        }
        if (used != 31) continue;
        count++;
        lam_permute(src, 5, dim, perm, a);
        lam_permute_naive(src, 5, dim, perm, b);
        bad += memcmp(a, b, sizeof a) != 0;
    }
    CHECK(count == 120 && bad == 0, "%d of %d permutations differ from the naive one", bad, count);
    /* The naive one itself, on one case worked by hand: (2, 3) transposed. */
    const int64_t d2[2] = {2, 3};
    lam_permute_naive(src, 2, d2, (int[]){1, 0}, a);
    const float want[6] = {0, 3, 1, 4, 2, 5};
    CHECK(memcmp(a, want, sizeof want) == 0, "transpose of (2, 3): %g %g %g %g %g %g", a[0], a[1],
          a[2], a[3], a[4], a[5]);
}

/* ------------------------------------------------------- op gradchecks */

static const struct {
    int rank;
    int64_t shape[4];
} shapes[] = {{1, {5}}, {2, {3, 4}}, {3, {2, 3, 2}}, {4, {2, 2, 3, 2}}};

static void check_elementwise_merges(void)
{
    const struct { lam_layer_kind kind; int n; } ops[] = {
        {LAM_LAYER_ADD, 3},      {LAM_LAYER_SUBTRACT, 2}, {LAM_LAYER_MULTIPLY, 3},
        {LAM_LAYER_AVERAGE, 3},  {LAM_LAYER_MAXIMUM, 3},  {LAM_LAYER_MINIMUM, 3},
        {LAM_LAYER_ADD, 2},      {LAM_LAYER_MULTIPLY, 2}, {LAM_LAYER_MAXIMUM, 2},
        {LAM_LAYER_MINIMUM, 4},  {LAM_LAYER_AVERAGE, 5},
    };
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const bool select = ops[o].kind == LAM_LAYER_MAXIMUM || ops[o].kind == LAM_LAYER_MINIMUM;
            lam_model *m = functional();
            int ins[5];
            for (int k = 0; k < ops[o].n; k++) ins[k] = input(m, shapes[s].rank, shapes[s].shape);
            /* The smooth ops get a Dense of weights in front of one input, so
             * parameter gradients pass through them; the selecting ones take
             * their inputs raw, spaced apart, so that no perturbation changes
             * a winner. */
            if (!select)
                ins[0] = dense(m, ins[0], (int)shapes[s].shape[shapes[s].rank - 1], LAM_ACT_TANH);
            call(m, lam_layer_defaults(ops[o].kind), ops[o].n, ins);
            char name[96];
            snprintf(name, sizeof name, "%s of %d, rank %d", lam_layer_kind_name(ops[o].kind),
                     ops[o].n, shapes[s].rank);
            gradcheck(name, m, LAM_LOSS_MSE, 2, select ? distinct : gentle);
            lam_model_free(m);
        }
}

static void check_concatenate(void)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int r = shapes[s].rank;
        for (int axis = -r; axis <= r; axis++) {
            if (axis == 0) continue;
            const int p = axis < 0 ? axis + r : axis - 1;
            lam_model *m = functional();
            int ins[3];
            for (int k = 0; k < 3; k++) {
                int64_t sh[4];
                memcpy(sh, shapes[s].shape, sizeof sh);
                sh[p] = k + 1; /* 1, 2, 3 along the axis: blocks of unequal widths */
                ins[k] = input(m, r, sh);
            }
            ins[1] = dense(m, ins[1], (int)(p == r - 1 ? 2 : shapes[s].shape[r - 1]), LAM_ACT_TANH);
            lam_layer_spec c = lam_layer_defaults(LAM_LAYER_CONCATENATE);
            c.axis = axis;
            int cat = call(m, c, 3, ins);
            int64_t out[4];
            CHECK(lam_model_layer_output_shape(m, cat, out) == r && out[p] == 6,
                  "Concatenate(axis %d) of rank %d: %lld along the axis, expected 6", axis, r,
                  (long long)out[p]);
            char name[96];
            snprintf(name, sizeof name, "Concatenate(axis %d), rank %d", axis, r);
            gradcheck(name, m, LAM_LOSS_MSE, 2, gentle);
            lam_model_free(m);
        }
    }
}

static void check_reshape(void)
{
    const struct { int in_rank; int64_t in[4]; int rank; int64_t target[4]; } cases[] = {
        {1, {12}, 2, {3, 4}},
        {3, {2, 3, 4}, 2, {-1, 6}},
        {2, {4, 6}, 4, {2, 2, -1, 3}},
        {4, {2, 2, 3, 2}, 1, {-1}},
        {2, {3, 4}, 3, {4, 1, 3}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        /* Sequential, as most Reshapes are built. */
        lam_model *m = model_with_input(cases[k].in_rank, cases[k].in);
        const int x = 0;
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_RESHAPE);
        s.rank = cases[k].rank;
        memcpy(s.shape, cases[k].target, sizeof s.shape);
        CHECK_OK(lam_model_add(m, &s));
        const int r = lam_model_num_layers(m) - 1;
        int64_t out[4];
        int rank = lam_model_layer_output_shape(m, r, out);
        int64_t size = 1;
        for (int i = 0; i < rank; i++) size *= out[i];
        CHECK(rank == cases[k].rank && size == m->nodes[x].out.size,
              "Reshape case %zu: rank %d, %lld values", k, rank, (long long)size);
        /* A Dense on the last axis after it: wrong strides would show. */
        dense(m, r, 2, LAM_ACT_TANH);
        char name[96];
        snprintf(name, sizeof name, "Reshape case %zu (a view)", k);
        gradcheck(name, m, LAM_LOSS_MSE, 2, gentle);
        lam_model_free(m);
    }
    /* Reshape of a tensor with another reader: not a view, a copy whose
     * gradient joins the other one's. */
    lam_model *m = functional();
    int x = input(m, 2, (int64_t[]){3, 4});
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_RESHAPE);
    s.rank = 2;
    s.shape[0] = 4;
    s.shape[1] = 3;
    int r = call(m, s, 1, &x);
    lam_layer_spec p = lam_layer_defaults(LAM_LAYER_PERMUTE);
    p.dims[0] = 2;
    p.dims[1] = 1;
    int t = call(m, p, 1, &r);
    int add = call(m, lam_layer_defaults(LAM_LAYER_ADD), 2, (int[]){x, t});
    dense(m, add, 3, LAM_ACT_TANH);
    gradcheck("Add(x, Permute(Reshape(x))) (a copy)", m, LAM_LOSS_MSE, 3, gentle);
    CHECK(m->aliased && !m->aliased[r], "the Reshape of a tensor read twice is a view");
    lam_model_free(m);
}

static void check_permute(void)
{
    for (size_t s = 1; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int r = shapes[s].rank;
        int n = 1;
        for (int i = 2; i <= r; i++) n *= i;
        for (int code = 0, done = 0; done < n; code++) {
            /* The code's base-r digits, kept when they are a permutation. */
            int dims[4] = {0}, used = 0, q = code;
            for (int i = 0; i < r; i++, q /= r) {
                dims[i] = q % r + 1;
                used |= 1 << (dims[i] - 1);
            }
            if (used != (1 << r) - 1) continue;
            done++;
            lam_model *m = functional();
            int x = input(m, r, shapes[s].shape);
            lam_layer_spec p = lam_layer_defaults(LAM_LAYER_PERMUTE);
            memcpy(p.dims, dims, sizeof dims);
            int y = call(m, p, 1, &x);
            dense(m, y, 2, LAM_ACT_LINEAR);
            char name[96];
            snprintf(name, sizeof name, "Permute((%d, %d, %d, %d)[:%d])", dims[0], dims[1],
                     dims[2], dims[3], r);
            gradcheck(name, m, LAM_LOSS_MSE, 2, gentle);
            lam_model_free(m);
        }
    }
}

static void check_repeat_vector(void)
{
    const struct { int64_t features; int repeats; } cases[] = {{5, 3}, {1, 4}, {3, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lam_model *m = functional();
        int x = input(m, 1, &cases[k].features);
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_REPEAT_VECTOR);
        s.repeats = cases[k].repeats;
        int r = call(m, s, 1, &x);
        dense(m, r, 2, LAM_ACT_TANH);
        char name[96];
        snprintf(name, sizeof name, "RepeatVector(%d) of (%lld,)", cases[k].repeats,
                 (long long)cases[k].features);
        gradcheck(name, m, LAM_LOSS_MSE, 3, gentle);
        lam_model_free(m);
    }
}

/* --------------------------------------------------------- graph cases */

static void check_fan_out(void)
{
    /* h feeds three consumers (two Dense and a Multiply); the input x feeds
     * three too (two Dense and the final Concatenate). */
    lam_model *m = functional();
    int x = input(m, 1, (int64_t[]){4});
    int h = dense(m, x, 3, LAM_ACT_TANH);
    int c1 = dense(m, h, 3, LAM_ACT_TANH);
    int c2 = dense(m, h, 3, LAM_ACT_SIGMOID);
    int c3 = call(m, lam_layer_defaults(LAM_LAYER_MULTIPLY), 2, (int[]){h, c2});
    int sum = call(m, lam_layer_defaults(LAM_LAYER_ADD), 2, (int[]){c1, c3});
    int x1 = dense(m, x, 2, LAM_ACT_LINEAR);
    call(m, lam_layer_defaults(LAM_LAYER_CONCATENATE), 3, (int[]){sum, x1, x});
    gradcheck("fan-out: h and x each feed three consumers", m, LAM_LOSS_MSE, 3, gentle);
    lam_model_free(m);
}

static void check_same_input_twice(void)
{
    const lam_layer_kind kinds[] = {LAM_LAYER_ADD, LAM_LAYER_MULTIPLY, LAM_LAYER_AVERAGE,
                                    LAM_LAYER_MAXIMUM, LAM_LAYER_MINIMUM, LAM_LAYER_CONCATENATE};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        /* On a Dense output (parameter gradients through both routes)... */
        lam_model *m = functional();
        int x = input(m, 1, (int64_t[]){4});
        int h = dense(m, x, 3, LAM_ACT_TANH);
        int y = call(m, lam_layer_defaults(kinds[k]), 2, (int[]){h, h});
        dense(m, y, 2, LAM_ACT_LINEAR);
        char name[96];
        snprintf(name, sizeof name, "%s(h, h)", lam_layer_kind_name(kinds[k]));
        gradcheck(name, m, LAM_LOSS_MSE, 3, gentle);
        lam_model_free(m);
        /* ... and on the input itself (its gradient from both routes). */
        m = functional();
        x = input(m, 1, (int64_t[]){4});
        y = call(m, lam_layer_defaults(kinds[k]), 2, (int[]){x, x});
        dense(m, y, 2, LAM_ACT_TANH);
        snprintf(name, sizeof name, "%s(x, x) on the input", lam_layer_kind_name(kinds[k]));
        gradcheck(name, m, LAM_LOSS_MSE, 3, gentle);
        lam_model_free(m);
    }
}

static void check_views_and_read_outputs(void)
{
    /* A Reshape of a Reshape (a view of a view) read by two nodes, one of
     * them an output that another node reads: its gradient is the loss's
     * plus the reader's. */
    lam_model *m = functional();
    int x = input(m, 1, (int64_t[]){12});
    lam_layer_spec r = lam_layer_defaults(LAM_LAYER_RESHAPE);
    r.rank = 2;
    r.shape[0] = 3;
    r.shape[1] = 4;
    int r1 = call(m, r, 1, &x);
    r.shape[0] = 4;
    r.shape[1] = 3;
    int r2 = call(m, r, 1, &r1);
    int d = dense(m, r2, 3, LAM_ACT_TANH);
    int e = call(m, lam_layer_defaults(LAM_LAYER_ADD), 2, (int[]){d, r2});
    outputs(m, 2, (int[]){d, e});
    gradcheck("Reshape of a Reshape; an output read further", m, LAM_LOSS_MSE, 3, gentle);
    /* Each Reshape's input has no other reader: both are views, so the two
     * gradients reaching r2 meet in x's own buffer. */
    CHECK(m->aliased && m->aliased[r1] && m->aliased[r2], "the Reshapes are not views");
    lam_model_free(m);
}

static void check_multi_input(void)
{
    lam_model *m = functional();
    int a = input(m, 2, (int64_t[]){3, 4});
    int b = input(m, 1, (int64_t[]){6});
    int c = input(m, 2, (int64_t[]){2, 2});
    lam_layer_spec p = lam_layer_defaults(LAM_LAYER_PERMUTE);
    p.dims[0] = 2;
    p.dims[1] = 1;
    int pa = call(m, p, 1, &a); /* (4, 3) */
    lam_layer_spec r = lam_layer_defaults(LAM_LAYER_RESHAPE);
    r.rank = 1;
    r.shape[0] = 12;
    int fa = call(m, r, 1, &pa);
    int db = dense(m, b, 12, LAM_ACT_TANH);
    int sub = call(m, lam_layer_defaults(LAM_LAYER_SUBTRACT), 2, (int[]){fa, db});
    r.shape[0] = 4;
    int fc = call(m, r, 1, &c);
    int cat = call(m, lam_layer_defaults(LAM_LAYER_CONCATENATE), 2, (int[]){sub, fc});
    dense(m, cat, 3, LAM_ACT_SOFTMAX);
    CHECK(lam_model_num_inputs(m) == 3, "%d inputs", lam_model_num_inputs(m));
    gradcheck("three inputs: Permute, Reshape, Subtract, Concatenate", m,
              LAM_LOSS_SPARSE_CATEGORICAL_CE, 3, gentle);
    lam_model_free(m);
}

/* One Dense called on a and on b (shared), or two Dense layers of equal
 * weights; both feed a Concatenate and a linear head. */
static lam_model *shared_model(bool shared)
{
    lam_model *m = functional();
    int a = input(m, 1, (int64_t[]){4});
    int b = input(m, 1, (int64_t[]){4});
    int da = dense(m, a, 3, LAM_ACT_TANH), db = -1;
    if (shared) CHECK_OK(lam_model_call_shared(m, da, 1, &b, &db));
    else db = dense(m, b, 3, LAM_ACT_TANH);
    int cat = call(m, lam_layer_defaults(LAM_LAYER_CONCATENATE), 2, (int[]){da, db});
    dense(m, cat, 2, LAM_ACT_LINEAR);
    return m;
}

static void check_shared_layer(void)
{
    lam_model *s = shared_model(true);
    CHECK(lam_model_param_count(s) == 4 * 3 + 3 + 6 * 2 + 2, "shared model has %lld weights",
          (long long)lam_model_param_count(s));
    gradcheck("shared Dense on two inputs", s, LAM_LOSS_MSE, 3, gentle);

    /* The same step through two separate layers holding the shared weights:
     * the shared gradient must be the sum of theirs. */
    lam_model *t = shared_model(false);
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(t, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(s, 3));
    CHECK_OK(lam_model_plan(t, 3));
    lam_tensor_info si, ti;
    /* s: dense/kernel, dense/bias, dense_1/...; t: dense, dense_1 (the copy), dense_2. */
    const int map[4][2] = {{0, 0}, {1, 1}, {2, 4}, {3, 5}};
    for (int i = 0; i < 4; i++) {
        CHECK_OK(lam_model_tensor(s, map[i][0], &si));
        CHECK_OK(lam_model_tensor(t, map[i][1], &ti));
        memcpy(ti.data, si.data, sizeof(float) * (size_t)si.count);
        if (i < 2) {
            CHECK_OK(lam_model_tensor(t, map[i][1] + 2, &ti));
            memcpy(ti.data, si.data, sizeof(float) * (size_t)si.count);
        }
    }
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3 * 4; i++)
            lam_model_input_buffer(s, k)[i] = lam_model_input_buffer(t, k)[i] = test_rndf();
    CHECK_OK(lam_forward(s, 3, LAM_MODE_TRAIN));
    CHECK_OK(lam_forward(t, 3, LAM_MODE_TRAIN));
    for (int i = 0; i < 3 * 2; i++)
        lam_model_output_grad(s, 0)[i] = lam_model_output_grad(t, 0)[i] = test_rndf();
    CHECK_OK(lam_backward(s, 3, true));
    CHECK_OK(lam_backward(t, 3, true));
    double worst = 0;
    for (int i = 0; i < 4; i++) {
        CHECK_OK(lam_model_tensor(s, map[i][0], &si));
        CHECK_OK(lam_model_tensor(t, map[i][1], &ti));
        lam_tensor_info t2 = ti;
        if (i < 2) CHECK_OK(lam_model_tensor(t, map[i][1] + 2, &t2));
        for (int64_t j = 0; j < si.count; j++) {
            double want = i < 2 ? (double)ti.grad[j] + t2.grad[j] : ti.grad[j];
            worst = fmax(worst, fabs(si.grad[j] - want));
        }
    }
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3 * 4; i++)
            worst = fmax(worst, fabs(lam_model_input_grad(s, k)[i] - lam_model_input_grad(t, k)[i]));
    CHECK(worst <= 1e-6, "shared layer's gradients differ from the sum of two copies' by %.3g",
          worst);
    printf("%-48s worst difference %.2e\n", "shared Dense vs two Dense, summed", worst);
    lam_model_free(s);
    lam_model_free(t);
}

/* a -> h; y1 = Dense(3, softmax)(h); y2 = Dense(2)(Concatenate(h, b)). */
static lam_model *two_output_model(void)
{
    lam_model *m = functional();
    int a = input(m, 1, (int64_t[]){4});
    int b = input(m, 1, (int64_t[]){2});
    int h = dense(m, a, 5, LAM_ACT_TANH);
    int y1 = dense(m, h, 3, LAM_ACT_SOFTMAX);
    int cat = call(m, lam_layer_defaults(LAM_LAYER_CONCATENATE), 2, (int[]){h, b});
    int y2 = dense(m, cat, 2, LAM_ACT_LINEAR);
    outputs(m, 2, (int[]){y1, y2});
    return m;
}

static void check_multi_output(void)
{
    const lam_loss losses[2] = {LAM_LOSS_SPARSE_CATEGORICAL_CE, LAM_LOSS_MSE};
    const float weights[2] = {0.7f, 0.3f};
    lam_model *m = two_output_model();
    gradcheck_outputs("two outputs: sparse CE x 0.7 + MSE x 0.3", m, LAM_LOSS_MSE, losses,
                      weights, 3, gentle);
    lam_model_free(m);

    /* The weights do weigh: loss and gradients at (0.7, 0.3) are 0.7 x those
     * at (1, 0) plus 0.3 x those at (0, 1), on the same batch. */
    const float w[3][2] = {{0.7f, 0.3f}, {1, 0}, {0, 1}};
    float a[3 * 4], b[3 * 2], values[3 * 2], *g[3] = {NULL, NULL, NULL};
    int32_t labels[3] = {2, 0, 1};
    for (int i = 0; i < 12; i++) a[i] = test_rndf();
    for (int i = 0; i < 6; i++) b[i] = test_rndf(), values[i] = test_rndf();
    const lam_target t[2] = {{labels, NULL, NULL}, {NULL, values, NULL}};
    double loss[3];
    int64_t np = 0;
    for (int v = 0; v < 3; v++) {
        m = two_output_model();
        lam_optimizer sgd = lam_sgd();
        CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
        CHECK_OK(lam_model_set_output_loss(m, 0, losses[0], w[v][0]));
        CHECK_OK(lam_model_set_output_loss(m, 1, losses[1], w[v][1]));
        CHECK_OK(lam_model_plan(m, 3));
        memcpy(lam_model_input_buffer(m, 0), a, sizeof a);
        memcpy(lam_model_input_buffer(m, 1), b, sizeof b);
        lam_batch_metrics bm;
        CHECK_OK(lam_forward(m, 3, LAM_MODE_TRAIN));
        CHECK_OK(lam_loss_eval(m, 3, t, true, &bm));
        CHECK_OK(lam_backward(m, 3, false));
        loss[v] = bm.loss;
        np = lam_model_param_count(m);
        g[v] = malloc(sizeof(float) * (size_t)np);
        memcpy(g[v], lam_model_grads(m), sizeof(float) * (size_t)np);
        lam_model_free(m);
    }
    CHECK_NEAR(loss[0], 0.7 * loss[1] + 0.3 * loss[2], 1e-5 * fabs(loss[0]));
    double worst = 0;
    for (int64_t i = 0; i < np; i++) worst = fmax(worst, fabs(g[0][i] - (0.7 * g[1][i] + 0.3 * g[2][i])));
    CHECK(worst <= 1e-6, "weighted gradients differ from the weighted sum by %.3g", worst);
    CHECK(loss[1] > 0 && loss[2] > 0 && fabs(loss[1] - loss[2]) > 1e-3,
          "the two losses (%g, %g) should differ, or the check above proves little", loss[1],
          loss[2]);
    for (int v = 0; v < 3; v++) free(g[v]);
}

/* ------------------------------------------------------- Keras fixtures */

static double compare_fixture(const char *file, const float *got, int64_t count, const char *what)
{
    long n = 0;
    float *want = fixture_load(file, &n);
    CHECK(want && n == count, "%s: fixture %s has %ld values, the layer %lld", what, file, n,
          (long long)count);
    double worst = 0;
    if (want && n == count)
        for (long i = 0; i < n; i++) worst = fmax(worst, fabs((double)got[i] - want[i]));
    CHECK(worst <= 1e-5, "%s: max |lamina - Keras| = %.3g", what, worst);
    free(want);
    return worst;
}

static void keras_parity(void)
{
    lam_model *m = lam_model_new("graph_fixture");
    int a, b, v;
    CHECK_OK(lam_model_input(m, "a", 2, (int64_t[]){4, 3}, &a));
    CHECK_OK(lam_model_input(m, "b", 2, (int64_t[]){4, 3}, &b));
    CHECK_OK(lam_model_input(m, "v", 1, (int64_t[]){5}, &v));
    lam_layer_spec ds = spec_named(LAM_LAYER_DENSE, "dense");
    ds.units = 3;
    const int d = call(m, ds, 1, &a);
    struct { const char *name; int id; } t[16];
    int n = 0;
#define LAYER(nm, spec, ...)                                                          \
    do {                                                                              \
        const int ins_[] = {__VA_ARGS__};                                             \
        t[n].name = nm;                                                               \
        t[n].id = call(m, spec, (int)(sizeof ins_ / sizeof ins_[0]), ins_);           \
        n++;                                                                          \
    } while (0)
#define ID(k) t[k].id
    lam_layer_spec s;
    LAYER("add", spec_named(LAM_LAYER_ADD, "add"), d, b);                      /* 0 */
    LAYER("subtract", spec_named(LAM_LAYER_SUBTRACT, "subtract"), a, b);       /* 1 */
    LAYER("multiply", spec_named(LAM_LAYER_MULTIPLY, "multiply"), ID(0), ID(1), a);
    LAYER("average", spec_named(LAM_LAYER_AVERAGE, "average"), a, b, d);       /* 3 */
    LAYER("maximum", spec_named(LAM_LAYER_MAXIMUM, "maximum"), a, b, d);       /* 4 */
    LAYER("minimum", spec_named(LAM_LAYER_MINIMUM, "minimum"), a, b);          /* 5 */
    LAYER("concat_last", spec_named(LAM_LAYER_CONCATENATE, "concat_last"), ID(0), ID(1), ID(2),
          ID(3), ID(4), ID(5));                                                /* 6 */
    s = spec_named(LAM_LAYER_CONCATENATE, "concat_axis1");
    s.axis = 1;
    LAYER("concat_axis1", s, ID(0), ID(1));                                    /* 7 */
    s = spec_named(LAM_LAYER_CONCATENATE, "concat_neg2");
    s.axis = -2;
    LAYER("concat_neg2", s, ID(7), a);                                         /* 8 */
    s = spec_named(LAM_LAYER_REPEAT_VECTOR, "repeat");
    s.repeats = 4;
    LAYER("repeat", s, v);                                                     /* 9 */
    LAYER("concat_repeat", spec_named(LAM_LAYER_CONCATENATE, "concat_repeat"), a, ID(9));
    s = spec_named(LAM_LAYER_RESHAPE, "reshape3");
    s.rank = 3;
    s.shape[0] = 2, s.shape[1] = -1, s.shape[2] = 3;
    LAYER("reshape3", s, ID(6));                                               /* 11 */
    s = spec_named(LAM_LAYER_PERMUTE, "permute3");
    s.dims[0] = 3, s.dims[1] = 1, s.dims[2] = 2;
    LAYER("permute3", s, ID(11));                                              /* 12 */
    s = spec_named(LAM_LAYER_RESHAPE, "reshape4");
    s.rank = 4;
    s.shape[0] = 2, s.shape[1] = 3, s.shape[2] = 2, s.shape[3] = 3;
    LAYER("reshape4", s, ID(8));                                               /* 13 */
    s = spec_named(LAM_LAYER_CONCATENATE, "concat_axis2");
    s.axis = 2;
    LAYER("concat_axis2", s, ID(13), ID(13));                                  /* 14 */
    s = spec_named(LAM_LAYER_PERMUTE, "permute4");
    s.dims[0] = 4, s.dims[1] = 2, s.dims[2] = 1, s.dims[3] = 3;
    LAYER("permute4", s, ID(14));                                              /* 15 */
#undef LAYER
#undef ID
    outputs(m, 3, (int[]){t[12].id, t[15].id, t[10].id});
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, 2));
    const char *names[] = {"graph_dense_kernel.npy", "graph_dense_bias.npy"};
    for (int i = 0; i < 2; i++) {
        lam_tensor_info ti;
        CHECK_OK(lam_model_tensor(m, i, &ti));
        long cnt = 0;
        float *w = fixture_load(names[i], &cnt);
        CHECK(w && cnt == ti.count, "%s: %ld values for %s", names[i], cnt, ti.name);
        if (w && cnt == ti.count) memcpy(ti.data, w, sizeof(float) * (size_t)cnt);
        free(w);
    }
    const char *in_names[] = {"graph_a.npy", "graph_b.npy", "graph_v.npy"};
    for (int k = 0; k < 3; k++) {
        long cnt = 0;
        float *x = fixture_load(in_names[k], &cnt);
        CHECK(x && cnt == 2 * lam_model_input_node(m, k)->out.size, "%s", in_names[k]);
        if (x && cnt == 2 * lam_model_input_node(m, k)->out.size)
            memcpy(lam_model_input_buffer(m, k), x, sizeof(float) * (size_t)cnt);
        free(x);
    }
    double worst = 0;
    for (int mode = 0; mode < 2; mode++) {
        /* Inference and training forward passes compute the same. */
        CHECK_OK(lam_forward(m, 2, mode ? LAM_MODE_TRAIN : LAM_MODE_INFER));
        for (int k = 0; k < n; k++) {
            char file[64];
            snprintf(file, sizeof file, "graph_%s.npy", t[k].name);
            const lam_node *nd = &m->nodes[t[k].id];
            CHECK(strcmp(nd->spec.name, t[k].name) == 0, "node %d is \"%s\"", t[k].id,
                  nd->spec.name);
            worst = fmax(worst, compare_fixture(file, nd->value, 2 * nd->out.size, t[k].name));
        }
    }
    printf("%-48s %d layers, worst |lamina - Keras| %.2e\n", "Keras 3 merge/shape fixtures", n,
           worst);
    lam_model_free(m);

    /* Keras 3 merges a single input too: it comes back unchanged. */
    const lam_layer_kind one[] = {LAM_LAYER_ADD, LAM_LAYER_MULTIPLY, LAM_LAYER_AVERAGE,
                                  LAM_LAYER_MAXIMUM, LAM_LAYER_MINIMUM, LAM_LAYER_CONCATENATE};
    for (size_t k = 0; k < sizeof one / sizeof one[0]; k++) {
        m = functional();
        int x = input(m, 2, (int64_t[]){2, 3});
        call(m, lam_layer_defaults(one[k]), 1, &x);
        lam_optimizer o = lam_sgd();
        CHECK_OK(lam_model_compile(m, &o, LAM_LOSS_MSE));
        CHECK_OK(lam_model_plan(m, 2));
        for (int i = 0; i < 12; i++) lam_model_input_buffer(m, 0)[i] = test_rndf();
        CHECK_OK(lam_forward(m, 2, LAM_MODE_INFER));
        CHECK(memcmp(lam_model_output(m, 0), lam_model_input_buffer(m, 0), 12 * sizeof(float)) == 0,
              "%s of one input changed it", lam_layer_kind_name(one[k]));
        lam_model_free(m);
    }
}

/* ---------------------------------------------------------- refusals */

/* A model with inputs x (4, 3), y (4, 5), z (4, 3), w (12,). */
static lam_model *refusal_model(int *x, int *y, int *z, int *w)
{
    lam_model *m = lam_model_new("refusals");
    CHECK_OK(lam_model_input(m, "x", 2, (int64_t[]){4, 3}, x));
    CHECK_OK(lam_model_input(m, "y", 2, (int64_t[]){4, 5}, y));
    CHECK_OK(lam_model_input(m, "z", 2, (int64_t[]){4, 3}, z));
    CHECK_OK(lam_model_input(m, "w", 1, (int64_t[]){12}, w));
    return m;
}

static void refusals(void)
{
    int x, y, z, w;
    lam_model *m = refusal_model(&x, &y, &z, &w);
    lam_layer_spec s;
    int id;

    /* Input counts. */
    s = spec_named(LAM_LAYER_SUBTRACT, "sub");
    CHECK_FAILS(lam_model_call(m, &s, 3, (int[]){x, z, x}, &id), LAM_ERR_ARG,
                "layer \"sub\" (Subtract): called on 3 inputs, expected 2");
    CHECK_FAILS(lam_model_call(m, &s, 1, &x, &id), LAM_ERR_ARG, "layer \"sub\" (Subtract)");
    s = spec_named(LAM_LAYER_ADD, "plus");
    CHECK_FAILS(lam_model_call(m, &s, 0, NULL, &id), LAM_ERR_ARG,
                "layer \"plus\" (Add): called on 0 inputs");
    s = spec_named(LAM_LAYER_CONCATENATE, "cat");
    CHECK_FAILS(lam_model_call(m, &s, 0, NULL, &id), LAM_ERR_ARG, "layer \"cat\" (Concatenate)");
    s = spec_named(LAM_LAYER_RESHAPE, "re");
    s.rank = 1;
    s.shape[0] = 12;
    CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){x, z}, &id), LAM_ERR_ARG,
                "layer \"re\" (Reshape): called on 2 inputs, expected 1");
    s = spec_named(LAM_LAYER_REPEAT_VECTOR, "rep");
    s.repeats = 2;
    CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){w, w}, &id), LAM_ERR_ARG,
                "layer \"rep\" (RepeatVector)");

    /* Shapes that do not merge: incompatible, and broadcastable (Keras's
     * broadcasting, which lamina does not do). Both shapes are named. */
    const lam_layer_kind ew[] = {LAM_LAYER_ADD, LAM_LAYER_SUBTRACT, LAM_LAYER_MULTIPLY,
                                 LAM_LAYER_AVERAGE, LAM_LAYER_MAXIMUM, LAM_LAYER_MINIMUM};
    for (size_t k = 0; k < sizeof ew / sizeof ew[0]; k++) {
        s = spec_named(ew[k], "merge");
        char needle[96];
        snprintf(needle, sizeof needle, "layer \"merge\" (%s): ", lam_layer_kind_name(ew[k]));
        CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){x, y}, &id), LAM_ERR_SHAPE, needle);
        CHECK(strstr(lam_last_error(), "(4, 3)") && strstr(lam_last_error(), "(4, 5)"),
              "message lacks a shape: %s", lam_last_error());
        CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){x, w}, &id), LAM_ERR_SHAPE, needle);
    }
    lam_model *mb = lam_model_new("broadcast");
    int p, q;
    CHECK_OK(lam_model_input(mb, "p", 2, (int64_t[]){4, 1}, &p));
    CHECK_OK(lam_model_input(mb, "q", 2, (int64_t[]){4, 3}, &q));
    s = spec_named(LAM_LAYER_ADD, "bc");
    CHECK_FAILS(lam_model_call(mb, &s, 2, (int[]){q, p}, &id), LAM_ERR_UNSUPPORTED,
                "layer \"bc\" (Add): input 0 has shape (4, 3) and input 1 shape (4, 1); Keras "
                "would broadcast");
    lam_model_free(mb);

    /* Concatenate: axes, ranks, the other sizes. */
    s = spec_named(LAM_LAYER_CONCATENATE, "cat");
    CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){x, w}, &id), LAM_ERR_SHAPE,
                "layer \"cat\" (Concatenate): input 0 has shape (4, 3) and input 1 shape (12,)");
    s.axis = 1; /* (4, 3) with (4, 5) along axis 1: the 3 and 5 differ */
    CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){x, y}, &id), LAM_ERR_SHAPE,
                "layer \"cat\" (Concatenate): input 0 has shape (4, 3) and input 1 shape (4, 5); "
                "with axis 1");
    s.axis = -1; /* fine along the last axis */
    int ok = -1;
    CHECK_OK(lam_model_call(m, &s, 2, (int[]){x, y}, &ok));
    int64_t sh[4];
    CHECK(lam_model_layer_output_shape(m, ok, sh) == 2 && sh[0] == 4 && sh[1] == 8,
          "Concatenate of (4, 3) and (4, 5): (%lld, %lld)", (long long)sh[0], (long long)sh[1]);
    s = spec_named(LAM_LAYER_CONCATENATE, "cat2");
    for (int axis = -4; axis <= 4; axis++) {
        if (axis == -2 || axis == -1 || axis == 1 || axis == 2) continue;
        s.axis = axis;
        const bool batch = axis == 0 || axis == -3;
        CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){x, z}, &id),
                    batch ? LAM_ERR_UNSUPPORTED : LAM_ERR_ARG, "layer \"cat2\" (Concatenate): axis");
        CHECK(strstr(lam_last_error(), batch ? "batch axis" : "out of range"),
              "axis %d: %s", axis, lam_last_error());
    }

    /* Reshape: target shapes. */
    const struct { int rank; int64_t shape[4]; lam_status st; const char *what; } bad_targets[] = {
        {0, {0}, LAM_ERR_ARG, "target_shape has 0 entries"},
        {5, {0}, LAM_ERR_ARG, "target_shape has 5 entries"},
        {2, {-1, -1}, LAM_ERR_ARG, "more than one -1"},
        {2, {3, 0}, LAM_ERR_ARG, "has size 0"},
        {2, {-2, 6}, LAM_ERR_ARG, "has size -2"},
        {2, {5, 2}, LAM_ERR_SHAPE, "the input of shape (4, 3) holds 12 values, which "
                                   "target_shape (5, 2) cannot hold"},
        {2, {5, -1}, LAM_ERR_SHAPE, "target_shape (5, -1) cannot hold"},
        {2, {13, -1}, LAM_ERR_SHAPE, "cannot hold"},
    };
    for (size_t k = 0; k < sizeof bad_targets / sizeof bad_targets[0]; k++) {
        s = spec_named(LAM_LAYER_RESHAPE, "re");
        s.rank = bad_targets[k].rank;
        memcpy(s.shape, bad_targets[k].shape, sizeof s.shape);
        CHECK_FAILS(lam_model_call(m, &s, 1, &x, &id), bad_targets[k].st, "layer \"re\" (Reshape): ");
        CHECK(strstr(lam_last_error(), bad_targets[k].what), "target %zu: %s", k, lam_last_error());
    }

    /* Permute: dims. */
    const struct { int dims[4]; lam_status st; const char *what; } bad_dims[] = {
        {{1, 2, 3, 0}, LAM_ERR_SHAPE, "dims (1, 2, 3) has 3 entries, the input of shape (4, 3) has rank 2"},
        {{1, 0, 0, 0}, LAM_ERR_SHAPE, "has 1 entries"},
        {{0, 0, 0, 0}, LAM_ERR_SHAPE, "has 0 entries"},
        {{2, 2, 0, 0}, LAM_ERR_ARG, "dims (2, 2) is not a permutation of 1 to 2"},
        {{0, 1, 0, 0}, LAM_ERR_ARG, "dims has a 0 before"},
        {{1, 3, 0, 0}, LAM_ERR_ARG, "not a permutation"},
        {{-1, 2, 0, 0}, LAM_ERR_ARG, "not a permutation"},
    };
    for (size_t k = 0; k < sizeof bad_dims / sizeof bad_dims[0]; k++) {
        s = spec_named(LAM_LAYER_PERMUTE, "perm");
        memcpy(s.dims, bad_dims[k].dims, sizeof s.dims);
        CHECK_FAILS(lam_model_call(m, &s, 1, &x, &id), bad_dims[k].st, "layer \"perm\" (Permute): ");
        CHECK(strstr(lam_last_error(), bad_dims[k].what), "dims %zu: %s", k, lam_last_error());
    }

    /* RepeatVector: rank and repeats. */
    s = spec_named(LAM_LAYER_REPEAT_VECTOR, "rep");
    s.repeats = 3;
    CHECK_FAILS(lam_model_call(m, &s, 1, &x, &id), LAM_ERR_SHAPE,
                "layer \"rep\" (RepeatVector): input has shape (4, 3), expected rank 1");
    s.repeats = 0;
    CHECK_FAILS(lam_model_call(m, &s, 1, &w, &id), LAM_ERR_ARG,
                "layer \"rep\" (RepeatVector): repeats (Keras's n) is 0");

    /* Nothing failed above left a node behind: the model still builds,
     * names its next layers from where it was, and runs. */
    CHECK(lam_model_num_layers(m) == 5, "%d nodes after the refusals, expected 5 (4 inputs and "
          "the good Concatenate)", lam_model_num_layers(m));
    s = lam_layer_defaults(LAM_LAYER_SUBTRACT);
    int sub = call(m, s, 2, (int[]){x, z});
    CHECK(strcmp(lam_model_layer(m, sub)->name, "subtract") == 0, "automatic name \"%s\"",
          lam_model_layer(m, sub)->name);
    s = lam_layer_defaults(LAM_LAYER_REPEAT_VECTOR);
    s.repeats = 2;
    int rep = call(m, s, 1, &w);
    CHECK(strcmp(lam_model_layer(m, rep)->name, "repeat_vector") == 0, "automatic name \"%s\"",
          lam_model_layer(m, rep)->name);
    outputs(m, 3, (int[]){ok, sub, rep});
    lam_optimizer o = lam_sgd();
    CHECK_OK(lam_model_compile(m, &o, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, 2));
    CHECK_OK(lam_forward(m, 2, LAM_MODE_INFER));
    lam_model_free(m);
}

/* ------------------------------------------------------------- fit */

/* Two inputs a, b in [-1, 1)^4; output 1: which of the first three
 * coordinates of a + b is largest (3 classes); output 2: a - b. */
static void fit_two_inputs_two_outputs(void)
{
    const int64_t n = 1200;
    lam_dataset *a, *b, *cls, *diff;
    CHECK_OK(lam_dataset_create(&a, LAM_F32, n, 1, (int64_t[]){4}, false, 0));
    CHECK_OK(lam_dataset_create(&b, LAM_F32, n, 1, (int64_t[]){4}, false, 0));
    CHECK_OK(lam_dataset_create(&cls, LAM_F32, n, 1, (int64_t[]){1}, true, 0));
    CHECK_OK(lam_dataset_create(&diff, LAM_F32, n, 1, (int64_t[]){1}, false, 4));
    float *xa = lam_dataset_x(a), *xb = lam_dataset_x(b), *td = lam_dataset_targets(diff);
    int32_t *lab = lam_dataset_labels(cls);
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < 4; j++) {
            xa[i * 4 + j] = test_rndf();
            xb[i * 4 + j] = test_rndf();
            td[i * 4 + j] = xa[i * 4 + j] - xb[i * 4 + j];
        }
        int best = 0;
        for (int j = 1; j < 3; j++)
            if (xa[i * 4 + j] + xb[i * 4 + j] > xa[i * 4 + best] + xb[i * 4 + best]) best = j;
        lab[i] = best;
    }
    lam_model *m = lam_model_new("two_by_two");
    lam_model_set_seed(m, 3);
    int ia, ib;
    CHECK_OK(lam_model_input(m, "a", 1, (int64_t[]){4}, &ia));
    CHECK_OK(lam_model_input(m, "b", 1, (int64_t[]){4}, &ib));
    int sum = call(m, lam_layer_defaults(LAM_LAYER_ADD), 2, (int[]){ia, ib});
    int dif = call(m, lam_layer_defaults(LAM_LAYER_SUBTRACT), 2, (int[]){ia, ib});
    int cat = call(m, lam_layer_defaults(LAM_LAYER_CONCATENATE), 2, (int[]){sum, dif});
    int h = dense(m, cat, 32, LAM_ACT_TANH);
    int y1 = dense(m, h, 3, LAM_ACT_SOFTMAX);
    int y2 = dense(m, dif, 4, LAM_ACT_LINEAR);
    outputs(m, 2, (int[]){y1, y2});
    lam_optimizer adam = lam_adam();
    adam.learning_rate = 0.01f;
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK_OK(lam_model_set_output_loss(m, 1, LAM_LOSS_MSE, 1.0f));
    lam_fit_options fo = lam_fit_defaults();
    fo.epochs = 30;
    fo.verbose = 0;
    lam_history *hist = NULL;
    const lam_dataset *xs[2] = {a, b}, *ys[2] = {cls, diff};
    CHECK_OK(lam_fit_multi(m, 2, xs, 2, ys, &fo, &hist));
    /* Chance level: a constant prediction has cross-entropy ln 3 = 1.10 and
     * MSE var(a - b) = 2/3 per coordinate, 1.77 in all. The classes are split
     * by planes in a + b, which 32 tanh units fit to a few percent of error
     * (cross-entropy ~0.1), and a - b is linear in the inputs, so its MSE
     * goes to ~0: 0.25 in all is far below chance and reached only when both
     * heads have learnt. */
    CHECK(hist && hist->epochs == 30, "history of %d epochs", hist ? hist->epochs : -1);
    if (hist && hist->epochs == 30) {
        const lam_epoch_log *first = &hist->log[0], *last = &hist->log[29];
        CHECK(last->loss < 0.25 && last->loss < first->loss / 4,
              "loss %.4f -> %.4f, expected below 0.25", first->loss, last->loss);
        CHECK(last->has_accuracy && last->accuracy > 0.9, "output 1 accuracy %.3f",
              last->accuracy);
        printf("%-48s loss %.4f -> %.4f, accuracy %.3f\n", "lam_fit_multi: 2 inputs, 2 outputs",
               first->loss, last->loss, last->accuracy);
    }
    /* Each head on its own, on the training data: output 2's MSE near 0. */
    CHECK_OK(lam_model_plan(m, (int)n));
    memcpy(lam_model_input_buffer(m, 0), xa, sizeof(float) * (size_t)(n * 4));
    memcpy(lam_model_input_buffer(m, 1), xb, sizeof(float) * (size_t)(n * 4));
    CHECK_OK(lam_forward(m, (int)n, LAM_MODE_INFER));
    const float *p = lam_model_output(m, 0), *d = lam_model_output(m, 1);
    double mse = 0, right = 0;
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        for (int j = 1; j < 3; j++)
            if (p[i * 3 + j] > p[i * 3 + best]) best = j;
        right += best == lab[i];
        for (int j = 0; j < 4; j++) mse += (d[i * 4 + j] - td[i * 4 + j]) * (d[i * 4 + j] - td[i * 4 + j]);
    }
    mse /= (double)(n * 4);
    CHECK(right / n > 0.9 && mse < 0.01, "accuracy %.3f, MSE %.4f", right / n, mse);
    lam_history_free(hist);
    lam_model_free(m);
    lam_dataset_free(a);
    lam_dataset_free(b);
    lam_dataset_free(cls);
    lam_dataset_free(diff);
}

int main(void)
{
    lam_set_threads(1);
    kernels_against_naive();
    check_elementwise_merges();
    check_concatenate();
    check_reshape();
    check_permute();
    check_repeat_vector();
    check_fan_out();
    check_same_input_twice();
    check_views_and_read_outputs();
    check_multi_input();
    check_shared_layer();
    check_multi_output();
    keras_parity();
    refusals();
    fit_two_inputs_two_outputs();
    return test_summary("test_merge_layers");
}
