#!/usr/bin/env python3
"""Keras 3 parity fixtures for a functional model (engine v2): tests/fixtures/functional/.

How to run (from the repository root, once bench/setup_venv.sh has made bench/.venv):

    bench/.venv/bin/python tests/make_functional_fixtures.py

The model has two inputs, a shared Dense layer (called on both), a residual Add, a
Concatenate, BatchNormalization and LayerNormalization, and two outputs with their own
losses and loss weights:

    a = Input((5,), name="a"); b = Input((5,), name="b")
    shared = Dense(4, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    s = Add(name="add")([ha, hb])
    c = Concatenate(name="concat")([s, ha, b])                 # 4 + 4 + 5 = 13
    n = BatchNormalization(name="bn")(c)
    l = LayerNormalization(name="ln")(n)
    y1 = Dense(3, activation="softmax", name="cls")(l)         # sparse categorical CE, weight 1
    r = Dense(2, name="reg_hidden")(Add(name="res")([l, c]))   # a second residual
    y2 = Dense(1, name="reg")(r)                               # MSE, weight 0.5

Written (float32 .npy, C order; weights in Keras's layout):
  w_<layer>_<i>.npy   model.get_layer(layer).get_weights()[i] before the step (BN: gamma, beta,
                      moving_mean, moving_variance; seeded random values, moving_variance > 0)
  x_a.npy, x_b.npy    inputs [8, 5]; y_cls.npy labels [8] (as float); y_reg.npy targets [8, 1]
  infer_y1/y2.npy     model(x, training=False) outputs
  train_y1/y2.npy     model(x, training=True) outputs (batch statistics)
  step_loss.npy       [3]: total, cls, reg losses of the step (Keras's train_on_batch values
                      before the update: mean over the batch, total = cls + 0.5 reg)
  after_<layer>_<i>.npy  the weights after one Adam(1e-3) train_on_batch step (BN's moving
                      statistics updated once with momentum 0.99)
Every Keras value is cross-checked here against a NumPy float64 implementation of the
forward pass; the script fails if they disagree beyond 1e-5.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "functional")
RNG = np.random.default_rng(20261206)
FILES = []


def save(name, arr, desc):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    np.save(os.path.join(OUT, name + ".npy"), arr, allow_pickle=False)
    FILES.append((name + ".npy", list(arr.shape), desc))


def build():
    a = keras.Input((5,), name="a")
    b = keras.Input((5,), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    s = layers.Add(name="add")([ha, hb])
    c = layers.Concatenate(name="concat")([s, ha, b])
    n = layers.BatchNormalization(name="bn")(c)
    lnorm = layers.LayerNormalization(name="ln")(n)
    y1 = layers.Dense(3, activation="softmax", name="cls")(lnorm)
    r = layers.Dense(2, name="reg_hidden")(layers.Add(name="res")([lnorm, c]))
    y2 = layers.Dense(1, name="reg")(r)
    return keras.Model([a, b], [y1, y2], name="parity")


def np_forward(w, xa, xb, training):
    """float64 reference; returns y1, y2 and the batch mean/var of bn's input."""
    W, bias = w["shared"]
    ha, hb = np.tanh(xa @ W + bias), np.tanh(xb @ W + bias)
    c = np.concatenate([ha + hb, ha, xb], axis=1)
    gamma, beta, mm, mv = w["bn"]
    if training:
        mean, var = c.mean(0), c.var(0)
    else:
        mean, var = mm, mv
    n = gamma * (c - mean) / np.sqrt(var + 1e-3) + beta
    lg, lb = w["ln"]
    mu, sd = n.mean(1, keepdims=True), n.var(1, keepdims=True)
    lnorm = lg * (n - mu) / np.sqrt(sd + 1e-3) + lb
    z = lnorm @ w["cls"][0] + w["cls"][1]
    e = np.exp(z - z.max(1, keepdims=True))
    y1 = e / e.sum(1, keepdims=True)
    r = (lnorm + c) @ w["reg_hidden"][0] + w["reg_hidden"][1]
    y2 = r @ w["reg"][0] + w["reg"][1]
    return y1, y2, c.mean(0), c.var(0)


