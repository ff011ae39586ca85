// The training loop, evaluation, progress display and checkpoint policy.
#include "leancnn/train/trainer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "leancnn/core/clock.h"
#include "leancnn/core/error.h"
#include "leancnn/ir/builder.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/train/checkpoint.h"
#include "leancnn/train/predict.h"

namespace leancnn::train {

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted = true; }

// Installs the Ctrl-C handler for the lifetime of a training run.
class SigintGuard {
 public:
  SigintGuard() {
    g_interrupted = false;
    previous_ = std::signal(SIGINT, on_sigint);
  }
  ~SigintGuard() { std::signal(SIGINT, previous_); }

 private:
  void (*previous_)(int);
};


std::string format_eta(double s) {
  char buf[32];
  const int t = static_cast<int>(s + 0.5);
  std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  return buf;
}


// The model graph plus a cross-entropy loss node and a labels input. Copying the graph shares
// the initializers' storage, so training updates the model's weights and BN statistics.
struct LossGraph {
  ir::Graph g;
  ir::ValueId logits = ir::kNone, loss = ir::kNone;
};

LossGraph with_loss(const ir::Graph& model, const ir::OpTable& ops, float label_smoothing) {
  if (model.inputs().size() != 1 || model.outputs().size() != 1)
    fail(ErrorKind::bad_input, "training needs a model with one input and one output (logits), this one has ",
         model.inputs().size(), " and ", model.outputs().size());
  LossGraph t{model};
  ir::Builder b(t.g, ops);
  t.logits = t.g.outputs()[0];
  const ir::ValueId labels = b.input("labels", {1}, DType::s64);
  ir::Attributes a;
  if (label_smoothing > 0.f) a.set("label_smoothing", label_smoothing);
  t.loss = b.op("SoftmaxCrossEntropy", {t.logits, labels}, a, 1, ir::kLeancnnDomain, "loss")[0];
  b.output(t.loss);
  return t;
}

std::string input_name(const ir::Graph& g) { return g.value(g.inputs().at(0)).name; }

// One progress line, rewritten in place on a terminal.
void show_progress(bool bar, int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss, double acc,
                   double ips, double eta_s) {
  if (!bar) return;
  const int width = 24;
  const int filled = static_cast<int>(width * step / std::max<int64_t>(steps, 1));
  std::fprintf(stderr, "\repoch %lld/%lld [%s%s] %lld/%lld  loss %.4f  acc %.3f  %.0f img/s  ETA %s   ",
               static_cast<long long>(epoch), static_cast<long long>(epochs), std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), static_cast<long long>(step), static_cast<long long>(steps),
               loss, acc, ips, format_eta(eta_s).c_str());
  std::fflush(stderr);
}
}  // namespace

std::string EpochMetrics::json() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"epoch\": %lld, \"train_loss\": %.6f, \"train_acc\": %.6f, \"test_loss\": %.6f, \"test_acc\": %.6f, "
                "\"lr\": %.6g, \"images_per_s\": %.1f, \"seconds\": %.2f}",
                static_cast<long long>(epoch), train_loss, train_acc, test_loss, test_acc, lr, images_per_s, seconds);
  return buf;
}

EvalResult evaluate(ir::Graph& model, const ir::OpTable& ops, const Dataset& data, const LoaderOptions& loader,
                    bool use_kernels) {
  LossGraph t = with_loss(model, ops, 0.f);
  runtime::Executor exec(t.g, ops, {.training = false, .use_kernels = use_kernels});
  LoaderOptions o = loader;
  o.shuffle = false;
  o.drop_last = false;
  o.augment = {};
  DataLoader dl(data, o);
  EvalResult r;
  double loss_sum = 0;
  int64_t correct = 0;
  const auto t0 = Clock::now();
  const std::string in = input_name(model);
  while (auto b = dl.next()) {
    std::vector<Tensor> out = exec.forward({{in, b->images}, {"labels", b->labels}});
    const int64_t n = b->labels.numel();
    correct += count_correct(out[0], b->labels);
    loss_sum += static_cast<double>(out[1].at(0)) * n;
    r.count += n;
  }
  r.loss = loss_sum / std::max<int64_t>(r.count, 1);
  r.accuracy = static_cast<double>(correct) / std::max<int64_t>(r.count, 1);
  r.images_per_s = r.count / std::max(1e-9, seconds_since(t0));
  return r;
}

