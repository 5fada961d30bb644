#!/usr/bin/env python3
"""Regenerates the loss and metric fixtures tests/fixtures/loss_*.npy from Keras.

How to run (from the repository root):

    bash bench/setup_venv.sh                            # once: bench/.venv with Keras 3
    bench/.venv/bin/python tests/make_loss_fixtures.py  # rewrites tests/fixtures/loss_*.npy and
                                                        # its section of tests/fixtures/README.md

Each case is a tiny Keras 3 model whose last layer is an Activation (or a Dense with fixed
weights), compiled with one loss and Keras's "accuracy" metric, and evaluated with
model.evaluate(x, y, batch_size=4) on 10 samples: batches of 4, 4 and a short last one of 2.
Keras weights each batch's mean by its size, so the result is the mean over samples.

  *_x.npy       the inputs (logits for the softmax/sigmoid cases, probabilities otherwise)
  *_y.npy       integer labels (stored as float32) or dense targets
  *_kernel.npy, *_bias.npy   the Dense cases' fixed weights
  *_expect.npy  [loss, accuracy, batch_size, has_accuracy] as model.evaluate returned them
                (accuracy 0 and has_accuracy 0 where the case has no accuracy metric)

Accuracy is Keras's "accuracy" metric, except for binary CE with more than one output,
where Keras would resolve "accuracy" to categorical accuracy (it looks at the output width,
not the loss); there the fixtures record keras.metrics.BinaryAccuracy, which is what lamina
computes for binary CE (each output thresholded at 0.5).

The cases cover every loss, the fused path (softmax / sigmoid output: Keras takes the
logits, as lamina does) and the probability path (a linear output holding probabilities:
clipping at 1e-7, and categorical CE's renormalisation of rows that do not sum to 1),
saturated logits, and exact 0 / 1 probabilities. Every Keras value is also checked here
against a NumPy float64 implementation of the documented formula; the script fails if
they disagree by more than 1e-5.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
RNG = np.random.default_rng(20240611)
FILES = []  # (name, shape, description)
EPS = 1e-7
# Keras clips in float32, where 1 - 1e-7 rounds to 1 - 2**-23: a probability of exactly 1
# is clipped to 0.99999988, and log(1 - p) there is log(2**-23) = -15.94, not log(1e-7).
HI = float(np.float32(1 - EPS))
N, BATCH = 10, 4
SECTION = "## Loss and metric fixtures"


def save(name, arr, desc):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    path = os.path.join(OUT, name + ".npy")
    np.save(path, arr, allow_pickle=False)
    with open(path, "rb") as fh:
        head = fh.read(8)
    assert head[:6] == b"\x93NUMPY" and head[6] == 1 and head[7] == 0, name
    FILES.append((name + ".npy", list(arr.shape), desc))


def close(a, b, what, tol=1e-5):
    if not abs(float(a) - float(b)) <= tol:
        sys.exit(f"cross-check failed: {what}: Keras {a!r}, NumPy {b!r}")


# ---------------------------------------------------------------- NumPy references (float64)
def softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def ref_loss(loss, out, y, logits):
    """Per-sample losses; out: the model's output (logits when `logits`)."""
    out = out.astype(np.float64)
    if loss == "sparse_categorical_crossentropy":
        yi = y.astype(int)
        if logits:
            z = out - out.max(-1, keepdims=True)
            lse = np.log(np.exp(z).sum(-1))
            return lse - z[np.arange(len(yi)), yi]
        # Keras (TensorFlow backend): clip, log, then softmax cross-entropy of those
        # "logits": -log(clip(p_y) / sum(clip(p))).
        p = np.clip(out, EPS, HI)
        return -np.log(p[np.arange(len(yi)), yi] / p.sum(-1))
    if loss == "categorical_crossentropy":
        if logits:
            z = out - out.max(-1, keepdims=True)
            lse = np.log(np.exp(z).sum(-1, keepdims=True))
            return (y * (lse - z)).sum(-1)
        p = out / out.sum(-1, keepdims=True)
        p = np.clip(p, EPS, HI)
        return -(y * np.log(p)).sum(-1)
    if loss == "binary_crossentropy":
        if logits:
            x = out
            return (np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))).mean(-1)
        p = np.clip(out, EPS, HI)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1)
    if loss == "mean_squared_error":
        return ((out - y) ** 2).mean(-1)
    raise ValueError(loss)


def ref_accuracy(loss, probs, y):
    if loss == "sparse_categorical_crossentropy":
        return float((probs.argmax(-1) == y.astype(int)).mean())
    if loss == "categorical_crossentropy":
        return float((probs.argmax(-1) == y.argmax(-1)).mean())
    if loss == "binary_crossentropy":
        return float(((probs > 0.5).astype(np.float64) == y).mean())
    return None


# ---------------------------------------------------------------- the cases
def labels(d):
    return RNG.integers(0, d, N).astype(np.float64)


def onehot(lab, d, smooth_rows=()):
    t = np.zeros((N, d))
    t[np.arange(N), lab.astype(int)] = 1
    for r in smooth_rows:  # soft targets that still sum to 1
        t[r] = RNG.dirichlet(np.ones(d))
    return t


