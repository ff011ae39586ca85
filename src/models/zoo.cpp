// The zoo's list of models and the shared build entry point.
#include "leancnn/models/zoo.h"

#include "leancnn/core/error.h"
#include "leancnn/ir/passes.h"
#include "leancnn/models/families.h"

namespace leancnn::models {

const std::vector<ZooEntry>& zoo() {
  static const std::vector<ZooEntry> entries = {
      {"resnet20", "CIFAR-style ResNet-20 (0.27 M params at 3x32x32)",
       [](const ModelConfig& c, const ir::OpTable& o) { return resnet_cifar(c, o, 20); }},
      {"resnet32", "CIFAR-style ResNet-32",
       [](const ModelConfig& c, const ir::OpTable& o) { return resnet_cifar(c, o, 32); }},
      {"resnet56", "CIFAR-style ResNet-56",
       [](const ModelConfig& c, const ir::OpTable& o) { return resnet_cifar(c, o, 56); }},
      {"lenet5", "LeNet-5 with ReLU and max pooling", lenet5},
      {"small_cnn", "LeNet-style small CNN: 2 convs (32, 64 channels, 3x3) + 2 FC (~4 MMAC at 28x28)", small_cnn},
      {"vgg_small", "Small VGG with BN (3 stages of 2 convs, 32/64/128 channels)", vgg_small},
      {"resnet18", "ImageNet-style ResNet-18 (11.7 M params at 1000 classes)", resnet18},
      {"mobilenet_v1", "MobileNetV1 1.0x (depthwise-separable convs)",
       [](const ModelConfig& c, const ir::OpTable& o) { return mobilenet_v1(c, o, 1.0); }},
      {"mobilenet_v1_0_5", "MobileNetV1 0.5x",
       [](const ModelConfig& c, const ir::OpTable& o) { return mobilenet_v1(c, o, 0.5); }},
      {"mobilenet_v2", "MobileNetV2 1.0x (inverted residuals, ReLU6)",
       [](const ModelConfig& c, const ir::OpTable& o) { return mobilenet_v2(c, o, 1.0); }},
      {"mobilenet_v2_0_5", "MobileNetV2 0.5x",
       [](const ModelConfig& c, const ir::OpTable& o) { return mobilenet_v2(c, o, 0.5); }},
      {"shufflenet_v2_x0_5", "ShuffleNetV2 0.5x (channel split + shuffle)",
       [](const ModelConfig& c, const ir::OpTable& o) { return shufflenet_v2(c, o, 0.5); }},
      {"shufflenet_v2_x1_0", "ShuffleNetV2 1.0x",
       [](const ModelConfig& c, const ir::OpTable& o) { return shufflenet_v2(c, o, 1.0); }},
      {"squeezenet1_1", "SqueezeNet 1.1 (fire modules)", squeezenet1_1},
  };
  return entries;
}

const ZooEntry& zoo_entry(const std::string& name) {
  for (const auto& e : zoo())
    if (e.name == name) return e;
  std::string names;
  for (const auto& e : zoo()) names += (names.empty() ? "" : ", ") + e.name;
  fail(ErrorKind::usage, "unknown model '", name, "'; the zoo has: ", names);
}

ir::Graph build_model(const std::string& name, const ModelConfig& cfg, const ir::OpTable& ops) {
  if (cfg.input.size() != 3) fail(ErrorKind::usage, "--input must be CxHxW, got ", shape_str(cfg.input));
  if (cfg.classes < 1) fail(ErrorKind::usage, "--classes must be >= 1, got ", cfg.classes);
  ir::Graph g;
  try {
    g = zoo_entry(name).build(cfg, ops);
  } catch (Error& e) {
    e.add_context(str_cat("model ", name, " at input ", shape_str(cfg.input)));
    throw;
  }
  ir::verify(g, ops);
  return g;
}

Shape parse_chw(const std::string& text) {
  Shape s;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('x', start);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(start, end - start);
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos || part.size() > 9)
      fail(ErrorKind::usage, "bad input shape '", text, "': expected CxHxW such as 3x32x32");
    s.push_back(std::stoll(part));
    if (s.back() < 1) fail(ErrorKind::usage, "bad input shape '", text, "': dimensions must be >= 1");
    start = end + 1;
  }
  if (s.size() != 3) fail(ErrorKind::usage, "bad input shape '", text, "': expected 3 dimensions CxHxW");
  return s;
}

}  // namespace leancnn::models
