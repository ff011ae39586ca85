// SCALE-Sim's layer tables (topology CSV files, e.g. its topologies/conv_nets/alexnet.csv) as
// Problems, so that its published networks can be entered as they are and compared with its
// figures. SCALE-Sim sizes a layer's output as ceil((H - R + stride) / stride), which differs
// from ONNX / PyTorch's floor((H - R) / stride) + 1 when the stride does not divide H - R
// (AlexNet Conv1, 224 with 11x11 / 4: 55 against 54); OutputSize says which convention to use.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "leancnn/accel/workload.h"

namespace leancnn::accel {

enum class OutputSize : uint8_t {
  ceil,   // SCALE-Sim's topology_utils: ceil((H - R + stride) / stride)
  floor,  // ONNX / PyTorch without padding: floor((H - R) / stride) + 1
};
const char* output_size_name(OutputSize o);             // "ceil", "floor"
OutputSize parse_output_size(const std::string& text);  // Error(bad_input) otherwise

// Output extent of a filter `filter` sliding over `in` with `stride` (no padding, no dilation).
int64_t output_extent(int64_t in, int64_t filter, int64_t stride, OutputSize rule);

// One row: Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
// Num Filter, Strides (one stride for both axes, or a ninth column for the width's).
struct ScaleSimLayer {
  std::string name;
  int64_t ifmap_h = 1, ifmap_w = 1, filter_h = 1, filter_w = 1, channels = 1, filters = 1;
  int64_t stride_h = 1, stride_w = 1;
};

// The layer as a convolution problem (batch 1, 16-bit operands, dense). A name containing "DP"
// is depthwise, as SCALE-Sim reads it: one group per channel, each with `filters` filters.
// Error(bad_input) naming the layer when a filter is larger than its input or a value is < 1.
Problem scale_sim_problem(const ScaleSimLayer& layer, OutputSize rule);

// The CSV text of a topology file (a header line, then one row per layer; SCALE-Sim writes a
// trailing comma). Error(bad_input) naming `source`, the line and the column.
std::vector<Problem> parse_scale_sim_topology(const std::string& csv, const std::string& source, OutputSize rule);
std::vector<Problem> load_scale_sim_topology(const std::string& path, OutputSize rule);

}  // namespace leancnn::accel
