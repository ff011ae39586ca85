// DataLoader: per-epoch seeded order, per-item seeded augmentation, one-batch-ahead prefetch.
#include "leancnn/train/data_loader.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "leancnn/core/error.h"

namespace leancnn::train {

namespace {
Dataset take(const Dataset& d, const std::vector<int64_t>& idx, const std::string& suffix) {
  Dataset out;
  out.name = d.name + suffix;
  out.classes = d.classes;
  Shape s = d.images.shape();
  s[0] = static_cast<int64_t>(idx.size());
  out.images = Tensor::empty(s, DType::u8);
  out.labels = Tensor::empty({s[0]}, DType::s64);
  const int64_t item = d.images.numel() / std::max<int64_t>(d.size(), 1);
  for (size_t i = 0; i < idx.size(); ++i) {
    std::memcpy(out.images.data<uint8_t>() + i * item, d.images.data<uint8_t>() + idx[i] * item, item);
    out.labels.data<int64_t>()[i] = d.labels.data<int64_t>()[idx[i]];
  }
  return out;
}

void shuffle(std::vector<int64_t>& v, Rng& rng) {
  for (int64_t i = static_cast<int64_t>(v.size()) - 1; i > 0; --i) std::swap(v[i], v[rng.below(i + 1)]);
}
}  // namespace

std::pair<Dataset, Dataset> split_validation(const Dataset& d, int64_t count, uint64_t seed) {
  if (count < 0 || count >= d.size())
    fail(ErrorKind::usage, "validation size ", count, " must be in [0, ", d.size(), ")");
  std::vector<int64_t> idx(d.size());
  for (int64_t i = 0; i < d.size(); ++i) idx[i] = i;
  Rng rng(seed ^ 0x5eed5eedull);
  shuffle(idx, rng);
  std::vector<int64_t> train_idx(idx.begin(), idx.end() - count), val_idx(idx.end() - count, idx.end());
  std::sort(train_idx.begin(), train_idx.end());
  std::sort(val_idx.begin(), val_idx.end());
  return {take(d, train_idx, ":train"), take(d, val_idx, ":val")};
}

Dataset subset(const Dataset& d, int64_t count) {
  count = std::min(count, d.size());
  std::vector<int64_t> idx(count);
  for (int64_t i = 0; i < count; ++i) idx[i] = i;
  return take(d, idx, ":first" + std::to_string(count));
}

DataLoader::DataLoader(const Dataset& data, LoaderOptions options) : data_(data), options_(options) {
  if (options_.batch < 1) fail(ErrorKind::usage, "batch size must be >= 1, got ", options_.batch);
  if (options_.stddev <= 0.f) fail(ErrorKind::usage, "normalisation stddev must be > 0");
  if (data_.size() == 0) fail(ErrorKind::bad_input, "dataset '", data_.name, "' is empty");
  if (options_.prefetch) thread_ = std::thread([this] { worker(); });
  start_epoch(0);
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = data_.size(), b = options_.batch;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::start_epoch(int64_t epoch) {
  std::unique_lock<std::mutex> lock(mu_);
  epoch_ = epoch;
  order_.resize(data_.size());
  for (int64_t i = 0; i < data_.size(); ++i) order_[i] = i;
  if (options_.shuffle) {
    Rng rng(options_.seed * 1000003ull + static_cast<uint64_t>(epoch));
    shuffle(order_, rng);
  }
  next_index_ = 0;
  ready_.reset();
  ready_index_ = -1;
  want_ = options_.prefetch ? 0 : -1;
  lock.unlock();
  cv_.notify_all();
}

std::optional<Batch> DataLoader::next() {
  if (next_index_ >= batches_per_epoch()) return std::nullopt;
  const int64_t index = next_index_++;
  if (!options_.prefetch) return make_batch(items_of(index), epoch_, index * options_.batch);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return ready_index_ == index && ready_.has_value(); });
  Batch b = std::move(*ready_);
  ready_.reset();
  ready_index_ = -1;
  want_ = index + 1 < batches_per_epoch() ? index + 1 : -1;
  lock.unlock();
  cv_.notify_all();
  return b;
}

void DataLoader::worker() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || (want_ >= 0 && !ready_.has_value()); });
    if (stop_) return;
    const int64_t index = want_;
    const int64_t epoch = epoch_;
    const std::vector<int64_t> items = items_of(index);  // copied under the lock
    lock.unlock();
    Batch b = make_batch(items, epoch, index * options_.batch);
    lock.lock();
    if (epoch == epoch_ && want_ == index) {  // not superseded by start_epoch meanwhile
      ready_ = std::move(b);
      ready_index_ = index;
      want_ = -1;
      cv_.notify_all();
    }
  }
}

std::vector<int64_t> DataLoader::items_of(int64_t index) const {
  const int64_t begin = index * options_.batch;
  const int64_t end = std::min<int64_t>(begin + options_.batch, data_.size());
  return std::vector<int64_t>(order_.begin() + begin, order_.begin() + end);
}

Batch DataLoader::make_batch(const std::vector<int64_t>& items, int64_t epoch, int64_t first) const {
  const int64_t n = static_cast<int64_t>(items.size());
  const Shape& s = data_.images.shape();
  const int64_t c = s[1], h = s[2], w = s[3], item = c * h * w;
  Batch b{Tensor::empty({n, c, h, w}), Tensor::empty({n}, DType::s64)};
  const Augment& a = options_.augment;
  const float inv = 1.f / (255.f * options_.stddev), shift = options_.mean / options_.stddev;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* src = data_.images.data<uint8_t>() + items[i] * item;
    float* dst = b.images.data<float>() + i * item;
    b.labels.data<int64_t>()[i] = data_.labels.data<int64_t>()[items[i]];
    // Augmentation draws depend on (seed, epoch, position) only: independent of threads.
    Rng rng(options_.seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(epoch) * 1000003ull +
            static_cast<uint64_t>(first + i));
    const int64_t dy = a.crop_pad ? rng.below(2 * a.crop_pad + 1) - a.crop_pad : 0;
    const int64_t dx = a.crop_pad ? rng.below(2 * a.crop_pad + 1) - a.crop_pad : 0;
    const bool flip = a.hflip && rng.uniform() < 0.5f;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          const int64_t sy = y + dy, sx0 = flip ? w - 1 - x : x, sx = sx0 + dx;
          const float pixel = (sy < 0 || sy >= h || sx < 0 || sx >= w) ? 0.f : src[(ch * h + sy) * w + sx];
          dst[(ch * h + y) * w + x] = pixel * inv - shift;
        }
    if (a.erase_prob > 0.f && rng.uniform() < a.erase_prob) {
      // A rectangle of random area and aspect ratio set to 0 (the normalised mean).
      const float area = rng.uniform(a.erase_area_min, a.erase_area_max) * h * w;
      const float aspect = std::exp(rng.uniform(std::log(0.3f), std::log(3.3f)));
      const int64_t eh = std::min<int64_t>(h, std::max<int64_t>(1, std::lround(std::sqrt(area * aspect))));
      const int64_t ew = std::min<int64_t>(w, std::max<int64_t>(1, std::lround(std::sqrt(area / aspect))));
      const int64_t y0 = rng.below(h - eh + 1), x0 = rng.below(w - ew + 1);
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = y0; y < y0 + eh; ++y)
          for (int64_t x = x0; x < x0 + ew; ++x) dst[(ch * h + y) * w + x] = 0.f;
    }
  }
  return b;
}

}  // namespace leancnn::train
