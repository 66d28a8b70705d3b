// Bad input gets the right status and code, and nothing stored changes (issue: Foundation).

#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new RunvoyServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  const std::string& admin() const { return server_->admin_key(); }

  // The stored users and images, to show a refused request changed nothing.
  std::string Snapshot() const {
    return server_->Call("GET", "/api/v1/users", admin()).body +
           server_->Call("GET", "/api/v1/images", admin()).body;
  }

  void ExpectRefused(const std::string& method, const std::string& path, const std::string& body,
                     long status, const std::string& code) {
    const std::string before = Snapshot();
    const auto response = server_->Call(method, path, admin(), body);
    EXPECT_EQ(response.status, status) << method << " " << path << " " << body << " -> "
                                       << response.body;
    EXPECT_EQ(response.Code(), code) << response.body;
    EXPECT_TRUE(response.json.is_object() && response.json.as_object().contains("error"));
    EXPECT_EQ(Snapshot(), before) << "stored data changed after " << method << " " << path;
  }

  static RunvoyServer* server_;
};

RunvoyServer* BadInputTest::server_ = nullptr;

TEST_F(BadInputTest, MalformedJsonIsInvalidRequest) {
  ExpectRefused("POST", "/api/v1/users/create", "{\"email\": ", 400, "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/users/create", "[1,2,3]", 400, "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/images/register", "not json", 400, "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/run", "{\"command\":", 400, "INVALID_REQUEST");
}

TEST_F(BadInputTest, WrongJsonTypesAreInvalidRequest) {
  ExpectRefused("POST", "/api/v1/users/create", R"({"email":5,"role":"viewer"})", 400,
                "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/images/register", R"({"image":"alpine","cpu":"lots"})", 400,
                "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/images/register", R"({"image":"alpine","is_default":"yes"})",
                400, "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/run", R"({"command":"true","env":["A=1"]})", 400,
                "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/run", R"({"command":"true","timeout":"1h"})", 400,
                "INVALID_REQUEST");
}

TEST_F(BadInputTest, UnknownRolesAndInvalidEmailsAreRefused) {
  ExpectRefused("POST", "/api/v1/users/create", R"({"email":"a@example.com","role":"root"})",
                400, "INVALID_REQUEST");
  for (const char* email : {"plainaddress", "@example.com", "a@b", "a b@example.com",
                            "a@@example.com", "a@example..com"}) {
    ExpectRefused("POST", "/api/v1/users/create",
                  boost::json::serialize(boost::json::object{{"email", email}, {"role", "viewer"}}),
                  400, "INVALID_REQUEST");
  }
}

TEST_F(BadInputTest, ChosenKeysOfTheWrongFormatAreRefused) {
  for (const char* key : {"short", "has spaces in it but long enough", "ünïcode-ünïcode-ünïcode",
                          "slash/is/not/allowed/in/keys"}) {
    ExpectRefused("POST", "/api/v1/users/create",
                  boost::json::serialize(boost::json::object{
                      {"email", "k@example.com"}, {"role", "viewer"}, {"api_key", key}}),
                  400, "INVALID_REQUEST");
  }
}

TEST_F(BadInputTest, OversizeBodiesAreRefusedFromTheHeaders) {
  const std::string huge(2 * 1024 * 1024, 'x');
  ExpectRefused("POST", "/api/v1/users/create", huge, 413, "PAYLOAD_TOO_LARGE");
}

TEST_F(BadInputTest, BadPercentEncodingIsInvalidRequest) {
  ExpectRefused("GET", "/api/v1/images/%zz", "", 400, "INVALID_REQUEST");
  ExpectRefused("GET", "/api/v1/executions/%", "", 400, "INVALID_REQUEST");
}

TEST_F(BadInputTest, PathTraversalInImageReferencesIsRefused) {
  ExpectRefused("POST", "/api/v1/images/register", R"({"image":"../../etc/passwd"})", 400,
                "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/images/register", R"({"image":"registry.example.com/../x"})",
                400, "INVALID_REQUEST");
  ExpectRefused("GET", "/api/v1/images/a/%2E%2E/b", "", 400, "INVALID_REQUEST");
}

TEST_F(BadInputTest, UnknownRoutesAreNotFoundAndWrongMethodsNotAllowed) {
  ExpectRefused("GET", "/api/v1/nothing-here", "", 404, "NOT_FOUND");
  ExpectRefused("GET", "/api/v2/users", "", 404, "NOT_FOUND");
  const auto wrong = server_->Call("PUT", "/api/v1/users/create", admin(), "{}");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.Code(), "METHOD_NOT_ALLOWED");
  EXPECT_NE(wrong.headers.at("allow").find("POST"), std::string::npos);
  // Routing comes before authentication.
  EXPECT_EQ(server_->Call("GET", "/api/v1/nothing-here", "").status, 404);
  EXPECT_EQ(server_->Call("PUT", "/api/v1/users/create", "").status, 405);
}

TEST_F(BadInputTest, InvalidQueryParametersAreInvalidRequest) {
  ExpectRefused("GET", "/api/v1/executions?limit=-1", "", 400, "INVALID_REQUEST");
  ExpectRefused("GET", "/api/v1/executions?limit=abc", "", 400, "INVALID_REQUEST");
  ExpectRefused("GET", "/api/v1/executions?status=DANCING", "", 400, "INVALID_REQUEST");
  ExpectRefused("GET", "/api/v1/executions?before=zzz", "", 400, "INVALID_REQUEST");
}

TEST_F(BadInputTest, RunRequestsAreValidated) {
  ExpectRefused("POST", "/api/v1/run", R"({"command":""})", 400, "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/run", R"({"command":"true","env":{"1BAD":"x"}})", 400,
                "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/run", R"({"command":"true","timeout":-5})", 400,
                "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/run", R"({"command":"true","timeout":99999999})", 400,
                "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/run", R"({"command":"true","git_repo":"x","git_path":"../up"})",
                400, "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/run", R"({"command":"true","image":"never-registered"})", 400,
                "INVALID_REQUEST");
  ExpectRefused("POST", "/api/v1/run", R"({"command":"true","secrets":["missing"]})", 400,
                "INVALID_REQUEST");
}

TEST_F(BadInputTest, EveryResponseCarriesARequestId) {
  const auto response = server_->Call("GET", "/api/v1/health", "", "",
                                      {{"X-Request-ID", "client-chosen-id"}});
  ASSERT_TRUE(response.headers.count("x-request-id"));
  const std::string id = response.headers.at("x-request-id");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_NE(id, "client-chosen-id");
}

}  // namespace
}  // namespace runvoy::testing
