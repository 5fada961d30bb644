#!/bin/sh
# kill_resume.sh - trains a small Dense model with the lamina command and
# kills it with SIGKILL at random moments; after every kill the checkpoint,
# when there is one, must load and evaluate, nothing but a killed write's
# *.tmp.<pid> file may be left next to it, and `--resume` continues from it.
# Then one run is stopped with SIGINT, and a last run finishes all epochs.
#
# Usage: scripts/kill_resume.sh [KILLS]    (default 20)
# Environment: LAMINA_BUILD_DIR (default build), KILL_SEED (default: the pid),
#              EPOCHS (default 60), MAX_SLEEP seconds before a kill (default:
#              1.2 times a CHUNK-epoch run, measured first),
#              CHUNK epochs per run without --checkpoint-every (default 2),
#              ENCRYPT=1: every run writes with --encrypt and a fresh key in
#              LAMINA_KEY_FILE; the checkpoint must be encrypted after each kill
# Exit 1 on the first broken promise; one summary line per kill.
set -eu
kills=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LAMINA_BUILD_DIR:-$root/build}
L="$build/lamina"
E=${EPOCHS:-60}
seed=${KILL_SEED:-$$}
CHUNK=${CHUNK:-2}
[ -x "$L" ] || { echo "kill_resume: $L not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
ck="$tmp/ck" # the checkpoint's folder: nothing else may appear there
mkdir -p "$ck"
C="$ck/ckpt.safetensors"

fail() { echo "FAIL: $*" >&2; exit 1; }
enc_flag=""
if [ "${ENCRYPT:-0}" = 1 ]; then
    "$L" keygen "$tmp/model.key" >/dev/null || fail "lamina keygen"
    export LAMINA_KEY_FILE="$tmp/model.key"
    enc_flag="--encrypt"
fi
# The "epoch" entry of a model file's metadata (0 when there is no file); an
# encrypted file's is read through `lamina summary`, with the key.
epoch_of() {
    if [ ! -f "$1" ]; then echo 0
    elif [ -n "$enc_flag" ]; then "$L" summary "$1" | sed -n 's/^ *Trained: \([0-9]*\) epochs.*/\1/p' | grep . || echo 0
    else grep -a -o '"epoch":"[0-9]*"' "$1" | head -n 1 | tr -dc 0-9; fi
}

awk 'BEGIN { srand(3); printf "label"; for (j = 0; j < 16; j++) printf ",f%d", j; print "";
  for (i = 0; i < 4000; i++) { c = i % 3; printf "%d", c;
    for (j = 0; j < 16; j++) printf ",%.3f", (j % 3 == c ? 1 : 0) + rand() - .5; print "" } }' >"$tmp/d.csv"
