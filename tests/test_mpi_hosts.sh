#!/bin/sh
# test_mpi_hosts.sh - data-parallel training across several hosts, the hosts
# being network namespaces of this machine joined by veth pairs through a
# bridge (scripts/netns_hosts.sh; docs/SCALE_OUT.md): mpirun starts the ranks
# on the other hosts through an rsh agent and they talk TCP over the veths
# (never shared memory). Checks: 2 hosts x 1 rank give the weights one process
# gives (every tensor within 1e-5 relative), the traffic crossed host 1's
# link and nothing was made in the root namespace; the same run twice gives
# identical files; 3 hosts agree with one process; the seed CNN on 2,000
# Fashion-MNIST images too when installed. Then host 1 cut off mid-run (its
# link set down), twice: ended by lamina's --dist-timeout (rank 0's error
# message), then by Open MPI's keepalive on its daemons (nothing left on host
# 1): each time mpirun ends within 60 s with an error, rank 0's last
# checkpoint loads, and a resumed run on one process finishes. Skips (77)
# without mpirun, in a build without MPI, or where namespaces cannot be made
# (not root). POSIX sh; run by ctest from tests/; about 30 s.
set -eu

. "$(dirname "$0")/cli_common.sh"

. "$(dirname "$0")/mpi_common.sh"

. "$(dirname "$0")/../scripts/netns_hosts.sh"
netns_require
# netns_down kills what runs in the namespaces and deletes them whatever
# happens; INT and TERM exit so that the EXIT trap runs.
trap 'netns_down; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

tiny_csv "$tmp/d.csv"
mpi_dropout_model "$tmp/drop.json"

root_links=$(ip -o link show | wc -l)
netns_up 3
[ "$(ip -o link show | wc -l)" -eq "$root_links" ] || fail "netns_up made links in the root namespace"
# Bytes host $1 sent and received on its link.
link_bytes() {
    ip netns exec "$(netns_host "$1")" cat /sys/class/net/eth0/statistics/tx_bytes \
        /sys/class/net/eth0/statistics/rx_bytes | awk '{ s += $1 } END { print s }'
}

NETNS_TIMEOUT=60
mpi_require netns_mpirun 1 "$L" train --dist mpi --model "$tmp/drop.json" --data "$tmp/d.csv" \
    --epochs 1 --verbose 0
NETNS_TIMEOUT=120

# 200 samples, global batch 20, 2 epochs: 20 steps, with dropout.
train_args="--model $tmp/drop.json --data $tmp/d.csv --epochs 2 --batch-size 20 --lr 0.01 --threads 1"
"$L" train $train_args --verbose 0 --out "$tmp/one.safetensors" >/dev/null
b0=$(link_bytes 1)
netns_mpirun 2 "$L" train $train_args --verbose 0 --json \
    --out "$tmp/two.safetensors" >"$tmp/two.json" 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "2 hosts: mpirun failed"; }
crossed=$(($(link_bytes 1) - b0))
grep -q '"dist":{"ranks":2' "$tmp/two.json" || fail "2 hosts: not 2 ranks: $(cat "$tmp/two.json")"
# 20 allreduces of the 114 gradients (456 bytes) each way at least.
[ $crossed -gt 18240 ] || fail "2 hosts: only $crossed bytes crossed host 1's link"
"$D" "$tmp/one.safetensors" "$tmp/two.safetensors" 1e-5 >/dev/null || fail "2 hosts: weights differ from one process'"
diff=$("$D" "$tmp/one.safetensors" "$tmp/two.safetensors" 1)
ok "2 hosts x 1 rank = one process (20 steps, dropout): $diff; $crossed bytes over host 1's link"

netns_mpirun 2 "$L" train $train_args --verbose 0 \
    --out "$tmp/two_again.safetensors" >/dev/null 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "2 hosts, second run: mpirun failed"; }
cmp "$tmp/two.safetensors" "$tmp/two_again.safetensors" || fail "two 2-host runs differ"
ok "2 hosts twice: identical files"

# Three hosts: slices of 7, 7, 6 samples.
netns_mpirun 3 "$L" train $train_args --verbose 0 \
    --out "$tmp/three.safetensors" >/dev/null 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "3 hosts: mpirun failed"; }
"$D" "$tmp/one.safetensors" "$tmp/three.safetensors" 1e-5 >/dev/null || fail "3 hosts: weights differ"
ok "3 hosts x 1 rank (uneven slices) = one process: $("$D" "$tmp/one.safetensors" "$tmp/three.safetensors" 1)"

if mpi_seed_cnn netns_mpirun 2 "$L"; then
    ok "seed CNN, 20 steps: 2 hosts = one process: $("$D" "$tmp/c1.safetensors" "$tmp/c2.safetensors" 1)"
fi

