// Image preprocessing: channel conversion, bilinear resize, channel order, scale, normalisation.
#include "leancnn/train/preprocess.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "leancnn/core/error.h"

namespace leancnn::train {

namespace {
std::string join(const std::vector<float>& v) {
  std::ostringstream s;
  for (size_t i = 0; i < v.size(); ++i) s << (i ? " " : "") << v[i];
  return s.str();
}

float per_channel(const std::vector<float>& v, int64_t c, float none) {
  if (v.empty()) return none;
  return v.size() == 1 ? v[0] : v[static_cast<size_t>(c)];
}
}  // namespace

std::string Preprocess::describe() const {
  std::string s = resize ? "resize" : "no resize";
  s += scale ? ", /255" : ", 0-255";
  if (!mean.empty()) s += ", mean [" + join(mean) + "]";
  if (!std.empty()) s += ", std [" + join(std) + "]";
  s += std::string(", ") + channel_order_name(order);
  return s;
}

void Preprocess::validate(int64_t channels, const std::string& where) const {
  auto check = [&](const std::vector<float>& v, const char* field) {
    if (!v.empty() && v.size() != 1 && static_cast<int64_t>(v.size()) != channels)
      fail(ErrorKind::bad_input, where, ": ", field, " has ", v.size(), " values but the model takes ", channels,
           " channels; give one value, or one per channel");
  };
  check(mean, "mean");
  check(std, "std");
  for (float x : std)
    if (!(x > 0)) fail(ErrorKind::bad_input, where, ": std values must be > 0, got ", x);
}

ChannelOrder parse_channel_order(const std::string& text) {
  if (text == "rgb") return ChannelOrder::rgb;
  if (text == "bgr") return ChannelOrder::bgr;
  fail(ErrorKind::usage, "channel order must be rgb or bgr, got '", text, "'");
}

const char* channel_order_name(ChannelOrder o) { return o == ChannelOrder::bgr ? "bgr" : "rgb"; }

std::vector<float> parse_floats(const std::string& text, const std::string& what) {
  std::string t = text;
  std::replace(t.begin(), t.end(), ',', ' ');
  std::istringstream in(t);
  std::vector<float> out;
  std::string item;
  while (in >> item) {
    size_t used = 0;
    float x = 0;
    try {
      x = std::stof(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || !std::isfinite(x)) fail(ErrorKind::usage, what, ": '", item, "' is not a number in '", text, "'");
    out.push_back(x);
  }
  return out;
}

void preprocess_image(const io::Image& img, const Preprocess& p, int64_t channels, int64_t height, int64_t width,
                      float* dst, const std::string& where) {
  if (channels != 1 && channels != 3)
    fail(ErrorKind::bad_input, where, ": image preprocessing feeds 1- or 3-channel models, the model takes ", channels);
  if (!p.resize && (img.height != height || img.width != width))
    fail(ErrorKind::bad_input, where, ": the image is ", img.height, "x", img.width, " but the model takes ", height, "x",
         width, "; allow resizing (resize: true, --resize) or give images of the model's size");
  // Channel conversion into an f32 H×W×channels buffer (0-255).
  const int64_t ih = img.height, iw = img.width, ic = img.channels;
  const bool colour = ic >= 3;
  std::vector<float> src(static_cast<size_t>(ih * iw * channels));
  for (int64_t i = 0; i < ih * iw; ++i) {
    const uint8_t* px = img.pixels.data() + i * ic;
    float* o = src.data() + i * channels;
    if (channels == 3) {
      for (int64_t c = 0; c < 3; ++c) o[c] = colour ? px[c] : px[0];
    } else {
      o[0] = colour ? 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2] : px[0];
    }
  }
  // Bilinear resize with half-pixel centres (identity when the sizes match), then order, scale
  // and normalisation, written planar.
  const float sy = static_cast<float>(ih) / static_cast<float>(height);
  const float sx = static_cast<float>(iw) / static_cast<float>(width);
  for (int64_t y = 0; y < height; ++y) {
    const float fy = std::clamp((static_cast<float>(y) + 0.5f) * sy - 0.5f, 0.f, static_cast<float>(ih - 1));
    const int64_t y0 = static_cast<int64_t>(fy), y1 = std::min(y0 + 1, ih - 1);
    const float wy = fy - static_cast<float>(y0);
    for (int64_t x = 0; x < width; ++x) {
      const float fx = std::clamp((static_cast<float>(x) + 0.5f) * sx - 0.5f, 0.f, static_cast<float>(iw - 1));
      const int64_t x0 = static_cast<int64_t>(fx), x1 = std::min(x0 + 1, iw - 1);
      const float wx = fx - static_cast<float>(x0);
      for (int64_t c = 0; c < channels; ++c) {
        auto at = [&](int64_t yy, int64_t xx) { return src[static_cast<size_t>((yy * iw + xx) * channels + c)]; };
        float v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
        if (p.scale) v /= 255.f;
        // The model's channel c reads the file's channel c, or 2 - c in BGR order.
        const int64_t out_c = (p.order == ChannelOrder::bgr && channels == 3) ? 2 - c : c;
        v = (v - per_channel(p.mean, out_c, 0.f)) / per_channel(p.std, out_c, 1.f);
        dst[(out_c * height + y) * width + x] = v;
      }
    }
  }
}

}  // namespace leancnn::train
