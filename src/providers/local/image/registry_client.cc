#include "providers/local/image/registry_client.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <boost/json.hpp>
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/http_client.h"
#include "common/json_fields.h"
#include "core/url_encoding.h"
#include "providers/local/image/digest.h"

namespace runvoy::providers::local::image {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::Fail;

constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
constexpr char kDockerList[] = "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";

// The parameters of a `Bearer k="v",k2="v2"` challenge.
std::map<std::string, std::string> ParseChallenge(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t i = text.find(' ');
  if (i == std::string_view::npos)
    return out;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ','))
      ++i;
    const size_t eq = text.find('=', i);
    if (eq == std::string_view::npos)
      break;
    std::string key(text.substr(i, eq - i));
    for (auto& c : key)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    i = eq + 1;
    std::string value;
    if (i < text.size() && text[i] == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size())
          ++i;
        value += text[i++];
      }
      ++i;
    } else {
      while (i < text.size() && text[i] != ',')
        value += text[i++];
    }
    out[key] = value;
  }
  return out;
}

std::string HostOf(const std::string& url) {
  const size_t start = url.find("://");
  if (start == std::string::npos)
    return {};
  const size_t end = url.find('/', start + 3);
  return url.substr(start + 3, end == std::string::npos ? std::string::npos : end - start - 3);
}

}  // namespace

std::string MachineArchitecture() {
  struct utsname u;
  if (::uname(&u) != 0)
    return "amd64";
  const std::string m = u.machine;
  if (m == "x86_64")
    return "amd64";
  if (m == "aarch64" || m == "arm64")
    return "arm64";
  if (m.rfind("arm", 0) == 0)
    return "arm";
  if (m == "i386" || m == "i686")
    return "386";
  return m;
}

bool IsLoopbackRegistry(const std::string& host) {
  std::string name = host;
  if (!name.empty() && name[0] == '[') {
    return name.rfind("[::1]", 0) == 0;
  }
  const size_t colon = name.find(':');
  if (colon != std::string::npos)
    name = name.substr(0, colon);
  return name == "localhost" || name.rfind("127.", 0) == 0;
}

RegistryClient::RegistryClient(core::ImageReference reference, RegistryClientOptions options)
    : reference_(std::move(reference)),
      options_(std::move(options)),
      http_(std::make_unique<common::HttpClient>()) {
  if (options_.architecture.empty())
    options_.architecture = MachineArchitecture();
  std::string host = reference_.registry;
  repository_ = reference_.name;
  if (host.empty() || host == "docker.io" || host == "index.docker.io") {
    host = "registry-1.docker.io";
    if (repository_.find('/') == std::string::npos)
      repository_ = "library/" + repository_;
  }
  base_url_ = (IsLoopbackRegistry(host) ? "http://" : "https://") + host;
}

RegistryClient::~RegistryClient() = default;

std::string RegistryClient::Describe() const {
  return HostOf(base_url_) + "/" + repository_;
}

core::Result<RegistryClient::Fetched> RegistryClient::Get(
    const std::string& path, const std::string& accept, bool small,
    const std::function<bool(std::string_view)>& on_chunk) {
  std::string url = base_url_ + path;
  bool authenticated_once = false;
  for (int hop = 0; hop < 8; ++hop) {
    std::map<std::string, std::string> headers;
    if (!accept.empty())
      headers["Accept"] = accept;
    if (!token_.empty() && HostOf(url) == HostOf(base_url_))
      headers["Authorization"] = "Bearer " + token_;
    auto chunk = [&](std::string_view piece) {
      if (options_.cancelled && options_.cancelled())
        return false;
      return on_chunk ? on_chunk(piece) : true;
    };
    auto response = on_chunk ? http_->RequestStreaming(
                                   "GET", url, headers, {},
                                   small ? options_.request_timeout : options_.blob_timeout, chunk)
                             : http_->Request("GET", url, headers, {}, options_.request_timeout);
    if (!response) {
      if (options_.cancelled && options_.cancelled())
        return Fail(ErrorCode::kServiceUnavailable, "cancelled");
      return Fail(ErrorCode::kServiceUnavailable,
                  "cannot reach the registry " + HostOf(url) + ": " + response.error().details);
    }
    const long status = response->status;
    if (status == 401 && !authenticated_once) {
      auto it = response->headers.find("www-authenticate");
      if (it == response->headers.end() || it->second.rfind("Bearer", 0) != 0) {
        return Fail(ErrorCode::kInvalidRequest,
                    "the registry " + HostOf(url) + " requires credentials, which runvoy lacks");
      }
      if (auto r = Authenticate(it->second); !r)
        return tl::unexpected(r.error());
      authenticated_once = true;
      --hop;
      continue;
    }
    if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
      auto it = response->headers.find("location");
      if (it == response->headers.end())
        return Fail(ErrorCode::kInvalidRequest, "the registry redirected nowhere");
      std::string location = it->second;
      while (!location.empty() && (location.back() == '\r' || location.back() == ' '))
        location.pop_back();
      if (location.rfind("http://", 0) != 0 && location.rfind("https://", 0) != 0) {
        const size_t scheme = url.find("://");
        const size_t slash = url.find('/', scheme + 3);
        location = url.substr(0, slash) + (location.rfind('/', 0) == 0 ? "" : "/") + location;
      }
      url = location;
      continue;
    }
    Fetched out;
    out.status = status;
    out.body = std::move(response->body);
    auto ct = response->headers.find("content-type");
    if (ct != response->headers.end()) {
      out.content_type = ct->second;
      const size_t semi = out.content_type.find(';');
      if (semi != std::string::npos)
        out.content_type.resize(semi);
      while (!out.content_type.empty() &&
             (out.content_type.back() == ' ' || out.content_type.back() == '\r'))
        out.content_type.pop_back();
    }
    return out;
  }
  return Fail(ErrorCode::kInvalidRequest, "too many redirects from the registry");
}

