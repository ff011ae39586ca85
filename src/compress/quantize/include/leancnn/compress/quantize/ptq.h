// Post-training quantization: a float graph (BatchNormalization folded first) becomes a QDQ
// graph (docs/quantization.md, the QDQ contract): each quantized Conv / Gemm reads
// DequantizeLinear(QuantizeLinear(x)) with u8 per-tensor activations, DequantizeLinear of s8
// weights (8-bit, 4-bit packed through ai.leancnn::UnpackInt4, or power-of-two levels) and of an
// s32 bias, and its output (after a Relu / Clip it feeds) passes QuantizeLinear ->
// DequantizeLinear. runtime::Plan lowers that pattern to integer kernels (lower_qdq); the
// reference executor runs it in float on dequantized values (fake-quant). This is the API the
// pipeline and `leancnn quantize` call.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "leancnn/compress/quantize/calibration.h"
#include "leancnn/compress/quantize/observer.h"
#include "leancnn/compress/quantize/quantizer.h"
#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"

namespace leancnn::compress::quantize {

enum class WeightScheme { uniform, log2 };

struct PtqOptions {
  // Weights of every Conv and Gemm (transB = 1) with an f32 initializer weight.
  int weight_bits = 8;                          // 8 or 4 (4: per-channel recommended)
  WeightScheme weight_scheme = WeightScheme::uniform;  // log2: power-of-two levels on s8 (bits ignored)
  bool per_channel = true;                      // per output channel (axis 0) or per tensor
  RangeMethod weight_method = RangeMethod::minmax;
  Rounding rounding = Rounding::nearest;        // weights only; activations always round to nearest even
  // Per-layer bit-widths by node name (8, 4 or 0 = stays float); overrides weight_bits. Names of
  // nodes that are no quantizable layer are an error (Error(usage)).
  std::map<std::string, int> layer_bits;
  // Activations: u8 per tensor, asymmetric. 0 = weight-only quantization (activations float,
  // biases float): runs only in the reference executor's fake-quant form.
  int act_bits = 8;
  ObserverOptions act_observer = {};            // method, percentile, ... (axis ignored: per tensor)
  int64_t calib_images = 512;
  int64_t calib_batch = 64;
  // Bias correction (Nagel et al., 2019): E[W_q x] - E[W x] per output channel, over the
  // calibration images with x the quantized model's own input to the layer, subtracted from the
  // bias before it is quantized.
  bool bias_correction = false;
  // 4-bit weights stored packed (u8 + ai.leancnn::UnpackInt4); false stores them as s8 values in
  // [-7, 7] so that ONNX Runtime (which lacks UnpackInt4) runs the file.
  bool pack_int4 = true;
  uint64_t seed = 0;                            // calibration sample and stochastic rounding
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

// One quantizable layer of the result.
struct LayerReport {
  std::string name;     // node name
  std::string op_type;  // Conv or Gemm
  int weight_bits = 0;  // 8, 4, or 0 (float)
  std::string scheme;   // "uniform", "log2" or "float"
  int64_t params = 0;   // weight elements
  int64_t macs = 0;     // per image
  double weight_sqnr_db = 0;      // dequantized vs float weights
  double bias_correction = 0;     // max |correction| applied to the bias (0 when off)
  float input_scale = 0, output_scale = 0;
  int32_t input_zero_point = 0, output_zero_point = 0;
};

struct PtqResult {
  ir::Graph graph;                  // the QDQ graph (shapes inferred, verified)
  std::vector<LayerReport> layers;  // every quantizable layer, in topological order
  int64_t quantized_activations = 0;  // QuantizeLinear nodes
  int64_t float_bytes = 0;          // initializer bytes of the float graph given
  int64_t bytes = 0;                // initializer bytes of the QDQ graph
};

// The graph quantization starts from: a copy with Identity / inference Dropout removed,
// constants folded and BatchNormalization folded into its Conv / Gemm.
ir::Graph prepare_for_quantization(const ir::Graph& float_graph);

// Names of the layers PTQ can quantize (Conv, and Gemm with transB = 1, with f32 initializer
// weights) and of every activation it may quantize, in a prepared graph.
struct QuantizableSet {
  std::vector<std::string> layers;
  std::vector<std::string> activations;
};
QuantizableSet quantizable(const ir::Graph& prepared);

// Calibrates, quantizes, and (if asked) corrects biases. `calib` gives the calibration images
// (usually the training set; options.calib_images of it are used). Error(bad_input) on a graph
// with no quantizable layer, Error(usage) on bad options.
PtqResult quantize_post_training(const ir::Graph& float_graph, const train::Dataset& calib, const PtqOptions& options);
// The same with the calibration inputs given as f32 batches shaped as the model's input (made by
// train/calibration_data.h from images, tensors or random inputs); options.calib_images is not
// used (the batches are the calibration). Batches may be empty when neither activations nor
// bias correction need them.
PtqResult quantize_post_training(const ir::Graph& float_graph, const std::vector<Tensor>& batches, const PtqOptions& options);

// The same with a calibration made once (calibrate() on quantizable(prepared).activations of
// the prepared graph, with `batches` its images), for callers that quantize one model many ways
// (sensitivity analysis). `prepared` comes from prepare_for_quantization; `float_bytes` is
// reported as given. options.act_observer and calibration sizes are not used here.
PtqResult quantize_prepared(const ir::Graph& prepared, const Calibration& calibration, const std::vector<Tensor>& batches,
                            const PtqOptions& options, int64_t float_bytes);

// Bytes of all initializers of g (what the weights take in its ONNX file).
int64_t initializer_bytes(const ir::Graph& g);

}  // namespace leancnn::compress::quantize
