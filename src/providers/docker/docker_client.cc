#include "providers/docker/docker_client.h"

#include <cstdlib>
#include <mutex>

#include <boost/json.hpp>
#include <curl/curl.h>

namespace runvoy::providers::docker {
namespace {

constexpr char kApiVersion[] = "/v1.41";

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  DockerResponse* response = nullptr;
  const DockerClient::ChunkCallback* on_chunk = nullptr;
  const DockerClient::KeepGoing* keep_going = nullptr;
  const DockerClient::OnHeaders* on_headers = nullptr;
  bool aborted = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (transfer->on_chunk != nullptr) {
    // Error answers are short JSON documents: collect them for the message.
    if (transfer->response->status == 0 || transfer->response->status / 100 == 2) {
      if (!(*transfer->on_chunk)(std::string_view(data, bytes))) {
        transfer->aborted = true;
        return 0;
      }
      return bytes;
    }
  }
  transfer->response->body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string_view line(data, bytes);
  // "HTTP/1.1 200 OK": the status decides where the body goes.
  if (line.rfind("HTTP/", 0) == 0) {
    const size_t space = line.find(' ');
    if (space != std::string_view::npos && space + 4 <= line.size()) {
      transfer->response->status =
          std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
    }
  } else if ((line == "\r\n" || line == "\n") && transfer->on_headers != nullptr &&
             transfer->response->status >= 200) {
    (*transfer->on_headers)(transfer->response->status);
  }
  return bytes;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->keep_going != nullptr && !(*transfer->keep_going)()) {
    transfer->aborted = true;
    return 1;
  }
  return 0;
}

}  // namespace

struct DockerClient::State {
  CURL* handle = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

core::Result<void> ValidateEndpoint(const DockerEndpoint& endpoint) {
  const std::string& host = endpoint.host;
  const bool tls =
      !endpoint.tls_ca.empty() || !endpoint.tls_cert.empty() || !endpoint.tls_key.empty();
  if (host.rfind("unix://", 0) == 0) {
    if (host.size() <= 7 || host[7] != '/') {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        "compute.docker.host must be unix:///absolute/path or tcp://host:port, "
                        "not \"" +
                            host + "\"");
    }
    if (tls) {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        "compute.docker.tls_* apply to tcp:// hosts only");
    }
    return {};
  }
  if (host.rfind("tcp://", 0) == 0) {
    const std::string rest = host.substr(6);
    const size_t colon = rest.rfind(':');
    if (rest.empty() || colon == std::string::npos || colon == 0 || colon + 1 >= rest.size() ||
        rest.find('/') != std::string::npos) {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        "compute.docker.host must be tcp://host:port, not \"" + host + "\"");
    }
    if (!endpoint.tls_cert.empty() != !endpoint.tls_key.empty()) {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        "compute.docker.tls_cert and compute.docker.tls_key go together");
    }
    return {};
  }
  return core::Fail(
      core::ErrorCode::kInvalidRequest,
      "compute.docker.host must be unix:///path or tcp://host:port, not \"" + host + "\"");
}

DockerClient::DockerClient(DockerEndpoint endpoint)
    : endpoint_(std::move(endpoint)), state_(std::make_unique<State>()) {
  GlobalInitOnce();
  state_->handle = curl_easy_init();
  if (endpoint_.host.rfind("unix://", 0) == 0) {
    socket_path_ = endpoint_.host.substr(7);
    base_url_ = std::string("http://docker") + kApiVersion;
  } else {
    const bool tls = !endpoint_.tls_ca.empty() || !endpoint_.tls_cert.empty();
    base_url_ = (tls ? "https://" : "http://") + endpoint_.host.substr(6) + kApiVersion;
  }
}

DockerClient::~DockerClient() {
  if (state_->handle != nullptr)
    curl_easy_cleanup(state_->handle);
}

core::Result<DockerResponse> DockerClient::Call(std::string_view method, const std::string& path,
                                                std::string_view body,
                                                std::chrono::milliseconds timeout) {
  CURL* curl = state_->handle;
  if (curl == nullptr) {
    return core::Fail(
        core::ErrorCode::kServiceUnavailable,
        "docker daemon unreachable at " + endpoint_.host + ": libcurl could not be initialised");
  }
  KeepGoing keep_going;
  if (timeout.count() > 0) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    keep_going = [deadline] { return std::chrono::steady_clock::now() < deadline; };
  }
  return Stream(method, path, body, nullptr, keep_going);
}

core::Result<DockerResponse> DockerClient::Stream(std::string_view method, const std::string& path,
                                                  std::string_view body,
                                                  const ChunkCallback& on_chunk,
                                                  const KeepGoing& keep_going,
                                                  const OnHeaders& on_headers) {
  CURL* curl = state_->handle;
  if (curl == nullptr) {
    return core::Fail(
        core::ErrorCode::kServiceUnavailable,
        "docker daemon unreachable at " + endpoint_.host + ": libcurl could not be initialised");
  }
  curl_easy_reset(curl);
  DockerResponse response;
  Transfer transfer;
  transfer.response = &response;
  transfer.on_chunk = on_chunk ? &on_chunk : nullptr;
  transfer.keep_going = keep_going ? &keep_going : nullptr;
  transfer.on_headers = on_headers ? &on_headers : nullptr;

  const std::string url = base_url_ + path;
  const std::string method_text(method);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, state_->error_buffer);
  state_->error_buffer[0] = '\0';
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  if (!socket_path_.empty()) {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path_.c_str());
  } else {
    if (!endpoint_.tls_ca.empty())
      curl_easy_setopt(curl, CURLOPT_CAINFO, endpoint_.tls_ca.c_str());
    if (!endpoint_.tls_cert.empty()) {
      curl_easy_setopt(curl, CURLOPT_SSLCERT, endpoint_.tls_cert.c_str());
      curl_easy_setopt(curl, CURLOPT_SSLKEY, endpoint_.tls_key.c_str());
    }
  }
  if (method_text == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  }
  if (!body.empty() || method_text == "POST" || method_text == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  }
  curl_slist* headers = nullptr;
  if (!body.empty()) {
    headers = curl_slist_append(headers, body.front() == '{' || body.front() == '['
                                             ? "Content-Type: application/json"
                                             : "Content-Type: application/x-tar");
  }
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  if (code != CURLE_OK) {
    if (transfer.aborted && on_chunk == nullptr) {
      return core::Fail(core::ErrorCode::kServiceUnavailable,
                        "docker daemon unreachable at " + endpoint_.host + ": request timed out");
    }
    if (transfer.aborted) {
      return core::Fail(core::ErrorCode::kServiceUnavailable, "transfer aborted",
                        endpoint_.host + path);
    }
    const std::string cause = state_->error_buffer[0] != '\0'
                                  ? std::string(state_->error_buffer)
                                  : std::string(curl_easy_strerror(code));
    return core::Fail(core::ErrorCode::kServiceUnavailable,
                      "docker daemon unreachable at " + endpoint_.host + ": " + cause);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string ErrorMessage(const DockerResponse& response) {
  boost::system::error_code ec;
  auto value = boost::json::parse(response.body, ec);
  if (!ec && value.is_object()) {
    if (const auto* m = value.as_object().if_contains("message"); m && m->is_string())
      return std::string(m->as_string());
  }
  std::string text = response.body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (text.empty())
    text = "HTTP " + std::to_string(response.status);
  return text;
}

}  // namespace runvoy::providers::docker