def probs(d, normalise=True):
    p = RNG.uniform(0.02, 1, (N, d))
    return p / p.sum(-1, keepdims=True) if normalise else p


def cases():
    out = []
    # sparse CE through softmax: Keras takes the logits; rows 2 and 5 saturate (a
    # probability below 1e-7 that clipping would change), one row holds ties below the max.
    z = RNG.normal(0, 2, (N, 5))
    z[2] = [40, -40, 0, 3, -3]
    z[5] = [-30, 30, 0, 0, 0]
    lab = labels(5)
    lab[2], lab[5] = 1, 0
    out.append(("sce_softmax", "sparse_categorical_crossentropy", "softmax", z, lab, None,
                "sparse CE after Activation(softmax) (fused: from logits), saturated rows 2, 5"))
    # sparse CE on probabilities: row 3's p_y is clipped up to 1e-7, row 4's is 1 (clipped
    # down), row 6 does not sum to 1 (Keras renormalises after clipping).
    p = probs(5)
    lab = labels(5)
    p[3] = [1e-9, 0.5, 0.5 - 1e-9, 0, 0]
    lab[3] = 0
    p[4] = [0, 0, 1, 0, 0]
    lab[4] = 2
    p[6] *= 0.7
    out.append(("sce_probs", "sparse_categorical_crossentropy", "linear", p, lab, None,
                "sparse CE on probabilities (linear output): clipping at 1e-7 (rows 3, 4), "
                "a row summing to 0.7 (row 6)"))
    # categorical CE through softmax, with soft targets in rows 1 and 7.
    z = RNG.normal(0, 2, (N, 4))
    z[3] = [35, -35, 0, 1]
    lab = labels(4)
    out.append(("cce_softmax", "categorical_crossentropy", "softmax", z, onehot(lab, 4, (1, 7)),
                None, "categorical CE after Activation(softmax) (fused), soft targets in rows "
                "1, 7, saturated row 3"))
    # categorical CE on probabilities: renormalised rows (Keras divides by the row sum).
    p = probs(4, normalise=False)
    p[2] = [0, 1, 0, 0]
    lab = labels(4)
    lab[2] = 0
    out.append(("cce_probs", "categorical_crossentropy", "linear", p, onehot(lab, 4, (5,)), None,
                "categorical CE on probabilities whose rows do not sum to 1 (renormalised), "
                "a target on a 0 probability (row 2, clipped)"))
    # binary CE through sigmoid, 3 outputs per sample, saturated logits.
    z = RNG.normal(0, 2, (N, 3))
    z[4] = [30, -30, 20]
    t = RNG.integers(0, 2, (N, 3)).astype(np.float64)
    t[4] = [0, 1, 1]
    out.append(("bce_sigmoid", "binary_crossentropy", "sigmoid", z, t, None,
                "binary CE after Activation(sigmoid) (fused), 3 outputs, saturated row 4"))
    # binary CE on probabilities, exact 0 and 1 among them.
    p = RNG.uniform(0.01, 0.99, (N, 3))
    p[1] = [0, 1, 0.5]
    t = RNG.integers(0, 2, (N, 3)).astype(np.float64)
    t[1] = [1, 0, 1]
    out.append(("bce_probs", "binary_crossentropy", "linear", p, t, None,
                "binary CE on probabilities (linear output), exact 0 and 1 in row 1 (clipped)"))
    # MSE, linear and after softmax (no fusion there).
    out.append(("mse_linear", "mean_squared_error", "linear", RNG.normal(0, 1, (N, 3)),
                RNG.normal(0, 1, (N, 3)), None, "mean squared error, linear output"))
    out.append(("mse_softmax", "mean_squared_error", "softmax", RNG.normal(0, 1, (N, 4)),
                RNG.uniform(0, 1, (N, 4)), None, "mean squared error after Activation(softmax)"))
    # Dense layers with fixed weights as the last layer.
    k = RNG.normal(0, 1, (6, 3))
    b = RNG.normal(0, 0.5, 3)
    out.append(("dense_sce", "sparse_categorical_crossentropy", "softmax",
                RNG.normal(0, 1, (N, 6)), labels(3), (k, b),
                "Dense(3, softmax) with fixed weights, sparse CE"))
    k = RNG.normal(0, 1, (5, 1))
    b = RNG.normal(0, 0.5, 1)
    out.append(("dense_bce", "binary_crossentropy", "sigmoid", RNG.normal(0, 1, (N, 5)),
                RNG.integers(0, 2, (N, 1)).astype(np.float64), (k, b),
                "Dense(1, sigmoid) with fixed weights, binary CE (one output: Keras's "
                "\"accuracy\" is binary accuracy)"))
    k = RNG.normal(0, 1, (4, 3))
    b = RNG.normal(0, 0.5, 3)
    out.append(("dense_mse", "mean_squared_error", "linear", RNG.normal(0, 1, (N, 4)),
                RNG.normal(0, 1, (N, 3)), (k, b), "Dense(3, linear) with fixed weights, MSE"))
    return out


