#!/usr/bin/env python3
"""Writes Keras functional models as model.to_json() text into tests/fixtures/, for
tests/test_model_json.c, with what Keras says about each graph in a sidecar.

How to run (from the repository root; the venv is the one tests/make_fixtures.py uses):

    bench/.venv/bin/python tests/make_json_fixtures.py

Run it after tests/make_fixtures.py, which rewrites tests/fixtures/README.md from scratch:
this script then (re)writes its own section of that README, between the markers
"<!-- make_json_fixtures -->" and "<!-- /make_json_fixtures -->".

What it writes, each model from Keras 3 (`*_keras3.json`) and from tf-keras, the legacy
tf.keras 2 (`*_tfkeras2.json`):

  functional_residual_*  two inputs, a Dense shared by both, a residual Add, Concatenate,
                         BatchNormalization, LayerNormalization, two outputs.
  functional_bilstm_*    Bidirectional LSTM (concat), GRU (sum) and SimpleRNN (mul) on one
                         sequence, Concatenate, Dense.
  functional_shared_*    two images through one shared Conv2D / MaxPooling2D / Flatten /
                         Dense tower, Dropout, Activation, two heads: only layers every
                         lamina build has, so the test loads and runs it whole.
  functional_rnn_*       an LSTM shared by two sequences, GRU and SimpleRNN on its two calls,
                         two outputs (also only layers every build has).
  functional_layers_*    Conv1D, 1-D pooling, the global poolings, ZeroPadding2D,
                         UpSampling2D, Subtract, Multiply (three inputs), Average, Maximum,
                         Minimum, Reshape, Permute, RepeatVector; input_layers in another
                         order than the layers list (Keras lists the image input first).
  functional_expected.json  per file: Keras's count_params() (total, trainable,
                         non-trainable), the inputs and outputs, and per layer its class,
                         count_params(), and per call the tensors it reads
                         ([layer, node_index, tensor_index]) and its output shape.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import keras  # noqa: E402  (Keras 3)
import tf_keras  # noqa: E402  (Keras 2, legacy tf.keras)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def residual(K):
    L = K.layers
    a = K.Input((16,), name="features")
    b = K.Input((16,), name="context")
    shared = L.Dense(16, activation="relu", name="shared")
    ha, hb = shared(a), shared(b)
    r = L.Add(name="residual")([a, ha])
    c = L.Concatenate(name="concat")([r, hb])
    bn = L.BatchNormalization(name="bn")(c)
    ln = L.LayerNormalization(name="ln")(bn)
    o1 = L.Dense(4, activation="softmax", name="class_out")(ln)
    o2 = L.Dense(1, name="value_out")(hb)
    return K.Model([a, b], [o1, o2], name="residual")


def bilstm(K):
    L = K.layers
    x = K.Input((12, 6), name="tokens")
    h = L.Bidirectional(L.LSTM(8, return_sequences=True), name="bi_lstm")(x)
    g = L.Bidirectional(L.GRU(4), merge_mode="sum", name="bi_gru")(h)
    r = L.Bidirectional(L.SimpleRNN(5), merge_mode="mul", name="bi_rnn")(x)
    c = L.Concatenate(name="concat")([g, r])
    y = L.Dense(3, activation="softmax", name="probs")(c)
    return K.Model(x, y, name="bilstm")


def shared(K):
    L = K.layers
    left = K.Input((10, 10, 1), name="left")
    right = K.Input((10, 10, 1), name="right")
    conv = L.Conv2D(4, (3, 3), activation="relu", name="conv")
    pool = L.MaxPooling2D((2, 2), name="pool")
    flat = L.Flatten(name="flat")
    embed = L.Dense(8, activation="relu", name="embed")
    el = embed(flat(pool(conv(left))))
    er = embed(flat(pool(conv(right))))
    d = L.Dropout(0.25, name="drop")(el)
    hl = L.Dense(2, activation="softmax", name="head_left")(d)
    t = L.Activation("tanh", name="squash")(er)
    hr = L.Dense(1, activation="sigmoid", name="head_right")(t)
    return K.Model([left, right], [hl, hr], name="shared")


def rnn(K):
    L = K.layers
    a = K.Input((7, 3), name="seq_a")
    b = K.Input((7, 3), name="seq_b")
    enc = L.LSTM(5, return_sequences=True, name="enc")
    g = L.GRU(4, name="gru")(enc(a))
    r = L.SimpleRNN(3, name="rnn")(enc(b))
    y = L.Dense(2, activation="softmax", name="out")(r)
    return K.Model([a, b], [g, y], name="rnn")


def all_layers(K):
    L = K.layers
    x = K.Input((10, 4), name="seq")
    img = K.Input((8, 8, 3), name="img")
    h = L.Conv1D(6, 3, padding="same", name="c1")(x)
    h = L.MaxPooling1D(2, name="mp1")(h)
    h = L.AveragePooling1D(2, strides=1, name="ap1")(h)
    g1 = L.GlobalAveragePooling1D(name="gap1")(h)
    g2 = L.GlobalMaxPooling1D(name="gmp1")(h)
    z = L.ZeroPadding2D(((1, 2), (3, 4)), name="zp")(img)
    u = L.UpSampling2D((2, 3), name="up")(z)
    g3 = L.GlobalAveragePooling2D(name="gap2")(u)
    g4 = L.GlobalMaxPooling2D(name="gmp2")(u)
    s = L.Subtract(name="sub")([g3, g4])
    mu = L.Multiply(name="mul")([g3, g4, s])
    av = L.Average(name="avg")([g3, g4])
    mx = L.Maximum(name="max")([g3, g4])
    mn = L.Minimum(name="min")([mx, av])
    r = L.Reshape((3, 1), name="rs")(mn)
    p = L.Permute((2, 1), name="pm")(r)
    rv = L.RepeatVector(4, name="rv")(g1)
    return K.Model([x, img], [g2, mu, p, rv], name="layers")


MODELS = [("functional_residual", residual), ("functional_bilstm", bilstm),
          ("functional_shared", shared), ("functional_rnn", rnn),
          ("functional_layers", all_layers)]


def shape_list(shape):
    return [int(d) for d in list(shape)[1:]]


def call_shapes(layer, keras3):
    """The output shape of each call of layer, in call order (Keras's node_index)."""
    if keras3:
        return [shape_list(n.output_tensors[0].shape) for n in layer._inbound_nodes]
    return [shape_list(layer.get_output_shape_at(k)) for k in range(len(layer._inbound_nodes))]


def references(node):
    """The [layer, node_index, tensor_index] a JSON inbound node reads (both forms)."""
    if isinstance(node, dict):
        arg = node["args"][0]
        tensors = arg if isinstance(arg, list) else [arg]
        return [t["config"]["keras_history"] for t in tensors]
    return [entry[:3] for entry in node]


def describe(model, text, keras3):
    cfg = json.loads(text)["config"]
    by_name = {layer.name: layer for layer in model.layers}
    layers = []
    for entry in cfg["layers"]:
        layer = by_name[entry["config"]["name"]]
        calls = [references(n) for n in entry["inbound_nodes"]]
        shapes = call_shapes(layer, keras3)
        if entry["class_name"] == "InputLayer":
            calls, shapes = [], [shape_list(layer.output.shape)]
        else:
            assert len(shapes) == len(calls), (layer.name, shapes, calls)
        layers.append({"name": layer.name, "class": entry["class_name"],
                       "params": int(layer.count_params()),
                       "calls": [{"inputs": c, "shape": s} for c, s in zip(calls, shapes)]
                       if calls else [{"inputs": [], "shape": shapes[0]}]})
    trainable = sum(int(w.shape.num_elements() if hasattr(w.shape, "num_elements")
                        else _count(w.shape)) for w in model.trainable_weights)
    total = int(model.count_params())
    ins = cfg["input_layers"]
    outs = cfg["output_layers"]
    if ins and isinstance(ins[0], str):
        ins = [ins]
    if outs and isinstance(outs[0], str):
        outs = [outs]
    return {"count_params": total, "trainable_params": trainable,
            "non_trainable_params": total - trainable,
            "inputs": [i[0] for i in ins], "outputs": [o[:2] for o in outs],
            "output_shapes": [shape_list(t.shape) for t in model.outputs],
            "layers": layers}


def _count(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    for name, build in MODELS:
        for suffix, K, keras3 in (("keras3", keras, True), ("tfkeras2", tf_keras, False)):
            model = build(K)
            text = model.to_json()
            path = f"{name}_{suffix}.json"
            with open(os.path.join(OUT, path), "w") as fh:
                fh.write(text)
            expected[path] = describe(model, text, keras3)
            print(f"{path}: {expected[path]['count_params']} params "
                  f"({expected[path]['non_trainable_params']} non-trainable), "
                  f"{len(expected[path]['layers'])} layers")
    with open(os.path.join(OUT, "functional_expected.json"), "w") as fh:
        json.dump({"keras": keras.__version__, "tf_keras": tf_keras.__version__,
                   "models": expected}, fh, indent=1, sort_keys=True)
        fh.write("\n")
    write_readme()


def write_readme():
    begin, end = "<!-- make_json_fixtures -->", "<!-- /make_json_fixtures -->"
    rows = [begin, "",
            f"Written by `tests/make_json_fixtures.py` (Keras {keras.__version__}, tf-keras "
            f"{tf_keras.__version__}); functional models, read by `tests/test_model_json.c`.", "",
            "| file | shape | what |", "|---|---|---|"]
    what = {
        "functional_residual": "two inputs (features, context), Dense `shared` called on both, "
                               "Add residual, Concatenate, BatchNormalization, "
                               "LayerNormalization, two outputs",
        "functional_bilstm": "Bidirectional LSTM (concat) / GRU (sum) / SimpleRNN (mul), "
                             "Concatenate, Dense",
        "functional_shared": "two images through one shared Conv2D/MaxPooling2D/Flatten/Dense "
                             "tower, Dropout, Activation, two heads (layers every build has)",
        "functional_rnn": "LSTM `enc` shared by two sequences, GRU and SimpleRNN on its calls, "
                          "two outputs (layers every build has)",
        "functional_layers": "Conv1D, 1-D and global pooling, ZeroPadding2D, UpSampling2D, "
                             "Subtract, Multiply, Average, Maximum, Minimum, Reshape, Permute, "
                             "RepeatVector; input_layers ordered unlike the layers list",
    }
    for name, _ in MODELS:
        rows.append(f"| `{name}_keras3.json` | JSON | Keras 3 model.to_json(): {what[name]} |")
        rows.append(f"| `{name}_tfkeras2.json` | JSON | tf-keras 2 model.to_json() of the same "
                    f"model (nested-list inbound_nodes) |")
    rows.append("| `functional_expected.json` | JSON | per fixture file: Keras's count_params() "
                "(total, trainable, non-trainable), inputs, outputs, and per layer its class, "
                "count_params() and per call the [layer, node_index, tensor_index] it reads "
                "and its output shape |")
    rows += ["", end]
    path = os.path.join(OUT, "README.md")
    text = open(path).read() if os.path.exists(path) else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + "\n".join(rows) + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(rows) + "\n"
    with open(path, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    sys.exit(main())
