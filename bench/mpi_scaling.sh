#!/bin/sh
# mpi_scaling.sh - data-parallel throughput of `lamina train` on one machine:
# samples/s of a seed model for 1 process x 1 thread against N processes x 1
# thread (mpirun -np N, one core each), same global batch, same data, and
# the share of rank 0's training time spent in MPI collectives (waits for
# the slower rank included). Run it on an idle machine with >= N free cores:
# the issue's target is N=2 at >= 90% of twice the 1-process figure.
#
#   bench/mpi_scaling.sh [--hosts] [--model cnn|lstm] [BUILD_DIR] [N] [SAMPLES] [BATCH]
#                                          (defaults: cnn, build 2 6000 128)
#
# --model lstm measures the seed LSTM (examples/seed_lstm.json: the images'
# 28 rows as a sequence of 28 steps) instead of the seed CNN. --hosts also
# runs the N processes across N hosts, one rank each: network namespaces of
# this machine joined by veth pairs (scripts/netns_hosts.sh; needs root),
# the ranks talking TCP over the veths instead of shared memory.
# Needs Fashion-MNIST (scripts/install-deps.sh --data) and Open MPI.
set -eu
hosts=0
model=cnn
while [ $# -gt 0 ]; do
    case "$1" in
        --hosts) hosts=1; shift ;;
        --model) model=$2; shift 2 ;;
        --model=*) model=${1#--model=}; shift ;;
        *) break ;;
    esac
done
B=${1:-build}
N=${2:-2}
S=${3:-6000}
BATCH=${4:-128}
here=$(cd "$(dirname "$0")/.." && pwd)
L="$(cd "$B" && pwd)/lamina"
case "$model" in
    cnn) json=$here/examples/seed_cnn.json; name="seed CNN" ;;
    lstm) json=$here/examples/seed_lstm.json; name="seed LSTM" ;;
    *) echo "mpi_scaling.sh: --model is cnn or lstm, not '$model'" >&2; exit 2 ;;
esac
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
args="--model $json --data fashion-mnist --limit $S --test-limit 1"
args="$args --epochs 2 --batch-size $BATCH --threads 1 --verbose 0 --json"
tmp=$(mktemp -d)
if [ $hosts -eq 1 ]; then
    . "$here/scripts/netns_hosts.sh"
    netns_require
    trap 'netns_down; rm -rf "$tmp"' EXIT
    trap 'exit 1' INT TERM HUP
    netns_up "$N"
else
    trap 'rm -rf "$tmp"' EXIT INT TERM
fi
# The second epoch's seconds: the first warms caches and the memory plan.
epoch2() { sed -n 's/.*"epoch":2,[^}]*"seconds":\([0-9.eE+-]*\).*/\1/p' "$1"; }
comm() { sed -n 's/.*"comm_seconds":\([0-9.eE+-]*\).*/\1/p' "$1"; }
total() {
    sed -n 's/.*"history":\[\(.*\)\].*/\1/p' "$1" |
        awk -F'"seconds":' '{ s = 0; for (i = 2; i <= NF; i++) s += $i + 0; print s }'
}
# ROUNDS rounds (default 3), each running every setting once, back to back,
# so that a slow spell of the machine hits all of them; medians reported.
# "independent" is the machine's own ceiling: N single processes, each on
# its own core with batch/N and no communication, run at once.
rounds=${ROUNDS:-3}
nproc_batch=$((BATCH / N))
r=1
while [ $r -le "$rounds" ]; do
    "$L" train $args >"$tmp/one.$r.json"
    mpirun ${MPI_BIND:---bind-to core --map-by core} -np "$N" "$L" train $args >"$tmp/n.$r.json"
    [ $hosts -eq 0 ] || netns_mpirun "$N" "$L" train $args >"$tmp/h.$r.json"
    k=0
    while [ $k -lt "$N" ]; do
        taskset -c "$k" "$L" train $args --batch-size "$nproc_batch" >"$tmp/i$k.$r.json" &
        k=$((k + 1))
    done
    wait
    r=$((r + 1))
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# rate KIND: samples/s of every round, one per line (N independent: their sum).
rate() {
    r=1
    while [ $r -le "$rounds" ]; do
        if [ "$1" = i ]; then
            k=0
            while [ $k -lt "$N" ]; do epoch2 "$tmp/i$k.$r.json"; k=$((k + 1)); done |
                awk -v s="$S" '{ t += s / $1 } END { print t }'
        else
            awk -v s="$S" -v t="$(epoch2 "$tmp/$1.$r.json")" 'BEGIN { print s / t }'
        fi
        r=$((r + 1))
    done
}
share() { # KIND: rank 0's share of time in collectives, every round
    r=1
    while [ $r -le "$rounds" ]; do
        awk -v c="$(comm "$tmp/$1.$r.json")" -v t="$(total "$tmp/$1.$r.json")" \
            'BEGIN { print 100 * c / t }'
        r=$((r + 1))
    done
}
a=$(rate one | median)
echo "$name, $S samples, global batch $BATCH, epoch 2, 1 thread per process;" \
     "medians of $rounds rounds (each round's values in brackets)"
printf "1 process : %8.0f samples/s  [%s]\n" "$a" "$(rate one | awk '{ printf "%.0f ", $1 }')"
# line KIND LABEL: samples/s of N ranks, % of N x one process, time in collectives.
line() {
    b=$(rate "$1" | median)
    printf "%d %s: %8.0f samples/s = %.1f%% of %d x 1 process  [%s]" "$N" "$2" "$b" \
        "$(awk -v a="$a" -v b="$b" -v n="$N" 'BEGIN { print 100 * b / (n * a) }')" "$N" \
        "$(rate "$1" | awk '{ printf "%.0f ", $1 }')"
    if [ "$1" = i ]; then echo; return; fi
    printf "; rank 0 in collectives %.1f%% of its time\n" "$(share "$1" | median)"
}
line n "processes, one machine (shared memory)"
[ $hosts -eq 0 ] || line h "namespace hosts x 1 rank (TCP over veth)"
line i "independent processes, batch $nproc_batch each, no communication (the machine's ceiling)"
