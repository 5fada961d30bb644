#!/bin/sh
# mutants.sh - does the test suite catch small realistic bugs? Each mutation
# below is one exact text replacement in one file of src/ (a wrong constant,
# a dropped factor, a loosened bound). They are applied one at a time to a
# scratch copy of the working tree, which is built (one build folder, reused)
# and tested with ctest, stopping at the first failing test. A mutant whose
# build or tests fail is "killed"; one that passes every test "survived": a
# bug the tests would let through. Every survivor needs a test, or a reason
# written next to its mutation below.
#
# Usage: scripts/mutants.sh [--check] [--list] [N ...]
#   --check  only verify that every pattern occurs exactly once (fast; run it
#            after editing src/, so that the list does not rot)
#   --list   print the numbered mutations
#   N ...    run only these mutations (by number)
# Environment: MUTANTS_DIR (scratch folder; default a new one under
#   ${TMPDIR:-/tmp}, removed at the end), JOBS (default 2), CTEST_ARGS.
# Exit status: 0 when every mutant run was killed, 1 when any survived or did
# not build (an invalid mutation), 2 on a pattern that does not apply
# (exactly once) or a broken set-up.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-2}

# ---------------------------------------------------------------- the list
# mutant FILE FROM TO WHY: FROM must occur exactly once in FILE (on one line).
n_mut=0
mutant() {
    n_mut=$((n_mut + 1))
    eval "mut_file_$n_mut=\$1 mut_from_$n_mut=\$2 mut_to_$n_mut=\$3 mut_why_$n_mut=\$4"
}

# The five a review found surviving (issue "Tests that catch what they claim to").
mutant src/ops/conv2d.c \
    'if (n->spec.use_bias) lam_bias_grad(dy, M, F, c->grads + (int64_t)K * F);' \
    'if (n->spec.use_bias) lam_bias_grad(dy, g.OH * g.OW, F, c->grads + (int64_t)K * F);' \
    'im2col bias gradient sums the first image only'
mutant src/train/optimizer.c \
    'for (int64_t i = 0; i < n; i++) p[i] -= g[i] * lr;' \
    'for (int64_t i = 0; i < n; i++) p[i] -= g[i] * lr * 10;' \
    'plain SGD takes a 10x step'
mutant src/kernels/dropout.c \
    'scale = 1.0f / keep;' \
    'scale = 1.0f;' \
    'Dropout keeps values unscaled (no 1/(1-rate))'
mutant src/io/model_file.c \
    'if (n > size - 8)' \
    'if (n > size)' \
    'safetensors header size bound loosened by 8 bytes (reads past the buffer)'
mutant src/train/loss.c \
    'l += d * d;' \
    'l += d * d * D;' \
    'MSE sums over the outputs instead of averaging'

# Optimizer updates.
mutant src/train/optimizer.c \
    'vh[i] = vh[i] > v[i] ? vh[i] : v[i];' \
    'vh[i] = v[i];' \
    'Adam amsgrad forgets the running maximum'
mutant src/train/optimizer.c \
    'p[i] -= m[i] * alpha / (sqrtf(vv) + eps);' \
    'p[i] -= m[i] * alpha / sqrtf(vv + eps);' \
    'Adam epsilon inside the square root'
mutant src/train/optimizer.c \
    'alpha = (float)(lr * sqrt(1.0 - pow(o->beta_2, t)) / (1.0 - pow(o->beta_1, t)));' \
    'alpha = (float)(lr * (1.0 - pow(o->beta_2, t)) / (1.0 - pow(o->beta_1, t)));' \
    'Adam bias correction without the square root'
mutant src/train/optimizer.c \
    'v[i] = v[i] * mu - g[i] * lr;' \
    'v[i] = v[i] - g[i] * lr;' \
    'SGD momentum never decays'
mutant src/train/optimizer.c \
    'p[i] += nesterov ? v[i] * mu - g[i] * lr : v[i];' \
    'p[i] += v[i];' \
    'SGD Nesterov ignored'
mutant src/train/optimizer.c \
    'v[i] = rho * v[i] + r1 * (g[i] * g[i]);' \
    'v[i] = rho * v[i] + (g[i] * g[i]);' \
    'RMSprop average without (1 - rho)'
mutant src/train/optimizer.c \
    'mom[i] = mu * mom[i] + inc;' \
    'mom[i] = inc;' \
    'RMSprop momentum ignored'
mutant src/train/optimizer.c \
    'float inc = lr * g[i] / sqrtf(den);' \
    'float inc = lr * g[i] / (sqrtf(den - eps) + eps);' \
    'RMSprop epsilon outside the square root'

# Loss and metric reductions.
mutant src/train/loss.c \
    'l = lse - zb[y];' \
    'l = -zb[y];' \
    'sparse CE from logits without the log-sum-exp'
mutant src/train/loss.c \
    'l += (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));' \
    'l += (x > 0 ? x : 0) - x * t + log1p(exp(-x));' \
    'binary CE from logits: log1p(exp(-x)) for log1p(exp(-|x|))'
mutant src/train/loss.c \
    'if (gb) gb[j] = (float)((pb[j] - t) * gs / D);' \
    'if (gb) gb[j] = (float)((pb[j] - t) * gs);' \
    'binary CE gradient not averaged over the outputs'
