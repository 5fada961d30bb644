#!/usr/bin/env python3
"""Checks lamina's ONNX export against onnxruntime: for each model, lamina trains it briefly
(one epoch on a small random data set, so biases and BatchNormalization's moving statistics
move off their initial values), the moving statistics are then scattered further, the model is
exported with lam_model_export_onnx, and lamina's predictions (lam_predict_raw) are compared
with onnxruntime's on the same inputs.

    bench/.venv/bin/python bench/check_onnx.py [--build build] [--opset 17] [--samples 64]

Needs onnxruntime in the venv (bench/setup_venv.sh). lamina is called through ctypes on
build/liblamina.so (load, export, predict) and through build/lamina (train). Prints one line per
model with the largest |lamina - onnxruntime| and exits 1 when one is over 1e-5.
"""
import argparse
import ctypes
import json
import os
import subprocess
import sys
import struct
import tempfile

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOL = 1e-5


class Lamina:
    """The few calls of liblamina this check needs."""

    def __init__(self, build):
        self.lib = ctypes.CDLL(os.path.join(build, "liblamina.so"))
        L = self.lib
        P = ctypes.c_void_p
        L.lam_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(P)]
        L.lam_model_free.argtypes = [P]
        L.lam_last_error.restype = ctypes.c_char_p
        L.lam_model_state.argtypes = [P]
        L.lam_model_state.restype = ctypes.POINTER(ctypes.c_float)
        L.lam_model_state_count.argtypes = [P]
        L.lam_model_state_count.restype = ctypes.c_int64
        L.lam_model_export_onnx.argtypes = [P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
        L.lam_predict_raw.argtypes = [P, ctypes.POINTER(ctypes.c_float), ctypes.c_int64,
                                      ctypes.POINTER(ctypes.c_float)]
        L.lam_model_output_size.argtypes = [P]
        L.lam_model_output_size.restype = ctypes.c_int64
        L.lam_model_save.argtypes = [P, ctypes.c_char_p]

    def check(self, status, what):
        if status != 0:
            raise RuntimeError(f"{what}: {self.lib.lam_last_error().decode()}")

    def load(self, path):
        m = ctypes.c_void_p()
        self.check(self.lib.lam_model_load(path.encode(), ctypes.byref(m)), path)
        return m

    def scatter_state(self, m, saved, rng):
        """BatchNormalization's moving means and variances and Normalization's statistics
        (lamina's non-trainable weights: mean then variance per layer, in the order of the
        saved file) away from what brief training leaves (near 0 and 1), so that the export
        must use them."""
        n = self.lib.lam_model_state_count(m)
        if n == 0:
            return
        st = np.ctypeslib.as_array(self.lib.lam_model_state(m), shape=(n,))
        at = 0
        for name, shape in state_tensors(saved):
            size = int(np.prod(shape))
            if name.endswith("mean"):
                st[at:at + size] = rng.normal(0.0, 0.3, size)
            else:
                st[at:at + size] = rng.uniform(0.5, 2.0, size)
            at += size
        assert at == n, f"{saved}: {at} moving statistics in the file, {n} in the model"

    def export(self, m, path, opset):
        o = ctypes.c_int(opset)
        self.check(self.lib.lam_model_export_onnx(m, path.encode(), ctypes.byref(o)), path)

    def save(self, m, path):
        self.check(self.lib.lam_model_save(m, path.encode()), path)

    def predict(self, m, x):
        n = x.shape[0]
        out = np.zeros((n, self.lib.lam_model_output_size(m)), np.float32)
        x = np.ascontiguousarray(x, np.float32)
        fp = ctypes.POINTER(ctypes.c_float)
        self.check(self.lib.lam_predict_raw(m, x.ctypes.data_as(fp), n, out.ctypes.data_as(fp)),
                   "predict")
        return out


def state_tensors(path):
    """(name, shape) of the non-trainable tensors of a saved model, in file order."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    state = [(v["data_offsets"][0], k, v["shape"]) for k, v in header.items()
             if k.endswith(("/moving_mean", "/moving_variance", "/mean", "/variance"))]
    return [(k, shape) for _, k, shape in sorted(state)]


def recurrent_spec(path, cls, **config):
    """The stacked-LSTM spec at path with every LSTM made a cls (GRU, SimpleRNN) and its
    config adjusted (keys the class lacks dropped, config added)."""
    spec = json.load(open(path))
    for layer in spec["config"]["layers"]:
        if layer["class_name"] == "LSTM":
            layer["class_name"] = cls
            c = layer["config"]
            if cls != "LSTM":
                c.pop("unit_forget_bias")
            if cls == "SimpleRNN":
                c.pop("recurrent_activation")
            c.update(config)
    return json.dumps(spec)


def random_ids(rng, n, T, vocab):
    """Token ids with padding (id 0) at the end of most rows, one row all padding."""
    x = rng.integers(1, vocab, size=(n, T)).astype(np.float32)
    for i in range(n):
        keep = int(rng.integers(1, T + 1)) if i % 4 else T
        x[i, keep:] = 0
    x[1, :] = 0
    return x


def train_briefly(build, spec_path, x, classes, out, rng, tmp):
    y = rng.integers(0, classes, size=x.shape[0]).astype(np.int64)
    np.save(os.path.join(tmp, "x.npy"), x)
    np.save(os.path.join(tmp, "y.npy"), y)
    cmd = [os.path.join(build, "lamina"), "train", "--model", spec_path,
           "--data", f"{tmp}/x.npy:{tmp}/y.npy", "--epochs", "1", "--batch-size", "16",
           "--verbose", "0", "--out", out]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def normalized_spec(path):
    """The spec with Keras's Normalization right after its input (statistics scattered later
    by scatter_state, as the preprocessing of `lamina train --standardize` leaves them)."""
    spec = json.load(open(path))
    norm = {"module": "keras.layers", "class_name": "Normalization",
            "config": {"name": "normalization", "axis": [-1], "invert": False,
                       "mean": None, "variance": None}, "registered_name": None}
    spec["config"]["layers"].insert(1, norm)
    return json.dumps(spec)


def models(rng, samples):
    """(name, spec path or JSON text, input maker, classes)."""
    ex = os.path.join(ROOT, "examples")
    img = lambda: rng.random((samples, 28, 28, 1), np.float32)
    seq = lambda: rng.random((samples, 28, 28), np.float32)
    lstm = os.path.join(ex, "seed_lstm.json")
    return [
        ("seed_cnn", os.path.join(ex, "seed_cnn.json"), img, 10),
        ("normalized_cnn", normalized_spec(os.path.join(ex, "seed_cnn.json")), img, 10),
        ("seed_lstm", lstm, seq, 10),
        ("gru", recurrent_spec(lstm, "GRU", reset_after=True), seq, 10),
        ("gru_reset_before", recurrent_spec(lstm, "GRU", reset_after=False), seq, 10),
        ("simple_rnn", recurrent_spec(lstm, "SimpleRNN"), seq, 10),
        ("lstm_backwards", recurrent_spec(lstm, "LSTM", go_backwards=True), seq, 10),
        ("residual_cnn", os.path.join(ex, "residual_cnn.json"), img, 10),
        ("text_transformer", os.path.join(ex, "text_transformer.json"),
         lambda: random_ids(rng, samples, 128, 2001), 17),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--keep", help="folder to keep the exported .onnx files in")
    a = ap.parse_args()
    lam = Lamina(a.build)
    rng = np.random.default_rng(17)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec, make_x, classes in models(rng, a.samples):
            if not spec.endswith(".json"):
                path = os.path.join(tmp, name + ".json")
                open(path, "w").write(spec)
                spec = path
            x = make_x()
            saved = os.path.join(tmp, name + ".safetensors")
            train_briefly(a.build, spec, x, classes, saved, rng, tmp)
            m = lam.load(saved)
            try:
                lam.scatter_state(m, saved, rng)
                onnx_path = os.path.join(a.keep or tmp, name + ".onnx")
                lam.export(m, onnx_path, a.opset)
                want = lam.predict(m, x)
            finally:
                lam.lib.lam_model_free(m)
            sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
            got = sess.run(None, {sess.get_inputs()[0].name: x})[0].reshape(want.shape)
            diff = float(np.max(np.abs(got - want)))
            worst = max(worst, diff)
            ops = sorted({n.op_type for n in _graph_nodes(onnx_path)})
            # A saturated softmax would hide differences: show how spread the outputs are.
            print(f"{name:17s} max|lamina - onnxruntime| = {diff:.3g}  (outputs "
                  f"{want.min():.3g}..{want.max():.3g}, {x.shape[0]} samples, opset "
                  f"{a.opset}; {', '.join(ops)})", flush=True)
    print(f"worst {worst:.3g} (tolerance {TOL:g})")
    return 0 if worst <= TOL else 1


def _graph_nodes(path):
    try:
        import onnx
    except ImportError:
        return []
    return onnx.load(path).graph.node


if __name__ == "__main__":
    sys.exit(main())
