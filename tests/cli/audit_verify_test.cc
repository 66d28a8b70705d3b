#include "cli/audit_verify.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/audit_hash.h"
#include "core/records.h"
#include "core/time.h"
#include "test_support.h"

namespace runvoy::cli {
namespace {

namespace json = boost::json;

// A valid chain of `count` entries for `node`, as the API sends them.
std::vector<json::object> Chain(const std::string& node, int count) {
  std::vector<json::object> entries;
  std::string prev;
  for (int i = 1; i <= count; ++i) {
    core::AuditEntry entry;
    entry.seq = i;
    entry.time = core::FromUnixMillis(1700000000123LL + i);
    entry.node = node;
    entry.request_id = "req" + std::to_string(i);
    entry.user = "admin@x.io";
    entry.role = "admin";
    entry.method = "GET";
    entry.path = "/api/v1/users";
    entry.status = 200;
    entry.client_ip = "127.0.0.1";
    entry.prev_hash = prev;
    entry.hash = core::AuditEntryHash(entry);
    prev = entry.hash;
    entries.push_back(json::object{{"seq", entry.seq},
                                   {"time", core::FormatRfc3339(entry.time)},
                                   {"node", entry.node},
                                   {"request_id", entry.request_id},
                                   {"user", entry.user},
                                   {"role", entry.role},
                                   {"method", entry.method},
                                   {"path", entry.path},
                                   {"status", entry.status},
                                   {"client_ip", entry.client_ip},
                                   {"prev_hash", entry.prev_hash},
                                   {"hash", entry.hash}});
  }
  return entries;
}

TEST(AuditVerify, IntactChainsOfSeveralNodesPass) {
  AuditVerifier verifier;
  auto a = Chain("node-a", 3);
  auto b = Chain("node-b", 2);
  verifier.Add(a[0]);
  verifier.Add(b[0]);
  verifier.Add(a[1]);
  verifier.Add(b[1]);
  verifier.Add(a[2]);
  EXPECT_TRUE(verifier.intact());
  EXPECT_EQ(verifier.chains().at("node-a").entries, 3);
  EXPECT_EQ(verifier.chains().at("node-a").last_seq, 3);
  EXPECT_EQ(verifier.chains().at("node-b").entries, 2);
}

TEST(AuditVerify, AnAlteredEntryIsFound) {
  AuditVerifier verifier;
  auto a = Chain("n", 3);
  a[1]["status"] = 403;
  for (const auto& entry : a)
    verifier.Add(entry);
  EXPECT_FALSE(verifier.intact());
  ASSERT_EQ(verifier.chains().at("n").problems.size(), 1u);
  EXPECT_NE(verifier.chains().at("n").problems[0].find("seq 2"), std::string::npos);
}

TEST(AuditVerify, ARemovedEntryIsFound) {
  AuditVerifier verifier;
  auto a = Chain("n", 3);
  verifier.Add(a[0]);
  verifier.Add(a[2]);
  EXPECT_FALSE(verifier.intact());
  EXPECT_EQ(verifier.chains().at("n").problems.size(), 2u);  // seq gap and prev_hash
}

TEST(AuditVerify, CommandPagesThroughTheTrailAndFailsOnTampering) {
  testing::CliRun cli;
  auto a = Chain("n", 3);
  cli.api.Reply(
      "GET", "/audit?limit=1000", 200,
      json::serialize(json::object{{"entries", json::array{a[0], a[1]}}, {"next_after", "2"}}));
  cli.api.Reply("GET", "/audit?limit=1000&after=2", 200,
                json::serialize(json::object{{"entries", json::array{a[2]}}}));
  EXPECT_EQ(cli.Run({"audit", "verify"}), 0) << cli.err.str();
  EXPECT_NE(cli.out.str().find("n     3        1          3         intact"), std::string::npos)
      << cli.out.str();

  testing::CliRun tampered;
  a[2]["user"] = "mallory@x.io";
  tampered.api.Reply("GET", "/audit?limit=1000", 200,
                     json::serialize(json::object{{"entries", json::array{a[0], a[1], a[2]}}}));
  EXPECT_EQ(tampered.Run({"audit", "verify"}), 1);
  EXPECT_NE(tampered.err.str().find("✗ the audit trail has been tampered with"), std::string::npos);
}

}  // namespace
}  // namespace runvoy::cli
