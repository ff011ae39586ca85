// Per-op kernel lists, one *_impl_list.cpp per op family. Each returns the fast kernels for
// the op in preference order; dispatch.cpp appends the op's reference as the last entry.
#pragma once
#include <string>
#include <vector>

#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

// The fast kernels registered for an op type (empty when it has none).
std::vector<Kernel> fast_kernels(const std::string& domain, const std::string& op_type);

}  // namespace leancnn::kernels
