#include "providers/output/scrubber.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace runvoy::providers::output {
namespace {

std::string Scrub(const std::vector<std::string>& secrets, const std::vector<std::string>& chunks) {
  Scrubber scrubber(secrets);
  std::string out;
  for (const auto& chunk : chunks)
    scrubber.Feed(chunk, out);
  scrubber.Finish(out);
  return out;
}

TEST(Base64EncodeTest, MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(ScrubberTest, PassesOutputThroughWithoutSecrets) {
  EXPECT_EQ(Scrub({}, {"hello ", "world"}), "hello world");
  EXPECT_EQ(Scrub({""}, {"abc"}), "abc");
}

TEST(ScrubberTest, ReplacesASecretValue) {
  EXPECT_EQ(Scrub({"hunter22"}, {"pw=hunter22 done\n"}), "pw=*** done\n");
}

TEST(ScrubberTest, ReplacesEveryOccurrence) {
  EXPECT_EQ(Scrub({"abcd"}, {"abcdabcd-abcd"}), "******-***");
}

TEST(ScrubberTest, ReplacesTheBase64FormPaddedAndUnpadded) {
  const std::string value = "secret-value1";  // 13 bytes: base64 ends with "="
  const std::string b64 = Base64Encode(value);
  ASSERT_EQ(b64.back(), '=');
  EXPECT_EQ(Scrub({value}, {"x " + b64 + " y"}), "x *** y");
  const std::string unpadded = b64.substr(0, b64.find('='));
  EXPECT_EQ(Scrub({value}, {"x " + unpadded + "\n"}), "x ***\n");
}

TEST(ScrubberTest, ReplacesAValueSplitAcrossChunksAtEveryPosition) {
  const std::string value = "s3cr3t-t0ken";
  const std::string input = "before " + value + " after " + Base64Encode(value) + " end\n";
  const std::string expected = "before *** after *** end\n";
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    EXPECT_EQ(Scrub({value}, {input.substr(0, cut), input.substr(cut)}), expected) << cut;
  }
  std::vector<std::string> bytes;
  for (char c : input)
    bytes.emplace_back(1, c);
  EXPECT_EQ(Scrub({value}, bytes), expected);
}

TEST(ScrubberTest, HoldsBackLessThanTheLongestNeedle) {
  Scrubber scrubber({"abcdef"});
  std::string out;
  scrubber.Feed("xxabcde", out);
  EXPECT_EQ(out, "xx");
  EXPECT_EQ(scrubber.held_back(), 5u);
  scrubber.Feed("Z", out);
  EXPECT_EQ(out, "xxabcdeZ");
  EXPECT_EQ(scrubber.held_back(), 0u);
}

TEST(ScrubberTest, ReleasesAPrefixThatTurnsOutNotToMatchAtTheEnd) {
  EXPECT_EQ(Scrub({"password"}, {"my pass"}), "my pass");
}

TEST(ScrubberTest, PrefersTheLongestOfOverlappingSecrets) {
  EXPECT_EQ(Scrub({"abcd", "abcdefgh"}, {"abcdefgh abcdx"}), "*** ***x");
  EXPECT_EQ(Scrub({"abcd", "abcdefgh"}, {"abcd", "efgh"}), "***");
}

TEST(ScrubberTest, HandlesSeveralSecrets) {
  EXPECT_EQ(Scrub({"alpha1", "bravo2"}, {"alp", "ha1/bra", "vo2."}), "***/***.");
}

TEST(ScrubberTest, HandlesBinaryValues) {
  const std::string value("\x00\xFF\x01\x02", 4);
  EXPECT_EQ(Scrub({value}, {std::string("a") + value + "b"}), "a***b");
}

}  // namespace
}  // namespace runvoy::providers::output
