#!/usr/bin/env python3
"""Keras 3 model files for tests/test_keras_files.c: tests/fixtures/keras_files/.

How to run (from the repository root; Fashion-MNIST from Debian's dataset-fashion-mnist):

    bench/.venv/bin/python tests/make_keras_file_fixtures.py [--data /usr/share/datasets/fashion-mnist]

Each model is trained by Keras itself, briefly (1 epoch on the first 4,000 training images,
Adam, batch 32, seeded), so that the files hold trained weights, BatchNormalization moving
statistics that are not their initial values, and Adam's state; then saved both ways:

  <name>.keras   model.save("<name>.keras")  (Keras 3: zip of config.json, metadata.json,
                                              model.weights.h5)
  <name>.h5      model.save("<name>.h5")     (legacy HDF5: model_config, model_weights,
                                              optimizer_weights)
  <name>_out.npy model.predict(x8): Keras's outputs on the 8 inputs of x8.npy, float32

Models (small on purpose, so the files stay small):
  cnn          Sequential: Conv2D 8 / MaxPooling2D / Conv2D 16 / MaxPooling2D / Flatten /
               Dense 32 relu / Dense 10 softmax
  lstm         Sequential: rows as time steps, LSTM 16 (sequences) / LSTM 16 / Dense 10
  resnet       functional residual CNN: Conv2D / BatchNormalization / ReLU / Conv2D /
               BatchNormalization / Add (skip) / ReLU / MaxPooling2D / Flatten / Dense 10
  transformer  functional: rows as tokens, Conv1D 32 embedding / MultiHeadAttention (2 heads,
               key_dim 16) / Add / LayerNormalization / Dense 32 relu / Dense 32 / Add /
               LayerNormalization / GlobalAveragePooling1D / Dense 10 softmax
  zoo          functional, outputs only (random ids, 3 classes): Embedding / Bidirectional(GRU) /
               GRU(reset_after=False) / SimpleRNN / LayerNormalization / Conv1D /
               GlobalMaxPooling1D / Dense; its inputs are zoo_x.npy (ids as floats)

x8.npy is the first 8 Fashion-MNIST test images, float32 [8, 28, 28, 1] in [0, 1].

Broken files, for the refusal tests (from `tiny`, Dense 3 / BatchNormalization / Dense 2, whose
good files are tiny.keras and tiny.h5):
  tiny_missing_var.keras   layers/dense_1/vars/1 deleted (Dense 2's bias)
  tiny_renamed_group.keras layers/batch_normalization renamed layers/batch_norm
  tiny_bad_shape.keras     layers/dense/vars/0 of shape (4, 5) instead of (4, 3)
  tiny_missing_var.h5      model_weights/dense_1/tiny/dense_1/bias deleted
  tiny_bad_shape.h5        model_weights/dense/tiny/dense/kernel of shape (4, 5)
"""
import argparse
import gzip
import io
import os
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "keras_files")


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion(d, part):
    x = idx(os.path.join(d, f"{part}-images-idx3-ubyte.gz")).astype("float32") / 255.0
    y = idx(os.path.join(d, f"{part}-labels-idx1-ubyte.gz")).astype("int32")
    return x[..., None], y


def cnn():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(32, activation="relu"),
        layers.Dense(10, activation="softmax")], name="cnn")


def lstm():
    return keras.Sequential([
        keras.Input((28, 28)), layers.LSTM(16, return_sequences=True), layers.LSTM(16),
        layers.Dense(10, activation="softmax")], name="lstm")


def resnet():
    i = keras.Input((28, 28, 1))
    x = layers.Conv2D(8, 3, padding="same")(i)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    y = layers.Conv2D(8, 3, padding="same")(x)
    y = layers.BatchNormalization()(y)
    x = layers.Add()([x, y])
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(4)(x)
    x = layers.Flatten()(x)
    return keras.Model(i, layers.Dense(10, activation="softmax")(x), name="resnet")


def transformer():
    i = keras.Input((28, 28))
    x = layers.Conv1D(32, 3, padding="same")(i)
    a = layers.MultiHeadAttention(num_heads=2, key_dim=16)(x, x)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, a]))
    f = layers.Dense(32, activation="relu")(x)
    f = layers.Dense(32)(f)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, f]))
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(i, layers.Dense(10, activation="softmax")(x), name="transformer")


def zoo():
    i = keras.Input((12,), dtype="int32")
    x = layers.Embedding(20, 8)(i)
    x = layers.Bidirectional(layers.GRU(6, return_sequences=True))(x)
    x = layers.GRU(5, reset_after=False, return_sequences=True)(x)
    x = layers.SimpleRNN(5, return_sequences=True)(x)
    x = layers.LayerNormalization()(x)
    x = layers.Conv1D(4, 3)(x)
    x = layers.GlobalMaxPooling1D()(x)
    return keras.Model(i, layers.Dense(3, activation="softmax")(x), name="zoo")


