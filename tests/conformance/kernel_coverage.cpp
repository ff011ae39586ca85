// The coverage claims, the notes of kernels run per test, and the listener that fails a test
// whose claims its notes do not prove (kernel_coverage.h).
#include "kernel_coverage.h"

#include <gtest/gtest.h>

#include <mutex>

namespace leancnn::testing {

namespace {
std::vector<CoverageClaim>& claims() {
  static std::vector<CoverageClaim> c;
  return c;
}

std::mutex& notes_mutex() {
  static std::mutex m;
  return m;
}

std::set<KernelNote>& notes() {
  static std::set<KernelNote> n;
  return n;
}

const char* verb(Coverage what) { return what == Coverage::runs ? "runs" : "makes the dispatcher ask"; }
const char* outcome(Coverage what) { return what == Coverage::runs ? "never ran" : "never declined"; }

// At the end of each test that ran (not skipped): every claim naming it must be proven by what
// the helpers noted during it. Failures added here count for the test (GoogleTest calls
// OnTestEnd before it stops attributing results to the test, and calls this listener before
// the default printer, which then reports the test as failed).
class CoverageListener : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override {
    std::lock_guard<std::mutex> lock(notes_mutex());
    notes().clear();
  }

  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (info.result() != nullptr && info.result()->Skipped()) return;
    const std::string name = std::string(info.test_suite_name()) + "." + info.name();
    std::set<KernelNote> seen;
    {
      std::lock_guard<std::mutex> lock(notes_mutex());
      seen = notes();
    }
    for (const CoverageClaim* c : unproven_claims(claims(), name, seen))
      ADD_FAILURE_AT(c->file, c->line) << "this coverage claim says that " << name << " " << verb(c->what) << " "
                                       << c->kernel << " (" << c->op_type << "), but " << c->kernel << " "
                                       << outcome(c->what) << " in it";
  }
};

[[maybe_unused]] const bool g_listener_installed = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new CoverageListener);
  return true;
}();
}  // namespace

bool register_coverage(const CoverageClaim& claim) {
  claims().push_back(claim);
  return true;
}

const std::vector<CoverageClaim>& coverage_claims() { return claims(); }

void note_kernel(const std::string& op_type, const std::string& kernel, Coverage what) {
  std::lock_guard<std::mutex> lock(notes_mutex());
  notes().insert({op_type, kernel, what});
}

bool matches_pattern(const std::string& pattern, const std::string& name) {
  // Iterative glob with backtracking to the last '*'.
  size_t p = 0, n = 0, star = std::string::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<const CoverageClaim*> unproven_claims(const std::vector<CoverageClaim>& claims, const std::string& test,
                                                  const std::set<KernelNote>& notes) {
  std::vector<const CoverageClaim*> out;
  for (const CoverageClaim& c : claims) {
    if (!matches_pattern(c.test, test)) continue;
    if (c.applies && !c.applies()) continue;
    if (!notes.count({c.op_type, c.kernel, c.what})) out.push_back(&c);
  }
  return out;
}

}  // namespace leancnn::testing
