#!/usr/bin/env python3
"""Regenerates tests/fixtures/attention/ from Keras 3: MultiHeadAttention.

How to run (from the repository root, with the venv of bench/setup_venv.sh):

    bench/.venv/bin/python tests/make_attention_fixtures.py

For each case: the inputs, the layer's weights (flat, in lamina's tensor
order, which is Keras's: query/kernel, query/bias, key/kernel, key/bias,
value/kernel, value/bias, attention_output/kernel, attention_output/bias),
Keras's inference output, and the gradients (tf.GradientTape) of the loss
sum(y * r), r a fixed random tensor, w.r.t. the inputs and the weights.
Every Keras output and gradient is checked here against NumPy in float64;
the script fails if they disagree. Also Keras's (and tf.keras 2's)
model.to_json() of a small causal transformer block and of a cross-attention
model with key and attention_mask, with their count_params().
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "attention")
RNG = np.random.default_rng(20261212)
FILES = []


def save(name, arr, desc):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    np.save(os.path.join(OUT, name + ".npy"), arr, allow_pickle=False)
    FILES.append((name + ".npy", list(arr.shape), desc))


def softmax_masked(s, keep):
    """Keras's masked softmax: masked scores become -1e9."""
    s = np.where(keep, s, -1e9)
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def numpy_mha(q_in, v_in, k_in, mask, causal, w, H, dk, dv, use_bias, empty_zero=False):
    """float64 reference of the layer's forward. empty_zero: a row that sees no key weighs
    nothing (Keras 3.15's Softmax path, taken when dropout > 0), else every key evenly."""
    q_in, v_in, k_in = (np.asarray(a, np.float64) for a in (q_in, v_in, k_in))
    w = [np.asarray(a, np.float64) for a in w]
    if use_bias:
        wq, bq, wk, bk, wv, bv, wo, bo = w
    else:
        (wq, wk, wv, wo), bq, bk, bv, bo = w, 0, 0, 0, 0
    q = np.einsum("btd,dhk->bthk", q_in, wq) + bq
    k = np.einsum("bsd,dhk->bshk", k_in, wk) + bk
    v = np.einsum("bsd,dhk->bshk", v_in, wv) + bv
    s = np.einsum("bthk,bshk->bhts", q, k) / np.sqrt(dk)
    B, T, S = q_in.shape[0], q_in.shape[1], v_in.shape[1]
    keep = np.ones((B, 1, T, S), bool)
    if mask is not None:
        keep &= (np.asarray(mask) != 0)[:, None]
    if causal:
        keep &= np.tril(np.ones((T, S), bool))[None, None]
    p = softmax_masked(s, keep)
    if empty_zero:
        p = np.where(keep.any(axis=-1, keepdims=True), p, 0.0)
    o = np.einsum("bhts,bshk->bthk", p, v)
    return np.einsum("bthk,hko->bto", o, wo) + bo


CASES = [
    # name, B, Tq, S, dq, dv_in, dk_in (None: key = value), mask, self, H, key_dim, value_dim,
    # output_shape, use_bias, causal, dropout, description
    dict(name="self", B=2, Tq=5, S=5, dq=8, dvin=8, dkin=None, mask=False, same=True, H=2,
         key_dim=4, value_dim=None, out=None, bias=True, causal=False, dropout=0.0,
         desc="self-attention mha(x, x), 2 heads of 4"),
    dict(name="causal", B=2, Tq=6, S=6, dq=8, dvin=8, dkin=None, mask=False, same=True, H=2,
         key_dim=3, value_dim=None, out=None, bias=True, causal=True, dropout=0.0,
         desc="self-attention mha(x, x, use_causal_mask=True), 2 heads of 3"),
    dict(name="cross", B=2, Tq=4, S=7, dq=6, dvin=3, dkin=5, mask=True, same=False, H=3,
         key_dim=4, value_dim=2, out=9, bias=False, causal=False, dropout=0.0,
         desc="mha(q, v, key=k, attention_mask=m), 3 heads, key_dim 4, value_dim 2, "
              "output_shape 9, use_bias False; m hides everything from query 2 of sample 1 "
              "(Keras spreads that row evenly over all 7 values)"),
    dict(name="dims", B=2, Tq=5, S=3, dq=6, dvin=4, dkin=None, mask=False, same=False, H=2,
         key_dim=3, value_dim=5, out=4, bias=True, causal=False, dropout=0.0,
         desc="mha(q, v), key = value, value_dim 5 != key_dim 3, output_shape 4"),
    dict(name="cross_dropout", B=2, Tq=4, S=7, dq=6, dvin=3, dkin=5, mask=True, same=False,
         H=3, key_dim=4, value_dim=2, out=9, bias=False, causal=False, dropout=0.1,
         desc="cross, but dropout 0.1 (inference): Keras 3.15 then takes its Softmax path, "
              "which gives the row that sees nothing no weight at all (its output is 0)"),
    dict(name="causal_mask", B=2, Tq=5, S=5, dq=4, dvin=4, dkin=None, mask=True, same=True,
         H=1, key_dim=6, value_dim=None, out=None, bias=True, causal=True, dropout=0.2,
         desc="mha(x, x, attention_mask=m, use_causal_mask=True) with dropout 0.2 "
              "(inference: no dropout); the masks AND, no row empty"),
]


