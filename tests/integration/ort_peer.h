// ONNX Runtime as a peer for the integration tests: find node, say why the peer cannot run, and
// run a model file on one input through bench/peers/ort_run.js. Tests skip when it is absent
// (bench/peers/install.sh installs it); CI never needs it.
#pragma once
#include <unistd.h>

#include <bit>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "leancnn/core/tensor.h"

#ifndef LEANCNN_SOURCE_DIR
#error "tests/CMakeLists.txt passes the source tree as LEANCNN_SOURCE_DIR"
#endif

namespace leancnn::testing::ort {

namespace fs = std::filesystem;
static_assert(std::endian::native == std::endian::little, "raw f32 files are little-endian");

inline constexpr double kTolerance = 1e-4;  // max |a - b| / max(1, |b|), issue 4

// node on PATH, or "" when absent.
inline std::string find_node() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const fs::path p = fs::path(dir.empty() ? "." : dir) / "node";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// Why the peer cannot run ("" when it can).
inline std::string peer_missing(const std::string& node) {
  if (node.empty()) return "node is not on PATH (apt-get install nodejs; then bench/peers/install.sh)";
  const fs::path ort = fs::path(LEANCNN_SOURCE_DIR) / "bench/peers/node_modules/onnxruntime-node/package.json";
  if (!fs::exists(ort)) return "ONNX Runtime is not installed: run bench/peers/install.sh (" + ort.string() + " is absent)";
  return "";
}

inline std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "leancnn_ort_XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// In a test body: `node_var` names node on PATH, or the test is skipped saying why the peer
// cannot run.
#define LEANCNN_REQUIRE_ORT(node_var)                                                            \
  const std::string node_var = ::leancnn::testing::ort::find_node();                             \
  if (const std::string why_##node_var = ::leancnn::testing::ort::peer_missing(node_var);        \
      !why_##node_var.empty())                                                                   \
  GTEST_SKIP() << why_##node_var

// Runs `model` in ONNX Runtime on `input`; the output has `out_shape`. Fails the test with ONNX
// Runtime's message (naming the node or attribute it rejects) and returns an undefined Tensor
// when it cannot load or run the file.
inline Tensor run(const std::string& node, const fs::path& model, const Tensor& input, const Shape& out_shape,
                  const fs::path& dir, int threads) {
  const fs::path in = dir / "input.bin", out = dir / "output.bin", err = dir / "ort.err";
  {
    std::ofstream f(in, std::ios::binary);
    f.write(reinterpret_cast<const char*>(input.data<float>()), static_cast<std::streamsize>(input.numel() * sizeof(float)));
  }
  std::string shape;
  for (int64_t d : input.shape()) {
    if (!shape.empty()) shape += 'x';
    shape += std::to_string(d);
  }
  const std::string cmd = quoted(node) + " " + quoted(std::string(LEANCNN_SOURCE_DIR) + "/bench/peers/ort_run.js") + " " +
                          quoted(model.string()) + " --shape " + shape + " --threads " + std::to_string(threads) +
                          " --run " + quoted(in.string()) + " " + quoted(out.string()) + " >/dev/null 2>" +
                          quoted(err.string());
  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    ADD_FAILURE() << "ONNX Runtime failed on " << model.filename() << " (exit " << rc << "): " << read_text(err);
    return {};
  }
  Tensor dst = Tensor::empty(out_shape);
  std::ifstream f(out, std::ios::binary | std::ios::ate);
  const auto bytes = static_cast<int64_t>(f.tellg());
  if (bytes != dst.numel() * static_cast<int64_t>(sizeof(float))) {
    ADD_FAILURE() << "ONNX Runtime's output of " << model.filename() << " has " << bytes << " bytes, expected "
                  << dst.numel() * sizeof(float) << " (shape " << shape_str(out_shape) << ")";
    return {};
  }
  f.seekg(0);
  f.read(reinterpret_cast<char*>(dst.data<float>()), bytes);
  return dst;
}

}  // namespace leancnn::testing::ort
