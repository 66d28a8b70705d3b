#include "common/http_client.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <utility>

#include <curl/curl.h>

namespace runvoy::common {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string Trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) {
    ++begin;
  }
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) {
    --end;
  }
  return std::string(text.substr(begin, end - begin));
}

struct Transfer {
  HttpResponse* response = nullptr;
  const HttpClient::ChunkCallback* on_chunk = nullptr;
  bool aborted = false;
  std::string_view upload;
  size_t upload_offset = 0;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (transfer->on_chunk != nullptr) {
    if (!(*transfer->on_chunk)(std::string_view(data, bytes))) {
      transfer->aborted = true;
      return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
  } else {
    transfer->response->body.append(data, bytes);
  }
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response starts (after a 100 Continue or a redirect): forget earlier headers.
    transfer->response->headers.clear();
    return bytes;
  }
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    transfer->response->headers[Lowercase(Trim(line.substr(0, colon)))] =
        Trim(line.substr(colon + 1));
  }
  return bytes;
}

}  // namespace

struct HttpClient::State {
  HttpClientOptions options;
  CURL* handle = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

HttpClient::HttpClient(HttpClientOptions options) : state_(std::make_unique<State>()) {
  GlobalInitOnce();
  state_->options = std::move(options);
  state_->handle = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (state_->handle != nullptr) {
    curl_easy_cleanup(state_->handle);
  }
}

core::Result<HttpResponse> HttpClient::Request(std::string_view method, const std::string& url,
                                               const std::map<std::string, std::string>& headers,
                                               std::string_view body,
                                               std::chrono::milliseconds timeout) {
  return RequestStreaming(method, url, headers, body, timeout, nullptr);
}

core::Result<HttpResponse> HttpClient::RequestStreaming(
    std::string_view method, const std::string& url,
    const std::map<std::string, std::string>& headers, std::string_view body,
    std::chrono::milliseconds timeout, const ChunkCallback& on_chunk) {
  CURL* curl = state_->handle;
  if (curl == nullptr) {
    return core::Fail(core::ErrorCode::kServiceUnavailable,
                      "cannot reach " + url + ": libcurl could not be initialised");
  }
  // Keeps the connection cache, drops every option of the previous request.
  curl_easy_reset(curl);

  HttpResponse response;
  Transfer transfer;
  transfer.response = &response;
  transfer.on_chunk = on_chunk ? &on_chunk : nullptr;

  const std::string method_text(method);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, state_->error_buffer);
  state_->error_buffer[0] = '\0';
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(state_->options.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  if (!state_->options.unix_socket_path.empty()) {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, state_->options.unix_socket_path.c_str());
  }

  if (method_text == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method_text == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  }
  if (!body.empty() || method_text == "POST" || method_text == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  }

  curl_slist* header_list = nullptr;
  for (const auto& [name, value] : headers) {
    header_list = curl_slist_append(header_list, (name + ": " + value).c_str());
  }
  // libcurl would otherwise send "Expect: 100-continue" for large bodies and wait for it.
  header_list = curl_slist_append(header_list, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);

  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(header_list);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);

  if (code != CURLE_OK) {
    if (transfer.aborted) {
      return core::Fail(core::ErrorCode::kServiceUnavailable, "transfer aborted: " + url);
    }
    std::string cause = state_->error_buffer[0] != '\0' ? std::string(state_->error_buffer)
                                                        : std::string(curl_easy_strerror(code));
    return core::Fail(core::ErrorCode::kServiceUnavailable, "cannot reach " + url + ": " + cause,
                      cause);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace runvoy::common
