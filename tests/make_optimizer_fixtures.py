#!/usr/bin/env python3
"""Regenerates the optimizer and learning-rate-schedule fixtures in tests/fixtures/optimizers/.

How to run (from the repository root):

    bash bench/setup_venv.sh                                 # once: bench/.venv with Keras 3
    bench/.venv/bin/python tests/make_optimizer_fixtures.py  # rewrites tests/fixtures/optimizers/

Every optimizer runs 20 Keras 3 steps (apply_gradients, eager, float32) on two variables of
different shapes, a kernel [3, 4] and a bias [4] (the weights of a Dense(4) on 3 inputs, so the
C test can drive its own optimizer through a tiny model), with the same fixed gradient per step
for every case. Per-variable clipnorm therefore clips the kernel and the bias by different
factors, and global_clipnorm by one common factor.

Files (NumPy .npy format 1.0, dtype '<f4', C order; see ../README.md for the layout):
  p0.npy            [16]      the initial parameters: kernel (row-major [3, 4]) then bias [4]
  grads.npy         [20, 16]  the gradient of step t (row t), same layout
  <case>.npy        [20, 16]  the parameters after step t + 1 (row t)
  lr_<sched>.npy    [41]      the schedule's learning rate at steps 0..40 (Keras schedule(step))
  README.md         the cases with their Keras arguments, and the versions that produced them

Every Keras result is cross-checked here against a NumPy float64 implementation of the update
rules as read in keras/src/optimizers/*.py (relative tolerance 2e-5): the script fails if they
disagree. Each option's case is also checked to move the parameters away from its plain case
(by more than 2e-4 relative somewhere, 20 times the C tolerance), so a C implementation that ignores the option cannot
match the fixture by accident.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "optimizers")
RNG = np.random.default_rng(20250112)
STEPS = 20
LR_STEPS = 41
SHAPES = [(3, 4), (4,)]
FILES = []  # (name, shape, description)


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


def rel_err(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-3)))


def check(a, b, tol, what):
    if np.shape(a) != np.shape(b) or not rel_err(a, b) <= tol:
        sys.exit(f"cross-check failed: {what}: max relative error {rel_err(a, b):.3g}")
    # A parameter passing near zero would make the C test's relative comparison measure
    # float32 rounding noise rather than the update rule.
    if np.ndim(a) == 2 and not np.min(np.abs(a)) > 0.05:
        sys.exit(f"{what}: a parameter comes within {np.min(np.abs(a)):.3g} of zero")


def split(flat):
    out, at = [], 0
    for s in SHAPES:
        n = int(np.prod(s))
        out.append(np.asarray(flat[at:at + n]).reshape(s))
        at += n
    return out


# ------------------------------------------------------------------ inputs
def make_inputs():
    n = sum(int(np.prod(s)) for s in SHAPES)
    # Away from zero, so a relative comparison of the parameters is meaningful.
    p0 = RNG.uniform(0.5, 1.5, n) * RNG.choice([-1.0, 1.0], n)
    g = RNG.normal(0.0, 1.0, (STEPS, n))
    g[:, :12] *= 1.2   # kernel: norm about 4, so clipnorm 1 clips it hard ...
    g[:, 12:] *= 0.25  # ... and the bias (norm about 0.5) mostly not
    g[5, 12:] *= 8.0   # except at step 5, where the bias is clipped too
    g[3, 2] = 0.0      # an exact zero
    g[7, 13] = 1e-8    # tiny: where epsilon sits shows
    return f32(p0), f32(g)


# ------------------------------------------------------------------ NumPy references
def np_schedule(s, step):
    if s is None:
        return None
    kind, a = s
    step = float(step)
    if kind == "exponential":
        p = step / a["decay_steps"]
        if a.get("staircase"):
            p = np.floor(p)
        return a["initial_learning_rate"] * a["decay_rate"] ** p
    if kind == "inverse_time":
        p = step / a["decay_steps"]
        if a.get("staircase"):
            p = np.floor(p)
        return a["initial_learning_rate"] / (1 + a["decay_rate"] * p)
    if kind == "piecewise":
        b, v = a["boundaries"], a["values"]
        for i, bound in enumerate(b):
            if step <= bound:
                return v[i]
        return v[-1]
    if kind == "cosine":
        lr0, ds, alpha = a["initial_learning_rate"], a["decay_steps"], a.get("alpha", 0.0)
        target, ws = a.get("warmup_target"), a.get("warmup_steps", 0)

        def decay(st, frm):
            return frm * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * st / ds)) + alpha)
        if target is None:
            return decay(min(step, ds), lr0)
        step = min(step, ds + ws)
        if step < ws:
            return (target - lr0) * step / ws + lr0
        return decay(step - ws, target)
    raise ValueError(kind)


def np_run(kind, kw, sched, p0, grads):
    """The Keras 3 update rules, in float64."""
    vs = [v.astype(np.float64) for v in split(p0)]
    lr_const = kw.get("learning_rate", 0.001)
    b1, b2 = kw.get("beta_1", 0.9), kw.get("beta_2", 0.999)
    eps = kw.get("epsilon", 1e-7)
    mom, rho = kw.get("momentum", 0.0), kw.get("rho", 0.9)
    wd = kw.get("weight_decay", 0.004 if kind == "AdamW" else None)
    st = [dict() for _ in vs]
    for s in st:
        for k in ("m", "v", "vh", "mg", "u"):
            s[k] = 0.0
        s["acc"] = kw.get("initial_accumulator_value", 0.1)
    u_product = 1.0
    out = []
    for t in range(STEPS):
        lr = lr_const if sched is None else np_schedule(sched, t)
        gs = [g.astype(np.float64) for g in split(grads[t])]
        if kw.get("clipnorm"):
            c = kw["clipnorm"]
            gs = [g * c / max(np.sqrt(np.sum(g * g)), c) for g in gs]
        elif kw.get("global_clipnorm"):
            c = kw["global_clipnorm"]
            n = np.sqrt(sum(np.sum(g * g) for g in gs))
            gs = [g * c * min(1 / n, 1 / c) for g in gs]
        elif kw.get("clipvalue"):
            c = kw["clipvalue"]
            gs = [np.clip(g, -c, c) for g in gs]
        if wd is not None:
            vs = [v - v * wd * lr for v in vs]
        k = t + 1
        if kind == "Nadam":
            u_t = b1 * (1 - 0.5 * 0.96 ** k)
            u_t1 = b1 * (1 - 0.5 * 0.96 ** (k + 1))
            u_product *= u_t
        for v, g, s in zip(vs, gs, st):
            if kind == "SGD":
                if mom:
                    s["m"] = s["m"] * mom - g * lr
                    v += s["m"] * mom - g * lr if kw.get("nesterov") else s["m"]
                else:
                    v -= g * lr
            elif kind == "RMSprop":
                s["v"] = rho * s["v"] + (1 - rho) * g * g
                if kw.get("centered"):
                    s["mg"] = rho * s["mg"] + (1 - rho) * g
                    den = s["v"] - s["mg"] ** 2 + eps
                else:
                    den = s["v"] + eps
                inc = lr * g / np.sqrt(den)
                if mom:
                    s["m"] = mom * s["m"] + inc
                    v -= s["m"]
                else:
                    v -= inc
            elif kind in ("Adam", "AdamW"):
                alpha = lr * np.sqrt(1 - b2 ** k) / (1 - b1 ** k)
                s["m"] = s["m"] + (g - s["m"]) * (1 - b1)
                s["v"] = s["v"] + (g * g - s["v"]) * (1 - b2)
                vv = s["v"]
                if kw.get("amsgrad"):
                    s["vh"] = np.maximum(s["vh"], s["v"])
                    vv = s["vh"]
                v -= s["m"] * alpha / (np.sqrt(vv) + eps)
            elif kind == "Adagrad":
                s["acc"] = s["acc"] + g * g
                v -= lr * g / np.sqrt(s["acc"] + eps)
            elif kind == "Adamax":
                s["m"] = s["m"] + (g - s["m"]) * (1 - b1)
                s["u"] = np.maximum(b2 * s["u"], np.abs(g))
                v -= lr * s["m"] / ((1 - b1 ** k) * (s["u"] + eps))
            elif kind == "Nadam":
                s["m"] = s["m"] + (g - s["m"]) * (1 - b1)
                s["v"] = s["v"] + (g * g - s["v"]) * (1 - b2)
                m_hat = u_t1 * s["m"] / (1 - u_product * u_t1) + (1 - u_t) * g / (1 - u_product)
                v_hat = s["v"] / (1 - b2 ** k)
                v -= m_hat * lr / (np.sqrt(v_hat) + eps)
            else:
                raise ValueError(kind)
        out.append(np.concatenate([v.ravel() for v in vs]))
    return np.stack(out)


# ------------------------------------------------------------------ Keras
def keras_schedule(keras, sched):
    if sched is None:
        return None
    kind, a = sched
    S = keras.optimizers.schedules
    if kind == "exponential":
        return S.ExponentialDecay(**a)
    if kind == "inverse_time":
        return S.InverseTimeDecay(**a)
    if kind == "piecewise":
        return S.PiecewiseConstantDecay(**a)
    if kind == "cosine":
        return S.CosineDecay(**a)
    raise ValueError(kind)


def keras_run(keras, kind, kw, sched, p0, grads):
    kw = dict(kw)
    if sched is not None:
        kw["learning_rate"] = keras_schedule(keras, sched)
    opt = getattr(keras.optimizers, kind)(**kw)
    vs = [keras.Variable(v, dtype="float32") for v in split(p0)]
    out = []
    for t in range(STEPS):
        gs = [keras.ops.convert_to_tensor(g, dtype="float32") for g in split(grads[t])]
        opt.apply_gradients(zip(gs, vs))
        out.append(np.concatenate([np.asarray(v.numpy()).ravel() for v in vs]))
    assert int(opt.iterations.numpy()) == STEPS
    return f32(np.stack(out))


def args_str(kind, kw, sched=None):
    parts = [f"{k}={v!r}" for k, v in kw.items()]
    if sched is not None:
        sk, sa = sched
        parts.insert(0, f"learning_rate=<{sk} schedule>")
    return f"keras.optimizers.{kind}(" + ", ".join(parts) + ")"


# (file name, Keras class, arguments, the plain case it must differ from)
CASES = [
    ("sgd", "SGD", dict(learning_rate=0.05), None),
    ("sgd_momentum", "SGD", dict(learning_rate=0.01, momentum=0.9), "sgd"),
    ("sgd_nesterov", "SGD", dict(learning_rate=0.01, momentum=0.9, nesterov=True), "sgd_momentum"),
    ("rmsprop", "RMSprop", dict(learning_rate=0.01), None),
    ("rmsprop_momentum", "RMSprop", dict(learning_rate=0.01, momentum=0.8), "rmsprop"),
    ("rmsprop_centered", "RMSprop", dict(learning_rate=0.01, centered=True), "rmsprop"),
    ("rmsprop_centered_momentum", "RMSprop",
     dict(learning_rate=0.01, rho=0.85, momentum=0.8, centered=True, epsilon=1e-6),
     "rmsprop_momentum"),
    ("adam", "Adam", dict(learning_rate=0.01), None),
    ("adam_betas", "Adam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9, epsilon=1e-4), "adam"),
    # beta_2 0.9 lets v fall after step 5's large bias gradient, where amsgrad keeps the max.
    ("adam_amsgrad", "Adam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9, epsilon=1e-4,
                                  amsgrad=True), "adam_betas"),
    ("adamw", "AdamW", dict(learning_rate=0.01), "adam"),
    ("adamw_amsgrad", "AdamW",
     dict(learning_rate=0.01, weight_decay=0.1, beta_1=0.8, beta_2=0.99, amsgrad=True), "adamw"),
    ("adagrad", "Adagrad", dict(learning_rate=0.1), None),
    ("adagrad_init", "Adagrad",
     dict(learning_rate=0.1, initial_accumulator_value=1.0, epsilon=1e-3), "adagrad"),
    ("adamax", "Adamax", dict(learning_rate=0.01), None),
    ("adamax_betas", "Adamax", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9), "adamax"),
    ("nadam", "Nadam", dict(learning_rate=0.01), None),
    ("nadam_betas", "Nadam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99), "nadam"),
    ("sgd_clipnorm", "SGD", dict(learning_rate=0.01, momentum=0.9, clipnorm=1.0), "sgd_momentum"),
    ("sgd_clipvalue", "SGD", dict(learning_rate=0.05, clipvalue=0.5), "sgd"),
    ("sgd_global_clipnorm", "SGD", dict(learning_rate=0.05, global_clipnorm=1.5), "sgd"),
    ("sgd_weight_decay", "SGD", dict(learning_rate=0.01, momentum=0.9, weight_decay=0.5),
     "sgd_momentum"),
    ("adam_clipnorm", "Adam", dict(learning_rate=0.01, clipnorm=1.0), "adam"),
    ("rmsprop_clipvalue_weight_decay", "RMSprop",
     dict(learning_rate=0.01, momentum=0.5, clipvalue=0.5, weight_decay=0.05), "rmsprop_momentum"),
    ("adagrad_clipnorm_weight_decay", "Adagrad",
     dict(learning_rate=0.1, clipnorm=1.0, weight_decay=0.02), "adagrad"),
    ("adamax_clipvalue", "Adamax", dict(learning_rate=0.01, clipvalue=0.3), "adamax"),
    ("nadam_global_clipnorm", "Nadam", dict(learning_rate=0.01, global_clipnorm=1.0), "nadam"),
    ("nadam_weight_decay", "Nadam", dict(learning_rate=0.01, weight_decay=0.05), "nadam"),
]

SCHEDULES = [
    ("exponential", ("exponential", dict(initial_learning_rate=0.02, decay_steps=5, decay_rate=0.5))),
    ("exponential_staircase", ("exponential", dict(initial_learning_rate=0.02, decay_steps=5,
                                                   decay_rate=0.5, staircase=True))),
    ("piecewise", ("piecewise", dict(boundaries=[4, 9, 14], values=[0.02, 0.01, 0.005, 0.002]))),
    ("cosine", ("cosine", dict(initial_learning_rate=0.02, decay_steps=15, alpha=0.1))),
    ("cosine_warmup", ("cosine", dict(initial_learning_rate=0.002, decay_steps=10, alpha=0.0,
                                      warmup_target=0.02, warmup_steps=5))),
    ("inverse_time", ("inverse_time", dict(initial_learning_rate=0.02, decay_steps=4,
                                           decay_rate=0.5))),
    ("inverse_time_staircase", ("inverse_time", dict(initial_learning_rate=0.02, decay_steps=4,
                                                     decay_rate=0.5, staircase=True))),
]

# Optimizers driven by a schedule: (file name, Keras class, arguments, schedule name).
SCHEDULED = [
    ("sched_" + name, "SGD", dict(momentum=0.5), name) for name, _ in SCHEDULES
] + [
    # Weight decay scales by the scheduled rate of the step, not the initial one.
    ("sched_adamw_cosine_warmup", "AdamW", dict(weight_decay=0.5), "cosine_warmup"),
    ("sched_nadam_exponential", "Nadam", dict(), "exponential"),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    import keras
    import tensorflow as tf
    p0, grads = make_inputs()
    save("p0", p0, "initial parameters: kernel [3, 4] row-major, then bias [4]")
    save("grads", grads, "gradient of step t (row t); kernel norm about 4, bias about 0.5 "
         "(0.5 x 8 at step 5); grads[3][2] = 0, grads[7][13] = 1e-8")
    results = {}
    for name, kind, kw, base in CASES:
        got = keras_run(keras, kind, kw, None, p0, grads)
        check(got, np_run(kind, kw, None, p0, grads), 2e-5, name)
        if base is not None and not rel_err(got, results[base]) > 2e-4:
            sys.exit(f"{name} does not differ from {base}: the option is not exercised")
        results[name] = got
        save(name, got, f"parameters after each of 20 steps of {args_str(kind, kw)}")
    sched_of = dict(SCHEDULES)
    for name, sched in SCHEDULES:
        s = keras_schedule(keras, sched)
        got = f32([float(s(keras.ops.convert_to_tensor(k, dtype="int64")))
                   for k in range(LR_STEPS)])
        check(got, [np_schedule(sched, k) for k in range(LR_STEPS)], 2e-6, "lr_" + name)
        save("lr_" + name, got, f"learning rate at steps 0..40 of keras.optimizers.schedules."
             f"{type(s).__name__}({', '.join(f'{k}={v!r}' for k, v in sched[1].items())})")
    for name, kind, kw, sname in SCHEDULED:
        sched = sched_of[sname]
        got = keras_run(keras, kind, kw, sched, p0, grads)
        check(got, np_run(kind, kw, sched, p0, grads), 2e-5, name)
        save(name, got, f"parameters after each of 20 steps of "
             f"{args_str(kind, kw, sched)}, the schedule of lr_{sname}")
    versions = (f"numpy {np.__version__}, tensorflow {tf.__version__} (CPU), keras "
                f"{keras.__version__} (backend {keras.backend.backend()}), Python "
                f"{sys.version.split()[0]}")
    lines = [
        "# Optimizer and learning-rate-schedule fixtures",
        "",
        "Written by `tests/make_optimizer_fixtures.py` (its docstring says how to run it and what",
        "it checks); do not edit by hand. Read by `tests/test_optimizers.c`.",
        f"Produced with: {versions}.",
        "",
        "Format as in `../README.md` (NumPy 1.0, `<f4`, C order). Every optimizer case starts from",
        "`p0.npy` and applies `grads.npy` row by row (Keras `apply_gradients` on two variables:",
        "kernel [3, 4] and bias [4], flattened in that order); its file holds the parameters",
        "after every step. Unset Keras arguments are Keras's defaults.",
        "",
        "| file | shape | what |",
        "|---|---|---|",
    ]
    for name, shape, desc in FILES:
        shp = "[" + ", ".join(map(str, shape)) + "]"
        lines.append(f"| `{name}` | {shp} | {desc.replace('|', '/')} |")
    with open(os.path.join(OUT, "README.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(FILES)} fixtures to {OUT} ({total} bytes); {versions}")


if __name__ == "__main__":
    main()
