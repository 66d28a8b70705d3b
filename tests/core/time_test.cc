#include "core/time.h"

#include <gtest/gtest.h>

namespace runvoy::core {
namespace {

TEST(Time, Rfc3339RoundTripsWithAndWithoutMilliseconds) {
  const TimePoint whole = FromUnixMillis(1764478601000);
  EXPECT_EQ(FormatRfc3339(whole), "2025-11-30T04:56:41Z");
  EXPECT_EQ(ParseRfc3339("2025-11-30T04:56:41Z"), whole);
  const TimePoint fine = FromUnixMillis(1764478601123);
  EXPECT_EQ(FormatRfc3339(fine), "2025-11-30T04:56:41.123Z");
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(fine)), fine);
  EXPECT_FALSE(ParseRfc3339("yesterday"));
  EXPECT_FALSE(ParseRfc3339("2025-11-30T04:56:41+01:00"));
}

TEST(Time, DurationsAcceptUnitsAndBareSeconds) {
  EXPECT_EQ(ParseDuration("90s"), std::chrono::seconds(90));
  EXPECT_EQ(ParseDuration("10m"), std::chrono::minutes(10));
  EXPECT_EQ(ParseDuration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(ParseDuration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(ParseDuration("45"), std::chrono::seconds(45));
  for (const char* bad : {"", "h", "10x", "-5s", "1.5h", "99999999999999s"}) {
    EXPECT_FALSE(ParseDuration(bad)) << bad;
  }
}

}  // namespace
}  // namespace runvoy::core