mutant src/train/loss.c \
    'l += -tb[j] * log(qc);' \
    'l += -tb[j] * log(q);' \
    'categorical CE on probabilities without clipping'
mutant src/train/loss.c \
    'l = log(sc) - log(pc);' \
    'l = -log(pc);' \
    'sparse CE on probabilities without renormalising the row'
mutant src/train/loss.c \
    '#define LAM_CLIP_HI ((double)(float)(1.0 - LAM_CLIP_EPS))' \
    '#define LAM_CLIP_HI (1.0 - LAM_CLIP_EPS)' \
    'upper clip in double, not Keras float32'
mutant src/train/loss.c \
    'gb[j] = (float)((pb[j] - (sparse ? (j == y) : tb[j])) * gs);' \
    'gb[j] = (float)(pb[j] - (sparse ? (j == y) : tb[j]));' \
    'fused softmax + CE gradient of the sum, not the mean'
mutant src/train/loss.c \
    'if (argmax(pb, D) == y) right += w;' \
    'if (argmax(pb, D - 1) == y) right += w;' \
    'accuracy never predicts the last class'
mutant src/train/loss.c \
    'if ((pb[j] > 0.5f) == (t > 0.5)) right += w;' \
    'if ((pb[j] >= 0.5f) == (t > 0.5)) right += w;' \
    'binary accuracy counts 0.5 as class 1'
mutant src/train/fit.c \
    'res->loss = seen ? loss / (double)seen : 0;' \
    'res->loss = seen ? loss / (double)(steps * batch_size) : 0;' \
    'evaluate counts a short last batch as full'
mutant src/train/fit.c \
    'p.loss = seen > 0 ? loss_sum / (double)seen : 0;' \
    'p.loss = seen > 0 ? loss_sum / (double)((s + 1) * o.batch_size) : 0;' \
    'fit epoch loss counts a short last batch as full'

# Kernel and op backward paths.
mutant src/ops/dense.c \
    'lam_gemm(true, false, in, units, rows, 1.0f, x, in, dy, units, 0.0f, c->grads, units);' \
    'lam_gemm(true, false, in, units, rows - 1, 1.0f, x, in, dy, units, 0.0f, c->grads, units);' \
    'Dense kernel gradient skips the last row'
mutant src/kernels/activation.c \
    'for (int64_t j = 0; j < cols; j++) d[j] *= 1 - yr[j] * yr[j];' \
    'for (int64_t j = 0; j < cols; j++) d[j] *= 1 - yr[j];' \
    'tanh derivative 1 - y'
mutant src/kernels/activation.c \
    'for (int64_t j = 0; j < cols; j++) d[j] *= yr[j] * (1 - yr[j]);' \
    'for (int64_t j = 0; j < cols; j++) d[j] *= 1 - yr[j];' \
    'sigmoid derivative 1 - y'
mutant src/kernels/activation.c \
    'for (int64_t j = 0; j < cols; j++) d[j] = yr[j] * (d[j] - s);' \
    'for (int64_t j = 0; j < cols; j++) d[j] = yr[j] * d[j];' \
    'softmax backward without the dot-product term'
mutant src/kernels/activation.c \
    'for (int64_t j = 0; j < cols; j++) d[j] = yr[j] > 0 ? d[j] : 0;' \
    'for (int64_t j = 0; j < cols; j++) d[j] = yr[j] >= 0 ? d[j] : 0;' \
    'ReLU backward passes the gradient where the output is 0'
mutant src/kernels/activation.c \
    'for (int64_t j = j0; j < j1; j++) db[j] = 0;' \
    'for (int64_t j = j0; j < j1; j++) db[j] += 0;' \
    'bias gradient accumulated onto the previous step'"'"'s'
mutant src/kernels/conv.c \
    'for (int c = 0; c < g->C; c++) d[c] += s[c];' \
    'for (int c = 0; c < g->C; c++) d[c] = s[c];' \
    'col2im overwrites where windows overlap'
mutant src/kernels/conv.c \
    'for (int c = 0; c < g->C; c++) ds[c] += go[c] * inv;' \
    'for (int c = 0; c < g->C; c++) ds[c] += go[c] / (float)(g->KH * g->KW);' \
    'average pooling backward counts the padding'
mutant src/kernels/conv.c \
    'for (int64_t i = 0; i < out_sz; i++) d[am[i]] += dyn[i];' \
    'for (int64_t i = 0; i < out_sz; i++) d[am[i]] = dyn[i];' \
    'max pooling backward (general path) overwrites a shared maximum'
mutant src/kernels/recurrent_kernels.c \
    'df[l] = d * cp[l];' \
    'df[l] = d * tc[l];' \
    'LSTM forget-gate gradient from the new cell'
mutant src/kernels/recurrent_kernels.c \
    'dc[l] = d * gf[l];' \
    'dc[l] = d;' \
    'LSTM cell gradient not gated by f'
mutant src/kernels/winograd.c \
    '0.5f, -0.5f, 0.5f, 0, 0, 1};' \
    '0.5f, 0.5f, 0.5f, 0, 0, 1};' \
    'Winograd F(2x2) kernel transform sign'
