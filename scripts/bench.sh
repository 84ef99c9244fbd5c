#!/usr/bin/env bash
# Run every benchmark (bench/bench_*) with JSON output and `laperm bench` for
# conv7 and conv13 (native and oneDNN backends); write
#   bench/results/<date>-<cpu>.json   everything, raw (Google Benchmark JSON)
#   bench/results/<date>-<cpu>.md     the tables (scripts/bench_report.py --full)
# and put the summary tables into bench/README.md.
#
#   scripts/bench.sh [BUILD_DIR]        (default: build-bench, built if needed)
#
# Environment:
#   LPB_REPS=5         repetitions per benchmark (the median is reported)
#   LPB_MIN_TIME=0.1   seconds per repetition (libbenchmark 1.7: plain seconds)
#   LPB_FILTER=.       --benchmark_filter for every binary
#   LPB_BINARIES="sync gemm conv eltwise"
#   LPB_CLI_MODELS="conv7 conv13"   LPB_CLI_STEPS=10
#   LPB_NO_README=1    leave bench/README.md alone
#   OMP_NUM_THREADS    threads (default: all cores)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-bench}
reps=${LPB_REPS:-5}
min_time=${LPB_MIN_TIME:-0.1}
filter=${LPB_FILTER:-.}
binaries=${LPB_BINARIES:-sync gemm conv eltwise}
cli_models=${LPB_CLI_MODELS:-conv7 conv13}
cli_steps=${LPB_CLI_STEPS:-10}

if [ ! -x "$build/bench/bench_sync" ] || [ ! -x "$build/laperm" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLAPERM_WITH_BENCHMARK=ON
  cmake --build "$build" -j"$(nproc)"
fi

cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
cpu=${cpu:-unknown}
slug=$(printf '%s' "$cpu" | tr 'A-Z' 'a-z' | sed -E 's/\((r|tm)\)//g; s/[^a-z0-9]+/-/g; s/^-+//; s/-+$//')
date=$(date +%Y-%m-%d)
outdir=$root/bench/results
mkdir -p "$outdir"
base=$outdir/$date-$slug
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(load)
echo "bench.sh: $cpu, $(nproc) cores, load $load_before; results -> $base.{json,md}" >&2

for b in $binaries; do
  exe=$build/bench/bench_$b
  echo "== bench_$b" >&2
  "$exe" --benchmark_filter="$filter" \
    --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
    --benchmark_min_time="$min_time" \
    --benchmark_out="$tmp/bench_$b.json" --benchmark_out_format=json >&2
done

: >"$tmp/cli.jsonl"
for m in $cli_models; do
  for be in native dnnl; do
    echo "== laperm bench --model $m --backend $be" >&2
    if "$build/laperm" bench --model "$m" --steps "$cli_steps" --backend "$be" --json >"$tmp/cli.out"; then
      tail -n1 "$tmp/cli.out" >>"$tmp/cli.jsonl"
    else
      echo "bench.sh: laperm bench --model $m --backend $be failed" >&2
    fi
  done
done
load_after=$(load)

compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" | head -n1)
compiler="$("${compiler:-c++}" --version | head -n1)"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" | head -n1)

python3 - "$tmp" "$base.json" <<EOF
import glob, json, os, sys
tmp, out = sys.argv[1], sys.argv[2]
res = {
    "date": "$date", "cpu": """$cpu""", "cores": $(nproc), "kernel": """$(uname -sr)""",
    "compiler": """$compiler""", "build_type": "$build_type",
    "repetitions": $reps, "min_time": $min_time, "filter": """$filter""",
    "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""),
    "load_before": "$load_before", "load_after": "$load_after",
    "benchmarks": {}, "cli": [],
}
for p in sorted(glob.glob(os.path.join(tmp, "bench_*.json"))):
    with open(p) as f:
        res["benchmarks"][os.path.basename(p)[:-5]] = json.load(f)
with open(os.path.join(tmp, "cli.jsonl")) as f:
    res["cli"] = [json.loads(l) for l in f if l.strip()]
with open(out, "w") as f:
    json.dump(res, f, indent=1)
EOF

python3 "$root/scripts/bench_report.py" "$base.json" --full >"$base.md"
if [ -z "${LPB_NO_README:-}" ]; then
  python3 "$root/scripts/bench_report.py" "$base.json" --readme "$root/bench/README.md"
fi
echo "bench.sh: wrote $base.json and $base.md" >&2
