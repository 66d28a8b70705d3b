// Every authenticated route, tried by every role, by the owner and a non-owner of the resource,
// with no key, an unknown key and a revoked key (SPEC.md §1, §2.0).

#include <unistd.h>

#include <array>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

// Callers, in the order of Expected's columns.
enum Who { kAdmin, kOperator, kOwner, kOtherDeveloper, kViewer, kWhoCount };
constexpr std::array<const char*, kWhoCount> kWhoNames = {"admin", "operator", "owner developer",
                                                          "other developer", "viewer"};

struct Case {
  std::string method;
  std::string path;
  // The body for each caller (mutating routes get distinct resources per caller).
  std::string (*body)(Who who);
  std::array<long, kWhoCount> expected;
};

std::string NoBody(Who) { return {}; }
std::string EmptyObject(Who) { return "{}"; }
std::string NewUser(Who who) {
  return boost::json::serialize(boost::json::object{
      {"email", std::string("new-") + std::to_string(who) + "@example.com"}, {"role", "viewer"}});
}
std::string UnknownUser(Who) { return R"({"email":"nobody@example.com"})"; }
std::string NewImage(Who who) {
  return boost::json::serialize(
      boost::json::object{{"image", "host"}, {"cpu", 300 + static_cast<int>(who)}});
}
std::string NewSecret(Who who) {
  return boost::json::serialize(boost::json::object{{"name", "new-" + std::to_string(who)},
                                                    {"key_name", "NEW"},
                                                    {"value", "new-value"}});
}
std::string RunTrue(Who) { return R"({"command":"true","image":"host"})"; }

class PolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Failed authentications are the point here: lift the per-IP limit above what it counts.
    const std::string config = MakeTempDir("runvoy-policy") + "/server.yaml";
    std::ofstream(config) << "auth_failure_limit: 100000\n";
    server_ = new RunvoyServer({"--config", config});
    const std::string admin = server_->admin_key();
    keys_[kAdmin] = admin;
    keys_[kOperator] = server_->CreateUser("operator@example.com", "operator");
    keys_[kOwner] = server_->CreateUser("owner@example.com", "developer");
    keys_[kOtherDeveloper] = server_->CreateUser("other@example.com", "developer");
    keys_[kViewer] = server_->CreateUser("viewer@example.com", "viewer");
    revoked_key_ = server_->CreateUser("revoked@example.com", "developer");
    ASSERT_EQ(server_->Call("POST", "/api/v1/users/revoke", admin,
                            R"({"email":"revoked@example.com"})").status, 200);

    auto image = server_->Call("POST", "/api/v1/images/register", keys_[kOperator],
                               R"({"image":"host","is_default":true})");
    ASSERT_EQ(image.status, 201) << image.body;
    operator_image_ = std::string(image.json.at("image_id").as_string());
    auto secret = server_->Call("POST", "/api/v1/secrets", keys_[kOwner],
                                R"({"name":"owned","key_name":"OWNED","value":"owned-value"})");
    ASSERT_EQ(secret.status, 201) << secret.body;
    auto run = server_->Call("POST", "/api/v1/run", keys_[kOwner], R"({"command":"true"})");
    ASSERT_EQ(run.status, 202) << run.body;
    execution_ = std::string(run.json.at("execution_id").as_string());
    // Wait for it to finish so that kills answer 204 whoever may kill.
    for (int i = 0; i < 500; ++i) {
      auto status = server_->Call("GET", "/api/v1/executions/" + execution_ + "/status", admin);
      if (!status.json.at("exit_code").is_null()) break;
      usleep(20000);
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  std::vector<Case> Cases() const {
    const std::string image = "/api/v1/images/" + operator_image_;
    const std::string execution = "/api/v1/executions/" + execution_;
    return {
        {"POST", "/api/v1/health/reconcile", NoBody, {200, 200, 403, 403, 403}},
        {"POST", "/api/v1/run", RunTrue, {202, 202, 202, 202, 403}},
        {"GET", "/api/v1/users", NoBody, {200, 200, 403, 403, 403}},
        {"GET", "/api/v1/users/", NoBody, {200, 200, 403, 403, 403}},
        {"POST", "/api/v1/users/create", NewUser, {201, 403, 403, 403, 403}},
        {"POST", "/api/v1/users/revoke", UnknownUser, {404, 403, 403, 403, 403}},
        {"GET", "/api/v1/images", NoBody, {200, 200, 200, 200, 403}},
        {"POST", "/api/v1/images/register", NewImage, {201, 201, 403, 403, 403}},
        // Admin only; an empty body is refused only after the policy allowed the caller.
        {"POST", "/api/v1/images/import?image=imported:1", NoBody, {400, 403, 403, 403, 403}},
        {"GET", image, NoBody, {200, 200, 200, 200, 403}},
        {"DELETE", "/api/v1/images/missing:latest-00000000", NoBody, {404, 404, 404, 404, 403}},
        {"DELETE", image, NoBody, {-1, -1, 403, 403, 403}},
        {"GET", "/api/v1/secrets", NoBody, {200, 200, 200, 200, 403}},
        {"POST", "/api/v1/secrets", NewSecret, {201, 201, 201, 201, 403}},
        {"GET", "/api/v1/secrets/owned", NoBody, {200, 200, 200, 403, 403}},
        {"PUT", "/api/v1/secrets/owned", EmptyObject, {200, 200, 200, 403, 403}},
        {"DELETE", "/api/v1/secrets/missing", NoBody, {404, 404, 404, 404, 403}},
        {"GET", "/api/v1/executions", NoBody, {200, 200, 200, 200, 200}},
        {"GET", execution + "/status", NoBody, {200, 200, 200, 403, 200}},
        {"GET", execution + "/logs", NoBody, {200, 200, 200, 403, 200}},
        {"DELETE", execution, NoBody, {204, 204, 204, 403, 403}},
        {"GET", "/api/v1/trace/0123456789abcdef0123456789abcdef", NoBody, {200, 403, 403, 403, 403}},
        {"GET", "/api/v1/audit", NoBody, {200, 403, 403, 403, 403}},
    };
  }

  static RunvoyServer* server_;
  static std::array<std::string, kWhoCount> keys_;
  static std::string revoked_key_;
  static std::string operator_image_;
  static std::string execution_;
};

