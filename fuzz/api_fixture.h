#pragma once

// The whole API pipeline in memory for the HTTP and JSON-body harnesses: every route of the
// router behind the real Api middleware (routing, CORS, authentication, rate limiting, policy,
// audit), the real services over a real SQLite store on a temporary file, and in-memory compute
// and vault (tests/support/fakes.h). No socket: requests go straight to Api::Handle.

#include <unistd.h>

#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/random_ids.h"
#include "core/log.h"
#include "core/time.h"
#include "providers/sqlite/sqlite_store.h"
#include "server/api.h"
#include "server/handlers/routes.h"
#include "server/metrics.h"
#include "service/audit_trail.h"
#include "service/event_processor.h"
#include "service/executions.h"
#include "service/images.h"
#include "service/last_used_recorder.h"
#include "service/reconcile.h"
#include "service/secrets.h"
#include "service/trace.h"
#include "service/users.h"
#include "support/fakes.h"

namespace runvoy::fuzz {

// API keys of one user per role, seeded at start; the corpus uses them.
inline constexpr const char* kAdminKey = "fuzz-admin-key-0000000000";
inline constexpr const char* kOperatorKey = "fuzz-operator-key-00000000";
inline constexpr const char* kDeveloperKey = "fuzz-developer-key-0000000";
inline constexpr const char* kViewerKey = "fuzz-viewer-key-000000000";
inline constexpr const char* kMetricsToken = "fuzz-metrics-token";
// The peer every request comes from; it is a trusted proxy, so X-Forwarded-For counts.
inline constexpr const char* kPeer = "10.0.0.1";

// A clock that moves one minute per request, so that the failed-authentication limiter never
// carries one input's failures into the next.
class SteppingClock final : public core::Clock {
 public:
  core::TimePoint Now() const override { return now_; }
  void Step() { now_ += std::chrono::minutes(1); }

 private:
  core::TimePoint now_ = core::FromUnixMillis(1'800'000'000'000);
};

class ApiFixture {
 public:
  ApiFixture() {
    core::log::Configure(core::log::Format::kText, core::log::Level::kError);
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/runvoy-fuzz-" +
            std::to_string(::getpid()) + ".db";
    RemoveFiles();
    auto store = providers::sqlite::OpenSqliteStore(path_);
    if (!store) Die("cannot open the store: " + store.error().message);
    store_ = std::move(*store);
    users_ = std::make_unique<service::Users>(*store_, clock_, ids_);
    images_ = std::make_unique<service::Images>(*store_, clock_);
    secrets_ = std::make_unique<service::Secrets>(*store_, vault_, clock_);
    executions_ = std::make_unique<service::Executions>(*store_, compute_, *images_, *secrets_,
                                                        clock_, ids_, service::ExecutionSettings{});
    processor_ = std::make_unique<service::EventProcessor>(*store_, feed_, clock_);
    reconciler_ = std::make_unique<service::Reconciler>(*store_, compute_, vault_, *processor_,
                                                        clock_, service::ReconcileSettings{});
    tracer_ = std::make_unique<service::Tracer>(*store_, clock_, 1000);
    audit_ = std::make_unique<service::AuditTrail>(*store_, clock_, "fuzz-node");
    last_used_ = std::make_unique<service::LastUsedRecorder>(*store_);
    metrics_ = std::make_unique<server::Metrics>([] { return std::size_t{0}; });
    server::AddAllRoutes(router_, {*store_, *users_, *images_, *secrets_, *executions_,
                                   *reconciler_, *tracer_, {"fuzz", "fake", "sqlite", ""},
                                   {metrics_.get(), kMetricsToken}});
    api_ = std::make_unique<server::Api>(
        router_, *users_, *audit_, *last_used_, clock_, ids_,
        server::ApiOptions{{"https://app.example.com"}, {kPeer}, "", 30, metrics_.get()});
    Seed();
  }

  // The members go in reverse order (the store last); the files are unlinked while open.
  ~ApiFixture() { RemoveFiles(); }

  // Runs `request` through the pipeline (HandleOversized when `oversized`), reads a streamed body
  // to its end, and checks what every response must satisfy.
  server::HttpResponse Send(server::HttpRequest request, bool oversized = false) {
    clock_.Step();
    request.peer_ip = kPeer;
    server::HttpResponse response =
        oversized ? api_->HandleOversized(std::move(request)) : api_->Handle(std::move(request));
    if (response.producer) {
      std::string chunk;
      for (int pieces = 0; pieces < 100000 && response.producer(chunk); ++pieces) {
        response.body += chunk;
        chunk.clear();
      }
      response.body += chunk;
      response.producer = nullptr;
    }
    Check(response);
    return response;
  }

