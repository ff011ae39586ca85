// Range observers: statistics (min/max, moving averages, |x| histograms) and the five methods
// that turn them into a clipping range, a scale and a zero point.
#include "leancnn/compress/quantize/observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "leancnn/core/error.h"
#include "leancnn/ops/quant_math.h"

namespace leancnn::compress::quantize {

RangeMethod range_method_from_name(const std::string& name) {
  if (name == "minmax") return RangeMethod::minmax;
  if (name == "ema") return RangeMethod::ema;
  if (name == "percentile") return RangeMethod::percentile;
  if (name == "entropy" || name == "kl") return RangeMethod::entropy;
  if (name == "mse") return RangeMethod::mse;
  fail(ErrorKind::usage, "unknown range method '", name, "' (minmax, ema, percentile, entropy or mse)");
}

std::string range_method_name(RangeMethod m) {
  switch (m) {
    case RangeMethod::minmax: return "minmax";
    case RangeMethod::ema: return "ema";
    case RangeMethod::percentile: return "percentile";
    case RangeMethod::entropy: return "entropy";
    case RangeMethod::mse: return "mse";
  }
  return "?";
}

int QuantGrid::qmin() const {
  if (!is_signed) return 0;
  return narrow_range ? -((1 << (bits - 1)) - 1) : -(1 << (bits - 1));
}

int QuantGrid::qmax() const { return is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1; }

void range_to_params(float lo, float hi, const QuantGrid& grid, float& scale, int32_t& zero_point) {
  if (grid.bits < 2 || grid.bits > 8) fail(ErrorKind::usage, "quantization bit-width must be 2..8, got ", grid.bits);
  lo = std::min(lo, 0.f);
  hi = std::max(hi, 0.f);
  const int qmin = grid.qmin(), qmax = grid.qmax();
  if (grid.symmetric) {
    const float a = std::max(-lo, hi);
    zero_point = grid.is_signed ? 0 : 1 << (grid.bits - 1);
    scale = a / static_cast<float>(qmax - zero_point);
  } else {
    scale = (hi - lo) / static_cast<float>(qmax - qmin);
    zero_point = 0;
    if (scale > 0.f && std::isfinite(scale)) {
      const float zp = static_cast<float>(qmin) - lo / scale;
      zero_point = std::clamp(static_cast<int32_t>(ops::round_half_even(zp)), qmin, qmax);
    }
  }
  if (!(scale > 0.f) || !std::isfinite(scale)) {  // all zeros (or a degenerate range)
    scale = 1.f;
    if (!grid.symmetric) zero_point = qmin;
  }
}

Observer::Observer(ObserverOptions options) : options_(options) {
  if (options_.histogram_bins < 256)
    fail(ErrorKind::usage, "observer histogram needs >= 256 bins, got ", options_.histogram_bins);
  if (!(options_.percentile > 0 && options_.percentile <= 100))
    fail(ErrorKind::usage, "percentile must be in (0, 100], got ", options_.percentile);
  if (!(options_.ema_momentum >= 0 && options_.ema_momentum < 1))
    fail(ErrorKind::usage, "moving-average momentum must be in [0, 1), got ", options_.ema_momentum);
}

namespace {
bool needs_histogram(RangeMethod m) {
  return m == RangeMethod::percentile || m == RangeMethod::entropy || m == RangeMethod::mse;
}
}  // namespace

// Doubles the covered range until it reaches `needed`, merging bins in pairs.
void Observer::grow_histogram(Channel& c, double needed) const {
  const size_t bins = static_cast<size_t>(options_.histogram_bins);
  if (c.range <= 0.0) {
    c.range = needed;
    c.pos.assign(bins, 0.0);
    c.neg.assign(bins, 0.0);
    return;
  }
  while (c.range < needed) {
    for (std::vector<double>* h : {&c.pos, &c.neg}) {
      std::vector<double> merged(bins, 0.0);
      for (size_t i = 0; i < bins; ++i) merged[i / 2] += (*h)[i];
      *h = std::move(merged);
    }
    c.range *= 2.0;
  }
}

void Observer::add_values(Channel& c, const float* values, int64_t outer, int64_t stride_outer, int64_t inner) const {
  float bmin = std::numeric_limits<float>::infinity(), bmax = -bmin;
  for (int64_t o = 0; o < outer; ++o) {
    const float* p = values + o * stride_outer;
    for (int64_t i = 0; i < inner; ++i) {
      if (!std::isfinite(p[i])) fail(ErrorKind::bad_input, "observer: a non-finite value (", p[i], ") in a tensor");
      bmin = std::min(bmin, p[i]);
      bmax = std::max(bmax, p[i]);
    }
  }
  if (outer * inner == 0) return;
  if (!c.seen) {
    c.min = bmin, c.max = bmax;
    c.ema_min = bmin, c.ema_max = bmax;
    c.seen = true;
  } else {
    c.min = std::min(c.min, bmin), c.max = std::max(c.max, bmax);
    const double m = options_.ema_momentum;
    c.ema_min = m * c.ema_min + (1 - m) * bmin;
    c.ema_max = m * c.ema_max + (1 - m) * bmax;
  }
  if (!needs_histogram(options_.method)) return;
  const double amax = std::max(std::fabs(static_cast<double>(bmin)), std::fabs(static_cast<double>(bmax)));
  if (amax <= 0.0) return;  // all zeros: exact at any scale, nothing to histogram
  grow_histogram(c, amax);
  const size_t bins = c.pos.size();
  const double to_bin = static_cast<double>(bins) / c.range;
  for (int64_t o = 0; o < outer; ++o) {
    const float* p = values + o * stride_outer;
    for (int64_t i = 0; i < inner; ++i) {
      // Exact zeros are skipped (as ncnn does): 0 is always on the grid, so they carry no error
      // and would only pull thresholds down on post-ReLU tensors.
      if (p[i] == 0.f) continue;
      const double a = std::fabs(static_cast<double>(p[i]));
      const size_t b = std::min(bins - 1, static_cast<size_t>(a * to_bin));
      (p[i] < 0.f ? c.neg : c.pos)[b] += 1.0;
    }
  }
}

void Observer::observe(const Tensor& t) {
  if (t.dtype() != DType::f32) fail(ErrorKind::bad_input, "observer: expected an f32 tensor, got ", dtype_name(t.dtype()));
  const Tensor x = t.is_contiguous() ? t : t.clone();
  const float* data = x.data<float>();
  if (options_.axis < 0) {
    if (channels_.empty()) channels_.resize(1);
    add_values(channels_[0], data, 1, 0, x.numel());
    return;
  }
  if (options_.axis >= x.rank())
    fail(ErrorKind::bad_input, "observer: per-channel axis ", options_.axis, " but the tensor has rank ", x.rank());
  const int64_t ch = x.dim(static_cast<int>(options_.axis));
  if (channels_.empty()) channels_.resize(static_cast<size_t>(ch));
  if (static_cast<int64_t>(channels_.size()) != ch)
    fail(ErrorKind::bad_input, "observer: tensor has ", ch, " channels on axis ", options_.axis, ", earlier ones had ",
         channels_.size());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < options_.axis; ++d) outer *= x.dim(d);
  for (int d = static_cast<int>(options_.axis) + 1; d < x.rank(); ++d) inner *= x.dim(d);
  for (int64_t c = 0; c < ch; ++c) add_values(channels_[c], data + c * inner, outer, ch * inner, inner);
}

