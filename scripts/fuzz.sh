#!/bin/sh
# fuzz.sh [SECONDS] - builds the libFuzzer targets (fuzz/fuzz_*.c) with clang,
# ASan and UBSan into build-fuzz/ and runs each for SECONDS (default 60),
# starting from its seed corpus fuzz/corpus/<target>/. New inputs go to
# build-fuzz/corpus/<target>/ (the seeds in the repository stay as they are);
# every crash, leak or timeout is copied into fuzz/crashes/ and makes the
# script exit 1. A crash worth keeping becomes a regression case: move it to
# fuzz/regressions/<target>/ (tests/test_fuzz_regressions replays those).
# Environment: FUZZ_BUILD (default build-fuzz), FUZZ_TARGETS (default all),
# CC (default clang).
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
build=${FUZZ_BUILD:-build-fuzz}
cc=${CC:-clang}
root=$(pwd)

sh scripts/install-deps.sh --fuzz

targets=${FUZZ_TARGETS:-$(for f in fuzz/fuzz_*.c; do basename "$f" .c; done)}
# fuzzer-no-link instruments the library itself for coverage (LAMINA_FUZZ
# only adds -fsanitize=fuzzer to the fuzz_*.c files): without it libFuzzer
# would see the readers as a black box and mutate blindly.
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DLAMINA_FUZZ=ON -DLAMINA_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link -Wno-unknown-warning-option -Wno-pass-failed" >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target $targets

# Longest input each target is given: a little above its largest seed, so
# that the fuzzer mutates structure rather than growing files.
max_len() {
    case "$1" in
    fuzz_json_spec) echo 8192 ;;
    fuzz_model_file | fuzz_encrypted) echo 8192 ;;
    fuzz_tokenizer_json) echo 4096 ;;
    fuzz_keras_zip | fuzz_keras_h5) echo 40000 ;; # the seeds are 27-34 KB (HDF5 headers)
    *) echo 2048 ;;
    esac
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp"
export OMP_NUM_THREADS=1
mkdir -p fuzz/crashes
status=0
# Whether the one finding in folder $1 is a timeout or a crash whose stack
# (in log $2) runs through libhdf5's global-heap read: the known upstream fault.
in_libhdf5_heap() {
    [ "$(ls "$1" | wc -l)" -eq 1 ] || return 1
    case "$(ls "$1")" in timeout-* | crash-*) ;; *) return 1 ;; esac
    grep -m 1 -A 12 -E 'ERROR: (libFuzzer: timeout|AddressSanitizer: SEGV)' "$2" |
        grep -q 'in H5HG_read'
}
for t in $targets; do
    work="$build/corpus/$t"
    art="$build/artifacts/$t"
    rm -rf "$art"
    mkdir -p "$work" "$art"
    log="$build/$t.log"
    set +e
    "$build/fuzz/$t" "$work" "fuzz/corpus/$t" -max_total_time="$secs" -max_len="$(max_len "$t")" \
        -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="$art/" >"$log" 2>&1
    rc=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    found=0
    for a in "$art"/*; do
        [ -e "$a" ] || continue
        cp "$a" "fuzz/crashes/$t-$(basename "$a")"
        found=$((found + 1))
    done
    echo "$t: ${runs:-?} runs in ${secs}s, coverage ${cov:-?}, exit $rc, $found artifact(s)"
    if [ "$t" = fuzz_keras_h5 ] && [ "$found" -ne 0 ] && in_libhdf5_heap "$art" "$log"; then
        # libhdf5 itself (1.10.8 here, 1.14.6 too) spins or faults in
        # H5Aread -> H5T__conv_vlen -> H5HG_read on a damaged global heap: an
        # upstream fault that lamina cannot bound (fuzz/fuzz_keras_h5.c,
        # MODEL_FILES.md). Reported, kept in fuzz/crashes/, not failed; any
        # other finding still fails.
        echo "  known libhdf5 fault (inside H5HG_read), not failed: fuzz/crashes/$t-*"
        continue
    fi
    if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
        status=1
        grep -m 1 -A 30 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|^(==[0-9]+== )?(ERROR|WARNING)|: failed with|not a lam_status|without a result|does not' \
            "$log" >&2 || tail -n 40 "$log" >&2
        echo "  log: $log; inputs: fuzz/crashes/$t-*" >&2
    fi
done
exit $status
