#!/usr/bin/env bash
# Int8 vs fp32 inference latency, natively and as on a CPU without VNNI, with ONNX Runtime on the
# same files (docs/int8_runtime.md §5).
#
# Usage: bench/int8_vs_fp32.sh     (needs build/leancnn and build/bench/qconv_bench: scripts/build.sh)
# Environment knobs (defaults in brackets):
#   ROUNDS [5]  THREADS [2]  ITERS [50]  WARMUP [5]  MODELS ["resnet18 resnet20 small_cnn"]
#   CAP [avx2]   the LEANCNN_MAX_CPU_ISA of the capped columns ("" skips them)
#   ORT [1]      0 skips ONNX Runtime
#   LEANCNN [build/leancnn]  QCONV_BENCH [<dir of LEANCNN>/bench/qconv_bench]
# For each model it exports the fp32 zoo model (batch 1; ResNet-18 at 3x224x224 with 1000 classes,
# the others at 1x28x28 with 10) and writes its QDQ int8 file: `leancnn quantize` (Fashion-MNIST
# calibration, 256 images) for the 28x28 models, `qconv_bench --model resnet18 --save-qdq` (min-max
# ranges from a random batch: leancnn quantize calibrates on the built-in data only) for ResNet-18.
# Weights are random (untrained): latency does not depend on them. Then, ROUNDS times, rotating
# the order, it times with `leancnn bench --json` the fp32 and the int8 file natively and under
# LEANCNN_MAX_CPU_ISA=$CAP, and ONNX Runtime on both files (`peers/ort_run.js --bench`; ORT has no
# ISA cap, so its columns are this CPU's own paths). It prints the int8 kernels each leancnn run
# chose, then a table of medians and the ratios int8 / fp32 and leancnn int8 / ORT int8. Not used by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
LEANCNN=${LEANCNN:-build/leancnn}
QCONV_BENCH=${QCONV_BENCH:-$(dirname "$LEANCNN")/bench/qconv_bench}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
ITERS=${ITERS:-50}
WARMUP=${WARMUP:-5}
MODELS=${MODELS:-"resnet18 resnet20 small_cnn"}
CAP=${CAP-avx2}
ORT=${ORT:-1}

for exe in "$LEANCNN" "$QCONV_BENCH"; do
  [[ -x $exe ]] || { echo "int8_vs_fp32.sh: '$exe' not found: build it first with scripts/build.sh" >&2; exit 1; }
done
[[ $ORT == 1 ]] && bench/peers/install.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results="$tmp/results.tsv"
: >"$results"

json_field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# The int8 kernels of one leancnn run: "kernel xN, ..." over the QLinear*/QGemm steps.
int8_kernels() {  # file cap
  env ${2:+LEANCNN_MAX_CPU_ISA=$2} "$LEANCNN" bench "$1" --threads "$THREADS" --iters 3 --warmup 1 --profile --json \
    2>/dev/null | "$PY" -c '
import collections, json, sys
steps = json.load(sys.stdin)["profile"]
c = collections.Counter(s["kernel"] for s in steps if s["op"].startswith("Q") and s["op"] != "QuantizeLinear")
print(", ".join(f"{k} x{n}" for k, n in sorted(c.items())))'
}

# One measurement (median latency, ms). Args: side file chw.
measure() {
  local side=$1 file=$2 chw=$3
  case $side in
    lc_native | lc_cap)
      local cap=""
      [[ $side == lc_cap ]] && cap=$CAP
      env ${cap:+LEANCNN_MAX_CPU_ISA=$cap} "$LEANCNN" bench "$file" --threads "$THREADS" --iters "$ITERS" \
        --warmup "$WARMUP" --json >"$tmp/out.json" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; } ;;
    ort)
      node bench/peers/ort_run.js "$file" --shape "1x${chw}" --threads "$THREADS" --bench --iters "$ITERS" \
        --warmup "$WARMUP" >"$tmp/out.json" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; } ;;
  esac
  json_field "$tmp/out.json" latency_ms
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; threads $THREADS, $ROUNDS rounds"
echo "cpu features: $("$LEANCNN" bench --model small_cnn --input 1x28x28 --classes 10 --iters 1 --warmup 0 --json 2>/dev/null |
  "$PY" -c 'import json,sys; print(json.load(sys.stdin)["cpu_features"])'); capped columns: LEANCNN_MAX_CPU_ISA=${CAP:-none}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

