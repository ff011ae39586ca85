// A model's input preprocessing for image files: resize to the model's input H×W, scale 0-255 to
// [0, 1], per-channel mean/std normalisation, channel order. A recipe's quantize step and
// `leancnn quantize` state it (docs/recipes.md); calibration (calibration_data.h) applies it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "leancnn/io/image.h"

namespace leancnn::train {

enum class ChannelOrder { rgb, bgr };

struct Preprocess {
  bool resize = true;       // bilinear resize to the model's input H×W (false: sizes must match)
  bool scale = true;        // divide by 255 (the zoo's models take [0, 1])
  std::vector<float> mean;  // per channel, subtracted after scaling; empty: none; one value: all channels
  std::vector<float> std;   // per channel, divided by after the mean; empty: none; one value: all channels
  ChannelOrder order = ChannelOrder::rgb;  // the model's channel order (files decode as RGB)

  // Only scaling, as the built-in IDX datasets are fed: no normalisation, RGB order.
  bool is_plain() const { return scale && mean.empty() && std.empty() && order == ChannelOrder::rgb; }
  // "resize, /255, mean [0.485 0.456 0.406], std [...], rgb" for reports.
  std::string describe() const;
  // Error(bad_input) naming `where` and the field: mean/std of neither 0, 1 nor `channels`
  // values, a std value <= 0.
  void validate(int64_t channels, const std::string& where) const;
};

ChannelOrder parse_channel_order(const std::string& text);  // "rgb" | "bgr"; Error(usage) otherwise
const char* channel_order_name(ChannelOrder o);
// "0.485,0.456,0.406" (commas or spaces) -> floats; Error(usage) naming `what` on a bad number.
std::vector<float> parse_floats(const std::string& text, const std::string& what);

// One decoded image -> f32 [channels, height, width] at dst: channels converted (grey replicated
// to RGB, RGB to grey as ITU-R BT.601 luma, alpha dropped), resized (bilinear, half-pixel
// centres, as OpenCV's INTER_LINEAR and PIL without antialias), put in the model's channel order,
// scaled and normalised. Error(bad_input) naming `where` when the size differs and resize is off.
void preprocess_image(const io::Image& img, const Preprocess& p, int64_t channels, int64_t height, int64_t width,
                      float* dst, const std::string& where);

}  // namespace leancnn::train
