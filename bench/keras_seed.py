#!/usr/bin/env python3
"""Keras 3 (TensorFlow backend, CPU) twin of the seed programs: the seed code itself, timed.

    bench/.venv/bin/python bench/keras_seed.py --model cnn|lstm --threads 1 --limit 6000 --repeats 3

Models exactly as in the seed: Conv2D(32,3x3,relu) -> MaxPool -> Conv2D(64,3x3,relu) -> MaxPool
-> Flatten -> Dense(64,relu) -> Dense(10,softmax), and LSTM(64,seq) -> LSTM(64,seq) -> LSTM(64)
-> Dense(10,softmax); compile(Adam(1e-3), sparse_categorical_crossentropy, accuracy);
fit(batch_size=32, epochs=1, shuffle=True, verbose=0).

Threads: TensorFlow intra-op pool = --threads, inter-op pool = 1 (plus OMP_NUM_THREADS).
Timing: us_per_sample = fit time excluding the first step (which also traces and compiles the
train function), per sample of the remaining steps, median over --repeats fits from fresh
weights; epoch_s = whole fit() wall time. latency_b1_us = median single-sample forward through
a tf.function(model(x, training=False)) (the fast path); latency_b1_predict_on_batch_us is the
same through model.predict_on_batch (the usual API, with its per-call overhead).
throughput_b256_per_s uses the tf.function at batch 256.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_common as sc  # noqa: E402

args = sc.parse_args("Keras")
sc.set_thread_env(args.threads)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(args.threads)
tf.config.threading.set_inter_op_parallelism_threads(1)

import keras  # noqa: E402
from keras import layers  # noqa: E402


def make_model():
    if args.model == "cnn":
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ])
    else:
        model = keras.Sequential([
            keras.Input((28, 28)),
            layers.LSTM(64, return_sequences=True),
            layers.LSTM(64, return_sequences=True),
            layers.LSTM(64),
            layers.Dense(10, activation="softmax"),
        ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class StepTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.t_first = None
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.t_first is None:
            self.t_first = time.perf_counter()

    def on_train_end(self, logs=None):
        self.t_end = time.perf_counter()


def shape_input(x):
    return x[..., None] if args.model == "cnn" else x


def main():
    xtr, ytr, xte, yte = sc.load_fashion(args.limit)
    xtr, xte = shape_input(xtr), shape_input(xte)
    args.n_train = len(xtr)
    bs = args.batch_size
    train_us, epoch_s = [], []
    model = None
    for r in range(args.repeats):
        keras.utils.set_random_seed(args.seed + r)
        model = make_model()
        timer = StepTimer()
        t0 = time.perf_counter()
        model.fit(xtr, ytr, batch_size=bs, epochs=1, shuffle=True, verbose=0, callbacks=[timer])
        epoch_s.append(time.perf_counter() - t0)
        after_first = len(xtr) - min(bs, len(xtr))
        train_us.append((timer.t_end - timer.t_first) / max(after_first, 1) * 1e6)
    _, acc = model.evaluate(xte, yte, batch_size=1000, verbose=0)

    fwd = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    for i in range(10):
        fwd(tf.constant(xte[i:i + 1]))
    times = []
    for i in range(args.latency_calls):
        xb = tf.constant(xte[i:i + 1])
        t0 = time.perf_counter()
        fwd(xb).numpy()
        times.append(time.perf_counter() - t0)
    lat = float(np.median(times)) * 1e6
    ptimes = []
    for i in range(min(args.latency_calls, 50)):
        xb = xte[i:i + 1]
        t0 = time.perf_counter()
        model.predict_on_batch(xb)
        ptimes.append(time.perf_counter() - t0)
    plat = float(np.median(ptimes[5:] or ptimes)) * 1e6
    fwd(tf.constant(xte[:256])).numpy()
    n = 0
    t0 = time.perf_counter()
    for b in range(args.throughput_batches):
        s = (b * 256) % (len(xte) - 256)
        fwd(tf.constant(xte[s:s + 256])).numpy()
        n += 256
    thr = n / (time.perf_counter() - t0)
    versions = {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}
    sc.report(args, "keras", versions, train_us, epoch_s, lat, thr, acc,
              extra={"latency_b1_predict_on_batch_us": round(plat, 2)})


if __name__ == "__main__":
    main()