cat >"$tmp/spec.json" <<'JSON'
{"module": "keras", "class_name": "Sequential", "config": {"name": "kill_resume", "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 16], "name": "input_layer"}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 256, "activation": "relu"}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "units": 3, "activation": "softmax"}}]}}
JSON

ckpt_flag=""
if "$L" train --help | grep -q -- --checkpoint-every; then
    ckpt_flag="--checkpoint-every 5"
else
    echo "note: this lamina has no --checkpoint-every: a model file is written only when a run" \
         "finishes, so each run trains $CHUNK more epochs and a killed run loses those"
fi

# The command that continues training, from the spec or from the checkpoint,
# up to epoch $1.
train_cmd() {
    if [ -f "$C" ]; then
        echo "$L train --resume $C --data $tmp/d.csv --epochs $1 --verbose 0 --threads 1 $ckpt_flag $enc_flag --out $C"
    else
        echo "$L train --model $tmp/spec.json --data $tmp/d.csv --epochs $1 --verbose 0 --threads 1 --seed 1 $ckpt_flag $enc_flag --out $C"
    fi
}
# The epoch a killed run aims at: all of them with in-epoch checkpoints, a
# few more without.
target() {
    if [ -n "$ckpt_flag" ]; then echo "$E"; else
        awk -v p="$prev" -v c="$CHUNK" -v e="$E" 'BEGIN { print (p + c < e ? p + c : e) }'
    fi
}

# After a kill: the checkpoint loads; only *.tmp.* files may be left; none
# other appears. Prints what it saw into $state.
check_folder() {
    state=""
    for f in "$ck"/* "$ck"/.[!.]*; do
        [ -e "$f" ] || continue
        case "$f" in
        "$C") ;;
        *.tmp.*) state="$state, left $(basename "$f") ($(wc -c <"$f") bytes; removed)"; rm -f "$f" ;;
        *) fail "unexpected file $f after a kill" ;;
        esac
    done
    if [ -f "$C" ] && [ -n "$enc_flag" ] && [ "$(head -c 6 "$C")" != LAMENC ]; then
        fail "the checkpoint is not encrypted after kill $1"
    fi
    if [ -f "$C" ]; then
        "$L" evaluate "$C" --data "$tmp/d.csv" >"$tmp/eval.out" 2>&1 ||
            { cat "$tmp/eval.out" >&2; fail "checkpoint does not load after kill $1"; }
    fi
}

# Calibration: how long one run of CHUNK epochs takes from start to exit;
# kills land uniformly within 1.2 times that (unless MAX_SLEEP is given).
now() { date +%s.%N; }
t0=$(now)
$(train_cmd "$CHUNK" | sed "s#--out $C#--out $tmp/cal.safetensors#") >/dev/null 2>&1
t1=$(now)
rm -f "$tmp/cal.safetensors"
run_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
max_sleep=${MAX_SLEEP:-$(awk -v r="$run_s" 'BEGIN { printf "%.3f", r * 1.2 }')}
echo "kill_resume: $kills SIGKILLs${enc_flag:+ (encrypted)}, $E epochs, seed $seed, $L; a $CHUNK-epoch run takes ${run_s}s, kills within ${max_sleep}s"
prev=0
start_all=$(date +%s)
i=1
while [ "$i" -le "$kills" ]; do
    t=$(awk -v s="$seed" -v i="$i" -v m="$max_sleep" 'BEGIN { srand(s * 1000 + i); printf "%.3f", rand() * m }')
    # shellcheck disable=SC2046
    $(train_cmd "$(target)") >"$tmp/train.out" 2>&1 &
    pid=$!
    sleep "$t"
    if kill -9 "$pid" 2>/dev/null; then how="killed after ${t}s"; else how="finished before ${t}s"; fi
    set +e
    { wait "$pid"; } 2>/dev/null
    rc=$?
    set -e
    if [ "$how" = "finished before ${t}s" ] && [ "$rc" -ne 0 ]; then
        cat "$tmp/train.out" >&2
        fail "run $i exited $rc without being killed"
    fi
    check_folder "$i"
    ep=$(epoch_of "$C")
    [ "$ep" -ge "$prev" ] || fail "kill $i: checkpoint went back from epoch $prev to $ep"
    echo "kill $i: $how (exit $rc); checkpoint: $([ -f "$C" ] && echo "epoch $ep, loads" || echo none)$state"
    prev=$ep
    i=$((i + 1))
done

# SIGINT: lam_fit stops at the end of the step; the command exits 130 with
# lam_fit's message and the resume hint, and the checkpoint still loads. A
# run that was already gone when the signal was sent must have finished
# normally (exit 0). Exit 130 without the message would be the default
# action of SIGINT (the handler missing), which the shell reports the same.
$(train_cmd "$E") >"$tmp/train.out" 2>&1 &
pid=$!
sleep "$(awk -v r="$run_s" 'BEGIN { printf "%.3f", r / 2 }')"
if kill -INT "$pid" 2>/dev/null; then sent=1; else sent=0; fi
set +e
{ wait "$pid"; } 2>/dev/null
rc=$?
set -e
check_folder sigint
echo "SIGINT: exit $rc ($(tr '\n' ' ' <"$tmp/train.out" | cut -c1-120)); checkpoint: epoch $(epoch_of "$C")"
if [ "$sent" = 1 ]; then
    [ "$rc" -eq 130 ] || { cat "$tmp/train.out" >&2; fail "SIGINT: exit $rc, expected 130"; }
    grep -q "training stopped on request" "$tmp/train.out" ||
        { cat "$tmp/train.out" >&2; fail "SIGINT: exit 130 without lam_fit's stop message (killed by the signal?)"; }
    grep -q "continue with .lamina train --resume $C" "$tmp/train.out" ||
        { cat "$tmp/train.out" >&2; fail "SIGINT: no resume hint naming the checkpoint"; }
else
    [ "$rc" -eq 0 ] || { cat "$tmp/train.out" >&2; fail "SIGINT: the run ended before the signal with exit $rc"; }
fi

# The last run finishes every epoch, and the model loads.
$(train_cmd "$E") >"$tmp/train.out" 2>&1 || { cat "$tmp/train.out" >&2; fail "the final resume failed"; }
check_folder final
[ "$(epoch_of "$C")" -eq "$E" ] || fail "final model at epoch $(epoch_of "$C"), expected $E"
acc=$("$L" evaluate "$C" --data "$tmp/d.csv" --json | sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p')
echo "final: all $E epochs done, model loads, accuracy ${acc:-?}; $(($(date +%s) - start_all)) s in all"
