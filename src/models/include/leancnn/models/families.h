// One builder per model family (one .cpp each); zoo.cpp lists them.
#pragma once
#include "leancnn/models/zoo.h"

namespace leancnn::models {

// resnet_cifar.cpp: CIFAR-style ResNet-(6n+2) (He et al. 2016, §4.2): 3 stages of n basic
// blocks with 16/32/64 channels; projection (1×1 conv + BN) shortcuts where the shape changes.
ir::Graph resnet_cifar(const ModelConfig& cfg, const ir::OpTable& ops, int depth);

// lenet.cpp: LeNet-5 (conv 5×5 ×6, pool, conv 5×5 ×16, pool, fc 120, fc 84, fc K), ReLU.
ir::Graph lenet5(const ModelConfig& cfg, const ir::OpTable& ops);
ir::Graph small_cnn(const ModelConfig& cfg, const ir::OpTable& ops);

// vgg.cpp: a small VGG with BN (3 stages × 2 conv, 32/64/128 channels).
ir::Graph vgg_small(const ModelConfig& cfg, const ir::OpTable& ops);

// resnet_imagenet.cpp: ImageNet-style ResNet-18 (11.7 M params at 1000 classes).
ir::Graph resnet18(const ModelConfig& cfg, const ir::OpTable& ops);

// mobilenet.cpp: MobileNetV1 / V2 with a width multiplier.
ir::Graph mobilenet_v1(const ModelConfig& cfg, const ir::OpTable& ops, double width);
ir::Graph mobilenet_v2(const ModelConfig& cfg, const ir::OpTable& ops, double width);

// shufflenet.cpp: ShuffleNetV2 at width 0.5 or 1.0.
ir::Graph shufflenet_v2(const ModelConfig& cfg, const ir::OpTable& ops, double width);

// squeezenet.cpp: SqueezeNet 1.1.
ir::Graph squeezenet1_1(const ModelConfig& cfg, const ir::OpTable& ops);

}  // namespace leancnn::models
