#!/usr/bin/env python3
"""make_corpus.py - writes the seed corpora of the fuzz targets into
fuzz/corpus/<target>/: a few small valid files per reader (no numpy needed).
The model files (fuzz/corpus/fuzz_model_file/) are made with the lamina
command by scripts/fuzz.sh --corpus; this script only writes the data files.
Run from anywhere: python3 fuzz/make_corpus.py"""
import gzip
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def idx(dims, values):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(values)


def npy(descr, shape, payload, version=1):
    shp = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shp)
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(h) + 1) % 64) % 64
    h = h + " " * pad + "\n"
    ln = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + ln + h.encode() + payload


# IDX: the fuzzer reads each input as images (rank 3) with a one-label file
# and as labels (rank 1) with a one-image file, so every seed holds 1 sample.
out("fuzz_idx", "images_1x2x2", idx([1, 2, 2], [0, 64, 128, 255]))
out("fuzz_idx", "labels_1", idx([1], [7]))
out("fuzz_idx", "images_1x5x3", idx([1, 5, 3], range(15)))
out("fuzz_idx", "labels_1_gz", gzip.compress(idx([1], [2]), mtime=0))
out("fuzz_idx", "images_1x2x2_gz", gzip.compress(idx([1, 2, 2], [1, 2, 3, 4]), mtime=0))

# CSV: the first byte selects options (bit 0 header, bit 1 label last,
# bit 2 ';' delimiter, bit 3 label column named "label").
out("fuzz_csv", "header_label_first", "\x01label,a,b\n0,1.5,2\n1,-3,4e-2\n")
out("fuzz_csv", "no_header", "\x00" "1,0.5,0.25\n0,1,2\n2,3,4\n")
out("fuzz_csv", "label_last_semicolon", "\x07x;y;label\n1;2;0\n3;4;1\n")
out("fuzz_csv", "named_label_quoted", "\x09\"a\",\"label\",c\n\"1.0\",1, 3\r\n2,0,4\r\n")

# NumPy: the fuzzer reads each input as x alone and as y for a 2-sample x.
f32 = b"".join(struct.pack("<f", v) for v in (0.0, 0.5, 1.0, -1.0, 2.0, 3.0))
out("fuzz_npy", "x_f32_2x3.npy", npy("<f4", (2, 3), f32))
out("fuzz_npy", "x_u8_2x2x2.npy", npy("|u1", (2, 2, 2), bytes(range(8))))
out("fuzz_npy", "x_f64_2x1.npy", npy("<f8", (2, 1), struct.pack("<2d", 1.0, -2.5)))
out("fuzz_npy", "y_i64_2.npy", npy("<i8", (2,), struct.pack("<2q", 0, 1)))
out("fuzz_npy", "y_i32_2.npy", npy("<i4", (2,), struct.pack("<2i", 1, 0)))
out("fuzz_npy", "y_u8_2_v2.npy", npy("|u1", (2,), bytes([1, 1]), version=2))

# libsvm: the first byte gives a fixed feature count (byte % 16; 0 = infer).
out("fuzz_libsvm", "basic", "\x00" "1 1:0.5 3:2\n-1 2:1\n")
out("fuzz_libsvm", "fixed_4_comments", "\x04" "# c\n0 1:1 4:-2 # tail\n2 qid:3 2:1e3\n\n1\n")
out("fuzz_libsvm", "multiclass", "\x00" "3 1:1\n1 2:1\n2 1:0.1 2:0.2 5:7\n")

# Keras JSON specs: the test fixtures and a tiny Dense one.
os.makedirs(os.path.join(HERE, "corpus", "fuzz_json_spec"), exist_ok=True)
for name in ("seed_cnn_keras3", "seed_cnn_tfkeras2", "seed_lstm_keras3", "seed_lstm_tfkeras2"):
    shutil.copy(os.path.join(ROOT, "tests", "fixtures", name + ".json"),
                os.path.join(HERE, "corpus", "fuzz_json_spec", name + ".json"))
out("fuzz_json_spec", "tiny_dense.json",
    '{"module": "keras", "class_name": "Sequential", "config": {"name": "tiny", "layers": ['
    '{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "input_layer"}},'
    '{"module": "keras.layers", "class_name": "Dropout", "config": {"name": "dropout", "rate": 0.5}},'
    '{"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "softmax"}}]}}')
