// Loss hooks of the distillation methods: each builds its terms into the loss graph once
// (extend) and feeds the teacher's values per batch (feed).
#include "hooks.h"

#include <map>

#include "leancnn/core/error.h"
#include "leancnn/ir/builder.h"
#include "leancnn/ir/passes.h"

namespace leancnn::compress::distill {

Weights resolve_weights(const Spec& s) {
  Weights w;
  switch (s.method) {
    case Method::kd: w = {4.f, 0.9f, 0.f}; break;
    // beta: CRD's FitNet baseline uses 100 (MSE mean) on BN networks; on the small CNN (no BN) at
    // lr 0.02 it drove every ReLU dead in the first steps (loss stuck at 419, 10 % accuracy),
    // while 10 and 1 trained (74.4 % / 72.7 % after one epoch on 12k images, KD alone 74.8 %).
    case Method::fitnets: w = {4.f, 0.9f, 10.f}; break;
    case Method::attention: w = {4.f, 0.9f, 1000.f}; break;  // beta as in Zagoruyko & Komodakis' code
    case Method::dml: w = {1.f, 0.5f, 0.f}; break;           // CE + KL with equal weights (Zhang et al.)
    case Method::kdcl: w = {2.f, 0.5f, 0.f}; break;
    case Method::self_best: w = {4.f, 0.5f, 0.f}; break;
    case Method::self_aux: w = {3.f, 0.3f, 0.f}; break;
  }
  if (s.temperature > 0) w.temperature = s.temperature;
  if (s.alpha >= 0) w.alpha = s.alpha;
  if (s.beta > 0) w.beta = s.beta;
  return w;
}

namespace {
constexpr const char* kTeacherLogits = "distill.teacher_logits";
constexpr const char* kHardWeight = "distill.hard_weight";
constexpr const char* kSoftWeight = "distill.soft_weight";

ir::ValueId scalar(ir::Builder& b, const std::string& name, float v) { return b.constant(name, Tensor::full({}, v)); }

ir::ValueId kl(ir::Builder& b, ir::ValueId student, ir::ValueId teacher, float temperature, const std::string& name) {
  ir::Attributes a;
  a.set("temperature", temperature);
  return b.op("KLDivergence", {student, teacher}, a, 1, ir::kLeancnnDomain, name)[0];
}

ir::ValueId loss_op(ir::Builder& b, const char* op, std::vector<ir::ValueId> in, const std::string& name) {
  return b.op(op, in, {}, 1, ir::kLeancnnDomain, name)[0];
}

// a * x + y (a a constant).
ir::ValueId axpy(ir::Builder& b, float a, ir::ValueId x, ir::ValueId y, const std::string& name) {
  return b.add(b.mul(scalar(b, name + ".weight", a), x), y);
}

int64_t classes(const train::LossGraphView& v) {
  const Shape& s = v.graph.value(v.logits).shape;
  if (s.size() != 2) fail(ErrorKind::bad_input, "distillation needs [N, classes] logits, the student outputs ", shape_str(s));
  return s[1];
}
}  // namespace

train::LossHook teacher_hook(std::shared_ptr<Teacher> teacher, Method method, const Weights& w,
                             const std::vector<LayerPair>& pairs) {
  train::LossHook h;
  h.extend = [teacher, method, w, pairs](train::LossGraphView& v) {
    ir::infer_shapes(v.graph, v.ops);  // the model may come from a file without shapes
    ir::Builder b(v.graph, v.ops);
    ir::ValueId total = v.loss;
    if (w.alpha > 0) {
      const ir::ValueId t = b.input(kTeacherLogits, {1, classes(v)});
      const ir::ValueId soft = kl(b, v.logits, t, w.temperature, "distill.kl");
      total = axpy(b, w.alpha, soft, b.mul(scalar(b, "distill.hard.weight", 1.f - w.alpha), total), "distill.soft");
    }
    for (size_t i = 0; i < pairs.size(); ++i) {
      const std::string tag = "distill.pair" + std::to_string(i);
      const ir::ValueId s = find_layer_value(v.graph, pairs[i].student, "the student");
      const Shape& ss = v.graph.value(s).shape;
      const Shape& ts = teacher->feature_shape(i);
      if (ss[2] != ts[2] || ss[3] != ts[3])
        fail(ErrorKind::bad_input, "layer pair '", pairs[i].student, ":", pairs[i].teacher, "': the student's map is ",
             shape_str(ss), " and the teacher's ", shape_str(ts), "; pick layers with the same H x W");
      const ir::ValueId t = b.input(tag + ".teacher", {1, ts[1], ts[2], ts[3]});
      ir::ValueId term;
      if (method == Method::fitnets) {
        ir::ValueId r;
        {
          ir::Builder::Scope scope(b, tag);
          r = b.conv(s, ts[1], 1, 1, 0, 1, true, 1, "regressor");  // FitNets' learned regressor
        }
        term = loss_op(b, "MSELoss", {r, t}, tag + ".hint");
      } else {
        const ir::ValueId as = b.op("AttentionMap", {s}, {}, 1, ir::kLeancnnDomain, tag + ".at_student")[0];
        const ir::ValueId at = b.op("AttentionMap", {t}, {}, 1, ir::kLeancnnDomain, tag + ".at_teacher")[0];
        term = loss_op(b, "MSELoss", {as, at}, tag + ".at");
      }
      total = axpy(b, w.beta, term, total, tag);
    }
    return total;
  };
  const size_t num_pairs = pairs.size();
  const bool soft = w.alpha > 0;
  h.feed = [teacher, num_pairs, soft](const train::Batch& batch, std::map<std::string, Tensor>& feeds) {
    TeacherOutput out = teacher->run(batch.images);
    if (soft) feeds[kTeacherLogits] = out.logits;
    for (size_t i = 0; i < num_pairs; ++i) feeds["distill.pair" + std::to_string(i) + ".teacher"] = out.features.at(i);
  };
  return h;
}

train::LossHook self_best_hook(const Weights& w) {
  struct State {
    std::unique_ptr<Teacher> teacher;
    int64_t classes = 0;
  };
  auto state = std::make_shared<State>();
  train::LossHook h;
  h.extend = [state, w](train::LossGraphView& v) {
    ir::infer_shapes(v.graph, v.ops);  // the model may come from a file without shapes
    ir::Builder b(v.graph, v.ops);
    state->classes = classes(v);
    const ir::ValueId t = b.input(kTeacherLogits, {1, state->classes});
    const ir::ValueId hard_w = b.input(kHardWeight, {});
    const ir::ValueId soft_w = b.input(kSoftWeight, {});
    const ir::ValueId soft = kl(b, v.logits, t, w.temperature, "distill.kl");
    return b.add(b.mul(hard_w, v.loss), b.mul(soft_w, soft));
  };
  h.feed = [state, w](const train::Batch& batch, std::map<std::string, Tensor>& feeds) {
    const bool on = state->teacher != nullptr;
    feeds[kTeacherLogits] = on ? state->teacher->run(batch.images).logits
                               : Tensor::zeros({batch.images.dim(0), state->classes});
    feeds[kHardWeight] = Tensor::full({}, on ? 1.f - w.alpha : 1.f);
    feeds[kSoftWeight] = Tensor::full({}, on ? w.alpha : 0.f);
  };
  h.on_epoch_end = [state](const train::EpochMetrics& m, const ir::Graph& model, bool best) {
    if (!best) return;
    // A frozen copy: the live model keeps training.
    state->teacher = std::make_unique<Teacher>(std::vector<ir::Graph>{deep_copy(model)},
                                               std::vector<std::string>{"epoch " + std::to_string(m.epoch)},
                                               std::vector<std::string>{}, model);
  };
  return h;
}

train::LossHook self_aux_hook(const Weights& w, const std::vector<LayerPair>& layers) {
  train::LossHook h;
  h.extend = [w, layers](train::LossGraphView& v) {
    std::vector<std::string> names;
    for (const LayerPair& p : layers) names.push_back(p.student);
    ir::infer_shapes(v.graph, v.ops);
    if (names.empty()) names = stage_ends(v.graph);
    if (names.empty())
      fail(ErrorKind::bad_input, "self_aux: the student has a single feature-map size; name the layers for the auxiliary classifiers");
    ir::Builder b(v.graph, v.ops);
    const int64_t k = classes(v);
    ir::ValueId total = v.loss;
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string tag = "distill.aux" + std::to_string(i);
      const ir::ValueId f = find_layer_value(v.graph, names[i], "the student");
      ir::ValueId z;
      {
        ir::Builder::Scope scope(b, tag);
        z = b.linear(b.flatten(b.global_avg_pool(f)), k, true, "fc");
      }
      const ir::ValueId ce = loss_op(b, "SoftmaxCrossEntropy", {z, v.labels}, tag + ".ce");
      // The final classifier is the self-teacher: KLDivergence gives its second input no gradient.
      const ir::ValueId soft = kl(b, z, v.logits, w.temperature, tag + ".kl");
      total = axpy(b, 1.f - w.alpha, ce, axpy(b, w.alpha, soft, total, tag + ".soft"), tag + ".hard");
    }
    return total;
  };
  return h;
}

