#!/usr/bin/env bash
# Dense vs 90 %-pruned whole models at batch 1 (docs/sparse_runtime.md §3): ResNet-20 (1x28x28)
# and ResNet-18 (3x224x224), layer-wise magnitude pruning without fine-tuning (latency does not
# depend on the values), `leancnn bench` at 1 and 2 threads, natively and under
# LEANCNN_MAX_CPU_ISA=avx2; medians of ROUNDS (default 3) interleaved rounds. Prints a Markdown table.
#   bench/sparse_models.sh [BUILD_DIR]        (run on quiet cores)
set -euo pipefail
build="${1:-build}"
rounds="${ROUNDS:-3}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for spec in resnet20:1x28x28:10 resnet18:3x224x224:1000; do
  IFS=: read -r m input classes <<< "$spec"
  "$build/leancnn" export --model "$m" --input "$input" --classes "$classes" -o "$dir/$m.onnx" > /dev/null
  "$build/leancnn" prune "$dir/$m.onnx" --sparsity 0.9 --epochs 0 --no-eval -o "$dir/${m}_s90.onnx" > /dev/null 2>&1
done
latency() {  # ISA THREADS ITERS FILE
  LEANCNN_MAX_CPU_ISA=$1 "$build/leancnn" bench "$4" --threads "$2" --iters "$3" --json 2> /dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["latency_ms"])'
}
echo "| ISA | threads | model | dense ms | 90 % sparse ms | speed-up | latency fall |"
echo "|---|---|---|---|---|---|---|"
for isa in all avx2; do for t in 1 2; do for m in resnet20 resnet18; do
  iters=40; [ "$m" = resnet18 ] && iters=15
  d=(); s=()
  for ((r = 0; r < rounds; ++r)); do
    d+=("$(latency "$isa" "$t" "$iters" "$dir/$m.onnx")")
    s+=("$(latency "$isa" "$t" "$iters" "$dir/${m}_s90.onnx")")
  done
  python3 - "$isa" "$t" "$m" "${d[*]}" "${s[*]}" << 'PY'
import statistics as st, sys
isa, t, m, d, s = sys.argv[1:]
d, s = st.median(map(float, d.split())), st.median(map(float, s.split()))
print(f"| {'native' if isa == 'all' else 'cap ' + isa} | {t} | {m} | {d:.3f} | {s:.3f} | {d / s:.2f}x | {100 * (1 - s / d):.0f} % |")
PY
done; done; done
