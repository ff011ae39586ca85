// DESIGN.md §2: public headers (src/**/include/leancnn/...) expose no third-party header. JSON
// crosses them as the opaque leancnn::Json; only the bridge, core/json_native.h, includes
// nlohmann/json.hpp, and no other public header may include the bridge.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#ifndef LEANCNN_SOURCE_DIR
#error "tests/CMakeLists.txt passes the source tree as LEANCNN_SOURCE_DIR"
#endif

namespace leancnn {
namespace {

namespace fs = std::filesystem;

// Every header under an include/ folder of src/.
std::vector<fs::path> public_headers() {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(LEANCNN_SOURCE_DIR) / "src")) {
    const fs::path& p = e.path();
    if (!e.is_regular_file() || (p.extension() != ".h" && p.extension() != ".hpp")) continue;
    const std::string s = p.generic_string();
    if (s.find("/include/") != std::string::npos) out.push_back(p);
  }
  return out;
}

TEST(PublicHeaders, NoJsonLibraryOutsideTheBridge) {
  const std::vector<fs::path> headers = public_headers();
  ASSERT_GT(headers.size(), 20u) << "no headers found under " << LEANCNN_SOURCE_DIR << "/src";
  bool saw_bridge = false;
  for (const fs::path& p : headers) {
    if (p.filename() == "json_native.h") {
      saw_bridge = true;
      continue;
    }
    std::ifstream in(p);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      EXPECT_EQ(line.find("nlohmann"), std::string::npos)
          << p.string() << ":" << n << ": a public header names nlohmann; hold a leancnn::Json (core/json.h) instead";
      if (line.rfind("#include", 0) == 0) {
        EXPECT_EQ(line.find("json_native.h"), std::string::npos)
            << p.string() << ":" << n << ": a public header includes the bridge json_native.h; include it in the .cpp";
      }
    }
  }
  EXPECT_TRUE(saw_bridge) << "core/include/leancnn/core/json_native.h not found";
}

}  // namespace
}  // namespace leancnn
