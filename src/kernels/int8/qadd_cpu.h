// QAdd (ai.leancnn) kernel: the op's one-pass loop, declared layout-agnostic for plans.
#pragma once
#include "leancnn/kernels/kernel.h"

namespace leancnn::kernels {

Kernel cpu_qadd_u8();  // "cpu_qadd"

}  // namespace leancnn::kernels