mutant src/kernels/winograd.c \
    '1.0f / 24, -1.0f / 12, 1.0f / 6,' \
    '1.0f / 24, 1.0f / 12, 1.0f / 6,' \
    'Winograd F(4x4) kernel transform sign'
mutant src/ops/conv2d.c \
    'if (!mask) lam_node_activate_backward(n, y, dy, batch, F);' \
    'if (!dx) lam_node_activate_backward(n, y, dy, batch, F);' \
    'direct conv backward skips the activation when dx is wanted'
mutant src/ops/conv2d.c \
    'case LAM_CONV_IM2COL: *algo = CONV_IM2COL; return LAM_OK;' \
    'case LAM_CONV_IM2COL: break;' \
    'conv_algo im2col ignored (the automatic choice instead)'
mutant src/ops/conv2d.c \
    'if (g->C < 8 && direct) *algo = CONV_DIRECT;' \
    'if (g->C < 4 && direct) *algo = CONV_DIRECT;' \
    'automatic choice: im2col for the seed'"'"'s first layer'
mutant src/kernels/dropout.c \
    'for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * mask[i];' \
    'for (int64_t i = 0; i < n; i++) dx[i] = dy[i];' \
    'Dropout backward ignores the mask'
mutant src/kernels/dropout.c \
    'mask[i] = lam_rng_uniform(&r) < keep ? scale : 0.0f;' \
    'mask[i] = lam_rng_uniform(&r) < rate ? scale : 0.0f;' \
    'Dropout keeps with probability rate, not 1 - rate'

# Engine v2: the graph's gradient sums, per-output and per-position losses,
# the gradient hook, per-position labels, callbacks.
mutant src/core/model.c \
    'if (d && d != src->grad) add_into(src->grad, d, B * nd->in[k].size);' \
    'if (d && d != src->grad) memcpy(src->grad, d, sizeof(float) * (size_t)(B * nd->in[k].size));' \
    'a fanned-out tensor keeps its last gradient instead of the sum'
mutant src/core/model.c \
    'if (shared_again) add_into(m->grads + nd->param_offset, tmp, nd->param_count);' \
    'if (shared_again) memcpy(m->grads + nd->param_offset, tmp, sizeof(float) * (size_t)nd->param_count);' \
    'a shared layer keeps one call'"'"'s weight gradient instead of the sum'
mutant src/core/model.c \
    'm->grads_written[nd->owner] = true;' \
    'm->grads_written[nd->owner] = false;' \
    'a shared layer'"'"'s second call overwrites the first one'"'"'s weight gradient'
mutant src/core/model.c \
    'if (nd->op && nd->owner == i && !m->grads_written[i])' \
    'if (nd->op && nd->owner == i && !m->grads_written[i] && 0)' \
    'weights no gradient reached keep stale gradients'
mutant src/train/loss.c \
    'grad[i] *= w;' \
    'grad[i] *= 1.0f;' \
    'an output'"'"'s loss weight scales its loss but not its gradient'
mutant src/train/loss.c \
    'const double inv_b = mask ? (valid ? 1.0 / (double)valid : 0.0) : 1.0 / batch / (double)P;' \
    'const double inv_b = mask ? (valid ? 1.0 / (double)valid : 0.0) : 1.0 / batch;' \
    'a sequence loss'"'"'s gradient is not divided by its positions'
mutant src/train/fit.c \
    'LAM_TRY(o->gradient_hook(m, m->grads, m->nparams, o->gradient_hook_user));' \
    '(void)0;' \
    'fit never calls the gradient hook'
mutant src/core/dataset.c \
    'if (ds->labels) memcpy(labels + i * L, ds->labels + j * L, (size_t)L * sizeof *labels);' \
    'if (ds->labels) memcpy(labels + i * L, ds->labels + j, (size_t)L * sizeof *labels);' \
    'per-position labels gathered from the wrong sample'
mutant src/train/callbacks.c \
    'if (s->wait >= c->patience && epoch > 0) {' \
    'if (s->wait > c->patience && epoch > 0) {' \
    'EarlyStopping waits one epoch too many'
mutant src/train/callbacks.c \
    'double lr = old * c->factor;' \
    'double lr = old * c->factor * c->factor;' \
    'ReduceLROnPlateau reduces twice'
mutant src/train/callbacks.c \
    'if (c->restore_best_weights && s->have_best_weights) {' \
    'if (c->restore_best_weights && s->have_best_weights && 0) {' \
    'EarlyStopping never restores the best weights'

# Attention (kernel and op).
mutant src/kernels/attention.c \
    'for (int j = 0; j < nk; j++) dr[j] = pr[j] * (zr[j] * dr[j] - D[r]);' \
    'for (int j = 0; j < nk; j++) dr[j] = pr[j] * (dr[j] - D[r]);' \
    'attention backward forgets the dropout factor of dL/dp'
mutant src/kernels/attention.c \
    'if (j0 > 0 && corr != 1.0f) scale_row(o + r * ldo, a->dv, corr);' \
    'if (j0 > 0 && corr != 1.0f) scale_row(o + r * ldo, a->dv, 1.0f);' \
    'online softmax does not rescale the output when the row maximum grows'
