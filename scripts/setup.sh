#!/usr/bin/env bash
# Set up a Debian 12 machine to build and test laperm: compilers and CMake,
# the optional libraries (HDF5, oneDNN, Google Benchmark, Highway, cairo,
# libpng), the aarch64 cross toolchain with qemu-user for the cross tests,
# clang with its runtime (sanitizers and libFuzzer: libclang-rt-14-dev) and
# LLVM's OpenMP (libomp-dev: clang finds no omp.h / libomp without it, and the
# fuzz build of scripts/fuzz.sh is a clang build), and curl, git and npm for
# `laperm fetch`.
#
# Idempotent: when every package is already installed (dpkg-query) it runs no
# apt-get at all, so a re-run takes a fraction of a second. Uses sudo when not
# run as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libhdf5-dev hdf5-tools
  libdnnl-dev libbenchmark-dev libhwy-dev
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  libcairo2-dev libpng-dev
  clang libclang-rt-14-dev libomp-dev
  curl ca-certificates git
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2> /dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
# npm only when the command is missing: a Node.js installed from elsewhere
# ships its own npm, and Debian's npm package conflicts with it.
if ! command -v npm > /dev/null 2>&1; then
  missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all packages present"
  exit 0
fi

echo "setup.sh: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo > /dev/null 2>&1; then
    echo "setup.sh: error: not root and sudo is not installed (missing: ${missing[*]})" >&2
    exit 1
  fi
  sudo=(sudo)
fi
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
echo "setup.sh: done"
