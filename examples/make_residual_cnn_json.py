#!/usr/bin/env python3
"""Writes examples/residual_cnn.json: Keras 3's model.to_json() of the residual CNN that
examples/residual_cnn.c builds with lamina's functional calls (same layers, same names).

    bench/.venv/bin/python examples/make_residual_cnn_json.py

It also prints Keras's parameter counts, which `lamina summary examples/residual_cnn.json`
must equal.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import keras  # noqa: E402
from keras import layers  # noqa: E402


def conv_bn(x, filters, relu=True):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x) if relu else x


def block(x, filters):
    y = conv_bn(x, filters)
    y = conv_bn(y, filters, relu=False)
    return layers.Activation("relu")(layers.Add()([x, y]))


def main():
    inputs = keras.Input((28, 28, 1))
    x = inputs
    for filters in (16, 32):
        x = conv_bn(x, filters)
        x = block(x, filters)
        x = layers.MaxPooling2D()(x)
    x = layers.Dropout(0.3)(layers.Flatten()(x))
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="residual_cnn")
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "residual_cnn.json"), "w") as fh:
        fh.write(model.to_json(indent=1))
        fh.write("\n")
    trainable = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    print(f"total {model.count_params()}, trainable {trainable}, "
          f"non-trainable {model.count_params() - trainable}")


if __name__ == "__main__":
    main()
