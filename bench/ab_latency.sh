#!/usr/bin/env bash
# Batch-1 latency of two leancnn binaries (e.g. before and after a change) on the same models,
# interleaved: every round runs each model with A, then B, so a shared machine's slow phases hit
# both alike. Prints, per model and binary, the per-round medians and their median.
# Usage: bench/ab_latency.sh A_BINARY B_BINARY ROUNDS MODEL.onnx...
#   e.g. bench/ab_latency.sh /tmp/leancnn-before build/leancnn 4 runs/st/input.onnx runs/st/l1/l1.onnx
# Env: THREADS [2], ITERS [400] (timed runs per measurement, after 5 untimed ones).
set -euo pipefail
if [ $# -lt 4 ]; then
  sed -n '2,8p' "$0" >&2
  exit 2
fi
a=$1 b=$2 rounds=$3
shift 3
for bin in "$a" "$b"; do
  [ -x "$bin" ] || { echo "ab_latency.sh: '$bin' is not an executable leancnn" >&2; exit 1; }
done
[ "$a" != "$b" ] || { echo "ab_latency.sh: A and B are the same path: copy the binary to compare it with itself" >&2; exit 2; }
for m in "$@"; do
  [ -f "$m" ] || { echo "ab_latency.sh: no model file '$m'" >&2; exit 1; }
done
for m in "$@"; do
  declare -A got=()
  for _ in $(seq "$rounds"); do
    for bin in "$a" "$b"; do
      ms=$("$bin" bench "$m" --threads "${THREADS:-2}" --iters "${ITERS:-400}" --json 2>/dev/null |
           python3 -c 'import json, sys; print("%.4f" % json.load(sys.stdin)["latency_ms"])')
      got[$bin]="${got[$bin]:-} $ms"
    done
  done
  for bin in "$a" "$b"; do
    med=$(echo "${got[$bin]}" | tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}')
    printf '%-40s %-30s rounds:%s  median %s ms\n' "$(basename "$m")" "$bin" "${got[$bin]}" "$med"
  done
  unset got
done
