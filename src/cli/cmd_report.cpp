// `leancnn report DIR`: rebuilds DIR/report.html from DIR/report.json (the output of `leancnn run`).
#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.h"
#include "leancnn/core/json_native.h"
#include "leancnn/report/report.h"

namespace leancnn::cli {

namespace {
int run_report(const std::string& dir, const CommonOptions& common) {
  const Json rep = report::read_report(dir);
  const report::WebLibs libs = report::load_web_libs();
  report::write_report(dir, rep, libs);
  if (common.json)
    std::cout << nlohmann::json{{"report_html", dir + "/report.html"}, {"variants", native(rep)["variants"].size()}}.dump(2) << "\n";
  else
    std::cout << report::summary_table(rep) << "\nwrote " << dir << "/report.html\n";
  return 0;
}
}  // namespace

Runner register_report(CLI::App& app, CommonOptions& common) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("report", "Rebuild DIR/report.html from DIR/report.json (the output of `leancnn run`)");
  cmd->add_option("dir", *dir, "Output folder of `leancnn run`")->required();
  add_common_options(*cmd, common);
  cmd->footer(
      "The page inlines Vega, Vega-Lite and vega-embed from third_party/web/node_modules (scripts/install-web.sh) "
      "or from $LEANCNN_WEB_DIR. report.json's keys: docs/report.md.");
  return [dir, &common] { return run_report(*dir, common); };
}

}  // namespace leancnn::cli
