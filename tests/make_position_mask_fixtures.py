#!/usr/bin/env python3
"""Keras 3 / keras_hub parity fixtures for position embeddings and masks:
tests/fixtures/position_mask/.

How to run (from the repository root, with the venv of bench/setup_venv.sh and keras_hub
importable; keras_hub's own layers are used, not re-implementations):

    bench/.venv/bin/pip install keras-hub      # or: pip install --no-deps --target DIR
                                               # keras-hub regex kagglehub kagglesdk tqdm
                                               # tokenizers sentencepiece; PYTHONPATH=DIR
    bench/.venv/bin/python tests/make_position_mask_fixtures.py

What is written (float32 .npy, C order; integer ids and labels stored as floats):

  pe_*       keras_hub.layers.PositionEmbedding(sequence_length=7) on x (2, 5, 4), and the
             decoder-style call layer(x[:, :1], start_index=3) (row 3 for every sample).
  tp_*       keras_hub.layers.TokenAndPositionEmbedding(11, 8, 4, mask_zero=True) on ids (2, 6)
             with padding; its output and its Keras mask.
  a_*        model A: ids (6,) -> Embedding(20, 5, mask_zero) -> Dense(4, tanh)
             -> GlobalAveragePooling1D (masked mean) -> Dense(3, softmax); sparse CE,
             metrics accuracy, Adam(0.01). Weights before, the output, test_on_batch's loss and
             accuracy, and every weight after one train_on_batch step.
  b_*        model B, one prediction per position: ids (6,) -> TokenAndPositionEmbedding(20, 6,
             5, mask_zero) -> Dense(8, relu) -> LayerNormalization -> Dense(7, softmax); labels
             per position (4, 6). Loss and accuracy without and with per-position sample
             weights, and the weights after one Adam(0.01) step.
  c_*        model C, two id inputs a, b (4,) and two outputs: s = Add()([Ea(a), Eb(b)]) (both
             mask_zero: the OR of the masks), y1 = Dense(4, softmax)(Concatenate(axis=1)([s,
             En(b)])) (En without a mask: ones for its half), y2 = Dense(2, softmax)(
             Concatenate(axis=-1)([Ea(a), Eb(b)])) (OR of the masks). Outputs and the losses.
  *_keras3.json  Keras's own model.to_json() of model B and of a model with a
             PositionEmbedding added to an Embedding(mask_zero).

Every masked loss is cross-checked here against a NumPy float64 formula: padded positions
weigh 0 and the mean is over the real ones (Keras's apply_mask for sum_over_batch_size), the
masks being the ones this script states (so the Keras semantics lamina implements are
checked, not assumed). The script fails if Keras disagrees beyond 1e-5.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402
from keras.src.backend import get_keras_mask  # noqa: E402

try:
    import keras_hub  # noqa: E402
except ImportError as e:  # pragma: no cover
    sys.exit(f"keras_hub is needed ({e}); see the docstring for how to install it")

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "position_mask")
RNG = np.random.default_rng(20261207)
FILES = []


def save(name, arr, desc):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    np.save(os.path.join(OUT, name + ".npy"), arr, allow_pickle=False)
    FILES.append((name + ".npy", list(arr.shape), desc))


def close(a, b, what, tol=1e-5):
    err = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
    if not err <= tol:
        sys.exit(f"cross-check failed: {what}: max err {err}")


def randomize(model, prefix):
    """Seeded weights in [-0.6, 0.6], saved as <prefix>_w_<i> in model.weights order."""
    for i, v in enumerate(model.weights):
        w = RNG.uniform(-0.6, 0.6, v.shape).astype(np.float32)
        if v.path.endswith("gamma"):
            w = RNG.uniform(0.5, 1.5, v.shape).astype(np.float32)
        v.assign(w)
        save(f"{prefix}_w_{i}", w, f"{v.path}, seeded, set before anything runs")


def save_after(model, prefix):
    for i, v in enumerate(model.weights):
        save(f"{prefix}_after_{i}", v.numpy(), f"{v.path} after one Adam(0.01) train_on_batch")


def masked_ce(p, labels, mask, weights=None):
    """Keras's masked sparse CE, float64: sum(w m l) / sum(m)."""
    p = np.asarray(p, np.float64)
    l = -np.log(np.take_along_axis(p, labels[..., None], -1)[..., 0])
    w = np.ones_like(l) if weights is None else weights
    return float((l * w * mask).sum() / mask.sum())


