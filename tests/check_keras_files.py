#!/usr/bin/env python3
"""Acceptance check for Keras files in lamina: for every model file of
tests/fixtures/keras_files/ (made by tests/make_keras_file_fixtures.py), Keras's own test
accuracy on the full Fashion-MNIST test set (10,000 images) against lamina's
(`lamina evaluate FILE --data fashion-mnist`); they must agree within 2 images.

    bench/.venv/bin/python tests/check_keras_files.py [--lamina build/lamina]
        [--data /usr/share/datasets/fashion-mnist]

Then, when the lamina command has `export`, every model exported by lamina
(`lamina export FILE --to OUT.keras`, lam_model_export_keras) is opened by
keras.saving.load_model and must predict Keras's outputs on the fixtures' 8 inputs within 1e-5.

Exit status 1 when a pair differs by more than 2 images or an export does not match. Not a
ctest test: it needs Python and TensorFlow.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import keras  # noqa: E402

from make_keras_file_fixtures import idx  # noqa: E402  (the same reader)

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "keras_files")
MODELS = ["cnn", "lstm", "resnet", "transformer"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lamina", default=os.path.join(HERE, "..", "build", "lamina"))
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = ap.parse_args()
    x = idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz")).astype("float32") / 255.0
    y = idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz")).astype("int64")
    worst = 0
    print(f"{'file':<20} {'Keras':>8} {'lamina':>8} {'images apart':>13}")
    for name in MODELS:
        for ext in (".keras", ".h5"):
            path = os.path.join(FIX, name + ext)
            model = keras.saving.load_model(path)
            shape = tuple(model.inputs[0].shape[1:])
            pred = model.predict(x.reshape((-1,) + shape), batch_size=256, verbose=0)
            keras_correct = int(np.sum(np.argmax(pred, 1) == y))
            out = subprocess.run([args.lamina, "evaluate", path, "--data", args.data, "--json"],
                                 check=True, capture_output=True, text=True).stdout
            lam_correct = int(round(json.loads(out.strip().splitlines()[-1])["accuracy"] *
                                    len(y)))
            apart = abs(keras_correct - lam_correct)
            worst = max(worst, apart)
            print(f"{name + ext:<20} {keras_correct / len(y):8.4f} {lam_correct / len(y):8.4f} "
                  f"{apart:13d}")
    print(f"largest difference: {worst} images of {len(y)}")
    return 1 if worst > 2 or check_exports(args.lamina) else 0


def check_exports(lamina):
    """1 when an exported .keras file does not predict as Keras did, else 0."""
    if subprocess.run([lamina, "export", "--help"], capture_output=True).returncode != 0:
        print("exports: skipped (this lamina command has no export)")
        return 0
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, x in [(m, "x8") for m in MODELS] + [("zoo", "zoo_x"), ("tiny", "tiny_x")]:
            for ext in (".keras", ".h5"):
                out = os.path.join(tmp, name + ext.replace(".", "_") + ".keras")
                subprocess.run([lamina, "export", os.path.join(FIX, name + ext), "--to", out],
                               check=True, capture_output=True)
                model = keras.saving.load_model(out)
                xs = np.load(os.path.join(FIX, x + ".npy"))
                pred = model.predict(xs.reshape((-1,) + tuple(model.inputs[0].shape[1:])),
                                     verbose=0)
                err = float(np.max(np.abs(pred - np.load(os.path.join(FIX, name + "_out.npy")))))
                print(f"export of {name + ext:<18} loaded by Keras: max |diff| {err:.3g}")
                bad += not err <= 1e-5
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
