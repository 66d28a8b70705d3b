#include "core/status.h"

#include <gtest/gtest.h>

namespace runvoy::core {
namespace {

using S = ExecutionStatus;

TEST(Status, TerminalStatesNeverChange) {
  for (S from : {S::kSucceeded, S::kFailed, S::kStopped}) {
    EXPECT_TRUE(IsTerminal(from));
    for (S to : {S::kStarting, S::kRunning, S::kSucceeded, S::kFailed, S::kStopped,
                 S::kTerminating}) {
      EXPECT_FALSE(CanTransition(from, to));
    }
  }
}

TEST(Status, TheTransitionTableAllowsOnlyTheDocumentedMoves) {
  EXPECT_TRUE(CanTransition(S::kStarting, S::kRunning));
  EXPECT_TRUE(CanTransition(S::kStarting, S::kFailed));
  EXPECT_TRUE(CanTransition(S::kStarting, S::kTerminating));
  EXPECT_TRUE(CanTransition(S::kRunning, S::kSucceeded));
  EXPECT_TRUE(CanTransition(S::kRunning, S::kStopped));
  EXPECT_TRUE(CanTransition(S::kTerminating, S::kStopped));
  EXPECT_FALSE(CanTransition(S::kTerminating, S::kRunning));
  EXPECT_FALSE(CanTransition(S::kTerminating, S::kSucceeded));
  EXPECT_FALSE(CanTransition(S::kRunning, S::kStarting));
}

TEST(Status, AFinishedTaskSeenWhileStartingGetsItsTrueFinalStatus) {
  EXPECT_TRUE(CanTransition(S::kStarting, S::kSucceeded));
  EXPECT_TRUE(CanTransition(S::kStarting, S::kStopped));
}

TEST(Status, NamesRoundTrip) {
  for (S status : {S::kStarting, S::kRunning, S::kSucceeded, S::kFailed, S::kStopped,
                   S::kTerminating}) {
    EXPECT_EQ(ParseStatus(StatusName(status)), status);
  }
  EXPECT_FALSE(ParseStatus("running"));
}

}  // namespace
}  // namespace runvoy::core