def close(a, b, what, tol=1e-5):
    err = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
    if not err <= tol:
        sys.exit(f"cross-check failed: {what}: max err {err}")


def main():
    os.makedirs(OUT, exist_ok=True)
    keras.utils.set_random_seed(1)
    model = build()
    weights = {}
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws:
            continue
        new = []
        for i, v in enumerate(ws):
            if layer.name == "bn" and i == 3:
                v = RNG.uniform(0.5, 1.5, v.shape)
            else:
                v = RNG.uniform(-0.6, 0.6, v.shape)
            new.append(v.astype(np.float32))
        layer.set_weights(new)
        weights[layer.name] = [np.asarray(v, np.float64) for v in new]
        for i, v in enumerate(new):
            save(f"w_{layer.name}_{i}", v, f"{layer.name} weight {i} before the step")
    xa = RNG.uniform(-1, 1, (8, 5)).astype(np.float32)
    xb = RNG.uniform(-1, 1, (8, 5)).astype(np.float32)
    ycls = RNG.integers(0, 3, 8)
    yreg = RNG.uniform(-1, 1, (8, 1)).astype(np.float32)
    save("x_a", xa, "input a")
    save("x_b", xb, "input b")
    save("y_cls", ycls.astype(np.float32), "labels of output cls (integers stored as float)")
    save("y_reg", yreg, "targets of output reg")

    i1, i2 = model([xa, xb], training=False)
    r1, r2, _, _ = np_forward(weights, xa.astype(np.float64), xb.astype(np.float64), False)
    close(i1, r1, "inference y1")
    close(i2, r2, "inference y2")
    save("infer_y1", i1, "model(x, training=False) output cls")
    save("infer_y2", i2, "model(x, training=False) output reg")
    t1, t2 = model([xa, xb], training=True)
    r1, r2, _, _ = np_forward(weights, xa.astype(np.float64), xb.astype(np.float64), True)
    close(t1, r1, "training y1")
    close(t2, r2, "training y2")
    save("train_y1", t1, "model(x, training=True) output cls")
    save("train_y2", t2, "model(x, training=True) output reg")
    # model(x, training=True) above updated bn's moving statistics: put them back.
    model.get_layer("bn").set_weights([v.astype(np.float32) for v in weights["bn"]])

    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5})
    logs = model.train_on_batch([xa, xb], {"cls": ycls, "reg": yreg}, return_dict=True)
    print("train_on_batch:", logs)
    p1, p2, _, _ = np_forward(weights, xa.astype(np.float64), xb.astype(np.float64), True)
    lcls = float(np.mean(-np.log(p1[np.arange(8), ycls])))
    lreg = float(np.mean((p2 - yreg) ** 2))
    close(logs["loss"], lcls + 0.5 * lreg, "step loss", 2e-5)
    save("step_loss", np.array([lcls + 0.5 * lreg, lcls, lreg]), "total, cls and reg loss of the step")
    for layer in model.layers:
        for i, v in enumerate(layer.get_weights()):
            save(f"after_{layer.name}_{i}", v, f"{layer.name} weight {i} after one Adam step")
    with open(os.path.join(OUT, "README.md"), "w") as fh:
        fh.write("# Functional parity fixtures\n\nWritten by `tests/make_functional_fixtures.py` "
                 "(its docstring says what the model is and how to run it); do not edit by hand.\n"
                 f"Produced with keras {keras.__version__}, numpy {np.__version__}.\n\n"
                 "| file | shape | what |\n|---|---|---|\n")
        for name, shape, desc in FILES:
            fh.write(f"| `{name}` | {shape} | {desc} |\n")
    print(f"wrote {len(FILES)} files to {OUT}")


if __name__ == "__main__":
    main()
