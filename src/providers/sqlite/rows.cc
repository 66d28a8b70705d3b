#include "providers/sqlite/rows.h"

namespace runvoy::providers::sqlite {

Result<std::vector<std::string>> ReadOwners(Connection& connection, const char* type,
                                            const std::string& id) {
  RUNVOY_SQLITE_ASSIGN(
      stmt,
      connection.Prepare("SELECT email FROM ownership WHERE resource_type = ? AND resource_id = ? "
                         "ORDER BY position"));
  stmt->Bind(1, std::string(type)).Bind(2, id);
  std::vector<std::string> owners;
  for (;;) {
    RUNVOY_SQLITE_ASSIGN(row, stmt->Step());
    if (!row) {
      break;
    }
    owners.push_back(stmt->Text(0));
  }
  return owners;
}

Result<void> WriteOwners(Connection& connection, const char* type, const std::string& id,
                         const std::vector<std::string>& owners) {
  RUNVOY_SQLITE_CHECK(DeleteOwners(connection, type, id));
  RUNVOY_SQLITE_ASSIGN(stmt,
                       connection.Prepare("INSERT INTO ownership (resource_type, resource_id, "
                                          "position, email) VALUES (?, ?, ?, ?)"));
  for (std::size_t i = 0; i < owners.size(); ++i) {
    RUNVOY_SQLITE_CHECK(stmt->Bind(1, std::string(type))
                            .Bind(2, id)
                            .Bind(3, static_cast<int64_t>(i))
                            .Bind(4, owners[i])
                            .Run());
    stmt->Reset();
  }
  return {};
}

Result<void> DeleteOwners(Connection& connection, const char* type, const std::string& id) {
  RUNVOY_SQLITE_ASSIGN(
      stmt,
      connection.Prepare("DELETE FROM ownership WHERE resource_type = ? AND resource_id = ?"));
  RUNVOY_SQLITE_CHECK(stmt->Bind(1, std::string(type)).Bind(2, id).Run());
  return {};
}

}  // namespace runvoy::providers::sqlite
