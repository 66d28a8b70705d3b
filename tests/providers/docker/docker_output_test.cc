#include "providers/docker/docker_output.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace runvoy::providers::docker {
namespace {

std::string Frame(int stream, const std::string& payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>(n >> 24);
  out[5] = static_cast<char>(n >> 16);
  out[6] = static_cast<char>(n >> 8);
  out[7] = static_cast<char>(n);
  return out + payload;
}

struct Seen {
  int stream;
  std::string payload;
};

TEST(FrameDecoderTest, DecodesFramesSplitAtEveryByte) {
  const std::string bytes =
      Frame(1, "out1\n") + Frame(2, "err1\n") + Frame(1, "") + Frame(1, std::string(70000, 'x'));
  for (size_t step : {size_t{1}, size_t{3}, size_t{8}, size_t{1000}, bytes.size()}) {
    FrameDecoder decoder;
    std::vector<Seen> seen;
    for (size_t i = 0; i < bytes.size(); i += step) {
      decoder.Feed(std::string_view(bytes).substr(i, step), [&](int s, std::string_view p) {
        seen.push_back({s, std::string(p)});
      });
    }
    ASSERT_EQ(seen.size(), 4u) << step;
    EXPECT_EQ(seen[0].stream, 1);
    EXPECT_EQ(seen[0].payload, "out1\n");
    EXPECT_EQ(seen[1].stream, 2);
    EXPECT_EQ(seen[1].payload, "err1\n");
    EXPECT_EQ(seen[2].payload, "");
    EXPECT_EQ(seen[3].payload.size(), 70000u);
    EXPECT_EQ(decoder.buffered(), 0u);
  }
}

TEST(SplitTimestampTest, TakesTheEngineTimePrefixOff) {
  std::string_view message;
  auto ms = SplitTimestamp("2026-11-30T07:34:26.948504008Z hello world\n", message);
  ASSERT_TRUE(ms.has_value());
  EXPECT_EQ(*ms % 1000, 948);
  EXPECT_EQ(message, "hello world\n");
  EXPECT_FALSE(SplitTimestamp("no time here\n", message).has_value());
  EXPECT_EQ(message, "no time here\n");
}

TEST(OutputPipelineTest, NumbersScrubsAndSplitsPerStream) {
  OutputPipeline pipeline({"s3cr3t-value"}, 1 << 20);
  std::vector<core::LogEvent> out;
  pipeline.AddRunvoyLine("### runvoy: request 1", 1, out);
  pipeline.AddFrame(1, "2026-11-30T07:34:26.000000001Z a s3cr3t", 2, out);
  pipeline.AddFrame(2, "2026-11-30T07:34:26.000000002Z e1\n", 2, out);
  pipeline.AddFrame(1, "2026-11-30T07:34:26.000000003Z -value b\nlast", 2, out);
  pipeline.Finish(3, out);
  ASSERT_EQ(out.size(), 4u);
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_EQ(out[i].sequence, static_cast<int64_t>(i + 1));
  EXPECT_EQ(out[0].stream, core::LogStream::kRunvoy);
  EXPECT_EQ(out[1].message, "e1");
  EXPECT_EQ(out[1].stream, core::LogStream::kStderr);
  EXPECT_EQ(out[2].message, "a *** b");
  EXPECT_EQ(out[3].message, "last");
}

TEST(OutputPipelineTest, GivesTheSameEventsWhenTheLogIsReadAgain) {
  auto run = [] {
    OutputPipeline pipeline({}, 1 << 20);
    std::vector<core::LogEvent> out;
    pipeline.AddRunvoyLine("banner", 1, out);
    for (int i = 0; i < 50; ++i) {
      pipeline.AddFrame(i % 3 == 0 ? 2 : 1,
                        "2026-11-30T07:34:26.000000000Z line" + std::to_string(i) + "\n", 0, out);
    }
    return out;
  };
  const auto first = run();
  const auto second = run();
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].sequence, second[i].sequence);
    EXPECT_EQ(first[i].message, second[i].message);
    EXPECT_EQ(first[i].timestamp_ms, second[i].timestamp_ms);
  }
}

TEST(OutputPipelineTest, StopsAtTheOutputCapWithANotice) {
  OutputPipeline pipeline({}, 10);
  std::vector<core::LogEvent> out;
  pipeline.AddFrame(1, "12345\n67890\nabc\ndef\n", 0, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].stream, core::LogStream::kRunvoy);
  EXPECT_NE(out[2].message.find("output limit of 10 bytes"), std::string::npos);
}

}  // namespace
}  // namespace runvoy::providers::docker
