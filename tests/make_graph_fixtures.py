#!/usr/bin/env python3
"""Regenerates the merging and shape layer fixtures (tests/fixtures/graph_*.npy) from Keras 3.

How to run (from the repository root, with the venv of tests/make_fixtures.py):

    bench/.venv/bin/python tests/make_graph_fixtures.py

One Keras 3 functional model with three inputs uses every merging and shape layer lamina
implements: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate (axes 1, -1, -2
and 2 of a rank-4 tensor), Reshape (with an inferred -1, to rank 3 and rank 4), Permute (rank
3 and rank 4) and RepeatVector, after a Dense of fixed weights applied to the last axis of a
(4, 3) input. The inputs, the Dense weights and the output of every layer are written as .npy
files (format 1.0, '<f4', C order); tests/test_merge_layers.c builds the same graph in C and
compares every layer within 1e-5.

Every Keras output is also checked here against NumPy in float64 (tolerance 1e-5); the
script fails if they disagree. The README section "Graph fixtures" is rewritten; the rest
of tests/fixtures/README.md (written by tests/make_fixtures.py) is kept.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
RNG = np.random.default_rng(20240712)
FILES = []  # (name, shape, description)
SECTION = "## Graph fixtures"


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


def close(a, b, what, tol=1e-5):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    err = np.max(np.abs(a - b)) if a.size else 0.0
    if a.shape != b.shape or not err <= tol:
        sys.exit(f"cross-check failed: {what}: shape {a.shape} vs {b.shape}, max err {err}")


def main():
    os.makedirs(OUT, exist_ok=True)
    import keras
    import tensorflow as tf
    from keras import layers as L

    a_in = f32(RNG.normal(0, 1, (2, 4, 3)))
    b_in = f32(RNG.normal(0, 1, (2, 4, 3)))
    v_in = f32(RNG.normal(0, 1, (2, 5)))
    # Some equal values, so Maximum and Minimum meet ties (the values agree, whoever wins).
    b_in[0, 0, :2] = a_in[0, 0, :2]
    W = f32(RNG.uniform(-0.8, 0.8, (3, 3)))
    bias = f32(RNG.uniform(-0.3, 0.3, (3,)))

    a = keras.Input((4, 3), name="a")
    b = keras.Input((4, 3), name="b")
    v = keras.Input((5,), name="v")
    dense = L.Dense(3, name="dense")
    d = dense(a)
    t = {}
    t["add"] = L.Add(name="add")([d, b])
    t["subtract"] = L.Subtract(name="subtract")([a, b])
    t["multiply"] = L.Multiply(name="multiply")([t["add"], t["subtract"], a])
    t["average"] = L.Average(name="average")([a, b, d])
    t["maximum"] = L.Maximum(name="maximum")([a, b, d])
    t["minimum"] = L.Minimum(name="minimum")([a, b])
    t["concat_last"] = L.Concatenate(name="concat_last")(
        [t["add"], t["subtract"], t["multiply"], t["average"], t["maximum"], t["minimum"]])
    t["concat_axis1"] = L.Concatenate(axis=1, name="concat_axis1")([t["add"], t["subtract"]])
    t["concat_neg2"] = L.Concatenate(axis=-2, name="concat_neg2")([t["concat_axis1"], a])
    t["repeat"] = L.RepeatVector(4, name="repeat")(v)
    t["concat_repeat"] = L.Concatenate(name="concat_repeat")([a, t["repeat"]])
    t["reshape3"] = L.Reshape((2, -1, 3), name="reshape3")(t["concat_last"])
    t["permute3"] = L.Permute((3, 1, 2), name="permute3")(t["reshape3"])
    t["reshape4"] = L.Reshape((2, 3, 2, 3), name="reshape4")(t["concat_neg2"])
    t["concat_axis2"] = L.Concatenate(axis=2, name="concat_axis2")([t["reshape4"], t["reshape4"]])
    t["permute4"] = L.Permute((4, 2, 1, 3), name="permute4")(t["concat_axis2"])
    names = list(t)
    model = keras.Model([a, b, v], [t[k] for k in names], name="graph_fixture")
    dense.set_weights([W, bias])
    got = dict(zip(names, model.predict([a_in, b_in, v_in], verbose=0)))

    # NumPy float64, from the documented semantics.
    A, B, V = (x.astype(np.float64) for x in (a_in, b_in, v_in))
    D = A @ W.astype(np.float64) + bias
    ref = {}
    ref["add"] = D + B
    ref["subtract"] = A - B
    ref["multiply"] = ref["add"] * ref["subtract"] * A
    ref["average"] = (A + B + D) / 3
    ref["maximum"] = np.maximum(np.maximum(A, B), D)
    ref["minimum"] = np.minimum(A, B)
    ref["concat_last"] = np.concatenate([ref[k] for k in ("add", "subtract", "multiply",
                                                          "average", "maximum", "minimum")], -1)
    ref["concat_axis1"] = np.concatenate([ref["add"], ref["subtract"]], 1)
    ref["concat_neg2"] = np.concatenate([ref["concat_axis1"], A], -2)
    ref["repeat"] = np.repeat(V[:, None, :], 4, axis=1)
    ref["concat_repeat"] = np.concatenate([A, ref["repeat"]], -1)
    ref["reshape3"] = ref["concat_last"].reshape(2, 2, -1, 3)
    ref["permute3"] = ref["reshape3"].transpose(0, 3, 1, 2)
    ref["reshape4"] = ref["concat_neg2"].reshape(2, 2, 3, 2, 3)
    ref["concat_axis2"] = np.concatenate([ref["reshape4"], ref["reshape4"]], 2)
    ref["permute4"] = ref["concat_axis2"].transpose(0, 4, 2, 1, 3)
    for k in names:
        close(got[k], ref[k], what=k)

    save("graph_a", a_in, "input a (batch 2, 4, 3); b[0, 0, :2] = a[0, 0, :2] (ties)")
    save("graph_b", b_in, "input b (batch 2, 4, 3)")
    save("graph_v", v_in, "input v (batch 2, 5)")
    save("graph_dense_kernel", W, "Dense(3) kernel [3, 3], applied to a's last axis: d = a @ kernel + bias")
    save("graph_dense_bias", bias, "Dense(3) bias [3]")
    what = {
        "add": "Add()([d, b])",
        "subtract": "Subtract()([a, b])",
        "multiply": "Multiply()([add, subtract, a])",
        "average": "Average()([a, b, d])",
        "maximum": "Maximum()([a, b, d])",
        "minimum": "Minimum()([a, b])",
        "concat_last": "Concatenate()([add, subtract, multiply, average, maximum, minimum]) (axis -1)",
        "concat_axis1": "Concatenate(axis=1)([add, subtract])",
        "concat_neg2": "Concatenate(axis=-2)([concat_axis1, a])",
        "repeat": "RepeatVector(4)(v)",
        "concat_repeat": "Concatenate()([a, repeat])",
        "reshape3": "Reshape((2, -1, 3))(concat_last)",
        "permute3": "Permute((3, 1, 2))(reshape3)",
        "reshape4": "Reshape((2, 3, 2, 3))(concat_neg2)",
        "concat_axis2": "Concatenate(axis=2)([reshape4, reshape4])",
        "permute4": "Permute((4, 2, 1, 3))(concat_axis2)",
    }
    for k in names:
        save("graph_" + k, got[k], what[k])

    versions = (f"numpy {np.__version__}, tensorflow {tf.__version__} (CPU), keras "
                f"{keras.__version__} (backend {keras.backend.backend()}), Python "
                f"{sys.version.split()[0]}")
    lines = [
        SECTION,
        "",
        "Written by `tests/make_graph_fixtures.py` (see its docstring); do not edit by hand.",
        f"Produced with: {versions}.",
        "One Keras 3 functional model of inputs a, b, v; `d` is the Dense below applied to a.",
        "Every layer's output was also checked in the script against NumPy in float64 (1e-5).",
        "",
        "| file | shape | what |",
        "|---|---|---|",
    ]
    for name, shape, desc in FILES:
        lines.append(f"| `{name}` | [{', '.join(map(str, shape))}] | {desc.replace('|', '/')} |")
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
    print(f"wrote {len(FILES)} graph fixtures to {OUT}; {versions}")


if __name__ == "__main__":
    main()
