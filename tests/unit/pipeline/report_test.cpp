// report.json's keys, the Pareto flags, the summary table and the HTML page (structure and
// escaping; rendering in a browser is tested in tests/integration/pipeline_test.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "leancnn/core/error.h"
#include "leancnn/core/json_native.h"
#include "leancnn/io/file.h"
#include "leancnn/report/report.h"

namespace leancnn::report {
namespace {

pipeline::RunResult fake_run() {
  pipeline::RunResult run;
  run.recipe = from_native({{"source", "r.yaml"}, {"model", {{"zoo", "small_cnn"}}}});
  run.out_dir = "runs/x";
  run.data_sha256 = "d";
  run.seconds = 12.5;
  auto add = [&](const std::string& name, const std::string& kind, double acc, double ms, int64_t bytes) {
    pipeline::VariantResult v;
    v.name = name;
    v.kind = kind;
    v.file = name + ".onnx";
    v.evaluated = true;
    v.evaluation = from_native(
        {{"test_acc", acc}, {"latency_ms", ms}, {"p90_ms", ms * 1.1}, {"images_per_s", 1000 / ms},
         {"bytes", bytes}, {"params", 1000}, {"nonzero_params", 990}, {"macs", 4000000},
         {"effective_macs", 3960000}, {"weight_bits", kind == "quantize" ? 8 : 32},
         {"activation_bits", kind == "quantize" ? 8 : 32},
         {"latency_layers", {{{"name", "conv1"}, {"op", "Conv"}, {"kernel", "k"}, {"macs", 10}, {"time_ms", 0.1}}}},
         {"accel", {{{"preset", "eyeriss-like"}, {"cycles", 5000}, {"energy_pj", 2e6},
                     {"layers", {{{"name", "conv1"}, {"cycles", 5000}, {"energy_pj", 2e6}}}}}}}});
    run.variants.push_back(v);
  };
  pipeline::VariantResult input;
  input.name = "input";
  input.kind = "input";
  run.variants.push_back(input);  // not evaluated: no row
  add("train", "train", 0.90, 0.20, 100000);
  add("quantize", "quantize", 0.895, 0.15, 30000);
  add("slow", "finetune", 0.85, 0.30, 100000);  // dominated on both plots
  run.variants.back().diagnostics = from_native({{"sensitivity", {{"layers", {{{"layer", "conv1"}, {"drop", 0.01}}}}}}});
  return run;
}

WebLibs fake_libs() { return {"/x", "/*vega*/ var s = '</script>';", "/*vega-lite*/", "/*vega-embed*/"}; }

TEST(Pareto, Front) {
  // (cost, accuracy): 1 dominates 3; 0 and 1 trade off; 2 ties 0's cost with less accuracy.
  const auto f = pareto_front({{1.0, 0.8}, {2.0, 0.9}, {1.0, 0.7}, {3.0, 0.85}});
  EXPECT_EQ(f, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(pareto_front({}).size(), 0u);
  EXPECT_EQ(pareto_front({{1, 1}, {1, 1}}), (std::vector<size_t>{0, 1}));  // equal points both stay
}

TEST(ReportJson, StableKeysPerVariant) {
  const Json report = build_report(fake_run());
  const nlohmann::json& r = native(report);
  EXPECT_EQ(r["format"], "leancnn.report");
  EXPECT_EQ(r["version"], kReportVersion);
  for (const char* k : {"generated_utc", "recipe", "out_dir", "data_sha256", "run_seconds", "machine", "variants"})
    EXPECT_TRUE(r.contains(k)) << k;
  ASSERT_EQ(r["variants"].size(), 3u);
  for (const auto& v : r["variants"]) {
    for (const char* k : {"name", "step", "parent", "file", "settings_file", "sha256", "settings", "reused", "eval_reused",
                          "step_seconds", "diagnostics", "test_acc", "latency_ms", "p90_ms", "images_per_s", "bytes",
                          "params", "nonzero_params", "macs", "effective_macs", "accel", "pareto_latency", "pareto_size"})
      EXPECT_TRUE(v.contains(k)) << k;
  }
  EXPECT_TRUE(r["variants"][0]["pareto_latency"]);   // train: most accurate
  EXPECT_TRUE(r["variants"][1]["pareto_latency"]);   // quantize: fastest
  EXPECT_FALSE(r["variants"][2]["pareto_latency"]);  // slow: dominated
  EXPECT_TRUE(r["variants"][1]["pareto_size"]);
  EXPECT_FALSE(r["variants"][2]["pareto_size"]);
}

// A prune variant's per-layer sparsity (the step's prune_layers) becomes the stable key
// layer_sparsity; other variants have none; the page gets the per-layer sparsity plot.
TEST(ReportJson, PruneVariantsCarryTheirPerLayerSparsity) {
  pipeline::RunResult run = fake_run();
  pipeline::VariantResult v;
  v.name = "prune";
  v.kind = "prune";
  v.evaluated = true;
  v.evaluation = from_native({{"test_acc", 0.88}});
  v.diagnostics = from_native({{"prune_layers",
                                {{{"layer", "conv1"}, {"params", 100}, {"nonzero_params", 70}, {"sparsity", 0.3}, {"target", 0.3}},
                                 {{"layer", "fc1"}, {"params", 1000}, {"nonzero_params", 100}, {"sparsity", 0.9}, {"target", 0.9}}}}});
  run.variants.push_back(v);
  const Json report = build_report(run);
  const nlohmann::json& r = native(report);
  const nlohmann::json& p = r["variants"].back();
  ASSERT_TRUE(p.contains("layer_sparsity"));
  ASSERT_EQ(p["layer_sparsity"].size(), 2u);
  EXPECT_EQ(p["layer_sparsity"][1]["name"], "fc1");
  EXPECT_EQ(p["layer_sparsity"][1]["nonzero_params"], 100);
  EXPECT_DOUBLE_EQ(p["layer_sparsity"][1]["sparsity"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(p["layer_sparsity"][0]["target"].get<double>(), 0.3);
  EXPECT_FALSE(r["variants"][0].contains("layer_sparsity"));
  const std::string h = render_html(report, fake_libs());
  EXPECT_NE(h.find("<div id=\"plot-layer-sparsity\""), std::string::npos);
  EXPECT_NE(h.find("perLayer(sparsityRows, 'sparsity'"), std::string::npos);
}

TEST(ReportJson, MissingFiguresMeanNotOnTheFront) {
  Json report = from_native({{"variants", {{{"name", "a"}, {"test_acc", 0.5}}}}});
  mark_pareto(report);
  const nlohmann::json& r = native(report);
  EXPECT_FALSE(r["variants"][0]["pareto_latency"]);
  EXPECT_FALSE(r["variants"][0]["pareto_size"]);
}

TEST(SummaryTable, HasEveryVariantAndPreset) {
  const std::string t = summary_table(build_report(fake_run()));
  for (const char* s : {"variant", "train", "quantize", "slow", "0.8950", "eyeriss-like kcycles", "8/8", "32/32"})
    EXPECT_NE(t.find(s), std::string::npos) << s << "\n" << t;
  EXPECT_EQ(t.find("input"), std::string::npos);
}

TEST(ReportHtml, SelfContainedWithTableAndPlots) {
  const std::string h = render_html(build_report(fake_run()), fake_libs());
  for (const char* s : {"<!doctype html>", "<table id=\"variants\">", "plot-acc-latency", "plot-acc-size", "plot-layer-latency",
                        "plot-layer-energy", "plot-sensitivity", "id=\"report-data\"", "/*vega*/", "/*vega-lite*/",
                        "/*vega-embed*/", "vegaEmbed("})
    EXPECT_NE(h.find(s), std::string::npos) << s;
  // Nothing is fetched: no external script or stylesheet.
  EXPECT_EQ(h.find("<script src"), std::string::npos);
  EXPECT_EQ(h.find("<link"), std::string::npos);
  // The library text's "</script>" is escaped; the only closing tags are ours.
  EXPECT_NE(h.find("'<\\/script>'"), std::string::npos);
  size_t closes = 0;
  for (size_t p = h.find("</script>"); p != std::string::npos; p = h.find("</script>", p + 1)) ++closes;
  EXPECT_EQ(closes, 5u);  // three libraries, the data, the plot script
}

// A search variant's front, with the search's reference model as a row of its own.
TEST(ReportHtml, SearchFrontShowsTheReference) {
  pipeline::RunResult run = fake_run();
  const nlohmann::json point = {{"step", 1}, {"arch_hash", "abcdef0123456789"}, {"summary", "d1w8 k3e1"}, {"val_acc", 0.86},
                                {"test_acc", 0.85}, {"latency_ms", 0.033}, {"energy_pj", 4e7}, {"macs", 1200000},
                                {"params", 30000}, {"ok", true}};
  nlohmann::json ref = point;
  ref["model"] = "small_cnn";
  ref["val_acc"] = 0.849;
  run.variants[2].diagnostics = from_native({{"search_trajectory", {point}}, {"search_pareto", {point}}, {"reference", ref}});
  const nlohmann::json rep = native(build_report(run));
  EXPECT_EQ(rep["variants"][1]["search_reference"]["model"], "small_cnn");
  const std::string h = render_html(from_native(rep), fake_libs());
  EXPECT_NE(h.find("d1w8 k3e1"), std::string::npos);
  EXPECT_NE(h.find("small_cnn (reference, same training)</td><td>0.8490"), std::string::npos);
}

TEST(ReportHtml, DataIsEscapedInsideTheScriptElement) {
  pipeline::RunResult run = fake_run();
  run.variants[1].settings = from_native({{"note", "</script><script>alert(1)</script>"}});
  const std::string h = render_html(build_report(run), fake_libs());
  EXPECT_EQ(h.find("alert(1)</script>"), std::string::npos);
  EXPECT_NE(h.find("\\u003c/script>\\u003cscript>alert(1)"), std::string::npos);
  EXPECT_NE(h.find("&lt;/script&gt;&lt;script&gt;alert(1)"), std::string::npos);  // in the details section
}

TEST(ReportFiles, WriteReadAndErrors) {
  const std::string dir = ::testing::TempDir() + "/report_files";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const Json r = build_report(fake_run());
  write_report(dir, r, fake_libs());
  EXPECT_TRUE(std::filesystem::is_regular_file(dir + "/report.html"));
  EXPECT_EQ(read_report(dir), r);

  auto bad = [&](const std::string& text, const char* expect) {
    io::write_file_atomic(dir + "/report.json", text);
    try {
      read_report(dir);
      ADD_FAILURE() << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::bad_input);
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    }
  };
  bad("{not json", "not valid JSON");
  bad("{\"format\": \"other\"}", "is not a leancnn report");
  bad("{\"format\": \"leancnn.report\", \"version\": 99, \"variants\": []}", "version 99");
  EXPECT_THROW(read_report(dir + "/missing"), Error);
}

TEST(WebLibs, MissingFolderIsAClearError) {
  try {
    load_web_libs("/nonexistent/web");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("scripts/install-web.sh"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/nonexistent/web/vega/build/vega.min.js"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace leancnn::report
