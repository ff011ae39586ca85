#!/usr/bin/env bash
# Does a decomposition's MAC cut become latency? Dense vs decomposed, batch 1, same process
# settings, rounds alternating which goes first: the median latency of each (`leancnn bench
# --json`, median of ITERS runs), the MACs of each, the speed-up and the issue's figure
#   latency share = (1 - latency_after / latency_before) / (1 - macs_after / macs_before)
# (>= 0.7 is issue 19's target: latency falls by at least 70 % of the MACs reduction).
#
# Usage: bench/decompose_latency.sh   (needs build/leancnn: scripts/build.sh)
# Environment knobs (defaults in brackets):
#   MODELS ["resnet20 resnet18"]  resnet20 at 1x28x28 (10 classes), resnet18 at 3x224x224 (1000);
#          resnet20_224: resnet20 at 1x224x224 (10 classes), the same layers on 64x more pixels
#   METHOD [tucker2]  BUDGET [0.5] (the MACs after / before, rank rule budget with the proxy)
#   UNIT [macs]  the budget's unit: macs, params or latency (each layer and chain timed alone)
#   THREADS [2]  ROUNDS [3]  ITERS [300] WARMUP [30] (resnet18: ITERS_224 [30] WARMUP_224 [5])
#   ROUND_TO [1]  `leancnn decompose --round-to`: ranks to multiples of it (8: whole AVX2 vectors)
#   EXTRA [""]  more `leancnn bench` flags for both (e.g. --profile, --no-channels-last)
#   LEANCNN [build/leancnn]  OUT [a temp folder; the models are kept there]
# Untrained weights: latency does not depend on them. Not used by CI; run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
LEANCNN=${LEANCNN:-build/leancnn}
MODELS=${MODELS:-"resnet20 resnet18"}
METHOD=${METHOD:-tucker2}
BUDGET=${BUDGET:-0.5}
UNIT=${UNIT:-macs}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
ITERS=${ITERS:-300}
WARMUP=${WARMUP:-30}
ITERS_224=${ITERS_224:-30}
WARMUP_224=${WARMUP_224:-5}
EXTRA=${EXTRA:-}
OUT=${OUT:-$(mktemp -d)}
if [[ ! -x "$LEANCNN" ]]; then
  echo "decompose_latency.sh: '$LEANCNN' not found: build it first with scripts/build.sh" >&2
  exit 1
fi
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
for model in $MODELS; do
  case "$model" in
    resnet18) input=3x224x224; classes=1000; iters=$ITERS_224; warmup=$WARMUP_224 ;;
    resnet20_224) input=1x224x224; classes=10; iters=$ITERS_224; warmup=$WARMUP_224 ;;
    *) input=1x28x28; classes=10; iters=$ITERS; warmup=$WARMUP ;;
  esac
  dense="$OUT/$model.onnx" low="$OUT/${model}_${METHOD}.onnx"
  "$LEANCNN" export --model "${model%_224}" --input "$input" --classes "$classes" -o "$dense" >/dev/null
  echo "$model: decomposing ($METHOD, $UNIT budget $BUDGET, round_to ${ROUND_TO:-1}) ..." >&2
  "$LEANCNN" decompose "$dense" -o "$low" --method "$METHOD" --rank-rule budget --budget "$BUDGET" --budget-unit "$UNIT" --no-fc --no-eval \
    --round-to "${ROUND_TO:-1}" --threads "$THREADS" --json >"$OUT/${model}_${METHOD}.json"
  before=() after=()
  for ((r = 0; r < ROUNDS; ++r)); do
    order=("$dense" "$low")
    ((r % 2)) && order=("$low" "$dense")
    for f in "${order[@]}"; do
      # shellcheck disable=SC2086
      ms=$("$LEANCNN" bench "$f" --threads "$THREADS" --iters "$iters" --warmup "$warmup" $EXTRA --json | field latency_ms)
      if [[ "$f" == "$dense" ]]; then before+=("$ms"); else after+=("$ms"); fi
    done
  done
  macs_b=$("$LEANCNN" bench "$dense" --iters 1 --warmup 0 --json | field macs)
  macs_a=$("$LEANCNN" bench "$low" --iters 1 --warmup 0 --json | field macs)
  python3 - "$model" "$METHOD" "$THREADS" "$macs_b" "$macs_a" "${before[*]}" "${after[*]}" <<'PY'
import statistics, sys
model, method, threads, mb, ma, b, a = sys.argv[1:]
mb, ma = int(mb), int(ma)
b = [float(x) for x in b.split()]; a = [float(x) for x in a.split()]
lb, la = statistics.median(b), statistics.median(a)
share = (1 - la / lb) / (1 - ma / mb)
print(f"{model:9s} {method}: MACs {mb/1e6:.1f} M -> {ma/1e6:.1f} M ({mb/ma:.2f}x fewer); latency ({threads} threads, "
      f"median of rounds) {lb:.3f} ms -> {la:.3f} ms ({lb/la:.2f}x); latency share of the MACs cut {share:.2f} "
      f"(target >= 0.70); rounds dense {b} decomposed {a}")
PY
done
