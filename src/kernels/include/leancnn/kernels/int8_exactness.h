// When the u8 x s8 -> s32 kernels are exact. VNNI's vpdpbusd accumulates every u8*s8 product in
// 32 bits: exact. Without VNNI, oneDNN's int8 kernels use vpmaddubsw, which sums two adjacent
// u8*s8 products into a *saturating* 16-bit lane: exact only while 2 * 255 * max|w| <= 32767,
// i.e. weights within 7 bits (|w| <= 64). The int8 kernels decline (and an exact kernel runs)
// otherwise. docs/int8_runtime.md.
#pragma once
#include <string>

#include "leancnn/core/cpu.h"
#include "leancnn/core/tensor.h"

namespace leancnn::kernels {

// Largest |w| of an s8 tensor (contiguous or not).
int max_abs_s8(const Tensor& w);

// "" when pair-summing u8*s8 products in 16 bits cannot saturate for weights up to max_abs_weight
// on a CPU with these features; else the reason (for LEANCNN_VERBOSE=dispatch).
std::string int8_pair_sum_refusal(const CpuFeatures& cpu, int max_abs_weight);

// The CPU features the int8 kernels decide on: the detected ones, unless a test injected others.
const CpuFeatures& int8_cpu_features();
// Tests: pretend to run on `cpu` (nullptr: back to the detected features).
void inject_int8_cpu_features(const CpuFeatures* cpu);

}  // namespace leancnn::kernels
