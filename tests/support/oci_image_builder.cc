#include "support/oci_image_builder.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <archive.h>
#include <archive_entry.h>
#include <boost/json.hpp>
#include <unistd.h>

#include "common/http_client.h"
#include "core/sha256.h"

namespace runvoy::testing {
namespace {

namespace json = boost::json;
using core::ErrorCode;
using core::Fail;

la_ssize_t AppendToString(struct archive*, void* data, const void* buffer, size_t length) {
  static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Hex(const std::string& digest) {
  return digest.substr(7);
}

constexpr std::chrono::milliseconds kTimeout{60'000};

std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    return out;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
    out.append(buf, n);
  ::pclose(pipe);
  return out;
}

struct RegistryState {
  std::string dir;
  std::string address;
  bool owned = false;
};

RegistryState& Registry() {
  static RegistryState state;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* given = std::getenv("RUNVOY_OCI_REGISTRY_STATE");
    const std::string fixture = given != nullptr ? given : RUNVOY_OCI_REGISTRY_STATE;
    std::ifstream port_file(fixture + "/port");
    std::string port;
    if (port_file >> port) {
      state.dir = fixture;
    } else {
      state.dir = "/tmp/runvoy-oci-registry-" + std::to_string(::getpid());
      state.owned = true;
      RunCommand(std::string(RUNVOY_OCI_REGISTRY_SCRIPT) + " start " + state.dir);
      std::ifstream again(state.dir + "/port");
      again >> port;
      std::atexit(
          [] { RunCommand(std::string(RUNVOY_OCI_REGISTRY_SCRIPT) + " stop " + Registry().dir); });
    }
    state.address = port.empty() ? "" : "127.0.0.1:" + port;
  });
  return state;
}

}  // namespace

std::string Sha256Digest(const std::string& bytes) {
  return "sha256:" + core::Sha256Hex(bytes);
}