mutant src/kernels/attention.c \
    'if (uniform[r]) fill_row(s, nk, 0.0f); /* every key, equal weight */' \
    'if (uniform[r]) mask_row(a, b, t0 + r, j0, nk, s);' \
    'a row that sees no key is left all masked instead of spread evenly'
mutant src/ops/attention.c \
    'dxs[d.key], d.key == 1);' \
    'dxs[d.key], false);' \
    'self-attention without a key input drops the value gradient through the key'
mutant src/ops/attention.c \
    'lam_init_glorot_uniform(p + d.wq, (int64_t)(d.dq * hk), d.dq, hk, rng);' \
    'lam_init_glorot_uniform(p + d.wq, (int64_t)(d.dq * hk), d.dq * d.H, d.dk * d.dq, rng);' \
    'query kernel initialised with the convolution fans instead of EinsumDense axes'
mutant src/ops/attention.c \
    'a.s = (int)pos + 1;' \
    'a.s = (int)pos + (pos == 0);' \
    'a decoding step does not attend to its own position'
mutant src/ops/attention.c \
    '.empty_rows_zero = n->spec.rate > 0.0f};' \
    '.empty_rows_zero = false};' \
    'a layer with dropout spreads an empty row evenly (Keras 3.15 gives it no weight)'

# Decoding, generation, position embeddings, masks, GELU, weight decay.
mutant src/core/decoder.c \
    'if (s.kind == LAM_LAYER_MULTI_HEAD_ATTENTION) s.cache_len = (int)capacity;' \
    'if (s.kind == LAM_LAYER_MULTI_HEAD_ATTENTION) s.cache_len = (int)capacity - 1;' \
    'the decoder'"'"'s attention cache holds one position fewer than the sequence'
mutant src/train/generate.c \
    'return feed(g, 0);' \
    'return feed(g, g->len - 1);' \
    'a context restart does not refill the cache with the kept tokens'
mutant src/train/generate.c \
    'p[v] = (float)(s / o->temperature);' \
    'p[v] = (float)(s * o->temperature);' \
    'temperature multiplies the scores instead of dividing them'
mutant src/train/generate.c \
    'if (o->top_k > 0 && o->top_k < V) keep = o->top_k;' \
    'if (o->top_k > 0 && o->top_k < V) keep = o->top_k + 1;' \
    'top-k keeps one token too many'
mutant src/ops/position_embedding.c \
    'lam_position_rows(c->params, n->spec.sequence_length, C, c->position, T, copies, false, y);' \
    'lam_position_rows(c->params, n->spec.sequence_length, C, 0, T, copies, false, y);' \
    'a decoder step takes position row 0 whatever its position'
mutant src/kernels/fast_math.h \
    't * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));' \
    't * (1.48851587f + t * (-0.82215223f + t * 0.1708f))))))));' \
    'erfc'"'"'s last Chebyshev coefficient rounded to 4 digits'
mutant src/train/optimizer.c \
    'if (d->trainable && !decay_excluded(m->opt.exclude_from_weight_decay, d->name))' \
    'if (d->trainable && decay_excluded(m->opt.exclude_from_weight_decay, d->name))' \
    'exclude_from_weight_decay decays exactly the excluded weights'
mutant src/ops/attention.c \
    'a.key_mask = c->masks[d->key];' \
    'a.key_mask = NULL;' \
    'padded keys are attended to'

# Reader bounds.
mutant src/io/model_file.c \
    'if (en > data_size) {' \
    'if (en > data_size + 1) {' \
    'safetensors tensor end may pass the data by one byte'
mutant src/io/model_file.c \
    'if (!json_u64(d, &x) || x > ((uint64_t)1 << 32) || (x && count > UINT64_MAX / 4 / x))' \
    'if (!json_u64(d, &x) || x > ((uint64_t)1 << 33) || (x && count > UINT64_MAX / 4 / x))' \
    'safetensors shape entries up to 2^33'
mutant src/io/model_file.c \
    'if (en - b != 4 * count) {' \
    'if (en - b < 4 * count) {' \
    'safetensors span may exceed its shape'
mutant src/io/model_file.c \
    'if (sp[i].b != at)' \
    'if (sp[i].b < at)' \
    'safetensors tensors may leave gaps'
mutant src/io/idx.c \
    'if (bytes > IDX_MAX_BYTES / d) {' \
    'if (bytes > IDX_MAX_BYTES / d + 1) {' \
    'IDX size bound off by one dimension step'
mutant src/io/idx.c \
    'else if (r > 0)' \
    'else if (r > 1)' \
    'IDX trailing byte accepted'
mutant src/io/npy.c \
    'if (hlen == 0 || hlen > (1u << 20)) {' \
    'if (hlen == 0 || hlen > (1u << 20) + 1) {' \
    'npy header length bound off by one'
mutant src/io/npy.c \
    'if (count > NPY_MAX_BYTES / nf->shape[i] / nf->size) {' \
    'if (count > NPY_MAX_BYTES / nf->shape[i]) {' \
    'npy size bound ignores the element size'
mutant src/io/npy.c \
    'if (big || v < 0 || v > INT32_MAX)' \
    'if (big || v < 0 || v > (int64_t)INT32_MAX + 1)' \
    'npy label INT32_MAX + 1 accepted (wraps to negative)'
