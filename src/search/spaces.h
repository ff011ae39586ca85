// The spaces space.cpp registers (one file each) and the building blocks they share.
#pragma once
#include <memory>
#include <string>

#include "leancnn/ir/builder.h"
#include "leancnn/search/space.h"

namespace leancnn::search {

std::unique_ptr<SearchSpace> make_mobile_space();  // space_mobile.cpp
std::unique_ptr<SearchSpace> make_macro_space();   // space_macro.cpp
std::unique_ptr<SearchSpace> make_cell_space();    // space_cell.cpp

// Conv (no bias) + BN + optional activation: "relu", "relu6" or "" (none).
ir::ValueId conv_bn(ir::Builder& b, ir::ValueId x, int64_t oc, int64_t k, int64_t stride, int64_t groups,
                    const std::string& act, int64_t dilation = 1);
// The classifier every space ends with: GlobalAveragePool, Flatten, Gemm to the classes,
// output renamed "logits".
void classifier_head(ir::Builder& b, ir::Graph& g, ir::ValueId x, int64_t classes);
// Fails (bad_input) unless the input has C, H, W with H and W >= min_hw.
void check_input(const models::ModelConfig& cfg, int64_t min_hw, const std::string& space);
// Options "a", "b", ... from numbers.
std::vector<std::string> labels(const std::vector<int64_t>& values);
// The label of decision i as a number.
int64_t number_at(const SearchSpace& s, const Architecture& a, size_t i);

}  // namespace leancnn::search
