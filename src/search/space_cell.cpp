// The cell space (NASNet, Zoph et al. 2018; DARTS, Liu et al. 2019): a normal and a reduction
// cell, each of kNodes intermediate nodes; node j adds two operations, each applied to one of
// the cell's two inputs (the outputs of the two cells before) or an earlier node. The cell's
// output concatenates its nodes. The network: a 3x3 stem, then cells normal x R, reduction,
// normal x R, reduction, normal x R (R and the channel count C are decisions too); reductions
// double C and apply their operations to the cell inputs at stride 2.
#include <algorithm>

#include "leancnn/core/error.h"
#include "spaces.h"

namespace leancnn::search {

namespace {
constexpr int kNodes = kCellNodes;
const char* const kCells[2] = {"normal", "reduce"};
}  // namespace

const std::vector<std::string>& cell_ops() {
  static const std::vector<std::string> ops = {"sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
                                               "max_pool_3x3", "avg_pool_3x3", "skip_connect"};
  return ops;
}

ir::ValueId cell_op(ir::Builder& b, const std::string& op, ir::ValueId x, int64_t c, int64_t stride) {
  if (op == "max_pool_3x3") return b.max_pool(x, 3, stride, 1);
  if (op == "avg_pool_3x3") return b.avg_pool(x, 3, stride, 1);
  if (op == "skip_connect") {
    if (stride == 1) return x;
    // A 1x1 strided conv where DARTS uses FactorizedReduce (two offset 1x1 convs): the same
    // shapes, one conv fewer.
    return conv_bn(b, b.relu(x), c, 1, stride, 1, "");
  }
  const int64_t k = op.find("5x5") != std::string::npos ? 5 : 3;
  if (op.rfind("sep_conv", 0) == 0) {  // ReLU, depthwise, pointwise, BN, twice (DARTS)
    ir::ValueId y = b.conv(b.relu(x), c, k, stride, -1, c, false);
    y = conv_bn(b, y, c, 1, 1, 1, "");
    y = b.conv(b.relu(y), c, k, 1, -1, c, false);
    return conv_bn(b, y, c, 1, 1, 1, "");
  }
  if (op.rfind("dil_conv", 0) != 0) fail(ErrorKind::internal, "cell space: unknown operation '", op, "'");
  // dil_conv: ReLU, depthwise at dilation 2, pointwise, BN.
  ir::ValueId y = b.conv(b.relu(x), c, k, stride, -1, c, false, 2);
  return conv_bn(b, y, c, 1, 1, 1, "");
}

ir::Graph build_cell_network(const std::string& name, int64_t channels, int64_t repeats,
                             const models::ModelConfig& cfg, const ir::OpTable& ops, const CellNodeFn& node) {
  check_input(cfg, 4, "cell");
  ir::Graph g;
  g.name = name;
  ir::Builder b(g, ops, cfg.seed);
  ir::ValueId x = b.input("input", {1, cfg.input[0], cfg.input[1], cfg.input[2]});
  int64_t c = channels;
  {
    ir::Builder::Scope sc(b, "stem");
    x = conv_bn(b, x, 2 * c, 3, 1, 1, "");
  }
  ir::ValueId s0 = x, s1 = x;
  bool reduction_prev = false;
  int index = 0;
  for (int stage = 0; stage < 3; ++stage) {
    for (int64_t r = 0; r < repeats + (stage > 0 ? 1 : 0); ++r) {
      const bool reduction = stage > 0 && r == 0;
      if (reduction) c *= 2;
      ir::Builder::Scope sc(b, str_cat("cell", index++));
      ir::ValueId p0, p1;
      {
        ir::Builder::Scope ps(b, "pre0");
        p0 = conv_bn(b, b.relu(s0), c, 1, reduction_prev ? 2 : 1, 1, "");
      }
      {
        ir::Builder::Scope ps(b, "pre1");
        p1 = conv_bn(b, b.relu(s1), c, 1, 1, 1, "");
      }
      std::vector<ir::ValueId> states = {p0, p1};
      for (int j = 0; j < kNodes; ++j) {
        ir::Builder::Scope ns(b, str_cat("node", j));
        states.push_back(node(b, reduction ? 1 : 0, j, states, c, reduction));
      }
      s0 = s1;
      s1 = b.concat(std::vector<ir::ValueId>(states.begin() + 2, states.end()), 1);
      reduction_prev = reduction;
    }
  }
  classifier_head(b, g, s1, cfg.classes);
  return g;
}

namespace {

class CellSpace final : public SearchSpace {
 public:
  CellSpace() {
    decisions_.push_back({"channels", labels({8, 12, 16})});
    decisions_.push_back({"repeats", labels({1, 2})});
    for (const char* cell : kCells)
      for (int j = 0; j < kNodes; ++j) {
        const std::string n = str_cat(cell, ".node", j);
        std::vector<int64_t> inputs;
        for (int64_t i = 0; i < j + 2; ++i) inputs.push_back(i);
        for (int e = 0; e < 2; ++e) {
          decisions_.push_back({str_cat(n, ".in", e), labels(inputs)});
          decisions_.push_back({str_cat(n, ".op", e), cell_ops()});
        }
      }
  }
  std::string name() const override { return "cell"; }
  std::string description() const override {
    return "NASNet/DARTS cells: normal and reduction cells of 3 nodes, each node two (input, op) pairs over "
           "sep/dil conv 3x3 5x5, max/avg pool, skip; channels and cells per stage";
  }

