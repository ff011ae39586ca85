// Json (core/json.h): null by default, deep copies, parse errors as Error(bad_input), the text
// exactly nlohmann::json's, and the bridge (json_native.h) reading and writing in place.
#include <gtest/gtest.h>

#include "leancnn/core/error.h"
#include "leancnn/core/json.h"
#include "leancnn/core/json_native.h"

namespace leancnn {
namespace {

TEST(Json, NullByDefaultAndObject) {
  const Json j;
  EXPECT_TRUE(j.is_null());
  EXPECT_EQ(j.dump(), "null");
  EXPECT_TRUE(native(j).is_null());
  const Json o = Json::object();
  EXPECT_FALSE(o.is_null());
  EXPECT_EQ(o.dump(), "{}");
  EXPECT_FALSE(j == o);
}

TEST(Json, ParseAndDumpMatchNlohmann) {
  const std::string text = R"({"z": [1, 2.5, "x"], "a": {"b": null, "c": true}, "lr": 0.1})";
  const Json j = Json::parse(text);
  const nlohmann::json n = nlohmann::json::parse(text);
  EXPECT_EQ(j.dump(), n.dump());
  EXPECT_EQ(j.dump(2), n.dump(2));
  EXPECT_EQ(j.dump(), R"({"a":{"b":null,"c":true},"lr":0.1,"z":[1,2.5,"x"]})");  // keys sorted
  EXPECT_EQ(Json::parse(j.dump(2)), j);
}

TEST(Json, BadTextIsBadInput) {
  try {
    Json::parse("{not json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::bad_input);
    EXPECT_NE(e.message().find("not valid JSON"), std::string::npos) << e.message();
  }
}

TEST(Json, CopiesAreDeepMovesLeaveNull) {
  Json a = from_native({{"epochs", 4}});
  Json b = a;
  native(b)["epochs"] = 5;
  EXPECT_EQ(native(a)["epochs"], 4);
  EXPECT_EQ(native(b)["epochs"], 5);
  b = a;
  EXPECT_EQ(a, b);
  Json c = std::move(b);
  EXPECT_EQ(c, a);
  EXPECT_TRUE(b.is_null());  // NOLINT(bugprone-use-after-move): documented
  b = c;                     // a moved-from Json takes a new value
  EXPECT_EQ(b, a);
}

TEST(Json, NativeWritesInPlace) {
  Json j;  // null, no storage yet
  nlohmann::json& n = native(j);
  n["a"] = 1;
  n["b"] = {1, 2};
  EXPECT_EQ(j.dump(), R"({"a":1,"b":[1,2]})");
  EXPECT_EQ(&native(j), &n);  // the same storage on every call
  EXPECT_EQ(from_native(0.05).dump(), nlohmann::json(0.05).dump());
  EXPECT_TRUE(from_native(nullptr).is_null());
  EXPECT_EQ(from_native(1), from_native(1.0));  // equal as JSON values
}

}  // namespace
}  // namespace leancnn
