// ONNX model files: save an ir::Graph as ONNX (ai.onnx opset 14, plus domain "ai.leancnn"
// version 1 for leancnn's own ops) and load one back, validated, shape-inferred and verified.
// The format rules (opsets, the symbolic batch dim, how trainable flags are recovered) are in
// docs/formats.md, section "ONNX files". No protobuf type appears in this header.
#pragma once
#include <cstdint>
#include <string>

#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::io {

// The ai.onnx opset every file is written with (14: HardSwish, Reshape's allowzero and
// BatchNormalization's training_mode first appear there) and the ai.leancnn opset version.
inline constexpr int64_t kOnnxOpset = 14;
inline constexpr int64_t kLeancnnOpset = 1;
// Opsets of ai.onnx that load_onnx reads: the op set leancnn has means the same in all of them.
inline constexpr int64_t kOnnxMinReadOpset = 13;
inline constexpr int64_t kOnnxMaxReadOpset = 17;

struct OnnxSaveOptions {
  // Writes dim 0 of every graph input, and of every graph output of rank >= 1, as the symbolic
  // dim "N" (dim_param) so that other runtimes accept any batch; false writes the graph's dims.
  bool symbolic_batch = true;
  std::string doc_string;  // ModelProto.doc_string (empty: none)
};

// Writes g to path atomically: a temporary file in the same folder, flushed to disk, then
// renamed over path. On any failure the temporary file is removed, an existing file at path
// is untouched, and Error is thrown: bad_input when the graph cannot be written as ONNX (a b1
// initializer or input), runtime when the file system fails.
// Nodes are written in topological order with their names and attributes; initializers as
// raw_data (little-endian); the names of the trainable initializers in metadata_props under
// "leancnn.trainable" (ONNX itself has no such flag).
void save_onnx(const ir::Graph& g, const std::string& path, const OnnxSaveOptions& options = {});

// Reads, converts, infers shapes (ir::infer_shapes) and verifies (ir::verify) an ONNX model.
// Accepts ai.onnx opsets kOnnxMinReadOpset..kOnnxMaxReadOpset; Constant nodes become
// initializers, Identity nodes are removed, initializers also listed as graph inputs are
// initializers, and a symbolic or unknown dim 0 of a graph input becomes 1 (executors accept
// any batch). Trainable flags come from the "leancnn.trainable" list when the file has one,
// else from the rule: a float initializer read in one of its consumer's
// OpSchema::trainable_inputs slots (Conv/Gemm weight and bias, BatchNormalization scale and
// bias) is trainable. Every problem, including a truncated, malformed or non-ONNX file, throws
// Error(bad_input) whose context names the file and, where one is at fault, the node
// ("file 'm.onnx': node 'conv1' (Conv): ...").
ir::Graph load_onnx(const std::string& path, const ir::OpTable& ops);

// Runs libonnx's checker (onnx::checker::check_model) and strict shape and type inference on a
// file, as Python's check_model(full_check=True) does; returns "" when both pass and libonnx's
// message otherwise. libonnx has no schemas for ai.leancnn and skips nodes of domains it does
// not know, so for such a model it checks the ai.onnx part only.
std::string onnx_check(const std::string& path);

}  // namespace leancnn::io
