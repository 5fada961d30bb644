#!/usr/bin/env python3
"""Regenerates tests/fixtures/embedding/ from Keras 3: Embedding and GELU.

How to run (from the repository root, with the venv of bench/setup_venv.sh):

    bench/.venv/bin/python tests/make_embedding_fixtures.py

Writes float32 .npy files (NumPy format 1.0, '<f4', C order) and README.md in
tests/fixtures/embedding/. Every Keras result is checked here against NumPy
(float64) before it is written; the script fails if they disagree.
"""
import json
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "embedding")
RNG = np.random.default_rng(20261206)
FILES = []


def save(name, arr, desc):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    np.save(os.path.join(OUT, name + ".npy"), arr, allow_pickle=False)
    FILES.append((name + ".npy", list(arr.shape), desc))


def main():
    os.makedirs(OUT, exist_ok=True)

    # Embedding(11, 4) on ids of shape (2, 5), with fixed weights.
    table = RNG.uniform(-1, 1, size=(11, 4)).astype(np.float32)
    ids = RNG.integers(0, 11, size=(2, 5))
    ids[1, 4] = ids[0, 0]  # a repeated id
    layer = keras.layers.Embedding(11, 4)
    layer.build((None, 5))
    layer.set_weights([table])
    y = np.asarray(layer(ids.astype("int32")))
    assert np.allclose(y, table[ids], atol=0), "Embedding is not a gather"
    assert layer.count_params() == 11 * 4
    save("emb_ids", ids, "ids (integer-valued floats), batch 2, 5 positions; [1,4] repeats [0,0]")
    save("emb_table", table, "Embedding(11, 4) embeddings [input_dim, output_dim]")
    save("emb_out", y, "Keras Embedding output [2, 5, 4]")

    # GELU, both forms, on fixed points spanning the interesting range.
    x = np.concatenate([np.linspace(-6, 6, 49), RNG.normal(0, 2, size=15)]).astype(np.float32)
    g = np.asarray(keras.activations.gelu(x, approximate=False))
    gt = np.asarray(keras.activations.gelu(x, approximate=True))
    xd = x.astype(np.float64)
    ref = 0.5 * xd * (1 + np.vectorize(math.erf)(xd / math.sqrt(2)))
    reft = 0.5 * xd * (1 + np.tanh(math.sqrt(2 / math.pi) * (xd + 0.044715 * xd ** 3)))
    assert np.allclose(g, ref, atol=1e-6), np.abs(g - ref).max()
    assert np.allclose(gt, reft, atol=1e-6), np.abs(gt - reft).max()
    # The string "gelu" is the exact form.
    assert np.allclose(np.asarray(keras.activations.get("gelu")(x)), g, atol=0)
    save("gelu_x", x, "GELU inputs: 49 points on [-6, 6] and 15 normal(0, 2) draws")
    save("gelu_exact", g, "keras.activations.gelu(x, approximate=False) (the string \"gelu\")")
    save("gelu_tanh", gt, "keras.activations.gelu(x, approximate=True)")

    # Keras's own JSON of the round-trip model, for the reader.
    inp = keras.Input((5,))
    h = keras.layers.Embedding(50, 8, name="emb")(inp)
    h = keras.layers.GlobalAveragePooling1D()(h)
    out = keras.layers.Dense(3, activation="softmax")(h)
    model = keras.Model(inp, out)
    with open(os.path.join(OUT, "embedding_classifier_keras3.json"), "w") as fh:
        fh.write(model.to_json())
    save("classifier_params", [model.count_params()], "Keras's count_params() of that model")
    FILES.append(("embedding_classifier_keras3.json", "JSON",
                  "Keras model.to_json() of Input(5,) -> Embedding(50, 8) -> "
                  "GlobalAveragePooling1D -> Dense(3, softmax)"))

    with open(os.path.join(OUT, "README.md"), "w") as fh:
        fh.write("# Embedding and GELU fixtures\n\n")
        fh.write("Written by `tests/make_embedding_fixtures.py`; do not edit by hand.\n")
        fh.write(f"Produced with: numpy {np.__version__}, tensorflow {tf.__version__} (CPU), "
                 f"keras {keras.__version__} (backend {keras.backend.backend()}).\n\n")
        fh.write("Arrays: `.npy`, NumPy format 1.0, dtype `<f4`, C order. Every Keras result was "
                 "checked in the script against a NumPy float64 version of the formula.\n\n")
        fh.write("| file | shape | what |\n|---|---|---|\n")
        for name, shape, desc in FILES:
            fh.write(f"| `{name}` | {shape} | {desc} |\n")
    print("wrote", len(FILES), "files to", OUT)


if __name__ == "__main__":
    main()
