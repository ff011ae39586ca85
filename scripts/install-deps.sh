#!/usr/bin/env bash
# Installs every Debian package leancnn needs (idempotent: does nothing when all are present).
# Needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev            # oneDNN: fast fp32/int8 conv, GEMM, BN, pooling, eltwise
  ocl-icd-opencl-dev     # Debian's oneDNN is built with the OpenCL GPU runtime: its CMake config
                         # calls find_package(OpenCL), which libdnnl-dev only *recommends*
  libeigen3-dev          # SVD and linear algebra (decomposition)
  libomp-dev             # OpenMP (oneDNN's CPU runtime here is OpenMP)
  zlib1g-dev             # gzip IDX datasets
  libstb-dev             # stb_image / stb_image_write: PNG and JPEG calibration images (io/image)
  libcli11-dev nlohmann-json3-dev libyaml-cpp-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  dataset-fashion-mnist  # the default dataset (/usr/share/datasets/fashion-mnist)
  libonnx-testdata       # ONNX backend test data for the import conformance test (tests/conformance)
  chromium               # headless browser: the test that report.html renders (tests/integration)
)
# npm fetches the plotting libraries report.html inlines (scripts/install-web.sh); a nodejs from
# elsewhere (e.g. NodeSource, which bundles npm and conflicts with Debian's npm) is used as it is.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
# After the Debian packages: Vega, Vega-Lite and vega-embed from npm (third_party/web).
install_web() { bash "$(dirname "$0")/install-web.sh"; }

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  install_web
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-deps: error: missing packages (${missing[*]}) and not root; rerun as root or install sudo" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update; then
  echo "install-deps: error: 'apt-get update' failed; check the network and /etc/apt/sources.list" >&2
  exit 1
fi
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
  echo "install-deps: error: 'apt-get install' failed for: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: done"
install_web
