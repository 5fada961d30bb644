#!/bin/sh
# test_mpi.sh - data-parallel training over MPI processes (lamina_dist.h,
# docs/SCALE_OUT.md): `mpirun -np N lamina train` gives the weights one
# process gives (relative difference of every tensor under 1e-5) for N = 2
# and 3 (uneven slices, and ranks with empty slices), dropout included; two
# -np 2 runs give identical files; a run resumed with another N finishes as
# an uninterrupted one; only rank 0 prints and writes. Skips (77) without
# mpirun or in a build without MPI. POSIX sh; run by ctest from tests/.
set -eu

. "$(dirname "$0")/cli_common.sh"

. "$(dirname "$0")/mpi_common.sh"
# --oversubscribe: more ranks than cores on a small machine; the timeout
# turns a hang into a failure.
mpi() { n=$1; shift; timeout 300 mpirun --oversubscribe --bind-to none -np "$n" "$L" "$@"; }

tiny_csv "$tmp/d.csv"
mpi_dropout_model "$tmp/drop.json"
mpi_require mpi 1 train --dist mpi --model "$tmp/drop.json" --data "$tmp/d.csv" --epochs 1 \
    --verbose 0

# 200 samples, global batch 20, 2 epochs: 20 steps, with dropout.
train_args="--model $tmp/drop.json --data $tmp/d.csv --epochs 2 --batch-size 20 --lr 0.01 --threads 1"
"$L" train $train_args --verbose 2 --out "$tmp/one.safetensors" >"$tmp/one.txt"
mpi 2 train $train_args --verbose 2 --out "$tmp/two.safetensors" >"$tmp/two.txt" 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "mpirun -np 2 lamina train failed"; }
"$D" "$tmp/one.safetensors" "$tmp/two.safetensors" 1e-5 || fail "-np 2 weights differ from one process'"
ok "-np 2 = one process (20 steps, dropout): $("$D" "$tmp/one.safetensors" "$tmp/two.safetensors" 1)"
# The progress lines (loss and accuracy summed over the ranks) agree.
grep -o 'accuracy.*' "$tmp/one.txt" >"$tmp/one.p"
grep -o 'accuracy.*' "$tmp/two.txt" >"$tmp/two.p"
cmp -s "$tmp/one.p" "$tmp/two.p" || { diff "$tmp/one.p" "$tmp/two.p" >&2; fail "progress lines differ"; }
[ "$(grep -c "^saved" "$tmp/two.txt")" -eq 1 ] || fail "more than one rank printed: $(cat "$tmp/two.txt")"
ok "-np 2: one progress display (rank 0's), equal to one process' losses"

mpi 2 train $train_args --verbose 0 --out "$tmp/two_again.safetensors" >/dev/null
cmp "$tmp/two.safetensors" "$tmp/two_again.safetensors" || fail "two -np 2 runs differ"
ok "-np 2 twice: identical files"

# Each rank's prefetch thread gathers only its slice of the next batch.
mpi 2 train $train_args --verbose 0 --prefetch --out "$tmp/two_pf.safetensors" >/dev/null
cmp "$tmp/two.safetensors" "$tmp/two_pf.safetensors" || fail "-np 2 with --prefetch differs"
ok "-np 2 with --prefetch: the same file"

# Three ranks: slices of 7, 7, 6 samples.
mpi 3 train $train_args --verbose 0 --out "$tmp/three.safetensors" >/dev/null
"$D" "$tmp/one.safetensors" "$tmp/three.safetensors" 1e-5 || fail "-np 3 weights differ"
ok "-np 3 (uneven slices) = one process"

# A global batch of 2 on 3 ranks: one rank has nothing to compute each step.
small="--model $tmp/drop.json --data $tmp/d.csv --limit 40 --epochs 1 --batch-size 2 --threads 1 --verbose 0"
"$L" train $small --out "$tmp/s1.safetensors" >/dev/null
mpi 3 train $small --out "$tmp/s3.safetensors" >/dev/null
"$D" "$tmp/s1.safetensors" "$tmp/s3.safetensors" 1e-5 || fail "-np 3 with empty slices differs"
ok "batch 2 on 3 ranks (an empty slice every step) = one process"

# Resume with another N: 1 epoch on 2 ranks, then epoch 2 on 1 process and
# on 3 ranks, against the uninterrupted 2-epoch run.
mpi 2 train $train_args --epochs 1 --verbose 0 --out "$tmp/r.safetensors" >/dev/null
cp "$tmp/r.safetensors" "$tmp/r3.safetensors"
"$L" train --resume "$tmp/r.safetensors" --data "$tmp/d.csv" --epochs 2 --batch-size 20 \
    --threads 1 --verbose 0 >/dev/null
mpi 3 train --resume "$tmp/r3.safetensors" --data "$tmp/d.csv" --epochs 2 --batch-size 20 \
    --threads 1 --verbose 0 >/dev/null
"$D" "$tmp/one.safetensors" "$tmp/r.safetensors" 1e-5 || fail "resumed on 1 process differs"
"$D" "$tmp/one.safetensors" "$tmp/r3.safetensors" 1e-5 || fail "resumed on 3 ranks differs"
ok "1 epoch on 2 ranks, resumed on 1 process or 3 ranks = 2 epochs at once"

# DP-SGD over 2 ranks: the same Poisson batches, each rank clipping its
# slice, rank 0's noise (seeded here, so one process draws the same).
dp="$train_args --dp-clip 0.5 --dp-noise 1.1 --dp-delta 1e-5 --dp-seeded-noise --verbose 0 --json"
"$L" train $dp --out "$tmp/dp1.safetensors" >"$tmp/dp1.json"
mpi 2 train $dp --out "$tmp/dp2.safetensors" >"$tmp/dp2.json" 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "mpirun -np 2 lamina train --dp-clip failed"; }
"$D" "$tmp/dp1.safetensors" "$tmp/dp2.safetensors" 1e-5 || fail "DP-SGD: -np 2 differs"
eps() { sed -n 's/.*"epsilon":\([0-9.eE+-]*\).*/\1/p' "$1" | head -n 1; }
[ -n "$(eps "$tmp/dp1.json")" ] && [ "$(eps "$tmp/dp1.json")" = "$(eps "$tmp/dp2.json")" ] ||
    fail "DP-SGD: epsilon $(eps "$tmp/dp1.json") on one process, $(eps "$tmp/dp2.json") on 2"
ok "DP-SGD, -np 2 = one process (seeded noise, Poisson batches): $("$D" "$tmp/dp1.safetensors" "$tmp/dp2.safetensors" 1); epsilon $(eps "$tmp/dp2.json") both"

expect_rc 2 train --dist tcp --model "$tmp/drop.json" --data "$tmp/d.csv"
err_has "--dist is mpi or none"
ok "--dist tcp refused"

if mpi_seed_cnn mpi 2; then
    mpi 2 train $cnn --out "$tmp/c2b.safetensors" >/dev/null
    cmp "$tmp/c2.safetensors" "$tmp/c2b.safetensors" || fail "seed CNN: two -np 2 runs differ"
    ok "seed CNN, 20 steps: -np 2 = one process: $("$D" "$tmp/c1.safetensors" "$tmp/c2.safetensors" 1); -np 2 twice identical"
fi
