// The mobile space (MobileNetV2 / MnasNet, Sandler et al. 2018, Tan et al. 2019): a 3x3 stem,
// four stages of inverted-residual blocks (1x1 expansion, k x k depthwise, optional
// squeeze-and-excitation, linear 1x1 projection, residual where shapes allow), a 1x1 head and
// the classifier. Per stage: depth and width; per block: kernel 3/5/7, expansion 1/3/6, SE.
#include <algorithm>

#include "leancnn/core/error.h"
#include "spaces.h"

namespace leancnn::search {

namespace {
constexpr int kStages = 4, kMaxDepth = 3;
constexpr int64_t kStrides[kStages] = {1, 2, 2, 2};
const std::vector<int64_t> kWidths[kStages] = {{8, 12, 16}, {16, 24, 32}, {24, 32, 48}, {48, 64, 96}};
constexpr int64_t kStem = 16, kHead = 128;

class MobileSpace final : public SearchSpace {
 public:
  MobileSpace() {
    for (int s = 0; s < kStages; ++s) {
      const std::string st = str_cat("stage", s);
      decisions_.push_back({st + ".depth", labels({1, 2, 3})});
      decisions_.push_back({st + ".width", labels(kWidths[s])});
      for (int k = 0; k < kMaxDepth; ++k) {
        const std::string bl = str_cat(st, ".block", k);
        decisions_.push_back({bl + ".kernel", labels({3, 5, 7})});
        decisions_.push_back({bl + ".expand", labels({1, 3, 6})});
        decisions_.push_back({bl + ".se", labels({0, 1})});
      }
    }
  }
  std::string name() const override { return "mobile"; }
  std::string description() const override {
    return "MobileNetV2/MnasNet inverted residuals: per stage depth 1-3 and width, per block kernel 3/5/7, expansion "
           "1/3/6, squeeze-and-excitation";
  }

  static size_t stage_base(int s) { return static_cast<size_t>(s) * (2 + 3 * kMaxDepth); }
  static size_t block_base(int s, int k) { return stage_base(s) + 2 + 3 * static_cast<size_t>(k); }

  Architecture canonical(const Architecture& a) const override {
    Architecture c = a;
    for (int s = 0; s < kStages; ++s) {
      const int depth = a.choices[stage_base(s)] + 1;
      for (int k = depth; k < kMaxDepth; ++k)
        for (size_t j = 0; j < 3; ++j) c.choices[block_base(s, k) + j] = 0;
    }
    return c;
  }

  std::string describe(const Architecture& a) const override {
    std::string out;
    for (int s = 0; s < kStages; ++s) {
      if (s) out += " | ";
      out += str_cat("d", number_at(*this, a, stage_base(s)), "w", number_at(*this, a, stage_base(s) + 1));
      for (int k = 0; k < number_at(*this, a, stage_base(s)); ++k) {
        const size_t b = block_base(s, k);
        out += str_cat(" k", number_at(*this, a, b), "e", number_at(*this, a, b + 1), number_at(*this, a, b + 2) ? "se" : "");
      }
    }
    return out;
  }

  ir::Graph build(const Architecture& a, const models::ModelConfig& cfg, const ir::OpTable& ops) const override {
    validate(a);
    check_input(cfg, 8, name());
    ir::Graph g;
    g.name = "nas_mobile";
    ir::Builder b(g, ops, cfg.seed);
    ir::ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
    {
      ir::Builder::Scope sc(b, "stem");
      x = conv_bn(b, x, kStem, 3, 1, 1, "relu6");
    }
    for (int s = 0; s < kStages; ++s) {
      const int64_t depth = number_at(*this, a, stage_base(s)), oc = number_at(*this, a, stage_base(s) + 1);
      for (int k = 0; k < depth; ++k) {
        ir::Builder::Scope sc(b, str_cat("stage", s, ".block", k));
        const size_t base = block_base(s, k);
        const int64_t kernel = number_at(*this, a, base), expand = number_at(*this, a, base + 1);
        const bool se = number_at(*this, a, base + 2) != 0;
        const int64_t stride = k == 0 ? kStrides[s] : 1;
        const int64_t ic = b.shape(x)[1], hidden = ic * expand;
        ir::ValueId y = x;
        // Each layer named by its role, whatever the block's choices: the one-shot supernet
        // (oneshot.cpp) shares weights between sub-nets by name.
        if (expand != 1) y = conv_bn(b, y, hidden, 1, 1, 1, "relu6", 1, "expand");
        y = conv_bn(b, y, hidden, kernel, stride, hidden, "relu6", 1, "dw");
        if (se) {
          // Squeeze-and-excitation (Hu et al. 2018) as MobileNetV3 places it: after the
          // depthwise conv, a quarter of the channels (at least 8), hard-sigmoid gate.
          ir::Builder::Scope ss(b, "se");
          const int64_t squeeze = std::max<int64_t>(8, hidden / 4);
          ir::ValueId w = b.global_avg_pool(y);
          w = b.relu(b.conv(w, squeeze, 1, 1, 0, 1, true, 1, "reduce"));
          w = b.hard_sigmoid(b.conv(w, hidden, 1, 1, 0, 1, true, 1, "expand"), 1.f / 6.f, 0.5f);
          y = b.mul(y, w);
        }
        y = conv_bn(b, y, oc, 1, 1, 1, "", 1, "project");
        x = (stride == 1 && ic == oc) ? b.add(x, y) : y;
      }
    }
    {
      ir::Builder::Scope sc(b, "head");
      x = conv_bn(b, x, kHead, 1, 1, 1, "relu6");
    }
    classifier_head(b, g, x, cfg.classes);
    return g;
  }
};
}  // namespace

std::unique_ptr<SearchSpace> make_mobile_space() { return std::make_unique<MobileSpace>(); }

}  // namespace leancnn::search
