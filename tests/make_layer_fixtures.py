#!/usr/bin/env python3
"""Regenerates the normalisation, 1-D, global-pooling, padding and upsampling fixtures in
tests/fixtures/ from Keras 3 (tests/test_norm_layers.c reads them).

How to run (from the repository root, with the venv of tests/make_fixtures.py):

    bench/.venv/bin/python tests/make_layer_fixtures.py

What it writes (NumPy .npy v1.0, '<f4', C order; see tests/fixtures/README.md):

  bn_*       BatchNormalization with fixed gamma, beta, moving statistics: the output of one
             training call, the moving statistics after it, and the inference output after it.
             bn_* is axis -1 (momentum 0.9) on x [6, 3, 2, 4]; bn_axis1_* is Keras axis 1 (the
             first per-sample axis, 3 channels), center=False, default momentum.
  ln_*       LayerNormalization, axis -1 and Keras axis 1, on x [3, 4, 6].
  conv1d_*   Conv1D(4, 3, strides 2, 'same', relu) and Conv1D(2, 4, 'valid', tanh, no bias) on
             x [2, 9, 3]; pool1d_* MaxPooling1D / AveragePooling1D on the same x.
  global_*   GlobalAverage/MaxPooling1D on that x, GlobalAverage/MaxPooling2D on x [2, 5, 4, 3].
  zero_padding2d_out, up_sampling2d_out on the 2-D x.
  layer_param_counts  [trainable, non-trainable] weights of each layer of PARAM_CASES below, as
             Keras counts them (the C test builds the same layers in the same order).
  layers_summary_keras3.txt  Keras's model.summary() of a Conv2D -> BatchNormalization ->
             GlobalAveragePooling2D -> Dense model (non-trainable counts, wrapped names).

Every Keras result is also checked here against a NumPy float64 implementation of the
documented semantics (tolerance 1e-5); the script fails if they disagree. It rewrites only its
own files and its own section of tests/fixtures/README.md.
"""
import contextlib
import io
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
RNG = np.random.default_rng(20240923)
FILES = []  # (name, shape, description)
SECTION = "## Layers (tests/make_layer_fixtures.py)"


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype="<f4"))


def save(name, arr, desc):
    arr = f32(arr)
    path = os.path.join(OUT, name + ".npy")
    np.save(path, arr, allow_pickle=False)
    with open(path, "rb") as fh:
        head = fh.read(8)
    assert head[:6] == b"\x93NUMPY" and head[6] == 1 and head[7] == 0, name
    FILES.append((name + ".npy", list(arr.shape), desc))
    return arr


def close(a, b, tol=1e-5, what=""):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    err = np.max(np.abs(a - b)) if a.size else 0.0
    if a.shape != b.shape or not err <= tol:
        sys.exit(f"cross-check failed: {what}: shape {a.shape} vs {b.shape}, max err {err}")


def rand(*shape, lo=-1.0, hi=1.0):
    return f32(RNG.uniform(lo, hi, size=shape))


# ----------------------------------------------------------- normalisation

def np_bn_train(x, axis, gamma, beta, mm, mv, momentum, eps):
    x = x.astype(np.float64)
    red = tuple(i for i in range(x.ndim) if i != axis)
    mean = x.mean(axis=red)
    var = x.var(axis=red)  # biased, as ops.moments
    shape = [1] * x.ndim
    shape[axis] = -1
    g = np.ones_like(mean) if gamma is None else gamma
    b = np.zeros_like(mean) if beta is None else beta
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * g.reshape(shape) \
        + b.reshape(shape)
    return y, mm * momentum + mean * (1 - momentum), mv * momentum + var * (1 - momentum)


def np_bn_infer(x, axis, gamma, beta, mm, mv, eps):
    shape = [1] * x.ndim
    shape[axis] = -1
    g = np.ones_like(mm) if gamma is None else gamma
    b = np.zeros_like(mm) if beta is None else beta
    return ((x.astype(np.float64) - mm.reshape(shape)) / np.sqrt(mv.reshape(shape) + eps)
            * g.reshape(shape) + b.reshape(shape))