def masked_acc(p, labels, mask, weights=None):
    w = mask if weights is None else mask * weights
    return float(((np.argmax(p, -1) == labels) * w).sum() / w.sum())


def position_embedding():
    x = RNG.uniform(-1, 1, (2, 5, 4)).astype(np.float32)
    layer = keras_hub.layers.PositionEmbedding(sequence_length=7)
    layer.build(x.shape)
    table = RNG.uniform(-1, 1, (7, 4)).astype(np.float32)
    layer.set_weights([table])
    y = np.asarray(layer(x))
    close(y, np.broadcast_to(table[:5], (2, 5, 4)), "PositionEmbedding: the first 5 rows")
    y3 = np.asarray(layer(x[:, :1], start_index=3))
    close(y3, np.broadcast_to(table[3:4], (2, 1, 4)), "PositionEmbedding at start_index 3")
    if get_keras_mask(layer(keras.layers.Embedding(9, 4, mask_zero=True)(
            np.array([[1, 0, 2, 0, 3]])))) is not None:
        sys.exit("PositionEmbedding kept a mask: lamina's LAM_MASK_NONE would be wrong")
    save("pe_x", x, "PositionEmbedding input (2, 5, 4): only its shape matters")
    save("pe_table", table, "PositionEmbedding(sequence_length=7) embeddings [7, 4]")
    save("pe_out", y, "layer(x): table[:5] broadcast to (2, 5, 4)")
    save("pe_out_start3", y3, "layer(x[:, :1], start_index=3): row 3, (2, 1, 4)")


def token_and_position():
    ids = np.array([[3, 7, 1, 0, 0, 0], [0, 5, 10, 0, 2, 9]])
    layer = keras_hub.layers.TokenAndPositionEmbedding(11, 8, 4, mask_zero=True)
    layer.build(ids.shape)
    paths = [v.path for v in layer.weights]
    want = ["token_and_position_embedding/token_embedding/embeddings",
            "token_and_position_embedding/position_embedding/embeddings"]
    if paths != want:
        sys.exit(f"TokenAndPositionEmbedding variables {paths}, expected {want}")
    tok = RNG.uniform(-1, 1, (11, 4)).astype(np.float32)
    pos = RNG.uniform(-1, 1, (8, 4)).astype(np.float32)
    layer.set_weights([tok, pos])
    y = layer(ids)
    mask = np.asarray(get_keras_mask(y)).astype(np.float32)
    close(np.asarray(y), tok[ids] + pos[None, :6], "TokenAndPositionEmbedding = token + position")
    close(mask, ids != 0, "TokenAndPositionEmbedding mask = ids != 0")
    save("tp_ids", ids, "ids (2, 6), 0 = padding (also inside a sequence)")
    save("tp_token", tok, "token_embedding/embeddings [11, 4]")
    save("tp_position", pos, "position_embedding/embeddings [8, 4]")
    save("tp_out", np.asarray(y), "output (2, 6, 4) = token[ids] + position[:6]")
    save("tp_mask", mask, "Keras mask of the output (2, 6)")


# No id but 0 repeats within a batch: Keras's TensorFlow backend hands Adam an Embedding's
# gradient as IndexedSlices and squares each slice before summing duplicates, so a repeated
# id's second moment is sum(g_i^2), not (sum g_i)^2 as in a dense update (lamina's).
# Padding's gradient is exactly 0 here, where both agree.
A_IDS = np.array([[3, 7, 1, 0, 0, 0], [5, 0, 2, 9, 0, 0], [11, 4, 6, 8, 12, 10],
                  [0, 0, 0, 0, 13, 14]])


def unique_ids(ids):
    nz = ids[ids != 0]
    if len(set(nz.tolist())) != nz.size:
        sys.exit("a nonzero id repeats in the batch: see the note above A_IDS")


