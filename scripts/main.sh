#!/usr/bin/env bash
# The main job on the built-in default: installs what is missing, builds, then runs
# `leancnn demo` (model summary + a short SGD loop on random data that must learn).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
./build/leancnn info --model resnet20 --input 3x32x32 --classes 10
./build/leancnn demo "$@"
