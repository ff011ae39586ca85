#!/usr/bin/env bash
# Training throughput of leancnn vs PyTorch (Debian python3-torch) on ResNet-20 and the small CNN (or LeNet-5), side by side.
#
# Usage: bench/train_vs_pytorch.sh            (from anywhere; needs build/leancnn: scripts/build.sh)
# Environment knobs (defaults in brackets):
#   ROUNDS [5]  THREADS [2]  BATCH [128]  MODELS ["resnet20 small_cnn"]
#   N_RESNET20 [1920]  N_LENET5 [60000]  N_SMALL_CNN [15360]    training images per run (one epoch, N / BATCH steps)
#   LEANCNN [build/leancnn]
#   CAP [none]  avx2 or avx512_core: both sides run under tools/cap_cpu.sh (CPUID reports that CPU to
#               the whole process, PyTorch's own dispatch included); needs 'cpuid_fault' in /proc/cpuinfo
# For each model, runs of leancnn and PyTorch alternate (the first of each round alternates too),
# then the medians of images/s and the ratio leancnn / PyTorch (higher is better for leancnn) are
# printed. Both figures cover one whole training epoch, its first steps included, evaluation and
# start-up excluded (see bench/pytorch_train.py); PyTorch's figure without its first 2 steps is
# printed as well. Not used by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3  # the system python: the one Debian's python3-torch installs into
LEANCNN=${LEANCNN:-build/leancnn}
ROUNDS=${ROUNDS:-5}
CAP=${CAP:-}
capped=()
if [[ -n $CAP ]]; then
  capped=(tools/cap_cpu.sh "$CAP")
  "${capped[@]}" true || { echo "train_vs_pytorch.sh: CAP=$CAP cannot be applied here (above)" >&2; exit 1; }
fi
THREADS=${THREADS:-2}
BATCH=${BATCH:-128}
MODELS=${MODELS:-"resnet20 small_cnn"}
N_RESNET20=${N_RESNET20:-1920}
N_LENET5=${N_LENET5:-60000}
N_SMALL_CNN=${N_SMALL_CNN:-15360}

if [[ ! -x "$LEANCNN" ]]; then
  echo "train_vs_pytorch.sh: '$LEANCNN' not found: build it first with scripts/build.sh" >&2
  exit 1
fi
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "train_vs_pytorch.sh: installing python3-torch (Debian's PyTorch) for $PY ..." >&2
  if [[ $(id -u) -eq 0 ]]; then apt-get install -y python3-torch >&2; else sudo apt-get install -y python3-torch >&2; fi
  "$PY" -c 'import torch' || { echo "train_vs_pytorch.sh: '$PY -c \"import torch\"' still fails" >&2; exit 1; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results="$tmp/results.tsv"
: >"$results"

# One leancnn run: prints its images/s (the epoch's training throughput).
run_leancnn() {
  local model=$1 n=$2
  "${capped[@]}" "$LEANCNN" train --model "$model" --input 1x28x28 --classes 10 --epochs 1 --batch "$BATCH" --limit-train "$n" \
    --limit-test 128 --augment none --lr 0.05 --wd 5e-4 --threads "$THREADS" --no-progress --json \
    -o "$tmp/run" 2>"$tmp/leancnn.err" >"$tmp/leancnn.json" || { cat "$tmp/leancnn.err" >&2; return 1; }
  "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["images_per_s"])' "$tmp/leancnn.json"
  rm -rf "$tmp/run"
}

# One PyTorch run: prints "images/s<TAB>images/s without the first 2 steps".
run_pytorch() {
  local model=$1 n=$2
  "${capped[@]}" "$PY" bench/pytorch_train.py --model "$model" --limit-train "$n" --batch "$BATCH" --threads "$THREADS" \
    --lr 0.05 --wd 5e-4 --warmup 2 >"$tmp/pytorch.json"
  "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["images_per_s"], j["steady_images_per_s"], sep="\t")' \
    "$tmp/pytorch.json"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; threads $THREADS, batch $BATCH, $ROUNDS rounds"
[[ -n $CAP ]] && echo "both sides capped to $CAP (tools/cap_cpu.sh)"
echo "torch $("$PY" -c 'import torch; print(torch.__version__, "mkldnn" if torch.backends.mkldnn.is_available() else "no-mkldnn")')"
echo "load average before: $load_before"
for model in $MODELS; do
  case $model in
    resnet20) n=$N_RESNET20 ;;
    lenet5) n=$N_LENET5 ;;
    small_cnn) n=$N_SMALL_CNN ;;
    *) echo "train_vs_pytorch.sh: unknown model '$model' (resnet20, small_cnn or lenet5)" >&2; exit 1 ;;
  esac
  for ((round = 1; round <= ROUNDS; ++round)); do
    if ((round % 2)); then order="leancnn pytorch"; else order="pytorch leancnn"; fi
    for side in $order; do
      if [[ $side == leancnn ]]; then
        ips=$(run_leancnn "$model" "$n")
        printf '%s\tleancnn\t%s\t\n' "$model" "$ips" >>"$results"
      else
        ips=$(run_pytorch "$model" "$n")
        printf '%s\tpytorch\t%s\n' "$model" "$ips" >>"$results"
      fi
      printf '  %-8s round %d  %-7s %8.1f img/s  (load %s)\n' "$model" "$round" "$side" "${ips%%$'\t'*}" \
        "$(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$results" "$BATCH" "resnet20=$N_RESNET20" "lenet5=$N_LENET5" "small_cnn=$N_SMALL_CNN" <<'EOF'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
batch = int(sys.argv[2])
n = {k: int(v) for k, v in (arg.split("=") for arg in sys.argv[3:])}
print()
print(f"{'model':<10} {'N':>6} {'steps':>5} {'leancnn img/s':>14} {'pytorch img/s':>14} {'ratio':>6}"
      f" {'pytorch w/o 2 first steps':>26} {'best: leancnn':>14} {'pytorch':>8} {'ratio':>6}")
for model in dict.fromkeys(r[0] for r in rows):
    lc = [float(r[2]) for r in rows if r[0] == model and r[1] == "leancnn"]
    pt = [float(r[2]) for r in rows if r[0] == model and r[1] == "pytorch"]
    pt_steady = [float(r[3]) for r in rows if r[0] == model and r[1] == "pytorch"]
    ml, mp = statistics.median(lc), statistics.median(pt)
    print(f"{model:<10} {n[model]:>6} {n[model] // batch:>5} {ml:>14.1f} {mp:>14.1f} {ml / mp:>6.2f}"
          f" {statistics.median(pt_steady):>26.1f} {max(lc):>14.1f} {max(pt):>8.1f} {max(lc) / max(pt):>6.2f}")
print("(medians, then the best run of each side; ratio = leancnn / pytorch, higher is better for leancnn;")
print(" on a loaded machine the medians are unreliable: compare the load averages above)")
EOF