def main():
    import keras
    import tensorflow as tf
    os.makedirs(OUT, exist_ok=True)
    for name, loss, act, x, y, dense, desc in cases():
        x = x.astype(np.float32)
        y = y.astype(np.float32)
        d_in = x.shape[1]
        if dense is None:
            layer = keras.layers.Activation(act)
        else:
            layer = keras.layers.Dense(dense[0].shape[1], activation=act)
        model = keras.Sequential([keras.Input((d_in,)), layer])
        if dense is not None:
            layer.set_weights([dense[0].astype(np.float32), dense[1].astype(np.float32)])
        metrics = [] if loss == "mean_squared_error" else ["accuracy"]
        if loss == "binary_crossentropy" and y.shape[1] > 1:
            # Keras resolves "accuracy" by the output width, not the loss: with more than
            # one output it is categorical accuracy (argmax), even under binary CE.
            # lamina's accuracy for binary CE is per-output thresholding at 0.5, which
            # is Keras's BinaryAccuracy; that is what these fixtures record.
            metrics = [keras.metrics.BinaryAccuracy(name="accuracy")]
        model.compile(optimizer="sgd", loss=loss, metrics=metrics)
        yk = y.astype(np.int32) if loss.startswith("sparse") else y
        r = model.evaluate(x, yk, batch_size=BATCH, verbose=0, return_dict=True)
        keras_loss = r["loss"]
        keras_acc = r.get("accuracy", r.get("compile_metrics", None))
        if isinstance(keras_acc, dict):
            keras_acc = keras_acc.get("accuracy")
        # The NumPy reference, from the output Keras computes (float32), in float64.
        out = model.predict(x, batch_size=BATCH, verbose=0).astype(np.float64)
        if dense is not None:
            pre = x.astype(np.float64) @ dense[0] + dense[1]
        else:
            pre = x.astype(np.float64)
        fused = act in ("softmax", "sigmoid") and loss != "mean_squared_error"
        ref = ref_loss(loss, pre if fused else out, y.astype(np.float64), fused).mean()
        close(keras_loss, ref, f"{name} loss")
        acc = ref_accuracy(loss, out, y.astype(np.float64))
        if acc is not None:
            close(keras_acc, acc, f"{name} accuracy")
        save(f"loss_{name}_x", x, f"{name}: input [{N}, {d_in}]")
        save(f"loss_{name}_y", y, f"{name}: " + ("labels (integers as float32)"
                                                 if loss.startswith("sparse") else "targets"))
        if dense is not None:
            save(f"loss_{name}_kernel", dense[0], f"{name}: Dense kernel [in, out]")
            save(f"loss_{name}_bias", dense[1], f"{name}: Dense bias")
        save(f"loss_{name}_expect",
             [keras_loss, keras_acc if acc is not None else 0.0, BATCH, acc is not None],
             f"{name}: {desc}; Keras {loss}, evaluate(batch_size={BATCH}) -> "
             f"[loss {keras_loss:.7g}, accuracy {format(keras_acc, '.4f') if acc is not None else '-'}, "
             f"batch_size, has_accuracy]")
        print(f"{name:12s} loss {keras_loss:.7f} (NumPy {ref:.7f})"
              + (f", accuracy {keras_acc:.4f}" if acc is not None else ""))
    versions = (f"numpy {np.__version__}, tensorflow {tf.__version__} (CPU), keras "
                f"{keras.__version__} (backend {keras.backend.backend()})")
    write_readme(versions)


def write_readme(versions):
    lines = [
        SECTION,
        "",
        "Written by `tests/make_loss_fixtures.py` (see its docstring); read by `tests/test_losses.c`.",
        f"Produced with: {versions}.",
        "",
        f"Each case is a Keras model evaluated with `model.evaluate(x, y, batch_size={BATCH})` on "
        f"{N} samples (batches of 4, 4, 2: the last one short); `*_expect` holds",
        "`[loss, accuracy, batch_size, has_accuracy]`. Keras's loss and accuracy were checked",
        "against a NumPy float64 implementation of the formula (tolerance 1e-5). Accuracy is",
        "Keras's \"accuracy\" metric, except for binary CE with more than one output, where Keras",
        "would resolve \"accuracy\" to categorical accuracy (it goes by the output width); there",
        "the fixtures record `keras.metrics.BinaryAccuracy`, lamina's accuracy for binary CE.",
        "",
        "| file | shape | what |",
        "|---|---|---|",
    ]
    for name, shape, desc in FILES:
        shp = "[" + ", ".join(map(str, shape)) + "]"
        lines.append(f"| `{name}` | {shp} | {desc.replace('|', '/')} |")
    # This script's "## " section is rewritten; the rest of the README (other
    # scripts' sections) is kept.
    section = "\n".join(lines) + "\n"
    readme = os.path.join(OUT, "README.md")
    old = open(readme).read() if os.path.exists(readme) else ""
    start = old.find(SECTION)
    if start < 0:
        text = old.rstrip("\n") + "\n\n" + section
    else:
        end = old.find("\n## ", start + len(SECTION))
        text = old[:start] + section + (old[end + 1:] if end >= 0 else "")
    with open(readme, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