def make_bn(keras):
    x = rand(6, 3, 2, 4) * 2.0 + f32([0.5, -1.0, 2.0, 0.0])  # channel means differ
    save("bn_x", x, "input x [6, 3, 2, 4] (batch 6, per sample (3, 2, 4))")
    cases = [
        # prefix, Keras kwargs, axis of x, channels, center
        ("bn", dict(momentum=0.9, epsilon=1e-3), 3, 4, True),
        ("bn_axis1", dict(axis=1, center=False), 1, 3, False),
    ]
    for prefix, kw, axis, C, center in cases:
        layer = keras.layers.BatchNormalization(**kw)
        layer.build(x.shape)
        gamma = rand(C, lo=0.5, hi=1.5)
        beta = rand(C) if center else None
        mm = rand(C, lo=-0.5, hi=0.5)
        mv = rand(C, lo=0.5, hi=2.0)
        layer.set_weights([gamma] + ([beta] if center else []) + [mm, mv])
        what = (f"BatchNormalization({', '.join(f'{k}={v}' for k, v in kw.items())})")
        save(prefix + "_gamma", gamma, f"{what} gamma [{C}]")
        if center:
            save(prefix + "_beta", beta, f"{what} beta [{C}]")
        save(prefix + "_moving_mean", mm, f"{what} moving_mean before the training call")
        save(prefix + "_moving_variance", mv, f"{what} moving_variance before the training call")
        y = np.asarray(layer(x, training=True))
        mm1, mv1 = [np.asarray(w) for w in layer.get_weights()[-2:]]
        yi = np.asarray(layer(x, training=False))
        mom = kw.get("momentum", 0.99)
        ry, rmm, rmv = np_bn_train(x, axis, gamma, beta, mm.astype(np.float64),
                                   mv.astype(np.float64), mom, 1e-3)
        close(y, ry, what=prefix + " training output")
        close(mm1, rmm, what=prefix + " moving mean")
        close(mv1, rmv, what=prefix + " moving variance")
        close(yi, np_bn_infer(x, axis, gamma, beta, rmm, rmv, 1e-3), what=prefix + " inference")
        save(prefix + "_train_out", y, f"{what}(x, training=True): batch mean and biased variance")
        save(prefix + "_moving_mean_after", mm1, "moving_mean after that call: "
             "mm * momentum + batch mean * (1 - momentum)")
        save(prefix + "_moving_variance_after", mv1, "moving_variance after that call: "
             "mv * momentum + biased batch variance * (1 - momentum)")
        save(prefix + "_infer_out", yi, f"{what}(x, training=False) after that call: the moving "
             "statistics")


def np_ln(x, axis, gamma, beta, eps):
    x = x.astype(np.float64)
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True)
    shape = [1] * x.ndim
    shape[axis] = -1
    y = (x - mean) / np.sqrt(var + eps)
    if gamma is not None:
        y = y * gamma.reshape(shape)
    if beta is not None:
        y = y + beta.reshape(shape)
    return y


def make_ln(keras):
    x = rand(3, 4, 6) * 1.5 + 0.3
    save("ln_x", x, "input x [3, 4, 6]")
    for prefix, kw, axis, C in [("ln", {}, 2, 6), ("ln_axis1", dict(axis=1), 1, 4)]:
        layer = keras.layers.LayerNormalization(**kw)
        layer.build(x.shape)
        gamma, beta = rand(C, lo=0.5, hi=1.5), rand(C)
        layer.set_weights([gamma, beta])
        y = np.asarray(layer(x))
        close(y, np_ln(x, axis, gamma, beta, 1e-3), what=prefix)
        what = f"LayerNormalization({', '.join(f'{k}={v}' for k, v in kw.items())})"
        save(prefix + "_gamma", gamma, f"{what} gamma [{C}]")
        save(prefix + "_beta", beta, f"{what} beta [{C}]")
        save(prefix + "_out", y, f"{what} output (epsilon 1e-3)")


# ------------------------------------------------------- 1-D and global

