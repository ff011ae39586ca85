#!/usr/bin/env bash
# Configures and builds leancnn. Usage: scripts/build.sh [release|asan|debug] (default release).
# Build folders: build/ (release), build-asan/ (ASan + UBSan), build-debug/.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
case "$kind" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir=build-asan; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEANCNN_SANITIZE=ON -DLEANCNN_BUILD_BENCH=OFF) ;;
  debug) dir=build-debug; args=(-DCMAKE_BUILD_TYPE=Debug) ;;
  *) echo "build.sh: unknown build kind '$kind' (release, asan or debug)" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${args[@]}" -DLEANCNN_WERROR=ON >/dev/null
ninja -C "$dir"
