#!/usr/bin/env python3
"""Writes examples/causal_lm.json: a two-block causal language model made with Keras 3 and
keras_hub, as model.to_json() gives it, for `lamina train --model examples/causal_lm.json
--data text:FILE`:

    ids (64,) -> keras_hub TokenAndPositionEmbedding(128, 64, 64)
    2 x [ x + MultiHeadAttention(4 heads, key_dim 16)(LN(x), LN(x), use_causal_mask=True)
          x + Dense(64)(Dense(256, gelu)(LN(x))) ]
    -> LayerNormalization -> Dense(128, softmax)

The vocabulary of 128 holds any ASCII text's characters (lamina's char tokenizer gives ids
0 .. distinct characters - 1). Prints Keras's parameter total, which tests/test_cli_text_lm.sh
expects `lamina summary` to show.

    PYTHONPATH=<keras_hub> bench/.venv/bin/python examples/make_transformer_json.py
(keras_hub: `pip install --no-deps --target DIR keras-hub regex tokenizers`.)
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import keras_hub  # noqa: E402
from keras import layers  # noqa: E402

V, T, C, H, L = 128, 64, 64, 4, 2
ids = keras.Input((T,), dtype="int32", name="ids")
x = keras_hub.layers.TokenAndPositionEmbedding(V, T, C, name="embed")(ids)
for i in range(L):
    a = layers.LayerNormalization(epsilon=1e-5, name=f"ln_att_{i}")(x)
    a = layers.MultiHeadAttention(H, C // H, name=f"attention_{i}")(a, a, use_causal_mask=True)
    x = layers.Add(name=f"residual_att_{i}")([x, a])
    h = layers.LayerNormalization(epsilon=1e-5, name=f"ln_mlp_{i}")(x)
    h = layers.Dense(4 * C, activation="gelu", name=f"mlp_up_{i}")(h)
    h = layers.Dense(C, name=f"mlp_down_{i}")(h)
    x = layers.Add(name=f"residual_mlp_{i}")([x, h])
x = layers.LayerNormalization(epsilon=1e-5, name="ln_final")(x)
out = layers.Dense(V, activation="softmax", name="next_char")(x)
model = keras.Model(ids, out, name="causal_lm")
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "causal_lm.json"), "w") as f:
    json.dump(json.loads(model.to_json()), f, indent=1)
    f.write("\n")
print(f"causal_lm: {model.count_params()} parameters (keras {keras.__version__}, "
      f"keras_hub {keras_hub.__version__})")
