// Structured pruning's entry point: each criterion reaches the MAC target with a smaller model,
// removes the channels it should (a dead channel first, the largest filters kept), the checks
// refuse bad input before any work, and the training criteria and schedules run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "leancnn/compress/structured/structured.h"
#include "leancnn/core/error.h"
#include "leancnn/core/rng.h"
#include "leancnn/ir/passes.h"
#include "leancnn/models/zoo.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/predict.h"

namespace leancnn::compress::structured {
namespace {

train::Dataset blobs(int64_t n, uint64_t seed) {
  train::Dataset d;
  d.images = Tensor::empty({n, 1, 28, 28}, DType::u8);
  d.labels = Tensor::empty({n}, DType::s64);
  Rng rng(seed);
  for (int64_t i = 0; i < n * 784; ++i) d.images.data<uint8_t>()[i] = static_cast<uint8_t>(rng.below(256));
  for (int64_t i = 0; i < n; ++i) d.labels.data<int64_t>()[i] = rng.below(10);
  return d;
}

// Noise with a bright band of rows whose position and height vary per image: images a random
// network tells apart (on plain noise it predicts nearly one class for all).
train::Dataset banded(int64_t n, uint64_t seed) {
  train::Dataset d = blobs(n, seed);
  Rng rng(seed + 1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = rng.below(24), height = 1 + rng.below(5);
    uint8_t* im = d.images.data<uint8_t>() + i * 784;
    for (int64_t p = 0; p < 784; ++p) {
      const int64_t row = p / 28;
      im[p] = static_cast<uint8_t>(row >= top && row < top + height ? 255 : im[p] / 4);
    }
  }
  return d;
}

ir::Graph model(const std::string& name) {
  return models::build_model(name, {.input = {1, 28, 28}, .classes = 10, .seed = 2}, ops::op_table());
}

const ir::Node& node_named(const ir::Graph& g, const std::string& name) {
  for (ir::NodeId id : g.node_ids())
    if (g.node(id).name == name) return g.node(id);
  throw std::runtime_error("no node " + name);
}

std::string first_conv(const ir::Graph& g) {
  for (ir::NodeId id : g.topo_order())
    if (g.node(id).op_type == "Conv") return g.node(id).name;
  return "";
}

std::string tmp_dir(const std::string& name) {
  const std::string d = (std::filesystem::temp_directory_path() / ("leancnn_structured_" + name)).string();
  std::filesystem::remove_all(d);
  return d;
}

class EveryCriterion : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryCriterion, ReachesTheMacTargetAndRuns) {
  const ir::Graph g = model("resnet20");
  const train::Dataset data = blobs(64, 1);
  Spec spec;
  spec.criterion = parse_criterion(GetParam());
  spec.target = 0.5;
  spec.calibration_images = 16;
  spec.thinet_samples = 256;
  const Report r = run(g, data, data, spec);
  EXPECT_LE(static_cast<double>(r.macs_after), 0.5 * static_cast<double>(r.macs_before));
  EXPECT_GT(static_cast<double>(r.macs_after), 0.3 * static_cast<double>(r.macs_before));  // the least ratio, not more
  EXPECT_LT(r.params_after, r.params_before);
  EXPECT_GT(r.ratio, 0.0);
  ASSERT_EQ(r.layers.size(), 22u);  // 19 convs + 2 projections + fc
  EXPECT_EQ(r.layers.back().out_after, 10);  // the classifier keeps its classes
  int shrunk = 0;
  for (const LayerChannels& l : r.layers) shrunk += l.out_after < l.out_before;
  EXPECT_GE(shrunk, 19);
  ir::verify(r.graph, ops::op_table());
  const train::Predictions p = train::predict(r.graph, data, train::Engine::plan, 32);
  EXPECT_EQ(p.top1.size(), 32u);
}

INSTANTIATE_TEST_SUITE_P(Structured, EveryCriterion, ::testing::Values("l1", "l2", "fpgm", "hrank", "apoz", "thinet", "nisp"));

// A channel whose filter, bias and BN are zero is dead: every criterion that looks at weights,
// activations or the next layer's output removes it first.
TEST(StructuredCriteria, ADeadChannelGoesFirst) {
  ir::Graph g = model("vgg_small");
  const std::string conv = first_conv(g);
  const ir::Node& c = node_named(g, conv);
  Tensor& w = g.value(c.inputs[1]).data;
  const int64_t k = w.numel() / w.dim(0);
  std::fill_n(w.data<float>() + 5 * k, k, 0.f);
  const ChannelGraph cg = analyze(g);
  const int group = cg.group_of_layer(conv);
  ASSERT_GE(group, 0);
  const train::Dataset data = blobs(32, 3);
  for (const char* name : {"l1", "l2", "hrank", "apoz", "thinet"}) {
    Spec spec;
    spec.criterion = parse_criterion(name);
    spec.target = 0.2;
    spec.calibration_images = 8;
    spec.thinet_samples = 256;
    const Report r = run(g, data, data, spec);
    // The conv lost filters, and the dead one among them: no kept filter is all zero.
    const ir::Node& after = node_named(r.graph, conv);
    const Tensor& wa = r.graph.value(after.inputs[1]).data;
    ASSERT_LT(wa.dim(0), w.dim(0)) << name;
    for (int64_t o = 0; o < wa.dim(0); ++o) {
      const float* f = wa.data<float>() + o * k;
      EXPECT_TRUE(std::any_of(f, f + k, [](float v) { return v != 0.f; })) << name << ": kept filter " << o << " is the dead one";
    }
  }
}

TEST(StructuredCriteria, L1KeepsTheLargestFilters) {
  ir::Graph g = model("small_cnn");
  const std::string conv = first_conv(g);
  const Tensor& w = g.value(node_named(g, conv).inputs[1]).data;
  const int64_t oc = w.dim(0), k = w.numel() / oc;
  std::vector<double> norm(static_cast<size_t>(oc), 0.0);
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t i = 0; i < k; ++i) norm[o] += std::fabs(w.data<float>()[o * k + i]);
  Spec spec;
  spec.target = 0.4;
  const train::Dataset none;
  const Report r = run(g, none, none, spec);
  const Tensor& wa = r.graph.value(node_named(r.graph, conv).inputs[1]).data;
  ASSERT_LT(wa.dim(0), oc);
  double min_kept = 1e30;
  for (int64_t o = 0; o < wa.dim(0); ++o) {
    double n = 0;
    for (int64_t i = 0; i < k; ++i) n += std::fabs(wa.data<float>()[o * k + i]);
    min_kept = std::min(min_kept, n);
  }
  std::vector<double> sorted = norm;
  std::sort(sorted.begin(), sorted.end());
  const size_t removed = static_cast<size_t>(oc - wa.dim(0));
  EXPECT_NEAR(min_kept, sorted[removed], 1e-4 * sorted[removed]);  // the smallest kept is the next after the removed ones
}

