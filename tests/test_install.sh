#!/bin/sh
# test_install.sh - installs the build into a temporary DESTDIR (as `make
# install DESTDIR=...` does, from the existing build folder: nothing is
# rebuilt) and uses it as a library user would: the README's C example and a
# small program built with `pkg-config --cflags --libs lamina` and with a
# CMake project's find_package(lamina), the programs run; the man page
# formats with man -l; the bash completion completes `lamina tr` to train.
# POSIX sh; run by ctest from tests/ with LAMINA_BUILD_DIR set.
set -eu

. "$(dirname "$0")/cli_common.sh"
build=${LAMINA_BUILD_DIR:-../build}
for tool in cc cmake pkg-config; do
    command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -f "$build/cmake_install.cmake" ] || { echo "SKIP: no install rules in $build"; exit 77; }
# A sanitizer build's library needs the sanitizer runtime loaded first by
# whatever links it: the plain build's run tests installing.
if grep -q "^LAMINA_SANITIZE:BOOL=ON" "$build/CMakeCache.txt" 2>/dev/null; then
    echo "SKIP: $build is a sanitizer build (the plain build runs this test)"
    exit 77
fi

# --- install ---------------------------------------------------------------
stage=$tmp/stage
prefix=/usr/local
DESTDIR=$stage cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "cmake --install"; }
root=$stage$prefix
for f in lib/liblamina.so.0.1.0 lib/liblamina.a include/lamina.h include/lamina_explain.h \
         bin/lamina lib/pkgconfig/lamina.pc lib/cmake/lamina/laminaConfig.cmake \
         lib/cmake/lamina/laminaConfigVersion.cmake lib/cmake/lamina/laminaTargets.cmake \
         share/man/man1/lamina.1 share/bash-completion/completions/lamina; do
    [ -f "$root/$f" ] || fail "$f not installed"
done
[ "$(readlink "$root/lib/liblamina.so")" = liblamina.so.0 ] &&
    [ "$(readlink "$root/lib/liblamina.so.0")" = liblamina.so.0.1.0 ] ||
    fail "liblamina.so -> liblamina.so.0 -> liblamina.so.0.1.0 links"
if command -v readelf >/dev/null; then
    readelf -d "$root/lib/liblamina.so.0.1.0" | grep -q 'SONAME.*\[liblamina.so.0\]' ||
        fail "the shared library's soname is not liblamina.so.0"
fi
grep -q "^prefix=$prefix\$" "$root/lib/pkgconfig/lamina.pc" || fail "lamina.pc's prefix"
"$root/bin/lamina" --version | grep -q "^lamina [0-9]" || fail "installed lamina --version"
ok "installed into DESTDIR: libraries (soname liblamina.so.0), headers, command, lamina.pc, CMake package, man page, completion"

# --- the programs ----------------------------------------------------------
# The README's C example, its statements as the body of main(): it must build
# as shown (running it needs Fashion-MNIST and ten epochs, so it only links).
awk '/^## The seed program in C/ { s = 1 } s && /^```c/ { c = 1; next } c && /^```/ { exit }
     c && !/^#include/ { print "    " $0 }' ../README.md >"$tmp/body.c"
[ "$(grep -c lam_ "$tmp/body.c")" -gt 10 ] || fail "no C example found in README.md"
{ echo '#include <lamina.h>'; echo '#include <stdio.h>'; echo 'int main(void)'; echo '{'
  cat "$tmp/body.c"; echo '    return 0;'; echo '}'; } >"$tmp/readme.c"
# The README's model, compiled and asked for one prediction.
cat >"$tmp/hello.c" <<'EOF_C'
#include <lamina.h>

#include <math.h>
#include <stdio.h>

int main(void)
{
    lam_model *model = lam_sequential("sequential");
    lam_model_add_input(model, 3, (int64_t[]){28, 28, 1});
    lam_model_add_conv2d(model, 32, 3, 3, LAM_ACT_RELU);
    lam_model_add_maxpool2d(model, 2, 2);
    lam_model_add_flatten(model);
    lam_model_add_dense(model, 10, LAM_ACT_SOFTMAX);
    lam_optimizer adam = lam_adam();
    static float x[28 * 28], p[10];
    for (int i = 0; i < 28 * 28; i++) x[i] = (float)(i % 28) / 28.0f;
    if (lam_model_compile(model, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE) != LAM_OK ||
        lam_predict_raw(model, x, 1, p) != LAM_OK) {
        fprintf(stderr, "hello: %s\n", lam_last_error());
        return 1;
    }
    double sum = 0;
    for (int k = 0; k < 10; k++) sum += p[k];
    printf("lamina %s: 10 probabilities summing to %.4f\n", lam_version(), sum);
    lam_model_free(model);
    return fabs(sum - 1) < 1e-4 ? 0 : 1;
}
EOF_C
version=$("$root/bin/lamina" --version | sed 's/^lamina //')

