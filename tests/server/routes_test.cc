// The router, request targets and the published OpenAPI document agree.

#include <algorithm>
#include <set>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "common/random_ids.h"
#include "core/time.h"
#include "providers/sqlite/sqlite_store.h"
#include "server/api.h"
#include "server/handlers/routes.h"
#include "server/openapi_document.h"
#include "service/event_processor.h"
#include "support/fakes.h"

namespace runvoy::server {
namespace {

// Every route of the API, built over a real store with fake compute and vault.
class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = providers::sqlite::OpenSqliteStore(::testing::TempDir() + "/routes-" +
                                                    std::to_string(::getpid()) + ".db");
    ASSERT_TRUE(store);
    store_ = std::move(*store);
    users_ = std::make_unique<service::Users>(*store_, clock_, ids_);
    images_ = std::make_unique<service::Images>(*store_, clock_);
    secrets_ = std::make_unique<service::Secrets>(*store_, vault_, clock_);
    executions_ = std::make_unique<service::Executions>(*store_, compute_, *images_, *secrets_,
                                                        clock_, ids_, service::ExecutionSettings{});
    processor_ = std::make_unique<service::EventProcessor>(*store_, feed_, clock_);
    reconciler_ = std::make_unique<service::Reconciler>(*store_, compute_, vault_, *processor_,
                                                        clock_, service::ReconcileSettings{});
    tracer_ = std::make_unique<service::Tracer>(*store_, clock_, 10);
    AddAllRoutes(router_, {*store_, *users_, *images_, *secrets_, *executions_, *reconciler_,
                           *tracer_, {"test", "fake", "sqlite", ""}});
  }

  core::WallClock clock_;
  common::RandomIdGenerator ids_;
  testing::FakeCompute compute_;
  testing::MemoryVault vault_;
  testing::NullFeed feed_;
  std::unique_ptr<contract::Store> store_;
  std::unique_ptr<service::Users> users_;
  std::unique_ptr<service::Images> images_;
  std::unique_ptr<service::Secrets> secrets_;
  std::unique_ptr<service::Executions> executions_;
  std::unique_ptr<service::EventProcessor> processor_;
  std::unique_ptr<service::Reconciler> reconciler_;
  std::unique_ptr<service::Tracer> tracer_;
  Router router_;
};

// "/api/v1/images/{ref...}" → "/images/{}" as OpenAPI paths are written, names dropped.
std::string Normalize(const std::string& pattern) {
  std::string path = pattern.substr(std::string("/api/v1").size());
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      out += "{}";
      i = path.find('}', i);
    } else {
      out += path[i];
    }
  }
  return out;
}

TEST_F(RoutesTest, TheOpenApiDocumentListsExactlyTheRoutesOfTheRouter) {
  std::set<std::string> routed;
  for (const Route& route : router_.routes()) {
    routed.insert(route.method + " " + Normalize(route.pattern));
  }
  const auto document = boost::json::parse(OpenApiDocument());
  std::set<std::string> documented;
  for (const auto& [path, item] : document.at("paths").as_object()) {
    for (const auto& [method, operation] : item.as_object()) {
      if (method == "parameters" || method == "summary" || method == "description") continue;
      std::string upper(method);
      std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
      documented.insert(upper + " " + Normalize("/api/v1" + std::string(path)));
    }
  }
  EXPECT_EQ(routed, documented);
}

TEST_F(RoutesTest, UnknownPathsMatchNothingAndKnownPathsListTheirMethods) {
  auto target = ParseTarget("/api/v1/executions/abc/status?x=1");
  ASSERT_TRUE(target);
  auto match = router_.Match("GET", target->segments);
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.params, std::vector<std::string>{"abc"});
  EXPECT_EQ(target->query.at("x"), "1");
  match = router_.Match("POST", target->segments);
  EXPECT_EQ(match.route, nullptr);
  EXPECT_EQ(match.allowed, std::vector<std::string>{"GET"});
  EXPECT_TRUE(router_.Match("GET", ParseTarget("/api/v1/nope")->segments).allowed.empty());
}

TEST_F(RoutesTest, GreedyParametersKeepSlashes) {
  auto match = router_.Match("GET", ParseTarget("/api/v1/images/localhost:5000/a/b:1")->segments);
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.params, std::vector<std::string>{"localhost:5000/a/b:1"});
}

TEST(Targets, BadPercentEncodingIsRefused) {
  EXPECT_FALSE(ParseTarget("/api/v1/images/%zz"));
  EXPECT_FALSE(ParseTarget("/api/v1/images/%00"));
  EXPECT_EQ(ParseTarget("/api/v1/images/a%2Fb")->segments.back(), "a/b");
}

TEST(Targets, TokensAreRedactedForLogs) {
  EXPECT_EQ(RedactTarget("/api/v1/claim/abcdef"), "/api/v1/claim/***");
  EXPECT_EQ(RedactTarget("/api/v1/ws?execution_id=1&token=secret&last_event_id=3"),
            "/api/v1/ws?execution_id=1&token=***&last_event_id=3");
  EXPECT_EQ(RedactTarget("/api/v1/users"), "/api/v1/users");
}

}  // namespace
}  // namespace runvoy::server
