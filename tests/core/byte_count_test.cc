#include "core/byte_count.h"

#include <gtest/gtest.h>

namespace runvoy::core {
namespace {

TEST(ByteCount, ABareNumberIsBytes) {
  EXPECT_EQ(ParseByteCount("1048576"), 1048576);
  EXPECT_EQ(ParseByteCount("0"), 0);
  EXPECT_EQ(ParseByteCount("12b"), 12);
}

TEST(ByteCount, BareAndIecUnitsAreBinaryAndSiUnitsDecimal) {
  EXPECT_EQ(ParseByteCount("512KiB"), 512 * 1024);
  EXPECT_EQ(ParseByteCount("1M"), 1 << 20);
  EXPECT_EQ(ParseByteCount("1mib"), 1 << 20);
  EXPECT_EQ(ParseByteCount("2G"), 2LL << 30);
  EXPECT_EQ(ParseByteCount("2GB"), 2'000'000'000);
  EXPECT_EQ(ParseByteCount("3kb"), 3000);
  EXPECT_EQ(ParseByteCount("64 MiB"), 64 << 20);
}

TEST(ByteCount, MalformedNegativeOrOverflowingTextIsRefused) {
  for (const char* bad : {"", "MiB", "-1", "1.5G", "1TB", "1 M B", "12x", " 1", "1e3",
                          "9223372036854775807K", "99999999999999999999"}) {
    EXPECT_EQ(ParseByteCount(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(ParseByteCount("9223372036854775807"), 9223372036854775807LL);
}

}  // namespace
}  // namespace runvoy::core