def model_a():
    keras.utils.set_random_seed(1)
    inp = keras.Input((6,), name="ids")
    h = layers.Embedding(20, 5, mask_zero=True, name="emb")(inp)
    h = layers.Dense(4, activation="tanh", name="hidden")(h)
    h = layers.GlobalAveragePooling1D(name="pool")(h)
    out = layers.Dense(3, activation="softmax", name="cls")(h)
    model = keras.Model(inp, out, name="masked_pool")
    randomize(model, "a")
    unique_ids(A_IDS)
    labels = np.array([0, 2, 1, 2])
    y = np.asarray(model(A_IDS))
    # NumPy float64 forward: the masked mean of the hidden layer.
    w = [np.asarray(v, np.float64) for v in model.get_weights()]
    hid = np.tanh(w[0][A_IDS] @ w[1] + w[2])
    m = (A_IDS != 0).astype(np.float64)
    pooled = (hid * m[..., None]).sum(1) / m.sum(1, keepdims=True)
    z = pooled @ w[3] + w[4]
    e = np.exp(z - z.max(1, keepdims=True))
    close(y, e / e.sum(1, keepdims=True), "model A forward (masked mean)")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    ev = model.test_on_batch(A_IDS, labels, return_dict=True)
    p = e / e.sum(1, keepdims=True)
    close(ev["loss"], masked_ce(p, labels, np.ones(4)), "model A loss")
    save("a_ids", A_IDS, "model A ids (4, 6); 0 = padding (sample 3: leading padding)")
    save("a_labels", labels, "model A labels (4,)")
    save("a_out", y, "model A output (4, 3)")
    save("a_eval", [ev["loss"], ev["accuracy"]], "test_on_batch: loss, accuracy")
    logs = model.train_on_batch(A_IDS, labels, return_dict=True)
    close(logs["loss"], ev["loss"], "model A step loss (before the update)")
    save_after(model, "a")


B_IDS = np.array([[4, 9, 2, 0, 0, 0], [1, 15, 0, 6, 11, 0], [7, 3, 8, 5, 12, 10],
                  [0, 0, 13, 19, 0, 0]])


def model_b_layers(inp):
    h = keras_hub.layers.TokenAndPositionEmbedding(20, 6, 5, mask_zero=True, name="tokpos")(inp)
    h = layers.Dense(8, activation="relu", name="hidden")(h)
    h = layers.LayerNormalization(name="ln")(h)
    return layers.Dense(7, activation="softmax", name="cls")(h)


def model_b():
    keras.utils.set_random_seed(2)
    inp = keras.Input((6,), name="ids")
    model = keras.Model(inp, model_b_layers(inp), name="masked_sequence")
    randomize(model, "b")
    unique_ids(B_IDS)
    labels = RNG.integers(0, 7, (4, 6))
    sw = RNG.uniform(0.2, 2.0, (4, 6)).astype(np.float32)
    y = np.asarray(model(B_IDS))
    mask = (B_IDS != 0).astype(np.float64)
    # metrics= ignores sample weights in Keras; weighted_metrics= uses them (and the mask):
    # lamina's accuracy with target weights is the latter.
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    ev = model.test_on_batch(B_IDS, labels, return_dict=True)
    close(ev["loss"], masked_ce(y, labels, mask), "model B masked loss")
    close(ev["accuracy"], masked_acc(y, labels, mask), "model B masked accuracy")
    evw = model.test_on_batch(B_IDS, labels, sample_weight=sw, return_dict=True)
    print("model B, weighted:", evw)
    close(evw["loss"], masked_ce(y, labels, mask, sw), "model B masked, weighted loss")
    close(evw["accuracy"], masked_acc(y, labels, mask), "model B masked accuracy (metrics=)")
    close(evw["weighted_accuracy"], masked_acc(y, labels, mask, sw),
          "model B masked, weighted accuracy (weighted_metrics=)")
    unmasked = masked_ce(y, labels, np.ones_like(mask))
    if abs(unmasked - ev["loss"]) < 1e-3:
        sys.exit("model B: the mask does not change the loss; pick other data")
    save("b_ids", B_IDS, "model B ids (4, 6)")
    save("b_labels", labels, "model B labels per position (4, 6)")
    save("b_sample_weight", sw, "model B per-position sample weights (4, 6)")
    save("b_out", y, "model B output (4, 6, 7)")
    save("b_eval", [ev["loss"], ev["accuracy"], evw["loss"], evw["weighted_accuracy"]],
         "test_on_batch: loss, accuracy; then with sample_weight: loss, weighted_metrics' "
         "accuracy (Keras's metrics= accuracy ignores sample weights)")
    logs = model.train_on_batch(B_IDS, labels, return_dict=True)
    close(logs["loss"], ev["loss"], "model B step loss (before the update)")
    save_after(model, "b")
    with open(os.path.join(OUT, "masked_sequence_keras3.json"), "w") as fh:
        fh.write(model.to_json())
    save("b_params", [model.count_params()], "count_params() of model B")
    FILES.append(("masked_sequence_keras3.json", "JSON", "Keras model.to_json() of model B"))


