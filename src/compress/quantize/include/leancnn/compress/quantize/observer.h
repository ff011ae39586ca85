// Range observers for quantization: they watch the values of a tensor (weights once, activations
// batch after batch) and choose a clipping range [lo, hi], then a scale and zero point for a
// bit-width (docs/quantization.md). Methods: min-max, moving-average min-max, percentile,
// entropy (KL divergence, TensorRT's calibrator) and MSE-optimal; per tensor or per channel.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "leancnn/core/tensor.h"

namespace leancnn::compress::quantize {

enum class RangeMethod { minmax, ema, percentile, entropy, mse };

// "minmax", "ema", "percentile", "entropy", "mse"; Error(usage) on anything else.
RangeMethod range_method_from_name(const std::string& name);
std::string range_method_name(RangeMethod m);

// The integer grid a tensor is quantized to.
struct QuantGrid {
  int bits = 8;
  bool is_signed = false;  // s8-style [-(2^(b-1)), 2^(b-1) - 1] or u8-style [0, 2^b - 1]
  bool symmetric = false;  // zero point 0 (signed) or 2^(b-1) (unsigned); range ±max|x|
  // Signed symmetric grids drop the most negative level (s8: [-127, 127], s4: [-7, 7]) so the
  // grid is symmetric about 0; narrow_range = false keeps it.
  bool narrow_range = true;
  int qmin() const;
  int qmax() const;
};

// The u8 activation grid of the QDQ contract (asymmetric) and the symmetric s8 / s4 weight grids.
inline QuantGrid activation_grid(int bits = 8) { return {bits, false, false, true}; }
inline QuantGrid weight_grid(int bits = 8) { return {bits, true, true, true}; }

// Scale(s) and zero point(s): one entry per tensor, or one per channel.
struct QuantParams {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  std::vector<float> lo, hi;  // the chosen clipping ranges
  QuantGrid grid;
  int64_t axis = -1;  // -1: per tensor
};

// Scale and zero point for the range [lo, hi] (widened to contain 0, so 0 is exact). A zero
// range gives scale 1 (any scale reproduces an all-zero tensor).
void range_to_params(float lo, float hi, const QuantGrid& grid, float& scale, int32_t& zero_point);

struct ObserverOptions {
  RangeMethod method = RangeMethod::minmax;
  double percentile = 99.99;   // percentile: the kept fraction of values, in percent, on each side
  double ema_momentum = 0.9;   // ema: lo = m * lo + (1 - m) * batch_min (the first batch sets it)
  int histogram_bins = 2048;   // entropy, mse, percentile: bins over [0, max|x|] (TensorRT: 2048)
  int64_t axis = -1;           // per-channel axis (weights: 0), -1 per tensor
};

// Collects statistics over any number of observe() calls, then params() chooses the range.
// Histograms cover |x| over [0, R] where R doubles whenever a batch exceeds it (bins merge in
// pairs, so nothing is re-estimated); the sign of values is kept by separate histograms for
// negative and non-negative values, so one-sided (post-ReLU) tensors use all of their levels.
class Observer {
 public:
  explicit Observer(ObserverOptions options = {});
  // Adds the values of t (f32). Per channel: t's dim `axis` is the channel count, fixed by the
  // first call; Error(bad_input) if a later tensor differs.
  void observe(const Tensor& t);
  bool empty() const { return channels_.empty(); }
  // The range per channel (or one), then the scale and zero point for `grid`.
  QuantParams params(const QuantGrid& grid) const;
  const ObserverOptions& options() const { return options_; }

  // Exposed for tests: the range the method chooses for one channel.
  void channel_range(size_t channel, const QuantGrid& grid, float& lo, float& hi) const;

 private:
  struct Channel {
    float min = 0.f, max = 0.f;
    double ema_min = 0.0, ema_max = 0.0;
    bool seen = false;
    double range = 0.0;             // histogram covers |x| in [0, range)
    std::vector<double> pos, neg;   // counts of x >= 0 and x < 0 by |x|
  };
  void add_values(Channel& c, const float* values, int64_t count, int64_t stride_outer, int64_t inner) const;
  void grow_histogram(Channel& c, double needed) const;

  ObserverOptions options_;
  std::vector<Channel> channels_;
};

// Range choices on a histogram of |x| (bins of width range / bins.size()), exposed for tests.
// TensorRT's entropy calibration: the threshold (in units of range) whose clipped and
// `levels`-level quantized distribution has the least KL divergence from the original.
double entropy_threshold(const std::vector<double>& hist, double range, int levels);
// The clipping threshold minimising the expected squared error of `levels`-level uniform
// quantization of [0, t] (values beyond t clip to t).
double mse_threshold(const std::vector<double>& hist, double range, int levels);
// The value below which `fraction` (0..1) of the histogram's mass lies.
double percentile_threshold(const std::vector<double>& hist, double range, double fraction);

}  // namespace leancnn::compress::quantize
