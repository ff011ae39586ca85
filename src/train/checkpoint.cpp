// Checkpoint folders: ONNX model + optimizer state (own binary format) + JSON progress.
#include "leancnn/train/checkpoint.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

#include "leancnn/core/error.h"
#include "leancnn/io/file.h"
#include "leancnn/io/onnx.h"

namespace leancnn::train {

namespace fs = std::filesystem;

namespace {
constexpr char kMagic[8] = {'L', 'C', 'N', 'N', 'O', 'P', 'T', '1'};

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
}  // namespace

void save_checkpoint_model(const std::string& dir, const ir::Graph& model) {
  io::OnnxSaveOptions dense;
  dense.sparse_storage = false;
  io::save_onnx(model, dir + "/model.onnx", dense);
}

void save_checkpoint(const std::string& dir, const ir::Graph& model, const Optimizer& opt, const CheckpointState& st) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(ErrorKind::runtime, "cannot create checkpoint folder '", dir, "': ", ec.message());
  save_checkpoint_model(dir, model);

  std::string bin(kMagic, sizeof kMagic);
  put<int64_t>(bin, opt.steps());
  put<int64_t>(bin, static_cast<int64_t>(opt.state().size()));
  for (const Tensor& t : opt.state()) {
    put<int64_t>(bin, t.numel());
    bin.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  io::write_file_atomic(dir + "/optimizer.bin", bin);

  nlohmann::json j = {{"epoch", st.epoch},
                      {"best_acc", st.best_acc},
                      {"best_epoch", st.best_epoch},
                      {"optimizer", opt.options().kind},
                      {"metrics_jsonl", st.metrics_jsonl}};
  io::write_file_atomic(dir + "/state.json", j.dump(2) + "\n");  // last: marks the checkpoint complete
}

bool has_checkpoint(const std::string& dir) {
  return fs::exists(dir + "/state.json") && fs::exists(dir + "/model.onnx") && fs::exists(dir + "/optimizer.bin");
}

ir::Graph load_checkpoint_model(const std::string& dir, const ir::OpTable& ops) {
  return io::load_onnx(dir + "/model.onnx", ops);
}

CheckpointState load_checkpoint_state(const std::string& dir, Optimizer& opt) {
  const std::string state_path = dir + "/state.json", bin_path = dir + "/optimizer.bin";
  CheckpointState st;
  try {
    nlohmann::json j = nlohmann::json::parse(io::read_file(state_path));
    st.epoch = j.at("epoch").get<int64_t>();
    st.best_acc = j.at("best_acc").get<double>();
    st.best_epoch = j.at("best_epoch").get<int64_t>();
    st.metrics_jsonl = j.value("metrics_jsonl", std::string());
    if (j.value("optimizer", std::string()) != opt.options().kind)
      fail(ErrorKind::bad_input, "the checkpoint was made with optimizer '", j.value("optimizer", std::string()),
           "', this run uses '", opt.options().kind, "'");
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::bad_input, "file '", state_path, "' is not a valid checkpoint state: ", e.what());
  } catch (Error& e) {
    e.add_context("file '" + state_path + "'");
    throw;
  }
  const std::string bin = io::read_file(bin_path);
  size_t pos = 0;
  auto take = [&](void* dst, size_t n) {
    if (pos + n > bin.size()) fail(ErrorKind::bad_input, "file '", bin_path, "' is truncated");
    std::memcpy(dst, bin.data() + pos, n);
    pos += n;
  };
  char magic[8];
  take(magic, 8);
  if (std::memcmp(magic, kMagic, 8) != 0) fail(ErrorKind::bad_input, "file '", bin_path, "' is not a leancnn optimizer state");
  int64_t steps = 0, count = 0;
  take(&steps, 8);
  take(&count, 8);
  auto& state = opt.state();
  if (count != static_cast<int64_t>(state.size()))
    fail(ErrorKind::bad_input, "file '", bin_path, "' holds ", count, " state tensors; the optimizer has ", state.size());
  for (Tensor& t : state) {
    int64_t n = 0;
    take(&n, 8);
    if (n != t.numel()) fail(ErrorKind::bad_input, "file '", bin_path, "': a state tensor has ", n, " values, expected ", t.numel());
    take(t.raw(), t.nbytes());
  }
  if (pos != bin.size()) fail(ErrorKind::bad_input, "file '", bin_path, "' has trailing bytes");
  opt.set_steps(steps);
  return st;
}

}  // namespace leancnn::train
