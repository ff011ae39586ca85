// The explicit list of every op leancnn knows.
#include "leancnn/ops/op_table.h"

#include "leancnn/ops/schemas.h"

namespace leancnn::ops {

const ir::OpTable& op_table() {
  static const ir::OpTable table = [] {
    ir::OpTable t;
    for (auto make : {conv_schema, gemm_schema, batch_norm_schema, relu_schema, clip_schema, sigmoid_schema,
                      hard_sigmoid_schema, hard_swish_schema, max_pool_schema, average_pool_schema,
                      global_average_pool_schema, add_schema, mul_schema, concat_schema, split_schema, flatten_schema,
                      reshape_schema, transpose_schema, dropout_schema, softmax_schema,
                      softmax_cross_entropy_schema, kl_div_schema, mse_loss_schema, attention_map_schema, fused_conv_schema,
                      fused_inverted_residual_schema,
                      pad_schema})
      t.add(make());
    for (auto make : {quantize_linear_schema, dequantize_linear_schema, unpack_int4_schema, qlinear_conv_schema,
                      qlinear_fused_conv_schema, qlinear_matmul_schema, qgemm_schema, qadd_schema,
                      qlinear_max_pool_schema, qlinear_global_average_pool_schema})
      t.add(make());
    t.add(fake_quantize_schema());
    t.add(sparse_to_dense_schema());
    for (auto make : {binary_weights_schema, binarize_schema, fake_binarize_schema, binary_conv_schema}) t.add(make());
    return t;
  }();
  return table;
}

}  // namespace leancnn::ops
