#!/usr/bin/env bash
# laperm against PyTorch on this machine: training and inference images/s
# and the full LaPerm sync, for each model and thread count, with
# `laperm bench` (native and, where built, the oneDNN backend) and
# bench/torch_baseline.py (plain Adam; the sync as stable argsort + scatter)
# run alternately, round after round, so that both see the same load.
# Prints a Markdown table of medians over the rounds and the ratios.
#
#   scripts/vs_pytorch.sh [BUILD_DIR]     (default: build; LAPERM=path overrides)
#
# Environment:
#   VSP_MODELS="conv7 conv13"   VSP_THREADS="1 2"   VSP_ROUNDS=3
#   VSP_STEPS=30 (conv13: a fifth)   VSP_JSON=FILE (also keep the raw JSON lines)
#   PYTHON=python3 (one with PyTorch)
# laperm's training step includes its data pipeline and augmentation and the
# sync amortised over the preset's k; PyTorch's is forward, backward and
# Adam on a fixed batch. Pin threads as for training (OMP_PROC_BIND=close
# OMP_PLACES=cores, or taskset).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
exe=${LAPERM:-$build/laperm}
py=${PYTHON:-python3}
# a python3 of its own on PATH (pyenv, a venv) may not see Debian's python3-torch
if [ -z "${PYTHON:-}" ] && ! "$py" -c 'import torch' 2>/dev/null && [ -x /usr/bin/python3 ]; then
  py=/usr/bin/python3
fi
if [ ! -x "$exe" ]; then
  echo "vs_pytorch.sh: no laperm binary at $exe (build first, or set LAPERM=path)" >&2
  exit 1
fi
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "vs_pytorch.sh: $py cannot import torch (Debian: apt-get install python3-torch; or set PYTHON)" >&2
  exit 1
fi
models=${VSP_MODELS:-conv7 conv13}
threads=${VSP_THREADS:-1 2}
rounds=${VSP_ROUNDS:-3}
steps=${VSP_STEPS:-30}
backends="native"
if "$exe" info 2>/dev/null | grep -q 'dnnl=yes'; then backends="native dnnl"; fi
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

for m in $models; do
  st=$steps
  [ "$m" = conv13 ] && st=$(((steps + 4) / 5))
  for t in $threads; do
    for r in $(seq "$rounds"); do
      echo "vs_pytorch.sh: $m, $t thread(s), round $r/$rounds" >&2
      for be in $backends; do
        "$exe" bench --model "$m" --threads "$t" --steps "$st" --backend "$be" --json |
          tail -n 1 | sed 's/^{/{"tool": "laperm", /' >>"$raw"
      done
      OMP_NUM_THREADS=$t "$py" "$root/bench/torch_baseline.py" --model "$m" --threads "$t" \
        --steps "$st" | sed 's/^{/{"tool": "torch", /' >>"$raw"
    done
  done
done
[ -n "${VSP_JSON:-}" ] && cp "$raw" "$VSP_JSON"

"$py" "$root/scripts/vs_pytorch_table.py" "$raw"
