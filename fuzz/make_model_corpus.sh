#!/bin/sh
# make_model_corpus.sh LAMINA - writes fuzz/corpus/fuzz_model_file/: three
# small trained models (Dense/Adam with dropout, CNN/SGD with momentum,
# GRU/RMSprop), each saved by `LAMINA train` after one epoch.
set -eu
L=${1:?usage: make_model_corpus.sh path/to/lamina}
here=$(cd "$(dirname "$0")" && pwd)
dst="$here/corpus/fuzz_model_file"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$dst"
python3 - "$tmp" <<'PY'
import struct, sys
d = sys.argv[1]
def npy(path, descr, shape, payload):
    shp = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shp)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + payload)
n = 8
npy(d + "/img.npy", "<f4", (n, 4, 4, 1), struct.pack("<%df" % (n * 16), *[((i * 7) % 11) / 10 for i in range(n * 16)]))
npy(d + "/seq.npy", "<f4", (n, 3, 2), struct.pack("<%df" % (n * 6), *[((i * 5) % 7) / 7 for i in range(n * 6)]))
npy(d + "/y.npy", "<i8", (n,), struct.pack("<%dq" % n, *[i % 2 for i in range(n)]))
with open(d + "/d.csv", "w") as f:
    f.write("label,a,b,c\n")
    for i in range(n):
        f.write("%d,%g,%g,%g\n" % (i % 2, i / 8, 1 - i / 8, (i % 3) / 3))
PY
layer() { printf '{"module": "keras.layers", "class_name": "%s", "config": %s}' "$1" "$2"; }
spec() { printf '{"module": "keras", "class_name": "Sequential", "config": {"name": "%s", "layers": [%s]}}\n' "$1" "$2"; }
spec dense "$(layer InputLayer '{"batch_shape": [null, 3]}'), $(layer Dense '{"units": 4, "activation": "relu"}'), $(layer Dropout '{"rate": 0.25}'), $(layer Dense '{"units": 2, "activation": "softmax"}')" >"$tmp/dense.json"
spec cnn "$(layer InputLayer '{"batch_shape": [null, 4, 4, 1]}'), $(layer Conv2D '{"filters": 2, "kernel_size": [3, 3], "activation": "relu", "padding": "same"}'), $(layer MaxPooling2D '{"pool_size": [2, 2]}'), $(layer Flatten '{}'), $(layer Dense '{"units": 2, "activation": "softmax"}')" >"$tmp/cnn.json"
spec gru "$(layer InputLayer '{"batch_shape": [null, 3, 2]}'), $(layer GRU '{"units": 2}'), $(layer Dense '{"units": 2, "activation": "softmax"}')" >"$tmp/gru.json"
"$L" train --model "$tmp/dense.json" --data "$tmp/d.csv" --epochs 1 --batch-size 4 --verbose 0 --out "$dst/dense_adam.safetensors" >/dev/null
"$L" train --model "$tmp/cnn.json" --data "$tmp/img.npy:$tmp/y.npy" --epochs 1 --batch-size 4 --optimizer sgd --momentum 0.9 --verbose 0 --out "$dst/cnn_sgd.safetensors" >/dev/null
"$L" train --model "$tmp/gru.json" --data "$tmp/seq.npy:$tmp/y.npy" --epochs 1 --batch-size 4 --optimizer rmsprop --verbose 0 --out "$dst/gru_rmsprop.safetensors" >/dev/null
ls -l "$dst"
