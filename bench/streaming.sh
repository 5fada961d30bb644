#!/bin/sh
# streaming.sh - data larger than memory (docs/STREAMING.md): the seed CNN trained
# for STEPS steps from a generated SIZE_MB .npy (uint8 28x28 samples + int32 labels),
# memory-mapped as one file and as SHARDS shards, against the same step count from
# a small file held in memory. Reports the peak RSS (/usr/bin/time -v) and samples/s.
#
#   bench/streaming.sh [SIZE_MB (4096)] [STEPS (300)] [DIR (/tmp/lamina_streaming)]
#
# Environment: BUILD (the build folder, default build), SHARDS (default 8),
# BATCH (default 32), THREADS (OMP_NUM_THREADS for the runs, default 1).
# The files stay in DIR for a rerun (delete it when done: 2 x SIZE_MB).
set -eu
SIZE_MB=${1:-4096}
STEPS=${2:-300}
DIR=${3:-/tmp/lamina_streaming}
BUILD=${BUILD:-build}
SHARDS=${SHARDS:-8}
BATCH=${BATCH:-32}
export OMP_NUM_THREADS=${THREADS:-1}
BIN=$BUILD/bench/bench_streaming
[ -x "$BIN" ] || { echo "build $BIN first (cmake --build $BUILD)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

N=$((SIZE_MB * 1024 * 1024 / 784))
mkdir -p "$DIR/big" "$DIR/small"
if [ ! -f "$DIR/big/.n$N-s$SHARDS" ]; then
    echo "generating $N samples ($SIZE_MB MB of pixels) and $SHARDS shards in $DIR/big ..."
    rm -f "$DIR"/big/*.npy "$DIR"/big/.n*
    "$BIN" generate "$DIR/big" "$N" "$SHARDS"
    touch "$DIR/big/.n$N-s$SHARDS"
fi
[ -f "$DIR/small/x.npy" ] || "$BIN" generate "$DIR/small" 60000 1
df -h "$DIR" | tail -1
ls -l "$DIR/big/x.npy" "$DIR/small/x.npy"

# The throughput target is for a file in the page cache: read it once first.
cat "$DIR"/big/x.npy "$DIR"/big/x_*.npy > /dev/null

run() { # label, then bench_streaming train arguments
    label=$1
    shift
    /usr/bin/time -v "$BIN" train "$@" 2> "$DIR/time.txt" | sed "s|^|$label: |"
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DIR/time.txt")
    echo "$label: peak RSS $((rss / 1024)) MB"
}
run "in memory (60000 samples)" "$STEPS" "$BATCH" memory noprefetch "$DIR/small/x.npy:$DIR/small/y.npy"
run "in memory + prefetch    " "$STEPS" "$BATCH" memory prefetch "$DIR/small/x.npy:$DIR/small/y.npy"
run "mapped, one file        " "$STEPS" "$BATCH" auto prefetch "$DIR/big/x.npy:$DIR/big/y.npy"
run "mapped, no prefetch     " "$STEPS" "$BATCH" auto noprefetch "$DIR/big/x.npy:$DIR/big/y.npy"
run "mapped, $SHARDS shards       " "$STEPS" "$BATCH" auto prefetch "$DIR/big/x_*.npy:$DIR/big/y_*.npy"
