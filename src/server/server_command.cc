#include "server/server_command.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <climits>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/random_ids.h"
#include "config/server_config.h"
#include "core/log.h"
#include "core/version.h"
#include "server/api.h"
#include "server/handlers/routes.h"
#include "server/http_transport.h"
#include "server/live_logs_adapter.h"
#include "server/log_hub.h"
#include "server/metrics.h"
#include "service/audit_trail.h"
#include "service/event_processor.h"
#include "service/executions.h"
#include "service/images.h"
#include "service/last_used_recorder.h"
#include "service/nodes.h"
#include "service/notifying_feed.h"
#include "service/peer_relay.h"
#include "service/reconcile.h"
#include "service/recovery.h"
#include "service/secrets.h"
#include "service/trace.h"
#include "service/users.h"

namespace runvoy::server {
namespace {

constexpr std::size_t kTraceCapacity = 200000;

// A start-up failure: one line on stderr saying what to fix.
int StartupError(const std::string& message) {
  std::fprintf(stderr, "runvoy server: %s\n", message.c_str());
  return 1;
}

std::string SelfExecutable() {
  char path[PATH_MAX];
  const ssize_t length = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) return "runvoy";
  return std::string(path, static_cast<std::size_t>(length));
}

// The node ID from the configuration, else the one kept in the data directory (made once).
core::Result<std::string> NodeId(const config::ServerConfig& config, core::IdGenerator& ids) {
  if (!config.node_id.empty()) return config.node_id;
  const std::string path = config.data_dir + "/node_id";
  if (std::ifstream in(path); in) {
    std::string id;
    std::getline(in, id);
    if (!id.empty()) return id;
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string id = std::string(host) + "-" + ids.NewHexId().substr(0, 8);
  std::ofstream out(path);
  out << id << "\n";
  if (!out) return core::Fail(core::ErrorCode::kInvalidRequest, "cannot write " + path);
  return id;
}

contract::ProviderContext ContextFor(const config::ServerConfig& config, const std::string& kind,
                                     const std::string& name, const std::string& node,
                                     const core::Clock& clock) {
  contract::ProviderContext context;
  context.data_dir = config.data_dir;
  context.node_id = node;
  context.runvoy_binary = SelfExecutable();
  context.clock = &clock;
  if (const auto it = config.provider_sections.find(kind + "." + name);
      it != config.provider_sections.end()) {
    context.section = it->second;
  }
  return context;
}

// Blocks until SIGTERM or SIGINT. The signals are blocked in every thread (see Run), so only
// this wait receives them.
void WaitForStopSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int received = 0;
  sigwait(&signals, &received);
}

core::log::Format LogFormat(const config::ServerConfig& config) {
  return config.log_format == "json" ? core::log::Format::kJson : core::log::Format::kText;
}

class Server {
 public:
  Server(const contract::Registry& registry, config::ServerConfig config)
      : registry_(registry), config_(std::move(config)) {}

  int Run();
  int ResetAdmin(const std::string& email);
  int RotateKey(const std::string& new_key_base64);

 private:
  core::Result<void> OpenStore();
  void RunReconcileLoop(std::stop_token stop, service::Reconciler& reconciler);
  void RunNodeLoop(std::stop_token stop, service::Nodes& nodes, contract::ComputeProvider& compute,
                   service::EventProcessor& processor);