core::Result<void> RegistryClient::Authenticate(const std::string& challenge) {
  auto params = ParseChallenge(challenge);
  const std::string realm = params["realm"];
  if (realm.rfind("https://", 0) != 0 &&
      !(realm.rfind("http://", 0) == 0 && IsLoopbackRegistry(HostOf(realm)))) {
    return Fail(ErrorCode::kInvalidRequest,
                "the registry's token service \"" + realm + "\" is neither HTTPS nor on loopback");
  }
  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  if (!params["service"].empty())
    url += "service=" + core::UrlEncode(params["service"]) + "&";
  const std::string scope =
      params["scope"].empty() ? "repository:" + repository_ + ":pull" : params["scope"];
  url += "scope=" + core::UrlEncode(scope);
  auto response = http_->Request("GET", url, {}, {}, options_.request_timeout);
  if (!response) {
    return Fail(ErrorCode::kServiceUnavailable,
                "cannot reach the registry's token service: " + response.error().details);
  }
  if (response->status != 200) {
    return Fail(ErrorCode::kInvalidRequest,
                "the registry's token service refused an anonymous "
                "token (HTTP " +
                    std::to_string(response->status) + ")");
  }
  boost::system::error_code ec;
  json::value v = json::parse(response->body, ec);
  if (ec || !v.is_object())
    return Fail(ErrorCode::kInvalidRequest, "the registry's token service answered no JSON");
  token_ = common::StringField(v.as_object(), "token");
  if (token_.empty())
    token_ = common::StringField(v.as_object(), "access_token");
  if (token_.empty())
    return Fail(ErrorCode::kInvalidRequest, "the registry's token service answered no token");
  return {};
}

core::Result<std::string> RegistryClient::FetchManifestBody(const std::string& ref,
                                                            std::string& media_type) {
  const std::string accept =
      std::string(kOciIndex) + ", " + kDockerList + ", " + kOciManifest + ", " + kDockerManifest;
  auto got = Get("/v2/" + repository_ + "/manifests/" + ref, accept, true, nullptr);
  if (!got)
    return tl::unexpected(got.error());
  if (got->status == 404) {
    return Fail(ErrorCode::kNotFound, "image " + Describe() + ":" + ref + " not found");
  }
  if (got->status != 200) {
    return Fail(ErrorCode::kServiceUnavailable, "the registry answered HTTP " +
                                                    std::to_string(got->status) +
                                                    " for the manifest of " + Describe());
  }
  if (ref.rfind("sha256:", 0) == 0) {
    const std::string actual = DigestOf(got->body);
    if (actual != ref) {
      return Fail(ErrorCode::kInvalidRequest,
                  "digest mismatch for the manifest " + ref + ": the registry sent " + actual);
    }
  }
  boost::system::error_code ec;
  json::value v = json::parse(got->body, ec);
  if (ec || !v.is_object())
    return Fail(ErrorCode::kInvalidRequest, "the manifest of " + Describe() + " is not JSON");
  media_type = common::StringField(v.as_object(), "mediaType");
  if (media_type.empty())
    media_type = got->content_type;
  return std::move(got->body);
}

