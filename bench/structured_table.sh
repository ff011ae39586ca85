#!/usr/bin/env bash
# Issue 15's table: a trained model (ResNet-20 on Fashion-MNIST) with a fraction of its MACs
# removed by each structured-pruning criterion, fine-tuned, and the pruned architecture trained
# from scratch (Liu et al. 2019) as a row of its own; accuracy, MACs and batch-1 latency (2
# threads, median) of every variant from the recipe runner's report.json.
# Usage: bench/structured_table.sh MODEL.onnx [EPOCHS=20] [OUT=runs/structured_table] [FRACTION=0.5] [CRITERIA...]
#   e.g. bench/structured_table.sh /work/assets/r20/model.onnx 20 runs/st 0.5 l1 fpgm hrank thinet
# Env: ROUND_TO (channel multiple, default 1; 8 keeps whole AVX2 vectors and trims a ratio per
# group to the target), THREADS (training threads, default all cores).
# Small check: LIMIT=2000 (training images) TEST_LIMIT=1000 bench/structured_table.sh MODEL 1 /tmp/st 0.5 l1
set -euo pipefail
cd "$(dirname "$0")/.."
model=$(realpath "$1")
epochs=${2:-20}
out=${3:-runs/structured_table}
fraction=${4:-0.5}
shift $(( $# < 4 ? $# : 4 ))
criteria=("$@")
[ ${#criteria[@]} -gt 0 ] || criteria=(l1 fpgm hrank thinet l2 apoz slimming sfp layer)
mkdir -p "$out"
limit_train=${LIMIT:+  limit_train: $LIMIT}
limit_test=${TEST_LIMIT:+  limit_test: $TEST_LIMIT}
for c in "${criteria[@]}"; do
  extra=""
  case $c in slimming|sfp) extra="prune_epochs: $(( epochs / 4 > 0 ? epochs / 4 : 1 )), " ;; esac
  scratch=false
  [ "$c" = "${criteria[0]}" ] && scratch=true  # one from-scratch row (the architecture depends little on the criterion)
  cat > "$out/$c.yaml" <<EOF
description: structured pruning, $c, $fraction of the MACs removed, $epochs epochs of fine-tuning
model: {file: $model}
data:
  dataset: fashion-mnist
$limit_train
seed: 1
steps:
  - kind: prune
    name: $c
    epochs: $epochs
    lr: 0.01
    batch: 128
    weight_decay: 5e-4
    augment: [crop, flip]
    structured: {criterion: $c, target: flops, fraction: $fraction, round_to: ${ROUND_TO:-1}, ${extra}from_scratch: $scratch}
evaluate:
  accuracy: true
$limit_test
  latency: {batch: 1, threads: 2, iters: 200, warmup: 20}
  accel: false
EOF
  echo "== $c" >&2
  ${LEANCNN:-build/leancnn} run "$out/$c.yaml" -o "$out/$c" --force --threads "${THREADS:-0}"
done
python3 - "$out" "${criteria[@]}" <<'PY'
import json, sys
out, criteria = sys.argv[1], sys.argv[2:]
print(f"| criterion | test acc | drop (points) | MMACs | MACs removed | latency ms | latency removed | latency/FLOPs |")
print("|---|---|---|---|---|---|---|---|")
dense = None
for c in criteria:
    rep = json.load(open(f"{out}/{c}/report.json"))
    v = {x["name"]: x for x in rep["variants"]}
    d, p = v["input"], v[c]
    if dense is None:
        dense = d
        print(f"| dense | {d['test_acc']:.4f} | | {d['macs']/1e6:.2f} | | {d['latency_ms']:.3f} | | |")
    mr = 1 - p["macs"] / d["macs"]
    lr = 1 - p["latency_ms"] / d["latency_ms"]
    print(f"| {c} | {p['test_acc']:.4f} | {100*(d['test_acc']-p['test_acc']):.2f} | {p['macs']/1e6:.2f} | {100*mr:.1f} % | "
          f"{p['latency_ms']:.3f} | {100*lr:.1f} % | {lr/mr:.2f} |")
    s = p["diagnostics"].get("from_scratch")
    if s:
        print(f"| {c} architecture from scratch | {s.get('final_test_acc', s.get('best_test_acc', 0)):.4f} | "
              f"{100*(d['test_acc']-s.get('final_test_acc', s.get('best_test_acc', 0))):.2f} | {p['macs']/1e6:.2f} | | | | |")
PY
