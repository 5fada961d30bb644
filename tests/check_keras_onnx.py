#!/usr/bin/env python3
"""The Keras-trained fixture models (tests/fixtures/keras_files, made by
tests/make_keras_file_fixtures.py), read by lamina from their .keras and .h5 files and exported to
ONNX, run in onnxruntime: the largest difference from lamina's outputs and from Keras's own.

    bench/.venv/bin/python tests/check_keras_onnx.py [--build build]

Needs a lamina built with ONNX export and libhdf5/libzip, and onnxruntime (bench/setup_venv.sh).
Exits 1 when a difference passes 1e-5.
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import check_onnx  # noqa: E402  (its ctypes wrapper of liblamina)

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "keras_files")
TOL = 1e-5


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    lam = check_onnx.Lamina(ap.parse_args().build)
    worst = 0.0
    for name in ["cnn", "lstm", "resnet", "transformer", "zoo"]:
        x = np.load(os.path.join(FIXTURES, "zoo_x.npy" if name == "zoo" else "x8.npy"))
        x = x.astype(np.float32)
        keras_out = np.load(os.path.join(FIXTURES, f"{name}_out.npy"))
        for ext in ["keras", "h5"]:
            m = lam.load(os.path.join(FIXTURES, f"{name}.{ext}"))
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    path = os.path.join(tmp, "model.onnx")
                    lam.export(m, path, 17)
                    want = lam.predict(m, x)
                    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
                    inp = sess.get_inputs()[0]  # the model's own rank: (N, 28, 28) for the LSTM
                    shape = [x.shape[0]] + [int(d) for d in inp.shape[1:]]
                    got = sess.run(None, {inp.name: x.reshape(shape)})[0]
            finally:
                lam.lib.lam_model_free(m)
            d_lam = float(np.abs(got.reshape(want.shape) - want).max())
            d_keras = float(np.abs(got.reshape(keras_out.shape) - keras_out).max())
            worst = max(worst, d_lam, d_keras)
            print(f"{name}.{ext:<6} onnxruntime - lamina {d_lam:.2e}, onnxruntime - Keras "
                  f"{d_keras:.2e}")
    print(f"worst {worst:.3g} (tolerance {TOL:g})")
    return 0 if worst <= TOL else 1


if __name__ == "__main__":
    sys.exit(main())