def model_c():
    keras.utils.set_random_seed(3)
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    ea = layers.Embedding(9, 3, mask_zero=True, name="ea")(a)
    eb = layers.Embedding(9, 3, mask_zero=True, name="eb")(b)
    en = layers.Embedding(9, 3, name="en")(b)
    s = layers.Add(name="add")([ea, eb])
    c1 = layers.Concatenate(axis=1, name="join_time")([s, en])
    y1 = layers.Dense(4, activation="softmax", name="out1")(c1)
    c2 = layers.Concatenate(axis=-1, name="join_features")([ea, eb])
    y2 = layers.Dense(2, activation="softmax", name="out2")(c2)
    model = keras.Model([a, b], [y1, y2], name="merged_masks")
    randomize(model, "c")
    xa = np.array([[1, 2, 0, 0], [0, 3, 0, 5], [4, 0, 0, 0]])
    xb = np.array([[6, 0, 0, 0], [0, 0, 7, 8], [0, 0, 0, 0]])
    l1 = RNG.integers(0, 4, (3, 8))
    l2 = RNG.integers(0, 2, (3, 4))
    o1, o2 = [np.asarray(v) for v in model([xa, xb])]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    ev = model.test_on_batch([xa, xb], [l1, l2], return_dict=True)
    anyab = ((xa != 0) | (xb != 0)).astype(np.float64)
    m1 = np.concatenate([anyab, np.ones((3, 4))], axis=1)
    r1, r2 = masked_ce(o1, l1, m1), masked_ce(o2, l2, anyab)
    keys = sorted(ev)
    close(ev["loss"], r1 + r2, f"model C total loss ({ev})")
    save("c_a", xa, "model C input a (3, 4)")
    save("c_b", xb, "model C input b (3, 4); sample 2 all padding")
    save("c_labels1", l1, "labels of out1 (3, 8)")
    save("c_labels2", l2, "labels of out2 (3, 4)")
    save("c_out1", o1, "out1 (3, 8, 4): mask [a|b != 0, ones]")
    save("c_out2", o2, "out2 (3, 4, 2): mask a|b != 0")
    save("c_eval", [ev["loss"], r1, r2], f"total loss (Keras), out1 and out2 losses (NumPy; "
         f"Keras logged {keys})")


def json_position():
    inp = keras.Input((6,), dtype="int32", name="ids")
    x = layers.Embedding(12, 5, mask_zero=True, name="emb")(inp)
    p = keras_hub.layers.PositionEmbedding(6, name="pos")(x)
    y = layers.Dense(3, name="out")(layers.Add(name="add")([x, p]))
    model = keras.Model(inp, y, name="position_json")
    with open(os.path.join(OUT, "position_keras3.json"), "w") as fh:
        fh.write(model.to_json())
    save("pos_params", [model.count_params()], "count_params() of the position model")
    FILES.append(("position_keras3.json", "JSON", "Keras model.to_json() of Input(6, int32) -> "
                  "Embedding(12, 5, mask_zero) -> x + PositionEmbedding(6)(x) (Add) -> Dense(3)"))


D_IDS = np.array([[4, 9, 2, 0, 0, 0], [1, 15, 0, 6, 11, 0], [7, 3, 8, 5, 12, 10],
                  [0, 0, 13, 19, 0, 0]])


