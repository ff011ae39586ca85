// Size figures of a model variant, float or quantized (QDQ): parameters and non-zero
// parameters counted on the stored weights behind each layer (through DequantizeLinear and
// ai.leancnn::UnpackInt4), dense and effective MACs, and the bit-widths of every layer.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "leancnn/ir/graph.h"

namespace leancnn::pipeline {

struct LayerBits {
  int weight_bits = 32;  // 32 float, 8 s8, 4 packed 4-bit
  int input_bits = 32;   // 8 when the layer reads a dequantized u8/s8 tensor
  double weight_density = 1.0;  // non-zero fraction of the stored weight
};

struct ModelStats {
  // Elements of every tensor in a learnable slot (OpSchema::trainable_inputs: Conv/Gemm weight
  // and bias, BN scale and shift), each counted once, as stored: s8, unpacked 4-bit, f32.
  int64_t params = 0;
  int64_t nonzero_params = 0;
  int64_t macs = 0;            // dense, per image (ir::summarize)
  int64_t effective_macs = 0;  // MACs with a non-zero weight: Σ layer MACs × weight density
  int weight_bits = 32;        // the widest weight of any Conv/Gemm
  int activation_bits = 32;    // the widest input of any Conv/Gemm
  bool quantized = false;      // the graph holds QuantizeLinear / DequantizeLinear nodes
  std::map<std::string, LayerBits> layers;  // Conv/Gemm by node name
};

// The graph's shapes must be inferred.
ModelStats model_stats(const ir::Graph& g);

}  // namespace leancnn::pipeline