def make_case(c):
    B, Tq, S = c["B"], c["Tq"], c["S"]
    q = RNG.normal(0, 1, size=(B, Tq, c["dq"])).astype(np.float32)
    v = q if c["same"] else RNG.normal(0, 1, size=(B, S, c["dvin"])).astype(np.float32)
    k = RNG.normal(0, 1, size=(B, S, c["dkin"])).astype(np.float32) if c["dkin"] else None
    mask = None
    if c["mask"]:
        mask = (RNG.uniform(size=(B, Tq, S)) > 0.35).astype(np.float32)
        mask[:, :, 0] = 1  # a visible key in every row ...
        if c["name"].startswith("cross"):
            mask[1, 2, :] = 0  # ... but one
    layer = keras.layers.MultiHeadAttention(
        num_heads=c["H"], key_dim=c["key_dim"], value_dim=c["value_dim"],
        output_shape=c["out"], use_bias=c["bias"], dropout=c["dropout"])
    kwargs = {}
    if k is not None:
        kwargs["key"] = k
    if mask is not None:
        kwargs["attention_mask"] = mask
    if c["causal"]:
        kwargs["use_causal_mask"] = True
    layer(q, v, **kwargs)  # builds
    weights = [RNG.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) for w in layer.weights]
    layer.set_weights(weights)
    names = [w.path.split("/", 1)[1] for w in layer.weights]
    expect = ["query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel",
              "value/bias", "attention_output/kernel", "attention_output/bias"]
    if not c["bias"]:
        expect = [e for e in expect if e.endswith("kernel")]
    assert names == expect, names

    y = np.asarray(layer(q, v, training=False, **kwargs))
    dv = c["value_dim"] or c["key_dim"]
    ref = numpy_mha(q, v, k if k is not None else v, mask, c["causal"], weights, c["H"],
                    c["key_dim"], dv, c["bias"], c["dropout"] > 0)
    assert np.allclose(y, ref, atol=1e-5), (c["name"], np.abs(y - ref).max())

    r = RNG.normal(0, 1, size=y.shape).astype(np.float32)
    tq, tv = tf.constant(q), tf.constant(v)
    tk = tf.constant(k) if k is not None else None
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(tq)
        tape.watch(tv)
        if tk is not None:
            tape.watch(tk)
            kwargs["key"] = tk
        out = layer(tq, tv if not c["same"] else tq, training=False, **kwargs)
        loss = tf.reduce_sum(out * r)
    dweights = [np.asarray(g) for g in tape.gradient(loss, layer.trainable_variables)]
    dq = np.asarray(tape.gradient(loss, tq))
    dvin = None if c["same"] else np.asarray(tape.gradient(loss, tv))
    dkin = np.asarray(tape.gradient(loss, tk)) if tk is not None else None

    # The same gradients by float64 central differences of the NumPy forward.
    def f(qq, vv, kk, ww):
        vv = qq if c["same"] else vv
        return float(np.sum(numpy_mha(qq, vv, kk if kk is not None else vv, mask, c["causal"],
                                      ww, c["H"], c["key_dim"], dv, c["bias"],
                                      c["dropout"] > 0) * r))

    def numgrad(arr, fn):
        arr = np.asarray(arr, np.float64).copy()
        g = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + 1e-5
            up = fn(arr)
            arr[i] = old - 1e-5
            g[i] = (up - fn(arr)) / 2e-5
            arr[i] = old
        return g

    w64 = [np.asarray(w, np.float64) for w in weights]
    assert np.allclose(dq, numgrad(q, lambda a: f(a, v, k, w64)), atol=2e-4), c["name"]
    if dvin is not None:
        assert np.allclose(dvin, numgrad(v, lambda a: f(q, a, k, w64)), atol=2e-4), c["name"]
    if dkin is not None:
        assert np.allclose(dkin, numgrad(k, lambda a: f(q, v, a, w64)), atol=2e-4), c["name"]
    for i, g in enumerate(dweights):
        def fw(a, i=i):
            ww = list(w64)
            ww[i] = a
            return f(q, v, k, ww)
        assert np.allclose(g, numgrad(w64[i], fw), atol=2e-4), (c["name"], names[i])

    n = c["name"]
    save(f"{n}_query", q,
         f"{c['desc']}: query [B, Tq, dq]" + (" (also the value)" if c["same"] else ""))
    if not c["same"]:
        save(f"{n}_value", v, "value [B, S, dv_in]")
    if k is not None:
        save(f"{n}_key", k, "key [B, S, dk_in]")
    if mask is not None:
        save(f"{n}_mask", mask, "attention_mask [B, Tq, S], 1 = attend")
    save(f"{n}_weights", np.concatenate([w.ravel() for w in weights]),
         "weights, flat, in the order " + ", ".join(names))
    save(f"{n}_out", y, "Keras output (training=False) [B, Tq, out]")
    save(f"{n}_r", r, "r: the loss is sum(y * r)")
    save(f"{n}_dquery", dq,
         "dL/dquery" + (" (= d/dx of mha(x, x): both uses)" if c["same"] else ""))
    if dvin is not None:
        save(f"{n}_dvalue", dvin, "dL/dvalue" + ("" if k is not None else " (it is also the key)"))
    if dkin is not None:
        save(f"{n}_dkey", dkin, "dL/dkey")
    save(f"{n}_dweights", np.concatenate([g.ravel() for g in dweights]),
         "dL/dweights, flat, in the weights' order")