double percentile_threshold(const std::vector<double>& hist, double range, double fraction) {
  double total = 0;
  for (double h : hist) total += h;
  if (total <= 0 || hist.empty()) return 0.0;
  const double width = range / static_cast<double>(hist.size());
  const double want = fraction * total;
  double cum = 0;
  for (size_t i = 0; i < hist.size(); ++i) {
    if (cum + hist[i] >= want) {
      const double inside = hist[i] > 0 ? (want - cum) / hist[i] : 1.0;  // linear within the bin
      return (static_cast<double>(i) + inside) * width;
    }
    cum += hist[i];
  }
  return range;
}

double entropy_threshold(const std::vector<double>& hist, double range, int levels) {
  const int bins = static_cast<int>(hist.size());
  if (bins == 0) return 0.0;
  int last = bins;  // one past the last non-empty bin: no candidate needs to go beyond it
  while (last > 0 && hist[last - 1] == 0) --last;
  if (last <= levels) return range * last / bins;  // fewer occupied bins than levels: no clipping
  double best_kl = std::numeric_limits<double>::infinity();
  int best_i = last;
  std::vector<double> p, q;
  for (int i = levels; i <= last; ++i) {
    // p: the first i bins with the clipped tail folded into the last one.
    p.assign(hist.begin(), hist.begin() + i);
    for (int j = i; j < bins; ++j) p[i - 1] += hist[j];
    // q: the first i bins merged into `levels` groups, each group's mass spread evenly over
    // its non-empty bins (empty bins stay empty, as in TensorRT's calibrator).
    q.assign(i, 0.0);
    const double per = static_cast<double>(i) / levels;
    for (int g = 0; g < levels; ++g) {
      const int start = static_cast<int>(std::floor(g * per));
      const int end = g == levels - 1 ? i : static_cast<int>(std::floor((g + 1) * per));
      double mass = 0;
      int nonzero = 0;
      for (int j = start; j < end; ++j) {
        mass += hist[j];
        nonzero += hist[j] != 0;
      }
      if (nonzero == 0) continue;
      for (int j = start; j < end; ++j)
        if (hist[j] != 0) q[j] = mass / nonzero;
    }
    double sp = 0, sq = 0;
    for (int j = 0; j < i; ++j) sp += p[j], sq += q[j];
    if (sp <= 0 || sq <= 0) continue;
    double kl = 0;
    for (int j = 0; j < i; ++j) {
      if (p[j] == 0) continue;
      const double pj = p[j] / sp;
      // A bin of p with no q mass (the folded tail on an empty last bin) gets a tiny q, so the
      // divergence stays finite but large.
      const double qj = q[j] > 0 ? q[j] / sq : 1e-12;
      kl += pj * std::log(pj / qj);
    }
    if (kl < best_kl) best_kl = kl, best_i = i;
  }
  return range * (static_cast<double>(best_i) + 0.5) / bins;
}