mutant src/io/libsvm.c \
    'if (c.nf > LIBSVM_MAX_FEATURES || c.rows > LIBSVM_MAX_VALUES / c.nf) {' \
    'if (c.nf > LIBSVM_MAX_FEATURES || c.rows > LIBSVM_MAX_VALUES / c.nf + 1) {' \
    'libsvm value bound off by one row'
mutant src/io/libsvm.c \
    'if (c->n_features > 0 && idx > c->n_features)' \
    'if (c->n_features > 0 && idx > c->n_features + 1)' \
    'libsvm index n_features + 1 accepted'
mutant src/io/csv.c \
    'if (n == 1000000)' \
    'if (n == 1000001)' \
    'CSV column bound off by one'
mutant src/io/csv.c \
    'if (f.truncated || !parse_number(f.buf, &v)) {' \
    'if (!parse_number(f.buf, &v)) {' \
    'CSV number cut at 255 characters read as another number'

# Interpretability (issue 14): quadrature, attributions, exact IG and the
# tangents it walks with, input-only backward, TreeSHAP, permutation
# importance, surrogate trees, pictures.
mutant src/explain/quadrature.c \
    'w[i] *= 0.5;' \
    'w[i] *= 1.0;' \
    'Gauss-Legendre weights not halved when mapped to [0, 1]'
mutant src/explain/quadrature.c \
    'alpha[i] = 0.5 * (alpha[i] + 1.0);' \
    'alpha[i] = 0.5 * alpha[i] + 1.0;' \
    'Gauss-Legendre nodes mapped to [0.5, 1.5] instead of [0, 1]'
mutant src/explain/quadrature.c \
    'q == LAM_QUAD_RIEMANN_RIGHT ? 1.0' \
    'q == LAM_QUAD_RIEMANN_RIGHT ? 0.5' \
    'right Riemann rule at the middles'
mutant src/explain/quadrature.c \
    'w[i] = (i == 0 || i == n - 1 ? 0.5 : 1.0) / (n - 1);' \
    'w[i] = (i == 0 ? 0.5 : 1.0) / (n - 1);' \
    'trapezoid weighs its last point fully'
mutant src/explain/attribution.c \
    'a->map[j] = (float)(((double)point[j] - base[j]) * acc[j]);' \
    'a->map[j] = (float)acc[j];' \
    'integrated gradients without the (x - baseline) factor'
mutant src/explain/attribution.c \
    'a->completeness_delta = sum - (a->score - a->baseline_score);' \
    'a->completeness_delta = sum - (a->score + a->baseline_score);' \
    'completeness delta adds the baseline score'
mutant src/explain/attribution.c \
    'noisy_points np = {x, gs, o->noise_level * (hi - lo), &rng};' \
    'noisy_points np = {x, gs, o->noise_level, &rng};' \
    'SmoothGrad noise not scaled by the input range'
mutant src/explain/attribution.c \
    'for (int64_t f = 0; f < F; f++) s += a->map[t * F + f];' \
    'for (int64_t f = 0; f < F; f++) s += a->map[t * F + f] / F;' \
    'per_position the mean over features, not the sum'
mutant src/explain/gradcam.c \
    'for (int64_t k = 0; k < K; k++) wk[k] /= (double)(h * w);' \
    'for (int64_t k = 0; k < K; k++) wk[k] /= 1.0;' \
    'Grad-CAM channel weights the sum of the gradients, not the mean'
mutant src/explain/gradcam.c \
    'cam[p] = c > 0 ? (float)c : 0.0f;' \
    'cam[p] = (float)c;' \
    'Grad-CAM without the ReLU'
mutant src/explain/gradcam.c \
    'double c = ((double)i + 0.5) * (double)in / (double)out - 0.5;' \
    'double c = (double)i * (double)in / (double)out;' \
    'bilinear upsampling without half-pixel centres'
mutant src/explain/occlusion.c \
    'map[p * C + c] = count[p] ? (float)(sum[p] / count[p]) : 0.0f;' \
    'map[p * C + c] = count[p] ? (float)sum[p] : 0.0f;' \
    'occlusion sums over the covering windows instead of averaging'
mutant src/explain/occlusion.c \
    'if (p - s != n - k) {' \
    'if (0) {' \
    'occlusion adds no window flush with the far edge'
mutant src/explain/attention_weights.c \
    'memcpy(w + (h * Tq + t) * S, o + (t * H + h) * S, sizeof(float) * (size_t)S);' \
    'memcpy(w + (h * Tq + t) * S, o + (h * Tq + t) * S, sizeof(float) * (size_t)S);' \
    'attention weights read (head, query) in the wrong order'
mutant src/kernels/activation.c \
    'const float ahead = ((on & neg) | (off & pos)) ? t : INFINITY;' \
    'const float ahead = ((on & pos) | (off & neg)) ? t : INFINITY;' \
    'ReLU crossing counted on the wrong side of the probe'
mutant src/kernels/activation.c \
    '*d = on ? *d : 0.0f;' \
    '*d = on | off ? *d : 0.0f;' \
    'ReLU tangent passes through units that are off'