# pkg-config: the staged .pc file, its paths under the staging root.
export PKG_CONFIG_PATH="$root/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage"
flags=$(pkg-config --cflags --libs lamina) || fail "pkg-config --cflags --libs lamina"
[ "$(pkg-config --modversion lamina)" = "$version" ] || fail "pkg-config --modversion"
# shellcheck disable=SC2086  # the flags are words
cc -std=c11 -o "$tmp/readme_pc" "$tmp/readme.c" $flags 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "README example with pkg-config: $flags"; }
# shellcheck disable=SC2086
cc -std=c11 -o "$tmp/hello_pc" "$tmp/hello.c" $flags -lm 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "hello.c with pkg-config: $flags"; }
LD_LIBRARY_PATH="$root/lib" "$tmp/hello_pc" >"$tmp/out" || fail "hello (pkg-config) ran: $(cat "$tmp/out")"
out_has "lamina $version: 10 probabilities summing to 1.0000"
LD_LIBRARY_PATH="$root/lib" ldd "$tmp/hello_pc" 2>/dev/null | grep -q "liblamina.so.0 => $root/lib" ||
    fail "hello (pkg-config) does not load the installed liblamina.so.0"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
ok "pkg-config: the README example links, hello runs against liblamina.so.0 ($flags)"

# CMake: find_package(lamina) from the staged prefix; both imported targets.
mkdir "$tmp/proj"
cp "$tmp/hello.c" "$tmp/readme.c" "$tmp/proj/"
cat >"$tmp/proj/CMakeLists.txt" <<'EOF_CMAKE'
cmake_minimum_required(VERSION 3.18)
project(uses_lamina LANGUAGES C)
find_package(lamina 0.1 REQUIRED)
message(STATUS "lamina_DIR=${lamina_DIR}")
add_executable(readme readme.c)
target_link_libraries(readme PRIVATE lamina::lamina)
add_executable(hello hello.c)
target_link_libraries(hello PRIVATE lamina::lamina m)
add_executable(hello_static hello.c)
target_link_libraries(hello_static PRIVATE lamina::lamina_static)
EOF_CMAKE
cmake -S "$tmp/proj" -B "$tmp/proj/build" -DCMAKE_PREFIX_PATH="$root" >"$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log" >&2; fail "find_package(lamina)"; }
grep -q "lamina_DIR=$root/lib/cmake/lamina" "$tmp/cmake.log" ||
    fail "find_package found another lamina: $(grep lamina_DIR "$tmp/cmake.log")"
cmake --build "$tmp/proj/build" -j 2 >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; fail "building against lamina::lamina"; }
"$tmp/proj/build/hello" >"$tmp/out" || fail "hello (CMake, shared) ran: $(cat "$tmp/out")"
out_has "summing to 1.0000"
"$tmp/proj/build/hello_static" >"$tmp/out" || fail "hello (CMake, static) ran"
out_has "summing to 1.0000"
ok "CMake find_package(lamina): the README example links, hello runs with lamina::lamina and lamina::lamina_static"

# --- man page and completion -----------------------------------------------
if command -v man >/dev/null; then
    MANWIDTH=100 man -l "$root/share/man/man1/lamina.1" >"$tmp/man.txt" 2>"$tmp/err" ||
        { cat "$tmp/err" >&2; fail "man -l lamina.1"; }
    [ ! -s "$tmp/err" ] || { cat "$tmp/err" >&2; fail "man -l lamina.1 warns"; }
    for c in $("$L" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'); do
        grep -q "^   lamina $c\$" "$tmp/man.txt" || fail "the man page has no section for $c"
    done
    grep -q -- "--validation-split F" "$tmp/man.txt" || fail "the man page lacks train's options"
    ok "man -l formats lamina(1), a section per command"
else
    echo "(man is not installed: the man page is not formatted)"
fi
if command -v bash >/dev/null; then
    complete_words() { # the completions of the words given, the last being completed
        bash -c '. "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _lamina; echo "${COMPREPLY[*]}"' \
            "$root/share/bash-completion/completions/lamina" "$@"
    }
    [ "$(complete_words lamina tr)" = train ] || fail "lamina tr<TAB>: $(complete_words lamina tr)"
    [ "$(complete_words lamina train --validation-s)" = --validation-split ] ||
        fail "lamina train --validation-s<TAB>: $(complete_words lamina train --validation-s)"
    [ "$(complete_words lamina evaluate --js)" = --json ] || fail "lamina evaluate --js<TAB>"
    [ -z "$(complete_words lamina evaluate --epo)" ] || fail "evaluate has no --epochs to complete"
    ok "bash completion: lamina tr -> train, train --validation-s -> --validation-split"
else
    echo "(bash is not installed: the completion is not tried)"
fi