double mse_threshold(const std::vector<double>& hist, double range, int levels) {
  const int bins = static_cast<int>(hist.size());
  if (bins == 0) return 0.0;
  int last = bins;
  while (last > 0 && hist[last - 1] == 0) --last;
  if (last == 0) return 0.0;
  const double width = range / bins;
  // Expected squared error with threshold t: values inside [0, t] carry uniform rounding noise
  // step^2 / 12 (step = t / levels); values beyond t clip to t. Candidates are bin edges; the
  // error of a clipped bin uses its centre plus the within-bin variance width^2 / 12.
  // Suffix sums of h, h * centre and h * centre^2 make each candidate O(1).
  std::vector<double> s0(last + 1, 0.0), s1(last + 1, 0.0), s2(last + 1, 0.0);
  for (int j = last - 1; j >= 0; --j) {
    const double c = (j + 0.5) * width;
    s0[j] = s0[j + 1] + hist[j];
    s1[j] = s1[j + 1] + hist[j] * c;
    s2[j] = s2[j + 1] + hist[j] * c * c;
  }
  double best_err = std::numeric_limits<double>::infinity();
  double best_t = last * width;
  for (int i = 1; i <= last; ++i) {
    const double t = i * width;
    const double step = t / levels;
    const double inside = s0[0] - s0[i];
    const double clipped = s2[i] - 2 * t * s1[i] + t * t * s0[i] + s0[i] * width * width / 12.0;
    const double err = inside * step * step / 12.0 + clipped;
    if (err < best_err) best_err = err, best_t = t;
  }
  return best_t;
}

void Observer::channel_range(size_t channel, const QuantGrid& grid, float& lo, float& hi) const {
  LEANCNN_CHECK(channel < channels_.size());
  const Channel& c = channels_[channel];
  lo = c.min, hi = c.max;
  if (!c.seen) {
    lo = hi = 0.f;
    return;
  }
  if (options_.method == RangeMethod::minmax) return;
  if (options_.method == RangeMethod::ema) {
    lo = static_cast<float>(c.ema_min), hi = static_cast<float>(c.ema_max);
    return;
  }
  if (c.range <= 0.0) return;  // all zeros
  const int steps = grid.qmax() - grid.qmin();
  const double frac = options_.percentile / 100.0;
  auto threshold = [&](const std::vector<double>& h, int levels) {
    switch (options_.method) {
      case RangeMethod::percentile: return percentile_threshold(h, c.range, frac);
      case RangeMethod::entropy: return entropy_threshold(h, c.range, levels);
      default: return mse_threshold(h, c.range, levels);
    }
  };
  const bool one_sided_pos = c.min >= 0.f, one_sided_neg = c.max <= 0.f;
  if (!grid.symmetric && (one_sided_pos || one_sided_neg)) {
    // All of the grid's steps lie on the one occupied side.
    const float t = static_cast<float>(threshold(one_sided_pos ? c.pos : c.neg, steps));
    if (one_sided_pos) hi = std::min(c.max, t);
    else lo = std::max(c.min, -t);
    return;
  }
  if (!grid.symmetric && options_.method == RangeMethod::percentile) {
    // Two-sided asymmetric: each tail cut at the percentile of its own side.
    hi = std::min(c.max, static_cast<float>(percentile_threshold(c.pos, c.range, frac)));
    lo = std::max(c.min, -static_cast<float>(percentile_threshold(c.neg, c.range, frac)));
    return;
  }
  // Symmetric grid or two-sided data: a threshold on |x| with half of the steps per side.
  std::vector<double> folded(c.pos.size());
  for (size_t i = 0; i < folded.size(); ++i) folded[i] = c.pos[i] + c.neg[i];
  const float t = static_cast<float>(threshold(folded, std::max(1, steps / 2)));
  lo = std::max(c.min, -t);
  hi = std::min(c.max, t);
}

QuantParams Observer::params(const QuantGrid& grid) const {
  QuantParams q;
  q.grid = grid;
  q.axis = options_.axis;
  const size_t n = std::max<size_t>(channels_.size(), 1);
  q.scale.resize(n), q.zero_point.resize(n), q.lo.resize(n), q.hi.resize(n);
  for (size_t c = 0; c < n; ++c) {
    float lo = 0.f, hi = 0.f;
    if (c < channels_.size()) channel_range(c, grid, lo, hi);
    q.lo[c] = lo, q.hi[c] = hi;
    range_to_params(lo, hi, grid, q.scale[c], q.zero_point[c]);
  }
  return q;
}

}  // namespace leancnn::compress::quantize
