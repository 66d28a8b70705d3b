#include "core/image_reference.h"

#include <gtest/gtest.h>

namespace runvoy::core {
namespace {

TEST(ImageReference, PlainNameGetsTheDefaultRegistryPathAndTag) {
  auto ref = ParseImageReference("ubuntu");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->registry, "");
  EXPECT_EQ(ref->name, "ubuntu");
  EXPECT_EQ(ref->tag, "latest");
  EXPECT_EQ(ref->normalized, "docker.io/library/ubuntu:latest");
}

TEST(ImageReference, DockerHubSpellingsNormaliseToTheSameReference) {
  const auto a = ParseImageReference("docker.io/library/x:1");
  const auto b = ParseImageReference("docker.io/x:1");
  const auto c = ParseImageReference("x:1");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->normalized, b->normalized);
  EXPECT_EQ(b->normalized, c->normalized);
}

TEST(ImageReference, FirstSegmentIsARegistryOnlyWithADotAColonOrLocalhost) {
  EXPECT_EQ(ParseImageReference("localhost/a/b")->registry, "localhost");
  EXPECT_EQ(ParseImageReference("registry.example.com/a")->registry, "registry.example.com");
  EXPECT_EQ(ParseImageReference("host:5000/a")->registry, "host:5000");
  EXPECT_EQ(ParseImageReference("team/tool")->registry, "");
  EXPECT_EQ(ParseImageReference("team/tool")->name, "team/tool");
}

TEST(ImageReference, TagComesAfterTheLastColonOfTheLastSegment) {
  auto ref = ParseImageReference("localhost:5000/team/tool:1.2");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->name, "team/tool");
  EXPECT_EQ(ref->tag, "1.2");
  EXPECT_EQ(ParseImageReference("localhost:5000/team/tool")->tag, "latest");
}

TEST(ImageReference, DigestIsKept) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  auto ref = ParseImageReference("alpine@" + digest);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->digest, digest);
  EXPECT_NE(ref->normalized.find(digest), std::string::npos);
  EXPECT_FALSE(ParseImageReference("alpine@sha256:xyz"));
}

TEST(ImageReference, MalformedReferencesAreInvalidRequests) {
  for (const char* bad : {"", "../etc", "a/../b", "a//b", "a b", "a:", "UPPER:tag!", "a/./b"}) {
    auto ref = ParseImageReference(bad);
    ASSERT_FALSE(ref) << bad;
    EXPECT_EQ(ref.error().code, ErrorCode::kInvalidRequest);
  }
  EXPECT_FALSE(ParseImageReference(std::string(600, 'a')));
}

TEST(ImageId, IsNameTagAndEightHexOfTheConfiguration) {
  auto ref = ParseImageReference("alpine:3.20");
  const std::string id = ComputeImageId(*ref, 256, 512, "Linux/X86_64", "", "");
  EXPECT_EQ(id.rfind("alpine:3.20-", 0), 0u);
  EXPECT_EQ(id.size(), std::string("alpine:3.20-").size() + 8);
  EXPECT_TRUE(LooksLikeImageId(id));
  EXPECT_NE(id, ComputeImageId(*ref, 512, 512, "Linux/X86_64", "", ""));
  // The name is the path as given, without the registry; the hash is of the normalised form.
  const std::string long_form = ComputeImageId(*ParseImageReference("docker.io/library/alpine:3.20"),
                                               256, 512, "Linux/X86_64", "", "");
  EXPECT_EQ(long_form.rfind("library/alpine:3.20-", 0), 0u);
  EXPECT_EQ(long_form.substr(long_form.size() - 8), id.substr(id.size() - 8));
  EXPECT_FALSE(LooksLikeImageId("alpine:3.20"));
}

// Found by fuzz/image_reference_fuzzer: "x" (505 bytes) parsed, but its normalised form
// "docker.io/library/x...:latest" was over the limit and did not parse back.
TEST(ImageReference, AReferenceWhoseNormalisedFormIsTooLongIsInvalid) {
  const std::string name(495, 'a');
  auto ref = ParseImageReference(name);
  ASSERT_FALSE(ref);
  EXPECT_EQ(ref.error().code, ErrorCode::kInvalidRequest);
  auto shorter = ParseImageReference(std::string(400, 'a'));
  ASSERT_TRUE(shorter);
  auto again = ParseImageReference(shorter->normalized);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->normalized, shorter->normalized);
}

}  // namespace
}  // namespace runvoy::core
