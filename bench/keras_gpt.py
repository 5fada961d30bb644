#!/usr/bin/env python3
"""Keras 3 (TensorFlow backend, CPU) twin of examples/char_gpt.c (configuration in
bench/gpt_common.py), written with Keras's own layers: Embedding, a learned position
embedding, MultiHeadAttention(use_causal_mask=True), LayerNormalization, Dense(gelu).

    bench/.venv/bin/python bench/keras_gpt.py --corpus data/shakespeare.txt --iters 2000 --threads 1 --json

Training: model.fit over pre-drawn random windows (batch 12, one epoch of --iters steps,
no shuffling), AdamW(CosineDecay with warmup, weight_decay 0.1 with biases and LayerNorm
weights excluded, global_clipnorm 1, epsilon 1e-8), sparse cross-entropy on the logits.
ms_per_iter: median time between consecutive on_train_batch_end calls (the first step,
which traces and compiles, excluded). Threads: TensorFlow's intra-op pool = --threads,
inter-op pool = 1.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt_common as gc  # noqa: E402

args = gc.parse_args("Keras")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ["OMP_NUM_THREADS"] = str(args.threads)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(args.threads)
tf.config.threading.set_inter_op_parallelism_threads(1)

import keras  # noqa: E402
from keras import layers  # noqa: E402

keras.utils.set_random_seed(args.seed)


class PositionEmbedding(layers.Layer):
    """keras_hub.layers.PositionEmbedding's behaviour: the first T rows of a learned
    (sequence_length, C) table, glorot_uniform, broadcast to the input (not added)."""

    def __init__(self, sequence_length, **kw):
        super().__init__(**kw)
        self.sequence_length = sequence_length

    def build(self, shape):
        self.embeddings = self.add_weight(name="embeddings",
                                          shape=(self.sequence_length, shape[-1]),
                                          initializer="glorot_uniform")

    def call(self, x):
        t = keras.ops.shape(x)[1]
        return keras.ops.broadcast_to(self.embeddings[:t], keras.ops.shape(x))


def make_model(vocab):
    C, T = gc.N_EMBD, gc.BLOCK
    ids = keras.Input((T,), dtype="int32")
    tok = layers.Embedding(vocab, C)(ids)
    x = layers.Add()([tok, PositionEmbedding(T)(tok)])
    for _ in range(gc.N_LAYER):
        a = layers.LayerNormalization(epsilon=gc.LN_EPS)(x)
        a = layers.MultiHeadAttention(gc.N_HEAD, C // gc.N_HEAD)(a, a, use_causal_mask=True)
        x = layers.Add()([x, a])
        h = layers.LayerNormalization(epsilon=gc.LN_EPS)(x)
        h = layers.Dense(C)(layers.Dense(4 * C, activation="gelu")(h))
        x = layers.Add()([x, h])
    x = layers.LayerNormalization(epsilon=gc.LN_EPS)(x)
    return keras.Model(ids, layers.Dense(vocab)(x))


chars, train_ids, val_ids = gc.load(args.corpus)
train_a = np.asarray(train_ids, dtype=np.int32)
val_a = np.asarray(val_ids, dtype=np.int32)
model = make_model(len(chars))
schedule = keras.optimizers.schedules.CosineDecay(
    0.0, args.iters - gc.WARMUP, alpha=gc.MIN_LR / gc.LR, warmup_target=gc.LR,
    warmup_steps=gc.WARMUP)
opt = keras.optimizers.AdamW(schedule, weight_decay=gc.WEIGHT_DECAY, beta_1=gc.BETAS[0],
                             beta_2=gc.BETAS[1], epsilon=gc.EPS, global_clipnorm=gc.CLIP)
opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
model.compile(optimizer=opt,
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))


def windows(data, offsets):
    idx = np.asarray(offsets)[:, None] + np.arange(gc.BLOCK)[None, :]
    return data[idx], data[idx + 1]


rng = np.random.default_rng(args.seed)
x, y = windows(train_a, rng.integers(0, len(train_a) - gc.BLOCK - 1, args.iters * gc.BATCH))


class Timer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.stamps = []

    def on_train_batch_end(self, batch, logs=None):
        self.stamps.append(time.perf_counter())


timer = Timer()
t0 = time.perf_counter()
model.fit(x, y, batch_size=gc.BATCH, epochs=1, shuffle=False, verbose=0 if args.json else 2,
          callbacks=[timer])
stamps = [t0] + timer.stamps
times = [(b - a) * 1e3 for a, b in zip(stamps, stamps[1:])]


def evaluate(data):
    ex, ey = windows(data, gc.eval_offsets(len(data)))
    return float(model.evaluate(ex, ey, batch_size=gc.BATCH, verbose=0))


gc.report(args, times, evaluate(train_a), evaluate(val_a),
          {"framework": "keras", "version": keras.__version__,
           "params": int(model.count_params())})
