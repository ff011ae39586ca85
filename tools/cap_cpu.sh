#!/usr/bin/env bash
# Runs a command on a smaller CPU: every CPUID it executes reports the capped features, so ONNX
# Runtime, PyTorch, oneDNN and leancnn all dispatch as on that CPU (tools/cpuid_cap.cpp).
#
# Usage: tools/cap_cpu.sh LEVEL COMMAND [ARG...]
#   LEVEL: avx2 (an AMD Zen 3: AVX2 + FMA, no AVX-512, no AVX-VNNI) or avx512_core (a Skylake-SP:
#          AVX-512 without VNNI). Needs CPUID faulting ('cpuid_fault' in /proc/cpuinfo) and a CPU
#          above the level: otherwise the command is not run and the status is 3.
# Environment: CPUID_CAP_LIB [build/tools/libleancnn_cpuid_cap.so, from this checkout]
set -euo pipefail
if [[ $# -lt 2 || $1 == -h || $1 == --help ]]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -lt 2 ]] && exit 2 || exit 0
fi
level=$1
shift
case $level in avx2 | avx512_core) ;; *)
  echo "cap_cpu.sh: LEVEL '$level' is not one of avx2, avx512_core" >&2
  exit 2 ;;
esac
if ! grep -qw cpuid_fault /proc/cpuinfo 2>/dev/null; then
  echo "cap_cpu.sh: this CPU or kernel cannot fault CPUID (no 'cpuid_fault' in /proc/cpuinfo): not run" >&2
  exit 3
fi
# A level the CPU does not exceed caps nothing: say so instead of running a "capped" command.
flags=$(grep -m1 '^flags' /proc/cpuinfo)
if [[ $level == avx512_core ]] && ! grep -qw avx512f <<<"$flags"; then
  echo "cap_cpu.sh: this CPU has no AVX-512: capping it to avx512_core changes nothing: not run" >&2
  exit 3
fi
if [[ $level == avx2 ]] && ! grep -qw avx2 <<<"$flags"; then
  echo "cap_cpu.sh: this CPU has no AVX2: not run" >&2
  exit 3
fi
lib=${CPUID_CAP_LIB:-$(cd "$(dirname "$0")/.." && pwd)/build/tools/libleancnn_cpuid_cap.so}
if [[ ! -f $lib ]]; then
  echo "cap_cpu.sh: '$lib' not found: build it (scripts/build.sh) or set CPUID_CAP_LIB" >&2
  exit 2
fi
# glibc chose its string functions before the library loads: tell it the same cap.
tunables=glibc.cpu.hwcaps=-AVX512F,-AVX512CD,-AVX512BW,-AVX512DQ,-AVX512VL,-AVX512_VNNI
[[ $level == avx512_core ]] && tunables=glibc.cpu.hwcaps=-AVX512_VNNI
export GLIBC_TUNABLES=${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}$tunables
export LEANCNN_CPUID_CAP=$level
export LD_PRELOAD=$lib${LD_PRELOAD:+:$LD_PRELOAD}
exec "$@"
