# mpi_common.sh - what the MPI tests (test_mpi.sh, test_mpi_kill.sh) share,
# sourced after cli_common.sh: the weights-diff helper D, the skip without
# mpirun, and the environment mpirun needs here.
D="${LAMINA_BUILD_DIR:-../build}/tests/lamina_weights_diff"
command -v mpirun >/dev/null 2>&1 || { echo "SKIPPED: mpirun not found (apt-get install openmpi-bin)"; exit 77; }
# Open MPI refuses root unless both are set (a root container).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
# Under the sanitizer build (make test-sanitize), Open MPI's own allocations,
# some in components it unloads (no module name to suppress by), are never
# freed: LeakSanitizer is off for the ranks; ASan and UBSan still check them.
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"; fi
