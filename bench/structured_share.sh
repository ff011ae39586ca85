#!/usr/bin/env bash
# Issue 15's latency line: how much of the MACs that structured pruning removes comes off the
# batch-1 latency. A zoo model is exported at the given input, pruned data-free (uniform l1,
# `--remove-flops FRACTION --round-to R --epochs 0 --no-eval`: latency does not depend on the
# weights' values), and the dense and pruned files are timed by `leancnn bench`, alternating, for
# ROUNDS rounds. Prints each round, the medians and the share = (latency removed / dense latency)
# / (MACs removed / dense MACs), per round (its median) and from the two medians.
# Usage: bench/structured_share.sh MODEL CxHxW CLASSES [FRACTION=0.5] [ROUND_TO=8]
#   e.g. bench/structured_share.sh resnet20 1x224x224 10     (the issue names 224x224)
#        bench/structured_share.sh resnet18 3x224x224 1000
# Env: ROUNDS [7], THREADS [2], ITERS [timed runs per measurement: 20, 400 below 64x64 inputs],
#      LEANCNN [build/leancnn]. Run on quiet cores; not used by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 3 ]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
model=$1 input=$2 classes=$3 fraction=${4:-0.5} round_to=${5:-8}
leancnn=${LEANCNN:-build/leancnn}
rounds=${ROUNDS:-7}
threads=${THREADS:-2}
[ -x "$leancnn" ] || { echo "structured_share.sh: '$leancnn' not found: build it first with scripts/build.sh" >&2; exit 1; }
side=${input##*x}
iters=${ITERS:-$([ "$side" -lt 64 ] && echo 400 || echo 20)}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$leancnn" export --model "$model" --input "$input" --classes "$classes" -o "$dir/dense.onnx" >/dev/null
"$leancnn" prune "$dir/dense.onnx" --structured --remove-flops "$fraction" --round-to "$round_to" --epochs 0 --no-eval \
  --bench-iters 1 --threads "$threads" --json -o "$dir/pruned.onnx" 2>/dev/null >"$dir/prune.json"
latency() {
  "$leancnn" bench "$1" --threads "$threads" --iters "$iters" --json 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["latency_ms"])'
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$dir/times"
for r in $(seq "$rounds"); do
  d=$(latency "$dir/dense.onnx")
  p=$(latency "$dir/pruned.onnx")
  echo "round $r: dense $d ms, pruned $p ms"
  echo "$d $p" >>"$dir/times"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$dir/prune.json" "$dir/times" "$model" "$input" "$threads" <<'PY'
import json, statistics, sys
j = json.load(open(sys.argv[1]))
cut = 1 - j["macs"] / j["macs_before"]
rows = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
dense, pruned = [d for d, _ in rows], [p for _, p in rows]
shares = [(d - p) / d / cut for d, p in rows]
md, mp = statistics.median(dense), statistics.median(pruned)
print(f"{sys.argv[3]} {sys.argv[4]}, {sys.argv[5]} threads: MACs {j['macs_before']} -> {j['macs']} ({100 * cut:.1f} % removed)")
print(f"latency medians: dense {md:.4f} ms, pruned {mp:.4f} ms")
print(f"share: {statistics.median(shares):.2f} (median of rounds {', '.join(f'{s:.2f}' for s in shares)}), "
      f"{(md - mp) / md / cut:.2f} from the medians (target >= 0.70)")
PY
