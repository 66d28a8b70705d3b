#include "providers/sqlite/sqlite_store.h"

#include <utility>

#include "contract/in_process_notifier.h"
#include "providers/sqlite/repositories.h"
#include "providers/sqlite/rows.h"
#include "providers/sqlite/sqlite_db.h"

namespace runvoy::providers::sqlite {
namespace {

class SqliteStore final : public contract::Store {
 public:
  explicit SqliteStore(std::unique_ptr<Database> db)
      : db_(std::move(db)),
        users_(MakeUserRepository(*db_)),
        images_(MakeImageRepository(*db_)),
        executions_(MakeExecutionRepository(*db_)),
        logs_(MakeLogRepository(*db_)),
        websocket_tokens_(MakeWebSocketTokenRepository(*db_)),
        audit_(MakeAuditRepository(*db_)),
        idempotency_(MakeIdempotencyRepository(*db_)),
        secrets_(MakeSecretRepository(*db_)),
        blobs_(MakeBlobRepository(*db_)),
        settings_(MakeSettingRepository(*db_)) {}

  std::string Name() const override { return "sqlite"; }
  bool IsShared() const override { return false; }

  Result<void> Ping() override {
    return db_->Read<void>([](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare("SELECT 1"));
      RUNVOY_SQLITE_CHECK(stmt->Step());
      return {};
    });
  }

  contract::UserRepository& Users() override { return *users_; }
  contract::ImageRepository& Images() override { return *images_; }
  contract::ExecutionRepository& Executions() override { return *executions_; }
  contract::LogRepository& Logs() override { return *logs_; }
  contract::WebSocketTokenRepository& WebSocketTokens() override { return *websocket_tokens_; }
  contract::AuditRepository& Audit() override { return *audit_; }
  contract::IdempotencyRepository& Idempotency() override { return *idempotency_; }
  contract::SecretRepository& Secrets() override { return *secrets_; }
  contract::BlobRepository& Blobs() override { return *blobs_; }
  contract::SettingRepository& Settings() override { return *settings_; }
  contract::Notifier& Notices() override { return notices_; }

 private:
  // Declared first so the repositories, which refer to it, are destroyed before it.
  std::unique_ptr<Database> db_;
  std::unique_ptr<contract::UserRepository> users_;
  std::unique_ptr<contract::ImageRepository> images_;
  std::unique_ptr<contract::ExecutionRepository> executions_;
  std::unique_ptr<contract::LogRepository> logs_;
  std::unique_ptr<contract::WebSocketTokenRepository> websocket_tokens_;
  std::unique_ptr<contract::AuditRepository> audit_;
  std::unique_ptr<contract::IdempotencyRepository> idempotency_;
  std::unique_ptr<contract::SecretRepository> secrets_;
  std::unique_ptr<contract::BlobRepository> blobs_;
  std::unique_ptr<contract::SettingRepository> settings_;
  contract::InProcessNotifier notices_;
};

}  // namespace

core::Result<std::unique_ptr<contract::Store>> OpenSqliteStore(const std::string& path) {
  auto db = Database::Open(path);
  if (!db) {
    return tl::unexpected(db.error());
  }
  return std::unique_ptr<contract::Store>(std::make_unique<SqliteStore>(std::move(*db)));
}

void Register(contract::Registry& registry) {
  registry.AddStore("sqlite", {"path"},
                    [](const contract::ProviderContext& context)
                        -> core::Result<std::unique_ptr<contract::Store>> {
                      std::string path = context.Get("path");
                      if (path.empty()) {
                        path = context.data_dir.empty() ? std::string("runvoy.db")
                                                        : context.data_dir + "/runvoy.db";
                      }
                      return OpenSqliteStore(path);
                    });
}

}  // namespace runvoy::providers::sqlite