sides=(lc_native)
[[ -n $CAP ]] && sides+=(lc_cap)
[[ $ORT == 1 ]] && sides+=(ort)
cases=()
for model in $MODELS; do
  case $model in
    resnet18 | mobilenet_v2) chw=3x224x224 classes=1000 ;;
    resnet20 | small_cnn | lenet5) chw=1x28x28 classes=10 ;;
    *) echo "int8_vs_fp32.sh: unknown model '$model'" >&2; exit 1 ;;
  esac
  fp32="$tmp/${model}_fp32.onnx" int8="$tmp/${model}_int8.onnx"
  "$LEANCNN" export --model "$model" --input "$chw" --classes "$classes" -o "$fp32" >/dev/null
  if [[ $chw == 1x28x28 ]]; then
    "$LEANCNN" quantize "$fp32" -o "$int8" --calib 256 --no-eval >/dev/null 2>&1
  else
    "$QCONV_BENCH" --model "$model" --input "$chw" --rounds 1 --ms 1 --save-qdq "$int8" >/dev/null
  fi
  echo "  $model int8 kernels: native: $(int8_kernels "$int8" "")${CAP:+; under $CAP: $(int8_kernels "$int8" "$CAP")}"
  cases+=("$model $chw fp32 $fp32" "$model $chw int8 $int8")
done

n=${#sides[@]}
for ((round = 1; round <= ROUNDS; ++round)); do
  for c in "${cases[@]}"; do
    read -r model chw precision file <<<"$c"
    for ((k = 0; k < n; ++k)); do  # rotate who goes first
      side=${sides[$(((round - 1 + k) % n))]}
      ms=$(measure "$side" "$file" "$chw")
      printf '%s\t%s\t%s\t%s\n' "$model" "$precision" "$side" "$ms" >>"$results"
    done
  done
  echo "  round $round done (load $(cut -d' ' -f1 /proc/loadavg))"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$results" "$THREADS" "${CAP:-}" <<'EOF'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
cap = sys.argv[3]
sides = [s for s in ("lc_native", "lc_cap", "ort") if any(r[2] == s for r in rows)]
med = {}
for model, prec, side, ms in rows:
    med.setdefault((model, prec, side), []).append(float(ms))
med = {k: statistics.median(v) for k, v in med.items()}
names = {"lc_native": "leancnn", "lc_cap": f"leancnn {cap}", "ort": "ORT"}
head = f"{'model':<10}" + "".join(f" {names[s] + ' fp32':>16} {names[s] + ' int8':>16} {'int8/fp32':>9}" for s in sides)
if "ort" in sides:
    head += f" {'lc/ORT int8':>11}" + (f" {'lc ' + cap + '/ORT':>12}" if "lc_cap" in sides else "")
print()
print(head)
for model in dict.fromkeys(r[0] for r in rows):
    line = f"{model:<10}"
    for s in sides:
        f, i = med[(model, "fp32", s)], med[(model, "int8", s)]
        line += f" {f:>16.3f} {i:>16.3f} {i / f:>9.2f}"
    if "ort" in sides:
        line += f" {med[(model, 'int8', 'lc_native')] / med[(model, 'int8', 'ort')]:>11.2f}"
        if "lc_cap" in sides:
            line += f" {med[(model, 'int8', 'lc_cap')] / med[(model, 'int8', 'ort')]:>12.2f}"
    print(line)
print(f"(ms: medians over rounds of per-run median latencies, batch 1, {sys.argv[2]} threads; lower ratios are")
print(" better for int8 / for leancnn; ORT runs this CPU's own ISA in every column)")
EOF
