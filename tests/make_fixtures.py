#!/usr/bin/env python3
"""Regenerates the reference fixtures in tests/fixtures/ from Keras (and tf-keras 2).

How to run (from the repository root):

    bash bench/setup_venv.sh                       # once: bench/.venv with numpy, tensorflow-cpu
                                                   # (Keras 3), tf-keras (Keras 2), Debian torch
    bench/.venv/bin/python tests/make_fixtures.py  # rewrites tests/fixtures/*.npy, *.json, README.md

What it writes (all arrays: NumPy .npy format v1.0, dtype '<f4', C order, so a C test can read
them with a ~30-line loader: magic "\\x93NUMPY", version 1.0, uint16 header length, a Python-dict
header, then raw little-endian float32 data):

  lstm_*    Keras 3 LSTM(5) on x [2,4,3]: weights, outputs (return_sequences True/False,
            go_backwards). Gate order along the 4u axis: i, f, c, o.
  gru_*     Keras 3 GRU(5, reset_after=True), bias [2,15] = (input bias, recurrent bias);
            gate order along the 3u axis: z, r, h.
  rnn_*     Keras 3 SimpleRNN(5), tanh.
  cnn_*     Keras 3 Conv2D(4,(3,3),strides=2,padding='same',relu) -> MaxPooling2D((2,2)) ->
            Flatten -> Dense(3) on x [2,8,7,2] (NHWC). H=8 gives an odd 'same' pad total (the extra
            row goes to the bottom), W=7 an even one.
  adam_*    three Keras 3 Adam steps (learning_rate 1e-3, other arguments default) from adam_p0
            with gradients adam_grads[t]; adam_params[t] = parameters after step t+1.
  seed_*_keras3.json / seed_*_tfkeras2.json   model.to_json() of the seed CNN and seed LSTM from
            Keras 3 and from tf-keras (Keras 2, the legacy tf.keras).
  README.md  the list of files with shapes and the library versions that produced them.

Every recurrent / conv / Adam result is also cross-checked here against a plain NumPy
implementation of the documented semantics; the script fails if they disagree.
Inputs are drawn from a fixed seed, so rerunning with the same library versions reproduces the
same bytes (up to float rounding differences between Keras versions).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
RNG = np.random.default_rng(20240607)
FILES = []  # (name, shape, description)


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype="<f4"))


def save(name, arr, desc):
    arr = f32(arr)
    path = os.path.join(OUT, name + ".npy")
    np.save(path, arr, allow_pickle=False)
    # np.save writes format 1.0 for small headers; make sure of it.
    with open(path, "rb") as fh:
        head = fh.read(8)
    assert head[:6] == b"\x93NUMPY" and head[6] == 1 and head[7] == 0, name
    FILES.append((name + ".npy", list(arr.shape), desc))
    return arr


def save_json(name, text, desc):
    with open(os.path.join(OUT, name), "w") as fh:
        fh.write(text)
        fh.write("\n")
    FILES.append((name, None, desc))


def close(a, b, tol=1e-5, what=""):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    err = np.max(np.abs(a - b)) if a.size else 0.0
    if a.shape != b.shape or not err <= tol:
        sys.exit(f"cross-check failed: {what}: shape {a.shape} vs {b.shape}, max err {err}")


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- NumPy references
def np_lstm(x, W, U, b, go_backwards=False):
    n, T, _ = x.shape
    u = U.shape[0]
    h = np.zeros((n, u))
    c = np.zeros((n, u))
    outs = []
    steps = range(T - 1, -1, -1) if go_backwards else range(T)
    for t in steps:
        z = x[:, t] @ W + h @ U + b
        i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1)


def np_gru(x, W, U, b):
    # Keras reset_after=True: b[0] input bias, b[1] recurrent bias; gates z, r, h.
    n, T, _ = x.shape
    u = U.shape[0]
    h = np.zeros((n, u))
    outs = []
    for t in range(T):
        xz = x[:, t] @ W + b[0]
        hz = h @ U + b[1]
        z = sig(xz[:, :u] + hz[:, :u])
        r = sig(xz[:, u:2 * u] + hz[:, u:2 * u])
        hh = np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
        h = z * h + (1 - z) * hh
        outs.append(h)
    return np.stack(outs, 1)


def np_rnn(x, W, U, b):
    n, T, _ = x.shape
    h = np.zeros((n, U.shape[0]))
    outs = []
    for t in range(T):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        outs.append(h)
    return np.stack(outs, 1)


def np_conv_same(x, K, b, stride):
    n, H, W_, C = x.shape
    kh, kw, _, co = K.shape
    oh, ow = -(-H // stride), -(-W_ // stride)
    ph = max((oh - 1) * stride + kh - H, 0)
    pw = max((ow - 1) * stride + kw - W_, 0)
    xp = np.zeros((n, H + ph, W_ + pw, C))
    xp[:, ph // 2:ph // 2 + H, pw // 2:pw // 2 + W_] = x  # extra pixel bottom/right
    y = np.zeros((n, oh, ow, co))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            y[:, i, j] = np.tensordot(patch, K, axes=([1, 2, 3], [0, 1, 2]))
    return y + b


def np_maxpool2(x):
    n, H, W_, C = x.shape
    oh, ow = (H - 2) // 2 + 1, (W_ - 2) // 2 + 1
    y = np.zeros((n, oh, ow, C))
    for i in range(oh):
        for j in range(ow):
            y[:, i, j] = x[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max(axis=(1, 2))
    return y


# ---------------------------------------------------------------- fixtures
def make_recurrent(keras):
    x = f32(RNG.normal(0, 1, (2, 4, 3)))

    # LSTM
    W = f32(RNG.uniform(-0.6, 0.6, (3, 20)))
    U = f32(RNG.uniform(-0.6, 0.6, (5, 20)))
    b = f32(RNG.uniform(-0.5, 0.5, (20,)))

    def lstm(**kw):
        layer = keras.layers.LSTM(5, **kw)
        layer.build((2, 4, 3))
        layer.set_weights([W, U, b])
        return np.asarray(layer(x))

    seq = lstm(return_sequences=True)
    last = lstm(return_sequences=False)
    back_seq = lstm(return_sequences=True, go_backwards=True)
    back_last = lstm(return_sequences=False, go_backwards=True)
    ref = np_lstm(x.astype(np.float64), W, U, b)
    refb = np_lstm(x.astype(np.float64), W, U, b, go_backwards=True)
    close(seq, ref, what="lstm seq")
    close(last, ref[:, -1], what="lstm last")
    close(back_seq, refb, what="lstm go_backwards seq (processing order)")
    close(back_last, refb[:, -1], what="lstm go_backwards last")
    save("lstm_x", x, "input x (batch 2, timesteps 4, features 3); shared by lstm_*, gru_*, rnn_*")
    save("lstm_kernel", W, "LSTM kernel [in, 4u], gates i,f,c,o")
    save("lstm_recurrent_kernel", U, "LSTM recurrent_kernel [u, 4u]")
    save("lstm_bias", b, "LSTM bias [4u]")
    save("lstm_out_seq", seq, "LSTM(5, return_sequences=True) output")
    save("lstm_out_last", last, "LSTM(5, return_sequences=False) output (= last h)")
    save("lstm_out_backwards_seq", back_seq,
         "LSTM(5, return_sequences=True, go_backwards=True) output; Keras returns it in "
         "processing order: [:,0] is the step over x[:,3], [:,3] the step over x[:,0]")
    save("lstm_out_backwards_last", back_last,
         "LSTM(5, return_sequences=False, go_backwards=True) output (h after consuming x[:,0])")

    # GRU, reset_after=True
    Wg = f32(RNG.uniform(-0.6, 0.6, (3, 15)))
    Ug = f32(RNG.uniform(-0.6, 0.6, (5, 15)))
    bg = f32(RNG.uniform(-0.5, 0.5, (2, 15)))
    layer = keras.layers.GRU(5, reset_after=True, return_sequences=True)
    layer.build((2, 4, 3))
    layer.set_weights([Wg, Ug, bg])
    gseq = np.asarray(layer(x))
    close(gseq, np_gru(x.astype(np.float64), Wg, Ug, bg), what="gru")
    save("gru_kernel", Wg, "GRU kernel [in, 3u], gates z,r,h")
    save("gru_recurrent_kernel", Ug, "GRU recurrent_kernel [u, 3u]")
    save("gru_bias", bg, "GRU bias [2, 3u]: row 0 input bias, row 1 recurrent bias (reset_after=True)")
    save("gru_out_seq", gseq, "GRU(5, reset_after=True, return_sequences=True) output on lstm_x; "
         "h = z*h_prev + (1-z)*tanh(xW_h + b0_h + r*(h_prev U_h + b1_h))")

    # SimpleRNN
    Wr = f32(RNG.uniform(-0.6, 0.6, (3, 5)))
    Ur = f32(RNG.uniform(-0.6, 0.6, (5, 5)))
    br = f32(RNG.uniform(-0.5, 0.5, (5,)))
    layer = keras.layers.SimpleRNN(5, return_sequences=True)
    layer.build((2, 4, 3))
    layer.set_weights([Wr, Ur, br])
    rseq = np.asarray(layer(x))
    close(rseq, np_rnn(x.astype(np.float64), Wr, Ur, br), what="simplernn")
    save("rnn_kernel", Wr, "SimpleRNN kernel [in, u]")
    save("rnn_recurrent_kernel", Ur, "SimpleRNN recurrent_kernel [u, u]")
    save("rnn_bias", br, "SimpleRNN bias [u]")
    save("rnn_out_seq", rseq, "SimpleRNN(5, tanh, return_sequences=True) output on lstm_x")


def make_cnn(keras):
    x = f32(RNG.normal(0, 1, (2, 8, 7, 2)))
    K = f32(RNG.uniform(-0.5, 0.5, (3, 3, 2, 4)))
    kb = f32(RNG.uniform(-0.2, 0.2, (4,)))
    D = f32(RNG.uniform(-0.5, 0.5, (16, 3)))
    db = f32(RNG.uniform(-0.2, 0.2, (3,)))
    conv = keras.layers.Conv2D(4, (3, 3), strides=2, padding="same", activation="relu")
    pool = keras.layers.MaxPooling2D((2, 2))
    flat = keras.layers.Flatten()
    dense = keras.layers.Dense(3)
    inp = keras.Input((8, 7, 2))
    model = keras.Model(inp, dense(flat(pool(conv(inp)))))
    conv.set_weights([K, kb])
    dense.set_weights([D, db])
    c = np.asarray(conv(x))
    p = np.asarray(pool(c))
    y = np.asarray(model(x))
    rc = np.maximum(np_conv_same(x.astype(np.float64), K, kb, 2), 0)
    rp = np_maxpool2(rc)
    ry = rp.reshape(2, -1) @ D + db
    close(c, rc, what="conv same stride 2")
    close(p, rp, what="maxpool")
    close(y, ry, what="cnn dense")
    assert c.shape == (2, 4, 4, 4) and p.shape == (2, 2, 2, 4) and y.shape == (2, 3)
    save("cnn_x", x, "input NHWC [2, 8, 7, 2]")
    save("cnn_conv_kernel", K, "Conv2D kernel [kh, kw, cin, cout]")
    save("cnn_conv_bias", kb, "Conv2D bias [cout]")
    save("cnn_conv_out", c, "Conv2D(4,(3,3),strides=2,padding='same',activation='relu') output NHWC; "
         "H: 8->4, pad total 1 (0 top, 1 bottom); W: 7->4, pad total 2 (1 left, 1 right)")
    save("cnn_pool_out", p, "MaxPooling2D((2,2)) output NHWC")
    save("cnn_dense_kernel", D, "Dense kernel [in, out]; in = NHWC flatten index (h*W + w)*C + c")
    save("cnn_dense_bias", db, "Dense bias [out]")
    save("cnn_out", y, "Dense(3) (linear) output = flatten(pool) @ kernel + bias")


def make_adam(keras):
    p0 = f32(RNG.normal(0, 1, (8,)))
    g = f32(RNG.normal(0, 1, (3, 8)))
    g[:, 0] = [1e-8, -1e-8, 2e-8]  # tiny gradients: epsilon placement matters
    g[:, 1] = [3.0, -2.0, 0.5]
    g[1, 2] = 0.0
    var = keras.Variable(p0)
    opt = keras.optimizers.Adam(learning_rate=1e-3)
    after = []
    for t in range(3):
        opt.apply_gradients([(keras.ops.convert_to_tensor(g[t]), var)])
        after.append(np.asarray(var.numpy()))
    after = np.stack(after)
    # NumPy reference of the documented Keras rule (float64).
    th = p0.astype(np.float64)
    m = np.zeros(8)
    v = np.zeros(8)
    ref = []
    for t in range(3):
        s = t + 1
        a = 1e-3 * np.sqrt(1 - 0.999 ** s) / (1 - 0.9 ** s)
        m += (g[t] - m) * (1 - 0.9)
        v += (g[t].astype(np.float64) ** 2 - v) * (1 - 0.999)
        th = th - a * m / (np.sqrt(v) + 1e-7)
        ref.append(th.copy())
    close(after, np.stack(ref), tol=2e-6, what="adam")
    save("adam_p0", p0, "initial parameters")
    save("adam_grads", g, "gradient for step t (row t); col 0 is tiny (1e-8) so epsilon placement "
         "shows, row 1 col 2 is exactly 0")
    save("adam_params", after, "parameters after step t+1 (row t): Keras Adam(learning_rate=1e-3, "
         "beta_1=0.9, beta_2=0.999, epsilon=1e-7)")


def seed_models(lib):
    """Seed CNN and seed LSTM, each built as the first model of a fresh program (layer names
    conv2d, lstm, dense, ... and model name "sequential" in both)."""
    layers, Sequential = lib.layers, lib.Sequential
    clear = lib.utils.clear_session if hasattr(lib.utils, "clear_session") else lib.backend.clear_session
    clear()
    cnn = Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    clear()
    lstm = Sequential([
        layers.LSTM(64, return_sequences=True, input_shape=(28, 28)),
        layers.LSTM(64, return_sequences=True),
        layers.LSTM(64),
        layers.Dense(10, activation="softmax"),
    ])
    return cnn, lstm


def make_json(keras):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cnn, lstm = seed_models(keras)
    assert cnn.count_params() == 121930, cnn.count_params()
    assert lstm.count_params() == 23808 + 33024 + 33024 + 650, lstm.count_params()
    save_json("seed_cnn_keras3.json", cnn.to_json(),
              f"Keras {keras.__version__} model.to_json() of the seed CNN (Sequential, "
              "Conv2D(32,3x3,relu,input_shape=(28,28,1)) ... Dense(10,softmax))")
    save_json("seed_lstm_keras3.json", lstm.to_json(),
              f"Keras {keras.__version__} model.to_json() of the seed LSTM")
    import tf_keras
    cnn2, lstm2 = seed_models(tf_keras)
    assert cnn2.count_params() == 121930
    save_json("seed_cnn_tfkeras2.json", cnn2.to_json(),
              f"tf-keras {tf_keras.__version__} (Keras 2, legacy tf.keras) model.to_json() of the "
              "seed CNN; first layer carries batch_input_shape")
    save_json("seed_lstm_tfkeras2.json", lstm2.to_json(),
              f"tf-keras {tf_keras.__version__} model.to_json() of the seed LSTM")
    return tf_keras.__version__


def main():
    os.makedirs(OUT, exist_ok=True)
    import keras
    import tensorflow as tf
    tfk = make_json(keras)
    make_recurrent(keras)
    make_cnn(keras)
    make_adam(keras)
    versions = (f"numpy {np.__version__}, tensorflow {tf.__version__} (CPU), keras {keras.__version__} "
                f"(backend {keras.backend.backend()}), tf-keras {tfk}, Python {sys.version.split()[0]}")
    lines = [
        "# Reference fixtures",
        "",
        "Written by `tests/make_fixtures.py` (see its docstring for how to run it); do not edit by hand.",
        f"Produced with: {versions}.",
        "",
        "Arrays are `.npy` files, NumPy format 1.0, dtype `<f4` (little-endian float32), C order.",
        "The header is ASCII: `\\x93NUMPY`, bytes 1 0, a uint16 little-endian header length, then a",
        "dict like `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4, 5), }` padded with spaces",
        "to a multiple of 64 bytes (newline-terminated); the data follows.",
        "Every Keras result was also checked in the script against a NumPy float64 implementation of",
        "the documented semantics (tolerance 1e-5; Adam 2e-6).",
        "",
        "The optimizer and learning-rate-schedule fixtures are in `optimizers/`, written by",
        "`tests/make_optimizer_fixtures.py` and listed in `optimizers/README.md`.",
        "The Embedding and GELU fixtures are in `embedding/`, written by",
        "`tests/make_embedding_fixtures.py` and listed in `embedding/README.md`.",
        "",
        "| file | shape | what |",
        "|---|---|---|",
    ]
    for name, shape, desc in FILES:
        shp = "JSON" if shape is None else "[" + ", ".join(map(str, shape)) + "]"
        lines.append(f"| `{name}` | {shp} | {desc.replace('|', '/')} |")
    # Other scripts (make_graph_fixtures.py) document their files in "## " sections after
    # this table: keep them.
    readme = os.path.join(OUT, "README.md")
    old = open(readme).read() if os.path.exists(readme) else ""
    keep = old[old.find("\n## ") + 1:] if "\n## " in old else ""
    with open(readme, "w") as fh:
        fh.write("\n".join(lines) + "\n" + ("\n" + keep if keep else ""))
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(FILES)} fixtures to {OUT} ({total} bytes); {versions}")


if __name__ == "__main__":
    main()
