#!/usr/bin/env bash
# Builds Rozgar Sync into build/ (release) or, with RZ_SANITIZE=address,undefined,
# into build-asan/.  Installs the Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
dir=${RZ_BUILD_DIR:-build}
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ -n "${RZ_SANITIZE:-}" ]; then
  dir=${RZ_BUILD_DIR:-build-asan}
  args=(-DCMAKE_BUILD_TYPE=Debug "-DRZ_SANITIZE=${RZ_SANITIZE}")
fi
cmake -S . -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
echo "$dir"
