#!/usr/bin/env python3
"""Checks that Keras 3 reads the JSON lamina writes (lam_model_to_json), and that it reads it
as the model lamina meant.

How to run (from the repository root, after building into build/):

    bench/.venv/bin/python tests/check_keras_json.py [build-dir]

It runs build/tests/test_model_json with LAMINA_JSON_OUT set to a temporary folder, which
makes the test also write what lamina writes there:

  lamina_functional_*.json  the Keras fixtures whose layers this build has, loaded and written
                            back by lamina (functional_shared: two inputs, a shared
                            Conv2D/MaxPooling2D/Flatten/Dense tower, Dropout, Activation, two
                            outputs; functional_rnn: a shared LSTM, GRU, SimpleRNN)
  lamina_two_tower.json     a model built in C (two inputs, a shared Dense, two outputs), saved
                            and loaded as a model file first
  lamina_sequential_cnn.json  a Sequential CNN (Conv2D, AveragePooling2D, Flatten, Dropout,
                            Dense)
  layer_<Class>.json        one layer object per layer kind of lamina.h, whether or not this
                            build has its op (keras_hub's layers are checked when keras_hub
                            is importable, skipped otherwise)

and build/tests/test_attention, which writes lamina_attention_{transformer,cross}.json: Keras's
fixtures/attention/*_keras3.json (a causal transformer block; a MultiHeadAttention with key
and attention_mask) read and written back by lamina.

For each model: keras.models.model_from_json must load it; for the re-written fixtures the
Keras model must have the same layers, classes, count_params() per layer and in total, the
same connections (every layer's inbound tensors) and the same output shapes as Keras's own
model loaded from the original Keras 3 fixture (the same model for a
tf.keras 2 one); for the C-built models, the expected parameter counts.
For each layer file: keras.layers.deserialize must build the layer, and its get_config() must
agree with what lamina wrote on every key lamina wrote. Exits 1 on any failure.
"""
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import keras  # noqa: E402

try:  # keras_hub's layers (PositionEmbedding, ...) deserialize once it is imported
    import keras_hub  # noqa: E402,F401
except ImportError:
    keras_hub = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


def connections(model):
    """{layer name: [[(in_layer, node_index), ...] per call]} from Keras's own config: the
    tensors of every positional argument, then those of the keyword arguments by name
    (MultiHeadAttention's key, attention_mask), with the other keyword arguments."""
    out = {}
    for layer in model.get_config()["layers"]:
        calls = []
        for node in layer.get("inbound_nodes", []):
            tensors = []
            for arg in node["args"]:
                tensors += arg if isinstance(arg, list) else [arg]
            kwargs = node.get("kwargs", {})
            for key in sorted(kwargs):
                v = kwargs[key]
                if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
                    tensors.append(v)
                else:
                    tensors.append((key, v))
            calls.append([tuple(t["config"]["keras_history"][:2]) if isinstance(t, dict) else t
                          for t in tensors])
        out[layer["config"]["name"]] = calls
    return out


def describe(model):
    return {
        "layers": sorted((l.name, type(l).__name__, int(l.count_params()))
                         for l in model.layers),
        "params": int(model.count_params()),
        "connections": connections(model),
        "outputs": [tuple(t.shape) for t in model.outputs],
        "inputs": [tuple(t.shape) for t in model.inputs],
    }


def same_values(written, got):
    if isinstance(written, dict) and isinstance(got, dict):
        # dtype: lamina writes "float32", Keras answers with its DTypePolicy.
        # A null lamina writes may be a key Keras accepts but does not echo
        # (Dense's activity_regularizer, SimpleRNN's seed).
        return all((k in got and same_values(v, got[k])) or (v is None and k not in got)
                   for k, v in written.items()
                   if k not in ("module", "registered_name", "dtype"))
    if isinstance(written, (list, tuple)) and isinstance(got, (list, tuple)):
        return len(written) == len(got) and all(same_values(a, b) for a, b in zip(written, got))
    if isinstance(written, float) or isinstance(got, float):
        return abs(float(written) - float(got)) <= 1e-7 * max(1.0, abs(float(written)))
    return written == got


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, LAMINA_JSON_OUT=out)
        for test in ("test_model_json", "test_attention"):
            exe = os.path.join(build, "tests", test)
            run = subprocess.run([exe], cwd=os.path.join(ROOT, "tests"), env=env,
                                 capture_output=True, text=True)
            check(run.returncode == 0, f"{exe} passes ({run.stdout.strip().splitlines()[-1:]})")
        files = sorted(os.listdir(out))
        check(any(f.startswith("lamina_functional_") for f in files),
              "lamina wrote at least one functional fixture back")
        for name in files:
            text = open(os.path.join(out, name)).read()
            if name.startswith("layer_"):
                written = json.loads(text)
                if str(written.get("registered_name")).startswith("keras_hub>") and not keras_hub:
                    print(f"skip  {name}: keras_hub is not installed")
                    continue
                try:
                    layer = keras.layers.deserialize(written)
                    ok = type(layer).__name__ == written["class_name"]
                    cfg = layer.get_config()
                    ok = ok and same_values(written["config"], cfg)
                    if not ok:
                        print(f"      wrote {written['config']}\n      Keras {cfg}")
                    check(ok, f"{name}: keras.layers.deserialize builds {written['class_name']} "
                              f"with lamina's settings")
                except Exception as e:  # noqa: BLE001
                    check(False, f"{name}: keras.layers.deserialize: {e}")
                continue
            try:
                model = keras.models.model_from_json(text)
            except Exception as e:  # noqa: BLE001
                check(False, f"{name}: keras.models.model_from_json: {e}")
                continue
            got = describe(model)
            if name.startswith("lamina_functional_") or name.startswith("lamina_attention_"):
                # Keras 3 cannot read tf.keras 2 JSON: compare with the Keras 3
                # fixture of the same model.
                original = name[len("lamina_"):].replace("_tfkeras2", "_keras3")
                if name.startswith("lamina_attention_"):
                    original = "attention/" + name[len("lamina_attention_"):].replace(
                        ".json", "_keras3.json")
                ref = keras.models.model_from_json(
                    open(os.path.join(ROOT, "tests", "fixtures", original)).read())
                want = describe(ref)
                for key in ("layers", "params", "connections", "outputs", "inputs"):
                    check(got[key] == want[key], f"{name}: {key} as Keras's own {original}"
                          + ("" if got[key] == want[key] else f": {got[key]} vs {want[key]}"))
            elif name == "lamina_two_tower.json":
                # Dense(5) on 6 inputs shared, Dense(3) and Dense(2) heads on 5.
                check(got["params"] == 6 * 5 + 5 + 5 * 3 + 3 + 5 * 2 + 2,
                      f"{name}: count_params {got['params']}")
                check(got["connections"]["tower"] == [[("a", 0)], [("b", 0)]],
                      f"{name}: tower is called on a then b: {got['connections'].get('tower')}")
                check(got["outputs"] == [(None, 3), (None, 2)], f"{name}: outputs {got['outputs']}")
            elif name == "lamina_sequential_cnn.json":
                check(type(model).__name__ == "Sequential", f"{name}: loads as Sequential")
                check(got["params"] == (3 * 3 * 1 * 4 + 4) + (3 * 3 * 4 * 3 + 3),
                      f"{name}: count_params {got['params']}")
                check(got["outputs"] == [(None, 3)], f"{name}: output {got['outputs']}")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
