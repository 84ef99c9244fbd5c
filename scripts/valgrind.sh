#!/usr/bin/env bash
# valgrind memcheck on a short training run and an evaluation:
#   scripts/valgrind.sh [BUILD_DIR]
# BUILD_DIR (default build-valgrind) is configured RelWithDebInfo if it has
# no CLI yet. Runs:
#   train  f2, --max-steps 5, a validation, a checkpoint and a history file
#   eval   f1 on F1.h5 (the weights read in a child process, as shipped)
#   eval   f1 on F1.h5 with LAPERM_H5_NO_ISOLATE=1 (the reader in-process)
# and fails unless every run reports 0 errors and 0 bytes definitely lost.
# Suppressions for libgomp/libhdf5 internals: scripts/valgrind.supp.
# valgrind hides AVX-512 from the program, so the kernels run their AVX2 (or
# scalar) paths. Environment: LAPERM_DATA (default ./data), LAPERM_SHARED
# (F1.h5 under pretrained/, default ../shared, else $LAPERM_DATA/pretrained).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bdir=${1:-build-valgrind}
export LAPERM_DATA=${LAPERM_DATA:-$root/data}
shared=${LAPERM_SHARED:-$root/../shared}
f1=$shared/pretrained/F1.h5
[ -f "$f1" ] || f1=$LAPERM_DATA/pretrained/F1.h5
command -v valgrind >/dev/null || { echo "valgrind: not installed" >&2; exit 1; }

if [ ! -x "$bdir/laperm" ]; then
  cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAPERM_WITH_BENCHMARK=OFF >/dev/null
  cmake --build "$bdir" -j "${JOBS:-$(nproc)}" --target laperm_cli
fi
cli=$root/$bdir/laperm
[ -x "$cli" ] || cli=$bdir/laperm
out=$(mktemp -d "${TMPDIR:-/tmp}/laperm-valgrind.XXXXXX")
trap 'rm -rf "$out"' EXIT

vg=(valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite --track-origins=yes --child-silent-after-fork=yes
    --suppressions="$root/scripts/valgrind.supp" --num-callers=30)

status=0
run() {
  local name=$1; shift
  local log=$out/$name.log
  echo "==== $name: $*"
  set +e
  env "${envs[@]}" "${vg[@]}" --log-file="$log" "$cli" "$@" >"$out/$name.out" 2>"$out/$name.err"
  local rc=$?
  set -e
  local errors lost
  errors=$(awk '/ERROR SUMMARY:/ {n = $4} END {print n + 0}' "$log")
  lost=$(awk '/definitely lost:/ {gsub(",", "", $4); n = $4} END {print n + 0}' "$log")
  grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks" "$log" |
    sed 's/^==[0-9]*== /    /'
  if [ $rc -ne 0 ] || [ "$errors" != 0 ] || [ "$lost" != 0 ]; then
    echo "  FAILED (exit $rc, $errors errors, $lost bytes definitely lost): $log"
    cat "$out/$name.err" >&2
    sed -n '/HEAP SUMMARY/,$p;/Invalid\|uninitialised\|definitely lost in/,+25p' "$log" | head -150 >&2
    status=1
    cp "$log" "${TMPDIR:-/tmp}/laperm-valgrind-$name.log"
  fi
}

envs=(OMP_NUM_THREADS=2)
run train train --model f2 --max-steps 5 --val-every 5 --tsize 200 --seed 1 --quiet \
  --out "$out/f2.h5" --history "$out/f2.csv"
run eval eval --model f1 --weights "$f1" --json
envs=(OMP_NUM_THREADS=2 LAPERM_H5_NO_ISOLATE=1)
run eval-in-process eval --model f1 --weights "$f1" --json
exit $status
