// The shared conventions of binary and ternary layers (leancnn/ops/binary_net.h).
#include "leancnn/ops/binary_net.h"

#include <cmath>

#include "leancnn/core/error.h"

namespace leancnn::ops {

int64_t packed_bytes(int64_t count, int bits) { return (count * bits + 7) / 8; }

std::vector<uint8_t> pack_signs(const float* w, int64_t count) {
  std::vector<uint8_t> out(static_cast<size_t>(packed_bytes(count, 1)), 0);
  for (int64_t i = 0; i < count; ++i)
    if (sign_bit(w[i])) out[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
  return out;
}

std::vector<uint8_t> pack_ternary(const float* w, int64_t count) {
  std::vector<uint8_t> out(static_cast<size_t>(packed_bytes(count, 2)), 0);
  for (int64_t i = 0; i < count; ++i) {
    const unsigned code = w[i] > 0.f ? 1u : w[i] < 0.f ? 3u : 0u;
    out[static_cast<size_t>(i / 4)] |= static_cast<uint8_t>(code << (2 * (i % 4)));
  }
  return out;
}

int packed_code(const uint8_t* packed, int64_t i, int bits) {
  if (bits == 1) return (packed[i / 8] >> (i % 8)) & 1 ? 1 : -1;
  const unsigned code = (packed[i / 4] >> (2 * (i % 4))) & 3u;
  if (code == 2u) fail(ErrorKind::bad_input, "ternary code 0b10 at element ", i, " (valid: 00 = 0, 01 = +1, 11 = -1)");
  return code == 0u ? 0 : code == 1u ? 1 : -1;
}

float mean_abs_scale(const float* x, int64_t n) {
  if (n <= 0) return 0.f;
  // 32 partial sums (element i into sum i % 32), added pairwise at the end: the order is fixed,
  // so every caller gets the same bits, and the adds do not wait on each other (one chain of n
  // dependent double adds took 13 us of a 40 us binary layer; the kernels keep the 32 sums in
  // vector lanes, four or eight independent chains).
  double part[kMeanAbsParts] = {};
  int64_t i = 0;
  for (; i + kMeanAbsParts <= n; i += kMeanAbsParts)
    for (int k = 0; k < kMeanAbsParts; ++k) part[k] += std::fabs(static_cast<double>(x[i + k]));
  return mean_abs_finish(part, x + i, n - i, n);
}

float mean_abs_finish(double* part, const float* tail, int64_t tail_n, int64_t n) {
  for (int64_t k = 0; k < tail_n; ++k) part[k] += std::fabs(static_cast<double>(tail[k]));
  for (int s = 1; s < kMeanAbsParts; s *= 2)  // ((p0 + p1) + (p2 + p3)) + ...
    for (int k = 0; k < kMeanAbsParts; k += 2 * s) part[k] += part[k + s];
  return static_cast<float>(part[0] / static_cast<double>(n));
}

ActScale parse_act_scale(const ir::Node& node, const char* attr) {
  const std::string s = node.attrs.get_string(attr, "none");
  if (s == "none") return ActScale::none;
  if (s == "mean_abs") return ActScale::mean_abs;
  fail(ErrorKind::bad_input, node.op_type, " ", node.label(), ": attribute '", attr, "' must be none or mean_abs, got '", s,
       "'");
}

bool binary_row_scales(const Tensor& w, std::vector<float>& alpha, std::string* why) {
  const Tensor c = w.is_contiguous() ? w : w.clone();
  const int64_t rows = c.shape().empty() ? 1 : c.shape()[0];
  const int64_t inner = rows == 0 ? 0 : c.numel() / rows;
  const float* p = c.data<float>();
  alpha.assign(static_cast<size_t>(rows), 0.f);
  for (int64_t r = 0; r < rows; ++r) {
    const float a = std::fabs(p[r * inner]);
    for (int64_t i = 0; i < inner; ++i) {
      const float v = std::fabs(p[r * inner + i]);
      if (v != a || (a == 0.f && p[r * inner + i] != 0.f) || std::isnan(v)) {
        if (why) *why = str_cat("row ", r, " holds magnitudes ", a, " and ", v, " (a binary row is all ±alpha)");
        return false;
      }
    }
    alpha[static_cast<size_t>(r)] = a;
  }
  return true;
}

BinarizeMethod parse_binarize_method(const std::string& name) {
  if (name == "sign") return BinarizeMethod::sign;
  if (name == "stochastic") return BinarizeMethod::stochastic;
  if (name == "xnor") return BinarizeMethod::xnor;
  if (name == "irnet") return BinarizeMethod::irnet;
  if (name == "ternary") return BinarizeMethod::ternary;
  fail(ErrorKind::bad_input, "unknown weight binarizer '", name, "' (sign, stochastic, xnor, irnet or ternary)");
}

const char* binarize_method_name(BinarizeMethod m) {
  switch (m) {
    case BinarizeMethod::sign: return "sign";
    case BinarizeMethod::stochastic: return "stochastic";
    case BinarizeMethod::xnor: return "xnor";
    case BinarizeMethod::irnet: return "irnet";
    default: return "ternary";
  }
}

int binarize_method_bits(BinarizeMethod m) { return m == BinarizeMethod::ternary ? 2 : 1; }

}  // namespace leancnn::ops
