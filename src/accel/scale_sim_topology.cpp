// SCALE-Sim topology CSV rows -> convolution problems, with its output-size convention.
#include "leancnn/accel/scale_sim_topology.h"

#include <fstream>
#include <sstream>

#include "leancnn/core/error.h"

namespace leancnn::accel {

const char* output_size_name(OutputSize o) { return o == OutputSize::floor ? "floor" : "ceil"; }

OutputSize parse_output_size(const std::string& text) {
  if (text == "ceil") return OutputSize::ceil;
  if (text == "floor") return OutputSize::floor;
  fail(ErrorKind::bad_input, "unknown output size convention '", text, "'; expected ceil (SCALE-Sim) or floor (ONNX)");
}

int64_t output_extent(int64_t in, int64_t filter, int64_t stride, OutputSize rule) {
  if (rule == OutputSize::ceil) return (in - filter + stride + stride - 1) / stride;
  return (in - filter) / stride + 1;
}

Problem scale_sim_problem(const ScaleSimLayer& l, OutputSize rule) {
  const int64_t values[] = {l.ifmap_h, l.ifmap_w, l.filter_h, l.filter_w, l.channels, l.filters, l.stride_h, l.stride_w};
  for (int64_t v : values)
    if (v < 1) fail(ErrorKind::bad_input, "layer '", l.name, "': sizes, channels, filters and strides must be >= 1");
  if (l.filter_h > l.ifmap_h || l.filter_w > l.ifmap_w)
    fail(ErrorKind::bad_input, "layer '", l.name, "': filter ", l.filter_h, "x", l.filter_w, " is larger than its input ",
         l.ifmap_h, "x", l.ifmap_w);
  Problem p;
  p.name = l.name;
  p.op = "Conv";
  const bool depthwise = l.name.find("DP") != std::string::npos;
  p.dim(Dim::G) = depthwise ? l.channels : 1;
  p.dim(Dim::C) = depthwise ? 1 : l.channels;
  p.dim(Dim::M) = l.filters;
  p.dim(Dim::R) = l.filter_h;
  p.dim(Dim::S) = l.filter_w;
  p.dim(Dim::P) = output_extent(l.ifmap_h, l.filter_h, l.stride_h, rule);
  p.dim(Dim::Q) = output_extent(l.ifmap_w, l.filter_w, l.stride_w, rule);
  p.stride_h = l.stride_h;
  p.stride_w = l.stride_w;
  return p;
}

std::vector<Problem> parse_scale_sim_topology(const std::string& csv, const std::string& source, OutputSize rule) {
  std::vector<Problem> out;
  std::istringstream in(csv);
  std::string line;
  int line_no = 0;
  bool header = true;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r,") == std::string::npos) continue;
    if (header) {  // the first non-empty line names the columns
      header = false;
      continue;
    }
    std::vector<std::string> cells;
    std::stringstream row(line);
    std::string cell;
    while (std::getline(row, cell, ',')) {
      const size_t a = cell.find_first_not_of(" \t\r"), b = cell.find_last_not_of(" \t\r");
      cells.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
    }
    while (!cells.empty() && cells.back().empty()) cells.pop_back();  // SCALE-Sim's trailing comma
    if (cells.size() != 8 && cells.size() != 9)
      fail(ErrorKind::bad_input, "topology '", source, "', line ", line_no, ": expected 8 or 9 columns (Layer name, IFMAP "
           "Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides[, Stride width]), got ", cells.size());
    int64_t v[8] = {0};
    static const char* const kColumns[] = {"IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
                                           "Num Filter",   "Strides",     "Stride width"};
    for (size_t i = 1; i < cells.size(); ++i) {
      size_t used = 0;
      int64_t x = 0;
      try {
        x = std::stoll(cells[i], &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != cells[i].size())
        fail(ErrorKind::bad_input, "topology '", source, "', line ", line_no, ", column ", i + 1, " (", kColumns[i - 1],
             "): '", cells[i], "' is not an integer");
      v[i - 1] = x;
    }
    ScaleSimLayer l;
    l.name = cells[0].empty() ? "layer" + std::to_string(out.size()) : cells[0];
    l.ifmap_h = v[0];
    l.ifmap_w = v[1];
    l.filter_h = v[2];
    l.filter_w = v[3];
    l.channels = v[4];
    l.filters = v[5];
    l.stride_h = v[6];
    l.stride_w = cells.size() == 9 ? v[7] : v[6];
    try {
      out.push_back(scale_sim_problem(l, rule));
    } catch (Error& e) {
      e.add_context(str_cat("topology '", source, "', line ", line_no));
      throw;
    }
  }
  if (out.empty()) fail(ErrorKind::bad_input, "topology '", source, "': no layer rows");
  return out;
}

std::vector<Problem> load_scale_sim_topology(const std::string& path, OutputSize rule) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(ErrorKind::bad_input, "topology '", path, "': cannot open the file");
  std::ostringstream s;
  s << f.rdbuf();
  return parse_scale_sim_topology(s.str(), path, rule);
}

}  // namespace leancnn::accel
