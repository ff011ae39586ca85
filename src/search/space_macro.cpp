// The macro ResNet-like space (He et al. 2016; the "macro" search of Zoph & Le 2017 restricted
// to residual stages): a 3x3 stem and three stages (strides 1, 2, 2), each with its own depth
// 1-3, width (3 choices per stage), kernel 3/5 and block type (basic: two k x k convs; bottleneck: 1x1, k x k at
// half width, 1x1), projection shortcuts where the shape changes.
#include <algorithm>

#include "leancnn/core/error.h"
#include "spaces.h"

namespace leancnn::search {

namespace {
constexpr int kStages = 3;
constexpr int64_t kStrides[kStages] = {1, 2, 2};
constexpr int64_t kStem = 16;
// Widths per stage: the first stage runs at full resolution, so it is kept narrow.
const std::vector<int64_t> kWidths[kStages] = {{8, 16, 24}, {16, 32, 48}, {32, 64, 96}};

class MacroSpace final : public SearchSpace {
 public:
  MacroSpace() {
    for (int s = 0; s < kStages; ++s) {
      const std::string st = str_cat("stage", s);
      decisions_.push_back({st + ".depth", labels({1, 2, 3})});
      decisions_.push_back({st + ".width", labels(kWidths[s])});
      decisions_.push_back({st + ".kernel", labels({3, 5})});
      decisions_.push_back({st + ".block", {"basic", "bottleneck"}});
    }
  }
  std::string name() const override { return "macro"; }
  std::string description() const override {
    return "ResNet-like stages: per stage depth 1-3, width (8-24, 16-48, 32-96), kernel 3/5, basic or bottleneck blocks";
  }

  std::string describe(const Architecture& a) const override {
    std::string out;
    for (int s = 0; s < kStages; ++s) {
      const size_t i = static_cast<size_t>(s) * 4;
      if (s) out += " | ";
      out += str_cat("d", number_at(*this, a, i), "w", number_at(*this, a, i + 1), "k", number_at(*this, a, i + 2),
                     a.choices[i + 3] ? " bneck" : " basic");
    }
    return out;
  }

  ir::Graph build(const Architecture& a, const models::ModelConfig& cfg, const ir::OpTable& ops) const override {
    validate(a);
    check_input(cfg, 4, name());
    ir::Graph g;
    g.name = "nas_macro";
    ir::Builder b(g, ops, cfg.seed);
    ir::ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
    {
      ir::Builder::Scope sc(b, "stem");
      x = conv_bn(b, x, kStem, 3, 1, 1, "relu");
    }
    for (int s = 0; s < kStages; ++s) {
      const size_t i = static_cast<size_t>(s) * 4;
      const int64_t depth = number_at(*this, a, i), oc = number_at(*this, a, i + 1), k = number_at(*this, a, i + 2);
      const bool bottleneck = a.choices[i + 3] == 1;
      for (int d = 0; d < depth; ++d) {
        ir::Builder::Scope sc(b, str_cat("stage", s, ".", d));
        const int64_t stride = d == 0 ? kStrides[s] : 1, ic = b.shape(x)[1];
        ir::ValueId y;
        if (bottleneck) {
          const int64_t mid = std::max<int64_t>(8, oc / 2);
          y = conv_bn(b, x, mid, 1, 1, 1, "relu");
          y = conv_bn(b, y, mid, k, stride, 1, "relu");
          y = conv_bn(b, y, oc, 1, 1, 1, "");
        } else {
          y = conv_bn(b, x, oc, k, stride, 1, "relu");
          y = conv_bn(b, y, oc, k, 1, 1, "");
        }
        ir::ValueId shortcut = x;
        if (stride != 1 || ic != oc) {
          ir::Builder::Scope ss(b, "shortcut");
          shortcut = conv_bn(b, x, oc, 1, stride, 1, "");
        }
        x = b.relu(b.add(y, shortcut));
      }
    }
    classifier_head(b, g, x, cfg.classes);
    return g;
  }
};
}  // namespace

std::unique_ptr<SearchSpace> make_macro_space() { return std::make_unique<MacroSpace>(); }

}  // namespace leancnn::search