  const server::Router& router() const { return router_; }
  // IDs of things that exist, to fill a route's placeholders with.
  const std::string& execution_id() const { return execution_id_; }
  const std::string& image_id() const { return image_id_; }
  const std::string& claim_token() const { return claim_token_; }

 private:
  [[noreturn]] static void Die(const std::string& why) {
    std::fprintf(stderr, "api fixture: %s\n", why.c_str());
    std::abort();
  }

  // A 500 means a handler threw or hit a bug; a JSON content type must carry valid JSON; a
  // request ID is always returned.
  static void Check(const server::HttpResponse& response) {
    if (response.status < 100 || response.status > 599 || response.status == 500) {
      Die("unexpected status " + std::to_string(response.status) + ": " + response.body);
    }
    bool json = false;
    bool request_id = false;
    for (const auto& [name, value] : response.headers) {
      if (name == "Content-Type" && value.rfind("application/json", 0) == 0) json = true;
      if (name == "X-Request-ID" && !value.empty()) request_id = true;
    }
    if (!request_id) Die("no X-Request-ID");
    if (json) {
      boost::system::error_code ec;
      boost::json::parse(response.body, ec);
      if (ec) Die("invalid JSON body (" + ec.message() + "): " + response.body);
    }
  }

  server::HttpResponse Post(const std::string& target, const std::string& body,
                            const std::string& key = kAdminKey) {
    server::HttpRequest request;
    request.method = "POST";
    request.target = target;
    request.headers["x-api-key"] = key;
    request.headers["content-type"] = "application/json";
    request.body = body;
    return Send(std::move(request));
  }

  void Seed() {
    if (auto seeded = users_->SeedAdmin("admin@example.com", std::string(kAdminKey)); !seeded) {
      Die("seed admin: " + seeded.error().message);
    }
    const std::pair<const char*, const char*> others[] = {
        {"operator", kOperatorKey}, {"developer", kDeveloperKey}, {"viewer", kViewerKey}};
    for (const auto& [role, key] : others) {
      const std::string body = std::string("{\"email\":\"") + role +
                               "@example.com\",\"role\":\"" + role + "\",\"api_key\":\"" + key +
                               "\"}";
      const auto created = Post("/api/v1/users/create", body);
      if (created.status != 201) Die("create user: " + created.body);
      const std::string token(
          boost::json::parse(created.body).at("claim_token").as_string());
      server::HttpRequest claim;
      claim.method = "GET";
      claim.target = "/api/v1/claim/" + token;
      if (const auto claimed = Send(std::move(claim)); claimed.status != 200) {
        Die("claim: " + claimed.body);
      }
    }
    const auto image =
        Post("/api/v1/images/register", R"({"image":"alpine:3.19","is_default":true})");
    if (image.status != 200 && image.status != 201) Die("register image: " + image.body);
    image_id_ = std::string(boost::json::parse(image.body).at("image_id").as_string());
    const auto secret = Post(
        "/api/v1/secrets",
        R"({"name":"db-password","key_name":"DB_PASSWORD","value":"hunter2-secret"})");
    if (secret.status != 200 && secret.status != 201) Die("create secret: " + secret.body);
    const auto run = Post("/api/v1/run",
                          R"({"command":"echo hello","secrets":["db-password"],"env":{"A":"1"}})",
                          kOperatorKey);
    if (run.status != 200 && run.status != 201 && run.status != 202) Die("run: " + run.body);
    execution_id_ = std::string(boost::json::parse(run.body).at("execution_id").as_string());
    const auto pending = Post("/api/v1/users/create",
                              R"({"email":"pending@example.com","role":"viewer"})");
    if (pending.status != 201) Die("create pending user: " + pending.body);
    claim_token_ =
        std::string(boost::json::parse(pending.body).at("claim_token").as_string());
  }

  void RemoveFiles() const {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::remove((path_ + suffix).c_str());
    }
  }

  std::string path_;
  SteppingClock clock_;
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
  std::unique_ptr<service::AuditTrail> audit_;
  std::unique_ptr<service::LastUsedRecorder> last_used_;
  std::unique_ptr<server::Metrics> metrics_;
  server::Router router_;
  std::unique_ptr<server::Api> api_;
  std::string execution_id_;
  std::string image_id_;
  std::string claim_token_;
};

}  // namespace runvoy::fuzz
