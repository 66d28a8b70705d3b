#include "cli/log_printer.h"

#include <sstream>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace runvoy::cli {
namespace {

LogEvent Event(const std::string& id, const std::string& message,
               const std::string& stream = "stdout", bool partial = false) {
  LogEvent event;
  event.event_id = id;
  event.timestamp_ms = 1700000000000;
  event.message = message;
  event.stream = stream;
  event.partial = partial;
  return event;
}

TEST(LogPrinter, RoutesStreamsToStdoutAndStderr) {
  std::ostringstream out, err;
  LogPrinter printer(out, err);
  printer.Write(Event("1", "### runvoy: request abc", "runvoy"));
  printer.Write(Event("2", "data line"));
  printer.Write(Event("3", "warning", "stderr"));
  EXPECT_EQ(out.str(), "data line\n");
  EXPECT_EQ(err.str(), "### runvoy: request abc\nwarning\n");
}

TEST(LogPrinter, PartialPiecesAreRejoinedIntoOneLine) {
  std::ostringstream out, err;
  LogPrinter printer(out, err);
  printer.Write(Event("1", "aaaa", "stdout", true));
  printer.Write(Event("2", "bbbb", "stdout", true));
  printer.Write(Event("3", "cc"));
  printer.Write(Event("4", "next"));
  EXPECT_EQ(out.str(), "aaaabbbbcc\nnext\n");
}

TEST(LogPrinter, ReplayedEventsArePrintedOnce) {
  std::ostringstream out, err;
  LogPrinter printer(out, err);
  EXPECT_TRUE(printer.Write(Event("000000000001", "one")));
  EXPECT_TRUE(printer.Write(Event("000000000002", "two")));
  EXPECT_FALSE(printer.Write(Event("000000000001", "one")));
  EXPECT_FALSE(printer.Write(Event("000000000002", "two")));
  EXPECT_TRUE(printer.Write(Event("000000000003", "three")));
  EXPECT_EQ(out.str(), "one\ntwo\nthree\n");
  EXPECT_EQ(printer.last_event_id(), "000000000003");
  EXPECT_EQ(printer.written(), 3);
}

TEST(LogPrinter, EventIdsCompareNumericallyWhateverThePadding) {
  EXPECT_TRUE(EventIdBefore("9", "10"));
  EXPECT_TRUE(EventIdBefore("000000000009", "000000000010"));
  EXPECT_FALSE(EventIdBefore("10", "10"));
  EXPECT_TRUE(EventIdBefore("a", "b"));
}

TEST(LogPrinter, ParsesEventsAndSkipsMalformedOnes) {
  const auto value = boost::json::parse(
      R"([{"event_id":"01","timestamp":5,"message":"m","stream":"stderr","partial":true},
          {"message":"no id"}, 7, {"event_id":3,"message":"numeric id"}])");
  const auto events = ParseLogEvents(value);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event_id, "01");
  EXPECT_EQ(events[0].timestamp_ms, 5);
  EXPECT_EQ(events[0].stream, "stderr");
  EXPECT_TRUE(events[0].partial);
  EXPECT_EQ(events[1].event_id, "3");
  EXPECT_EQ(events[1].stream, "stdout");
}

TEST(LogPrinter, TableJoinsPiecesPerStreamAndNumbersLines) {
  const auto lines = JoinLogLines({Event("1", "ab", "stdout", true), Event("2", "err", "stderr"),
                                   Event("3", "cd"), Event("4", "last")});
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].message, "abcd");
  EXPECT_EQ(lines[0].number, 1);
  EXPECT_EQ(lines[1].message, "err");
  EXPECT_EQ(lines[2].number, 3);

  std::ostringstream out;
  PrintLogTable(out, Style(false), lines);
  EXPECT_EQ(out.str(),
            "Line | Timestamp (UTC)          | Message\n"
            "   1 | 2023-11-14T22:13:20Z     | abcd\n"
            "   2 | 2023-11-14T22:13:20Z     | err\n"
            "   3 | 2023-11-14T22:13:20Z     | last\n");
}

}  // namespace
}  // namespace runvoy::cli
