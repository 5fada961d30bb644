/* reshape.c - layers that rearrange values, as Keras: Reshape (a view of
 * its input: no copy), Permute (reorders the axes of a sample) and
 * RepeatVector ((features) -> (repeats, features)). Shapes are per sample:
 * Keras's target_shape and dims leave the batch axis out too. */
#include "kernels/shape_kernels.h"
#include "ops/op.h"

#include <string.h>

/* -------------------------------------------------------------- Reshape */

static lam_status reshape_build(lam_node *n)
{
    const int r = n->spec.rank;
    const int64_t *t = n->spec.shape;
    char a[96], b[96];
    if (r < 1 || r > 4)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (Reshape): target_shape has %d entries, "
                         "expected 1 to 4", n->spec.name, r);
    lam_dims_str(t, r, a, sizeof a);
    lam_dims_str(n->in[0].dim, n->in[0].rank, b, sizeof b);
    int unknown = -1;
    int64_t known = 1;
    for (int i = 0; i < r; i++) {
        if (t[i] == -1 && unknown < 0) {
            unknown = i;
        } else if (t[i] == -1) {
            return lam_error(LAM_ERR_ARG, "layer \"%s\" (Reshape): target_shape %s has more "
                             "than one -1", n->spec.name, a);
        } else if (t[i] < 1 || t[i] > (1 << 28)) {
            return lam_error(LAM_ERR_ARG, "layer \"%s\" (Reshape): target_shape %s has size "
                             "%lld, expected sizes >= 1 and at most one -1", n->spec.name, a,
                             (long long)t[i]);
        } else {
            known *= t[i]; /* < 2^28 per factor and checked below: no overflow */
            if (known > n->in[0].size) break;
        }
    }
    const int64_t size = n->in[0].size;
    if (unknown < 0 ? known != size : size % known != 0)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (Reshape): the input of shape %s holds "
                         "%lld values, which target_shape %s cannot hold", n->spec.name, b,
                         (long long)size, a);
    n->out.rank = r;
    for (int i = 0; i < r; i++) n->out.dim[i] = i == unknown ? size / known : t[i];
    return LAM_OK;
}

const lam_op lam_op_reshape = {
    .kind = LAM_LAYER_RESHAPE,
    .class_name = "Reshape",
    .base_name = "reshape",
    .build = reshape_build,
    .aliases_input = true, /* row-major either way: the same bytes */
};

/* -------------------------------------------------------------- Permute */

static lam_status permute_build(lam_node *n)
{
    const int r = n->in[0].rank;
    const int *d = n->spec.dims;
    int count = 0;
    while (count < 4 && d[count] != 0) count++;
    int64_t shown[4];
    for (int i = 0; i < 4; i++) shown[i] = d[i];
    char a[96], b[96];
    lam_dims_str(shown, count, a, sizeof a);
    for (int i = count; i < 4; i++)
        if (d[i] != 0)
            return lam_error(LAM_ERR_ARG, "layer \"%s\" (Permute): dims has a 0 before its "
                             "entry %d (%d); expected 1-based axes and nothing after them",
                             n->spec.name, i, d[i]);
    if (count != r)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (Permute): dims %s has %d entries, the "
                         "input of shape %s has rank %d (without the batch axis)", n->spec.name,
                         a, count, lam_dims_str(n->in[0].dim, r, b, sizeof b), r);
    bool seen[4] = {false, false, false, false};
    for (int i = 0; i < r; i++) {
        if (d[i] < 1 || d[i] > r || seen[d[i] - 1])
            return lam_error(LAM_ERR_ARG, "layer \"%s\" (Permute): dims %s is not a "
                             "permutation of 1 to %d (Keras's dims are 1-based and leave out "
                             "the batch axis)", n->spec.name, a, r);
        seen[d[i] - 1] = true;
    }
    n->out.rank = r;
    for (int i = 0; i < r; i++) n->out.dim[i] = n->in[0].dim[d[i] - 1];
    return LAM_OK;
}

/* The batch axis first, then the sample axes: in (batch, dim...) order,
 * output axis i is input axis perm[i]. */
static void permute_run(const lam_shape *from, const int *perm, const float *x, float *y,
                        int batch)
{
    int64_t dim[5];
    dim[0] = batch;
    for (int i = 0; i < from->rank; i++) dim[i + 1] = from->dim[i];
    lam_permute(x, from->rank + 1, dim, perm, y);
}

static void permute_forward(lam_node *n, const lam_ctx *c, const float *const *x, float *y,
                            int batch)
{
    int perm[5] = {0};
    for (int i = 0; i < n->in[0].rank; i++) perm[i + 1] = n->spec.dims[i];
    permute_run(&n->in[0], perm, x[0], y, batch);
}

static void permute_backward(lam_node *n, const lam_ctx *c, const float *const *x,
                             const float *y, float *dy, float *const *dx, int batch)
{
    if (!dx[0]) return;
    /* The inverse permutation, applied to dy (which has the output's shape). */
    int inv[5] = {0};
    for (int i = 0; i < n->in[0].rank; i++) inv[n->spec.dims[i]] = i + 1;
    permute_run(&n->out, inv, dy, dx[0], batch);
}

const lam_op lam_op_permute = {
    .kind = LAM_LAYER_PERMUTE,
    .class_name = "Permute",
    .base_name = "permute",
    .build = permute_build,
    .forward = permute_forward,
    .backward = permute_backward,
};

/* --------------------------------------------------------- RepeatVector */

static lam_status repeat_build(lam_node *n)
{
    char b[96];
    if (n->in[0].rank != 1)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (RepeatVector): input has shape %s, "
                         "expected rank 1 (features) per sample", n->spec.name,
                         lam_dims_str(n->in[0].dim, n->in[0].rank, b, sizeof b));
    if (n->spec.repeats < 1 || n->spec.repeats > (1 << 24))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (RepeatVector): repeats (Keras's n) is %d, "
                         "expected 1 to 16777216", n->spec.name, n->spec.repeats);
    n->out.rank = 2;
    n->out.dim[0] = n->spec.repeats;
    n->out.dim[1] = n->in[0].dim[0];
    return LAM_OK;
}

static void repeat_forward(lam_node *n, const lam_ctx *c, const float *const *x, float *y,
                           int batch)
{
    lam_repeat_rows(x[0], batch, n->in[0].dim[0], n->spec.repeats, y);
}

static void repeat_backward(lam_node *n, const lam_ctx *c, const float *const *x,
                            const float *y, float *dy, float *const *dx, int batch)
{
    if (dx[0]) lam_repeat_rows_grad(dy, batch, n->in[0].dim[0], n->spec.repeats, dx[0]);
}

const lam_op lam_op_repeat_vector = {
    .kind = LAM_LAYER_REPEAT_VECTOR,
    .class_name = "RepeatVector",
    .base_name = "repeat_vector",
    .build = repeat_build,
    .forward = repeat_forward,
    .backward = repeat_backward,
};