mutant src/kernels/conv.c \
    'dm[c] = gt ? dx[at + c] : dm[c];' \
    'dm[c] = gt ? dm[c] : dx[at + c];' \
    'max-pool tangent taken from a losing entry'
mutant src/ops/dense.c \
    'lam_gemm(false, false, rows, units, in, 1.0f, dxs[0], in, c->params, units, 0.0f, dy, units);' \
    'lam_gemm(false, false, rows, units, in, 1.0f, dxs[0], in, c->params, units, 0.0f, dy, units); lam_bias_act_forward(LAM_ACT_LINEAR, dy, n->spec.use_bias ? c->params + (int64_t)in * units : NULL, NULL, rows, units);' \
    'Dense tangent adds the bias'
mutant src/explain/ig_exact.c \
    '#define IG_GAP_TOL 0x1p-22' \
    '#define IG_GAP_TOL 0x1p-8' \
    'exact IG hands gaps up to 2^-8 to a neighbouring region'
mutant src/explain/ig_exact.c \
    'if (change <= 1e-13 * size || pieces >= MAX_PIECES) return;' \
    'if (change <= 1e-2 * size || pieces >= MAX_PIECES) return;' \
    'exact IG softmax line integral stops at 1e-2 agreement'
mutant src/kernels/winograd.c \
    'if (dx) kernel_map(m, false, kernel, C, F, U);' \
    'if (dkernel) kernel_map(m, false, kernel, C, F, U);' \
    'Winograd backward transforms the kernel only for the weight gradient (dx of lam_backward_inputs from stale scratch)'
mutant src/explain/tree_shap.c \
    'p[i].pweight = zero * p[i].pweight * (depth - i) / (double)(depth + 1);' \
    'p[i].pweight = one * p[i].pweight * (depth - i) / (double)(depth + 1);' \
    'TreeSHAP EXTEND with the one fraction where the zero fraction goes'
mutant src/explain/tree_shap.c \
    'pd_recurse(c, cold, p, depth + 1, a->weighted[cold] / cover * in_zero, 0, f);' \
    'pd_recurse(c, cold, p, depth + 1, 0.5 * in_zero, 0, f);' \
    'TreeSHAP splits the cold side evenly, not by cover'
mutant src/explain/tree_shap.c \
    'out[j] -= q[j];' \
    'out[j] += q[j];' \
    'interventional TreeSHAP credits the r side with the wrong sign'
mutant src/explain/permutation.c \
    'drops[r] = *baseline - acc;' \
    'drops[r] = 1.0 - acc;' \
    'permutation importance measured from accuracy 1, not the unshuffled accuracy'
mutant src/explain/permutation.c \
    'for (int64_t i = 0; i < n; i++) xp[i * d + j] = col[i];' \
    '(void)0;' \
    'permutation importance leaves each feature shuffled for the next'
mutant src/explain/surrogate.c \
    'p.max_depth = max_depth;' \
    'p.max_depth = max_depth + 1;' \
    'surrogate tree one level deeper than asked'
mutant src/plot/plot_attributions.c \
    'const double t = m->cmap == LAM_CMAP_DIVERGING ? 0.5 + 0.5 * s : s;' \
    'const double t = m->cmap == LAM_CMAP_DIVERGING ? 0.5 - 0.5 * s : s;' \
    'attribution map colours reversed (negative drawn red)'
mutant src/plot/plot_tokens.c \
    'return lam_colormap_at(LAM_CMAP_DIVERGING, 0.5 + 0.5 * v / max);' \
    'return lam_colormap_at(LAM_CMAP_DIVERGING, 0.5 + 0.5 * fabs(v) / max);' \
    'token backgrounds colour negative attributions as positive'

mutant src/explain/attribution.c \
    'm->backward_lowest = node + 1;' \
    'm->backward_lowest = node + 2;' \
    'the scorer'"'"'s backward stops one node too early (the first reader of the gradient node never runs)'

# Privacy (issue 15): DP-SGD's one-backward per-sample norms, the clip
# factors, per-layer clipping, the per-sample loss scale, target epsilon.
mutant src/kernels/sample_grads.c \
    'return (int64_t)T * (I + U) < (int64_t)I * U;' \
    'return (int64_t)T * (I + U) > (int64_t)I * U;' \
    'ghost and formed norms chosen the wrong way round (still exact: only speed; killed by the kernel test that checks both are reached)'
mutant src/kernels/sample_grads.c \
    'for (int64_t k = 0; k < (int64_t)T * T; k++) s += (double)GA[k] * (double)GB[k];' \
    'for (int64_t k = 0; k < (int64_t)T * T; k += T + 1) s += (double)GA[k] * (double)GB[k];' \
    'ghost norm keeps only the diagonal (drops the cross-position terms)'
mutant src/kernels/sample_grads.c \
    's += 2 * d;' \
    's += d;' \
    'embedding norm counts a repeated id once instead of twice'
mutant src/ops/dense.c \
    'if (n->spec.use_bias) s += lam_column_sum_sqnorm(T, units, B);' \
    'if (n->spec.use_bias) s += lam_sqnorm(B, (int64_t)T * units);' \
    'Dense bias norm sums squares per position instead of squaring the sum'
