#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (the README's test command):
#   1. set-up (Debian packages), 2. Release build with -Werror and the full
#   CTest suite on real data, 3. ASan+UBSan build running the unit tests,
#   4. a short libFuzzer run of each untrusted-input reader (MNIST, CIFAR-10,
#   .h5) on its seed corpus, 5. aarch64 cross build of the kernels and core
#   runtime, tests under qemu.
# Environment: LAPERM_DATA (default ./data), LAPERM_SHARED (default ../shared,
# used as the local source of CIFAR-10 and the pretrained files when present),
# JOBS (default nproc), LAPERM_SKIP_SETUP=1,
# LAPERM_STAGES="release asan fuzz arm", LAPERM_FUZZ_SECONDS (per target,
# default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${JOBS:-$(nproc)}
stages=${LAPERM_STAGES:-release asan fuzz arm}
export LAPERM_DATA=${LAPERM_DATA:-$root/data}
shared=${LAPERM_SHARED:-$root/../shared}
export LAPERM_REQUIRE_DATA=1
# Several tests run at once (ctest -j): spinning OpenMP barriers would fight
# over the cores (see tests/CMakeLists.txt).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

declare -A took
stage() { echo; echo "==== $1 ($(date +%T))"; }
timed() { local name=$1; shift; local t0=$SECONDS; "$@"; took[$name]=$((SECONDS - t0)); }

setup() {
  if [ "${LAPERM_SKIP_SETUP:-0}" != 1 ]; then scripts/setup.sh; fi
}

fetch() {
  local cli=$1
  "$cli" fetch mnist --data-dir "$LAPERM_DATA"
  if [ -d "$shared/data/cifar-10-batches-bin" ]; then
    "$cli" fetch cifar10 --from "$shared/data/cifar-10-batches-bin" --data-dir "$LAPERM_DATA"
  else
    "$cli" fetch cifar10 --data-dir "$LAPERM_DATA"
  fi
  if [ -d "$shared/pretrained" ]; then
    "$cli" fetch pretrained --from "$shared/pretrained" --data-dir "$LAPERM_DATA"
  else
    "$cli" fetch pretrained --data-dir "$LAPERM_DATA"
  fi
}

release() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DLAPERM_WERROR=ON \
        -DLAPERM_TEST_DATA_DIR="$LAPERM_DATA" -DLAPERM_SHARED_DIR="$shared"
  cmake --build build -j "$jobs"
  fetch build/laperm
  (cd build && ctest --output-on-failure -j "$jobs")
}

asan() {
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAPERM_WERROR=ON \
        -DLAPERM_SANITIZE=address,undefined -DLAPERM_WITH_BENCHMARK=OFF \
        -DLAPERM_TEST_DATA_DIR="$LAPERM_DATA" -DLAPERM_SHARED_DIR="$shared"
  cmake --build build-asan -j "$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest -L unit --output-on-failure -j "$jobs")
}

# scripts/fuzz.sh builds build-fuzz (clang, ASan + UBSan) and fuzzes each
# target for LAPERM_FUZZ_SECONDS on a scratch copy of its seeds; it prints
# the executions per target and exits 1 on any finding in our code (crashes
# inside libhdf5 itself are counted, not failed: see the script). About
# 3 x 25 s plus the build.
fuzz() {
  JOBS=$jobs scripts/fuzz.sh "${LAPERM_FUZZ_SECONDS:-25}" fuzz_mnist fuzz_cifar fuzz_h5
}

arm() {
  cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64.cmake" \
        -DCMAKE_BUILD_TYPE=Release -DLAPERM_CORE_ONLY=ON -DLAPERM_WERROR=ON
  cmake --build build-arm -j "$jobs"
  (cd build-arm && ctest -L unit -LE cli --output-on-failure -j "$jobs")
}

stage setup; timed setup setup
for s in $stages; do
  stage "$s"; timed "$s" "$s"
done
echo
echo "==== stage times (s)"
for k in setup $stages; do printf '  %-8s %5d\n' "$k" "${took[$k]}"; done
