#!/usr/bin/env python3
"""Grad-CAM parity fixtures (keras.io's recipe): tests/fixtures/gradcam/.

How to run (from the repository root, once bench/setup_venv.sh has made bench/.venv):

    bench/.venv/bin/python tests/make_gradcam_fixtures.py

The model, Keras 3 functional, weights drawn here from a fixed seed (biases too, so that ReLUs are
neither all on nor all off):

    Input((14, 14, 2)) -> Conv2D(4, 3, relu, name="conv_a") -> MaxPooling2D(2)
      -> Conv2D(6, 3, relu, name="conv_b") -> Flatten -> Dense(5, softmax, name="head")

Grad-CAM is computed exactly as the keras.io example "Grad-CAM class activation
visualization" (make_gradcam_heatmap): the last layer's softmax removed
(model.layers[-1].activation = None, so the class score is the logit), a model giving
(last conv output, predictions), tf.GradientTape on preds[:, pred_index], pooled_grads the
mean of the gradient over (batch, H, W), heatmap = conv_output @ pooled_grads, then
tf.maximum(heatmap, 0) / max(heatmap). The heatmap is on the conv layer's 4 x 4 grid, before
the recipe's resize for display.

Written (float32 .npy, C order):
  model.json          model.to_json() with the softmax (lamina keeps the logits itself)
  weights.npy         every weight, model.get_weights() flattened and concatenated in order
                      (conv_a kernel (3,3,2,4), bias; conv_b kernel (3,3,4,6), bias; head
                      kernel (96,5), bias): lamina's parameter buffer in layer order
  x.npy               [14, 14, 2] the image (uniform in [0, 1))
  logits.npy          [5] the logits at x
  target.npy          [2] the classes explained: the predicted one (pred_index None) and 1
  heatmap_raw_<k>.npy [4, 4] tf.maximum(heatmap, 0) for target k (0: predicted, 1: class 1)
  heatmap_<k>.npy     [4, 4] the recipe's heatmap: the above divided by its max
  conv_b_out.npy      [4, 4, 6] the last conv layer's output (post-ReLU)
Every heatmap is cross-checked here against a NumPy float64 computation of the same
quantity with the gradient by hand (Dense -> Flatten): they must agree within 1e-5.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "gradcam")
RNG = np.random.default_rng(20260514)


def save(name, arr):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    np.save(os.path.join(OUT, name + ".npy"), arr, allow_pickle=False)


def build():
    inp = keras.Input((14, 14, 2), name="image")
    h = layers.Conv2D(4, 3, activation="relu", name="conv_a")(inp)
    h = layers.MaxPooling2D(2, name="pool")(h)
    h = layers.Conv2D(6, 3, activation="relu", name="conv_b")(h)
    h = layers.Flatten(name="flatten")(h)
    out = layers.Dense(5, activation="softmax", name="head")(h)
    model = keras.Model(inp, out, name="gradcam_cnn")
    weights = []
    for w in model.get_weights():
        scale = 0.5 if w.ndim > 1 else 0.1
        weights.append(RNG.normal(0.0, scale, size=w.shape).astype("float32"))
    model.set_weights(weights)
    return model


def gradcam(model, x, pred_index):
    """keras.io's make_gradcam_heatmap, verbatim but for the returned raw map."""
    grad_model = keras.models.Model(model.inputs,
                                    [model.get_layer("conv_b").output, model.output])
    with tf.GradientTape() as tape:
        last_conv_layer_output, preds = grad_model(x)
        if pred_index is None:
            pred_index = tf.argmax(preds[0])
        class_channel = preds[:, pred_index]
    grads = tape.gradient(class_channel, last_conv_layer_output)
    pooled_grads = tf.reduce_mean(grads, axis=(0, 1, 2))
    last_conv_layer_output = last_conv_layer_output[0]
    heatmap = last_conv_layer_output @ pooled_grads[..., tf.newaxis]
    heatmap = tf.squeeze(heatmap)
    raw = tf.maximum(heatmap, 0)
    heatmap = raw / tf.math.reduce_max(heatmap)
    return raw.numpy(), heatmap.numpy(), int(pred_index), last_conv_layer_output.numpy()


def by_hand(conv_out, head_kernel, k):
    """dLogit_k / dA = head_kernel[:, k] reshaped to the conv grid (Flatten is NHWC order)."""
    g = head_kernel[:, k].astype(np.float64).reshape(conv_out.shape)
    w = g.mean(axis=(0, 1))
    cam = np.maximum(conv_out.astype(np.float64) @ w, 0)
    return cam


def main():
    os.makedirs(OUT, exist_ok=True)
    model = build()
    with open(os.path.join(OUT, "model.json"), "w") as f:
        f.write(model.to_json())
    save("weights", np.concatenate([w.ravel() for w in model.get_weights()]))
    x = RNG.uniform(0.0, 1.0, size=(1, 14, 14, 2)).astype("float32")
    save("x", x[0])
    model.layers[-1].activation = None  # the recipe: explain the logit
    logits = model(x).numpy()[0]
    save("logits", logits)
    targets = []
    for k, index in enumerate([None, 1]):
        raw, norm, t, conv_out = gradcam(model, x, index)
        ref = by_hand(conv_out, model.get_layer("head").get_weights()[0], t)
        assert np.abs(ref - raw).max() < 1e-5, (k, np.abs(ref - raw).max())
        assert raw.max() > 0, "the heatmap is all zero: pick other weights"
        save(f"heatmap_raw_{k}", raw)
        save(f"heatmap_{k}", norm)
        targets.append(t)
        if k == 0:
            save("conv_b_out", conv_out)
    save("target", np.array(targets, dtype="float32"))
    print("targets", targets, "logits", logits)


if __name__ == "__main__":
    main()
