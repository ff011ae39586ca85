// One builder per model family (one .cpp each); zoo.cpp lists them.
#pragma once
#include "leancnn/models/zoo.h"

namespace leancnn::models {

// resnet_cifar.cpp: CIFAR-style ResNet-(6n+2) (He et al. 2016, §4.2): 3 stages of n basic
// blocks with 16/32/64 channels; projection (1×1 conv + BN) shortcuts where the shape changes.
ir::Graph resnet_cifar(const ModelConfig& cfg, const ir::OpTable& ops, int depth);

// lenet.cpp: LeNet-5 (conv 5×5 ×6, pool, conv 5×5 ×16, pool, fc 120, fc 84, fc K), ReLU.
ir::Graph lenet5(const ModelConfig& cfg, const ir::OpTable& ops);

}  // namespace leancnn::models