def same_pad(L, k, s):
    out = -(-L // s)
    total = max((out - 1) * s + k - L, 0)
    return out, total // 2


def np_conv1d(x, kernel, bias, stride, padding, act):
    N, L, C = x.shape
    k, _, F = kernel.shape
    if padding == "same":
        out, left = same_pad(L, k, stride)
    else:
        out, left = (L - k) // stride + 1, 0
    y = np.zeros((N, out, F))
    for t in range(out):
        for j in range(k):
            p = t * stride + j - left
            if 0 <= p < L:
                y[:, t] += x[:, p].astype(np.float64) @ kernel[j].astype(np.float64)
    if bias is not None:
        y += bias
    return act(y)


def np_pool1d(x, k, stride, padding, mode):
    N, L, C = x.shape
    if padding == "same":
        out, left = same_pad(L, k, stride)
    else:
        out, left = (L - k) // stride + 1, 0
    y = np.zeros((N, out, C))
    for t in range(out):
        lo, hi = max(t * stride - left, 0), min(t * stride - left + k, L)
        win = x[:, lo:hi].astype(np.float64)
        y[:, t] = win.max(axis=1) if mode == "max" else win.mean(axis=1)  # pads left out
    return y


def make_1d_global(keras):
    x = rand(2, 9, 3)
    save("conv1d_x", x, "input x [2, 9, 3] (steps 9, channels 3); also the 1-D pooling and "
         "global 1-D input")
    L = keras.layers
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    cases = [
        ("conv1d_same", L.Conv1D(4, 3, strides=2, padding="same", activation="relu"),
         (3, 3, 4), True, 2, "same", relu,
         "Conv1D(4, 3, strides=2, padding='same', activation='relu'): 9 steps -> 5, pad total 2"),
        ("conv1d_valid", L.Conv1D(2, 4, padding="valid", activation="tanh", use_bias=False),
         (4, 3, 2), False, 1, "valid", np.tanh,
         "Conv1D(2, 4, activation='tanh', use_bias=False): 9 steps -> 6"),
    ]
    for prefix, layer, kshape, has_bias, stride, padding, act, what in cases:
        layer.build(x.shape)
        kernel = rand(*kshape)
        bias = rand(kshape[2]) if has_bias else None
        layer.set_weights([kernel] + ([bias] if has_bias else []))
        y = np.asarray(layer(x))
        close(y, np_conv1d(x, kernel, bias, stride, padding, act), what=prefix)
        save(prefix + "_kernel", kernel, f"{what}: kernel [k, cin, cout]")
        if has_bias:
            save(prefix + "_bias", bias, "its bias")
        save(prefix + "_out", y, "its output")
    pools = [
        ("pool1d_max_same", L.MaxPooling1D(3, strides=2, padding="same"), 3, 2, "same", "max",
         "MaxPooling1D(3, strides=2, padding='same')"),
        ("pool1d_avg_valid", L.AveragePooling1D(2), 2, 2, "valid", "avg",
         "AveragePooling1D(2)"),
        ("pool1d_avg_same", L.AveragePooling1D(3, strides=2, padding="same"), 3, 2, "same",
         "avg", "AveragePooling1D(3, strides=2, padding='same'): padded steps left out of the "
         "mean"),
    ]
    for prefix, layer, k, s, padding, mode, what in pools:
        y = np.asarray(layer(x))
        close(y, np_pool1d(x, k, s, padding, mode), what=prefix)
        save(prefix + "_out", y, f"{what} of conv1d_x")
    x2 = rand(2, 5, 4, 3)
    save("global_x2d", x2, "input x [2, 5, 4, 3] (NHWC); also ZeroPadding2D and UpSampling2D's")
    for prefix, layer, xin, ref in [
        ("global_avg1d_out", L.GlobalAveragePooling1D(), x, x.mean(axis=1, dtype=np.float64)),
        ("global_max1d_out", L.GlobalMaxPooling1D(), x, x.max(axis=1)),
        ("global_avg2d_out", L.GlobalAveragePooling2D(), x2, x2.mean(axis=(1, 2), dtype=np.float64)),
        ("global_max2d_out", L.GlobalMaxPooling2D(), x2, x2.max(axis=(1, 2))),
    ]:
        y = np.asarray(layer(xin))
        close(y, ref, what=prefix)
        save(prefix, y, f"{type(layer).__name__}() of {'conv1d_x' if xin is x else 'global_x2d'}")
    y = np.asarray(L.ZeroPadding2D(((1, 2), (0, 3)))(x2))
    close(y, np.pad(x2, ((0, 0), (1, 2), (0, 3), (0, 0))), what="zero padding")
    save("zero_padding2d_out", y, "ZeroPadding2D(((1, 2), (0, 3))) of global_x2d: top 1, "
         "bottom 2, left 0, right 3")
    y = np.asarray(L.UpSampling2D((2, 3))(x2))
    close(y, np.repeat(np.repeat(x2, 2, axis=1), 3, axis=2), what="upsampling")
    save("up_sampling2d_out", y, "UpSampling2D((2, 3)) of global_x2d (nearest)")


# ------------------------------------------------------- counts, summary

# (Keras layer, per-sample input shape); tests/test_norm_layers.c builds the same list.
def param_cases(L):
    return [
        (L.BatchNormalization(), (3, 2, 4)),
        (L.BatchNormalization(center=False, scale=False), (5,)),
        (L.BatchNormalization(axis=1), (3, 2, 4)),
        (L.LayerNormalization(), (4, 6)),
        (L.LayerNormalization(axis=1, center=False), (4, 6)),
        (L.Conv1D(4, 3), (9, 3)),
        (L.Conv1D(5, 2, use_bias=False), (9, 3)),
        (L.MaxPooling1D(), (9, 3)),
        (L.GlobalAveragePooling2D(), (5, 4, 3)),
        (L.ZeroPadding2D(), (5, 4, 3)),
        (L.UpSampling2D(), (5, 4, 3)),
    ]


def make_counts_summary(keras):
    L = keras.layers
    rows = []
    for layer, shape in param_cases(L):
        layer.build((None,) + shape)
        rows.append([sum(int(np.prod(w.shape)) for w in layer.trainable_weights),
                     sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights)])
    save("layer_param_counts", np.array(rows), "[trainable, non-trainable] weight counts of the "
         "layers of param_cases() in the script, in order")
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        L.Conv2D(4, 3, name="conv2d"),
        L.BatchNormalization(name="batch_normalization"),
        L.GlobalAveragePooling2D(name="global_average_pooling2d"),
        L.Dense(2, name="dense"),
    ], name="summary")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        model.summary()
    text = buf.getvalue()
    with open(os.path.join(OUT, "layers_summary_keras3.txt"), "w") as fh:
        fh.write(text)
    FILES.append(("layers_summary_keras3.txt", None, "model.summary() of Sequential 'summary': "
                  "Input (8, 8, 3), Conv2D(4, 3), BatchNormalization, GlobalAveragePooling2D, "
                  "Dense(2); 138 params, 8 of them non-trainable"))


