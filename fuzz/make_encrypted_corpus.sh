#!/bin/sh
# make_encrypted_corpus.sh LAMINA - writes fuzz/corpus/fuzz_encrypted/: the
# three models of fuzz/corpus/fuzz_model_file/ saved encrypted by `LAMINA
# train --epochs 0 --encrypt` with fuzz_encrypted.c's fixed key (bytes 0..31).
set -eu
L=${1:?usage: make_encrypted_corpus.sh path/to/lamina}
here=$(cd "$(dirname "$0")" && pwd)
dst="$here/corpus/fuzz_encrypted"
mkdir -p "$dst"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# One row of zeros with as many features as the model's input has values.
csv() { awk -v k="$1" 'BEGIN { printf "label"; for (j = 0; j < k; j++) printf ",f%d", j; print "";
    printf "0"; for (j = 0; j < k; j++) printf ",0"; print "" }' >"$tmp/d$1.csv"; }
csv 3; csv 16; csv 6
export LAMINA_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
for m in dense_adam:3 cnn_sgd:16 gru_rmsprop:6; do
    f="$here/corpus/fuzz_model_file/${m%%:*}.safetensors"
    # --epochs 0 saves the model as it is (the save at the start checks the path).
    "$L" train --resume "$f" --data "$tmp/d${m##*:}.csv" --epochs 0 --verbose 0 --encrypt \
        --out "$dst/${m%%:*}.safetensors" >/dev/null
done
ls -l "$dst"
