# netns_hosts.sh - several "hosts" on one machine as Linux network namespaces,
# for trying `mpirun` across hosts without a cluster (tests/test_mpi_hosts.sh,
# bench/mpi_scaling.sh --hosts). POSIX sh, sourced; needs root (CAP_SYS_ADMIN)
# and iproute2's `ip`.
#
# netns_up N creates N host namespaces NETNS_PREFIX"h0".."h<N-1>" and one
# "switch" namespace NETNS_PREFIX"sw" holding a bridge; host i reaches it by a
# veth pair (eth0 in the host, "h<i>" on the bridge) and has the address
# $NETNS_NET.<i+1>/24 and lo up. Nothing is created in the root namespace (the
# veth pairs are made inside the switch namespace, one end moved to the host),
# so the traffic between the hosts never leaves these namespaces. Cutting
# host i off: ip -n "$(netns_host i)" link set eth0 down.
#
# netns_mpirun NP ARGS... runs `mpirun ARGS` inside host 0 over a hostfile of
# the first NP hosts' addresses (one slot each: one rank per host), with
# the TCP transport only (btl tcp,self: ranks on different hosts never share
# memory) on the /24 for both the MPI traffic (btl_tcp_if_include) and the
# runtime's own (oob_tcp_if_include). Open MPI starts its daemon (orted) on
# the other hosts through an rsh agent, normally ssh; here the agent (written
# by netns_up into $NETNS_DIR/rsh_agent) runs it inside the namespace that owns
# the address. Open MPI calls the agent as `AGENT ADDRESS ARGS...`, the ARGS
# being one shell command line cut at spaces (its values carry their own
# quotes, for the remote shell to read), hence `sh -c "$*"` below.
#
# netns_down kills every process left in the namespaces (netns_kill) and
# deletes them; call it from an EXIT trap. netns_require exits 77 (ctest's
# skip) saying why when namespaces cannot be made here.

NETNS_PREFIX="${NETNS_PREFIX:-lam$$}"
NETNS_NET="${NETNS_NET:-10.199.0}"
NETNS_N=0
NETNS_DIR=""
NETNS_ALL=""    # every namespace made so far, for netns_down

# Name of host $1's namespace.
netns_host() { echo "${NETNS_PREFIX}h$1"; }

# Exits 77 with the reason when this machine cannot make network namespaces.
netns_require() {
    command -v ip >/dev/null 2>&1 ||
        { echo "SKIPPED: no 'ip' command (iproute2) to create network namespaces"; exit 77; }
    if [ "$(id -u)" -ne 0 ]; then
        echo "SKIPPED: creating network namespaces needs root (CAP_SYS_ADMIN); running as uid $(id -u)"
        exit 77
    fi
    if ! why=$(ip netns add "${NETNS_PREFIX}probe" 2>&1); then
        echo "SKIPPED: cannot create network namespaces here (ip netns add: $why)"
        exit 77
    fi
    # Running in one (it remounts /sys) and a veth pair can be refused too.
    if ! why=$(ip netns exec "${NETNS_PREFIX}probe" true 2>&1) ||
       ! why=$(ip -n "${NETNS_PREFIX}probe" link add p0 type veth peer name p1 2>&1); then
        ip netns del "${NETNS_PREFIX}probe"
        echo "SKIPPED: cannot run in or link network namespaces here ($why)"
        exit 77
    fi
    ip netns del "${NETNS_PREFIX}probe"
}