TrainResult train_model(ir::Graph& model, const ir::OpTable& ops, const Dataset& train_set, const Dataset& test_set,
                        const TrainOptions& o, const TrainHooks& hooks) {
  if (o.epochs < 1) fail(ErrorKind::usage, "epochs must be >= 1, got ", o.epochs);
  if (o.out_dir.empty()) fail(ErrorKind::usage, "training needs an output folder for checkpoints");
  namespace fs = std::filesystem;
  const std::string ckpt_dir = o.out_dir + "/last";
  const bool bar = o.progress < 0 ? ::isatty(STDERR_FILENO) != 0 : o.progress == 1;

  LoaderOptions lo{.batch = o.batch, .shuffle = true, .drop_last = true, .augment = o.augment, .seed = o.seed};
  DataLoader loader(train_set, lo);
  const int64_t steps_per_epoch = loader.batches_per_epoch();
  if (steps_per_epoch < 1)
    fail(ErrorKind::usage, "the training set (", train_set.size(), " images) is smaller than one batch (", o.batch, ")");

  CheckpointState state;
  if (o.resume) {
    if (!has_checkpoint(ckpt_dir)) fail(ErrorKind::usage, "--resume: no checkpoint in '", ckpt_dir, "'");
    model = load_checkpoint_model(ckpt_dir, ops);
  }
  LossGraph t = with_loss(model, ops, o.label_smoothing);
  const ir::ValueId hard_loss = t.loss;
  for (const LossHook& h : hooks.losses) {
    LossGraphView view{t.g, ops, t.g.inputs().at(0), t.logits, t.g.find_value("labels"), t.loss};
    t.loss = h.extend(view);
    if (!t.g.valid_value(t.loss) || !t.g.value(t.loss).shape.empty())
      fail(ErrorKind::internal, "a loss hook returned a value that is not a scalar");
  }
  if (t.loss != hard_loss) t.g.mark_output(t.loss);  // outputs: logits, cross-entropy, total
  const size_t loss_out = t.loss == hard_loss ? 1 : 2;
  runtime::Executor exec(t.g, ops, {.training = true, .use_kernels = o.use_kernels, .seed = o.seed});
  std::unique_ptr<Optimizer> opt = make_optimizer(exec.params(), o.optimizer);
  if (o.resume) {
    state = load_checkpoint_state(ckpt_dir, *opt);
    std::fprintf(stderr, "resuming after epoch %lld from '%s'\n", static_cast<long long>(state.epoch), ckpt_dir.c_str());
  }
  ScheduleOptions sched = o.schedule;
  sched.base_lr = o.optimizer.lr;
  sched.total_steps = o.epochs * steps_per_epoch;
  validate(sched);

  fs::create_directories(o.out_dir);
  SigintGuard sigint;
  TrainResult result;
  result.best_acc = state.best_acc;
  result.best_epoch = state.best_epoch;
  const std::string in = input_name(model);
  const int64_t last_epoch = o.stop_after > 0 ? std::min(o.epochs, o.stop_after) : o.epochs;
  for (int64_t epoch = state.epoch; epoch < last_epoch; ++epoch) {
    loader.start_epoch(epoch);
    EpochMetrics m;
    m.epoch = epoch + 1;
    const auto t0 = Clock::now();
    double loss_sum = 0;
    int64_t seen = 0, correct = 0, step = 0;
    exec.set_training(true);
    while (auto b = loader.next()) {
      const int64_t global_step = epoch * steps_per_epoch + step;
      opt->set_lr(lr_at(sched, global_step));
      std::map<std::string, Tensor> feeds{{in, b->images}, {"labels", b->labels}};
      for (const LossHook& h : hooks.losses)
        if (h.feed) h.feed(*b, feeds);
      std::vector<Tensor> out = exec.forward(feeds);
      float loss = out[loss_out].at(0);
      if (!std::isfinite(loss)) {
        if (bar) std::fputc('\n', stderr);
        fail(ErrorKind::runtime, "the loss became ", loss, " at epoch ", epoch + 1, ", step ", step + 1,
             (has_checkpoint(ckpt_dir) ? "; the last good checkpoint is in '" + ckpt_dir + "'" : std::string()),
             " (try a lower learning rate or gradient clipping)");
      }
      exec.backward(t.loss);
      for (const Regularizer& r : hooks.regularizers) loss += static_cast<float>(r(exec.params()));
      if (o.clip_grad_norm > 0.f) clip_grad_norm(exec.params(), o.clip_grad_norm);
      opt->step();
      for (const ParamHook& h : hooks.after_step) h(exec.params());
      const int64_t n = b->labels.numel();
      loss_sum += static_cast<double>(loss) * n;
      correct += count_correct(out[0], b->labels);
      seen += n;
      ++step;
      const double secs = seconds_since(t0);
      const double ips = seen / std::max(secs, 1e-9);
      const double eta = (static_cast<double>(o.epochs - epoch) * steps_per_epoch - step) * o.batch / std::max(ips, 1e-9);
      if (bar && (step % 5 == 0 || step == steps_per_epoch))
        show_progress(bar, epoch + 1, o.epochs, step, steps_per_epoch, loss_sum / seen,
                      static_cast<double>(correct) / seen, ips, eta);
      if (g_interrupted) break;
    }
    m.seconds = seconds_since(t0);
    m.train_loss = loss_sum / std::max<int64_t>(seen, 1);
    m.train_acc = static_cast<double>(correct) / std::max<int64_t>(seen, 1);
    m.images_per_s = seen / std::max(m.seconds, 1e-9);
    m.lr = opt->lr();
    if (bar) std::fputc('\n', stderr);
    if (g_interrupted) {
      // The epoch is incomplete: keep the weights as they are now, counted as the epochs before.
      save_checkpoint(ckpt_dir, model, *opt, state);
      std::fprintf(stderr, "interrupted: checkpoint saved in '%s' (resume with --resume)\n", ckpt_dir.c_str());
      result.interrupted = true;
      return result;
    }
    EvalResult ev = evaluate(model, ops, test_set, {.batch = 256, .seed = o.seed}, o.use_kernels);
    m.test_loss = ev.loss;
    m.test_acc = ev.accuracy;
    result.epochs.push_back(m);
    state.epoch = epoch + 1;
    state.metrics_jsonl += m.json() + "\n";
    const bool best = m.test_acc > state.best_acc;
    if (best) {
      state.best_acc = m.test_acc;
      state.best_epoch = m.epoch;
      io::save_onnx(model, o.out_dir + "/best.onnx");
    }
    for (const LossHook& h : hooks.losses)
      if (h.on_epoch_end) h.on_epoch_end(m, model, best);
    save_checkpoint(ckpt_dir, model, *opt, state);
    io::write_file_atomic(o.out_dir + "/metrics.jsonl", state.metrics_jsonl);
    std::fprintf(stderr, "epoch %lld/%lld  train loss %.4f acc %.4f  test loss %.4f acc %.4f  lr %.4g  %.0f img/s  %.1fs\n",
                 static_cast<long long>(m.epoch), static_cast<long long>(o.epochs), m.train_loss, m.train_acc, m.test_loss,
                 m.test_acc, m.lr, m.images_per_s, m.seconds);
    const int64_t classes = model.value(model.outputs().at(0)).shape.back();
    const double chance = classes > 1 ? 1.2 / static_cast<double>(classes) : 0.0;
    if (!result.collapsed && m.epoch >= 2 && m.train_acc <= chance && m.test_acc <= chance) {
      result.collapsed = true;
      std::fprintf(stderr,
                   "warning: training has collapsed after epoch %lld (train accuracy %.1f %%, test %.1f %%, loss %.4g, "
                   "%lld classes: chance level): the loss diverged or the ReLUs died. Rerun with a lower learning rate "
                   "(this run's base lr is %.4g); with distillation, also a lower alpha or temperature\n",
                   static_cast<long long>(m.epoch), 100 * m.train_acc, 100 * m.test_acc, m.train_loss,
                   static_cast<long long>(classes), static_cast<double>(o.optimizer.lr));
    }
    if (o.stop_when && o.stop_when(m)) {
      result.stopped_early = true;
      break;
    }
  }
  result.best_acc = state.best_acc;
  result.best_epoch = state.best_epoch;
  return result;
}

}  // namespace leancnn::train