def model_d(causal):
    """Padding masks into MultiHeadAttention: TokenAndPositionEmbedding(mask_zero) ->
    MultiHeadAttention(x, x) (the query's and the value's masks, and with causal the causal
    mask too; its output keeps the query's mask) -> LayerNormalization -> per-position Dense
    softmax (model E: the mask reaches the loss) or GlobalAveragePooling1D (masked mean) ->
    Dense softmax (model D).

    No residual Add after the attention here: Keras 3.15's MultiHeadAttention.call clears the
    Keras mask of its input tensors (backend.set_keras_mask(query, None)), a side effect on x
    itself, so Add([x, mha(x, x)]) then merges an unmasked x and drops the mask. lamina keeps
    x's mask (docs/ENGINE.md, "Masks")."""
    prefix = "e" if causal else "d"
    keras.utils.set_random_seed(4 + causal)
    inp = keras.Input((6,), name="ids")
    h = keras_hub.layers.TokenAndPositionEmbedding(20, 6, 8, mask_zero=True, name="tokpos")(inp)
    a = layers.MultiHeadAttention(2, 4, name="att")(h, h, use_causal_mask=causal)
    h = layers.LayerNormalization(name="ln")(a)
    if not causal:
        h = layers.GlobalAveragePooling1D(name="pool")(h)
    out = layers.Dense(5, activation="softmax", name="cls")(h)
    model = keras.Model(inp, out, name=f"attention_padding_{prefix}")
    randomize(model, prefix)
    unique_ids(D_IDS)
    labels = RNG.integers(0, 5, (4, 6) if causal else (4,))
    y = np.asarray(model(D_IDS))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    ev = model.test_on_batch(D_IDS, labels, return_dict=True)
    if causal:
        mask = (D_IDS != 0).astype(np.float64)
        close(ev["loss"], masked_ce(y, labels, mask), f"model {prefix} masked loss")
        if abs(masked_ce(y, labels, np.ones_like(mask)) - ev["loss"]) < 1e-3:
            sys.exit(f"model {prefix}: the mask does not change the loss; pick other data")
    shape = list(y.shape)
    save(f"{prefix}_ids", D_IDS, f"model {prefix} ids (4, 6); 0 = padding")
    save(f"{prefix}_labels", labels, f"model {prefix} labels {list(labels.shape)}")
    save(f"{prefix}_out", y, f"model {prefix} output {shape}")
    save(f"{prefix}_eval", [ev["loss"], ev["accuracy"]], "test_on_batch: loss, accuracy")
    save(f"{prefix}_params", [model.count_params()], f"count_params() of model {prefix}")
    logs = model.train_on_batch(D_IDS, labels, return_dict=True)
    close(logs["loss"], ev["loss"], f"model {prefix} step loss (before the update)")
    save_after(model, prefix)
    name = f"attention_padding_{prefix}_keras3.json"
    with open(os.path.join(OUT, name), "w") as fh:
        fh.write(model.to_json())
    FILES.append((name, "JSON", f"Keras model.to_json() of model {prefix}"))


def main():
    os.makedirs(OUT, exist_ok=True)
    position_embedding()
    token_and_position()
    model_a()
    model_b()
    model_c()
    model_d(False)
    model_d(True)
    json_position()
    with open(os.path.join(OUT, "README.md"), "w") as fh:
        fh.write("# Position embedding and mask fixtures\n\nWritten by "
                 "`tests/make_position_mask_fixtures.py` (its docstring says what each model is "
                 "and how to run it); do not edit by hand.\n"
                 f"Produced with keras {keras.__version__}, keras_hub {keras_hub.__version__} "
                 f"(its own layers, installed with pip; not re-implemented), numpy "
                 f"{np.__version__}.\n\n"
                 "Two Keras details the data avoid or record: no id but 0 repeats within a "
                 "batch, because Keras's TensorFlow backend gives Adam an Embedding's gradient as "
                 "IndexedSlices and squares each slice before summing duplicates (a repeated "
                 "id's second moment is sum(g_i^2), not (sum g_i)^2 as in a dense update, "
                 "lamina's); and Keras's `metrics=[\"accuracy\"]` ignores sample weights, "
                 "so `b_eval` records `weighted_metrics`' accuracy, which lamina's weighted "
                 "accuracy is.\n\n"
                 "| file | shape | what |\n|---|---|---|\n")
        for name, shape, desc in FILES:
            fh.write(f"| `{name}` | {shape} | {desc} |\n")
    print(f"wrote {len(FILES)} files to {OUT}")


if __name__ == "__main__":
    main()
