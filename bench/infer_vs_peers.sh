#!/usr/bin/env bash
# Inference latency of leancnn vs ONNX Runtime (npm onnxruntime-node) and PyTorch 1.13 (Debian), side by side.
#
# Usage: bench/infer_vs_peers.sh     (from anywhere; needs build/leancnn and build/tests/integration: scripts/build.sh)
# Environment knobs (defaults in brackets):
#   ROUNDS [5]  THREADS [2]  MODELS ["resnet18 mobilenet_v2 resnet20 small_cnn"]
#   BATCHES_224 ["1 16"]   batches of the 3x224x224 models (resnet18, mobilenet_v2; 1000 classes)
#   BATCHES_28 ["1 256"]   batches of the 1x28x28 models (resnet20, small_cnn, lenet5; 10 classes)
#   ITERS [50] WARMUP [5]  timed and untimed runs per measurement at batch 1;
#   ITERS_BIG [10] WARMUP_BIG [2]  the same at larger batches
#   CHECK [1]  0 skips the checks below
#   LEANCNN [build/leancnn]  AGREE_TEST [<dir of LEANCNN>/tests/integration]
#   CAP [none]  avx2 or avx512_core: every side runs under tools/cap_cpu.sh, which makes CPUID report
#               that CPU to the whole process (ONNX Runtime and PyTorch included, which no variable
#               of theirs caps); needs CPUID faulting ('cpuid_fault' in /proc/cpuinfo)
# Installs the peers on first use (bench/peers/install.sh). For each model the script first checks
# that PyTorch's definition has the same Conv/Gemm layers (order, output shapes, parameters) as the
# zoo's, and, for each case, that leancnn and ONNX Runtime agree on the exported file within 1e-4
# relative (the OrtAgreement.FileNamedByEnvironment test of the integration suite). Then, ROUNDS
# times, it measures leancnn (`leancnn bench --json`), ONNX Runtime and PyTorch, rotating which
# goes first, and prints the median latencies and the ratios leancnn / peer (lower is better for
# leancnn). Every figure is the median over ITERS single runs of one process. Not used by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3  # the system python: the one Debian's python3-torch installs into
LEANCNN=${LEANCNN:-build/leancnn}
AGREE_TEST=${AGREE_TEST:-$(dirname "$LEANCNN")/tests/integration}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
MODELS=${MODELS:-"resnet18 mobilenet_v2 resnet20 small_cnn"}
BATCHES_224=${BATCHES_224:-"1 16"}
BATCHES_28=${BATCHES_28:-"1 256"}
ITERS=${ITERS:-50}
WARMUP=${WARMUP:-5}
ITERS_BIG=${ITERS_BIG:-10}
WARMUP_BIG=${WARMUP_BIG:-2}
CHECK=${CHECK:-1}
CAP=${CAP:-}
capped=()
if [[ -n $CAP ]]; then
  capped=(tools/cap_cpu.sh "$CAP")
  "${capped[@]}" true || { echo "infer_vs_peers.sh: CAP=$CAP cannot be applied here (above)" >&2; exit 1; }
fi

if [[ ! -x "$LEANCNN" ]]; then
  echo "infer_vs_peers.sh: '$LEANCNN' not found: build it first with scripts/build.sh" >&2
  exit 1
fi
if [[ $CHECK == 1 && ! -x "$AGREE_TEST" ]]; then
  echo "infer_vs_peers.sh: '$AGREE_TEST' (the integration tests) not found: build them, or set CHECK=0" >&2
  exit 1
fi
bench/peers/install.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results="$tmp/results.tsv"
: >"$results"

json_field() {  # json_field FILE KEY
  "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# One measurement; prints the median latency (ms). Args: side model file chw classes batch iters warmup.
measure() {
  local side=$1 model=$2 file=$3 chw=$4 classes=$5 batch=$6 iters=$7 warmup=$8
  case $side in
    leancnn)
      "${capped[@]}" "$LEANCNN" bench "$file" --batch "$batch" --threads "$THREADS" --iters "$iters" --warmup "$warmup" --json \
        >"$tmp/out.json" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; } ;;
    ort)
      "${capped[@]}" node bench/peers/ort_run.js "$file" --shape "${batch}x${chw}" --threads "$THREADS" --bench --iters "$iters" \
        --warmup "$warmup" >"$tmp/out.json" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; } ;;
    pytorch)
      "${capped[@]}" "$PY" bench/peers/torch_infer.py --model "$model" --input "$chw" --classes "$classes" --batch "$batch" \
        --threads "$THREADS" --iters "$iters" --warmup "$warmup" >"$tmp/out.json" 2>"$tmp/err" ||
        { cat "$tmp/err" >&2; return 1; } ;;
  esac
  json_field "$tmp/out.json" latency_ms
}

# PyTorch's Conv2d/Linear layers equal the zoo's Conv/Gemm nodes (order, output shape, params).
check_layers() {
  local model=$1 chw=$2 classes=$3
  "$LEANCNN" info --model "$model" --input "$chw" --classes "$classes" --json >"$tmp/info.json"
  "$PY" bench/peers/torch_infer.py --model "$model" --input "$chw" --classes "$classes" --layers >"$tmp/layers.json"
  "$PY" - "$tmp/info.json" "$tmp/layers.json" "$model" <<'EOF'
import json, sys
ours = [{"op": n["op"], "output_shape": n["output_shape"], "params": n["params"]}
        for n in json.load(open(sys.argv[1]))["nodes"] if n["op"] in ("Conv", "Gemm")]
theirs = json.load(open(sys.argv[2]))
for i, (a, b) in enumerate(zip(ours, theirs)):
    if a != b:
        sys.exit(f"  {sys.argv[3]}: layer {i} differs: leancnn {a}, pytorch {b}")
if len(ours) != len(theirs):
    sys.exit(f"  {sys.argv[3]}: leancnn has {len(ours)} Conv/Gemm layers, pytorch {len(theirs)}")
print(f"  {sys.argv[3]}: same {len(ours)} Conv/Gemm layers in PyTorch (order, output shapes, parameters)")
EOF
}

