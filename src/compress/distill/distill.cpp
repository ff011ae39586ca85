// The distillation family's run(): the teacher's accuracy, the optional scratch baseline and
// the distilled student (or the online peers), each trained by train::train_model with the
// method's loss hooks.
#include "leancnn/compress/distill/distill.h"

#include <cstdio>
#include <memory>

#include "hooks.h"
#include "leancnn/compress/distill/peers.h"
#include "leancnn/compress/distill/teacher.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/ir/summary.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/train/checkpoint.h"

namespace leancnn::compress::distill {

namespace {
struct MethodName {
  Method method;
  const char* name;
};
constexpr MethodName kMethods[] = {{Method::kd, "kd"},     {Method::fitnets, "fitnets"},     {Method::attention, "attention"},
                                   {Method::dml, "dml"},   {Method::kdcl, "kdcl"},           {Method::self_best, "self_best"},
                                   {Method::self_aux, "self_aux"}};

void say(const Spec& s, const std::string& line) {
  if (s.log) s.log(line);
}

ModelResult describe(const std::string& name, const ir::Graph& g, const train::Dataset& test_set, const Spec& spec) {
  ModelResult m;
  m.name = name;
  ir::Graph shaped = g;
  ir::infer_shapes(shaped, ops::op_table());
  const ir::Summary s = ir::summarize(shaped, ops::op_table());
  m.params = s.params;
  m.macs = s.macs;
  if (test_set.size() > 0) {
    const train::EvalResult e =
        train::evaluate(shaped, ops::op_table(), test_set, {.batch = 256, .seed = spec.train.seed}, spec.train.use_kernels);
    m.test_acc = m.best_test_acc = e.accuracy;
  }
  return m;
}

train::TrainOptions options_in(const Spec& spec, const std::string& sub) {
  train::TrainOptions o = spec.train;
  o.out_dir = spec.train.out_dir + "/" + sub;
  o.resume = spec.train.resume && train::has_checkpoint(o.out_dir + "/last");
  return o;
}

ModelResult trained(const std::string& name, const ir::Graph& g, const train::TrainResult& r,
                    const train::Dataset& test_set, const Spec& spec) {
  ModelResult m = describe(name, g, test_set, spec);
  m.training = r;
  m.best_test_acc = std::max(m.test_acc, r.best_acc);
  return m;
}

std::vector<std::string> teacher_layers(const Spec& spec) {
  std::vector<std::string> out;
  if (spec.method == Method::fitnets || spec.method == Method::attention)
    for (const LayerPair& p : spec.layers) out.push_back(p.teacher);
  return out;
}

std::vector<train::LossHook> hooks_with(const ir::Graph& student, const Spec& spec, std::shared_ptr<Teacher>* keep) {
  validate(spec);
  const Weights w = resolve_weights(spec);
  ir::Graph shaped = student;
  ir::infer_shapes(shaped, ops::op_table());
  switch (spec.method) {
    case Method::kd:
    case Method::fitnets:
    case Method::attention: {
      auto teacher = std::make_shared<Teacher>(Teacher::from_files(spec.teachers, teacher_layers(spec), shaped));
      if (spec.method != Method::kd)  // the student's layers, checked now rather than when training starts
        for (const LayerPair& p : spec.layers) find_layer_value(shaped, p.student, "the student");
      if (keep) *keep = teacher;
      return {teacher_hook(teacher, spec.method, w, spec.method == Method::kd ? std::vector<LayerPair>{} : spec.layers)};
    }
    case Method::self_best: return {self_best_hook(w)};
    case Method::self_aux:
      for (const LayerPair& p : spec.layers) find_layer_value(shaped, p.student, "the student");
      return {self_aux_hook(w, spec.layers)};
    case Method::dml:
    case Method::kdcl: break;
  }
  fail(ErrorKind::usage, "method '", method_name(spec.method),
       "' trains peers together: use the distill step or `leancnn distill`, not a distill: key");
}
}  // namespace

Method parse_method(const std::string& name) {
  std::string known;
  for (const MethodName& m : kMethods) {
    if (name == m.name) return m.method;
    known += std::string(known.empty() ? "" : ", ") + m.name;
  }
  fail(ErrorKind::usage, "unknown distillation method '", name, "'; known: ", known);
}

const char* method_name(Method m) {
  for (const MethodName& x : kMethods)
    if (x.method == m) return x.name;
  return "?";
}

bool needs_teacher(Method m) { return m == Method::kd || m == Method::fitnets || m == Method::attention; }
bool is_online(Method m) { return m == Method::dml || m == Method::kdcl; }

LayerPair parse_layer_pair(const std::string& text) {
  const size_t colon = text.find(':');
  LayerPair p{text.substr(0, colon), colon == std::string::npos ? "" : text.substr(colon + 1)};
  if (p.student.empty() || (colon != std::string::npos && p.teacher.empty()))
    fail(ErrorKind::usage, "layer pair '", text, "': expected STUDENT_LAYER:TEACHER_LAYER (or STUDENT_LAYER for self_aux)");
  return p;
}

void validate(const Spec& s) {
  const char* m = method_name(s.method);
  if (needs_teacher(s.method) && s.teachers.empty())
    fail(ErrorKind::usage, "method '", m, "' needs a teacher (an ONNX file)");
  if (!needs_teacher(s.method) && !s.teachers.empty())
    fail(ErrorKind::usage, "method '", m, "' has no teacher file (", is_online(s.method) ? "its peers teach each other" : "the student teaches itself",
         "); drop the teacher");
  if (s.temperature < 0) fail(ErrorKind::usage, "temperature must be > 0, got ", s.temperature);
  if (s.alpha > 1) fail(ErrorKind::usage, "alpha must be in [0, 1], got ", s.alpha);
  if (s.beta < 0) fail(ErrorKind::usage, "beta must be >= 0, got ", s.beta);
  const Weights w = resolve_weights(s);
  if ((s.method == Method::kd || is_online(s.method) || s.method == Method::self_best) && w.alpha == 0)
    fail(ErrorKind::usage, "alpha 0 turns method '", m, "' off (the soft loss has no weight)");
  const bool pairs = s.method == Method::fitnets || s.method == Method::attention;
  if (pairs && s.layers.empty())
    fail(ErrorKind::usage, "method '", m, "' needs layer pairs STUDENT_LAYER:TEACHER_LAYER (same H x W)");
  for (const LayerPair& p : s.layers) {
    if (pairs && p.teacher.empty()) fail(ErrorKind::usage, "layer '", p.student, "' needs its teacher layer: ", p.student, ":TEACHER_LAYER");
    if (s.method == Method::self_aux && !p.teacher.empty())
      fail(ErrorKind::usage, "self_aux takes student layers only, got '", p.student, ":", p.teacher, "'");
    if (!pairs && s.method != Method::self_aux)
      fail(ErrorKind::usage, "method '", m, "' takes no layers (fitnets, attention and self_aux do)");
  }
  if (is_online(s.method) && s.peers < 2) fail(ErrorKind::usage, "method '", m, "' needs peers >= 2, got ", s.peers);
  if (s.train.out_dir.empty()) fail(ErrorKind::usage, "distillation needs an output folder for checkpoints");
}

std::vector<train::LossHook> make_hooks(const ir::Graph& student, const Spec& spec) { return hooks_with(student, spec, nullptr); }

std::optional<double> Report::gain() const {
  if (!scratch) return std::nullopt;
  return distilled.test_acc - scratch->test_acc;
}

Report run(const ir::Graph& student, const train::Dataset& train_set, const train::Dataset& test_set, const Spec& spec) {
  validate(spec);
  const ir::OpTable& ops = ops::op_table();
  Report r;
  // Teachers and layer names are checked before any training.
  std::shared_ptr<Teacher> teacher;
  std::vector<train::LossHook> hooks;
  if (!is_online(spec.method)) hooks = hooks_with(student, spec, &teacher);
  if (teacher && spec.evaluate_teacher)
    for (size_t i = 0; i < teacher->graphs().size(); ++i) {
      say(spec, "evaluating teacher '" + teacher->names()[i] + "'");
      ModelResult t = describe("teacher", teacher->graphs()[i], test_set, spec);
      t.file = teacher->names()[i];
      r.teachers.push_back(t);
    }
  if (spec.scratch_baseline) {
    say(spec, "training the student from scratch (the baseline)");
    ir::Graph g = deep_copy(student);
    const train::TrainResult tr = train::train_model(g, ops, train_set, test_set, options_in(spec, "scratch"));
    r.interrupted = tr.interrupted;
    if (r.interrupted) return r;
    r.scratch = trained("scratch", g, tr, test_set, spec);
  }
  const Weights w = resolve_weights(spec);
  char weights[96];
  std::snprintf(weights, sizeof weights, "T %.3g, alpha %.3g, beta %.4g", w.temperature, w.alpha, w.beta);
  say(spec, std::string("distilling (") + method_name(spec.method) + ", " + weights + ")");
  if (is_online(spec.method)) {
    std::vector<ir::Graph> peers{deep_copy(student)};
    for (int i = 1; i < spec.peers; ++i)
      peers.push_back(spec.reinit_student ? reinitialized(student, spec.train.seed * 1000003 + static_cast<uint64_t>(i))
                                          : deep_copy(student));
    PeerGraph joined = join_peers(peers);
    const train::TrainResult tr = train::train_model(joined.graph, ops, train_set, test_set, options_in(spec, "distill"),
                                                     train::TrainHooks{{}, {}, {online_hook(spec.method, w, joined.peer_logits)}});
    r.interrupted = tr.interrupted;
    if (r.interrupted) return r;
    for (size_t i = 0; i < peers.size(); ++i) {
      r.peers.push_back(split_peer(joined.graph, peers[i], i));
      r.peer_results.push_back(trained("peer " + std::to_string(i + 1), r.peers.back(), i == 0 ? tr : train::TrainResult{},
                                       test_set, spec));
    }
    r.graph = r.peers[0];
    r.distilled = r.peer_results[0];
    r.distilled.name = "distilled";
    return r;
  }
  r.graph = deep_copy(student);
  const train::TrainResult tr =
      train::train_model(r.graph, ops, train_set, test_set, options_in(spec, "distill"), train::TrainHooks{{}, {}, hooks});
  r.interrupted = tr.interrupted;
  if (!r.interrupted) r.distilled = trained("distilled", r.graph, tr, test_set, spec);
  return r;
}

}  // namespace leancnn::compress::distill
