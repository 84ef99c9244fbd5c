#!/usr/bin/env bash
# Fuzz the untrusted-input readers with libFuzzer (clang, ASan + UBSan):
#   scripts/fuzz.sh [SECONDS] [TARGET ...]
# builds build-fuzz (LAPERM_FUZZ=ON) and runs each target (default: all of
# fuzz_mnist fuzz_cifar fuzz_h5) for SECONDS (default 30; CI uses a few),
# one at a time, on a scratch copy of its seed corpus (tests/fuzz/corpus/T,
# which stays untouched). Logs and findings go to build-fuzz/fuzz-out/T/.
#
# fuzz_h5 goes through libhdf5 1.10.8, which itself overflows its heap or
# crashes on some corrupt files. Its run continues past such crashes
# (-fork=1 -ignore_crashes=1) and each finding is classified by its stack:
# "libhdf5" when the faulting frame is inside libhdf5 (reached from our
# reader through H5Aexists and the like), "ours" otherwise. The script fails
# (exit 1) on any finding in our code, or on any crash of the MNIST/CIFAR
# targets; libhdf5 findings are counted and reported.
#
# Speeds on one core with ASan+UBSan: fuzz_mnist ~25k execs/s, fuzz_h5
# ~500/s, fuzz_cifar ~3,000/s (it runs the CIFAR reader with 2 records per
# file instead of 10,000: see tests/fuzz/fuzz_cifar.c).
#
# Environment: JOBS (build jobs, default nproc), FUZZ_FLAGS (extra libFuzzer
# flags), FUZZ_KEEP_CORPUS=1 (merge new inputs into build-fuzz/fuzz-out/T/corpus
# and keep them between runs), FUZZ_BUILD_DIR (default build-fuzz).
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_mnist fuzz_cifar fuzz_h5)
jobs=${JOBS:-$(nproc)}
bdir=${FUZZ_BUILD_DIR:-$root/build-fuzz}
case $bdir in /*) ;; *) bdir=$root/$bdir ;; esac

CC=${CC_FUZZ:-clang} cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAPERM_FUZZ=ON \
  -DLAPERM_WITH_BENCHMARK=OFF -DLAPERM_WITH_DNNL=OFF >/dev/null
cmake --build "$bdir" -j "$jobs" --target "${targets[@]}"

supp=$root/tests/fuzz/lsan-h5.supp
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export LSAN_OPTIONS=suppressions=$supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
summary=()
for t in "${targets[@]}"; do
  out=$bdir/fuzz-out/$t
  mkdir -p "$out/findings"
  rm -f "$out"/fuzz-*.log "$out"/findings/*
  corpus=$out/corpus
  if [ "${FUZZ_KEEP_CORPUS:-0}" != 1 ] || [ ! -d "$corpus" ]; then
    rm -rf "$corpus"
    mkdir -p "$corpus"
    cp "$root/tests/fuzz/corpus/$t/"* "$corpus/"
  fi
  max_len=4096
  extra=()
  t_asan=
  case $t in
    # libhdf5 asks malloc for absurd sizes on corrupt files and copes with
    # NULL (as in a release build); our reader bounds sizes before it
    # allocates, and libFuzzer's -rss_limit_mb still catches huge successes.
    fuzz_h5) max_len=600000; extra=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
             t_asan=allocator_may_return_null=1 ;;
    # "TRN" + 5 files of 2 records: 30,733 bytes.
    fuzz_cifar) max_len=32768 ;;
  esac
  echo "==== $t: ${secs}s"
  log=$out/fuzz.log
  set +e
  (cd "$out" && ASAN_OPTIONS="$ASAN_OPTIONS${t_asan:+:$t_asan}" "$bdir/fuzz/$t" "${extra[@]}" -max_total_time="$secs" -max_len=$max_len \
     -timeout=30 -rss_limit_mb=4096 -artifact_prefix="$out/findings/" -print_final_stats=1 \
     ${FUZZ_FLAGS:-} "$corpus") >"$log" 2>&1
  rc=$?
  set -e
  # Executions: "stat::number_of_executed_units" (plain mode) or the last
  # "#N:" progress line (fork mode).
  if [ "$t" = fuzz_h5 ]; then
    execs=$(awk '/^#[0-9]+:/ {n = substr($1, 2) + 0} END {print n + 0}' "$log")
  else
    execs=$(awk '/stat::number_of_executed_units/ {n = $2} END {print n + 0}' "$log")
  fi
  # Classify each finding by re-running it alone: the first stack frame in
  # libhdf5 or in our sources (runtime/, tests/) names whose bug it is.
  ours=0 hdf5=0 flaky=0
  : >"$out/findings.txt"
  for f in "$out"/findings/*; do
    where=$( (ASAN_OPTIONS="$ASAN_OPTIONS${t_asan:+:$t_asan}" timeout 60 "$bdir/fuzz/$t" -timeout=30 \
                -rss_limit_mb=4096 "$f" 2>&1 || true) | awk '
      /ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:/ { inrep = 1 }
      inrep && /^ *#[0-9]+ / && top == "" {
        if ($0 ~ /libhdf5/) top = "libhdf5";
        else if ($0 ~ /(runtime|tests)\/[a-z_0-9\/]+\.c/) top = "ours";
      }
      inrep && /^SUMMARY:/ { sub(/^SUMMARY: /, ""); gsub(/ *\([^)]*\)/, ""); what = $0 }
      END { if (!inrep) print "flaky\t(does not reproduce alone)"; else print (top == "" ? "ours" : top) "\t" what }')
    printf '%s\t%s\n' "$where" "${f##*/}" >>"$out/findings.txt"
    case $where in
      libhdf5*) hdf5=$((hdf5 + 1)) ;;
      flaky*) flaky=$((flaky + 1)) ;;
      *) ours=$((ours + 1)) ;;
    esac
  done
  if [ -s "$out/findings.txt" ]; then
    cut -f1,2 "$out/findings.txt" | sort | uniq -c | sort -rn | sed 's/^/    /' | head -20
  fi
  if [ "$t" != fuzz_h5 ] && [ $rc -ne 0 ]; then ours=$((ours > 0 ? ours : 1)); fi
  summary+=("$(printf '%-11s %10s execs  %3d findings in our code  %3d in libhdf5  %3d not reproducible  (%s)' \
    "$t" "$execs" "$ours" "$hdf5" "$flaky" "${out#$root/}")")
  [ "$ours" -eq 0 ] || status=1
done
echo
echo "==== fuzz summary (${secs}s per target)"
printf '  %s\n' "${summary[@]}"
exit $status
