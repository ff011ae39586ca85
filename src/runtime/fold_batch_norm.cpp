// Inference pass: BatchNormalization folded into the weights and bias of the Conv or Gemm
// that feeds it.
#include <cmath>

#include "leancnn/core/error.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/runtime/inference_passes.h"

namespace leancnn::runtime {

namespace {

// An f32 initializer of exactly `count` elements, or null.
const Tensor* f32_initializer(const ir::Graph& g, ir::ValueId v, int64_t count = -1) {
  if (v == ir::kNone) return nullptr;
  const ir::Value& value = g.value(v);
  if (!value.is_initializer() || value.data.dtype() != DType::f32 || !value.data.is_contiguous()) return nullptr;
  if (count >= 0 && value.data.numel() != count) return nullptr;
  return &value.data;
}

// Puts `data` in input slot `slot` of node `id`: in place when the old initializer there is
// read by this node alone (and is not a graph output), else as a new initializer named after
// `name_hint`, so that weights shared with other nodes are left as they are. Returns the value
// the slot held before (kNone if none).
ir::ValueId set_initializer(ir::Graph& g, ir::NodeId id, size_t slot, Tensor data, const std::string& name_hint) {
  std::vector<ir::ValueId>& inputs = g.node(id).inputs;
  const ir::ValueId old = slot < inputs.size() ? inputs[slot] : ir::kNone;
  if (old != ir::kNone && g.value(old).is_initializer() && !ir::is_graph_output(g, old) &&
      g.consumers(old) == std::vector<ir::NodeId>{id}) {
    ir::Value& v = g.value(old);
    v.shape = data.shape();
    v.data = std::move(data);
    v.trainable = false;
    return old;
  }
  const ir::ValueId fresh = g.add_initializer(g.unique_value_name(name_hint), std::move(data), false);
  std::vector<ir::ValueId>& in = g.node(id).inputs;  // add_initializer does not touch nodes
  if (in.size() <= slot) in.resize(slot + 1, ir::kNone);
  in[slot] = fresh;
  return old;
}

struct BnAffine {
  std::vector<double> scale;  // gamma / sqrt(var + eps)
  std::vector<double> shift;  // beta - mean * scale
};

bool bn_affine(const ir::Graph& g, const ir::Node& bn, int64_t channels, BnAffine& out) {
  const Tensor* gamma = f32_initializer(g, bn.inputs[1], channels);
  const Tensor* beta = f32_initializer(g, bn.inputs[2], channels);
  const Tensor* mean = f32_initializer(g, bn.inputs[3], channels);
  const Tensor* var = f32_initializer(g, bn.inputs[4], channels);
  if (!gamma || !beta || !mean || !var) return false;
  const double eps = bn.attrs.get_float("epsilon", 1e-5f);
  out.scale.resize(channels);
  out.shift.resize(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const double s = static_cast<double>(gamma->at(c)) / std::sqrt(static_cast<double>(var->at(c)) + eps);
    out.scale[c] = s;
    out.shift[c] = static_cast<double>(beta->at(c)) - static_cast<double>(mean->at(c)) * s;
  }
  return true;
}

// Conv: W[oc, ...] *= s[oc]; b[oc] = b[oc] * s[oc] + shift[oc] (b = 0 when absent).
bool fold_into_conv(ir::Graph& g, ir::NodeId conv_id, const ir::Node& bn, std::vector<ir::ValueId>& released) {
  const ir::Node& conv = g.node(conv_id);
  const Tensor* w = f32_initializer(g, conv.inputs[1]);
  if (!w || w->rank() < 3) return false;
  const int64_t oc = w->dim(0);
  const bool has_bias = conv.inputs.size() > 2 && conv.inputs[2] != ir::kNone;
  const Tensor* b = has_bias ? f32_initializer(g, conv.inputs[2], oc) : nullptr;
  if (has_bias && !b) return false;
  BnAffine affine;
  if (!bn_affine(g, bn, oc, affine)) return false;

  Tensor w_new = Tensor::empty(w->shape());
  const int64_t per_oc = w->numel() / oc;
  const float* src = w->data<float>();
  float* dst = w_new.data<float>();
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t i = 0; i < per_oc; ++i)
      dst[o * per_oc + i] = static_cast<float>(static_cast<double>(src[o * per_oc + i]) * affine.scale[o]);
  Tensor b_new = Tensor::empty({oc});
  for (int64_t o = 0; o < oc; ++o)
    b_new.data<float>()[o] =
        static_cast<float>((b ? static_cast<double>(b->at(o)) : 0.0) * affine.scale[o] + affine.shift[o]);