TEST(StructuredCriteria, RoundToKeepsWholeVectorsOfChannels) {
  const ir::Graph g = model("resnet20");
  Spec spec;
  spec.target = 0.5;
  spec.round_to = 8;
  const train::Dataset none;
  const Report r = run(g, none, none, spec);
  EXPECT_LE(static_cast<double>(r.macs_after), 0.5 * static_cast<double>(r.macs_before));
  // Regression: the least uniform ratio that met the budget kept 8 of 16, 16 of 32 and 32 of 64
  // channels, 75 % of the MACs removed for a target of 50 %; the trimmed choice stays near it.
  EXPECT_GE(static_cast<double>(r.macs_after), 0.4 * static_cast<double>(r.macs_before));
  EXPECT_FALSE(r.group_ratios.empty()) << "the trimmed choice reports a ratio per group";
  for (size_t i = 0; i + 1 < r.layers.size(); ++i) {  // all but the classifier
    EXPECT_EQ(r.layers[i].out_after % 8, 0) << r.layers[i].layer << " keeps " << r.layers[i].out_after;
  }
}

// NetAdapt-style ratios: groups cut step by step where the measured latency falls most per MAC
// saved, to the MAC target, in whole multiples of round_to; a ratio reported per group.
TEST(StructuredLatency, LatencyRatiosMeetTheMacTargetInWholeSteps) {
  const ir::Graph g = model("small_cnn");
  Spec spec;
  spec.target = 0.4;
  spec.round_to = 8;
  spec.ratios = Ratios::latency;
  std::vector<std::string> lines;
  spec.log = [&](const std::string& l) { lines.push_back(l); };
  const train::Dataset none;
  const Report r = run(g, none, none, spec);
  EXPECT_LE(static_cast<double>(r.macs_after), 0.6 * static_cast<double>(r.macs_before));
  EXPECT_FALSE(r.group_ratios.empty());
  for (size_t i = 0; i + 1 < r.layers.size(); ++i) {
    EXPECT_EQ(r.layers[i].out_after % 8, 0) << r.layers[i].layer << " keeps " << r.layers[i].out_after;
  }
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("latency step 1:") != std::string::npos; }));
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("NetAdapt") != std::string::npos; }));
}

