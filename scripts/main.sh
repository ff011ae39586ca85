#!/usr/bin/env bash
# The main job on the built-in default: installs what is missing, builds, then runs the default
# recipe (`leancnn run`, recipes/default.yaml): trains the small CNN on Fashion-MNIST, quantizes
# it to int8, evaluates both variants (accuracy, CPU latency at batch 1 on 2 threads, two
# accelerator presets) and writes runs/main/report.json and runs/main/report.html.
# Extra arguments go to `leancnn run` (e.g. a recipe file, -o DIR, --force).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
./build/leancnn run "$@"