mutant src/ops/conv2d.c \
    'const float *cols = cols_saved ? n->saved + b * n->saved_floats : work;' \
    'const float *cols = cols_saved ? n->saved : work;' \
    'im2col per-sample gradients all read the first image'
mutant src/core/sample_grads.c \
    'for (int64_t j = 0; j < D; j++) nd->sample_dy[b * D + j] *= wg[b];' \
    'for (int64_t j = 0; j < D; j++) nd->sample_dy[b * D + j] *= wg[0];' \
    'reweighted backward scales every sample by the first one'"'"'s factor'
mutant src/core/model.c \
    'memcpy(nd->sample_dy, nd->grad, sizeof(float) * (size_t)B * (size_t)nd->out.size);' \
    'memcpy(nd->sample_dy, nd->grad, sizeof(float) * (size_t)nd->out.size);' \
    'only the first sample'"'"'s output gradient kept for the reweighted backward'
mutant src/train/dp.c \
    'return sq > clip * clip ? clip / sqrt(sq) : 1.0;' \
    'return sq > clip ? clip / sqrt(sq) : 1.0;' \
    'clip factor compares the squared norm with C, not C^2'
mutant src/train/dp.c \
    'return r->o.clip_norm / sqrt((double)r->groups);' \
    'return r->o.clip_norm;' \
    'per-layer clipping bounds each layer by C (total sensitivity sqrt(L) C)'
mutant src/train/loss.c \
    'inv_g = real ? 1.0 / (double)real : 0.0;' \
    'inv_g = real ? 1.0 / (double)P : 0.0;' \
    'per-sample loss gradient ignores the mask (divides by all positions)'
mutant src/privacy/accountant.c \
    'runs[n - 1].noise_multiplier = sigma;' \
    'runs[0].noise_multiplier = sigma;' \
    'target-epsilon calibration varies the first (spent) run instead of the new one'

# Data-parallel training (the MPI tests run where mpirun is installed) and
# the per-sample positions it keys dropout by.
mutant src/core/model.c \
    'if (!param_grads || !nd->op || nd->owner != i) continue;' \
    'if (!param_grads || !nd->op) continue;' \
    'grads_ready also after a shared layer'"'"'s later call, before its weights are final'
mutant src/train/dist.c \
    'for (; d->started < d->nbuckets && d->buckets[d->started].lo >= from; d->started++) {' \
    'for (; d->started < d->nbuckets && d->buckets[d->started].hi >= from; d->started++) {' \
    'a bucket starts summing before backward has finished its lowest layer'
mutant src/train/dist.c \
    'for (int64_t i = b.lo; i < b.hi; i++) grads[i] *= d->scale;' \
    'for (int64_t i = b.lo + 1; i < b.hi; i++) grads[i] *= d->scale;' \
    'each bucket'"'"'s first gradient not weighted by the rank'"'"'s share'
mutant src/train/fit.c \
    'LAM_TRY(lam_dp_step_end(dp, m, m->grads, lam_dist_rank(o->dist) == 0));' \
    'LAM_TRY(lam_dp_step_end(dp, m, m->grads, true));' \
    'DP-SGD over ranks: every rank adds noise (N times the variance)'
mutant src/train/fit.c \
    'm->batch_offset = mine + i;' \
    'm->batch_offset = mine;' \
    'DP-SGD steps key dropout by the chunk, not the sample (one mask for every sample)'
mutant src/kernels/attention.c \
    'const uint64_t sample = (uint64_t)a->batch_offset + (uint64_t)b;' \
    'const uint64_t sample = (uint64_t)b;' \
    'attention dropout ignores the slice'"'"'s position in the whole batch'

# ---------------------------------------------------------------- machinery
# Lines of FILE holding FROM (a fixed string); FROM must appear once in all.
occurrences() { # FILE FROM
    PAT=$2 awk '{ s = $0; pat = ENVIRON["PAT"]
        while ((i = index(s, pat)) > 0) { n++; s = substr(s, i + length(pat)) } }
        END { print n + 0 }' "$1"
}

# Replaces the one occurrence of FROM by TO in FILE, literally.
replace() { # FILE FROM TO
    # ENVIRON, not -v: awk would read backslashes in -v values as escapes.
    PAT=$2 REP=$3 awk '{ pat = ENVIRON["PAT"]; i = index($0, pat)
        if (i > 0) $0 = substr($0, 1, i - 1) ENVIRON["REP"] substr($0, i + length(pat)); print }' \
        "$1" >"$1.mut"
    mv "$1.mut" "$1"
}

field() { eval "printf '%s' \"\$mut_${1}_$2\""; }

check_all() { # DIR: every pattern applies exactly once there
    bad=0
    i=1
    while [ "$i" -le "$n_mut" ]; do
        f=$(field file "$i")
        if [ ! -f "$1/$f" ]; then
            echo "mutation $i: $f does not exist" >&2
            bad=1
        else
            c=$(occurrences "$1/$f" "$(field from "$i")")
            if [ "$c" != 1 ]; then
                echo "mutation $i ($(field why "$i")): the pattern occurs $c times in $f, expected once:" >&2
                echo "    $(field from "$i")" >&2
                bad=1
            fi
        fi
        i=$((i + 1))
    done
    return $bad
}