// Latency target and latency ratios together: each step is scored per MAC removed (latency per
// latency would score every step 1 and cut the first group to its cap); the measured target is
// met with a ratio per group.
TEST(StructuredLatency, LatencyRatiosReachALatencyTarget) {
  const ir::Graph g = model("vgg_small");
  Spec spec;
  spec.target_kind = TargetKind::latency;
  spec.target = 0.3;
  spec.ratios = Ratios::latency;
  const train::Dataset none;
  const Report r = run(g, none, none, spec);
  EXPECT_LT(static_cast<double>(r.macs_after), static_cast<double>(r.macs_before));
  EXPECT_FALSE(r.group_ratios.empty());
}

TEST(StructuredCheck, RefusesBadInputBeforeAnyWork) {
  const ir::Graph g = model("small_cnn");
  const auto kind_of = [&](const Spec& s, int64_t images) {
    try {
      check(g, s, images);
    } catch (const Error& e) {
      return std::make_pair(e.kind(), std::string(e.what()));
    }
    return std::make_pair(ErrorKind::internal, std::string("no error"));
  };
  Spec s;
  s.target = 0.995;  // more than the removable groups hold: the classifier and the input stay
  auto [k1, m1] = kind_of(s, 100);
  EXPECT_EQ(k1, ErrorKind::usage);
  EXPECT_NE(m1.find("cannot lose channels"), std::string::npos) << m1;
  s.target = 0.5;
  s.criterion = Criterion::hrank;
  auto [k2, m2] = kind_of(s, 0);
  EXPECT_EQ(k2, ErrorKind::bad_input);
  EXPECT_NE(m2.find("needs training images"), std::string::npos) << m2;
  s.criterion = Criterion::l1;
  s.exclude = {"nope"};
  EXPECT_EQ(kind_of(s, 0).first, ErrorKind::usage);
  s.exclude = {};
  s.criterion = Criterion::slimming;  // trains first: needs epochs
  EXPECT_EQ(kind_of(s, 100).first, ErrorKind::usage);
  EXPECT_THROW(parse_criterion("magic"), Error);
}

TEST(StructuredTraining, SlimmingSfpGroupLassoIterativeAndFromScratchRun) {
  const ir::Graph g = model("small_cnn");
  const train::Dataset data = blobs(64, 5);
  for (Criterion c : {Criterion::slimming, Criterion::sfp, Criterion::group_lasso}) {
    Spec spec;
    spec.criterion = c;
    spec.target = 0.4;
    spec.prune_epochs = 1;
    spec.finetune.epochs = 1;
    spec.finetune.batch = 32;
    spec.finetune.progress = 0;
    spec.finetune.out_dir = tmp_dir(criterion_name(c));
    if (c == Criterion::sfp) {
      spec.schedule = Schedule::iterative;
      spec.rounds = 2;
      spec.from_scratch = true;
    }
    const Report r = run(g, data, data, spec);
    EXPECT_LE(static_cast<double>(r.macs_after), 0.6 * static_cast<double>(r.macs_before)) << criterion_name(c);
    EXPECT_EQ(r.finetune.size(), c == Criterion::sfp ? 3u : 2u);  // ranking training + one per round
    if (c == Criterion::sfp) {
      ASSERT_TRUE(r.scratch.has_value());
      ASSERT_TRUE(r.scratch_training.has_value());
      EXPECT_EQ(layer_channels(r.graph, *r.scratch).front().out_after, r.layers.front().out_after);
    }
    std::filesystem::remove_all(spec.finetune.out_dir);
  }
}