core::Result<ResolvedImage> RegistryClient::Resolve() {
  std::string ref = reference_.digest.empty() ? reference_.tag : reference_.digest;
  if (ref.empty())
    ref = "latest";
  std::string media_type;
  auto body = FetchManifestBody(ref, media_type);
  if (!body)
    return tl::unexpected(body.error());
  boost::system::error_code ec;
  json::value v = json::parse(*body, ec);
  std::string manifest_digest = DigestOf(*body);
  if (media_type == kOciIndex || media_type == kDockerList ||
      (v.as_object().contains("manifests") && !v.as_object().contains("layers"))) {
    const auto* list = v.as_object().if_contains("manifests");
    std::string chosen;
    if (list != nullptr && list->is_array()) {
      for (const auto& m : list->as_array()) {
        if (!m.is_object())
          continue;
        const auto* platform = m.as_object().if_contains("platform");
        if (platform == nullptr || !platform->is_object())
          continue;
        if (common::StringField(platform->as_object(), "os") == options_.os &&
            common::StringField(platform->as_object(), "architecture") == options_.architecture) {
          chosen = common::StringField(m.as_object(), "digest");
          break;
        }
      }
    }
    if (chosen.empty()) {
      return Fail(ErrorCode::kNotFound, "image " + Describe() + ":" + ref + " has no " +
                                            options_.os + "/" + options_.architecture + " variant");
    }
    if (auto hex = DigestHex(chosen); !hex)
      return tl::unexpected(hex.error());
    body = FetchManifestBody(chosen, media_type);
    if (!body)
      return tl::unexpected(body.error());
    v = json::parse(*body, ec);
    manifest_digest = chosen;
  }
  if (media_type != kOciManifest && media_type != kDockerManifest && !media_type.empty()) {
    return Fail(ErrorCode::kInvalidRequest,
                "unsupported manifest type \"" + media_type + "\" for " + Describe());
  }
  const json::object& manifest = v.as_object();
  ResolvedImage out;
  out.manifest_digest = manifest_digest;
  const auto* config = manifest.if_contains("config");
  const auto* layers = manifest.if_contains("layers");
  if (config == nullptr || !config->is_object() || layers == nullptr || !layers->is_array()) {
    return Fail(ErrorCode::kInvalidRequest,
                "the manifest of " + Describe() + " has no config or layers");
  }
  out.config_digest = common::StringField(config->as_object(), "digest");
  if (auto hex = DigestHex(out.config_digest); !hex)
    return tl::unexpected(hex.error());
  for (const auto& l : layers->as_array()) {
    if (!l.is_object())
      continue;
    LayerDescriptor layer;
    layer.digest = common::StringField(l.as_object(), "digest");
    layer.media_type = common::StringField(l.as_object(), "mediaType");
    const auto* size = l.as_object().if_contains("size");
    if (size != nullptr && size->is_int64())
      layer.size = size->as_int64();
    if (auto hex = DigestHex(layer.digest); !hex)
      return tl::unexpected(hex.error());
    if (layer.media_type.find("foreign") != std::string::npos ||
        layer.media_type.find("nondistributable") != std::string::npos) {
      return Fail(ErrorCode::kInvalidRequest,
                  "image " + Describe() + " has a foreign layer, which runvoy cannot fetch");
    }
    out.layers.push_back(std::move(layer));
  }
  auto got = Get("/v2/" + repository_ + "/blobs/" + out.config_digest, "", true,
                 [&](std::string_view piece) {
                   out.config_json.append(piece);
                   return out.config_json.size() < (size_t{16} << 20);
                 });
  if (!got)
    return tl::unexpected(got.error());
  if (got->status != 200) {
    return Fail(got->status == 404 ? ErrorCode::kNotFound : ErrorCode::kServiceUnavailable,
                "the registry answered HTTP " + std::to_string(got->status) +
                    " for the config of " + Describe());
  }
  const std::string actual = DigestOf(out.config_json);
  if (actual != out.config_digest) {
    return Fail(ErrorCode::kInvalidRequest, "digest mismatch for the config " + out.config_digest +
                                                ": the registry sent " + actual);
  }
  return out;
}

core::Result<void> RegistryClient::FetchBlob(const std::string& digest, const std::string& path,
                                             const std::function<void(int64_t)>& progress) {
  if (auto hex = DigestHex(digest); !hex)
    return tl::unexpected(hex.error());
  const std::string temp = path + ".part." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Fail(ErrorCode::kInternal, "cannot create " + temp, std::strerror(errno));
  }
  Sha256Stream sha;
  int64_t received = 0;
  bool write_failed = false;
  auto got = Get("/v2/" + repository_ + "/blobs/" + digest, "", false, [&](std::string_view piece) {
    sha.Update(piece);
    size_t done = 0;
    while (done < piece.size()) {
      const ssize_t n = ::write(fd, piece.data() + done, piece.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        write_failed = true;
        return false;
      }
      done += static_cast<size_t>(n);
    }
    received += static_cast<int64_t>(piece.size());
    if (progress)
      progress(received);
    return true;
  });
  const int err = errno;
  ::close(fd);
  auto fail = [&](core::Error e) -> core::Result<void> {
    ::unlink(temp.c_str());
    return tl::unexpected(std::move(e));
  };
  if (write_failed)
    return fail({ErrorCode::kInternal, "cannot write " + temp, std::strerror(err)});
  if (!got)
    return fail(got.error());
  if (got->status == 404)
    return fail({ErrorCode::kNotFound, "blob " + digest + " of " + Describe() + " not found"});
  if (got->status != 200) {
    return fail(
        {ErrorCode::kServiceUnavailable,
         "the registry answered HTTP " + std::to_string(got->status) + " for blob " + digest});
  }
  const std::string actual = sha.Finish();
  if (actual != digest) {
    return fail({ErrorCode::kInvalidRequest,
                 "digest mismatch for the layer " + digest + ": the registry sent " + actual});
  }
  if (::rename(temp.c_str(), path.c_str()) != 0)
    return fail({ErrorCode::kInternal, "cannot store blob " + digest, std::strerror(errno)});
  return {};
}

}  // namespace runvoy::providers::local::image
