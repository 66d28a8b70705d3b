#include "support/runvoy_server.h"

#include <signal.h>

#include <stdexcept>
#include <thread>

namespace runvoy::testing {

std::string RunvoyBinary() { return RUNVOY_TEST_BINARY; }

std::string ApiResponse::Code() const {
  if (!json.is_object()) return {};
  const auto* code = json.as_object().if_contains("code");
  return code != nullptr && code->is_string() ? std::string(code->as_string()) : std::string();
}

RunvoyServer::RunvoyServer(std::vector<std::string> extra_args,
                           std::map<std::string, std::string> env, std::string data_dir)
    : extra_args_(std::move(extra_args)), env_(std::move(env)), data_dir_(std::move(data_dir)) {
  if (data_dir_.empty()) data_dir_ = MakeTempDir("runvoy-e2e-data");
  home_dir_ = MakeTempDir("runvoy-e2e-home");
  stderr_file_ = home_dir_ + "/server.stderr";
  if (const auto key = env_.find("RUNVOY_SEED_ADMIN_KEY"); key != env_.end()) {
    admin_key_ = key->second;
  }
  Start();
}

RunvoyServer::~RunvoyServer() {
  if (process_) process_->Stop(SIGTERM);
}

void RunvoyServer::Start() {
  std::vector<std::string> argv = {RunvoyBinary(),     "server",       "--listen",
                                   "127.0.0.1:0",      "--data-dir",   data_dir_,
                                   "--seed-admin",     "admin@example.com"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  std::map<std::string, std::string> env = env_;
  env.emplace("RUNVOY_CONFIG", "none");
  process_ = std::make_unique<BackgroundProcess>(argv, env, stderr_file_);
  while (true) {
    const std::string line = process_->ReadLine(std::chrono::seconds(30));
    if (line.empty()) {
      throw std::runtime_error("runvoy server did not start: " + Stderr());
    }
    if (line.rfind("admin api key: ", 0) == 0) admin_key_ = line.substr(15);
    if (line.rfind("listening on ", 0) == 0) {
      base_url_ = line.substr(13);
      return;
    }
  }
}

void RunvoyServer::Restart() {
  Stop(SIGTERM);
  Start();
}

int RunvoyServer::Stop(int signal) {
  if (!process_) return -1;
  const int code = process_->Stop(signal);
  process_.reset();
  return code;
}

void RunvoyServer::Kill() { Stop(SIGKILL); }

std::string RunvoyServer::Stderr() const { return ReadFile(stderr_file_); }

ApiResponse RunvoyServer::Call(const std::string& method, const std::string& path,
                               const std::string& key, const std::string& body,
                               const std::map<std::string, std::string>& headers) const {
  common::HttpClient client;
  std::map<std::string, std::string> all = headers;
  if (!key.empty()) all["X-API-Key"] = key;
  if (!body.empty()) all.emplace("Content-Type", "application/json");
  auto response = client.Request(method, base_url_ + path, all, body, std::chrono::seconds(60));
  if (!response) throw std::runtime_error("request failed: " + response.error().message);
  ApiResponse out;
  out.status = response->status;
  out.headers = response->headers;
  out.body = response->body;
  boost::system::error_code ec;
  out.json = boost::json::parse(out.body, ec);
  if (ec) out.json = nullptr;
  return out;
}

ApiResponse RunvoyServer::RegisterHostImage() const {
  return Call("POST", "/api/v1/images/register", admin_key_, R"({"image":"host","is_default":true})");
}

boost::json::value RunvoyServer::WaitFinished(const std::string& execution_id,
                                              const std::string& key) const {
  for (int i = 0; i < 3000; ++i) {
    const ApiResponse status = Call("GET", "/api/v1/executions/" + execution_id + "/status", key);
    if (status.status == 200 && !status.json.at("exit_code").is_null()) return status.json;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return nullptr;
}

std::string RunvoyServer::CreateUser(const std::string& email, const std::string& role) const {
  const ApiResponse created =
      Call("POST", "/api/v1/users/create", admin_key_,
           boost::json::serialize(boost::json::object{{"email", email}, {"role", role}}));
  if (created.status != 201) throw std::runtime_error("create user failed: " + created.body);
  const std::string token(created.json.at("claim_token").as_string());
  const ApiResponse claimed = Call("GET", "/api/v1/claim/" + token, "");
  if (claimed.status != 200) throw std::runtime_error("claim failed: " + claimed.body);
  return std::string(claimed.json.at("api_key").as_string());
}

ProcessResult RunvoyServer::Cli(const std::vector<std::string>& args, const std::string& key,
                                const std::map<std::string, std::string>& env,
                                const std::string& input) const {
  std::vector<std::string> argv = {RunvoyBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> all = {{"HOME", home_dir_},
                                            {"RUNVOY_API_ENDPOINT", base_url_},
                                            {"RUNVOY_API_KEY", key},
                                            {"NO_COLOR", "1"}};
  for (const auto& [name, value] : env) all[name] = value;
  return RunProcess(argv, all, input, std::chrono::seconds(120));
}

}  // namespace runvoy::testing