  const contract::Registry& registry_;
  const config::ServerConfig config_;
  core::WallClock clock_;
  common::RandomIdGenerator ids_;
  std::string node_;
  std::unique_ptr<contract::Store> store_;
};

core::Result<void> Server::OpenStore() {
  if (auto ready = config::PrepareDataDir(config_.data_dir); !ready) {
    return tl::unexpected(ready.error());
  }
  auto node = NodeId(config_, ids_);
  if (!node) return tl::unexpected(node.error());
  node_ = *node;
  auto store = registry_.MakeStore(
      config_.store_provider, ContextFor(config_, "store", config_.store_provider, node_, clock_));
  if (!store) return tl::unexpected(store.error());
  store_ = std::move(*store);
  return {};
}

void Server::RunReconcileLoop(std::stop_token stop, service::Reconciler& reconciler) {
  std::mutex mutex;
  std::condition_variable_any wake;
  while (true) {
    std::unique_lock lock(mutex);
    if (wake.wait_for(lock, stop, config_.reconcile_interval, [] { return false; }) ||
        stop.stop_requested()) {
      return;
    }
    const service::ReconcileReport report = reconciler.Run();
    core::log::Info("", "reconcile: {} issues, {} reconciled, {} errors", report.issues.size(),
                    report.reconciled_count, report.error_count);
  }
}

// Every beat interval: this node's heartbeat, then the take-over of silent peers' executions.
void Server::RunNodeLoop(std::stop_token stop, service::Nodes& nodes,
                         contract::ComputeProvider& compute, service::EventProcessor& processor) {
  std::mutex mutex;
  std::condition_variable_any wake;
  while (true) {
    std::unique_lock lock(mutex);
    if (wake.wait_for(lock, stop, nodes.BeatInterval(), [] { return false; }) ||
        stop.stop_requested()) {
      return;
    }
    if (auto beat = nodes.Beat(); !beat) {
      core::log::Warn("", "heartbeat not stored: {}", beat.error().message);
      continue;
    }
    auto taken = service::TakeOverSilentNodes(*store_, compute, processor, nodes);
    if (!taken) {
      core::log::Warn("", "take-over of silent nodes failed: {}", taken.error().message);
    } else if (*taken > 0) {
      core::log::Info("", "took over {} executions of silent nodes", *taken);
    }
  }
}

int Server::Run() {
  if (auto opened = OpenStore(); !opened) return StartupError(opened.error().message);
  auto compute = registry_.MakeCompute(
      config_.compute_provider,
      ContextFor(config_, "compute", config_.compute_provider, node_, clock_));
  if (!compute) return StartupError(compute.error().message);
  contract::ProviderContext vault_context =
      ContextFor(config_, "vault", config_.vault_provider, node_, clock_);
  vault_context.section["master_key"] = config_.master_key;
  auto vault = registry_.MakeVault(config_.vault_provider, vault_context, *store_);
  if (!vault) return StartupError(vault.error().message);

  service::Tracer tracer(*store_, clock_, kTraceCapacity);
  core::log::SetListener([&tracer](core::log::Level level, std::string_view request_id,
                                   std::string_view message) {
    tracer.Remember(level, request_id, message);
  });

  LogHub hub;
  std::unique_ptr<Metrics> metrics;
  if (config_.metrics) metrics = std::make_unique<Metrics>([&hub] { return hub.FollowerCount(); });
  // Events reach this server's followers through the hub and other servers' through notices.
  service::NotifyingFeed feed(hub, store_->Notices(), node_);
  service::EventProcessor processor(*store_, feed, clock_, metrics.get());
  (*compute)->SetEventSink(processor);
  service::PeerRelay relay(*store_, hub, **compute, node_, [&hub](const std::string& id) {
    return hub.FollowerCount(id) > 0;
  });
  store_->Notices().Listen([&relay](const contract::Notice& notice) { relay.Handle(notice); });
  service::Nodes nodes(*store_, clock_, node_, config_.node_timeout);
  if (auto beat = nodes.Beat(); !beat) {
    return StartupError("cannot store this node's heartbeat: " + beat.error().message);
  }

  service::Users users(*store_, clock_, ids_);
  service::Images images(*store_, clock_);
  service::Secrets secrets(*store_, **vault, clock_);
  service::ExecutionSettings execution_settings{node_, config_.default_timeout,
                                                config_.max_timeout, config_.kill_grace,
                                                config_.output_cap_bytes};
  service::Executions executions(*store_, **compute, images, secrets, clock_, ids_,
                                 execution_settings);
  service::Reconciler reconciler(*store_, **compute, **vault, processor, clock_,
                                 {node_, config_.reconcile_stop_orphans});
  service::AuditTrail audit(*store_, clock_, node_);
  service::LastUsedRecorder last_used(*store_);

  if (!config_.seed_admin.empty()) {
    std::optional<std::string> chosen;
    if (!config_.seed_admin_key.empty()) chosen = config_.seed_admin_key;
    auto seeded = users.SeedAdmin(config_.seed_admin, chosen);
    if (!seeded) return StartupError(seeded.error().message + " " + seeded.error().details);
    if (*seeded) std::printf("admin api key: %s\n", (*seeded)->c_str());
  }
  auto recovered = service::RecoverExecutions(*store_, **compute, processor, node_);
  if (!recovered) return StartupError("recovery failed: " + recovered.error().message);

  Router router;
  AddAllRoutes(router, {*store_, users, images, secrets, executions, reconciler, tracer,
                        {std::string(core::kVersion), (*compute)->Name(), store_->Name(), ""},
                        {metrics.get(), config_.metrics_token},
                        compute->get()});
  Api api(router, users, audit, last_used, clock_, ids_,
          {config_.cors_origins, config_.trusted_proxies, config_.public_url,
           config_.auth_failure_limit, metrics.get()});
  ExecutionLiveLogs live_logs(executions);
  HttpServerOptions options;
  options.host = config_.listen_host;
  options.port = config_.listen_port;
  options.max_body_bytes = config_.max_body_bytes;
  options.body_limits["/api/v1/images/import"] = config_.import_max_bytes;
  options.tls_cert_file = config_.tls_cert_file;
  options.tls_key_file = config_.tls_key_file;
  HttpServer http(api, live_logs, hub, options);
  auto port = http.Start();
  if (!port) return StartupError(port.error().message + " " + port.error().details);

  core::log::Info("", "runvoy {} node {} store {} compute {} recovered {} executions",
                  core::kVersion, node_, store_->Name(), (*compute)->Name(), *recovered);
  std::printf("listening on %s://%s:%d\n", config_.tls_cert_file.empty() ? "http" : "https",
              config_.listen_host.c_str(), *port);
  std::fflush(stdout);

  std::jthread reconcile_loop(
      [this, &reconciler](std::stop_token stop) { RunReconcileLoop(stop, reconciler); });
  std::jthread node_loop([this, &nodes, &compute, &processor](std::stop_token stop) {
    RunNodeLoop(stop, nodes, **compute, processor);
  });
  WaitForStopSignal();
  core::log::Info("", "shutting down; running executions keep running");
  reconcile_loop.request_stop();
  node_loop.request_stop();
  http.Stop();
  store_->Notices().Stop();
  core::log::SetListener(nullptr);
  return 0;
}

int Server::ResetAdmin(const std::string& email) {
  if (auto opened = OpenStore(); !opened) return StartupError(opened.error().message);
  service::Users users(*store_, clock_, ids_);
  auto key = users.ResetAdmin(email);
  if (!key) return StartupError(key.error().message + " " + key.error().details);
  std::printf("admin api key: %s\n", key->c_str());
  return 0;
}

// Offline, with every server stopped: the vault's own rotation re-seals each secret value.
int Server::RotateKey(const std::string& new_key_base64) {
  if (auto opened = OpenStore(); !opened) return StartupError(opened.error().message);
  contract::ProviderContext context =
      ContextFor(config_, "vault", config_.vault_provider, node_, clock_);
  context.section["master_key"] = config_.master_key;
  auto summary = registry_.RotateVaultKey(config_.vault_provider, context, *store_, new_key_base64);
  if (!summary) return StartupError("rotate-key: " + summary.error().message);
  std::printf("%s\n", summary->c_str());
  return 0;
}

}  // namespace

