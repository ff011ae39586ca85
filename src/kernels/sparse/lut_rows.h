// Sparse weight rows packed for table-lookup products (fully connected layers at small batch):
// a sparse matrix-vector product y = W x whose inputs come from registers instead of memory.
// The columns are cut into chunks of `cols` (the table: 8 floats in one AVX2 register, 32 in two
// AVX-512 registers) and the rows into blocks of `lanes` (a vector of outputs: 8 or 16). Block b
// x chunk c holds `slots` vectors of (value, column-in-chunk) pairs: lane l of slot s is row
// b * lanes + l's s-th non-zero in the chunk (0, 0 when that row has fewer), so one slot is one
// permute of the table by the column indices and one FMA into the block's outputs; the number of
// slots is the most non-zeros any row of the block has in the chunk. Per non-zero there is no
// load of the input (a CSR product loads value, offset and input: three loads) and the slots
// stream in order. Private to the sparse kernels (gemm_sparse.cpp).
#pragma once
#include <cstdint>
#include <vector>

namespace leancnn::kernels::sparse {

struct LutRows {
  int64_t n = 0, k = 0;           // rows (outputs) and columns (inputs)
  int lanes = 0, cols = 0;        // rows per block, columns per chunk
  int64_t blocks = 0, chunks = 0;
  std::vector<int64_t> slot_ptr;  // per (block, chunk) in that order, + 1: first slot
  std::vector<float> val;         // slots x lanes
  std::vector<uint8_t> idx;       // slots x lanes: column within the chunk
};

// Packs a dense row-major n x k matrix (its zeros are skipped).
LutRows pack_lut_rows(const float* w, int64_t n, int64_t k, int lanes, int cols);

// y[r] = bias[r] (0 when null) + sum over the non-zeros of row r of w * x[c], blocks [b0, b1).
// `x` holds chunks * cols floats (zero past k); `y` has blocks * lanes floats of room.
using LutGemvFn = void (*)(const LutRows& a, int64_t b0, int64_t b1, const float* x, const float* bias, float* y);
namespace avx2 {  // lanes 8, cols 8; call only with AVX2 and FMA
void lut_gemv(const LutRows& a, int64_t b0, int64_t b1, const float* x, const float* bias, float* y);
}
namespace avx512 {  // lanes 16, cols 32; call only with AVX-512F
void lut_gemv(const LutRows& a, int64_t b0, int64_t b1, const float* x, const float* bias, float* y);
}

// The table-lookup product this CPU runs, with its shape.
struct LutProduct {
  LutGemvFn gemv;
  int lanes, cols;
};
const LutProduct& lut_product();

}  // namespace leancnn::kernels::sparse