// Ratios by sensitivity: small_cnn with half of fc1's hidden units dead (zero rows and biases),
// on images labelled by the model itself (so the dense model is 100 % right and any change of a
// prediction is a drop). Removing the dead units loses nothing; removing channels of the convs
// changes predictions. Under a budget the dead units alone meet, the solver prunes fc1 only,
// where a uniform ratio prunes every group.
TEST(StructuredSensitivity, RatiosFollowTheMeasuredDrops) {
  ir::Graph g = model("small_cnn");
  const ir::Node& fc1 = node_named(g, "fc1");
  Tensor& w = g.value(fc1.inputs[1]).data;
  Tensor& b = g.value(fc1.inputs[2]).data;
  const int64_t in = w.dim(1);
  for (int64_t j = 0; j < 64; ++j) {
    std::fill_n(w.data<float>() + j * in, in, 0.f);
    b.data<float>()[j] = 0.f;
  }
  train::Dataset data = banded(400, 9);
  const train::Predictions own = train::predict(g, data, train::Engine::plan, 0);
  for (int64_t i = 0; i < data.size(); ++i) data.labels.data<int64_t>()[i] = own.top1[static_cast<size_t>(i)];
  Spec spec;
  spec.target = 0.04;  // fc1 is ~9.5 % of the MACs: its dead half is more than enough
  spec.ratios = Ratios::sensitivity;
  spec.sensitivity.images = 200;
  const Report r = run(g, data, data, spec);
  EXPECT_LE(static_cast<double>(r.macs_after), 0.96 * static_cast<double>(r.macs_before));
  for (const LayerChannels& l : r.layers) {
    if (l.layer == "conv1" || l.layer == "conv2") {
      EXPECT_EQ(l.out_after, l.out_before) << l.layer << " lost channels whose removal changes predictions";
    }
    if (l.layer == "fc1") {
      EXPECT_LT(l.out_after, l.out_before);
      EXPECT_GE(l.out_after, 64);  // only dead units went
    }
  }
  ASSERT_EQ(r.group_ratios.size(), analyze(g).groups.size());
  // The pruned model predicts exactly what the dense one does.
  const train::Predictions after = train::predict(r.graph, data, train::Engine::plan, 0);
  EXPECT_EQ(after.top1, own.top1);
  // Uniform under the same budget takes some of every group.
  spec.ratios = Ratios::uniform;
  const Report u = run(g, data, data, spec);
  EXPECT_LT(u.layers.front().out_after, u.layers.front().out_before);
}

TEST(StructuredSensitivity, NeedsTrainingImagesAndChannelCriteria) {
  const ir::Graph g = model("small_cnn");
  Spec spec;
  spec.ratios = Ratios::sensitivity;
  EXPECT_THROW(check(g, spec, 0), Error);
  spec.criterion = Criterion::layer;
  EXPECT_THROW(check(g, spec, 100), Error);
  EXPECT_EQ(parse_ratios("sensitivity"), Ratios::sensitivity);
  EXPECT_THROW(parse_ratios("magic"), Error);
}

// A latency target: measured plan latency is the cost; the pruned model is smaller in MACs and,
// by the same measurement, no slower than the budget allows up to timing noise (a loose bound:
// speed itself is checked by bench/structured_table.sh, not by tests).
TEST(StructuredLatency, ALatencyTargetPrunesByMeasuredTime) {
  const ir::Graph g = models::build_model("vgg_small", {.input = {1, 28, 28}, .classes = 10, .seed = 2}, ops::op_table());
  Spec spec;
  spec.target_kind = TargetKind::latency;
  spec.target = 0.4;
  EXPECT_EQ(parse_target_kind("latency"), TargetKind::latency);
  const Report r = run(g, {}, {}, spec);
  EXPECT_LT(static_cast<double>(r.macs_after), 0.8 * static_cast<double>(r.macs_before));
  EXPECT_GT(r.ratio, 0.1);
}

}  // namespace
}  // namespace leancnn::compress::structured
