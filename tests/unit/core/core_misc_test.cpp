// Errors, logging switches, RNG repeatability, CPU features and threads.
#include <gtest/gtest.h>

#include <cstdlib>

#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/core/log.h"
#include "leancnn/core/rng.h"
#include "leancnn/core/tensor.h"

namespace leancnn {
namespace {

TEST(Error, CarriesKindAndContext) {
  try {
    try {
      fail(ErrorKind::bad_input, "field 'dims' must be positive");
    } catch (Error& e) {
      e.add_context("node 'conv1' (Conv)");
      e.add_context("file 'm.onnx'");
      throw;
    }
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_STREQ(e.what(), "file 'm.onnx': node 'conv1' (Conv): field 'dims' must be positive");
    EXPECT_EQ(exit_code(e.kind()), 3);
  }
  EXPECT_EQ(exit_code(ErrorKind::usage), 2);
  EXPECT_EQ(exit_code(ErrorKind::runtime), 1);
}

TEST(Log, ChannelsFromEnvironment) {
  setenv("LEANCNN_VERBOSE", "dispatch,exec", 1);
  log::reload();
  EXPECT_TRUE(log::enabled("dispatch"));
  EXPECT_TRUE(log::enabled("exec"));
  EXPECT_FALSE(log::enabled("train"));
  setenv("LEANCNN_VERBOSE", "all", 1);
  log::reload();
  EXPECT_TRUE(log::enabled("train"));
  unsetenv("LEANCNN_VERBOSE");
  log::reload();
  EXPECT_FALSE(log::enabled("dispatch"));
}

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs = differs || x != c.next_u64();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, DistributionsHaveTheRightMoments) {
  Rng r(1);
  double su = 0, sn = 0, sn2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    float u = r.uniform();
    ASSERT_GE(u, 0.f);
    ASSERT_LT(u, 1.f);
    su += u;
    double g = r.normal();
    sn += g;
    sn2 += g * g;
  }
  EXPECT_NEAR(su / n, 0.5, 0.01);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
  for (int i = 0; i < 1000; ++i) {
    int64_t k = r.below(7);
    ASSERT_GE(k, 0);
    ASSERT_LT(k, 7);
  }
}

TEST(Cpu, FeaturesAndThreads) {
  const CpuFeatures& f = cpu_features();
  EXPECT_FALSE(f.summary().empty());
  if (f.avx2) {
    EXPECT_TRUE(f.sse42);
  }
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  set_num_threads(0);
  EXPECT_EQ(num_threads(), num_cores());
}

// A ThreadScope sets the calling thread's count for its life and restores what it found.
TEST(Cpu, ThreadScopeSetsAndRestores) {
  const int before = num_threads();
  {
    const ThreadScope one(1);
    EXPECT_EQ(num_threads(), 1);
    {
      const ThreadScope unchanged(0);
      EXPECT_EQ(num_threads(), 1);
    }
    EXPECT_EQ(num_threads(), 1);
  }
  EXPECT_EQ(num_threads(), before);
}

TEST(Cpu, IsaCapTurnsOffEverythingAboveIt) {
  CpuFeatures all;
  all.sse42 = all.avx2 = all.fma = all.f16c = all.popcnt = all.avx512f = all.avx512bw = all.avx512vnni = all.avx_vnni =
      true;
  const CpuFeatures avx2 = cap_cpu_features(all, CpuIsa::avx2);
  EXPECT_TRUE(avx2.avx2 && avx2.fma && avx2.f16c && avx2.sse42 && avx2.popcnt);
  EXPECT_FALSE(avx2.avx512f || avx2.avx512bw || avx2.avx512vnni || avx2.avx_vnni);
  const CpuFeatures avx512 = cap_cpu_features(all, CpuIsa::avx512);
  EXPECT_TRUE(avx512.avx512f && avx512.avx512bw && avx512.avx_vnni);
  EXPECT_FALSE(avx512.avx512vnni);
  EXPECT_FALSE(cap_cpu_features(all, CpuIsa::avx2_vnni).avx512f);
  EXPECT_TRUE(cap_cpu_features(all, CpuIsa::avx2_vnni).avx_vnni);
  EXPECT_FALSE(cap_cpu_features(all, CpuIsa::sse42).avx2);
  EXPECT_EQ(cap_cpu_features(all, CpuIsa::all).summary(), all.summary());
  // The cap never adds what the CPU lacks.
  EXPECT_FALSE(cap_cpu_features(CpuFeatures{}, CpuIsa::all).avx2);
}

TEST(Cpu, IsaNamesParseAsOneDnnSpellsThemToo) {
  CpuIsa isa = CpuIsa::all;
  ASSERT_TRUE(parse_cpu_isa("AVX2", &isa));
  EXPECT_EQ(isa, CpuIsa::avx2);
  ASSERT_TRUE(parse_cpu_isa("avx512_core_vnni", &isa));
  EXPECT_EQ(isa, CpuIsa::avx512_vnni);
  ASSERT_TRUE(parse_cpu_isa("AVX512_CORE", &isa));
  EXPECT_EQ(isa, CpuIsa::avx512);
  ASSERT_TRUE(parse_cpu_isa("sse41", &isa));
  EXPECT_EQ(isa, CpuIsa::sse42);
  EXPECT_FALSE(parse_cpu_isa("avx3", &isa));
  for (CpuIsa i : {CpuIsa::sse42, CpuIsa::avx2, CpuIsa::avx2_vnni, CpuIsa::avx512, CpuIsa::avx512_vnni, CpuIsa::all}) {
    CpuIsa back = CpuIsa::sse42;
    ASSERT_TRUE(parse_cpu_isa(cpu_isa_name(i), &back)) << cpu_isa_name(i);
    EXPECT_EQ(back, i);
  }
}

// The features leancnn dispatches on are the detected ones under the cap in force (the suite
// runs natively and under LEANCNN_MAX_CPU_ISA=avx2).
TEST(Cpu, DispatchFeaturesAreTheDetectedOnesUnderTheCap) {
  EXPECT_EQ(cpu_features().summary(), cap_cpu_features(detected_cpu_features(), max_cpu_isa()).summary());
  if (max_cpu_isa() <= CpuIsa::avx2) {
    EXPECT_FALSE(cpu_features().avx512f);
    EXPECT_FALSE(cpu_features().avx512vnni);
  }
}

}  // namespace
}  // namespace leancnn
