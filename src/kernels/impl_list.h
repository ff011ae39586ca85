// The per-op kernel lists (private to leancnn_kernels), each in its family's folder as
// <family>/<list>_impl_list.cpp (conv/conv_impl_list.cpp, int8/qgemm_impl_list.cpp, ...);
// impl_lists.cpp maps (domain, op_type) to them. Each list is ordered, most specialised first;
// dispatch.cpp appends the op's reference last.
#pragma once
#include <string>
#include <vector>

#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

std::vector<Kernel> conv_impl_list();                               // Conv
std::vector<Kernel> fused_conv_impl_list();                         // ai.leancnn FusedConv
std::vector<Kernel> fused_inverted_residual_impl_list();            // ai.leancnn FusedInvertedResidual
std::vector<Kernel> gemm_impl_list();                               // Gemm
std::vector<Kernel> batch_norm_impl_list();                         // BatchNormalization
std::vector<Kernel> pool_impl_list(const std::string& op_type);     // MaxPool, AveragePool, GlobalAveragePool
std::vector<Kernel> eltwise_impl_list(const std::string& op_type);  // Relu, Sigmoid, Clip, HardSwish, HardSigmoid
std::vector<Kernel> binary_impl_list(const std::string& op_type);   // Add, Mul
std::vector<Kernel> qconv_impl_list();                              // QLinearConv, ai.leancnn QLinearFusedConv
std::vector<Kernel> qgemm_impl_list();                              // QLinearMatMul, ai.leancnn QGemm
std::vector<Kernel> qadd_impl_list();                               // ai.leancnn QAdd
std::vector<Kernel> binary_conv_impl_list();                        // ai.leancnn BinaryConv
std::vector<Kernel> qpool_impl_list(const std::string& op_type);    // ai.leancnn QLinearMaxPool, QLinearGlobalAveragePool

}  // namespace leancnn::kernels