def write_readme(versions):
    path = os.path.join(OUT, "README.md")
    with open(path) as fh:
        text = fh.read()
    # Keep everything but this script's own section (which runs to the next "## " or the end).
    start = text.find(SECTION)
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start].rstrip("\n") + ("\n\n" + text[end + 1:] if end >= 0 else "")
    lines = [
        SECTION,
        "",
        f"Written by `tests/make_layer_fixtures.py`; produced with: {versions}.",
        "Checked in the script against NumPy float64 (tolerance 1e-5).",
        "",
        "| file | shape | what |",
        "|---|---|---|",
    ]
    for name, shape, desc in FILES:
        shp = "text" if shape is None else "[" + ", ".join(map(str, shape)) + "]"
        lines.append(f"| `{name}` | {shp} | {desc.replace('|', '/')} |")
    with open(path, "w") as fh:
        fh.write(text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    import keras
    import tensorflow as tf
    make_bn(keras)
    make_ln(keras)
    make_1d_global(keras)
    make_counts_summary(keras)
    versions = (f"numpy {np.__version__}, tensorflow {tf.__version__} (CPU), keras "
                f"{keras.__version__} (backend {keras.backend.backend()}), Python "
                f"{sys.version.split()[0]}")
    write_readme(versions)
    print(f"wrote {len(FILES)} fixtures to {OUT}; {versions}")


if __name__ == "__main__":
    main()
