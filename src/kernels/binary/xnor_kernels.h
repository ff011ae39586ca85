// The XNOR-popcount kernels of ai.leancnn BinaryConv (kernels/binary): the per-ISA row products
// (one translation unit each, reached only through run-time dispatch) and the kernel list.
#pragma once
#include <cstdint>
#include <vector>

#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels::binary {

// out[r] = popcount(a XOR w_r) over `words` 64-bit words, for rows w_r = w + r * words, r < rows:
// the number of sign disagreements between one packed input patch and each packed filter.
using XorPopcountRows = void (*)(const uint64_t* a, const uint64_t* w, int64_t words, int64_t rows, int32_t* out);

void xor_popcount_rows_avx2(const uint64_t* a, const uint64_t* w, int64_t words, int64_t rows, int32_t* out);      // vpshufb nibble LUT
void xor_popcount_rows_avx512(const uint64_t* a, const uint64_t* w, int64_t words, int64_t rows, int32_t* out);    // VPOPCNTQ

// The BinaryConv kernels (xnor_conv.cpp): AVX-512 VPOPCNTDQ and AVX2 row products.
Kernel cpu_binary_conv_b1_avx512();
Kernel cpu_binary_conv_b1_avx2();

}  // namespace leancnn::kernels::binary
