#!/usr/bin/env bash
# Builds the libFuzzer targets (clang++, AddressSanitizer + UndefinedBehaviorSanitizer) in their
# own build folder and runs each for SECONDS on a seed corpus: fuzz_onnx_load from the ONNX test
# data's models (Debian's libonnx-testdata), fuzz_idx from a few small IDX files (raw and gzip).
# A crash leaves its input in <build>/fuzz/artifacts/ and makes this script fail.
#
# Usage: fuzz/run.sh [SECONDS=300] [TARGET ...]   (targets: fuzz_onnx_load fuzz_idx)
#        LEANCNN_FUZZ_BUILD=DIR to choose the build folder (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_onnx_load fuzz_idx)
dir="${LEANCNN_FUZZ_BUILD:-build-fuzz}"
command -v clang++ >/dev/null || { echo "run.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DLEANCNN_FUZZ=ON -DLEANCNN_SANITIZE=ON -DLEANCNN_BUILD_TESTS=OFF -DLEANCNN_BUILD_BENCH=OFF >/dev/null
ninja -C "$dir" -j2 "${targets[@]}"

corpus="$dir/fuzz/corpus"
mkdir -p "$corpus/onnx" "$corpus/idx" "$dir/fuzz/artifacts"
data=/usr/share/libonnx-testdata/data
if [ -d "$data" ] && [ -z "$(ls -A "$corpus/onnx")" ]; then
  for m in "$data"/node/*/model.onnx "$data"/pytorch-*/*/model.onnx; do
    [ "$(stat -c %s "$m")" -le 65536 ] && cp "$m" "$corpus/onnx/$(basename "$(dirname "$m")").onnx"
  done
fi
if [ -z "$(ls -A "$corpus/idx")" ]; then
  python3 - "$corpus/idx" <<'PY'
import gzip, os, struct, sys
out = sys.argv[1]
for name, dims in {"labels": [5], "images": [2, 3, 4], "cube": [1, 2, 2, 2]}.items():
    body = bytes((7 * i) % 256 for i in range(eval("*".join(map(str, dims)))))
    raw = bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + body
    open(os.path.join(out, name + ".idx"), "wb").write(raw)
    open(os.path.join(out, name + ".idx.gz"), "wb").write(gzip.compress(raw))
PY
fi

status=0
for t in "${targets[@]}"; do
  case "$t" in
    fuzz_onnx_load) c="$corpus/onnx" ;;
    fuzz_idx) c="$corpus/idx" ;;
    *) echo "run.sh: unknown target $t" >&2; exit 2 ;;
  esac
  echo "run.sh: $t for ${secs}s on $c" >&2
  if ! ASAN_OPTIONS=detect_leaks=1 "$dir/fuzz/$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 \
      -print_final_stats=1 -artifact_prefix="$dir/fuzz/artifacts/$t-" "$c"; then
    echo "run.sh: $t FAILED (see $dir/fuzz/artifacts/)" >&2
    status=1
  fi
done
exit $status
