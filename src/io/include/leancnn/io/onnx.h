// ONNX model files: save an ir::Graph as ONNX (ai.onnx opset 14, plus domain "ai.leancnn"
// version 1 for leancnn's own ops) and load one back, validated, shape-inferred and verified.
// The format rules (opsets, the symbolic batch dim, how trainable flags are recovered) are in
// docs/formats.md, section "ONNX files"; what the importer reads and rewrites, in docs/onnx.md.
// No protobuf type appears in this header.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"
#include "leancnn/ir/op_schema.h"

namespace leancnn::io {

// The ai.onnx opset every file is written with (14: HardSwish, Reshape's allowzero and
// BatchNormalization's training_mode first appear there) and the ai.leancnn opset version.
inline constexpr int64_t kOnnxOpset = 14;
inline constexpr int64_t kLeancnnOpset = 1;
// The smallest initializer save_onnx considers for sparse storage.
inline constexpr int64_t kSparseMinElems = 256;
// Opsets of ai.onnx that load_onnx reads. Below 13 it reads each op only in the versions it
// knows how to bring to its opset-13 meaning (docs/onnx.md lists them per op), so an old
// model loads when every op it uses has such a version.
inline constexpr int64_t kOnnxMinReadOpset = 1;
inline constexpr int64_t kOnnxMaxReadOpset = 17;

struct OnnxSaveOptions {
  // Writes dim 0 of every graph input, and of every graph output of rank >= 1, as the symbolic
  // dim "N" (dim_param) so that other runtimes accept any batch; false writes the graph's dims.
  bool symbolic_batch = true;
  // Pruned weights stored sparse: an f32, s8 or u8 initializer of rank >= 2 (weights, not
  // biases or BN parameters) and at least kSparseMinElems
  // elements whose bitmask + non-zero values take at most 3/4 of its dense bytes is written as
  // two initializers and an ai.leancnn SparseToDense node that rebuilds it (ops/sparse_storage.h),
  // so the file size shows the pruning; load_onnx turns it back into the dense initializer.
  // false writes every initializer dense (for runtimes without the ai.leancnn ops: ONNX Runtime).
  bool sparse_storage = true;
  std::string doc_string;  // ModelProto.doc_string (empty: none)
};

// Writes g to path atomically (gzip-compressed when path ends in ".gz": Deep Compression's
// coding stage, leancnn/io/gzip.h): a temporary file in the same folder, flushed to disk, then
// renamed over path. On any failure the temporary file is removed, an existing file at path
// is untouched, and Error is thrown: bad_input when the graph cannot be written as ONNX (a b1
// initializer or input), runtime when the file system fails.
// Nodes are written in topological order with their names and attributes; initializers as
// raw_data (little-endian); the names of the trainable initializers in metadata_props under
// "leancnn.trainable" (ONNX itself has no such flag).
void save_onnx(const ir::Graph& g, const std::string& path, const OnnxSaveOptions& options = {});

// Reads, converts, infers shapes (ir::infer_shapes) and verifies (ir::verify) an ONNX model.
// Accepts ai.onnx opsets kOnnxMinReadOpset..kOnnxMaxReadOpset, each op in the versions listed
// in docs/onnx.md, and brings older forms to leancnn's opset-13+ ops (attributes later opsets
// made inputs become constant inputs; Softmax's old 2-D coercion becomes Flatten + Softmax +
// Reshape). Constant nodes become initializers, Identity nodes are removed, ReduceMean over
// H and W becomes GlobalAveragePool, Squeeze/Unsqueeze of computed values become Reshape, and
// shape computations (Shape, Gather, Unsqueeze, Concat, Cast, Slice, ...) are evaluated at load
// time and replaced by constants; a Reshape shape derived from the batch size gets 0 or -1
// there so that any batch runs (the rule is in docs/onnx.md). A Pad of zeros on H and W only
// whose one reader is a Conv is folded into the Conv's pads. Initializers also listed as
// graph inputs are initializers, and a symbolic or unknown dim 0 of a graph input becomes 1
// (executors accept any batch). Trainable flags come from the "leancnn.trainable" list when
// the file has one, else from the rule: a float initializer read in one of its consumer's
// OpSchema::trainable_inputs slots (Conv/Gemm weight and bias, BatchNormalization scale and
// bias) is trainable. Every problem, including a truncated, malformed or non-ONNX file, throws
// Error(bad_input) whose context names the file and, where one is at fault, the node
// ("file 'm.onnx': node 'conv1' (Conv): ...").
struct OnnxLoadOptions {
  // Graph inputs given values at load time: each becomes a constant (folded or placed as an
  // initializer) instead of an input. For models that take at run time what leancnn needs at
  // load time (a Reshape's shape, Pad's pads, Clip's bounds, Split's sizes): dtype and every
  // static dim must match the declaration. A name that is no graph input is an error.
  std::map<std::string, Tensor> constant_inputs;
};
ir::Graph load_onnx(const std::string& path, const ir::OpTable& ops, const OnnxLoadOptions& options = {});
// load_onnx on the bytes of a model (errors carry no file name). Both read a gzip-compressed
// model (what save_onnx writes to a ".gz" path) whatever the file's name.
ir::Graph load_onnx_bytes(const std::string& bytes, const ir::OpTable& ops, const OnnxLoadOptions& options = {});

// The ai.onnx op types load_onnx reads besides those of the op table: `rewritten` are turned
// into other ops or removed (Constant, Identity, ReduceMean, Squeeze, Unsqueeze); `load_time`
// are read only inside shape computations whose inputs are known at load time (Shape, Gather,
// Cast, Slice, ...), which are folded to constants.
struct OnnxImportOps {
  std::vector<std::string> rewritten;
  std::vector<std::string> load_time;
};
OnnxImportOps onnx_import_ops();

// Runs libonnx's checker (onnx::checker::check_model) and strict shape and type inference on a
// file, as Python's check_model(full_check=True) does; returns "" when both pass and libonnx's
// message otherwise. libonnx has no schemas for ai.leancnn and skips nodes of domains it does
// not know, so for such a model it checks the ai.onnx part only.
std::string onnx_check(const std::string& path);

}  // namespace leancnn::io
