#include "providers/postgres/postgres_store.h"

#include <charconv>
#include <utility>

#include "providers/postgres/migrations.h"
#include "providers/postgres/notifier.h"
#include "providers/postgres/pg_db.h"
#include "providers/postgres/repositories.h"

namespace runvoy::providers::postgres {
namespace {

class PostgresStore final : public contract::Store {
 public:
  PostgresStore(std::unique_ptr<Pool> pool, const ConnectSettings& settings,
                const std::string& channel)
      : pool_(std::move(pool)),
        users_(MakeUserRepository(*pool_)),
        images_(MakeImageRepository(*pool_)),
        executions_(MakeExecutionRepository(*pool_)),
        logs_(MakeLogRepository(*pool_)),
        websocket_tokens_(MakeWebSocketTokenRepository(*pool_)),
        audit_(MakeAuditRepository(*pool_)),
        idempotency_(MakeIdempotencyRepository(*pool_)),
        secrets_(MakeSecretRepository(*pool_)),
        blobs_(MakeBlobRepository(*pool_)),
        settings_(MakeSettingRepository(*pool_)),
        notices_(*pool_, settings, channel) {}

  ~PostgresStore() override { notices_.Stop(); }
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;
  PostgresStore(PostgresStore&&) = delete;
  PostgresStore& operator=(PostgresStore&&) = delete;

  std::string Name() const override { return "postgres"; }
  bool IsShared() const override { return true; }

  Result<void> Ping() override {
    return pool_->Run<void>(
        [](Connection& c) -> Result<void> {
          auto pong = c.Query("SELECT 1");
          if (!pong) {
            return tl::unexpected(pong.error());
          }
          return {};
        },
        /*is_read=*/true);
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
  // Declared first so everything that refers to it is destroyed before it.
  std::unique_ptr<Pool> pool_;
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
  PostgresNotifier notices_;
};

core::Error BadKey(const std::string& key, const std::string& value, const char* expected) {
  return core::Error{core::ErrorCode::kInvalidRequest,
                     "store.postgres." + key + ": " + expected + ", got \"" + value + "\""};
}

}  // namespace

core::Result<PostgresOptions> OptionsFromSection(const contract::ProviderContext& context) {
  PostgresOptions options;
  options.dsn = context.Get("dsn");
  if (const std::string size = context.Get("pool_size"); !size.empty()) {
    std::size_t parsed = 0;
    const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), parsed);
    if (ec != std::errc() || end != size.data() + size.size() || parsed == 0 || parsed > 1000) {
      return tl::unexpected(BadKey("pool_size", size, "a number of connections from 1 to 1000"));
    }
    options.pool_size = parsed;
  }
  struct Duration {
    const char* key;
    std::chrono::milliseconds* target;
  };
  std::chrono::milliseconds connect_timeout = options.connect_timeout;
  for (const Duration& duration : {Duration{"acquire_timeout", &options.acquire_timeout},
                                   Duration{"statement_timeout", &options.statement_timeout},
                                   Duration{"connect_timeout", &connect_timeout}}) {
    const std::string text = context.Get(duration.key);
    if (text.empty()) {
      continue;
    }
    const auto parsed = core::ParseDuration(text);
    if (!parsed || parsed->count() <= 0) {
      return tl::unexpected(BadKey(duration.key, text, "a duration such as 5s or 500ms"));
    }
    *duration.target = *parsed;
  }
  if (!context.Get("connect_timeout").empty()) {
    // libpq counts whole seconds.
    options.connect_timeout =
        std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(connect_timeout));
    options.connect_timeout_explicit = true;
  }
  return options;
}

core::Result<std::unique_ptr<contract::Store>> OpenPostgresStore(const PostgresOptions& options) {
  if (options.dsn.empty()) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "the postgres store needs a DSN (--postgres-dsn, RUNVOY_POSTGRES_DSN or "
                      "store.postgres.dsn)");
  }
  PoolOptions pool_options;
  pool_options.connect.dsn = options.dsn;
  pool_options.connect.connect_timeout = options.connect_timeout;
  pool_options.connect.connect_timeout_explicit = options.connect_timeout_explicit;
  pool_options.connect.statement_timeout = options.statement_timeout;
  pool_options.max_size = options.pool_size;
  pool_options.acquire_timeout = options.acquire_timeout;
  auto pool = std::make_unique<Pool>(pool_options);
  auto migrated = pool->Run<void>([](Connection& c) { return ApplyMigrations(c); });
  if (!migrated) {
    return tl::unexpected(migrated.error());
  }
  return std::unique_ptr<contract::Store>(
      std::make_unique<PostgresStore>(std::move(pool), pool_options.connect, options.channel));
}

void Register(contract::Registry& registry) {
  registry.AddStore("postgres",
                    {"dsn", "pool_size", "connect_timeout", "acquire_timeout", "statement_timeout"},
                    [](const contract::ProviderContext& context)
                        -> core::Result<std::unique_ptr<contract::Store>> {
                      auto options = OptionsFromSection(context);
                      if (!options) {
                        return tl::unexpected(options.error());
                      }
                      return OpenPostgresStore(*options);
                    });
}

}  // namespace runvoy::providers::postgres