mode=run
selected=""
for a in "$@"; do
    case "$a" in
    --check) mode=check ;;
    --list) mode=list ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *[!0-9]* | "") echo "mutants.sh: unknown argument $a" >&2; exit 2 ;;
    *) [ "$a" -ge 1 ] && [ "$a" -le "$n_mut" ] || { echo "mutants.sh: no mutation $a (1..$n_mut)" >&2; exit 2; }
       selected="$selected $a" ;;
    esac
done
[ -n "$selected" ] || selected=$(i=1; while [ "$i" -le "$n_mut" ]; do printf ' %d' "$i"; i=$((i + 1)); done)

if [ "$mode" = list ]; then
    for i in $selected; do printf '%2d  %-28s %s\n' "$i" "$(field file "$i")" "$(field why "$i")"; done
    exit 0
fi
if [ "$mode" = check ]; then
    check_all "$root" || exit 2
    echo "mutants.sh: all $n_mut patterns apply exactly once"
    exit 0
fi

# A scratch copy of the working tree (tracked and untracked files, not the
# ignored build folders), built once as it is: every test must pass there
# before any mutant means anything.
check_all "$root" || exit 2
own_dir=0
if [ -n "${MUTANTS_DIR:-}" ]; then
    work=$MUTANTS_DIR
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/lamina-mutants.XXXXXX")
    own_dir=1
fi
keep=0 # set when a survivor or an invalid mutation leaves logs worth reading
cleanup() { if [ "$own_dir" = 1 ] && [ "$keep" = 0 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
src="$work/src-copy"
build="$work/build"
mkdir -p "$src"
(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - 2>/dev/null) | (cd "$src" && tar -xf -)
# A reused MUTANTS_DIR: the file of the last mutant run there (restored, or
# still mutated if that run was stopped) was compiled mutated, and tar has
# just given it back its old time stamp, older than that object: touch it so
# that the clean build compiles it again.
dirty="$work/last-mutated"
if [ -f "$dirty" ] && [ -f "$src/$(cat "$dirty")" ]; then touch "$src/$(cat "$dirty")"; fi
log="$work/log"
mkdir -p "$log"
echo "mutants.sh: $n_mut mutations; scratch copy $src; logs $log"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$log/configure.txt" 2>&1 ||
    { cat "$log/configure.txt" >&2; echo "mutants.sh: configure failed" >&2; exit 2; }
if ! cmake --build "$build" -j "$jobs" >"$log/build-clean.txt" 2>&1; then
    tail -n 30 "$log/build-clean.txt" >&2
    echo "mutants.sh: the unmutated copy does not build" >&2
    exit 2
fi
# shellcheck disable=SC2086
if ! (cd "$build" && ctest -j "$jobs" ${CTEST_ARGS:-} >"$log/tests-clean.txt" 2>&1); then
    tail -n 30 "$log/tests-clean.txt" >&2
    echo "mutants.sh: the unmutated copy fails its tests; fix that first" >&2
    exit 2
fi

killed=0
survived=0
invalid=0
survivors=""
start=$(date +%s)
for i in $selected; do
    f=$(field file "$i")
    cp "$root/$f" "$src/$f" # the pristine file, with a new time stamp
    printf '%s\n' "$f" >"$dirty"
    replace "$src/$f" "$(field from "$i")" "$(field to "$i")"
    if cmp -s "$root/$f" "$src/$f" || ! grep -qF -- "$(field to "$i")" "$src/$f"; then
        echo "mutation $i: the replacement did not apply to $f" >&2
        exit 2
    fi
    t0=$(date +%s)
    if ! cmake --build "$build" -j "$jobs" >"$log/build-$i.txt" 2>&1; then
        # Not a bug the tests caught: the mutation itself is broken. Fix it.
        how="INVALID (does not build; $log/build-$i.txt)"
        invalid=$((invalid + 1))
    # shellcheck disable=SC2086
    elif (cd "$build" && ctest -j "$jobs" --stop-on-failure ${CTEST_ARGS:-} >"$log/tests-$i.txt" 2>&1); then
        how="SURVIVED"
        survived=$((survived + 1))
        survivors="$survivors $i"
    else
        first=$(sed -n 's/^.*Test *#[0-9]*: \([A-Za-z0-9_]*\) .*\*\*\*.*/\1/p; s/^.*Test *#[0-9]*: \([A-Za-z0-9_]*\) .*Failed.*/\1/p' \
            "$log/tests-$i.txt" | head -n 1)
        how="killed by ${first:-a test}"
        killed=$((killed + 1))
    fi
    cp "$root/$f" "$src/$f" # restored, newer than the mutant's object
    printf '%2d %-8s %-30s %s (%ss)\n' "$i" "$(echo "$how" | cut -d' ' -f1)" "$f" \
        "$(field why "$i"): $how" "$(($(date +%s) - t0))"
done
total=$((killed + survived + invalid))
echo "mutants.sh: $total mutants, $killed killed, $survived survived${survivors:+ (survivors:$survivors)}, $invalid invalid; $(($(date +%s) - start)) s"
if [ "$survived" -ne 0 ] || [ "$invalid" -ne 0 ]; then
    keep=1
    echo "mutants.sh: logs kept in $log" >&2
    exit 1
fi