def tiny():
    return keras.Sequential([
        keras.Input((4,)), layers.Dense(3, activation="relu"), layers.BatchNormalization(),
        layers.Dense(2, activation="softmax")], name="tiny")


def train_and_save(name, build, x, y, x8, shape):
    keras.backend.clear_session()  # layer names from dense, not dense_8
    model = build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x.reshape((-1,) + shape), y, epochs=1, batch_size=32, verbose=0, shuffle=True)
    model.save(os.path.join(OUT, name + ".keras"))
    model.save(os.path.join(OUT, name + ".h5"))
    out = model.predict(x8.reshape((-1,) + shape), verbose=0).astype("<f4")
    np.save(os.path.join(OUT, name + "_out.npy"), out, allow_pickle=False)
    return model


def rewrite_keras(src, dst, edit):
    """Copies the .keras archive src to dst with edit(h5py.File) applied to its weights."""
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "r+") as f:
        edit(f)
    members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(dst, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)


def rewrite_h5(src, dst, edit):
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data)
    with h5py.File(dst, "r+") as f:
        edit(f)


def find(f, path):
    """The dataset whose path ends with path (legacy .h5 puts Sequential weights under
    model_weights/<layer>/<model name>/<layer>/...)."""
    if path in f:
        return path
    hits = []
    f.visit(lambda n: hits.append(n) if n.endswith("/" + path.split("/", 1)[1]) and
            n.startswith(path.split("/", 1)[0]) else None)
    return hits[0]


def reshape_var(path, shape):
    def edit(f):
        p = find(f, path)
        del f[p]
        f.create_dataset(p, data=np.zeros(shape, "float32"))
    return edit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    keras.utils.set_random_seed(17)
    xtr, ytr = fashion(args.data, "train")
    xte, yte = fashion(args.data, "t10k")
    x, y = xtr[:4000], ytr[:4000]
    x8 = np.ascontiguousarray(xte[:8], dtype="<f4")
    np.save(os.path.join(OUT, "x8.npy"), x8, allow_pickle=False)
    for name, build, shape in [("cnn", cnn, (28, 28, 1)), ("lstm", lstm, (28, 28)),
                               ("resnet", resnet, (28, 28, 1)),
                               ("transformer", transformer, (28, 28))]:
        m = train_and_save(name, build, x, y, x8, shape)
        acc = float(np.mean(np.argmax(m.predict(xte.reshape((-1,) + shape), verbose=0,
                                                batch_size=256), 1) == yte))
        print(f"{name}: {m.count_params()} parameters, Keras test accuracy {acc:.4f}")

    rng = np.random.default_rng(17)
    ids = rng.integers(0, 20, (256, 12)).astype("int32")
    zoo_x = np.ascontiguousarray(ids[:8], dtype="<f4")
    np.save(os.path.join(OUT, "zoo_x.npy"), zoo_x, allow_pickle=False)
    train_and_save("zoo", zoo, ids, ids[:, 0] % 3, ids[:8], (12,))

    tx = rng.normal(size=(64, 4)).astype("float32")
    train_and_save("tiny", tiny, tx, (tx[:, 0] > 0).astype("int32"), tx[:8], (4,))
    np.save(os.path.join(OUT, "tiny_x.npy"), np.ascontiguousarray(tx[:8], "<f4"),
            allow_pickle=False)
    k, h = os.path.join(OUT, "tiny.keras"), os.path.join(OUT, "tiny.h5")

    def delete(path):
        def edit(f):
            del f[find(f, path)]
        return edit

    def rename(a, b):
        def edit(f):
            f.move(a, b)
        return edit

    rewrite_keras(k, os.path.join(OUT, "tiny_missing_var.keras"), delete("layers/dense_1/vars/1"))
    rewrite_keras(k, os.path.join(OUT, "tiny_renamed_group.keras"),
                  rename("layers/batch_normalization", "layers/batch_norm"))
    rewrite_keras(k, os.path.join(OUT, "tiny_bad_shape.keras"),
                  reshape_var("layers/dense/vars/0", (4, 5)))
    rewrite_h5(h, os.path.join(OUT, "tiny_missing_var.h5"),
               delete("model_weights/dense_1/bias"))
    rewrite_h5(h, os.path.join(OUT, "tiny_bad_shape.h5"),
               reshape_var("model_weights/dense/kernel", (4, 5)))
    print("keras", keras.__version__, "h5py", h5py.__version__, "numpy", np.__version__)


if __name__ == "__main__":
    sys.exit(main())