RunvoyServer* PolicyTest::server_ = nullptr;
std::array<std::string, kWhoCount> PolicyTest::keys_;
std::string PolicyTest::revoked_key_;
std::string PolicyTest::operator_image_;
std::string PolicyTest::execution_;

TEST_F(PolicyTest, EveryRouteAnswersEachRoleAsTheTableSays) {
  for (const Case& c : Cases()) {
    for (int who = 0; who < kWhoCount; ++who) {
      if (c.expected[who] < 0) continue;
      const auto response = server_->Call(c.method, c.path, keys_[who], c.body(static_cast<Who>(who)));
      EXPECT_EQ(response.status, c.expected[who])
          << c.method << " " << c.path << " as " << kWhoNames[who] << ": " << response.body;
      if (response.status == 403) {
        EXPECT_EQ(response.Code(), "FORBIDDEN");
      }
    }
  }
}

TEST_F(PolicyTest, EveryAuthenticatedRouteRefusesMissingUnknownAndRevokedKeys) {
  for (const Case& c : Cases()) {
    const std::string body = c.body(kAdmin);
    const auto none = server_->Call(c.method, c.path, "", body);
    EXPECT_EQ(none.status, 401) << c.method << " " << c.path;
    EXPECT_EQ(none.Code(), "UNAUTHORIZED") << c.method << " " << c.path;
    const auto unknown = server_->Call(c.method, c.path, "not-a-key-of-anybody-at-all", body);
    EXPECT_EQ(unknown.status, 401) << c.method << " " << c.path;
    EXPECT_EQ(unknown.Code(), "INVALID_API_KEY") << c.method << " " << c.path;
    const auto revoked = server_->Call(c.method, c.path, revoked_key_, body);
    EXPECT_EQ(revoked.status, 401) << c.method << " " << c.path;
    EXPECT_EQ(revoked.Code(), "API_KEY_REVOKED") << c.method << " " << c.path;
  }
}

TEST_F(PolicyTest, OwnerAndAdminsCanRemoveAnImageButOtherDevelopersCannot) {
  const auto refused = server_->Call("DELETE", "/api/v1/images/" + operator_image_, keys_[kOtherDeveloper]);
  EXPECT_EQ(refused.status, 403);
  const auto removed = server_->Call("DELETE", "/api/v1/images/" + operator_image_, keys_[kOperator]);
  EXPECT_EQ(removed.status, 200) << removed.body;
}

TEST_F(PolicyTest, DevelopersListOnlyTheirOwnExecutionsAndViewersSeeAll) {
  const auto owner = server_->Call("GET", "/api/v1/executions?limit=0", keys_[kOwner]);
  const auto other = server_->Call("GET", "/api/v1/executions?limit=0", keys_[kOtherDeveloper]);
  const auto viewer = server_->Call("GET", "/api/v1/executions?limit=0", keys_[kViewer]);
  ASSERT_TRUE(owner.json.is_array()) << owner.body;
  for (const auto& item : owner.json.as_array()) {
    EXPECT_EQ(item.at("created_by").as_string(), "owner@example.com");
  }
  for (const auto& item : other.json.as_array()) {
    EXPECT_EQ(item.at("created_by").as_string(), "other@example.com");
  }
  EXPECT_GE(viewer.json.as_array().size(), owner.json.as_array().size() + other.json.as_array().size());
}

TEST_F(PolicyTest, PublicRoutesNeedNoKey) {
  EXPECT_EQ(server_->Call("GET", "/api/v1/health", "").status, 200);
  EXPECT_EQ(server_->Call("GET", "/api/v1/openapi.json", "").status, 200);
  EXPECT_EQ(server_->Call("GET", "/api/v1/claim/unknowntoken", "").status, 404);
  EXPECT_EQ(server_->Call("OPTIONS", "/api/v1/users", "").status, 200);
}

}  // namespace
}  // namespace runvoy::testing
