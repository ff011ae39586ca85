// Binary and ternary networks (docs/binarization.md): the packed bit format of ai.leancnn
// BinaryWeights, the sign and scale conventions every binary op, kernel and pass shares, and the
// weight binarizers of training (ai.leancnn FakeBinarize).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"

namespace leancnn::ops {

// --- Packed storage (DESIGN.md §4) ---
// Logical element i (row-major over the weight shape) sits in byte i / (8 / bits) at bit
// (i % (8 / bits)) * bits, least significant first; the last byte's unused high bits are 0 and
// ignored (the only padding: rows are not padded, so a layer costs ceil(numel * bits / 8) bytes).
// bits = 1: bit 1 = +1, bit 0 = -1. bits = 2 (ternary): code 0b00 = 0, 0b01 = +1, 0b11 = -1;
// 0b10 is invalid.
int64_t packed_bytes(int64_t count, int bits);
// Signs of w (w >= 0 -> +1, so sign(0) = +1) packed 1 bit each.
std::vector<uint8_t> pack_signs(const float* w, int64_t count);
// Ternary codes (values in {-1, 0, +1}: the sign of each value) packed 2 bits each.
std::vector<uint8_t> pack_ternary(const float* w, int64_t count);
// Decodes element i of a packed tensor to -1, 0 or +1; throws Error(bad_input) on code 0b10.
int packed_code(const uint8_t* packed, int64_t i, int bits);

// --- Activations ---
// The sign every binary op applies to activations: x >= 0 -> +1, else -1 (NaN -> -1).
inline bool sign_bit(float x) { return x >= 0.f; }
// XNOR-Net's activation scale beta of one sample (its n values): mean |x|, summed in double (in
// kMeanAbsParts interleaved partial sums, element i into sum i % kMeanAbsParts, then added
// pairwise: a fixed order) and rounded once to f32. Ops call this function; the kernels keep the
// same partial sums in vector lanes and finish with mean_abs_finish, so all agree bit for bit.
inline constexpr int kMeanAbsParts = 32;
float mean_abs_scale(const float* x, int64_t n);
// Adds the tail (the last n % kMeanAbsParts values, into part[0..]) and the pairwise sum of
// part[kMeanAbsParts] (overwritten), divided by n, rounded to f32.
float mean_abs_finish(double* part, const float* tail, int64_t tail_n, int64_t n);
enum class ActScale { none, mean_abs };
// Attribute `scale` of ai.leancnn Binarize / `input_scale` of BinaryConv: "none" | "mean_abs".
ActScale parse_act_scale(const ir::Node& node, const char* attr);

// --- Weights as a binary layer reads them ---
// Per-row magnitudes of a [rows, ...] f32 weight tensor whose rows are each ±alpha (zero rows
// allowed); false (and `why` filled) when a row holds two different magnitudes or a zero.
bool binary_row_scales(const Tensor& w, std::vector<float>& alpha, std::string* why = nullptr);

// --- Training: weight binarizers (ai.leancnn FakeBinarize, attribute `method`) ---
enum class BinarizeMethod { sign, stochastic, xnor, irnet, ternary };
BinarizeMethod parse_binarize_method(const std::string& name);  // Error(bad_input) names the choices
const char* binarize_method_name(BinarizeMethod m);
// 1 for the binary methods, 2 for ternary.
int binarize_method_bits(BinarizeMethod m);

}  // namespace leancnn::ops