std::string MakeTar(const std::vector<TarEntry>& entries, bool gzip) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip)
    archive_write_add_filter_gzip(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, AppendToString, nullptr);
  for (const auto& e : entries) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    archive_entry_set_mtime(entry, 1700000000, 0);
    switch (e.type) {
      case TarEntry::Type::kFile:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, static_cast<mode_t>(e.mode));
        archive_entry_set_size(entry, static_cast<la_int64_t>(e.content.size()));
        break;
      case TarEntry::Type::kDir:
        archive_entry_set_filetype(entry, AE_IFDIR);
        archive_entry_set_perm(entry, static_cast<mode_t>(e.mode == 0644 ? 0755 : e.mode));
        break;
      case TarEntry::Type::kSymlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_perm(entry, 0777);
        archive_entry_set_symlink(entry, e.link.c_str());
        break;
      case TarEntry::Type::kHardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, static_cast<mode_t>(e.mode));
        archive_entry_set_hardlink(entry, e.link.c_str());
        archive_entry_set_size(entry, 0);
        break;
    }
    archive_write_header(a, entry);
    if (e.type == TarEntry::Type::kFile && !e.content.empty())
      archive_write_data(a, e.content.data(), e.content.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

std::vector<TarEntry> BusyboxLayerEntries() {
  std::vector<TarEntry> entries;
  entries.push_back({"bin", TarEntry::Type::kDir, "", "", 0755});
  entries.push_back({"etc", TarEntry::Type::kDir, "", "", 0755});
  entries.push_back({"bin/busybox", TarEntry::Type::kFile, ReadFile("/bin/busybox"), "", 0755});
  // Every applet of this busybox, as a link in /bin.
  std::istringstream applets(RunCommand("/bin/busybox --list"));
  std::string applet;
  while (std::getline(applets, applet)) {
    if (applet.empty() || applet == "busybox" || applet.find('/') != std::string::npos)
      continue;
    entries.push_back({"bin/" + applet, TarEntry::Type::kSymlink, "", "busybox"});
  }
  entries.push_back({"etc/passwd", TarEntry::Type::kFile,
                     "root:x:0:0:root:/root:/bin/sh\n"
                     "app:x:1000:1000:app:/home/app:/bin/sh\n"
                     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"});
  entries.push_back({"etc/group", TarEntry::Type::kFile,
                     "root:x:0:\napp:x:1000:\nstaff:x:50:\nnogroup:x:65534:\n"});
  return entries;
}

TestImage BuildImage(std::vector<std::string> layers, const ImageConfigSpec& config) {
  TestImage image;
  image.layers = std::move(layers);
  json::object cfg;
  cfg["architecture"] = "amd64";
  cfg["os"] = "linux";
  json::object inner;
  json::array env;
  for (const auto& e : config.env)
    env.push_back(json::string(e));
  inner["Env"] = std::move(env);
  if (!config.working_dir.empty())
    inner["WorkingDir"] = config.working_dir;
  if (!config.user.empty())
    inner["User"] = config.user;
  inner["Cmd"] = json::array{"sh"};
  cfg["config"] = std::move(inner);
  json::array diff_ids;
  for (const auto& l : image.layers)
    diff_ids.push_back(json::string(Sha256Digest(l)));  // not the uncompressed digest: unused
  cfg["rootfs"] = json::object{{"type", "layers"}, {"diff_ids", std::move(diff_ids)}};
  image.config_json = json::serialize(cfg);
  json::object manifest;
  manifest["schemaVersion"] = 2;
  manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json";
  manifest["config"] = json::object{{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                    {"digest", Sha256Digest(image.config_json)},
                                    {"size", static_cast<int64_t>(image.config_json.size())}};
  json::array ls;
  for (const auto& l : image.layers) {
    ls.push_back(json::object{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                              {"digest", Sha256Digest(l)},
                              {"size", static_cast<int64_t>(l.size())}});
  }
  manifest["layers"] = std::move(ls);
  image.manifest_json = json::serialize(manifest);
  image.manifest_digest = Sha256Digest(image.manifest_json);
  return image;
}

core::Result<void> PushBlob(const std::string& registry, const std::string& name,
                            const std::string& blob) {
  common::HttpClient http;
  const std::string base = "http://" + registry;
  auto started = http.Request("POST", base + "/v2/" + name + "/blobs/uploads/", {}, {}, kTimeout);
  if (!started)
    return tl::unexpected(started.error());
  auto location = started->headers.find("location");
  if (started->status != 202 || location == started->headers.end()) {
    return Fail(ErrorCode::kInternal,
                "upload not started: HTTP " + std::to_string(started->status));
  }
  std::string url = location->second;
  while (!url.empty() && (url.back() == '\r' || url.back() == ' '))
    url.pop_back();
  if (url.rfind("http", 0) != 0)
    url = base + url;
  url += (url.find('?') == std::string::npos ? "?" : "&");
  url += "digest=" + Sha256Digest(blob);
  auto put =
      http.Request("PUT", url, {{"Content-Type", "application/octet-stream"}}, blob, kTimeout);
  if (!put)
    return tl::unexpected(put.error());
  if (put->status != 201) {
    return Fail(ErrorCode::kInternal,
                "blob not accepted: HTTP " + std::to_string(put->status) + " " + put->body);
  }
  return {};
}

namespace {

core::Result<void> PutManifest(const std::string& registry, const std::string& name,
                               const std::string& ref, const std::string& media_type,
                               const std::string& body) {
  common::HttpClient http;
  auto put = http.Request("PUT", "http://" + registry + "/v2/" + name + "/manifests/" + ref,
                          {{"Content-Type", media_type}}, body, kTimeout);
  if (!put)
    return tl::unexpected(put.error());
  if (put->status != 201) {
    return Fail(ErrorCode::kInternal,
                "manifest not accepted: HTTP " + std::to_string(put->status) + " " + put->body);
  }
  return {};
}

}  // namespace

core::Result<void> PushImage(const std::string& registry, const std::string& name,
                             const std::string& tag, const TestImage& image) {
  for (const auto& layer : image.layers) {
    if (auto r = PushBlob(registry, name, layer); !r)
      return r;
  }
  if (auto r = PushBlob(registry, name, image.config_json); !r)
    return r;
  return PutManifest(registry, name, tag, "application/vnd.oci.image.manifest.v1+json",
                     image.manifest_json);
}

core::Result<void> PushIndex(const std::string& registry, const std::string& name,
                             const std::string& tag,
                             const std::vector<std::pair<std::string, TestImage>>& platforms) {
  json::array manifests;
  for (const auto& [platform, image] : platforms) {
    if (auto r = PutManifest(registry, name, image.manifest_digest,
                             "application/vnd.oci.image.manifest.v1+json", image.manifest_json);
        !r) {
      return r;
    }
    const size_t slash = platform.find('/');
    manifests.push_back(
        json::object{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                     {"digest", image.manifest_digest},
                     {"size", static_cast<int64_t>(image.manifest_json.size())},
                     {"platform", json::object{{"os", platform.substr(0, slash)},
                                               {"architecture", platform.substr(slash + 1)}}}});
  }
  json::object index;
  index["schemaVersion"] = 2;
  index["mediaType"] = "application/vnd.oci.image.index.v1+json";
  index["manifests"] = std::move(manifests);
  return PutManifest(registry, name, tag, "application/vnd.oci.image.index.v1+json",
                     json::serialize(index));
}

std::string DockerSaveTarball(const TestImage& image, const std::string& repo_tag) {
  std::vector<TarEntry> entries;
  const std::string config_name = Hex(Sha256Digest(image.config_json)) + ".json";
  entries.push_back({config_name, TarEntry::Type::kFile, image.config_json});
  json::array layers;
  for (const auto& layer : image.layers) {
    const std::string dir = Hex(Sha256Digest(layer));
    entries.push_back({dir, TarEntry::Type::kDir, "", "", 0755});
    entries.push_back({dir + "/layer.tar", TarEntry::Type::kFile, layer});
    layers.push_back(json::string(dir + "/layer.tar"));
  }
  json::array manifest{json::object{{"Config", config_name},
                                    {"RepoTags", json::array{json::string(repo_tag)}},
                                    {"Layers", std::move(layers)}}};
  entries.push_back({"manifest.json", TarEntry::Type::kFile, json::serialize(manifest)});
  return MakeTar(entries, false);
}

std::string OciLayoutTarball(const TestImage& image) {
  std::vector<TarEntry> entries;
  entries.push_back({"oci-layout", TarEntry::Type::kFile, R"({"imageLayoutVersion":"1.0.0"})"});
  entries.push_back({"blobs", TarEntry::Type::kDir, "", "", 0755});
  entries.push_back({"blobs/sha256", TarEntry::Type::kDir, "", "", 0755});
  auto add = [&](const std::string& blob) {
    entries.push_back({"blobs/sha256/" + Hex(Sha256Digest(blob)), TarEntry::Type::kFile, blob});
  };
  for (const auto& layer : image.layers)
    add(layer);
  add(image.config_json);
  add(image.manifest_json);
  json::object index;
  index["schemaVersion"] = 2;
  index["manifests"] =
      json::array{json::object{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                               {"digest", image.manifest_digest},
                               {"size", static_cast<int64_t>(image.manifest_json.size())}}};
  entries.push_back({"index.json", TarEntry::Type::kFile, json::serialize(index)});
  return MakeTar(entries, false);
}

std::string OciRegistry() {
  return Registry().address;
}

std::string OciRegistryStorage() {
  return Registry().dir + "/storage";
}

}  // namespace runvoy::testing