  static size_t node_base(int cell, int j) { return 2 + (static_cast<size_t>(cell) * kNodes + static_cast<size_t>(j)) * 4; }

  // A node's two (input, op) pairs are added, so their order does not matter: sort them.
  Architecture canonical(const Architecture& a) const override {
    Architecture c = a;
    for (int cell = 0; cell < 2; ++cell)
      for (int j = 0; j < kNodes; ++j) {
        const size_t i = node_base(cell, j);
        std::pair<int, int> e0{c.choices[i], c.choices[i + 1]}, e1{c.choices[i + 2], c.choices[i + 3]};
        if (e1 < e0) std::swap(e0, e1);
        c.choices[i] = e0.first, c.choices[i + 1] = e0.second, c.choices[i + 2] = e1.first, c.choices[i + 3] = e1.second;
      }
    return c;
  }

  std::string describe(const Architecture& a) const override {
    std::string out = str_cat("C", number_at(*this, a, 0), " R", number_at(*this, a, 1));
    for (int cell = 0; cell < 2; ++cell) {
      out += std::string(" | ") + kCells[cell] + ":";
      for (int j = 0; j < kNodes; ++j) {
        const size_t i = node_base(cell, j);
        out += str_cat(" [", a.choices[i], ":", cell_ops()[static_cast<size_t>(a.choices[i + 1])], " + ", a.choices[i + 2], ":",
                       cell_ops()[static_cast<size_t>(a.choices[i + 3])], "]");
      }
    }
    return out;
  }

  ir::Graph build(const Architecture& a, const models::ModelConfig& cfg, const ir::OpTable& ops) const override {
    validate(a);
    const auto node = [&](ir::Builder& b, int cell, int j, const std::vector<ir::ValueId>& states, int64_t c,
                          bool reduction) {
      const size_t i = node_base(cell, j);
      ir::ValueId sum{};
      for (int e = 0; e < 2; ++e) {
        ir::Builder::Scope es(b, str_cat("edge", e));
        const int in = a.choices[i + 2 * static_cast<size_t>(e)];
        const std::string& op = cell_ops()[static_cast<size_t>(a.choices[i + 2 * static_cast<size_t>(e) + 1])];
        const ir::ValueId y = cell_op(b, op, states[static_cast<size_t>(in)], c, reduction && in < 2 ? 2 : 1);
        sum = e == 0 ? y : b.add(sum, y);
      }
      return sum;
    };
    return build_cell_network("nas_cell", number_at(*this, a, 0), number_at(*this, a, 1), cfg, ops, node);
  }
};
}  // namespace

std::unique_ptr<SearchSpace> make_cell_space() { return std::make_unique<CellSpace>(); }

}  // namespace leancnn::search
