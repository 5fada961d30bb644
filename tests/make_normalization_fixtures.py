#!/usr/bin/env python3
"""Regenerates tests/fixtures/normalization/ from Keras 3: the Normalization layer.

How to run (from the repository root, with the venv of bench/setup_venv.sh):

    bench/.venv/bin/python tests/make_normalization_fixtures.py

For each case, Keras's layer is adapted on `x` (layer.adapt(x)) and called on
`x`; the script writes `x`, Keras's adapted `mean` and `variance` and its output
`y` as float32 .npy files (NumPy format 1.0, '<f4', C order), and `model.json`,
a Sequential Input -> Normalization -> Dense written by model.to_json(). Each
Keras result is checked here against NumPy (float64) before it is written.
tests/test_normalization_layer.c adapts lamina's layer on the same x and
compares the statistics and outputs.
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "normalization")
RNG = np.random.default_rng(20261217)


def save(name, arr):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    np.save(os.path.join(OUT, name + ".npy"), arr, allow_pickle=False)


def case(name, x, axis, invert=False):
    """Adapts a Normalization(axis) on x and records its statistics and output."""
    layer = keras.layers.Normalization(axis=axis)
    layer.adapt(x)
    mean = keras.ops.convert_to_numpy(layer.adapt_mean)
    var = keras.ops.convert_to_numpy(layer.adapt_variance)
    if invert:  # Keras's invert layer takes the statistics as arguments
        layer = keras.layers.Normalization(axis=axis, mean=mean, variance=var, invert=True)
    y = keras.ops.convert_to_numpy(layer(x))
    # The same in float64 NumPy: reduce over every axis but the kept one.
    keep = axis % x.ndim
    red = tuple(d for d in range(x.ndim) if d != keep)
    m64, v64 = x.astype(np.float64).mean(axis=red), x.astype(np.float64).var(axis=red)
    assert np.allclose(mean, m64, rtol=1e-5, atol=1e-5), name
    assert np.allclose(var, v64, rtol=1e-4, atol=1e-5), name
    shape = [1] * x.ndim
    shape[keep] = -1
    sd = np.maximum(np.sqrt(v64), 1e-7).reshape(shape)
    want = m64.reshape(shape) + x * sd if invert else (x - m64.reshape(shape)) / sd
    assert np.allclose(y, want, rtol=1e-4, atol=1e-4), name
    save(name + "_x", x)
    save(name + "_mean", mean)
    save(name + "_variance", var)
    save(name + "_y", y)


def main():
    os.makedirs(OUT, exist_ok=True)
    # Tabular: 40 samples of 6 features of very different scales and offsets (the wine
    # data's problem: magnitudes from 0.1 to 1000).
    scales = np.array([0.1, 1.0, 30.0, 1000.0, 0.01, 5.0])
    offsets = np.array([13.0, -2.0, 100.0, 750.0, 0.3, 0.0])
    tab = (RNG.normal(size=(40, 6)) * scales + offsets).astype(np.float32)
    case("tabular", tab, -1)
    # Images (5, 4, 3) per channel (axis -1), 8 samples.
    img = RNG.uniform(0, 1, size=(8, 5, 4, 3)).astype(np.float32) * np.array([1, 10, 255],
                                                                               dtype=np.float32)
    case("image", img, -1)
    # Sequences (4, 3): statistics per step (axis 1, the first per-sample axis).
    seq = RNG.normal(size=(10, 4, 3)).astype(np.float32) * 3 + 1
    case("steps", seq, 1)
    # invert=True maps normalised values back: mean + x * std.
    case("invert", tab, -1, invert=True)

    model = keras.Sequential([keras.Input((6,)), keras.layers.Normalization(),
                              keras.layers.Dense(3, activation="softmax")])
    with open(os.path.join(OUT, "model.json"), "w") as f:
        json.dump(json.loads(model.to_json()), f, indent=1)
        f.write("\n")
    print("wrote", OUT, "with Keras", keras.__version__)


if __name__ == "__main__":
    main()