  const std::string w_name = g.value(conv.inputs[1]).name;
  const std::string base = conv.name;
  released.push_back(set_initializer(g, conv_id, 1, std::move(w_new), w_name + ".bn_folded"));
  released.push_back(set_initializer(g, conv_id, 2, std::move(b_new), base + ".bias"));
  return true;
}

// Gemm Y = alpha * A' * B' + beta * C on [M, N]: B' columns scaled by s (B rows when transB),
// C' = beta * C * s + shift with beta set to 1; C' keeps C's rows (1 or M) and has N columns.
bool fold_into_gemm(ir::Graph& g, ir::NodeId gemm_id, const ir::Node& bn, std::vector<ir::ValueId>& released) {
  const ir::Node& gemm = g.node(gemm_id);
  const Tensor* w = f32_initializer(g, gemm.inputs[1]);
  if (!w || w->rank() != 2) return false;
  const bool trans_b = gemm.attrs.get_int("transB", 0) != 0;
  const int64_t n = trans_b ? w->dim(0) : w->dim(1);
  const int64_t k = trans_b ? w->dim(1) : w->dim(0);
  const bool has_c = gemm.inputs.size() > 2 && gemm.inputs[2] != ir::kNone;
  const Tensor* c = has_c ? f32_initializer(g, gemm.inputs[2]) : nullptr;
  if (has_c && (!c || c->rank() > 2)) return false;
  // C's layout as [rows, cols] with cols 1 or N (broadcast along whichever is 1).
  int64_t c_rows = 1, c_cols = 1;
  if (c && c->rank() == 1) c_cols = c->dim(0);
  if (c && c->rank() == 2) {
    c_rows = c->dim(0);
    c_cols = c->dim(1);
  }
  if (c_cols != 1 && c_cols != n) return false;
  BnAffine affine;
  if (!bn_affine(g, bn, n, affine)) return false;
  const double beta = gemm.attrs.get_float("beta", 1.f);

  Tensor w_new = Tensor::empty(w->shape());
  const float* src = w->data<float>();
  float* dst = w_new.data<float>();
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t at = trans_b ? j * k + kk : kk * n + j;
      dst[at] = static_cast<float>(static_cast<double>(src[at]) * affine.scale[j]);
    }
  Tensor c_new = c && c->rank() == 2 ? Tensor::empty({c_rows, n}) : Tensor::empty({n});
  for (int64_t r = 0; r < c_rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      const double cv = c ? beta * static_cast<double>(c->at(r * c_cols + (c_cols == 1 ? 0 : j))) : 0.0;
      c_new.data<float>()[r * n + j] = static_cast<float>(cv * affine.scale[j] + affine.shift[j]);
    }

  const std::string w_name = g.value(gemm.inputs[1]).name;
  const std::string base = gemm.name;
  released.push_back(set_initializer(g, gemm_id, 1, std::move(w_new), w_name + ".bn_folded"));
  released.push_back(set_initializer(g, gemm_id, 2, std::move(c_new), base + ".bias"));
  g.node(gemm_id).attrs.set("beta", 1.f);
  return true;
}

}  // namespace

int fold_batch_norm(ir::Graph& g, const ir::OpTable&) {
  int rewrites = 0;
  for (ir::NodeId bn_id : g.topo_order()) {
    const ir::Node& bn = g.node(bn_id);
    if (!ir::is_onnx_op(bn, "BatchNormalization") || bn.inputs.size() != 5 || bn.outputs.size() != 1) continue;
    const ir::ValueId x = bn.inputs[0];
    const ir::NodeId producer = g.value(x).producer;
    if (producer == ir::kNone || ir::sole_consumer(g, x) != bn_id) continue;
    const ir::Node& p = g.node(producer);
    if (p.outputs.size() != 1 || p.inputs.size() < 2) continue;
    std::vector<ir::ValueId> released;
    bool folded = false;
    if (ir::is_onnx_op(p, "Conv"))
      folded = fold_into_conv(g, producer, bn, released);
    else if (ir::is_onnx_op(p, "Gemm"))
      folded = fold_into_gemm(g, producer, bn, released);
    if (!folded) continue;

    // The producer now writes BN's output value: its id, name and readers are unchanged.
    const ir::ValueId y = bn.outputs[0];
    for (int i = 1; i < 5; ++i) released.push_back(bn.inputs[i]);
    g.remove_node(bn_id);
    g.node(producer).outputs[0] = y;
    g.value(y).producer = producer;
    g.value(x).producer = ir::kNone;  // x is read and written by nothing now
    ir::release_dead_initializers(g, released);
    ++rewrites;
  }
  return rewrites;
}

}  // namespace leancnn::runtime
