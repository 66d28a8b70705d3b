#include "contract/notifier.h"

#include <gtest/gtest.h>

#include "contract/in_process_notifier.h"

namespace runvoy::contract {
namespace {

TEST(NoticeTest, EveryKindSurvivesEncodingAndDecoding) {
  for (const Notice::Kind kind :
       {Notice::Kind::kNewEvents, Notice::Kind::kEnded, Notice::Kind::kKill}) {
    Notice notice{kind, "exec-1", "node-a", 3, 1234567890123, kind == Notice::Kind::kKill ? "user" : ""};
    auto decoded = DecodeNotice(EncodeNotice(notice));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded->kind, kind);
    EXPECT_EQ(decoded->execution_id, "exec-1");
    EXPECT_EQ(decoded->node, "node-a");
    EXPECT_EQ(decoded->first_sequence, 3);
    EXPECT_EQ(decoded->sequence, 1234567890123);
    EXPECT_EQ(decoded->detail, notice.detail);
  }
}

TEST(NoticeTest, MalformedTextIsRejected) {
  for (const std::string text : {"", "E", "X\ta\tb\t1\t2\t", "E\ta\tb\t1\tx\t", "E\ta\tb\t1\t2",
                                 "EE\ta\tb\t1\t2\t", "E\ta\tb\t\t2\t", "E\ta\tb\t1\t2\tc\td"}) {
    EXPECT_FALSE(DecodeNotice(text)) << text;
  }
}

TEST(InProcessNotifierTest, DeliversToItsListenerUntilStopped) {
  InProcessNotifier notifier;
  int heard = 0;
  notifier.Listen([&heard](const Notice&) { ++heard; });
  ASSERT_TRUE(notifier.Publish(Notice{}));
  notifier.Stop();
  ASSERT_TRUE(notifier.Publish(Notice{}));
  EXPECT_EQ(heard, 1);
}

}  // namespace
}  // namespace runvoy::contract
