#!/usr/bin/env bash
# Thread scaling of whole training steps: `laperm bench --json` for each
# model, thread count and backend, one process each, printed as a Markdown
# table (training and inference images/s, the full sync, the speed-up over
# one thread, native against oneDNN at the same thread count).
#
#   scripts/scaling.sh [BUILD_DIR]     (default: build; LAPERM=path overrides)
#
# Environment:
#   LPS_MODELS="conv7 conv13"
#   LPS_THREADS="1 2 4 ..."   default: 1, 2, 4, ... up to nproc, and nproc
#   LPS_BACKENDS="native dnnl" (dnnl is skipped when the build has no oneDNN)
#   LPS_STEPS=10               timed steps (conv13 and resnet50: a third)
#   LPS_JSON=FILE              also keep the raw JSON lines there
# Pin the threads as you would for training, e.g. OMP_PROC_BIND=close
# OMP_PLACES=cores; the table notes what was set.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
exe=${LAPERM:-$build/laperm}
if [ ! -x "$exe" ]; then
  echo "scaling.sh: no laperm binary at $exe (build first, or set LAPERM=path)" >&2
  exit 1
fi
models=${LPS_MODELS:-conv7 conv13}
steps=${LPS_STEPS:-10}
ncpu=$(nproc)
if [ -n "${LPS_THREADS:-}" ]; then
  threads=$LPS_THREADS
else
  threads=""
  t=1
  while [ "$t" -lt "$ncpu" ]; do threads="$threads $t"; t=$((t * 2)); done
  threads="$threads $ncpu"
fi
backends=${LPS_BACKENDS:-native dnnl}
if ! "$exe" info 2>/dev/null | grep -q 'dnnl=yes'; then
  backends=$(printf '%s\n' $backends | grep -v '^dnnl$' | tr '\n' ' ')
fi
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

for m in $models; do
  st=$steps
  case $m in conv13 | resnet50) st=$(((steps + 2) / 3)) ;; esac
  for t in $threads; do
    for be in $backends; do
      echo "scaling.sh: $m, $t threads, $be" >&2
      "$exe" bench --model "$m" --steps "$st" --threads "$t" --backend "$be" --json | tail -n 1 >>"$raw"
    done
  done
done
[ -n "${LPS_JSON:-}" ] && cp "$raw" "$LPS_JSON"

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
python3 - "$raw" "${cpu:-unknown}" "$ncpu" "${OMP_PROC_BIND:-unset}" "${OMP_PLACES:-unset}" <<'EOF'
import json, sys
raw, cpu, ncpu, bind, places = sys.argv[1:6]
rows = [json.loads(l) for l in open(raw) if l.strip().startswith('{')]
print(f"{cpu}, {ncpu} CPUs; OMP_PROC_BIND={bind}, OMP_PLACES={places}; batch {rows[0]['batch'] if rows else '?'}")
print()
print("| model | threads | backend | train img/s | x 1 thread | infer img/s | sync ms | step ms | native / dnnl (train) |")
print("|---|---|---|---|---|---|---|---|---|")
by = {(r['model'], r['threads'], r['backend']): r for r in rows}
for r in rows:
    one = by.get((r['model'], 1, r['backend']))
    up = f"{r['train_img_per_s'] / one['train_img_per_s']:.2f}" if one else "-"
    other = by.get((r['model'], r['threads'], 'dnnl'))
    ratio = f"{r['train_img_per_s'] / other['train_img_per_s']:.2f}" if other and r['backend'] == 'native' else ""
    print(f"| {r['model']} | {r['threads']} | {r['backend']} | {r['train_img_per_s']:.0f} | {up} | "
          f"{r['infer_img_per_s']:.0f} | {r['sync_ms']:.2f} | {r.get('step_ms', 0):.2f} | {ratio} |")
EOF
