#!/usr/bin/env python3
"""Writes the Bidirectional reference fixtures in tests/fixtures/ from Keras 3.

How to run (from the repository root, with the venv of bench/setup_venv.sh):

    bench/.venv/bin/python tests/make_bidir_fixtures.py

What it writes (NumPy .npy v1.0, '<f4', C order, as tests/make_fixtures.py):

  bidir_x                 the input x [2, 5, 3] (batch 2, timesteps 5, features 3)
  bidir_<k>_weights       Bidirectional(<k>(4)).get_weights() concatenated, flat: the forward
                          layer's kernel, recurrent_kernel, bias, then the backward layer's, each
                          in C order; k = lstm, gru (reset_after=True), rnn (SimpleRNN, tanh)
  bidir_<k>_<mode>_seq    the output with return_sequences=True, mode = concat, sum, ave, mul
  bidir_<k>_<mode>_last   the output with return_sequences=False

The weights are random (not Keras's initial ones: biases and the backward layer must differ
from zero and from the forward layer for the test to see them); the same weights serve every
merge mode and both return_sequences settings. Each output is cross-checked against NumPy
float64 (forward run, backward run over the reversed input, reversed back when sequences are
returned, then merged); the script fails on a disagreement above 1e-5.

It also keeps its own section of tests/fixtures/README.md (between the marker lines),
replacing it on a rerun and leaving the rest of the file alone.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import OUT, close, np_gru, np_lstm, np_rnn, sig  # noqa: E402,F401

RNG = np.random.default_rng(20251206)
FILES = []
T, F, U, N = 5, 3, 4, 2
MODES = ("concat", "sum", "ave", "mul")
BEGIN = "<!-- begin: written by tests/make_bidir_fixtures.py -->"
END = "<!-- end: tests/make_bidir_fixtures.py -->"


def save(name, arr, desc):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    path = os.path.join(OUT, name + ".npy")
    np.save(path, arr, allow_pickle=False)
    with open(path, "rb") as fh:
        head = fh.read(8)
    assert head[:6] == b"\x93NUMPY" and head[6] == 1 and head[7] == 0, name
    FILES.append((name + ".npy", list(arr.shape), desc))
    return arr


def np_merge(y, y_rev, mode):
    if mode == "concat":
        return np.concatenate([y, y_rev], axis=-1)
    if mode == "sum":
        return y + y_rev
    if mode == "ave":
        return (y + y_rev) / 2
    return y * y_rev


def np_layer(kind, x, w):
    if kind == "lstm":
        return np_lstm(x, *w)
    if kind == "gru":
        return np_gru(x, *w)
    return np_rnn(x, *w)


def make(keras, x):
    layers = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}
    for kind, cls in layers.items():
        weights = None
        for seq in (True, False):
            for mode in MODES:
                inp = keras.Input((T, F))
                bi = keras.layers.Bidirectional(cls(U, return_sequences=seq), merge_mode=mode)
                model = keras.Model(inp, bi(inp))
                if weights is None:
                    weights = [RNG.uniform(-0.6, 0.6, w.shape).astype(np.float32)
                               for w in bi.get_weights()]
                    names = [w.path for w in bi.weights]
                    assert len(weights) == 6, names
                    save(f"bidir_{kind}_weights", np.concatenate([w.ravel() for w in weights]),
                         f"Bidirectional({cls.__name__}({U})) weights, flat, in Keras's order: "
                         + ", ".join(n.split("/", 1)[1] for n in names))
                bi.set_weights(weights)
                y = np.asarray(model(x))
                # NumPy: the backward layer runs over the reversed input and returns its steps in
                # processing order; Keras reverses them back before merging.
                yf = np_layer(kind, x.astype(np.float64), [w.astype(np.float64) for w in weights[:3]])
                yb = np_layer(kind, x[:, ::-1].astype(np.float64),
                              [w.astype(np.float64) for w in weights[3:]])
                ref = np_merge(yf, yb[:, ::-1], mode) if seq else np_merge(yf[:, -1], yb[:, -1], mode)
                close(y, ref, 1e-5, f"Bidirectional({kind}, {mode}, return_sequences={seq})")
                tag = "seq" if seq else "last"
                save(f"bidir_{kind}_{mode}_{tag}", y,
                     f"Bidirectional({cls.__name__}({U}, return_sequences={seq}), "
                     f"merge_mode='{mode}') output on bidir_x")


def write_readme(versions):
    lines = [BEGIN, "", "## Bidirectional", "",
             f"Written by `tests/make_bidir_fixtures.py`; produced with: {versions}.",
             "Cross-checked in the script against NumPy float64 (tolerance 1e-5).", "",
             "| file | shape | what |", "|---|---|---|"]
    for name, shape, desc in FILES:
        lines.append(f"| `{name}` | [{', '.join(map(str, shape))}] | {desc.replace('|', '/')} |")
    lines.append(END)
    path = os.path.join(OUT, "README.md")
    text = open(path).read() if os.path.exists(path) else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + "\n".join(lines) + tail
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    with open(path, "w") as fh:
        fh.write(text)


def main():
    import keras
    import tensorflow as tf
    os.makedirs(OUT, exist_ok=True)
    x = save("bidir_x", RNG.uniform(-1, 1, (N, T, F)),
             f"input x (batch {N}, timesteps {T}, features {F}) of every bidir_* output")
    make(keras, x)
    versions = (f"numpy {np.__version__}, tensorflow {tf.__version__} (CPU), keras {keras.__version__} "
                f"(backend {keras.backend.backend()}), Python {sys.version.split()[0]}")
    write_readme(versions)
    print(f"wrote {len(FILES)} fixtures to {OUT}; {versions}")


if __name__ == "__main__":
    main()