# Functional models: the loadable functional fixtures, compacted to stay under
# the 8 KiB the fuzzer is given, and two tiny ones in each inbound_nodes form.
for name in ("functional_shared_keras3", "functional_shared_tfkeras2", "functional_rnn_keras3",
             "functional_rnn_tfkeras2", "attention/cross_keras3", "attention/cross_tfkeras2",
             "attention/transformer_keras3", "attention/transformer_tfkeras2"):
    with open(os.path.join(ROOT, "tests", "fixtures", name + ".json")) as f:
        out("fuzz_json_spec", name.replace("attention/", "attention_") + ".json",
            json.dumps(json.load(f), separators=(",", ":")))
# keras_hub's TokenAndPositionEmbedding and PositionEmbedding, Embedding(mask_zero), int32 ids.
for name in ("masked_sequence_keras3", "position_keras3"):
    with open(os.path.join(ROOT, "tests", "fixtures", "position_mask", name + ".json")) as f:
        out("fuzz_json_spec", name + ".json",
            json.dumps(json.load(f), separators=(",", ":")))
out("fuzz_json_spec", "tiny_functional_keras3.json",
    '{"class_name": "Functional", "config": {"name": "f", "layers": ['
    '{"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "a"}, "inbound_nodes": []},'
    '{"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "b"}, "inbound_nodes": []},'
    '{"class_name": "Dense", "config": {"name": "d", "units": 3}, "inbound_nodes": ['
    '{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["a", 0, 0]}}], "kwargs": {}},'
    '{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["b", 0, 0]}}], "kwargs": {"training": false}}]},'
    '{"class_name": "Activation", "config": {"name": "t", "activation": "tanh"}, "inbound_nodes": ['
    '{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["d", 1, 0]}}], "kwargs": {"mask": null}}]}],'
    '"input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["d", 0, 0], ["t", 0, 0]]}}')
out("fuzz_json_spec", "tiny_functional_tfkeras2.json",
    '{"class_name": "Model", "config": {"name": "m", "layers": ['
    '{"class_name": "Flatten", "config": {"name": "f"}, "inbound_nodes": [[["x", 0, 0, {}]]]},'
    '{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 2, 3], "name": "x"}, "inbound_nodes": []},'
    '{"class_name": "Dense", "config": {"name": "y", "units": 2, "activation": "softmax"}, "inbound_nodes": [[["f", 0, 0, {}]]]}],'
    '"input_layers": ["x", 0, 0], "output_layers": [["y", 0, 0]]}}')
out("fuzz_json_spec", "tiny_gru.json",
    '{"class_name": "Sequential", "config": {"name": "g", "layers": ['
    '{"class_name": "InputLayer", "config": {"batch_shape": [null, 3, 2]}},'
    '{"class_name": "GRU", "config": {"units": 3, "return_sequences": true}},'
    '{"class_name": "SimpleRNN", "config": {"units": 2}},'
    '{"class_name": "Dense", "config": {"units": 1, "activation": "sigmoid"}}]}}')

# Tokenizer JSON (a model's metadata "tokenizer"): both kinds, as lamina writes them.
out("fuzz_tokenizer_json", "char.json",
    '{"type":"char","version":1,"code_points":[0,10,32,33,39,51,84,101,102,104,111,115,120,'
    '233,26481]}')
out("fuzz_tokenizer_json", "bpe.json",
    '{"type":"bpe","version":1,"pre_split":"gpt2-bytes","merges":[[116,104],[256,101],'
    '[32,257],[111,120],[102,259],[32,260],[97,97],[262,262]]}')
out("fuzz_tokenizer_json", "bpe_empty.json",
    '{"type":"bpe","version":1,"pre_split":"gpt2-bytes","merges":[]}')

# Tokenizer encoders: the first byte is the BPE vocabulary size - 256; the rest the text.
out("fuzz_tokenizer_encode", "english", b"\x20" + b"The fox's den isn't 42 miles away; they'll see.\n" * 3)
out("fuzz_tokenizer_encode", "utf8", b"\x40" + "caf\u00e9 \u6771\u4eac \U0001F600 na\u00efve\n".encode() * 2)
out("fuzz_tokenizer_encode", "runs", b"\x08" + b"aaaaaaaaaaaa   \t\t\n\n  abababab 1234567890")
out("fuzz_tokenizer_encode", "bytes", b"\x10" + bytes(range(256)))

# Text readers: the first byte picks where the input is cut into the class
# files "a" and "b.txt" (0..255 of its length).
out("fuzz_text_readers", "lines", b"\x80" + b"one line\nanother line\r\n\nthird\nb line 1\nb line 2\n")
out("fuzz_text_readers", "fortune", b"\x70" + b"a record\nof two lines\n%\nsecond\n%\n%\nb record\n%\nlast\n")
out("fuzz_text_readers", "utf8", b"\x40" + "caf\u00e9\n\u6771\u4eac\n%\nx\n".encode())
