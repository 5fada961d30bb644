#!/bin/sh
# test_cli_streaming.sh - `lamina train --data 'X_*.npy:Y_*.npy'`: a shard list
# (memory-mapped, docs/STREAMING.md) trains the same model, byte for byte, as
# the same samples in one file held in memory, with and without --prefetch.
# POSIX sh; run by ctest with LAMINA_BUILD_DIR set, from tests/.
set -eu

. "$(dirname "$0")/cli_common.sh"

# A .npy header ('|u1', shape $2) padded to 64 bytes, into file $1.
npy_header() {
    dict="{'descr': '|u1', 'fortran_order': False, 'shape': ($2), }"
    len=$(( (10 + ${#dict} + 1 + 63) / 64 * 64 - 10 ))
    printf '\223NUMPY\001\000'"$(printf '\\%03o' "$len")"'\000' >"$1"
    printf '%s%*s\n' "$dict" $((len - ${#dict} - 1)) "" >>"$1"
}
n=200
head -c $((n * 784)) /dev/urandom >"$tmp/pix"
head -c $n /dev/urandom | tr '\000-\377' '\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011\000-\011' >"$tmp/lab"
npy_header "$tmp/x.npy" "$n, 28, 28"; cat "$tmp/pix" >>"$tmp/x.npy"
npy_header "$tmp/y.npy" "$n,"; cat "$tmp/lab" >>"$tmp/y.npy"
mkdir "$tmp/shards"
first=0
for size in 64 64 72; do # uneven, so that batches straddle shard ends
    k=$((first / 64))
    npy_header "$tmp/shards/x_$k.npy" "$size, 28, 28"
    dd if="$tmp/pix" bs=784 skip=$first count=$size status=none >>"$tmp/shards/x_$k.npy"
    npy_header "$tmp/shards/y_$k.npy" "$size,"
    dd if="$tmp/lab" bs=1 skip=$first count=$size status=none >>"$tmp/shards/y_$k.npy"
    first=$((first + size))
done

train() { # out file, data source, extra options
    out=$1; data=$2; shift 2
    expect_rc 0 train --model ../examples/seed_cnn.json --data "$data" --epochs 2 --seed 5 \
        --validation-split 0.2 --verbose 0 --out "$out" "$@"
}
train "$tmp/mem.st" "$tmp/x.npy:$tmp/y.npy"
train "$tmp/mem_pf.st" "$tmp/x.npy:$tmp/y.npy" --prefetch
train "$tmp/shards.st" "$tmp/shards/x_*.npy:$tmp/shards/y_*.npy"
train "$tmp/shards_nopf.st" "$tmp/shards/x_*.npy:$tmp/shards/y_*.npy" --no-prefetch
for f in mem_pf shards shards_nopf; do
    cmp -s "$tmp/mem.st" "$tmp/$f.st" || fail "$f.st differs from training in memory"
done
ok "3 mapped shards and prefetch train the same bytes as one file in memory"

# Shards that do not pair up, or disagree, are refused with their names.
expect_rc 1 train --model ../examples/seed_cnn.json --data "$tmp/shards/x_*.npy:$tmp/shards/none_*.npy"
err_has "none_\*.npy: no file matches"
expect_rc 1 train --model ../examples/seed_cnn.json --data "$tmp/shards/x_[01].npy:$tmp/shards/y_*.npy"
err_has "matches 2 files but"
npy_header "$tmp/shards/x_9.npy" "1, 27, 28"
head -c 756 /dev/zero >>"$tmp/shards/x_9.npy"
expect_rc 1 train --model ../examples/seed_cnn.json --data "$tmp/shards/x_*.npy"
err_has "x_9.npy: x has dtype '|u1' and shape (1, 27, 28)"
err_has "shard 4 of 4"
ok "bad shard lists are refused"
