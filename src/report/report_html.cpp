// report.html (report.h): one self-contained page — the variants table built here, the plots
// drawn by Vega-Lite from the report's data, the libraries inlined so it opens offline.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/file.h"
#include "leancnn/report/report.h"

namespace leancnn::report {

namespace {

const char* kPlotScript =
#include "report_plots.js.inc"
    ;

const char* kStyle = R"css(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
tr.front td:first-child::after { content: " \2605"; color: #c80; }
.empty { color: #888; font-style: italic; }
.scroll { overflow-x: auto; }
#errors { color: #b00; background: #fee; padding: 0.5em; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
)css";

std::string escape_html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// JavaScript placed inside <script>: "</script" (any case) would end the element early; "<\/"
// means the same inside JS strings, regular expressions and comments.
std::string escape_script(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    out += s[i];
    if (s[i] == '<' && i + 7 < s.size() && s[i + 1] == '/') {
      std::string tag = s.substr(i + 2, 6);
      for (char& c : tag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (tag == "script") out += '\\';
    }
  }
  return out;
}

// JSON placed inside <script type="application/json">: every '<' becomes \u003c (valid only
// inside JSON strings, the one place '<' can appear in JSON), so no tag can end the element.
std::string escape_json_for_script(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '<') out += "\\u003c";
    else out += c;
  }
  return out;
}

std::string fmt(const nlohmann::json& v, const char* key, const char* f, double scale = 1.0) {
  if (!v.contains(key) || !v[key].is_number()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v[key].get<double>() * scale);
  return buf;
}

std::string variants_table(const nlohmann::json& report) {
  std::vector<std::string> presets;
  for (const auto& v : report["variants"])
    for (const auto& a : v.value("accel", nlohmann::json::array()))
      if (std::find(presets.begin(), presets.end(), a.value("preset", "")) == presets.end()) presets.push_back(a.value("preset", ""));
  std::string h = "<table id=\"variants\">\n<thead><tr><th class=\"l\">variant</th><th class=\"l\">step</th><th class=\"l\">from</th>"
                  "<th>bits W/A</th><th>test acc</th><th>fake-quant acc</th><th>top-1 agreement</th><th>params</th>"
                  "<th>non-zero</th><th>file kB</th><th>gzip kB</th><th>MMACs</th><th>effective MMACs</th><th>latency ms</th>"
                  "<th>p90 ms</th><th>images/s</th>";
  for (const std::string& p : presets) h += "<th>" + escape_html(p) + " kcycles</th><th>" + escape_html(p) + " µJ</th>";
  h += "<th>step s</th></tr></thead>\n<tbody>\n";
  for (const auto& v : report["variants"]) {
    const bool front = v.value("pareto_latency", false) || v.value("pareto_size", false);
    h += front ? "<tr class=\"front\">" : "<tr>";
    std::string bits = "-";
    if (v.contains("weight_bits")) bits = std::to_string(v["weight_bits"].get<int>()) + "/" + std::to_string(v.value("activation_bits", 32));
    h += "<td class=\"l\">" + escape_html(v.value("name", "")) + "</td><td class=\"l\">" + escape_html(v.value("step", "")) +
         "</td><td class=\"l\">" + escape_html(v.value("parent", "")) + "</td><td>" + bits + "</td>";
    for (auto [k, f, s] : {std::tuple{"test_acc", "%.4f", 1.0}, {"fake_quant_acc", "%.4f", 1.0}, {"top1_agreement", "%.4f", 1.0},
                           {"params", "%.0f", 1.0}, {"nonzero_params", "%.0f", 1.0}, {"bytes", "%.1f", 1e-3},
                           {"gzip_bytes", "%.1f", 1e-3}, {"macs", "%.3f", 1e-6}, {"effective_macs", "%.3f", 1e-6}, {"latency_ms", "%.4f", 1.0},
                           {"p90_ms", "%.4f", 1.0}, {"images_per_s", "%.0f", 1.0}})
      h += "<td>" + fmt(v, k, f, s) + "</td>";
    for (const std::string& p : presets) {
      std::string cyc = "-", uj = "-";
      for (const auto& a : v.value("accel", nlohmann::json::array()))
        if (a.value("preset", "") == p) cyc = fmt(a, "cycles", "%.1f", 1e-3), uj = fmt(a, "energy_pj", "%.2f", 1e-6);
      h += "<td>" + cyc + "</td><td>" + uj + "</td>";
    }
    h += "<td>" + fmt(v, "step_seconds", "%.1f") + "</td></tr>\n";
  }
  return h + "</tbody></table>\n<p class=\"meta\">&#9733; on the Pareto front of accuracy vs latency or vs size.</p>\n";
}

// Structured-pruning variants: one table each of the layers' channels before and after.
std::string channels_tables(const nlohmann::json& report) {
  std::string h;
  for (const auto& v : report["variants"]) {
    if (!v.contains("layer_channels")) continue;
    h += "<h3>" + escape_html(v.value("name", "")) + "</h3>\n<table class=\"channels\"><thead><tr><th class=\"l\">layer</th>"
         "<th>out before</th><th>out after</th><th>in before</th><th>in after</th></tr></thead>\n<tbody>\n";
    for (const auto& l : v["layer_channels"])
      h += "<tr><td class=\"l\">" + escape_html(l.value("name", "")) + "</td><td>" + fmt(l, "out_channels_before", "%.0f") +
           "</td><td>" + fmt(l, "out_channels", "%.0f") + "</td><td>" + fmt(l, "in_channels_before", "%.0f") + "</td><td>" +
           fmt(l, "in_channels", "%.0f") + "</td></tr>\n";
    h += "</tbody></table>\n";
  }
  return h.empty() ? "<p class=\"empty\">No structured-pruning variant in this run (prune step with structured:).</p>\n" : h;
}

// The architectures on each search step's Pareto front (accuracy vs latency vs energy); the
// best one is the step's variant, the others are in the step's work folder (pareto/*.yaml).
std::string search_front_table(const nlohmann::json& report) {
  std::string h;
  for (const auto& v : report["variants"]) {
    if (!v.contains("search_pareto")) continue;
    h += str_cat("<p>", escape_html(v.value("name", "")), ": the front of ",
                 v.value("search_trajectory", nlohmann::json::array()).size(), " evaluations</p>\n");
    h += "<table class=\"search-front\"><thead><tr><th>step</th><th class=\"l\">hash</th><th class=\"l\">architecture</th>"
         "<th>val acc</th><th>test acc</th><th>latency ms</th><th>energy µJ</th><th>MMACs</th><th>params</th></tr></thead><tbody>\n";
    for (const auto& p : v["search_pareto"])
      h += str_cat("<tr><td>", fmt(p, "step", "%.0f"), "</td><td class=\"l\">", escape_html(p.value("arch_hash", "").substr(0, 12)),
                   "</td><td class=\"l\">", escape_html(p.value("summary", "")), "</td><td>", fmt(p, "val_acc", "%.4f"),
                   "</td><td>", fmt(p, "test_acc", "%.4f"), "</td><td>", fmt(p, "latency_ms", "%.4f"), "</td><td>",
                   fmt(p, "energy_pj", "%.3f", 1e-6), "</td><td>", fmt(p, "macs", "%.3f", 1e-6), "</td><td>",
                   fmt(p, "params", "%.0f"), "</td></tr>\n");
    if (v.contains("search_reference")) {  // the zoo model trained the same way (search step's reference:)
      const nlohmann::json& p = v["search_reference"];
      h += str_cat("<tr class=\"reference\"><td>ref</td><td class=\"l\"></td><td class=\"l\">", escape_html(p.value("model", "")),
                   " (reference, same training)</td><td>", fmt(p, "val_acc", "%.4f"), "</td><td>", fmt(p, "test_acc", "%.4f"),
                   "</td><td>", fmt(p, "latency_ms", "%.4f"), "</td><td>", fmt(p, "energy_pj", "%.3f", 1e-6), "</td><td>",
                   fmt(p, "macs", "%.3f", 1e-6), "</td><td>", fmt(p, "params", "%.0f"), "</td></tr>\n");
    }
    h += "</tbody></table>\n";
  }
  return h;
}

std::string read_lib(const std::string& dir, const std::string& rel) {
  const std::string path = (std::filesystem::path(dir) / rel).string();
  if (!std::filesystem::is_regular_file(path))
    fail(ErrorKind::runtime, "report.html needs '", path, "' (Vega-Lite, inlined into the page): run scripts/install-web.sh, "
         "or set LEANCNN_WEB_DIR to a node_modules folder holding vega, vega-lite and vega-embed");
  return io::read_file(path);
}

}  // namespace

