#include "providers/output/line_splitter.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace runvoy::providers::output {
namespace {

std::vector<LinePiece> Split(const std::vector<std::string>& chunks, size_t max_piece = 16384) {
  LineSplitter splitter(max_piece);
  std::vector<LinePiece> out;
  for (const auto& chunk : chunks)
    splitter.Feed(chunk, out);
  splitter.Finish(out);
  return out;
}

std::vector<std::string> Messages(const std::vector<LinePiece>& pieces) {
  std::vector<std::string> out;
  for (const auto& p : pieces)
    out.push_back(p.message);
  return out;
}

TEST(LineSplitterTest, SplitsLinesAndDropsNewlines) {
  auto out = Split({"one\ntwo\n\nthree\n"});
  EXPECT_EQ(Messages(out), (std::vector<std::string>{"one", "two", "", "three"}));
  for (const auto& p : out)
    EXPECT_FALSE(p.partial);
}

TEST(LineSplitterTest, JoinsLinesSplitAcrossChunks) {
  EXPECT_EQ(Messages(Split({"he", "llo\nwor", "ld\n"})),
            (std::vector<std::string>{"hello", "world"}));
}

TEST(LineSplitterTest, KeepsALastLineWithoutNewline) {
  EXPECT_EQ(Messages(Split({"a\nlast"})), (std::vector<std::string>{"a", "last"}));
}

TEST(LineSplitterTest, EmitsNothingForEmptyInput) {
  EXPECT_TRUE(Split({}).empty());
  EXPECT_TRUE(Split({""}).empty());
}

TEST(LineSplitterTest, EmitsNoExtraLineAfterAFinalNewline) {
  EXPECT_EQ(Messages(Split({"a\n"})), (std::vector<std::string>{"a"}));
}

TEST(LineSplitterTest, SplitsLongLinesIntoPartialPieces) {
  const std::string line(16384 * 2 + 100, 'x');
  auto out = Split({line + "\n"});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].message.size(), 16384u);
  EXPECT_TRUE(out[0].partial);
  EXPECT_EQ(out[1].message.size(), 16384u);
  EXPECT_TRUE(out[1].partial);
  EXPECT_EQ(out[2].message.size(), 100u);
  EXPECT_FALSE(out[2].partial);
}

TEST(LineSplitterTest, ALineOfExactlyThePieceLimitIsOnePiece) {
  auto out = Split({std::string(16384, 'y') + "\nz\n"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[0].partial);
  EXPECT_EQ(out[0].message.size(), 16384u);
  EXPECT_EQ(out[1].message, "z");
}

TEST(LineSplitterTest, ALongLastLineWithoutNewlineEndsWithANonPartialPiece) {
  auto out = Split({std::string(10, 'a')}, 4);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].partial);
  EXPECT_TRUE(out[1].partial);
  EXPECT_FALSE(out[2].partial);
  EXPECT_EQ(out[2].message, "aa");
}

TEST(LineSplitterTest, NeverSplitsAMultiByteCharacterBetweenPieces) {
  // "é" is two bytes: with a limit of 5, pieces hold two of them (4 bytes).
  std::string line;
  for (int i = 0; i < 5; ++i)
    line += "\xC3\xA9";
  auto out = Split({line}, 5);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].message, "\xC3\xA9\xC3\xA9");
  EXPECT_EQ(out[2].message, "\xC3\xA9");
}

TEST(LineSplitterTest, KeepsValidUtf8SplitAcrossChunks) {
  EXPECT_EQ(Messages(Split({"a\xE2\x82",
                            "\xAC"
                            "b\n"})),
            (std::vector<std::string>{"a\xE2\x82\xAC"
                                      "b"}));
  EXPECT_EQ(Messages(Split({"\xF0", "\x9F", "\x98", "\x80\n"})),
            (std::vector<std::string>{"\xF0\x9F\x98\x80"}));
}

TEST(LineSplitterTest, ReplacesInvalidBytesWithTheReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(Messages(Split({"a\xFF"
                            "b\n"})),
            (std::vector<std::string>{"a" + fffd + "b"}));
  // A lone continuation byte, an overlong form and a surrogate.
  EXPECT_EQ(Messages(Split({"\x80\n"})), (std::vector<std::string>{fffd}));
  EXPECT_EQ(Messages(Split({"\xC0\xAF\n"})), (std::vector<std::string>{fffd + fffd}));
  EXPECT_EQ(Messages(Split({"\xED\xA0\x80\n"})), (std::vector<std::string>{fffd + fffd + fffd}));
}

TEST(LineSplitterTest, ReplacesATruncatedSequenceBeforeTheNewlineOrTheEnd) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(Messages(Split({"x\xE2\x82\ny"})), (std::vector<std::string>{"x" + fffd, "y"}));
  EXPECT_EQ(Messages(Split({"end\xE2"})), (std::vector<std::string>{"end" + fffd}));
}

TEST(LineSplitterTest, KeepsTheByteThatBrokeASequence) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(Messages(Split({"\xC3"
                            "A\n"})),
            (std::vector<std::string>{fffd + "A"}));
}

TEST(LineSplitterTest, GivesTheSameResultForEveryChunking) {
  const std::string input =
      "h\xC3\xA9llo\n\xFFwor\xE2\x82\xACld\n" + std::string(40, 'q') + "\nend";
  const auto whole = Split({input}, 16);
  for (size_t size = 1; size < input.size(); ++size) {
    std::vector<std::string> chunks;
    for (size_t i = 0; i < input.size(); i += size)
      chunks.push_back(input.substr(i, size));
    const auto pieces = Split(chunks, 16);
    ASSERT_EQ(Messages(pieces), Messages(whole)) << "chunk size " << size;
    for (size_t i = 0; i < pieces.size(); ++i)
      EXPECT_EQ(pieces[i].partial, whole[i].partial);
  }
}

}  // namespace
}  // namespace runvoy::providers::output
