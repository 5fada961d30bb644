#!/bin/sh
# test_mpi_kill.sh - a data-parallel run (`mpirun -np 2 lamina train`) whose
# rank 1 is SIGKILLed at a random moment ends within a bounded time with an
# error naming the dead rank (Open MPI's mpirun ends the job), leaves rank
# 0's last checkpoint loadable (saves are atomic), and a resumed run from
# that checkpoint finishes. MPI_KILLS=N repeats it N times (default 3; the
# acceptance run uses 10). Then a rank that stops answering without dying
# (SIGSTOP: what a host cut off looks like to its peers, which no process
# exit reports) ends the job within --dist-timeout. Skips (77) without
# mpirun or without MPI.
set -eu

. "$(dirname "$0")/cli_common.sh"

. "$(dirname "$0")/mpi_common.sh"

tiny_csv "$tmp/d.csv"
cat >"$tmp/m.json" <<'JSON'
{"module": "keras", "class_name": "Sequential", "config": {"name": "tiny", "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "input_layer"}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 16, "activation": "relu"}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "units": 2, "activation": "softmax"}}]}}
JSON
mpi_require timeout 60 mpirun --oversubscribe -np 1 "$L" train --dist mpi --model "$tmp/m.json" \
    --data "$tmp/d.csv" --verbose 0

# The pid of rank 1 of the mpirun started as job $1: the child of mpirun
# whose environment says so (empty if it never started).
rank1_of() {
    r=""
    tries=0
    while [ -z "$r" ] && [ $tries -lt 200 ]; do
        tries=$((tries + 1))
        sleep 0.05
        for p in $(pgrep -P "$(pgrep -P "$1" | head -n 1)" 2>/dev/null); do
            tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && r=$p
        done
    done
    echo "$r"
}

kills=${MPI_KILLS:-3}
i=0
while [ $i -lt $kills ]; do
    i=$((i + 1))
    ck="$tmp/ck$i.safetensors"
    # 100 steps an epoch, a checkpoint every 20: far longer than the kill delay.
    timeout 120 mpirun --oversubscribe --bind-to none -np 2 "$L" train --model "$tmp/m.json" \
        --data "$tmp/d.csv" --batch-size 2 --epochs 2000 --threads 1 --verbose 0 \
        --checkpoint-every 20 --out "$ck" >"$tmp/out" 2>"$tmp/err" &
    job=$!
    victim=$(rank1_of $job)
    [ -n "$victim" ] || { kill $job 2>/dev/null; fail "kill $i: rank 1 never started"; }
    # A random moment after training began (the first save is at the start).
    while [ ! -f "$ck" ]; do sleep 0.05; done
    sleep "$(awk -v s=$i 'BEGIN { srand(s * 7919); printf "%.2f", 0.2 + rand() * 1.5 }')"
    t0=$(date +%s)
    kill -9 "$victim"
    set +e
    wait $job
    rc=$?
    set -e
    t=$(($(date +%s) - t0))
    [ $rc -ne 0 ] || fail "kill $i: the job exited 0 after rank 1 was killed"
    [ $rc -ne 124 ] || fail "kill $i: the job hung after rank 1 was killed"
    [ $t -le 60 ] || fail "kill $i: the job took ${t}s to end"
    grep -q "signal 9\|Killed\|exited on signal" "$tmp/err" ||
        { cat "$tmp/err" >&2; fail "kill $i: no error naming the killed rank"; }
    "$D" "$ck" "$ck" 0 >/dev/null || fail "kill $i: the checkpoint $ck does not load"
    # Resuming (on one process) finishes: one more epoch than the checkpoint holds.
    "$L" train --resume "$ck" --data "$tmp/d.csv" --batch-size 2 --threads 1 --verbose 0 \
        >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; fail "kill $i: resume failed"; }
    [ $i -gt 1 ] || sed -n 's/^/    | /p' "$tmp/err" | head -n 12
    ok "kill $i: ended in ${t}s (exit $rc), checkpoint loads, resumed run finished"
done

# Rank 1 stopped (SIGSTOP) mid-run: alive, so mpirun sees nothing; rank 0
# gives up after --dist-timeout 2 with a message, and mpirun ends the job.
ck="$tmp/stall.safetensors"
timeout 120 mpirun --oversubscribe --bind-to none -np 2 "$L" train --model "$tmp/m.json" \
    --data "$tmp/d.csv" --batch-size 2 --epochs 2000 --threads 1 --verbose 0 \
    --checkpoint-every 20 --dist-timeout 2 --out "$ck" >"$tmp/out" 2>"$tmp/err" &
job=$!
victim=$(rank1_of $job)
[ -n "$victim" ] || { kill $job 2>/dev/null; fail "stall: rank 1 never started"; }
while [ ! -f "$ck" ]; do sleep 0.05; done
sleep 0.5
t0=$(date +%s)
kill -STOP "$victim"
set +e
wait $job
rc=$?
set -e
t=$(($(date +%s) - t0))
kill -9 "$victim" 2>/dev/null || true
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "stall: the job exited $rc with rank 1 stopped"
[ $t -le 30 ] || fail "stall: the job took ${t}s to end (--dist-timeout 2)"
grep -q "rank 0 of 2: .* did not complete within 2 s" "$tmp/err" ||
    { cat "$tmp/err" >&2; fail "stall: no error naming the wait that timed out"; }
"$D" "$ck" "$ck" 0 >/dev/null || fail "stall: the checkpoint does not load"
sed -n 's/^/    | /p' "$tmp/err" | head -n 4
ok "rank 1 stopped: the job ended in ${t}s (exit $rc) with rank 0's timeout, checkpoint loads"
