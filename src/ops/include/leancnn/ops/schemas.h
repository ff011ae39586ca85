// One function per op file, returning that op's table entry. op_table.cpp lists them all.
#pragma once
#include "leancnn/ir/op_schema.h"

namespace leancnn::ops {

// conv.cpp
ir::OpSchema conv_schema();
// fused_conv.cpp (domain ai.leancnn)
ir::OpSchema fused_conv_schema();
// fused_inverted_residual.cpp (domain ai.leancnn)
ir::OpSchema fused_inverted_residual_schema();
// gemm.cpp
ir::OpSchema gemm_schema();
// batch_norm.cpp
ir::OpSchema batch_norm_schema();
// activations.cpp
ir::OpSchema relu_schema();
ir::OpSchema clip_schema();
ir::OpSchema sigmoid_schema();
ir::OpSchema hard_sigmoid_schema();
ir::OpSchema hard_swish_schema();
// pool.cpp
ir::OpSchema max_pool_schema();
ir::OpSchema average_pool_schema();
ir::OpSchema global_average_pool_schema();
// binary.cpp
ir::OpSchema add_schema();
ir::OpSchema mul_schema();
// concat.cpp
ir::OpSchema concat_schema();
// split.cpp
ir::OpSchema split_schema();
// shape_ops.cpp
ir::OpSchema flatten_schema();
ir::OpSchema reshape_schema();
ir::OpSchema transpose_schema();
// pad.cpp
ir::OpSchema pad_schema();
// dropout.cpp
ir::OpSchema dropout_schema();
// softmax.cpp
ir::OpSchema softmax_schema();
// losses.cpp (domain ai.leancnn)
ir::OpSchema softmax_cross_entropy_schema();
ir::OpSchema kl_div_schema();
ir::OpSchema mse_loss_schema();
ir::OpSchema attention_map_schema();  // ai.leancnn: attention transfer's normalised spatial map
// quantize_linear.cpp
ir::OpSchema quantize_linear_schema();
ir::OpSchema dequantize_linear_schema();
// unpack_int4.cpp (domain ai.leancnn)
ir::OpSchema unpack_int4_schema();
ir::OpSchema sparse_to_dense_schema();  // sparse_to_dense.cpp
// qlinear_conv.cpp (QLinearFusedConv: domain ai.leancnn)
ir::OpSchema qlinear_conv_schema();
ir::OpSchema qlinear_fused_conv_schema();
// qgemm.cpp (QGemm: domain ai.leancnn)
ir::OpSchema qlinear_matmul_schema();
ir::OpSchema qgemm_schema();
// qadd.cpp (domain ai.leancnn)
ir::OpSchema qadd_schema();
// qlinear_max_pool.cpp, qlinear_global_average_pool.cpp (domain ai.leancnn)
ir::OpSchema qlinear_max_pool_schema();
ir::OpSchema qlinear_global_average_pool_schema();
// fake_quantize.cpp (domain ai.leancnn)
ir::OpSchema fake_quantize_schema();
// binary_weights.cpp, binarize.cpp, fake_binarize.cpp, binary_conv.cpp (domain ai.leancnn)
ir::OpSchema binary_weights_schema();
ir::OpSchema binarize_schema();
ir::OpSchema fake_binarize_schema();
ir::OpSchema binary_conv_schema();

}  // namespace leancnn::ops
