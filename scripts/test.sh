#!/usr/bin/env bash
# The test suite: installs what is missing, builds, runs every test outside the "slow" label.
# Pass "asan" to run it under AddressSanitizer + UndefinedBehaviorSanitizer instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
kind="${1:-release}"
bash scripts/build.sh "$kind"
dir=build
[ "$kind" = asan ] && dir=build-asan
[ "$kind" = debug ] && dir=build-debug
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
ctest --test-dir "$dir" -LE slow --output-on-failure -j2
