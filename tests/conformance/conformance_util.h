// Conformance helpers: run one op through the kernel dispatcher (fast) and through its reference,
// with NaN-filled outputs and gradients (so a kernel that skips an element fails), and compare.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "op_harness.h"

namespace leancnn::testing {

struct KernelForward {
  std::string kernel;  // the selected kernel's name ("reference" for the oracle)
  std::vector<Tensor> inputs;  // the run's own copies (BatchNormalization training updates 3 and 4)
  std::vector<Tensor> outputs;
  std::vector<Tensor> saved;   // filled when c.training
};

struct KernelBackward {
  std::string kernel;
  std::vector<Tensor> d_inputs;  // defined at the indices in wrt
};

// Forward of c through kernels::select_forward (allow_fast) on deep copies of c's inputs.
KernelForward run_forward(const OpCase& c, bool allow_fast);

// Backward of c through kernels::select_backward (allow_fast), consuming fwd.saved, with
// d_outputs given, for the inputs listed in wrt. The inputs are c's own (pre-forward) values.
KernelBackward run_backward(const OpCase& c, const KernelForward& fwd, const std::vector<Tensor>& d_outputs,
                            const std::vector<int>& wrt, bool allow_fast);

// The same through the kernel named `kernel` (not the dispatcher's first choice): for ops with
// several fast kernels. Throws when that kernel is absent or declines the call.
KernelForward run_forward_with(const OpCase& c, const std::string& kernel);
KernelBackward run_backward_with(const OpCase& c, const KernelForward& fwd, const std::vector<Tensor>& d_outputs,
                                 const std::vector<int>& wrt, const std::string& kernel);

// Max |a - b| / max(1, |b|), with a GoogleTest failure naming `what` when it exceeds tol, and
// a failure for any NaN in a (every element must have been written).
void expect_close(const Tensor& a, const Tensor& b, double tol, const std::string& what);

// fp32 tolerance for results that sum k products of O(1) values (compared with max_rel_diff's
// |a - b| / max(1, |b|)): the rounding error of such a sum grows like sqrt(k) * 2^-24 times its
// terms' magnitude for the blocked orders oneDNN uses, so we allow 1e-5 * sqrt(k), with a floor
// of 1e-5 for single roundings and approximated transcendentals. Measured over the conformance
// cases, the worst error is 18x below this bound (most are 50-900x below), while an indexing
// or convention bug shows as an O(0.1..1) error.
double fp32_tol(int64_t k);

// Runs f() with LEANCNN_VERBOSE=dispatch switched on and returns what it wrote to stderr
// (the previous LEANCNN_VERBOSE is restored afterwards, also when f throws, which rethrows).
std::string dispatch_log_of(const std::function<void()>& f);

}  // namespace leancnn::testing