std::string web_dir() {
  const char* env = std::getenv("LEANCNN_WEB_DIR");
  if (env && *env) return env;
  return LEANCNN_WEB_DIR_DEFAULT;
}

WebLibs load_web_libs(const std::string& dir_in) {
  WebLibs w;
  w.dir = dir_in.empty() ? web_dir() : dir_in;
  w.vega = read_lib(w.dir, "vega/build/vega.min.js");
  w.vega_lite = read_lib(w.dir, "vega-lite/build/vega-lite.min.js");
  w.vega_embed = read_lib(w.dir, "vega-embed/build/vega-embed.min.js");
  return w;
}

std::string render_html(const Json& report_json, const WebLibs& libs) {
  const nlohmann::json& report = native(report_json);
  const nlohmann::json& recipe = report.value("recipe", nlohmann::json::object());
  std::string model = "?";
  if (recipe.contains("model")) model = recipe["model"].value("zoo", recipe["model"].value("file", "?"));
  std::string h = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>leancnn report: " +
                  escape_html(model) + "</title>\n<style>" + kStyle + "</style>\n";
  h += "<script>" + escape_script(libs.vega) + "</script>\n";
  h += "<script>" + escape_script(libs.vega_lite) + "</script>\n";
  h += "<script>" + escape_script(libs.vega_embed) + "</script>\n</head>\n<body>\n";
  h += "<h1>leancnn report</h1>\n<p class=\"meta\">model " + escape_html(model) + " &middot; recipe " +
       escape_html(recipe.value("source", "?")) + " &middot; generated " + escape_html(report.value("generated_utc", "?")) +
       " &middot; run " + fmt(report, "run_seconds", "%.0f") + " s &middot; folder " + escape_html(report.value("out_dir", "?")) +
       "</p>\n<pre id=\"errors\" hidden></pre>\n";
  h += "<h2>Variants</h2>\n<div class=\"scroll\">" + variants_table(report) + "</div>\n";
  h += "<h2>Accuracy vs latency</h2>\n<div id=\"plot-acc-latency\" class=\"plot\"></div>\n";
  h += "<h2>Accuracy vs size</h2>\n<div id=\"plot-acc-size\" class=\"plot\"></div>\n";
  h += "<h2>Per-layer CPU latency</h2>\n<div id=\"plot-layer-latency\" class=\"plot\"></div>\n";
  h += "<h2>Per-layer accelerator energy</h2>\n<div id=\"plot-layer-energy\" class=\"plot\"></div>\n";
  h += "<h2>Per-layer quantization sensitivity</h2>\n<div id=\"plot-sensitivity\" class=\"plot\"></div>\n";
  h += "<h2>Per-layer weight sparsity</h2>\n<div id=\"plot-layer-sparsity\" class=\"plot\"></div>\n";
  h += "<h2>Per-layer channels (structured pruning)</h2>\n<div class=\"scroll\">" + channels_tables(report) + "</div>\n";
  h += "<h2>Architecture search: trajectory</h2>\n<div id=\"plot-search-trajectory\" class=\"plot\"></div>\n";
  h += "<h2>Architecture search: Pareto front</h2>\n<div id=\"plot-search-front\" class=\"plot\"></div>\n";
  h += search_front_table(report);
  h += "<h2>Steps: settings and diagnostics</h2>\n";
  for (const auto& v : report["variants"]) {
    nlohmann::json d = {{"settings", v.value("settings", nlohmann::json::object())},
                        {"diagnostics", v.value("diagnostics", nlohmann::json::object())}};
    h += "<details><summary>" + escape_html(v.value("name", "")) + " (" + escape_html(v.value("step", "")) + ")</summary><pre>" +
         escape_html(d.dump(2)) + "</pre></details>\n";
  }
  h += "<script type=\"application/json\" id=\"report-data\">" + escape_json_for_script(report.dump()) + "</script>\n";
  h += std::string("<script>") + kPlotScript + "</script>\n</body>\n</html>\n";
  return h;
}

}  // namespace leancnn::report
