#!/usr/bin/env python3
"""Makes tests/fixtures/onnx/: onnxruntime's outputs for the ONNX files lamina exports in
tests/test_onnx_export.c (a CNN, a recurrent stack, a masked attention classifier).

    cmake --build build -j2
    bench/.venv/bin/python tests/make_onnx_fixtures.py [--build build]

The test program writes each model's ONNX file and inputs (`test_onnx_export --write DIR`;
weights and inputs come from fixed seeds); this script checks each file with onnx.checker when
the onnx package is there, runs it in onnxruntime and keeps NAME.onnx, NAME_x.npy (the inputs)
and NAME_y.npy (onnxruntime's outputs, float32). The C test exports the same models again,
checks that the export is NAME.onnx's graph with NAME.onnx's weights (within 1e-6), and compares
lamina's forward with NAME_y.npy within 1e-5.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "onnx")
NAMES = ["cnn", "rnn", "attention"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(os.path.dirname(HERE), "build"))
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([os.path.join(a.build, "tests", "test_onnx_export"), "--write", tmp],
                       check=True)
        for name in NAMES:
            path = os.path.join(tmp, name + ".onnx")
            try:
                import onnx
                onnx.checker.check_model(onnx.load(path), full_check=True)
            except ImportError:
                pass
            x = np.load(os.path.join(tmp, name + "_x.npy"))
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            y = sess.run(None, {sess.get_inputs()[0].name: x})[0].astype(np.float32)
            for f in (name + ".onnx", name + "_x.npy"):
                shutil.copy(os.path.join(tmp, f), os.path.join(OUT, f))
            np.save(os.path.join(OUT, name + "_y.npy"), y.reshape(x.shape[0], -1))
            print(f"{name}: {x.shape} -> {y.shape}, onnxruntime {ort.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
