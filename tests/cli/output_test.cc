#include "cli/output.h"

#include <sstream>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace runvoy::cli {
namespace {

TEST(Output, TableColumnsAlignOnTheWidestCell) {
  std::ostringstream out;
  PrintTable(out, Style(false), {"ID", "STATUS", "COMMAND"},
             {{"a1", "RUNNING", "echo hi"}, {"b22222", "✓ ok", "ls"}});
  EXPECT_EQ(out.str(),
            "ID      STATUS   COMMAND\n"
            "a1      RUNNING  echo hi\n"
            "b22222  ✓ ok     ls\n");
}

TEST(Output, EmptyTablePrintsItsHeader) {
  std::ostringstream out;
  PrintTable(out, Style(false), {"NAME", "KEY NAME"}, {});
  EXPECT_EQ(out.str(), "NAME  KEY NAME\n");
}

TEST(Output, ColouredHeaderIsBold) {
  std::ostringstream out;
  PrintTable(out, Style(true), {"A"}, {{"x"}});
  EXPECT_EQ(out.str(), "\x1b[1mA\x1b[0m\nx\n");
}

TEST(Output, RecordAlignsKeys) {
  std::ostringstream out;
  PrintRecord(out, {{"status", "RUNNING"}, {"exit_code", "-"}});
  EXPECT_EQ(out.str(), "status:    RUNNING\nexit_code: -\n");
}

TEST(Output, AbbreviateCutsByCharactersNotBytes) {
  EXPECT_EQ(Abbreviate("héllo world", 5), "héll…");
  EXPECT_EQ(Abbreviate("a\nb", 10), "a b");
  EXPECT_EQ(DisplayWidth("✗ é"), 3u);
}

TEST(Output, CellTextShowsJsonValuesPlainly) {
  const auto value =
      boost::json::parse(R"({"s":"x","n":3,"b":false,"z":null,"a":["u@x","v@x"],"o":{"k":1}})");
  EXPECT_EQ(Field(value, "s"), "x");
  EXPECT_EQ(Field(value, "n"), "3");
  EXPECT_EQ(Field(value, "b"), "false");
  EXPECT_EQ(Field(value, "z"), "-");
  EXPECT_EQ(Field(value, "missing"), "-");
  EXPECT_EQ(Field(value, "a"), "u@x, v@x");
  EXPECT_EQ(Field(value, "o"), R"({"k":1})");
}

TEST(Output, MessagesStartWithTheirMark) {
  std::ostringstream err;
  PrintFailure(err, Style(false), "boom");
  PrintSuccess(err, Style(false), "done");
  EXPECT_EQ(err.str(), "✗ boom\n✓ done\n");
}

}  // namespace
}  // namespace runvoy::cli
