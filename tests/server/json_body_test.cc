// Request bodies: typed fields, and the errors that tell clients what to fix.

#include "server/json_body.h"

#include <gtest/gtest.h>

namespace runvoy::server {
namespace {

TEST(JsonBody, IntegersMayBeWrittenAsWholeDoubles) {
  auto body = JsonBody::Parse(R"({"a": 3, "b": 4.0, "c": 18446744073709551615, "d": 2.5})");
  ASSERT_TRUE(body);
  EXPECT_EQ(*body->Integer("a").value(), 3);
  EXPECT_EQ(*body->Integer("b").value(), 4);
  EXPECT_FALSE(body->Integer("c"));
  EXPECT_FALSE(body->Integer("d"));
  EXPECT_FALSE(body->Integer("missing").value().has_value());
}

// Found by fuzz/json_body_fuzzer: the double was converted to int64_t before its range was
// checked, which is undefined behaviour (UBSan stops on it) for values like -1e300.
TEST(JsonBody, ADoubleOutOfTheIntegerRangeIsAWrongType) {
  auto body = JsonBody::Parse(R"({"memory": -1e300, "cpu": 1e19, "x": 9.3e18})");
  ASSERT_TRUE(body);
  for (const char* field : {"memory", "cpu", "x"}) {
    auto value = body->Integer(field);
    ASSERT_FALSE(value) << field;
    EXPECT_EQ(value.error().code, core::ErrorCode::kInvalidRequest);
    EXPECT_EQ(value.error().details, std::string("field \"") + field + "\" must be an integer");
  }
}

}  // namespace
}  // namespace runvoy::server
