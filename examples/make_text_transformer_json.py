#!/usr/bin/env python3
"""Writes examples/text_transformer.json: Keras 3's model.to_json() of the text classifier of
the Keras example "Text classification with Transformer"
(keras.io/examples/nlp/text_classification_with_transformer), sized for the Debian fortune
files (docs/BENCHMARKS.md, "Text classification: fortunes").

    PYTHONPATH=DIR bench/.venv/bin/python examples/make_text_transformer_json.py \\
        [--input-dim 2001] [--maxlen 128] [--classes 17] [--out examples/text_transformer.json]

keras_hub provides TokenAndPositionEmbedding; it is not in bench/.venv. Install it apart:

    bench/.venv/bin/pip install --no-deps --target DIR keras-hub regex kagglehub kagglesdk \\
        tqdm tokenizers sentencepiece

The architecture is the example's, written with Keras's own layers so that the JSON needs no
custom class (the example's TransformerBlock is a subclassed layer):

    ids (maxlen,) -> TokenAndPositionEmbedding(input_dim, maxlen, 32, mask_zero=True)
      -> MultiHeadAttention(num_heads=2, key_dim=32)(x, x) -> Dropout(0.1) -> Add([x, .])
      -> LayerNormalization(epsilon=1e-6)
      -> Dense(32, relu) -> Dense(32) -> Dropout(0.1) -> Add -> LayerNormalization(1e-6)
      -> GlobalAveragePooling1D -> Dropout(0.1) -> Dense(20, relu) -> Dropout(0.1)
      -> Dense(classes, softmax)

Differences from the example, and why: keras_hub's TokenAndPositionEmbedding (the example
defines its own, without a mask) with mask_zero=True, so the padding (id 0) is masked in the
attention and the average pooling; input_dim = tokenizer vocabulary + 1 (lamina's textcls
data shift every id by one, 0 being the padding); the softmax has one unit per class.

It prints Keras's parameter counts, which `lamina summary examples/text_transformer.json` must
equal.
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import keras  # noqa: E402
from keras import layers  # noqa: E402

try:
    import keras_hub  # noqa: E402
except ImportError as e:  # pragma: no cover
    sys.exit(f"keras_hub is needed ({e}); see the docstring for how to install it")

EMBED_DIM = 32  # embedding size for each token
NUM_HEADS = 2   # attention heads
FF_DIM = 32     # hidden layer size of the feed-forward network inside the transformer
RATE = 0.1      # the example's dropout rate


def build(input_dim, maxlen, classes):
    """The example's model, as a functional graph of Keras layers."""
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="ids")
    x = keras_hub.layers.TokenAndPositionEmbedding(
        vocabulary_size=input_dim, sequence_length=maxlen, embedding_dim=EMBED_DIM,
        mask_zero=True, name="token_and_position_embedding")(inputs)
    # TransformerBlock
    attn = layers.MultiHeadAttention(num_heads=NUM_HEADS, key_dim=EMBED_DIM,
                                     name="attention")(x, x)
    attn = layers.Dropout(RATE, name="dropout_attention")(attn)
    out1 = layers.LayerNormalization(epsilon=1e-6, name="layernorm_1")(
        layers.Add(name="residual_1")([x, attn]))
    ffn = layers.Dense(FF_DIM, activation="relu", name="ffn_1")(out1)
    ffn = layers.Dense(EMBED_DIM, name="ffn_2")(ffn)
    ffn = layers.Dropout(RATE, name="dropout_ffn")(ffn)
    x = layers.LayerNormalization(epsilon=1e-6, name="layernorm_2")(
        layers.Add(name="residual_2")([out1, ffn]))
    # Classifier head
    x = layers.GlobalAveragePooling1D(name="average")(x)
    x = layers.Dropout(RATE, name="dropout_1")(x)
    x = layers.Dense(20, activation="relu", name="dense_20")(x)
    x = layers.Dropout(RATE, name="dropout_2")(x)
    outputs = layers.Dense(classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="text_transformer")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--input-dim", type=int, default=2001,
                   help="token ids the embedding takes: vocabulary + 1 (0 = padding)")
    p.add_argument("--maxlen", type=int, default=128, help="tokens per sample")
    p.add_argument("--classes", type=int, default=17)
    p.add_argument("--out", default=os.path.join(here, "text_transformer.json"))
    a = p.parse_args()
    model = build(a.input_dim, a.maxlen, a.classes)
    with open(a.out, "w") as fh:
        fh.write(model.to_json(indent=1))
        fh.write("\n")
    trainable = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    print(f"{a.out}: total {model.count_params()}, trainable {trainable}, "
          f"non-trainable {model.count_params() - trainable}")


if __name__ == "__main__":
    main()