# Host 1 cut off mid-run: its link set down while the two ranks train (a
# checkpoint every 20 steps), as a pulled cable or a dead switch port would.
# No packet is refused (no reset), nothing tells either side: each waits.
h1=$(netns_host 1)
# What checkpoint $1 holds: "N epochs, M optimizer steps".
trained() { "$L" summary "$1" | sed -n 's/^ *Trained: //p'; }
# cut_off NAME MPIRUN_OPTIONS...: the run, the cut, then sets rc, t (seconds
# from the cut to mpirun's end), left (the processes still on host 1), ck.
cut_off() {
    name=$1
    shift
    ck="$tmp/ck_$name.safetensors"
    netns_mpirun 2 "$@" "$L" train --model "$tmp/drop.json" --data "$tmp/d.csv" \
        --batch-size 2 --epochs 2000 --threads 1 --verbose 0 --dist-timeout 10 \
        --checkpoint-every 20 --out "$ck" >"$tmp/out" 2>"$tmp/err_$name" &
    job=$!
    tries=0
    while [ ! -f "$ck" ]; do
        tries=$((tries + 1))
        [ $tries -lt 400 ] || { cat "$tmp/err_$name" >&2; fail "cut-off $name: no checkpoint after 20 s"; }
        sleep 0.05
    done
    sleep 1
    t0=$(date +%s)
    ip -n "$h1" link set eth0 down
    set +e
    wait $job
    rc=$?
    set -e
    t=$(($(date +%s) - t0))
    left=$(for p in $(ip netns pids "$h1"); do cat "/proc/$p/comm" 2>/dev/null; done | tr '\n' ' ')
    [ $rc -ne 0 ] || fail "cut-off $name: the job exited 0"
    [ $rc -ne 124 ] || { cat "$tmp/err_$name" >&2; fail "cut-off $name: mpirun hung (killed after 120 s)"; }
    [ $t -le 60 ] || fail "cut-off $name: mpirun took ${t}s to end"
    "$D" "$ck" "$ck" 0 >/dev/null || fail "cut-off $name: the checkpoint does not load"
    "$L" train --resume "$ck" --data "$tmp/d.csv" --batch-size 2 --threads 1 --verbose 0 \
        >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; fail "cut-off $name: resume failed"; }
    # The next run gets host 1 back, with none of this run's processes.
    netns_kill "$h1"
    ip -n "$h1" link set eth0 up
}

# 1. lamina's --dist-timeout 10: rank 0's collective fails after 10 s, rank 0
# exits 1 and mpirun aborts the job. Open MPI's mpirun then orders host 1's
# daemon to kill rank 1 and waits for it over the dead link until TCP gives
# up on the message: 15 retransmissions (net.ipv4.tcp_retries2), about 15
# minutes, and mpirun hangs so long (measured with --dist-timeout 60: 990 s
# from the cut to mpirun's end). Host 0 is
# set to give up after 3 retransmissions (about 3 s; a per-namespace setting).
if ip netns exec "$(netns_host 0)" sysctl -qw net.ipv4.tcp_retries2=3 2>/dev/null; then
    cut_off timeout
    grep -q "did not complete within 10 s" "$tmp/err_timeout" ||
        { cat "$tmp/err_timeout" >&2; fail "cut-off: no --dist-timeout error from rank 0"; }
    sed -n 's/^/    | /; /lamina:/p; /exited with non-zero/p' "$tmp/err_timeout"
    ok "host 1 cut off, --dist-timeout 10: mpirun ended in ${t}s (exit $rc) with rank 0's error;" \
       "checkpoint ($(trained "$ck")) loads, resumed on one process; left on host 1: ${left:-nothing}"
    ip netns exec "$(netns_host 0)" sysctl -qw net.ipv4.tcp_retries2=15
else
    echo "(cut-off with --dist-timeout skipped: net.ipv4.tcp_retries2 cannot be set in a namespace here)"
fi

# 2. Open MPI's own watch on its daemons: TCP keepalive on the runtime's
# connections (idle during training) probing after 2 s, every 1 s, giving up
# after 3 unanswered: mpirun and host 1's daemon each see the other gone
# within about 5 s, before lamina's timeout, and end every rank on both hosts.
cut_off keepalive --mca oob_tcp_keepalive_time 2 --mca oob_tcp_keepalive_intvl 1 \
    --mca oob_tcp_keepalive_probes 3
grep -q "lost communication with a remote daemon" "$tmp/err_keepalive" ||
    { cat "$tmp/err_keepalive" >&2; fail "cut-off: no error naming the lost daemon"; }
sed -n 's/^/    | /; /lost communication/p; /Remote daemon/p' "$tmp/err_keepalive"
[ -z "$left" ] || fail "cut-off with keepalive: left on host 1: $left"
ok "host 1 cut off, runtime keepalive 2+3x1 s: mpirun ended in ${t}s (exit $rc), nothing left" \
   "on host 1; checkpoint ($(trained "$ck")) loads, resumed on one process"
