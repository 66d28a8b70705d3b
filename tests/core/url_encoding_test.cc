#include "core/url_encoding.h"

#include <gtest/gtest.h>

namespace runvoy::core {
namespace {

TEST(UrlEncoding, KeepsUnreservedCharactersAndEncodesEveryOtherByte) {
  EXPECT_EQ(UrlEncode("A-z_0.9~"), "A-z_0.9~");
  EXPECT_EQ(UrlEncode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
  EXPECT_EQ(UrlEncode(std::string_view("\0\xff", 2)), "%00%FF");
}

TEST(UrlEncoding, APathKeepsItsSeparators) {
  EXPECT_EQ(UrlEncodePath("docker.io/library/ubuntu:22.04"), "docker.io/library/ubuntu:22.04");
  EXPECT_EQ(UrlEncodePath("repo@sha256:ab"), "repo@sha256:ab");
  EXPECT_EQ(UrlEncodePath("x y#"), "x%20y%23");
}

}  // namespace
}  // namespace runvoy::core
