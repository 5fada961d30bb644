#!/usr/bin/env python3
"""Keras 3 / keras_hub parity fixtures for the transformer text classifier:
tests/fixtures/text_transformer/, read by tests/test_text_transformer.c.

How to run (from the repository root; keras_hub installed apart as
examples/make_text_transformer_json.py says):

    PYTHONPATH=KERAS_HUB_DIR bench/.venv/bin/python tests/make_text_transformer_fixtures.py

The model is tests/fixtures/text/text_transformer_tiny.json (examples/text_transformer.json's
architecture for 24 ids below 40 and 3 classes), read here by keras.models.model_from_json,
with seeded weights, on 4 padded id sequences, in inference mode (dropout off).

Keras 3.15's MultiHeadAttention.call clears the Keras mask of the tensors it is given
(backend.set_keras_mask(query, None)), so after the block's residual Add the mask is gone and
GlobalAveragePooling1D averages every position, padding included. lamina keeps the mask, so
its pooling averages the real positions (docs/ENGINE.md, "One deliberate difference"). The
script records both:

  out_kept   the output with the mask kept: MultiHeadAttention.call wrapped to put the masks
             back on its inputs after the call (lamina's semantics; the test requires 1e-5)
  out_keras  Keras's own output (padding averaged in; the test requires lamina to differ)

and checks here, in NumPy, that out_kept's pooling is the masked mean of layernorm_2's output
and out_keras's the plain mean, so the two semantics are established, not assumed.

Files (float32 .npy, C order; ids and labels stored as floats):
  ids [4, 24]      token ids, 0 = padding (lengths 24, 13, 5, 1)
  labels [4]       classes
  w_<i>            model.weights[i], seeded (gamma in [0.5, 1.5], others in [-0.5, 0.5])
  out_kept [4, 3], out_keras [4, 3]
  loss_kept [1]    sparse categorical cross-entropy of out_kept (mean over the 4 samples)
  params [1]       model.count_params()
"""
import functools
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras.src import backend  # noqa: E402

try:
    import keras_hub  # noqa: E402,F401
except ImportError as e:  # pragma: no cover
    sys.exit(f"keras_hub is needed ({e}); see examples/make_text_transformer_json.py")

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "fixtures", "text", "text_transformer_tiny.json")
OUT = os.path.join(HERE, "fixtures", "text_transformer")
RNG = np.random.default_rng(20261206)
FILES = []


def save(name, arr, desc):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    np.save(os.path.join(OUT, name + ".npy"), arr, allow_pickle=False)
    FILES.append((name + ".npy", list(arr.shape), desc))


def close(a, b, what, tol=1e-5):
    err = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
    if not err <= tol:
        sys.exit(f"cross-check failed: {what}: max err {err}")


KERAS_CALL = keras.layers.MultiHeadAttention.call


@functools.wraps(KERAS_CALL)
def call_keeping_masks(self, query, value, key=None, *args, **kwargs):
    """Keras's call, then the inputs' masks put back (the call clears them)."""
    saved = [(t, backend.get_keras_mask(t)) for t in (query, value, key) if t is not None]
    out = KERAS_CALL(self, query, value, key, *args, **kwargs)
    for t, m in saved:
        if m is not None:
            backend.set_keras_mask(t, m)
    return out


def run(model, ids, keep):
    """The output and layernorm_2's output (before the pooling)."""
    keras.layers.MultiHeadAttention.call = call_keeping_masks if keep else KERAS_CALL
    probe = keras.Model(model.input, [model.output, model.get_layer("layernorm_2").output])
    out, hidden = probe(ids, training=False)
    keras.layers.MultiHeadAttention.call = KERAS_CALL
    return np.asarray(out), np.asarray(hidden)


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(SPEC) as fh:
        model = keras.models.model_from_json(fh.read())
    lengths = [24, 13, 5, 1]
    ids = np.zeros((4, 24), np.int32)
    for b, n in enumerate(lengths):
        ids[b, :n] = RNG.integers(1, 40, n)
    labels = np.array([0, 2, 1, 2])
    for i, v in enumerate(model.weights):
        w = RNG.uniform(-0.5, 0.5, v.shape).astype(np.float32)
        if v.path.endswith("gamma"):
            w = RNG.uniform(0.5, 1.5, v.shape).astype(np.float32)
        v.assign(w)
        save(f"w_{i}", w, f"{v.path}, seeded")

    out_kept, hidden_kept = run(model, ids, keep=True)
    out_keras, hidden_keras = run(model, ids, keep=False)
    # The pooled vector is not saved; recompute the head from it to check the semantics.
    mask = (ids != 0).astype(np.float64)
    pooled_kept = (hidden_kept * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    pooled_keras = hidden_keras.mean(1)
    head = keras.Model(model.get_layer("dropout_1").input, model.output)
    close(head(pooled_kept.astype(np.float32), training=False), out_kept,
          "with the mask kept, the pooling is the masked mean")
    close(head(pooled_keras.astype(np.float32), training=False), out_keras,
          "Keras 3.15's own pooling is the plain mean (the mask was cleared)")
    if np.max(np.abs(out_kept - out_keras)) < 1e-3:
        sys.exit("the two semantics agree on these inputs: the fixture would not tell them apart")
    loss = float(np.mean(-np.log(out_kept[np.arange(4), labels].astype(np.float64))))

    save("ids", ids, f"token ids, 0 = padding; lengths {lengths}")
    save("labels", labels, "classes")
    save("out_kept", out_kept, "output with the attention's input mask kept (lamina's semantics)")
    save("out_keras", out_keras, "Keras 3.15's output (mask cleared by the attention)")
    save("loss_kept", [loss], "mean sparse categorical cross-entropy of out_kept")
    save("params", [model.count_params()], "model.count_params()")
    with open(os.path.join(OUT, "README.md"), "w") as fh:
        fh.write("# Transformer text classifier fixtures\n\n"
                 "Written by `tests/make_text_transformer_fixtures.py` (its docstring says how "
                 "and why), read by `tests/test_text_transformer.c`. Keras "
                 f"{keras.__version__}, keras_hub {keras_hub.__version__}.\n\n"
                 "| file | shape | what |\n|---|---|---|\n")
        for name, shape, desc in FILES:
            fh.write(f"| `{name}` | {shape} | {desc} |\n")
    print(f"{len(FILES)} files in {OUT}; out_kept vs out_keras differ by "
          f"{np.max(np.abs(out_kept - out_keras)):.3g}")


if __name__ == "__main__":
    main()
