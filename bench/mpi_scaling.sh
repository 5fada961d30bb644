#!/bin/sh
# mpi_scaling.sh - data-parallel throughput of `lamina train` on one machine:
# samples/s of the seed CNN for 1 process x 1 thread against N processes x 1
# thread (mpirun -np N, one core each), same global batch, same data, and
# the share of rank 0's training time spent in MPI collectives (waits for
# the slower rank included). Run it on an idle machine with >= N free cores:
# the issue's target is N=2 at >= 90% of twice the 1-process figure.
#
#   bench/mpi_scaling.sh [BUILD_DIR] [N] [SAMPLES] [BATCH]   (defaults: build 2 6000 128)
#
# Needs Fashion-MNIST (scripts/install-deps.sh --data) and Open MPI.
set -eu
B=${1:-build}
N=${2:-2}
S=${3:-6000}
BATCH=${4:-128}
L="$B/lamina"
here=$(cd "$(dirname "$0")/.." && pwd)
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
args="--model $here/examples/seed_cnn.json --data fashion-mnist --limit $S --test-limit 1"
args="$args --epochs 2 --batch-size $BATCH --threads 1 --verbose 0 --json"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# The second epoch's seconds: the first warms caches and the memory plan.
epoch2() { sed -n 's/.*"epoch":2,[^}]*"seconds":\([0-9.eE+-]*\).*/\1/p' "$1"; }
"$L" train $args >"$tmp/one.json"
mpirun ${MPI_BIND:---bind-to core --map-by core} -np "$N" "$L" train $args >"$tmp/n.json"
t1=$(epoch2 "$tmp/one.json")
tn=$(epoch2 "$tmp/n.json")
comm=$(sed -n 's/.*"comm_seconds":\([0-9.eE+-]*\).*/\1/p' "$tmp/n.json")
total=$(sed -n 's/.*"history":\[\(.*\)\].*/\1/p' "$tmp/n.json" |
        awk -F'"seconds":' '{ s = 0; for (i = 2; i <= NF; i++) s += $i + 0; print s }')
awk -v s="$S" -v t1="$t1" -v tn="$tn" -v n="$N" -v c="$comm" -v tt="$total" 'BEGIN {
    a = s / t1; b = s / tn;
    printf "seed CNN, %d samples, global batch '"$BATCH"', epoch 2, 1 thread per process\n", s;
    printf "1 process : %8.0f samples/s\n", a;
    printf "%d processes: %8.0f samples/s = %.1f%% of %d x 1 process\n", n, b, 100 * b / (n * a), n;
    printf "rank 0 in collectives: %.1f%% of its training time (both epochs)\n", 100 * c / tt }'