int ServerCommand(const contract::Registry& registry, const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    std::printf(
        "Usage: runvoy server [flags]\n"
        "       runvoy server reset-admin EMAIL [flags]\n"
        "       runvoy server rotate-key [flags]\n\n"
        "Runs the runvoy API server (stop it with SIGTERM).\n"
        "reset-admin re-activates or creates an admin offline and prints a new API key.\n"
        "rotate-key re-encrypts every secret under a new master key (stop every server first):\n"
        "the new key is RUNVOY_NEW_MASTER_KEY (base64, 32 bytes), else a generated one that\n"
        "replaces the key file; re-run it to finish an interrupted rotation.\n\nFlags:\n%s",
        config::ServerFlagsHelp().c_str());
    return 0;
  }
  std::vector<std::string> flags = args;
  std::string reset_email;
  const bool rotate_key = !args.empty() && args[0] == "rotate-key";
  if (rotate_key) {
    flags.assign(args.begin() + 1, args.end());
  } else if (!args.empty() && args[0] == "reset-admin") {
    if (args.size() < 2 || args[1].rfind("-", 0) == 0) {
      return StartupError("usage: runvoy server reset-admin EMAIL [flags]");
    }
    reset_email = args[1];
    flags.assign(args.begin() + 2, args.end());
  }
  // Signals are taken by WaitForStopSignal only: block them before any thread starts. A peer
  // closing a socket must not kill the server.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  // Every WebSocket follower holds a descriptor: use all the system allows, not the soft limit
  // (often 1024).
  if (struct rlimit files;
      ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }

  const std::map<std::string, std::string> environment = config::CurrentEnvironment();
  auto config = config::LoadServerConfig(flags, environment, registry);
  if (!config) return StartupError(config.error().message);
  core::log::Level level = core::log::Level::kInfo;
  core::log::ParseLevel(config->log_level, level);
  core::log::Configure(LogFormat(*config), level);

  Server server(registry, std::move(*config));
  if (!reset_email.empty()) return server.ResetAdmin(reset_email);
  if (rotate_key) {
    const auto new_key = environment.find("RUNVOY_NEW_MASTER_KEY");
    return server.RotateKey(new_key == environment.end() ? std::string() : new_key->second);
  }
  return server.Run();
}

}  // namespace runvoy::server
