// Activation statistics measured by running a model on calibration images: for now the
// density (fraction of non-zero values) of the input activation of every Conv and Gemm, which
// zero-skipping accelerators exploit (accel::WorkloadOptions::activation_density).
#pragma once
#include <map>
#include <string>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::runtime {

// Density of input 0 of every Conv and Gemm node, keyed by node name, over `images` (fed to
// the graph's single input). Throws Error(bad_input) when the images do not fit the input.
std::map<std::string, double> measure_input_density(ir::Graph& g, const ir::OpTable& ops, const Tensor& images);

}  // namespace leancnn::runtime
