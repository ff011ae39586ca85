// Workloads: every Conv/Gemm of a graph as a 7-deep loop-nest problem (N, G, M, C, P, Q, R, S)
// with strides, dilations, padding, operand bit-widths and densities.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::accel {

// Problem dimensions. N batch, G groups, M output channels per group, C input channels per
// group, P×Q output rows×columns, R×S filter rows×columns. Depthwise is G = channels with
// M = C = 1; a fully connected layer is P = Q = R = S = 1.
enum class Dim : uint8_t { N, G, M, C, P, Q, R, S };
inline constexpr int kNumDims = 8;
inline constexpr std::array<Dim, kNumDims> kAllDims = {Dim::N, Dim::G, Dim::M, Dim::C,
                                                       Dim::P, Dim::Q, Dim::R, Dim::S};
char dim_letter(Dim d);
// 'N','G','M','C','P','Q','R','S' (and 'K' as Timeloop's name for M); false when unknown.
bool dim_from_letter(char c, Dim& out);

// The three operands (tensors) of a convolution.
enum class Operand : uint8_t { weights, inputs, outputs };
inline constexpr int kNumOperands = 3;
inline constexpr std::array<Operand, kNumOperands> kAllOperands = {Operand::weights, Operand::inputs,
                                                                   Operand::outputs};
const char* operand_name(Operand t);
// Whether dimension d indexes operand t. Inputs are indexed by P and R (rows: h = p·stride +
// r·dilation) and Q and S (columns) together, so all four count as relevant to inputs.
bool relevant(Operand t, Dim d);

struct Problem {
  std::string name;  // the graph node's name
  std::string op;    // "Conv", "Gemm", ...
  std::array<int64_t, kNumDims> dims = {1, 1, 1, 1, 1, 1, 1, 1};
  int64_t stride_h = 1, stride_w = 1;
  int64_t dil_h = 1, dil_w = 1;
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;  // informational: the model counts the padded extent
  std::array<int, kNumOperands> bits = {16, 16, 16};   // weights, inputs, outputs
  double weight_density = 1.0;  // fraction of non-zero weights (from the initializer)
  double input_density = 1.0;   // fraction of non-zero input activations (measured elsewhere)

  int64_t dim(Dim d) const { return dims[static_cast<int>(d)]; }
  int64_t& dim(Dim d) { return dims[static_cast<int>(d)]; }
  // Dense multiply-accumulates: the product of all dimensions.
  int64_t macs() const;
  // Elements of an operand. Inputs count the distinct (padded) positions the layer reads:
  // the rows {p·stride + r·dilation} times the columns likewise, times N·G·C.
  int64_t size(Operand t) const;
  double density(Operand t) const;
  // "M64 C32 P16 Q16 R3 S3 /2" for messages and reports (dims of 1 omitted).
  std::string shape_string() const;
  // Throws Error(bad_input) naming the problem and the field when a dimension, stride or bit
  // width is < 1 or a density is outside (0, 1].
  void validate() const;
};

struct WorkloadOptions {
  // Bit-widths used when the model does not say (f32 weights are modelled at this precision,
  // as accelerators run fp16/int16). 0 in weight_bits/input_bits means "from the model".
  int default_bits = 16;
  int weight_bits = 0;
  int input_bits = 0;
  // Measured activation densities by node name (e.g. zeros after ReLU on calibration images);
  // missing nodes use 1.
  std::map<std::string, double> activation_density;
};

// One Problem per Conv / QLinearConv / ConvInteger / Gemm / MatMul (2-D, constant B) node, in
// topological order; other nodes are skipped. The graph's shapes must be inferred. The weights'
// bits and density come from what is stored behind them (ir/storage.h, through the op schemas'
// storage views: DequantizeLinear, UnpackInt4, ...): s8/u8 8, packed 4-bit 4, b1 1, f32
// default_bits; density is the stored non-zero fraction (at least one element). An input's bits
// are those of the data it decodes from (a DequantizeLinear of u8: 8; f32: default_bits).
// weight_bits / input_bits override both.
std::vector<Problem> extract_workload(const ir::Graph& g, const ir::OpTable& ops, const WorkloadOptions& opts = {});

}  // namespace leancnn::accel