# leancnn and ONNX Runtime agree on the file (the integration test does the run and comparison).
check_agreement() {
  local file=$1 batch=$2
  if ! LEANCNN_ORT_AGREE_MODEL=$file LEANCNN_ORT_AGREE_BATCH=$batch LEANCNN_ORT_AGREE_THREADS=$THREADS \
    "$AGREE_TEST" --gtest_filter=OrtAgreement.FileNamedByEnvironment >"$tmp/agree.log" 2>&1; then
    cat "$tmp/agree.log" >&2
    echo "infer_vs_peers.sh: leancnn and ONNX Runtime disagree on $file (batch $batch)" >&2
    return 1
  fi
  grep -q '^max_rel_diff' "$tmp/agree.log" || { cat "$tmp/agree.log" >&2; echo "infer_vs_peers.sh: agreement test did not run" >&2; return 1; }
  echo "  $(basename "$file" .onnx) batch $batch: leancnn vs ONNX Runtime $(grep '^max_rel_diff' "$tmp/agree.log" | cut -d' ' -f1-2) (<= 1e-4)"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; threads $THREADS, $ROUNDS rounds"
echo "onnxruntime-node $(node -p 'require("./bench/peers/node_modules/onnxruntime-node/package.json").version'), torch $("$PY" -c 'import torch; print(torch.__version__)')"
echo "load average before: $load_before"
[[ -n $CAP ]] && echo "every side capped to $CAP: $("${capped[@]}" "$LEANCNN" bench --model small_cnn --input 1x28x28 --iters 1 --warmup 0 --json 2>/dev/null | "$PY" -c 'import json,sys; print("leancnn sees", json.load(sys.stdin)["cpu_features"])')"

cases=()
for model in $MODELS; do
  case $model in
    resnet18 | mobilenet_v2) chw=3x224x224 classes=1000 batches=$BATCHES_224 ;;
    resnet20 | small_cnn | lenet5) chw=1x28x28 classes=10 batches=$BATCHES_28 ;;
    *) echo "infer_vs_peers.sh: unknown model '$model' (resnet18, mobilenet_v2, resnet20, small_cnn or lenet5)" >&2; exit 1 ;;
  esac
  file="$tmp/${model}_${chw}.onnx"
  "$LEANCNN" export --model "$model" --input "$chw" --classes "$classes" -o "$file" >/dev/null
  if [[ $CHECK == 1 ]]; then check_layers "$model" "$chw" "$classes"; fi
  for batch in $batches; do
    if [[ $CHECK == 1 ]]; then check_agreement "$file" "$batch"; fi
    cases+=("$model $chw $classes $batch $file")
  done
done

sides=(leancnn ort pytorch)
for c in "${cases[@]}"; do
  read -r model chw classes batch file <<<"$c"
  if ((batch == 1)); then iters=$ITERS warmup=$WARMUP; else iters=$ITERS_BIG warmup=$WARMUP_BIG; fi
  for ((round = 1; round <= ROUNDS; ++round)); do
    for ((k = 0; k < 3; ++k)); do  # rotate who goes first
      side=${sides[$(((round - 1 + k) % 3))]}
      ms=$(measure "$side" "$model" "$file" "$chw" "$classes" "$batch" "$iters" "$warmup")
      printf '%s\t%s\t%s\t%s\t%s\n' "$model" "$chw" "$batch" "$side" "$ms" >>"$results"
      printf '  %-12s batch %-3s round %d  %-7s %10.3f ms  (load %s)\n' "$model" "$batch" "$round" "$side" "$ms" \
        "$(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$results" "$THREADS" <<'EOF'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
print()
print(f"{'model':<13} {'input':<10} {'batch':>5} {'leancnn ms':>11} {'ORT ms':>10} {'PyTorch ms':>11}"
      f" {'lc/ORT':>7} {'lc/PyTorch':>10} {'leancnn img/s':>14}")
for key in dict.fromkeys((r[0], r[1], r[2]) for r in rows):
    med = {side: statistics.median(float(r[4]) for r in rows if (r[0], r[1], r[2]) == key and r[3] == side)
           for side in ("leancnn", "ort", "pytorch")}
    batch = int(key[2])
    print(f"{key[0]:<13} {key[1]:<10} {batch:>5} {med['leancnn']:>11.3f} {med['ort']:>10.3f} {med['pytorch']:>11.3f}"
          f" {med['leancnn'] / med['ort']:>7.2f} {med['leancnn'] / med['pytorch']:>10.2f}"
          f" {batch / med['leancnn'] * 1e3:>14.1f}")
print(f"(medians over rounds of per-run median latencies, {sys.argv[2]} threads; ratio = leancnn / peer latency,")
print(" lower is better for leancnn; on a loaded machine the figures are unreliable: compare the load averages above)")
EOF
