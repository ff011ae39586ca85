// Quantization-aware training (docs/qat.md): a float graph gets ai.leancnn::FakeQuantize nodes
// on every Conv / Gemm weight, bias and activation (BatchNormalization folded first, so what is
// trained is what deploys), is fine-tuned by the ordinary trainer (STE, LSQ or DoReFa gradients
// are the op's backward), and then converts to a QDQ graph (the QDQ contract of
// docs/quantization.md) that computes the same outputs bit for bit in the reference executor
// and runs on the integer kernels through runtime::Plan.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "leancnn/core/tensor.h"
#include "leancnn/ir/graph.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/trainer.h"

namespace leancnn::compress::quantize {

enum class QatMethod { ste, lsq, dorefa };
// "ste" | "lsq" | "dorefa"; Error(usage) otherwise.
QatMethod parse_qat_method(const std::string& name);
const char* qat_method_name(QatMethod m);

// How the initial scales are chosen from the data: min-max (no clipping) or LSQ's
// 2 mean|x| / sqrt(Qp) (Esser et al. 2020).
enum class ScaleInit { minmax, lsq };

struct QatOptions {
  int weight_bits = 4;  // 2..8 (DoReFa: 2..7): signed, symmetric (narrow range), zero point 0
  int act_bits = 8;     // 2..8: unsigned (u8) per tensor; zero point 0 for non-negative activations
  QatMethod method = QatMethod::lsq;
  bool per_channel = true;  // weight scales per output channel (axis 0) or per tensor
  ScaleInit weight_init = ScaleInit::minmax;
  ScaleInit act_init = ScaleInit::minmax;
  // Bits of the first and the last quantized layer's weights (0: weight_bits), as many QAT
  // papers keep them at 8.
  int first_last_bits = 0;
};

struct QatResult {
  ir::Graph graph;                       // the QAT graph (BN folded, FakeQuantize inserted, shapes inferred)
  std::vector<std::string> scale_params; // names of the learnable (LSQ) scale initializers
  int64_t layers = 0;                    // Conv / Gemm layers quantized
  int64_t activations = 0;               // activation FakeQuantize nodes
};

// Builds the QAT graph from a float graph: identities dropped, constants and BatchNormalization
// folded (runtime passes), then FakeQuantize on the weight (and an s32 FakeQuantize on the bias,
// scale = input scale x weight scale) of every Conv and Gemm (transB = 1) with initializer
// weights, on each such layer's input and on its output (after the Relu / Clip it feeds; graph
// outputs stay float). Initial scales come from `calib` (a batch of model inputs: pixels / 255)
// run through the folded float graph. Weights and biases stay trainable; with LSQ the scales are
// trainable too. Error(bad_input) when the graph has no such layer or is already quantized,
// Error(usage) on bad options.
QatResult insert_fake_quant(const ir::Graph& float_graph, const QatOptions& options, const Tensor& calib);

// The FakeQuantize scale initializers of a QAT graph that are trainable (to exempt them from
// weight decay: train::OptimizerOptions::no_decay).
std::vector<std::string> qat_scale_params(const ir::Graph& qat_graph);

// After an optimizer step, keeps every named scale at least `min_scale` (LSQ steps can push a
// scale through zero at a high learning rate). For train::TrainHooks::after_step.
void clamp_scales(std::vector<runtime::Param>& params, const std::vector<std::string>& names, float min_scale = 1e-8f);

struct QdqOptions {
  bool pack_int4 = true;  // weights whose integers fit [-8, 7] (bits <= 4) stored packed (UnpackInt4)
};

// Converts a QAT graph to the QDQ contract: each weight FakeQuantize becomes an s8 initializer (or
// packed 4-bit + UnpackInt4) -> DequantizeLinear; each bias FakeQuantize an s32 initializer ->
// DequantizeLinear; each activation FakeQuantize QuantizeLinear -> DequantizeLinear (with a Clip to
// the 2^b-level range before it when act bits < 8). The result computes the QAT graph's forward
// exactly (same f32 values into every Conv / Gemm). Trainable flags are cleared.
ir::Graph fake_quant_to_qdq(const ir::Graph& qat_graph, const QdqOptions& options = {});

// The QAT entry point (what `leancnn train --qat-bits` and the recipe's `qat` step fill):
// FakeQuantize inserted (initial scales from `calib_images` seeded training images), the QAT
// graph fine-tuned by the trainer (learned scales exempt from weight decay and kept positive),
// then converted to the QDQ contract.
struct QatSpec {
  QatOptions qat;
  int64_t calib_images = 256;
  uint64_t seed = 0;
  train::TrainOptions train;     // the fine-tuning; train.out_dir receives its checkpoints
  std::vector<train::LossHook> losses;  // extra loss terms of the fine-tuning (distillation)
  // Convert the best epoch's checkpoint (train.out_dir/best.onnx, chosen by the trainer's test
  // accuracy) instead of the last epoch's graph.
  bool from_best_epoch = false;
  QdqOptions qdq;
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

struct QatReport {
  QatResult inserted;       // the QAT graph as built, before training (layers, activations)
  ir::Graph trained;        // the QAT graph after the last epoch
  ir::Graph converted;      // the QAT graph converted: `trained`, or the best epoch's checkpoint
  ir::Graph qdq;            // the deployable QDQ graph (empty when training was interrupted)
  train::TrainResult train;
};

// True when g holds ai.leancnn FakeQuantize nodes (a QAT graph).
bool has_fake_quant(const ir::Graph& g);

// A model that already holds FakeQuantize nodes is trained as it is (continuing a QAT run).
QatReport run_qat(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set,
                  const QatSpec& spec);

}  // namespace leancnn::compress::quantize
