// Every fast kernel has a conformance case: walks every op of the op table and every kernel of
// its list (kernels::fast_kernels) and fails naming each kernel that no coverage claim
// (kernel_coverage.h) covers, each claim whose pattern names no test of this binary, and each
// claim whose kernel is in no list. The claims are proven where their tests run (the listener
// in kernel_coverage.cpp); the last test here shows that an unproven claim is caught.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "kernel_coverage.h"
#include "leancnn/kernels/impl_lists.h"
#include "leancnn/ops/op_table.h"

namespace leancnn::testing {
namespace {

struct OpRef {
  std::string domain, op_type;
};

// Every op of the table, as (domain, op type); names() spells them "Conv" or "ai.leancnn::QAdd".
std::vector<OpRef> every_op() {
  std::vector<OpRef> out;
  for (const std::string& n : ops::op_table().names()) {
    const size_t sep = n.find("::");
    out.push_back(sep == std::string::npos ? OpRef{"", n} : OpRef{n.substr(0, sep), n.substr(sep + 2)});
  }
  return out;
}

std::vector<std::string> every_test_name() {
  std::vector<std::string> out;
  const ::testing::UnitTest& u = *::testing::UnitTest::GetInstance();
  for (int i = 0; i < u.total_test_suite_count(); ++i) {
    const ::testing::TestSuite& s = *u.GetTestSuite(i);
    for (int j = 0; j < s.total_test_count(); ++j)
      out.push_back(std::string(s.name()) + "." + s.GetTestInfo(j)->name());
  }
  return out;
}

std::vector<std::string> tests_matching(const std::string& pattern, const std::vector<std::string>& tests) {
  std::vector<std::string> out;
  for (const std::string& t : tests)
    if (matches_pattern(pattern, t)) out.push_back(t);
  return out;
}

TEST(KernelCoverage, EveryFastKernelOfEveryOpHasAConformanceCase) {
  const std::vector<std::string> tests = every_test_name();
  const std::vector<CoverageClaim>& claims = coverage_claims();
  ASSERT_FALSE(claims.empty()) << "no coverage claims registered";

  // Claims name an op by its type alone: the types that have fast kernels must be unique.
  std::map<std::string, std::vector<std::string>> lists;  // op type -> its fast kernels
  for (const OpRef& op : every_op()) {
    std::vector<std::string> names;
    for (const kernels::Kernel& k : kernels::fast_kernels(op.domain, op.op_type)) names.push_back(k.name);
    if (names.empty()) continue;
    ASSERT_EQ(lists.count(op.op_type), 0u) << op.op_type << " has fast kernels in two domains";
    lists[op.op_type] = names;
  }
  ASSERT_FALSE(lists.empty());

  for (const CoverageClaim& c : claims) {
    const std::string where = std::string(c.file) + ":" + std::to_string(c.line);
    if (tests_matching(c.test, tests).empty())
      ADD_FAILURE() << where << ": the claim for " << c.kernel << " names no test of this binary: " << c.test;
    const auto it = lists.find(c.op_type);
    if (it == lists.end() || std::find(it->second.begin(), it->second.end(), c.kernel) == it->second.end())
      ADD_FAILURE() << where << ": the claim names " << c.kernel << ", which is in no kernel list of " << c.op_type;
  }

  int kernels_seen = 0;
  for (const auto& [op_type, names] : lists)
    for (const std::string& kernel : names) {
      ++kernels_seen;
      std::vector<std::string> covering;
      bool runs = false;
      for (const CoverageClaim& c : claims) {
        if (c.op_type != op_type || c.kernel != kernel) continue;
        const std::vector<std::string> m = tests_matching(c.test, tests);
        if (m.empty()) continue;
        covering.push_back(c.test + " (" + std::to_string(m.size()) + (m.size() == 1 ? " test" : " tests") + ")");
        runs = runs || c.what == Coverage::runs;
      }
      if (covering.empty())
        ADD_FAILURE() << op_type << ": kernel " << kernel
                      << " has no conformance case (no LEANCNN_COVERS claim in tests/conformance names it)";
      std::cout << op_type << " " << kernel << (covering.empty() ? " [NOT COVERED]" : runs ? "" : " [declines only]")
                << ":";
      for (const std::string& t : covering) std::cout << " " << t;
      std::cout << "\n";
    }
  std::cout << kernels_seen << " (op, kernel) pairs, " << claims.size() << " claims\n";
}

// The listener's check itself: a claim with no note of its kernel in its test is reported, one
// with the note (and the right kind of note) is not, and a claim that does not apply here is skipped.
TEST(KernelCoverage, AClaimItsTestDoesNotProveIsReported) {
  const std::vector<CoverageClaim> claims = {
      {"Suite.Runs/*", "Conv", "dnnl_conv_f32", Coverage::runs, nullptr, "a.cpp", 1},
      {"Suite.Runs/*", "Conv", "dnnl_conv_f32", Coverage::declines, nullptr, "a.cpp", 2},
      {"Suite.Runs/*", "Gemm", "dnnl_gemm_f32", Coverage::runs, [] { return false; }, "a.cpp", 3},
      {"Other.*", "Conv", "dnnl_conv_f32", Coverage::runs, nullptr, "a.cpp", 4},
  };
  const std::set<KernelNote> ran_conv = {{"Conv", "dnnl_conv_f32", Coverage::runs}};
  std::vector<const CoverageClaim*> unproven = unproven_claims(claims, "Suite.Runs/x", ran_conv);
  ASSERT_EQ(unproven.size(), 1u);
  EXPECT_EQ(unproven[0]->line, 2);  // it ran, but the claim says it declines
  unproven = unproven_claims(claims, "Suite.Runs/x", {{"FusedConv", "dnnl_conv_f32", Coverage::runs}});
  EXPECT_EQ(unproven.size(), 2u);  // a note for another op proves nothing
  EXPECT_TRUE(unproven_claims(claims, "Suite.Other", {}).empty());

  EXPECT_TRUE(matches_pattern("Shapes/A.*/max_*", "Shapes/A.Forward/max_2x2"));
  EXPECT_FALSE(matches_pattern("Shapes/A.*/max_*", "Shapes/A.Forward/avg_2x2"));
  EXPECT_TRUE(matches_pattern("A.B", "A.B"));
  EXPECT_FALSE(matches_pattern("A.B", "A.BC"));
  EXPECT_TRUE(matches_pattern("*", ""));
  EXPECT_TRUE(matches_pattern("a*b*c", "axxbyybc"));
  EXPECT_FALSE(matches_pattern("a*b*c", "axxbyyb"));
}

}  // namespace
}  // namespace leancnn::testing