# netns_up N: the N hosts, the switch, the rsh agent and the hostfile.
netns_up() {
    NETNS_N=$1
    NETNS_DIR=$(mktemp -d)
    sw="${NETNS_PREFIX}sw"
    NETNS_ALL="$sw"
    ip netns add "$sw"
    ip -n "$sw" link add br0 type bridge
    ip -n "$sw" link set br0 up
    : >"$NETNS_DIR/hostfile"
    cases=""
    i=0
    while [ $i -lt "$NETNS_N" ]; do
        ns=$(netns_host $i)
        NETNS_ALL="$NETNS_ALL $ns"
        ip netns add "$ns"
        ip -n "$sw" link add "h$i" type veth peer name eth0 netns "$ns"
        ip -n "$sw" link set "h$i" master br0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$NETNS_NET.$((i + 1))/24" dev eth0
        ip -n "$ns" link set eth0 up
        echo "$NETNS_NET.$((i + 1)) slots=1" >>"$NETNS_DIR/hostfile"
        cases="$cases    $NETNS_NET.$((i + 1))) ns=$ns ;;
"
        i=$((i + 1))
    done
    cat >"$NETNS_DIR/rsh_agent" <<EOF
#!/bin/sh
# Open MPI's rsh agent for the namespace hosts: \$1 is the address, the rest
# the command line (orted ...) to run there, as ssh would.
case "\$1" in
$cases    *) echo "rsh_agent: no namespace host has the address \$1" >&2; exit 255 ;;
esac
shift
exec ip netns exec "\$ns" sh -c "\$*"
EOF
    chmod +x "$NETNS_DIR/rsh_agent"
    # A veth's carrier comes up a moment after both ends are set up: wait
    # until every bridge port says so, so that mpirun never races it.
    tries=0
    while ip -n "$sw" -o link show master br0 | grep -qv "state UP"; do
        tries=$((tries + 1))
        [ $tries -lt 50 ] || { echo "netns_up: the veth links did not come up" >&2; return 1; }
        sleep 0.1
    done
}

# netns_mpirun NP ARGS...: mpirun -np NP ARGS inside host 0 on hosts 0..NP-1,
# one rank each (NP <= N), ended (SIGTERM, exit 124) after NETNS_TIMEOUT
# seconds (default 300). ARGS may start with more of mpirun's options.
# rtc_hwloc_vmhole none: Open MPI 4.1's daemon maps the hardware topology into
# shared memory at a hole it picks in its address space; started through the
# agent, the daemon crashed there (SIGSEGV in hwloc_shmem_topology_write) in
# 19 of 100 launches on 3 hosts, and mpirun then waited for it forever. With
# the mapping off: 0 of 250.
netns_mpirun() {
    np=$1
    shift
    [ "$np" -le "$NETNS_N" ] || { echo "netns_mpirun: $np ranks but $NETNS_N hosts" >&2; return 2; }
    head -n "$np" "$NETNS_DIR/hostfile" >"$NETNS_DIR/hostfile.$np"
    ip netns exec "$(netns_host 0)" timeout "${NETNS_TIMEOUT:-300}" \
        mpirun --hostfile "$NETNS_DIR/hostfile.$np" -np "$np" \
        --map-by node --bind-to none \
        --mca plm_rsh_agent "$NETNS_DIR/rsh_agent" --mca plm_rsh_no_tree_spawn 1 \
        --mca btl tcp,self --mca btl_tcp_if_include "$NETNS_NET.0/24" \
        --mca oob_tcp_if_include "$NETNS_NET.0/24" --mca rtc_hwloc_vmhole none "$@"
}

# netns_kill NS...: ends every process in those namespaces (SIGTERM, then
# SIGKILL for those still there 0.2 s later).
netns_kill() {
    for sig in TERM KILL; do
        for ns in "$@"; do
            pids=$(ip netns pids "$ns" 2>/dev/null)
            [ -z "$pids" ] || kill -s $sig $pids 2>/dev/null || true
        done
        [ $sig = KILL ] || sleep 0.2
    done
}

# Ends what runs in the namespaces and deletes them (from an EXIT trap).
netns_down() {
    [ -n "$NETNS_ALL" ] || return 0
    netns_kill $NETNS_ALL
    for ns in $NETNS_ALL; do
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$NETNS_DIR"
    NETNS_ALL=""
    NETNS_DIR=""
}
