// Users, keys and claims through the real CLI and API (SPEC.md §2.1, §4).

#include <csignal>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

class UsersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new RunvoyServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static RunvoyServer* server_;
};

RunvoyServer* UsersTest::server_ = nullptr;

TEST_F(UsersTest, SeededAdminKeyIsGeneratedInTheDocumentedFormat) {
  const std::string& key = server_->admin_key();
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(key.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST_F(UsersTest, DeveloperCreatedWithTheCliClaimsItsKeyAndIsRefusedTheUserList) {
  const auto created = server_->Cli({"users", "create", "dev@example.com", "--role", "developer"},
                                    server_->admin_key());
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const auto token_at = created.out.find_last_of(" \n", created.out.find_last_not_of(" \n"));
  std::string token = created.out.substr(token_at + 1);
  token.erase(token.find_last_not_of(" \n") + 1);
  ASSERT_EQ(token.size(), 32u) << created.out;

  const auto claimed = server_->Cli({"claim", token}, "");
  ASSERT_EQ(claimed.exit_code, 0) << claimed.err;
  const auto again = server_->Call("GET", "/api/v1/claim/" + token, "");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.Code(), "CONFLICT");

  // The claim saved the key into the CLI's config file; use it without RUNVOY_API_KEY.
  const auto refused = server_->Cli({"users", "list"}, "");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("FORBIDDEN"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("✗"), std::string::npos) << refused.err;
}

TEST_F(UsersTest, ClaimReturnsAWorkingKeyOnceAndNoPlaintextKeyIsStored) {
  const std::string key = server_->CreateUser("keyed@example.com", "viewer");
  EXPECT_EQ(server_->Call("GET", "/api/v1/executions", key).status, 200);
  const auto users = server_->Call("GET", "/api/v1/users", server_->admin_key());
  EXPECT_EQ(users.body.find(key), std::string::npos);
  EXPECT_EQ(users.body.find("hash"), std::string::npos);
  const std::string database = ReadFile(server_->data_dir() + "/runvoy.db");
  EXPECT_EQ(database.find(key), std::string::npos);
}

TEST_F(UsersTest, ChosenKeyIsReturnedByTheClaimAndWorks) {
  const std::string chosen = "chosen-key_0123456789.abc~";
  const auto created = server_->Call(
      "POST", "/api/v1/users/create", server_->admin_key(),
      R"({"email":"chosen@example.com","role":"operator","api_key":")" + chosen + R"("})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json.at("user").at("status").as_string(), "pending");
  const std::string token(created.json.at("claim_token").as_string());
  const auto claimed = server_->Call("GET", "/api/v1/claim/" + token, "");
  ASSERT_EQ(claimed.status, 200);
  EXPECT_EQ(claimed.json.at("api_key").as_string(), chosen);
  EXPECT_EQ(server_->Call("GET", "/api/v1/users", chosen).status, 200);
  const std::string database = ReadFile(server_->data_dir() + "/runvoy.db");
  EXPECT_EQ(database.find(chosen), std::string::npos);
}

TEST_F(UsersTest, DuplicateEmailOrKeyIsAConflict) {
  server_->CreateUser("dup@example.com", "viewer");
  const auto again = server_->Call("POST", "/api/v1/users/create", server_->admin_key(),
                                   R"({"email":"dup@example.com","role":"viewer"})");
  EXPECT_EQ(again.status, 409);
  const std::string key = "same-chosen-key-for-two-users";
  ASSERT_EQ(server_->Call("POST", "/api/v1/users/create", server_->admin_key(),
                          R"({"email":"k1@example.com","role":"viewer","api_key":")" + key + "\"}")
                .status,
            201);
  EXPECT_EQ(server_->Call("POST", "/api/v1/users/create", server_->admin_key(),
                          R"({"email":"k2@example.com","role":"viewer","api_key":")" + key + "\"}")
                .status,
            409);
}

TEST_F(UsersTest, RevokedKeyGetsApiKeyRevokedAndTheRecordStays) {
  const std::string key = server_->CreateUser("gone@example.com", "developer");
  const auto revoked = server_->Cli({"users", "revoke", "gone@example.com"}, server_->admin_key());
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  const auto refused = server_->Call("GET", "/api/v1/executions", key);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.Code(), "API_KEY_REVOKED");
  const auto users = server_->Call("GET", "/api/v1/users", server_->admin_key());
  bool found = false;
  for (const auto& user : users.json.at("users").as_array()) {
    if (user.at("email").as_string() == "gone@example.com") {
      found = true;
      EXPECT_TRUE(user.at("revoked").as_bool());
      EXPECT_EQ(user.at("status").as_string(), "revoked");
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(UsersTest, TheLastActiveAdminCannotBeRevoked) {
  const auto refused = server_->Call("POST", "/api/v1/users/revoke", server_->admin_key(),
                                     R"({"email":"admin@example.com"})");
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(server_->Call("GET", "/api/v1/users", server_->admin_key()).status, 200);
}

TEST_F(UsersTest, UsersAreListedSortedByEmailWithTheDocumentedFields) {
  const auto users = server_->Call("GET", "/api/v1/users", server_->admin_key());
  ASSERT_EQ(users.status, 200);
  std::string previous;
  for (const auto& user : users.json.at("users").as_array()) {
    const std::string email(user.at("email").as_string());
    EXPECT_LT(previous, email);
    previous = email;
    for (const char* field : {"email", "role", "status", "created_at", "revoked",
                              "created_by_request_id", "modified_by_request_id"}) {
      EXPECT_TRUE(user.as_object().contains(field)) << field;
    }
  }
}

TEST_F(UsersTest, CliPrintsTheApiJsonWithOutputJson) {
  const auto listed = server_->Cli({"-o", "json", "users", "list"}, server_->admin_key());
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  boost::system::error_code ec;
  const auto json = boost::json::parse(listed.out, ec);
  ASSERT_FALSE(ec) << listed.out;
  EXPECT_TRUE(json.as_object().contains("users"));
}

TEST_F(UsersTest, CliUsageErrorsExitTwo) {
  const auto result = server_->Cli({"users", "create"}, server_->admin_key());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("✗"), std::string::npos);
}

TEST_F(UsersTest, ResetAdminReactivatesAnAdminOffline) {
  RunvoyServer server;
  const int stopped = server.Stop(SIGTERM);
  EXPECT_EQ(stopped, 0);
  const auto reset = RunProcess({RunvoyBinary(), "server", "reset-admin", "rescue@example.com",
                                 "--data-dir", server.data_dir()},
                                {{"RUNVOY_CONFIG", "none"}});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  ASSERT_EQ(reset.out.rfind("admin api key: ", 0), 0u) << reset.out;
  std::string key = reset.out.substr(15);
  key.erase(key.find_last_not_of("\n") + 1);
  server.Start();
  EXPECT_EQ(server.Call("GET", "/api/v1/users", key).status, 200);
}

}  // namespace
}  // namespace runvoy::testing
