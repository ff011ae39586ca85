// The op table: every op leancnn knows, one explicit list (op_table.cpp).
#pragma once
#include "leancnn/ir/op_schema.h"

namespace leancnn::ops {

// Built once; safe to call from anywhere.
const ir::OpTable& op_table();

}  // namespace leancnn::ops
