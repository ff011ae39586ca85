// The binarization family's one entry point (docs/binarization.md): a Spec (what `leancnn
// binarize`'s flags and the recipe's binarize step both translate into), run(graph, data, spec),
// and a Report. Every Conv and Gemm weight layer except the first and the last (by default)
// gets an ai.leancnn FakeBinarize on its latent f32 weights and, for the methods that binarize
// activations, an ai.leancnn Binarize on its input; the model trains as QAT does (the ordinary
// trainer; the estimators are the ops' backward), then packs: BatchNormalization folded into the
// binary rows (still ±alpha), each binary weight stored 1 bit (ternary 2 bits) in an
// ai.leancnn BinaryWeights with its per-channel alpha. A runtime plan runs Binarize -> layer as
// ai.leancnn BinaryConv on the XNOR-popcount kernels.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/trainer.h"

namespace leancnn::compress::binarize {

//   binaryconnect             weights sign(w), activations f32 (Courbariaux et al. 2015)
//   binaryconnect_stochastic  weights +1 with probability hard_sigmoid(w) while training
//   bnn                       weights and activations sign(.), hard-tanh STE (Hubara et al. 2016)
//   xnor                      weights alpha sign(w), activations beta sign(x) (Rastegari et al. 2016)
//   irnet                     balanced standardized weights, power-of-two scale, error-decay
//                             estimator; activations sign(x) (Qin et al. 2020)
//   twn                       ternary weights {-alpha, 0, +alpha}, activations f32 (Li et al. 2016)
enum class Method { binaryconnect, binaryconnect_stochastic, bnn, xnor, irnet, twn };
// Error(usage) naming the choices otherwise.
Method parse_method(const std::string& name);
const char* method_name(Method m);
bool binarizes_activations(Method m);
int weight_bits(Method m);  // 1, or 2 for twn

struct Spec {
  Method method = Method::xnor;
  bool keep_first_last = true;  // the first and the last weight layer stay f32
  // Relu nodes that feed a binarized input are removed (sign after Relu is always +1; the
  // shortcut then carries signed values, as in Bi-Real Net). Only with activation binarization.
  bool drop_relu = true;
  // Latent weights clipped to [-1, 1] after every step (BinaryConnect, BNN); default: on for
  // binaryconnect*, bnn.
  int clip_latent = -1;  // -1: by method, 0: off, 1: on
  float ede_t = 1.f, ede_k = 1.f;  // irnet: the error-decay estimator's t and k
  std::vector<std::string> exclude;  // layer (node) names kept f32; unknown: Error(usage)
  train::TrainOptions train = [] {   // epochs 0: binarize without training (post-training)
    train::TrainOptions o;
    o.epochs = 0;
    return o;
  }();
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

struct LayerReport {
  std::string layer;
  bool binarized = false;
  int weight_bits = 32;  // 1, 2 or 32
  int input_bits = 32;   // 1 when its input is binarized
  int64_t params = 0;
  std::string kept_why;  // why left f32 ("" when binarized)
};

struct Report {
  ir::Graph trained;   // the training graph (latent weights, FakeBinarize / Binarize nodes)
  ir::Graph graph;     // the deployable graph: packed BinaryWeights, Binarize, BN folded
  std::vector<LayerReport> layers;  // every weight layer, in topological order
  int64_t binarized = 0;
  int64_t relu_dropped = 0;
  train::TrainResult train;
  bool interrupted = false;
};

// The training graph alone (no training, no packing); fills `layers` when non-null.
ir::Graph insert_fake_binarize(const ir::Graph& float_graph, const Spec& spec, std::vector<LayerReport>* layers = nullptr,
                               int64_t* relu_dropped = nullptr);

// A trained graph's FakeBinarize weights evaluated, BatchNormalization folded into them, and
// each stored packed (BinaryWeights + alpha). Error(bad_input) when a binarized row is not
// ±alpha (ternary: 0 or ±alpha) after folding.
ir::Graph pack_binary(const ir::Graph& trained);

// Error(usage) on a bad Spec; Error(bad_input) when the graph has no weight layer to binarize.
Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const train::Dataset& test_set,
           const Spec& spec);

}  // namespace leancnn::compress::binarize
