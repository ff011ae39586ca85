#!/usr/bin/env bash
# The main job on the built-in default: installs what is missing, builds, then trains the
# default model (ResNet-20) on Fashion-MNIST for a short schedule and evaluates the best model.
# Extra arguments go to `leancnn train` (e.g. --epochs 30 for the full schedule).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
out=runs/main
./build/leancnn info --model resnet20 --input 1x28x28 --classes 10
./build/leancnn train --model resnet20 --input 1x28x28 --classes 10 --data fashion-mnist \
  --epochs 3 --batch 128 --lr 0.1 --wd 5e-4 --no-decay-1d --schedule cosine --augment crop,flip \
  -o "$out" "$@"
./build/leancnn eval "$out/best.onnx" --data fashion-mnist
