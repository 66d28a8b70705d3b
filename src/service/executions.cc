#include "service/executions.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "auth/api_keys.h"
#include "auth/policy.h"
#include "core/image_reference.h"

namespace runvoy::service {
namespace {

constexpr std::size_t kMaxCommandBytes = 256 * 1024;
constexpr std::size_t kMaxEnvEntries = 256;
constexpr std::size_t kMaxEnvValueBytes = 64 * 1024;
constexpr std::size_t kMaxGitFieldBytes = 2048;

bool Owns(const core::Execution& execution, const std::string& email) {
  return std::find(execution.owned_by.begin(), execution.owned_by.end(), email) !=
         execution.owned_by.end();
}

core::Error ExecutionNotFound() {
  return {core::ErrorCode::kNotFound, "execution not found", {}};
}

bool HasParentSegment(const std::string& path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = path.find('/', start);
    const std::string segment =
        path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (segment == "..") return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

}  // namespace

bool IsValidExecutionId(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
         });
}

Executions::Executions(contract::Store& store, contract::ComputeProvider& compute, Images& images,
                       Secrets& secrets, const core::Clock& clock, core::IdGenerator& ids,
                       ExecutionSettings settings)
    : store_(store),
      compute_(compute),
      images_(images),
      secrets_(secrets),
      clock_(clock),
      ids_(ids),
      settings_(std::move(settings)) {}

core::Result<void> Executions::Validate(const RunRequest& request) const {
  if (request.command.empty()) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "command is required");
  }
  if (request.command.size() > kMaxCommandBytes) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "command is too long",
                      "at most 256 KiB");
  }
  if (request.command.find('\0') != std::string::npos) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "command contains a NUL byte");
  }
  if (request.env.size() > kMaxEnvEntries) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "too many env entries", "at most 256");
  }
  for (const auto& [name, value] : request.env) {
    if (!IsValidEnvName(name)) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "invalid env name",
                        fmt::format("\"{}\" is not [A-Za-z_][A-Za-z0-9_]*", name.substr(0, 64)));
    }
    if (value.size() > kMaxEnvValueBytes || value.find('\0') != std::string::npos) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "invalid env value", name);
    }
  }
  if (request.timeout_seconds < 0 ||
      request.timeout_seconds > settings_.max_timeout.count()) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid timeout",
                      fmt::format("timeout must be 0 to {} seconds", settings_.max_timeout.count()));
  }
  if (request.git_repo.size() > kMaxGitFieldBytes || request.git_ref.size() > kMaxGitFieldBytes ||
      request.git_path.size() > kMaxGitFieldBytes) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "git field is too long");
  }
  if (HasParentSegment(request.git_path) || (!request.git_path.empty() && request.git_path[0] == '/')) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid git_path",
                      "git_path must be relative to the repository, without \"..\"");
  }
  if (request.git_repo.empty() && (!request.git_ref.empty() || !request.git_path.empty())) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "git_ref and git_path need git_repo");
  }
  return {};
}

std::vector<std::string> Executions::Banner(const core::Execution& execution,
                                            const core::Image& image,
                                            const RunRequest& request) const {
  std::vector<std::string> lines;
  lines.push_back(fmt::format("### runvoy: request {}", execution.created_by_request_id));
  lines.push_back(fmt::format("### runvoy: execution {} on {}", execution.execution_id,
                              execution.node));
  lines.push_back(fmt::format("### runvoy: image {} ({})", image.image, image.image_id));
  std::string workdir = "/workspace";
  if (!request.git_repo.empty()) {
    lines.push_back(fmt::format("### runvoy: repo {} ref {} path {}", request.git_repo,
                                request.git_ref.empty() ? "(default branch)" : request.git_ref,
                                request.git_path.empty() ? "." : request.git_path));
    workdir = "/workspace/repo";
    if (!request.git_path.empty()) workdir += "/" + request.git_path;
  }
  lines.push_back(fmt::format("### runvoy: working directory {}", workdir));
  lines.push_back(fmt::format("### runvoy: command {}", request.command));
  return lines;
}

core::Result<std::string> Executions::IssueWebSocketToken(const std::string& execution_id,
                                                          const std::string& email) {
  const std::string token = ids_.NewToken(auth::kWebSocketTokenLength);
  core::WebSocketToken record;
  record.token_hash = auth::HashSecretToken(token);
  record.execution_id = execution_id;
  record.email = email;
  record.expires_at = clock_.Now() + kWebSocketTokenValidity;
  if (auto put = store_.WebSocketTokens().Put(record); !put) return tl::unexpected(put.error());
  return token;
}

core::Result<RunAccepted> Executions::Replay(const Caller& caller,
                                             const std::string& execution_id) {
  auto execution = store_.Executions().Get(execution_id);
  if (!execution) return tl::unexpected(execution.error());
  if (!*execution) return tl::unexpected(ExecutionNotFound());
  auto token = IssueWebSocketToken(execution_id, caller.email);
  if (!token) return tl::unexpected(token.error());
  return RunAccepted{**execution, *token};
}

