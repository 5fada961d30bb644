#!/usr/bin/env python3
"""Writes examples/dp_cnn.json: the DP-friendly CNN of Papernot et al. (2020, "Tempered
sigmoid activations for deep learning with differential privacy") and Tramer & Boneh
(2021, the "end-to-end CNN" of their Table 1 for MNIST and Fashion-MNIST), as Keras 3's
model.to_json():

    ZeroPadding2D(2), Conv2D(16, 8x8, stride 2, tanh), MaxPooling2D(2, stride 1),
    Conv2D(32, 4x4, stride 2, tanh), MaxPooling2D(2, stride 1), Flatten,
    Dense(32, tanh), Dense(10, softmax)                        26,010 parameters

Tanh instead of ReLU (bounded activations keep the clipped gradients informative) and
no normalisation layer that mixes samples (BatchNormalization has no per-sample
gradient). PyTorch's Conv2d(padding=2) is the ZeroPadding2D here.

    bench/.venv/bin/python examples/make_dp_cnn_json.py
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import keras  # noqa: E402
from keras import layers  # noqa: E402

model = keras.Sequential([
    keras.Input((28, 28, 1)),
    layers.ZeroPadding2D(2),
    layers.Conv2D(16, 8, strides=2, activation="tanh"),
    layers.MaxPooling2D(2, strides=1),
    layers.Conv2D(32, 4, strides=2, activation="tanh"),
    layers.MaxPooling2D(2, strides=1),
    layers.Flatten(),
    layers.Dense(32, activation="tanh"),
    layers.Dense(10, activation="softmax"),
], name="dp_cnn")
model.summary()
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dp_cnn.json")
with open(path, "w") as f:
    f.write(model.to_json())
print("wrote", path)
