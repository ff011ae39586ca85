// The report of a pipeline run: report.json (one entry per variant, stable snake_case keys
// with units, docs/report.md) and report.html (self-contained: the table, and Vega-Lite plots
// whose libraries are inlined so the page opens offline), plus the terminal summary table.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "leancnn/core/json.h"
#include "leancnn/pipeline/runner.h"

namespace leancnn::report {

inline constexpr int kReportVersion = 1;

// report.json's content for a run: variants with their evaluations flattened in, the step
// diagnostics, and the Pareto flags (pareto_latency, pareto_size).
Json build_report(const pipeline::RunResult& run);

// Indices of the points on the Pareto front when minimising x (cost) and maximising y
// (accuracy): no other point is at least as good in both and better in one.
std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& cost_accuracy);

// Sets pareto_latency / pareto_size on every variant of a report (false where a figure is absent).
void mark_pareto(Json& report);

// The fixed-width table printed at the end of `leancnn run`.
std::string summary_table(const Json& report);

// The JavaScript libraries the page inlines.
struct WebLibs {
  std::string dir;  // where they were found
  std::string vega, vega_lite, vega_embed;
};
// The folder: $LEANCNN_WEB_DIR when set, else third_party/web/node_modules of the source tree.
std::string web_dir();
// Reads vega/build/vega.min.js, vega-lite/build/vega-lite.min.js and
// vega-embed/build/vega-embed.min.js. Error(runtime) naming the missing file and the fix
// (scripts/install-web.sh, or LEANCNN_WEB_DIR) when one is absent.
WebLibs load_web_libs(const std::string& dir = "");

// The page: one HTML file with the report's data, the table and the plots.
std::string render_html(const Json& report, const WebLibs& libs);

// Writes DIR/report.json and DIR/report.html (atomically).
void write_report(const std::string& dir, const Json& report, const WebLibs& libs);
// Reads DIR/report.json; Error(bad_input) naming the file when it is missing, not JSON, or not
// a leancnn report.
Json read_report(const std::string& dir);

}  // namespace leancnn::report
