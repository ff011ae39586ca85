// The QDQ graph builder (private to compress/quantize): copies a prepared float graph node by node
// into a new graph, inserting QuantizeLinear -> DequantizeLinear after the chosen activations and
// quantized weights / biases (through DequantizeLinear) into the chosen layers.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "leancnn/compress/quantize/ptq.h"
#include "leancnn/ir/graph.h"

namespace leancnn::compress::quantize::detail {

struct LayerChoice {
  int bits = 8;  // 0: float
  WeightScheme scheme = WeightScheme::uniform;
};

struct BuildInput {
  const ir::Graph* prepared = nullptr;
  const PtqOptions* options = nullptr;
  std::map<std::string, LayerChoice> layers;             // every quantizable layer, by node name
  std::map<std::string, QuantParams> activations;        // values to quantize, by name
  std::map<std::string, std::vector<double>> bias_delta;  // subtracted from the float bias, by layer
};

// What the builder made for one quantized layer (ids are in the built graph).
struct BuiltLayer {
  std::string name;
  ir::ValueId input = ir::kNone;  // the layer's input 0 in the built graph
  Tensor float_weight;            // before quantization
  Tensor dequantized_weight;      // what the DQ node yields
};

struct BuildOutput {
  ir::Graph graph;
  std::vector<LayerReport> layers;  // every quantizable layer, in topological order
  std::vector<BuiltLayer> built;    // quantized layers only
  int64_t quantize_nodes = 0;
};

// Builds the QDQ graph (shapes inferred and verified).
BuildOutput build_qdq(const BuildInput& in);

}  // namespace leancnn::compress::quantize::detail
