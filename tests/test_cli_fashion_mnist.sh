#!/bin/sh
# test_cli_fashion_mnist.sh - the `lamina` command on the real Fashion-MNIST:
# one epoch of the seed CNN on 2,000 images, then `evaluate` of the saved
# model must report the same test accuracy as `train` did, and better than
# chance. Exits 77 (ctest: skipped, SKIP_RETURN_CODE) when the data is not
# installed; `make test` installs it. Run by ctest from tests/ with
# LAMINA_BUILD_DIR set.
set -eu

. "$(dirname "$0")/cli_common.sh"
EXAMPLES="$(cd "$(dirname "$0")/../examples" && pwd)"
data="${LAMINA_DATA:-/usr/share/datasets/fashion-mnist}"
if [ ! -d "$data" ]; then
    echo "SKIPPED: Fashion-MNIST is not installed in $data (make test installs dataset-fashion-mnist)"
    exit 77
fi

# 2,000 training and test images rather than 70,000 keep this well under a minute.
"$L" train --model "$EXAMPLES/seed_cnn.json" --data fashion-mnist --epochs 1 --limit 2000 \
    --test-limit 2000 --json --out "$tmp/cnn.safetensors" >"$tmp/ft.json"
"$L" evaluate "$tmp/cnn.safetensors" --data fashion-mnist --limit 2000 --json >"$tmp/fe.json"
a=$(sed -n 's/.*"test":{[^}]*"accuracy":\([-0-9.eE+]*\).*/\1/p' "$tmp/ft.json")
b=$(sed -n 's/.*"accuracy":\([-0-9.eE+]*\).*/\1/p' "$tmp/fe.json" | head -n 1)
[ -n "$a" ] && [ "$a" = "$b" ] || fail "train's test accuracy $a, evaluate's $b"
# One epoch on 2,000 images reaches about 0.7; chance is 0.1.
awk -v a="$a" 'BEGIN { exit !(a > 0.5) }' || fail "test accuracy $a after one epoch, expected > 0.5"
echo "ok - fashion-mnist: train and evaluate agree on test accuracy $a"
