// FusedConv (domain ai.leancnn, inference only): Y = act(Conv(X, W) + B + Z), the conv
// epilogue an inference plan fuses (ONNX Runtime's com.microsoft FusedConv naming).
#pragma once
#include <string>

#include "leancnn/ir/op_schema.h"

namespace leancnn::ops {

enum class FusedActivation { none, relu, clip, hard_swish };

// The `activation` and `activation_params` attributes, validated.
struct FusedEpilogue {
  FusedActivation activation = FusedActivation::none;
  float clip_min = 0.f, clip_max = 0.f;  // Clip's bounds (activation == clip only)
};

// Reads and checks activation ("" | "Relu" | "Clip" | "HardSwish") and activation_params
// (Clip: exactly [min, max], neither NaN; others: empty), each name after `prefix` (a fused
// chain has one pair per stage: "expand_activation", ...). Throws Error(bad_input) naming the
// attribute otherwise.
FusedEpilogue fused_epilogue(const ir::Node& node, const std::string& prefix = "");

// The activation of one value, with the formulas of the Relu, Clip (min first, then max, as
// ONNX: min > max gives max) and HardSwish (x * max(0, min(1, x/6 + 1/2))) references.
float apply_epilogue_activation(const FusedEpilogue& e, float x);

// Saves nothing (no backward: an inference-only op).
void fused_conv_forward_ref(ir::ForwardCtx& ctx);

}  // namespace leancnn::ops
