// Helpers shared by the int8 conformance tests (qconv, qgemm): integer test data, byte-for-byte
// comparison, a plan-style prepared run through a named kernel, and which int8 kernel this CPU
// should select (what the suite asserts natively and under LEANCNN_MAX_CPU_ISA=avx2).
#pragma once
#include <string>

#include "conformance_util.h"
#include "layout_util.h"

namespace leancnn::testing {

// Uniform integers in [lo, hi] of dtype t.
Tensor random_ints(const Shape& s, DType t, Rng& rng, int lo, int hi);
Tensor scalar_f(float v);

// Bytes equal, with a GoogleTest failure naming the count and the first differing element.
void expect_identical(const Tensor& got, const Tensor& want, const std::string& what);

// True when the kernel named `kernel` is in the op's list and accepts the call on this CPU.
bool kernel_accepts(const OpCase& c, const std::string& kernel);

// The way a plan runs a kernel: prepare() once on the constants, then forward with the state
// (the weights replaced by random values and the bias by zeros, so the kernel must use its
// prepared copies). Throws when the kernel is absent, declines or does not prepare.
Tensor run_prepared(const OpCase& c, const std::string& kernel);

// The int8 kernel this CPU should select for a QLinear conv/gemm case: oneDNN's (`dnnl`) where
// its u8 x s8 arithmetic is exact here (VNNI, or weights within 7 bits) and the operands are
// what it takes (u8 x, s8 symmetric w, and for a conv a quantized output); else the s16 kernel
// (`s16`) on a CPU with AVX2; else the reference.
std::string expected_int8_kernel(const OpCase& c, const std::string& dnnl, const std::string& s16);

// Where the int8 coverage claims (LEANCNN_COVERS_WHERE, kernel_coverage.h) hold: the s16 kernels
// run on CPUs with AVX2; oneDNN's takes the cases' full 8-bit weights only where its u8 x s8 pair
// sums cannot saturate (VNNI). Both read kernels::int8_cpu_features(), so LEANCNN_MAX_CPU_ISA
// counts.
bool int8_s16_kernels_run_here();
bool int8_dnnl_takes_8bit_weights_here();

// Runs c through every fast kernel of its list that accepts it on this CPU, unprepared and
// prepared, and expects each to equal the reference bit for bit; expects the dispatcher to
// pick expected_int8_kernel(c, dnnl, s16) and the s16 kernel to accept wherever the CPU has AVX2.
// Returns the reference output.
Tensor check_int8_kernels(const OpCase& c, const std::string& dnnl, const std::string& s16, const std::string& what);

}  // namespace leancnn::testing