void Executions::FailToStart(core::Execution execution, const std::string& why) {
  const core::ExecutionStatus expected = execution.status;
  const core::TimePoint now = clock_.Now();
  core::LogEvent line;
  line.sequence = 1;
  line.timestamp_ms = core::ToUnixMillis(now);
  line.stream = core::LogStream::kRunvoy;
  line.message = "### runvoy: could not start: " + why;
  (void)store_.Logs().Append(execution.execution_id, {line});
  execution.status = core::ExecutionStatus::kFailed;
  execution.exit_code = core::kExitCouldNotStart;
  execution.completed_at = now;
  execution.timings.finished = now;
  (void)store_.Executions().Update(execution, expected);
}

core::Result<RunAccepted> Executions::Run(const Caller& caller, const RunRequest& request,
                                          const std::string& idempotency_key) {
  if (!auth::Allows(caller.role, auth::Action::kRun, false)) {
    return core::Fail(core::ErrorCode::kForbidden, "not allowed to start executions");
  }
  if (!idempotency_key.empty()) {
    if (idempotency_key.size() > 255) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "Idempotency-Key is too long");
    }
    auto earlier = store_.Idempotency().Get(caller.email, idempotency_key);
    if (!earlier) return tl::unexpected(earlier.error());
    if (*earlier && clock_.Now() - (*earlier)->created_at < kIdempotencyWindow) {
      return Replay(caller, (*earlier)->execution_id);
    }
  }
  if (auto valid = Validate(request); !valid) return tl::unexpected(valid.error());
  auto image = images_.ResolveForRun(request.image);
  if (!image) return tl::unexpected(image.error());
  auto secret_values = secrets_.ResolveForRun(caller, request.secrets);
  if (!secret_values) return tl::unexpected(secret_values.error());

  const core::TimePoint now = clock_.Now();
  core::Execution execution;
  execution.execution_id = ids_.NewHexId();
  execution.created_by = caller.email;
  execution.owned_by = {caller.email};
  execution.command = request.command;
  execution.image_id = image->image_id;
  execution.started_at = now;
  execution.status = core::ExecutionStatus::kStarting;
  execution.log_stream_name = "executions/" + execution.execution_id;
  execution.created_by_request_id = caller.request_id;
  execution.modified_by_request_id = caller.request_id;
  execution.cloud = compute_.Name();
  execution.node = settings_.node;
  execution.timeout_seconds = static_cast<int>(
      request.timeout_seconds > 0 ? request.timeout_seconds : settings_.default_timeout.count());
  execution.timings.accepted = now;
  for (const auto& [name, value] : request.env) execution.request.env_keys.push_back(name);
  execution.request.secrets = request.secrets;
  execution.request.git_repo = request.git_repo;
  execution.request.git_ref = request.git_ref;
  execution.request.git_path = request.git_path;

  if (auto created = store_.Executions().Create(execution); !created) {
    return tl::unexpected(created.error());
  }
  if (!idempotency_key.empty()) {
    core::IdempotencyRecord record{caller.email, idempotency_key, execution.execution_id, now};
    if (auto put = store_.Idempotency().Put(record); !put) {
      // A concurrent request with the same key won: answer with its execution instead.
      FailToStart(execution, "superseded by an earlier request with the same Idempotency-Key");
      auto winner = store_.Idempotency().Get(caller.email, idempotency_key);
      if (winner && *winner) return Replay(caller, (*winner)->execution_id);
      return tl::unexpected(put.error());
    }
  }

  contract::TaskSpec spec;
  spec.execution_id = execution.execution_id;
  spec.request_id = caller.request_id;
  spec.user = caller.email;
  spec.command = request.command;
  spec.image = {image->image_id, image->image,  image->normalized, image->cpu,
                image->memory,   image->runtime_platform};
  spec.env = request.env;
  spec.secrets = std::move(*secret_values);
  spec.git = {request.git_repo, request.git_ref, request.git_path};
  spec.timeout = std::chrono::seconds(execution.timeout_seconds);
  spec.kill_grace = settings_.kill_grace;
  spec.output_cap_bytes = settings_.output_cap_bytes;
  spec.banner = Banner(execution, *image, request);

  auto task = compute_.Start(spec);
  if (!task) {
    FailToStart(execution, task.error().message);
    return tl::unexpected(task.error());
  }
  // Record the provider's handle unless events already moved the record on; they carry it too.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto current = store_.Executions().Get(execution.execution_id);
    if (!current || !*current) break;
    core::Execution updated = **current;
    updated.task_ref = *task;
    auto written = store_.Executions().Update(updated, updated.status);
    if (!written || *written) {
      execution = updated;
      break;
    }
  }
  auto token = IssueWebSocketToken(execution.execution_id, caller.email);
  if (!token) return tl::unexpected(token.error());
  return RunAccepted{execution, *token};
}

