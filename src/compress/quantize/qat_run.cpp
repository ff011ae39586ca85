// The QAT entry point (qat.h run_qat): insert, train, convert.
#include <cstdio>
#include <filesystem>

#include "leancnn/compress/quantize/calibration.h"
#include "leancnn/compress/quantize/qat.h"
#include "leancnn/io/onnx.h"
#include "leancnn/ir/rewrite.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::compress::quantize {

QatReport run_qat(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set,
                  const QatSpec& spec) {
  const ir::OpTable& ops = ops::op_table();
  QatReport r;
  ir::Graph model;
  if (has_fake_quant(float_graph)) {
    model = ir::with_own_initializers(float_graph);  // training edits weights in place
  } else {
    const Tensor calib = calibration_batches(train_set, spec.calib_images, spec.calib_images, spec.seed).at(0);
    r.inserted = insert_fake_quant(float_graph, spec.qat, calib);
    if (spec.log) {
      char line[200];
      std::snprintf(line, sizeof line, "QAT: W%dA%d %s, BatchNormalization folded, %lld layers and %lld activations fake-quantized",
                    spec.qat.weight_bits, spec.qat.act_bits, qat_method_name(spec.qat.method),
                    static_cast<long long>(r.inserted.layers), static_cast<long long>(r.inserted.activations));
      spec.log(line);
    }
    model = r.inserted.graph;
  }
  train::TrainOptions to = spec.train;
  train::TrainHooks hooks;
  hooks.losses = spec.losses;
  const std::vector<std::string> scales = qat_scale_params(model);
  if (!scales.empty()) {  // learned step sizes: no weight decay, kept positive
    to.optimizer.no_decay.insert(to.optimizer.no_decay.end(), scales.begin(), scales.end());
    hooks.after_step.push_back([scales](std::vector<runtime::Param>& p) { clamp_scales(p, scales); });
  }
  r.train = train::train_model(model, ops, train_set, test_set, to, hooks);
  r.trained = std::move(model);
  if (r.train.interrupted) return r;
  const std::string best = to.out_dir.empty() ? "" : to.out_dir + "/best.onnx";
  const bool use_best = spec.from_best_epoch && !best.empty() && std::filesystem::exists(best);
  r.converted = use_best ? io::load_onnx(best, ops) : r.trained;
  r.qdq = fake_quant_to_qdq(r.converted, spec.qdq);
  return r;
}

}  // namespace leancnn::compress::quantize
