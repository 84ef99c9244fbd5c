#!/usr/bin/env bash
# The main job (the README's first command) on a fresh Debian 12 machine:
# install, build, fetch MNIST and the paper's weight files, train conv7 with
# LaPerm for one epoch, evaluate the result and the paper's Conv7.h5.
# Environment: LAPERM_DATA (default ./data), LAPERM_SHARED (default
# ../shared: local copy of the pretrained files when present), EPOCHS (1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export LAPERM_DATA=${LAPERM_DATA:-$root/data}
shared=${LAPERM_SHARED:-$root/../shared}
epochs=${EPOCHS:-1}

[ "${LAPERM_SKIP_SETUP:-0}" = 1 ] || scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"

build/laperm info
build/laperm fetch mnist
if [ -d "$shared/pretrained" ]; then
  build/laperm fetch pretrained --from "$shared/pretrained"
else
  build/laperm fetch pretrained
fi

mkdir -p runs
echo "== LaPerm training of conv7 on MNIST ($epochs epoch(s), k = 20, preset of the paper)"
build/laperm train --model conv7 --epochs "$epochs" --val-every 300 --tsize 5000 --seed 1 \
  --out runs/conv7.h5 --history runs/conv7-history.csv
echo "== the trained weights"
build/laperm eval --model conv7 --weights runs/conv7.h5
echo "== the paper's Conv7.h5 (SPEC: 0.9972)"
build/laperm eval --model conv7 --weights "$LAPERM_DATA/pretrained/Conv7.h5"
