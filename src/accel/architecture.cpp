// Architecture: instances, energy resolution from the table, validation, fingerprint.
#include "leancnn/accel/architecture.h"

#include <charconv>

#include "leancnn/accel/energy_table.h"
#include "leancnn/core/error.h"

namespace leancnn::accel {

const char* dataflow_name(Dataflow d) {
  switch (d) {
    case Dataflow::ws: return "ws";
    case Dataflow::is: return "is";
    case Dataflow::os: return "os";
    case Dataflow::rs: return "rs";
  }
  return "?";
}

Dataflow parse_dataflow(const std::string& text) {
  if (text == "ws" || text == "weight-stationary") return Dataflow::ws;
  if (text == "is" || text == "input-stationary") return Dataflow::is;
  if (text == "os" || text == "output-stationary") return Dataflow::os;
  if (text == "rs" || text == "row-stationary") return Dataflow::rs;
  fail(ErrorKind::bad_input, "unknown dataflow '", text, "'; expected ws, is, os or rs");
}

int64_t Architecture::instances(int level) const {
  int64_t n = 1;
  for (int i = 0; i < level && i < num_levels(); ++i) n *= levels[static_cast<size_t>(i)].fanout.instances();
  return n;
}

int Architecture::array_level() const {
  int best = num_levels() - 1;
  int64_t most = 0;
  for (int i = 0; i < num_levels(); ++i) {
    const int64_t n = levels[static_cast<size_t>(i)].fanout.instances();
    if (n > most) {
      most = n;
      best = i;
    }
  }
  return best;
}

void Architecture::resolve_energies() {
  const EnergyTable& t = accel::energy_table(energy_table);
  for (StorageLevel& l : levels) {
    const double scale = static_cast<double>(l.word_bits) * l.vector_width / 16.0;
    const double base = l.dram ? t.dram : t.sram_access(l.capacity_kb());
    if (l.read_energy < 0) l.read_energy = base * scale;
    if (l.write_energy < 0) l.write_energy = base * scale;
    if (l.update_energy < 0) l.update_energy = l.write_energy;
    if (l.fanout.hop_energy < 0) l.fanout.hop_energy = l.fanout.instances() > 1 ? t.network_hop : 0.0;
  }
  if (compute.mac_energy < 0) compute.mac_energy = t.mac;
}

void Architecture::validate() const {
  auto bad = [&](const std::string& level, const char* field, const std::string& why) {
    fail(ErrorKind::bad_input, "architecture '", name, "': level '", level, "': field '", field, "': ", why);
  };
  if (levels.empty()) fail(ErrorKind::bad_input, "architecture '", name, "': field 'levels': needs at least one storage level");
  if (levels.size() > 16) fail(ErrorKind::bad_input, "architecture '", name, "': field 'levels': at most 16 storage levels, got ", levels.size());
  for (int i = 0; i < num_levels(); ++i) {
    const StorageLevel& l = levels[static_cast<size_t>(i)];
    if (l.name.empty()) fail(ErrorKind::bad_input, "architecture '", name, "': level ", i, ": field 'name' is empty");
    for (int j = 0; j < i; ++j)
      if (levels[static_cast<size_t>(j)].name == l.name) bad(l.name, "name", "two levels share this name");
    if (l.capacity_words < 0) bad(l.name, "capacity", "must be >= 0");
    if (i > 0 && l.capacity_words == 0) bad(l.name, "capacity", "only the outermost level may be unbounded");
    if (l.word_bits < 1 || l.word_bits > 1024) bad(l.name, "word_bits", str_cat("must be in [1, 1024], got ", l.word_bits));
    if (l.vector_width < 1) bad(l.name, "vector_width", str_cat("must be >= 1, got ", l.vector_width));
    if (l.read_bandwidth < 0) bad(l.name, "read_bandwidth", "must be >= 0 (0 = unbounded)");
    if (l.write_bandwidth < 0) bad(l.name, "write_bandwidth", "must be >= 0 (0 = unbounded)");
    if (l.fanout.x < 1) bad(l.name, "fanout.x", str_cat("must be >= 1, got ", l.fanout.x));
    if (l.fanout.y < 1) bad(l.name, "fanout.y", str_cat("must be >= 1, got ", l.fanout.y));
    if (l.read_energy < 0 || l.write_energy < 0 || l.update_energy < 0 || l.fanout.hop_energy < 0)
      bad(l.name, "read_energy", "energies are unresolved (negative): call resolve_energies() first");
    if (i == 0)
      for (Operand t : kAllOperands)
        if (!l.keeps_operand(t))
          bad(l.name, "keeps", str_cat("the outermost level must keep every operand; it bypasses ", operand_name(t)));
  }
  const Compute& c = compute;
  if (c.mac_energy < 0)
    fail(ErrorKind::bad_input, "architecture '", name, "': compute: field 'mac_energy' is unresolved: call resolve_energies() first");
  if (c.native_bits < 1) fail(ErrorKind::bad_input, "architecture '", name, "': compute: field 'native_bits' must be >= 1");
  if (!(c.macs_per_cycle > 0))
    fail(ErrorKind::bad_input, "architecture '", name, "': compute: field 'macs_per_cycle' must be > 0");
  if (c.metadata_bits < 0) fail(ErrorKind::bad_input, "architecture '", name, "': compute: field 'metadata_bits' must be >= 0");
  if (c.xnor_width < 1) fail(ErrorKind::bad_input, "architecture '", name, "': compute: field 'xnor_width' must be >= 1");
  if (c.kind == ComputeKind::pim && (c.cell_bits < 1 || c.dac_bits < 1))
    fail(ErrorKind::bad_input, "architecture '", name, "': compute: fields 'cell_bits' and 'dac_bits' must be >= 1");
}

namespace {
// Appends numbers without iostreams: the fingerprint is built on every mapper call.
struct KeyWriter {
  std::string s;
  void num(double v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    s.append(buf, r.ptr);
    s += ',';
  }
  void num(int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    s.append(buf, r.ptr);
    s += ',';
  }
  void flag(bool b) { s += b ? '1' : '0'; }
  void text(const std::string& t) {
    s += t;
    s += '|';
  }
};
}  // namespace

std::string Architecture::fingerprint() const {
  KeyWriter w;
  w.s.reserve(64 + 160 * levels.size());
  w.text(name);
  w.text(dataflow_name(dataflow));
  w.text(energy_table);
  for (const StorageLevel& l : levels) {
    w.text(l.name);
    w.flag(l.dram);
    w.num(l.capacity_words);
    w.num(int64_t{l.word_bits});
    w.num(int64_t{l.vector_width});
    w.num(l.read_bandwidth);
    w.num(l.write_bandwidth);
    w.num(l.read_energy);
    w.num(l.write_energy);
    w.num(l.update_energy);
    for (bool k : l.keeps) w.flag(k);
    w.flag(l.compressed);
    w.num(l.fanout.x);
    w.num(l.fanout.y);
    w.flag(l.fanout.multicast);
    w.flag(l.fanout.reduction);
    w.num(l.fanout.hop_energy);
    for (Dim d : l.fanout.x_dims) w.s += dim_letter(d);
    w.s += ';';
    for (Dim d : l.fanout.y_dims) w.s += dim_letter(d);
    w.s += '|';
  }
  const Compute& c = compute;
  w.num(int64_t{static_cast<int>(c.kind)});
  w.num(int64_t{static_cast<int>(c.datapath)});
  w.num(c.mac_energy);
  w.num(int64_t{c.native_bits});
  w.num(c.macs_per_cycle);
  w.num(int64_t{static_cast<int>(c.sparsity)});
  w.flag(c.sparse_weights);
  w.flag(c.sparse_inputs);
  w.num(int64_t{c.metadata_bits});
  w.num(int64_t{c.xnor_width});
  w.num(int64_t{c.cell_bits});
  w.num(int64_t{c.dac_bits});
  w.num(c.dac_energy);
  w.num(c.adc_energy);
  w.num(c.cell_energy);
  return std::move(w.s);
}

Architecture architecture_from_spec(const std::string& spec) {
  auto ends_with = [&](const std::string& suffix) {
    return spec.size() >= suffix.size() && spec.compare(spec.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".yaml") || ends_with(".yml")) return load_architecture(spec);
  return preset(spec);
}

}  // namespace leancnn::accel
