// Which conformance test covers which fast kernel, declared beside the tests, and the checks that
// keep those claims true. kernel_coverage_test.cpp walks every op of the op table and every
// kernel of its list and fails on any kernel that no claim covers.
//
//   LEANCNN_COVERS("Shapes/ConvConformance.ForwardMatchesReference/*", "Conv", "dnnl_conv_f32");
//
// at namespace scope next to the test claims that every test whose full GoogleTest name matches
// the pattern ('*': any run of characters) runs that kernel of that op's list and compares it with
// the op's reference. Claims are registered during static initialization, so every process of the
// conformance binary holds all of them (ctest runs each test case in a process of its own).
//
// A claim cannot outlive its test: the helpers that run a kernel (run_forward*, run_backward*,
// run_forward_prepared, run_prepared, ...) note each kernel they run, and those the dispatcher
// asked before it, that declined; at the end of every test that is not skipped, a test listener
// fails the test for each claim matching its name that no note proves (a claimed kernel that never
// ran in it), naming the claim's file and line. The coverage test fails on claims whose pattern
// names no test or whose kernel is in no list.
#pragma once
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace leancnn::testing {

enum class Coverage {
  runs,      // the test runs the kernel (and compares it with the reference)
  declines,  // the test makes the dispatcher ask the kernel, which declines (a kernel that only
             // ever declines, listed so that LEANCNN_VERBOSE=dispatch says why the reference runs)
};

struct CoverageClaim {
  std::string test;             // full GoogleTest name pattern: "Prefix/Suite.Test/param", '*' wildcards
  std::string op_type;          // the op whose kernel list holds the kernel
  std::string kernel;
  Coverage what = Coverage::runs;
  bool (*applies)() = nullptr;  // null: on every CPU; else checked only where it returns true
  const char* file = "";
  int line = 0;
};

// Registers a claim (use the macros below); returns true.
bool register_coverage(const CoverageClaim& claim);
// Every claim registered in this process.
const std::vector<CoverageClaim>& coverage_claims();

struct KernelNote {
  std::string op_type, kernel;
  Coverage what;
  bool operator<(const KernelNote& o) const {
    return std::tie(op_type, kernel, what) < std::tie(o.op_type, o.kernel, o.what);
  }
};

// Records, for the test running now, that `kernel` of `op_type`'s list ran a forward or backward
// call (Coverage::runs) or declined one (Coverage::declines). Thread-safe.
void note_kernel(const std::string& op_type, const std::string& kernel, Coverage what);

// True when `name` matches `pattern`, where '*' matches any run of characters.
bool matches_pattern(const std::string& pattern, const std::string& name);

// The claims among `claims` that name `test` (and apply on this CPU) and that `notes` do not prove.
std::vector<const CoverageClaim*> unproven_claims(const std::vector<CoverageClaim>& claims, const std::string& test,
                                                  const std::set<KernelNote>& notes);

#define LEANCNN_COVERAGE_CAT2_(a, b) a##b
#define LEANCNN_COVERAGE_CAT_(a, b) LEANCNN_COVERAGE_CAT2_(a, b)
#define LEANCNN_COVERAGE_CLAIM_(test, op, kernel, what, applies)                                  \
  [[maybe_unused]] static const bool LEANCNN_COVERAGE_CAT_(leancnn_coverage_claim_, __LINE__) = \
      ::leancnn::testing::register_coverage(                                                       \
          {test, op, kernel, ::leancnn::testing::Coverage::what, applies, __FILE__, __LINE__})

// The tests matching `test` run `kernel` of `op`'s list against the reference, on every CPU.
#define LEANCNN_COVERS(test, op, kernel) LEANCNN_COVERAGE_CLAIM_(test, op, kernel, runs, nullptr)
// The same where applies() (a CPU feature the kernel or the test's data need) holds.
#define LEANCNN_COVERS_WHERE(test, op, kernel, applies) LEANCNN_COVERAGE_CLAIM_(test, op, kernel, runs, applies)
// The tests matching `test` make the dispatcher ask `kernel`, which declines.
#define LEANCNN_COVERS_DECLINE(test, op, kernel) LEANCNN_COVERAGE_CLAIM_(test, op, kernel, declines, nullptr)

}  // namespace leancnn::testing
