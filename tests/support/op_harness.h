// Test support: run one op on given tensors through its reference (or through the kernel
// dispatcher), and check its reference backward against central differences.
#pragma once
#include <string>
#include <vector>

#include "leancnn/core/rng.h"
#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::testing {

struct OpCase {
  std::string op_type;
  std::string domain;            // "" = ai.onnx
  std::vector<Tensor> inputs;    // an undefined Tensor marks an omitted optional input
  ir::Attributes attrs;
  int num_outputs = 1;
  bool training = false;
  uint64_t seed = 7;             // for stochastic ops (the Rng is re-seeded on every run)
};

struct OpRun {
  std::vector<Tensor> outputs;
  std::vector<Tensor> saved;
  std::vector<ir::TensorType> inferred;  // shape inference's answer for the outputs
};

// A one-node graph whose inputs are all initializers (so constant inputs such as Reshape's
// shape are visible to shape inference). The node id is 0.
ir::Graph single_node_graph(const OpCase& c);

// Infers shapes, allocates outputs, runs the op's reference forward.
OpRun run_reference(const OpCase& c);

// Random f32 tensor with values in [lo, hi).
Tensor random_tensor(const Shape& shape, Rng& rng, float lo = -1.f, float hi = 1.f);
// Uniform u8 (0..255) or s8 (-128..127) codes of shape s, seeded.
Tensor random_q8(const Shape& s, DType t, uint64_t seed);

struct GradTolerance {
  float eps = 1e-3f;   // central-difference step
  float rtol = 2e-2f;  // relative to max(|analytic|, |numeric|)
  float atol = 2e-3f;
};

// Checks the reference backward of every f32 input listed in `wrt` against central
// differences of L = sum_k <output_k, R_k> for fixed random R_k (only outputs [0, n_diff_outputs)).
// Reports mismatches through GoogleTest (EXPECT_*). Stochastic ops are re-seeded per
// evaluation so L is a deterministic function of the inputs.
void expect_gradients_match(const OpCase& c, const std::vector<int>& wrt, GradTolerance tol = {},
                            int n_diff_outputs = 1);

// Expects running c's reference to throw Error(bad_input) whose message contains needle.
void expect_bad_input(const OpCase& c, const std::string& needle);

// Expects t's elements to equal want within tol (GoogleTest failures name the element).
void expect_values(const Tensor& t, const std::vector<float>& want, float tol = 1e-5f);

// Max |a - b| / max(1, |b|) over all elements (shapes must match).
double max_rel_diff(const Tensor& a, const Tensor& b);

}  // namespace leancnn::testing
