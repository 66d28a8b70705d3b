// Registered images: reference parsing, IDs, defaults and removal (SPEC.md §2.5).

#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

class ImagesTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = std::make_unique<RunvoyServer>(); }
  ApiResponse Register(const std::string& body) {
    return server_->Call("POST", "/api/v1/images/register", server_->admin_key(), body);
  }
  std::unique_ptr<RunvoyServer> server_;
};

TEST_F(ImagesTest, TheFirstImageBecomesTheDefaultAndTheCliShowsIt) {
  const auto registered = server_->Cli({"images", "register", "alpine:3.20"}, server_->admin_key());
  ASSERT_EQ(registered.exit_code, 0) << registered.err;
  const auto listed = server_->Call("GET", "/api/v1/images", server_->admin_key());
  ASSERT_EQ(listed.json.at("images").as_array().size(), 1u);
  const auto& image = listed.json.at("images").as_array()[0];
  EXPECT_TRUE(image.at("is_default").as_bool());
  EXPECT_EQ(image.at("image_name").as_string(), "alpine");
  EXPECT_EQ(image.at("image_tag").as_string(), "3.20");
  EXPECT_EQ(image.at("cpu").as_int64(), 256);
  EXPECT_EQ(image.at("memory").as_int64(), 512);
  const std::string id(image.at("image_id").as_string());
  EXPECT_EQ(id.rfind("alpine:3.20-", 0), 0u) << id;
  EXPECT_EQ(id.size(), std::string("alpine:3.20-").size() + 8);
  const auto table = server_->Cli({"images", "list"}, server_->admin_key());
  EXPECT_NE(table.out.find(id), std::string::npos) << table.out;
}

TEST_F(ImagesTest, RegisteringTheSameConfigurationAgainIsIdempotent) {
  const auto first = Register(R"({"image":"ubuntu:22.04"})");
  const auto second = Register(R"({"image":"ubuntu:22.04"})");
  ASSERT_EQ(first.status, 201);
  ASSERT_EQ(second.status, 201);
  EXPECT_EQ(first.json.at("image_id"), second.json.at("image_id"));
  const auto other = Register(R"({"image":"ubuntu:22.04","cpu":512})");
  EXPECT_NE(first.json.at("image_id"), other.json.at("image_id"));
  EXPECT_EQ(server_->Call("GET", "/api/v1/images", server_->admin_key())
                .json.at("images").as_array().size(), 2u);
}

TEST_F(ImagesTest, IsDefaultMakesAnImageTheOnlyDefault) {
  Register(R"({"image":"first"})");
  const auto second = Register(R"({"image":"second","is_default":true})");
  ASSERT_EQ(second.status, 201);
  const auto listed = server_->Call("GET", "/api/v1/images", server_->admin_key());
  int defaults = 0;
  for (const auto& image : listed.json.at("images").as_array()) {
    if (image.at("is_default").as_bool()) {
      ++defaults;
      EXPECT_EQ(image.at("image").as_string(), "second");
    }
  }
  EXPECT_EQ(defaults, 1);
}

TEST_F(ImagesTest, ShowFindsAnImageByIdOrByEquivalentReference) {
  const auto registered = Register(R"({"image":"localhost:5000/team/tool:1.2"})");
  const std::string id(registered.json.at("image_id").as_string());
  EXPECT_EQ(id.rfind("team/tool:1.2-", 0), 0u) << id;
  const auto by_id = server_->Call("GET", "/api/v1/images/" + id, server_->admin_key());
  ASSERT_EQ(by_id.status, 200) << by_id.body;
  EXPECT_EQ(by_id.json.at("image_registry").as_string(), "localhost:5000");
  const auto by_ref =
      server_->Call("GET", "/api/v1/images/localhost:5000/team/tool:1.2", server_->admin_key());
  EXPECT_EQ(by_ref.status, 200);
  Register(R"({"image":"busybox"})");
  EXPECT_EQ(server_->Call("GET", "/api/v1/images/docker.io/library/busybox:latest",
                          server_->admin_key()).status, 200);
  EXPECT_EQ(server_->Call("GET", "/api/v1/images/nothing:here", server_->admin_key()).status, 404);
}

TEST_F(ImagesTest, RemovingNeedsTheExactIdAndPromotesNoOtherDefault) {
  const auto first = Register(R"({"image":"one"})");
  Register(R"({"image":"two"})");
  const auto by_ref = server_->Call("DELETE", "/api/v1/images/one", server_->admin_key());
  EXPECT_EQ(by_ref.status, 400);
  EXPECT_NE(by_ref.body.find("image_id"), std::string::npos) << by_ref.body;
  const std::string id(first.json.at("image_id").as_string());
  const auto removed = server_->Cli({"images", "unregister", id}, server_->admin_key());
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  const auto listed = server_->Call("GET", "/api/v1/images", server_->admin_key());
  ASSERT_EQ(listed.json.at("images").as_array().size(), 1u);
  EXPECT_FALSE(listed.json.at("images").as_array()[0].at("is_default").as_bool());
}

TEST_F(ImagesTest, InvalidRegistrationsAreRefused) {
  EXPECT_EQ(Register(R"({"image":""})").status, 400);
  EXPECT_EQ(Register(R"({"image":"x","runtime_platform":"Windows/X86"})").status, 400);
  EXPECT_EQ(Register(R"({"image":"x","cpu":0})").status, 400);
  EXPECT_EQ(Register(R"({"image":"x","memory":-1})").status, 400);
  EXPECT_EQ(Register(R"({"image":"UPPER CASE"})").status, 400);
}

}  // namespace
}  // namespace runvoy::testing