core::Result<void> Executions::List(const Caller& caller, contract::ExecutionFilter filter,
                                    const std::function<bool(const core::Execution&)>& visit) {
  switch (auth::ScopeOf(caller.role, auth::Action::kListExecutions)) {
    case auth::Scope::kNone:
      return core::Fail(core::ErrorCode::kForbidden, "not allowed to list executions");
    case auth::Scope::kOwn:
      if (!filter.created_by.empty() && filter.created_by != caller.email) return {};
      filter.created_by = caller.email;
      break;
    case auth::Scope::kAll:
      break;
  }
  return store_.Executions().List(filter, visit);
}

core::Result<std::optional<core::Execution>> Executions::Find(const std::string& execution_id) {
  if (!IsValidExecutionId(execution_id)) return std::optional<core::Execution>();
  return store_.Executions().Get(execution_id);
}

core::Result<core::Execution> Executions::Get(const Caller& caller,
                                              const std::string& execution_id) {
  auto found = Find(execution_id);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return tl::unexpected(ExecutionNotFound());
  if (!auth::Allows(caller.role, auth::Action::kReadExecution, Owns(**found, caller.email))) {
    return core::Fail(core::ErrorCode::kForbidden, "not allowed to read this execution");
  }
  return **found;
}

core::Result<LogsPage> Executions::OpenLogs(const Caller& caller,
                                            const std::string& execution_id) {
  auto execution = Get(caller, execution_id);
  if (!execution) return tl::unexpected(execution.error());
  LogsPage page{*execution, std::nullopt};
  if (!core::IsTerminal(execution->status)) {
    auto token = IssueWebSocketToken(execution_id, caller.email);
    if (!token) return tl::unexpected(token.error());
    page.websocket_token = *token;
  }
  return page;
}

// The node supervising an execution kills its task; another server asks that node through the
// store's notifier (a node that went silent is taken over, and the kill done, by a live one).
core::Result<void> Executions::KillTask(const core::Execution& execution) {
  if (execution.node.empty() || execution.node == settings_.node) {
    return compute_.Kill(execution.execution_id, contract::KillReason::kUser);
  }
  contract::Notice notice;
  notice.kind = contract::Notice::Kind::kKill;
  notice.execution_id = execution.execution_id;
  notice.node = execution.node;
  notice.detail = "user";
  return store_.Notices().Publish(notice);
}

core::Result<KillResult> Executions::Kill(const Caller& caller, const std::string& execution_id) {
  auto found = Find(execution_id);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return tl::unexpected(ExecutionNotFound());
  if (!auth::Allows(caller.role, auth::Action::kKillExecution, Owns(**found, caller.email))) {
    return core::Fail(core::ErrorCode::kForbidden, "not allowed to kill this execution");
  }
  core::Execution execution = **found;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (core::IsTerminal(execution.status) ||
        execution.status == core::ExecutionStatus::kTerminating) {
      return KillResult::kAlreadyFinished;
    }
    const core::ExecutionStatus expected = execution.status;
    execution.status = core::ExecutionStatus::kTerminating;
    execution.modified_by_request_id = caller.request_id;
    auto written = store_.Executions().Update(execution, expected);
    if (!written) return tl::unexpected(written.error());
    if (*written) {
      if (auto killed = KillTask(execution); !killed) return tl::unexpected(killed.error());
      return KillResult::kKilling;
    }
    auto reread = store_.Executions().Get(execution_id);
    if (!reread) return tl::unexpected(reread.error());
    if (!*reread) return tl::unexpected(ExecutionNotFound());
    execution = **reread;
  }
  return core::Fail(core::ErrorCode::kConflict, "execution is changing; try again");
}

core::Result<void> Executions::AuthorizeFollower(const std::string& execution_id,
                                                 const std::string& token) {
  if (!IsValidExecutionId(execution_id)) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid execution_id");
  }
  if (token.empty() || !auth::LooksLikeToken(token)) {
    return core::Fail(core::ErrorCode::kUnauthorized, "missing or invalid token");
  }
  auto record = store_.WebSocketTokens().Get(auth::HashSecretToken(token));
  if (!record) return tl::unexpected(record.error());
  if (!*record || (*record)->expires_at < clock_.Now()) {
    return core::Fail(core::ErrorCode::kUnauthorized, "unknown or expired token");
  }
  if ((*record)->execution_id != execution_id) {
    return core::Fail(core::ErrorCode::kForbidden, "token belongs to another execution");
  }
  auto user = store_.Users().Get((*record)->email);
  if (!user) return tl::unexpected(user.error());
  if (!*user || (*user)->status != core::UserStatus::kActive) {
    return core::Fail(core::ErrorCode::kUnauthorized, "token owner is no longer active");
  }
  return {};
}

core::Result<void> Executions::ReadLogs(const std::string& execution_id, int64_t after_sequence,
                                        std::size_t limit,
                                        const std::function<bool(const core::LogEvent&)>& visit) {
  return store_.Logs().Read(execution_id, after_sequence, limit, visit);
}

}  // namespace runvoy::service