train::LossHook online_hook(Method method, const Weights& w, const std::vector<std::string>& peer_logits) {
  train::LossHook h;
  h.extend = [method, w, peer_logits](train::LossGraphView& v) {
    ir::infer_shapes(v.graph, v.ops);  // the model may come from a file without shapes
    ir::Builder b(v.graph, v.ops);
    std::vector<ir::ValueId> z{v.logits};
    for (const std::string& name : peer_logits) {
      const ir::ValueId id = v.graph.find_value(name);
      if (id == ir::kNone) fail(ErrorKind::internal, "online distillation: no peer logits '", name, "'");
      z.push_back(id);
    }
    const size_t p = z.size();
    ir::ValueId hard = v.loss;
    for (size_t i = 1; i < p; ++i)
      hard = b.add(hard, loss_op(b, "SoftmaxCrossEntropy", {z[i], v.labels}, "distill.peer" + std::to_string(i) + ".ce"));
    ir::ValueId soft = ir::kNone;
    auto add_soft = [&](ir::ValueId term) { soft = soft == ir::kNone ? term : b.add(soft, term); };
    if (method == Method::kdcl) {
      // The ensemble's logits (KDCL-Naive): the mean of every peer's, a target no peer differentiates.
      ir::ValueId sum = z[0];
      for (size_t i = 1; i < p; ++i) sum = b.add(sum, z[i]);
      const ir::ValueId ensemble = b.mul(scalar(b, "distill.ensemble.scale", 1.f / static_cast<float>(p)), sum);
      for (size_t i = 0; i < p; ++i) add_soft(kl(b, z[i], ensemble, w.temperature, "distill.kdcl" + std::to_string(i)));
    } else {
      // DML: each peer matches every other peer (mean over the others).
      for (size_t i = 0; i < p; ++i)
        for (size_t j = 0; j < p; ++j)
          if (i != j)
            add_soft(b.mul(scalar(b, "distill.dml.scale", 1.f / static_cast<float>(p - 1)),
                           kl(b, z[i], z[j], w.temperature, "distill.dml" + std::to_string(i) + "_" + std::to_string(j))));
    }
    return axpy(b, w.alpha, soft, b.mul(scalar(b, "distill.hard.weight", 1.f - w.alpha), hard), "distill.soft");
  };
  return h;
}

}  // namespace leancnn::compress::distill
