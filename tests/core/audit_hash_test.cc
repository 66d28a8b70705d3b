#include "core/audit_hash.h"

#include <gtest/gtest.h>

namespace runvoy::core {
namespace {

AuditEntry Entry() {
  AuditEntry entry;
  entry.seq = 7;
  entry.time = FromUnixMillis(1764478601000);
  entry.node = "node-a";
  entry.request_id = "r1";
  entry.user = "a@example.com";
  entry.method = "GET";
  entry.path = "/api/v1/users";
  entry.status = 200;
  entry.prev_hash = "abc";
  return entry;
}

TEST(AuditHash, ChangesWhenAnyFieldChanges) {
  const std::string base = AuditEntryHash(Entry());
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(base, AuditEntryHash(Entry()));
  AuditEntry edited = Entry();
  edited.status = 403;
  EXPECT_NE(AuditEntryHash(edited), base);
  edited = Entry();
  edited.prev_hash = "abd";
  EXPECT_NE(AuditEntryHash(edited), base);
  edited = Entry();
  edited.seq = 8;
  EXPECT_NE(AuditEntryHash(edited), base);
}

TEST(AuditHash, FieldBoundariesCannotBeShifted) {
  AuditEntry a = Entry();
  a.user = "ab";
  a.role = "c";
  AuditEntry b = Entry();
  b.user = "a";
  b.role = "bc";
  EXPECT_NE(AuditEntryHash(a), AuditEntryHash(b));
}

}  // namespace
}  // namespace runvoy::core
