// The spaces space.cpp registers (one file each) and the building blocks they share.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "leancnn/ir/builder.h"
#include "leancnn/search/space.h"

namespace leancnn::search {

std::unique_ptr<SearchSpace> make_mobile_space();  // space_mobile.cpp
std::unique_ptr<SearchSpace> make_macro_space();   // space_macro.cpp
std::unique_ptr<SearchSpace> make_cell_space();    // space_cell.cpp

// The cell space's pieces (space_cell.cpp), shared with the DARTS supernet (darts.cpp):
// its operations in decision order, one operation applied to x (c output channels at stride),
// and the network around the cells' nodes: a 3x3 stem, cells normal x R, reduction, normal x R,
// reduction, normal x R (reductions double the channels), the head. node(b, cell, j, states, c,
// reduction) returns node j of a normal (cell 0) or reduction (1) cell from the states before
// it (the two cell inputs, then nodes 0..j-1); in a reduction cell, operations on the two cell
// inputs run at stride 2.
constexpr int kCellNodes = 3;
const std::vector<std::string>& cell_ops();
ir::ValueId cell_op(ir::Builder& b, const std::string& op, ir::ValueId x, int64_t c, int64_t stride);
using CellNodeFn = std::function<ir::ValueId(ir::Builder& b, int cell, int j, const std::vector<ir::ValueId>& states,
                                             int64_t c, bool reduction)>;
ir::Graph build_cell_network(const std::string& name, int64_t channels, int64_t repeats, const models::ModelConfig& cfg,
                             const ir::OpTable& ops, const CellNodeFn& node);

// Conv (no bias) + BN + optional activation: "relu", "relu6" or "" (none). The conv is named
// `name` in the builder's scope and its BN "bn" (for "conv") or name + "_bn".
ir::ValueId conv_bn(ir::Builder& b, ir::ValueId x, int64_t oc, int64_t k, int64_t stride, int64_t groups,
                    const std::string& act, int64_t dilation = 1, const std::string& name = "conv");
// The classifier every space ends with: GlobalAveragePool, Flatten, Gemm to the classes,
// output renamed "logits".
void classifier_head(ir::Builder& b, ir::Graph& g, ir::ValueId x, int64_t classes);
// Adds a "labels" input (s64 [N]) and the cross-entropy of the logits (output 0) as a second
// output; returns the loss, for the supernets' own training loops (darts.cpp, oneshot.cpp).
ir::ValueId add_cross_entropy(ir::Graph& g, const ir::OpTable& ops);
// Adds a "teacher_logits" input (f32 [N, classes]) and the distillation loss (KLDivergence at
// T = 1, no gradient to the teacher) of the logits (output 0) as a second output; returns it.
ir::ValueId add_distillation(ir::Graph& g, const ir::OpTable& ops, int64_t classes);
// Fails (bad_input) unless the input has C, H, W with H and W >= min_hw.
void check_input(const models::ModelConfig& cfg, int64_t min_hw, const std::string& space);
// Options "a", "b", ... from numbers.
std::vector<std::string> labels(const std::vector<int64_t>& values);
// The label of decision i as a number.
int64_t number_at(const SearchSpace& s, const Architecture& a, size_t i);

}  // namespace leancnn::search
