#!/usr/bin/env python3
"""Keras 3 (TensorFlow backend, CPU) twin of `lamina compare --models spec:MODEL.json` on a
text classification split: the same model (the same Keras JSON, read by
keras.models.model_from_json), the same token ids and labels (written by
build/bench/textcls_to_npy from the same folder, tokenizer and split), the same training.

    PYTHONPATH=KERAS_HUB_DIR bench/.venv/bin/python bench/keras_textcls.py --data NPY_DIR \\
        --model examples/text_transformer.json --epochs 10 --batch-size 32 --threads 2

Training: compile(Adam(1e-3), sparse_categorical_crossentropy, accuracy), fit(batch_size,
epochs, shuffle=True, verbose=0): compare's settings (Adam's Keras defaults, the same batch
and epochs). keras_hub (TokenAndPositionEmbedding) must be importable: see
examples/make_text_transformer_json.py for installing it apart.

--keep-mask trains Keras with lamina's mask semantics: Keras 3.15's MultiHeadAttention.call
clears the Keras mask of its inputs, so after the block's residual Add the mask is gone and
GlobalAveragePooling1D averages the padding in; lamina keeps the mask (docs/ENGINE.md, "One
deliberate difference"). The option wraps the call to put the masks back, which makes the
Keras model compute what lamina's does (tests/test_text_transformer.c: 1.2e-7 apart).

Prints one JSON line: {"framework", "model", "accuracy" (test split), "train_seconds" (fit,
wall), "predict_us_per_sample" (model.predict on the test split, batch 32), "params",
"size_kb" (the saved .keras file), "train_samples", "test_samples", "epochs", "batch_size",
"seed", "threads", "keep_mask", "versions"}.
"""
import argparse
import functools
import json
import os
import sys
import tempfile
import time

p = argparse.ArgumentParser(description="Keras twin of lamina compare on textcls data")
p.add_argument("--data", required=True, help="folder of x_train.npy, y_train.npy, x_test.npy, "
               "y_test.npy (build/bench/textcls_to_npy)")
p.add_argument("--model", required=True, help="Keras JSON spec")
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("--seed", type=int, default=42)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--keep-mask", action="store_true",
               help="keep the attention's input mask (lamina's semantics), see above")
args = p.parse_args()

for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[k] = str(args.threads)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(args.threads)
tf.config.threading.set_inter_op_parallelism_threads(1)

import keras  # noqa: E402

try:
    import keras_hub  # noqa: E402,F401  (registers keras_hub>TokenAndPositionEmbedding)
except ImportError as e:  # pragma: no cover
    sys.exit(f"keras_hub is needed ({e}); see examples/make_text_transformer_json.py")


def keep_attention_masks():
    """MultiHeadAttention.call, then its inputs' masks put back (Keras 3.15 clears them)."""
    from keras.src import backend
    keras_call = keras.layers.MultiHeadAttention.call

    @functools.wraps(keras_call)
    def call(self, query, value, key=None, *rest, **kwargs):
        saved = [(t, backend.get_keras_mask(t)) for t in (query, value, key) if t is not None]
        out = keras_call(self, query, value, key, *rest, **kwargs)
        for t, m in saved:
            if m is not None:
                backend.set_keras_mask(t, m)
        return out

    keras.layers.MultiHeadAttention.call = call


def load(name):
    return np.load(os.path.join(args.data, name))


def main():
    xtr, ytr = load("x_train.npy"), load("y_train.npy")
    xte, yte = load("x_test.npy"), load("y_test.npy")
    keras.utils.set_random_seed(args.seed)
    if args.keep_mask:
        keep_attention_masks()
    with open(args.model) as fh:
        model = keras.models.model_from_json(fh.read())
    want = tuple(model.input_shape[1:])
    if xtr.shape[1:] != want:
        sys.exit(f"{args.data}: samples of shape {xtr.shape[1:]}, model {args.model} takes {want}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(xtr, ytr, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0)
    t1 = time.perf_counter()
    probs = model.predict(xte, batch_size=32, verbose=0)
    t2 = time.perf_counter()
    accuracy = float(np.mean(np.argmax(probs, axis=1) == yte))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.keras")
        model.save(path)
        size_kb = os.path.getsize(path) / 1024.0
    print(json.dumps({
        "framework": "keras", "model": os.path.splitext(os.path.basename(args.model))[0],
        "accuracy": round(accuracy, 4), "train_seconds": round(t1 - t0, 3),
        "predict_us_per_sample": round((t2 - t1) / len(xte) * 1e6, 1),
        "params": int(model.count_params()), "size_kb": round(size_kb, 1),
        "train_samples": int(len(xtr)), "test_samples": int(len(xte)), "epochs": args.epochs,
        "batch_size": args.batch_size, "seed": args.seed, "threads": args.threads,
        "keep_mask": args.keep_mask,
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__,
                     "keras_hub": keras_hub.__version__},
    }))


if __name__ == "__main__":
    main()
