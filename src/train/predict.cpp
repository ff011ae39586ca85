// Top-1 predictions of a classifier graph through the reference executor or a compiled plan.
#include "leancnn/train/predict.h"

#include <algorithm>

#include "leancnn/core/error.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/executor.h"
#include "leancnn/runtime/plan.h"

namespace leancnn::train {

namespace {
void argmax_rows(const Tensor& logits, std::vector<int32_t>& out) {
  if (logits.rank() != 2) fail(ErrorKind::bad_input, "expected [N, classes] logits, got ", shape_str(logits.shape()));
  const Tensor l = logits.is_contiguous() ? logits : logits.clone();
  const int64_t n = l.dim(0), k = l.dim(1);
  const float* p = l.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const float* row = p + i * k;
    out.push_back(static_cast<int32_t>(std::max_element(row, row + k) - row));  // first maximum on ties
  }
}
}  // namespace

Predictions predict(const ir::Graph& g, const train::Dataset& data, Engine engine, int64_t limit, int64_t batch,
                    const std::function<void(int64_t, int64_t)>& progress) {
  if (g.inputs().size() != 1 || g.outputs().empty()) fail(ErrorKind::bad_input, "a classifier needs one input and an output");
  if (batch < 1) fail(ErrorKind::usage, "batch must be >= 1");
  const int64_t count = limit > 0 ? std::min(limit, data.size()) : data.size();
  const Shape& s = data.images.shape();
  if (data.images.dtype() != DType::u8 || s.size() != 4) fail(ErrorKind::bad_input, "images must be u8 [N, C, H, W]");
  const int64_t per = s[1] * s[2] * s[3];
  ir::Graph copy = g;
  const std::string input = copy.value(copy.inputs()[0]).name;
  std::unique_ptr<runtime::Executor> exec;
  std::unique_ptr<runtime::Plan> plan;
  if (engine == Engine::executor) exec = std::make_unique<runtime::Executor>(copy, ops::op_table());
  else plan = std::make_unique<runtime::Plan>(runtime::Plan::compile(copy));
  Predictions p;
  p.top1.reserve(static_cast<size_t>(count));
  const uint8_t* src = data.images.data<uint8_t>();
  const int64_t* labels = data.labels.data<int64_t>();
  int64_t correct = 0;
  for (int64_t first = 0; first < count; first += batch) {
    const int64_t n = std::min(batch, count - first);
    Tensor x = Tensor::empty({n, s[1], s[2], s[3]});
    float* dst = x.data<float>();
    for (int64_t k = 0; k < n * per; ++k) dst[k] = static_cast<float>(src[first * per + k]) / 255.f;
    const Tensor logits = exec ? exec->forward({{input, x}}).at(0) : plan->run({x}).at(0);
    const size_t before = p.top1.size();
    argmax_rows(logits, p.top1);
    for (int64_t b = 0; b < n; ++b) correct += p.top1[before + b] == labels[first + b];
    if (progress) progress(first + n, count);
  }
  p.accuracy = count ? static_cast<double>(correct) / static_cast<double>(count) : 0.0;
  return p;
}

int64_t count_correct(const Tensor& logits, const Tensor& labels) {
  const int64_t n = logits.dim(0), k = logits.dim(1);
  const float* p = logits.data<float>();
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (p[i * k + j] > p[i * k + best]) best = j;
    correct += best == labels.data<int64_t>()[i];
  }
  return correct;
}

double agreement(const Predictions& a, const Predictions& b) {
  LEANCNN_CHECK(a.top1.size() == b.top1.size(), "predictions of different sizes");
  if (a.top1.empty()) return 1.0;
  int64_t same = 0;
  for (size_t i = 0; i < a.top1.size(); ++i) same += a.top1[i] == b.top1[i];
  return static_cast<double>(same) / static_cast<double>(a.top1.size());
}

}  // namespace leancnn::train