def transformer(K, causal_kw):
    """Input (8, 16) -> causal self-attention, residual, LayerNorm, feed-forward, residual,
    LayerNorm -> Dense(5, softmax)."""
    x = K.Input((8, 16))
    a = K.layers.MultiHeadAttention(num_heads=2, key_dim=8, dropout=0.1)(x, x, **causal_kw)
    h = K.layers.LayerNormalization(epsilon=1e-6)(K.layers.Add()([x, a]))
    f = K.layers.Dense(32, activation="relu")(h)
    f = K.layers.Dense(16)(f)
    h = K.layers.LayerNormalization(epsilon=1e-6)(K.layers.Add()([h, f]))
    return K.Model(x, K.layers.Dense(5, activation="softmax")(h))


def cross(K):
    q, v = K.Input((4, 6)), K.Input((7, 3))
    k, m = K.Input((7, 5)), K.Input((4, 7))
    y = K.layers.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=2, output_shape=9,
                                    use_bias=False)(q, v, key=k, attention_mask=m)
    return K.Model([q, v, k, m], y)


def write_json(name, model, desc):
    with open(os.path.join(OUT, name), "w") as fh:
        fh.write(model.to_json())
    FILES.append((name, "JSON", desc))


def main():
    os.makedirs(OUT, exist_ok=True)
    for c in CASES:
        make_case(c)

    counts = []
    t = transformer(keras, {"use_causal_mask": True})
    write_json("transformer_keras3.json", t, "Keras 3 to_json() of a causal transformer block "
               "on Input(8, 16): MultiHeadAttention(2, 8, dropout 0.1)(x, x, "
               "use_causal_mask=True), Add, LayerNormalization, Dense(32, relu), Dense(16), Add, "
               "LayerNormalization, Dense(5, softmax)")
    counts.append(t.count_params())
    cm = cross(keras)
    write_json("cross_keras3.json", cm, "Keras 3 to_json() of MultiHeadAttention(3, 4, "
               "value_dim=2, output_shape=9, use_bias=False)(q, v, key=k, attention_mask=m) "
               "on inputs (4, 6), (7, 3), (7, 5), (4, 7)")
    counts.append(cm.count_params())

    import tf_keras  # noqa: E402  (tf.keras 2 writes the older JSON form)
    t2 = transformer(tf_keras, {"use_causal_mask": True})
    write_json("transformer_tfkeras2.json", t2, "tf-keras 2 to_json() of the same transformer")
    c2 = cross(tf_keras)
    write_json("cross_tfkeras2.json", c2, "tf-keras 2 to_json() of the same cross-attention")
    assert t2.count_params() == counts[0] and c2.count_params() == counts[1]
    # keras.io's transformer text classifier: MultiHeadAttention(2, 32) on 32 features.
    x = keras.Input((200, 32))
    io = keras.layers.MultiHeadAttention(num_heads=2, key_dim=32)
    io(x, x)
    assert io.count_params() == 8416, io.count_params()
    counts.append(io.count_params())
    save("param_counts", counts, "count_params(): transformer model, cross model, keras.io "
         "text classifier's MultiHeadAttention(2, 32) on 32 features (8,416)")

    with open(os.path.join(OUT, "README.md"), "w") as fh:
        fh.write("# MultiHeadAttention fixtures\n\n")
        fh.write("Written by `tests/make_attention_fixtures.py`; do not edit by hand.\n")
        fh.write(f"Produced with: numpy {np.__version__}, tensorflow {tf.__version__} (CPU), "
                 f"keras {keras.__version__} (backend {keras.backend.backend()}), "
                 f"tf-keras {tf_keras.__version__}.\n\n")
        fh.write("Arrays: `.npy`, NumPy format 1.0, dtype `<f4`, C order. Every Keras output "
                 "and gradient was checked in the script against NumPy in float64 (outputs "
                 "1e-5; gradients 2e-4 against central differences).\n\n")
        fh.write("| file | shape | what |\n|---|---|---|\n")
        for name, shape, desc in FILES:
            fh.write(f"| `{name}` | {shape} | {desc} |\n")
    print("wrote", len(FILES), "files to", OUT)


if __name__ == "__main__":
    main()
