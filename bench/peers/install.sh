#!/usr/bin/env bash
# Installs the peers of the side-by-side benchmarks (DESIGN.md §5): ONNX Runtime from npm into
# bench/peers/node_modules (git-ignored) and PyTorch 1.13 + torchvision from Debian. Idempotent:
# does nothing for a peer that is already there. Not used by CI.
#
# Usage: bench/peers/install.sh
set -euo pipefail
cd "$(dirname "$0")"

PY=/usr/bin/python3  # the system python: the one Debian's python3-torch installs into

# onnxruntime-node ships libonnxruntime.so for linux-x64 in its package; --ignore-scripts skips
# its install script, which would try to download CUDA binaries we do not need.
if [[ -f node_modules/onnxruntime-node/package.json ]] && node -e 'require("onnxruntime-node")' 2>/dev/null; then
  echo "install.sh: onnxruntime-node $(node -p 'require("onnxruntime-node/package.json").version') already installed" >&2
else
  command -v npm >/dev/null || { echo "install.sh: npm not found (apt-get install npm)" >&2; exit 1; }
  echo "install.sh: installing onnxruntime-node into $(pwd)/node_modules ..." >&2
  # `npm ci` installs exactly the committed package-lock.json; without one, the pinned package.json.
  if [[ -f package-lock.json ]]; then npm ci --ignore-scripts --no-audit --no-fund >&2
  else npm install --ignore-scripts --no-audit --no-fund >&2; fi
  node -e 'require("onnxruntime-node")' || { echo "install.sh: onnxruntime-node installed but does not load" >&2; exit 1; }
fi

if "$PY" -c 'import torch, torchvision' 2>/dev/null; then
  echo "install.sh: torch $("$PY" -c 'import torch; print(torch.__version__)') and torchvision already installed" >&2
else
  echo "install.sh: installing python3-torch and python3-torchvision (Debian's PyTorch) for $PY ..." >&2
  if [[ $(id -u) -eq 0 ]]; then apt-get install -y python3-torch python3-torchvision >&2
  else sudo apt-get install -y python3-torch python3-torchvision >&2; fi
  "$PY" -c 'import torch, torchvision' || { echo "install.sh: '$PY -c \"import torch, torchvision\"' still fails" >&2; exit 1; }
fi
