#include "providers/local/image/image_store.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <boost/json.hpp>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/files.h"
#include "common/json_fields.h"
#include "core/sha256.h"
#include "core/time.h"
#include "providers/local/image/digest.h"
#include "providers/local/image/layer.h"
#include "providers/local/image/registry_client.h"

namespace runvoy::providers::local::image {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using core::ErrorCode;
using core::Fail;

// One cached image, as stored in refs/<key>.json.
struct Record {
  std::string normalized;
  std::string manifest_digest;
  std::string config_json;
  std::vector<std::pair<std::string, int64_t>> layers;  // hex, bytes
  bool complete = false;
  int64_t last_used_ms = 0;
};

std::string EncodeRecord(const Record& r) {
  json::object o;
  o["normalized"] = r.normalized;
  o["manifest_digest"] = r.manifest_digest;
  o["config"] = r.config_json;
  json::array layers;
  for (const auto& [hex, bytes] : r.layers)
    layers.push_back(json::object{{"digest", "sha256:" + hex}, {"bytes", bytes}});
  o["layers"] = std::move(layers);
  o["complete"] = r.complete;
  o["last_used_ms"] = r.last_used_ms;
  return json::serialize(o);
}

std::optional<Record> ReadRecord(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(ss.str(), ec);
  if (ec || !v.is_object())
    return std::nullopt;
  const auto& o = v.as_object();
  Record r;
  r.normalized = common::StringField(o, "normalized");
  r.manifest_digest = common::StringField(o, "manifest_digest");
  r.config_json = common::StringField(o, "config");
  if (const auto* layers = o.if_contains("layers"); layers && layers->is_array()) {
    for (const auto& l : layers->as_array()) {
      if (!l.is_object())
        continue;
      auto hex = DigestHex(common::StringField(l.as_object(), "digest"));
      const auto* bytes = l.as_object().if_contains("bytes");
      if (!hex)
        return std::nullopt;
      r.layers.emplace_back(*hex, bytes && bytes->is_int64() ? bytes->as_int64() : 0);
    }
  }
  const auto* complete = o.if_contains("complete");
  r.complete = complete != nullptr && complete->is_bool() && complete->as_bool();
  const auto* used = o.if_contains("last_used_ms");
  r.last_used_ms = used != nullptr && used->is_int64() ? used->as_int64() : 0;
  return r;
}

// An flock held for a scope.
class FileLock {
 public:
  FileLock() = default;
  ~FileLock() { Release(); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  // Blocks until the lock is held.
  core::Result<void> Lock(const std::string& path, int operation) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0)
      return Fail(ErrorCode::kInternal, "cannot open " + path, std::strerror(errno));
    while (::flock(fd_, operation) != 0) {
      if (errno == EINTR)
        continue;
      const int err = errno;
      Release();
      errno = err;
      return Fail(ErrorCode::kInternal, "cannot lock " + path, std::strerror(err));
    }
    return {};
  }
  void Release() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }
  int Take() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

ImageConfig ParseConfig(const std::string& text) {
  ImageConfig out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object())
    return out;
  const auto* config = v.as_object().if_contains("config");
  if (config == nullptr || !config->is_object())
    return out;
  const auto& c = config->as_object();
  if (const auto* env = c.if_contains("Env"); env && env->is_array()) {
    for (const auto& e : env->as_array()) {
      if (e.is_string() && e.as_string().find('=') != json::string::npos)
        out.env.emplace_back(e.as_string());
    }
  }
  out.working_dir = common::StringField(c, "WorkingDir");
  out.user = common::StringField(c, "User");
  return out;
}

std::string HumanBytes(int64_t bytes) {
  char buf[32];
  if (bytes >= (int64_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(bytes) / 1024);
  }
  return buf;
}

std::string ShortDigest(const std::string& hex) {
  return "sha256:" + hex.substr(0, 12);
}

}  // namespace

ImageStore::ImageStore(std::string root, int64_t max_bytes)
    : root_(std::move(root)), max_bytes_(max_bytes) {}

ImageStore::~ImageStore() {
  for (int fd : use_fds_)
    ::close(fd);
}

core::Result<void> ImageStore::EnsureDirs() {
  std::error_code ec;
  for (const char* sub : {"", "/blobs", "/layers", "/refs"}) {
    fs::create_directories(root_ + sub, ec);
    if (ec)
      return Fail(ErrorCode::kInternal, "cannot create " + root_ + sub, ec.message());
  }
  ::chmod(root_.c_str(), 0700);
  return {};
}

std::string ImageStore::KeyOf(const std::string& normalized) const {
  return core::Sha256Hex(normalized).substr(0, 32);
}

core::Result<void> ImageStore::MarkInUse(const std::string& key) {
  FileLock use;
  if (auto r = use.Lock(root_ + "/refs/" + key + ".use", LOCK_SH); !r)
    return r;
  use_fds_.push_back(use.Take());
  return {};
}

core::Result<void> ImageStore::Hold(const core::ImageReference& reference) {
  if (auto r = EnsureDirs(); !r)
    return r;
  return MarkInUse(KeyOf(reference.normalized));
}

core::Result<PreparedImage> ImageStore::Acquire(const core::ImageReference& reference,
                                                const StoreHooks& hooks) {
  if (auto r = EnsureDirs(); !r)
    return tl::unexpected(r.error());
  const std::string key = KeyOf(reference.normalized);
  if (auto r = MarkInUse(key); !r)
    return tl::unexpected(r.error());
  const std::string record_path = root_ + "/refs/" + key + ".json";
  auto usable = [&](const Record& r) {
    if (!r.complete)
      return false;
    for (const auto& [hex, bytes] : r.layers) {
      struct stat st;
      if (::stat((root_ + "/layers/" + hex).c_str(), &st) != 0)
        return false;
    }
    return true;
  };
  auto prepare = [&](Record r) -> core::Result<PreparedImage> {
    {
      FileLock store;
      if (auto l = store.Lock(root_ + "/store.lock", LOCK_EX); !l)
        return tl::unexpected(l.error());
      r.last_used_ms = core::ToUnixMillis(core::WallClock().Now());
      if (auto w = common::WriteFileAtomically(record_path, EncodeRecord(r)); !w)
        return tl::unexpected(w.error());
    }
    PreparedImage out;
    out.normalized = r.normalized;
    out.manifest_digest = r.manifest_digest;
    for (const auto& [hex, bytes] : r.layers)
      out.layer_dirs.push_back(root_ + "/layers/" + hex);
    out.config = ParseConfig(r.config_json);
    return out;
  };
  if (auto r = ReadRecord(record_path); r && usable(*r))
    return prepare(std::move(*r));

  // One fetch per image: whoever holds <key>.fetch fetches, the others wait and reuse.
  const std::string fetch_path = root_ + "/refs/" + key + ".fetch";
  FileLock fetch;
  const int fd = ::open(fetch_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return Fail(ErrorCode::kInternal, "cannot open " + fetch_path, std::strerror(errno));
  bool told = false;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const int err = errno;
      ::close(fd);
      return Fail(ErrorCode::kInternal, "cannot lock " + fetch_path, std::strerror(err));
    }
    if (!told && hooks.progress) {
      hooks.progress("waiting for another fetch of " + reference.normalized);
      told = true;
    }
    if (hooks.cancelled && hooks.cancelled()) {
      ::close(fd);
      return Fail(ErrorCode::kServiceUnavailable, "cancelled");
    }
    ::poll(nullptr, 0, 50);  // a flock has no descriptor to wait on
  }
  auto result = [&]() -> core::Result<PreparedImage> {
    if (auto r = ReadRecord(record_path); r && usable(*r))
      return prepare(std::move(*r));
    auto fetched = Fetch(reference, key, hooks);
    if (!fetched)
      return fetched;
    auto record = ReadRecord(record_path);
    if (!record)
      return Fail(ErrorCode::kInternal, "the image record vanished");
    return prepare(std::move(*record));
  }();
  ::close(fd);
  if (result) {
    if (auto e = Evict(reference.normalized); !e && hooks.progress)
      hooks.progress("image cache: " + e.error().message);
  }
  return result;
}

core::Result<PreparedImage> ImageStore::Fetch(const core::ImageReference& reference,
                                              const std::string& key, const StoreHooks& hooks) {
  RegistryClientOptions options;
  options.cancelled = hooks.cancelled;
  RegistryClient client(reference, options);
  auto say = [&](const std::string& line) {
    if (hooks.progress)
      hooks.progress(line);
  };
  say("pulling image " + reference.normalized);
  auto resolved = client.Resolve();
  if (!resolved)
    return tl::unexpected(resolved.error());
  Record record;
  record.normalized = reference.normalized;
  record.manifest_digest = resolved->manifest_digest;
  record.config_json = resolved->config_json;
  record.last_used_ms = core::ToUnixMillis(core::WallClock().Now());
  for (const auto& layer : resolved->layers)
    record.layers.emplace_back(*DigestHex(layer.digest), 0);
  const std::string record_path = root_ + "/refs/" + key + ".json";
  {
    // Written before the layers come so that eviction keeps them meanwhile.
    FileLock store;
    if (auto l = store.Lock(root_ + "/store.lock", LOCK_EX); !l)
      return tl::unexpected(l.error());
    if (auto w = common::WriteFileAtomically(record_path, EncodeRecord(record)); !w)
      return tl::unexpected(w.error());
  }
  int64_t total = 0;
  for (size_t i = 0; i < resolved->layers.size(); ++i) {
    const auto& layer = resolved->layers[i];
    const std::string hex = record.layers[i].first;
    const std::string dir = root_ + "/layers/" + hex;
    const std::string size_file = dir + ".bytes";
    const std::string label = "layer " + std::to_string(i + 1) + "/" +
                              std::to_string(resolved->layers.size()) + " " + ShortDigest(hex);
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0) {
      std::ifstream in(size_file);
      int64_t bytes = 0;
      in >> bytes;
      record.layers[i].second = bytes;
      total += bytes;
      say(label + ": already cached");
      continue;
    }
    const std::string blob = root_ + "/blobs/" + hex + "." + std::to_string(::getpid());
    int64_t next_report = int64_t{8} << 20;
    auto fetched = client.FetchBlob(layer.digest, blob, [&](int64_t received) {
      if (received >= next_report) {
        say(label + ": " + HumanBytes(received) +
            (layer.size > 0 ? " of " + HumanBytes(layer.size) : std::string()));
        next_report = received + (int64_t{8} << 20);
      }
    });
    if (!fetched)
      return tl::unexpected(fetched.error());
    say(label + ": downloaded " + HumanBytes(layer.size > 0 ? layer.size : 0) + ", extracting");
    const std::string temp = dir + ".tmp." + std::to_string(::getpid());
    std::error_code ec;
    fs::remove_all(temp, ec);
    auto extracted = ExtractLayer(blob, temp);
    ::unlink(blob.c_str());
    if (!extracted) {
      fs::remove_all(temp, ec);
      return Fail(extracted.error().code,
                  "layer " + ShortDigest(hex) + ": " + extracted.error().message,
                  extracted.error().details);
    }
    {
      std::ofstream out(size_file);
      out << *extracted;
    }
    if (::rename(temp.c_str(), dir.c_str()) != 0) {
      // Another image with the same layer got there first: the same content.
      fs::remove_all(temp, ec);
    }
    record.layers[i].second = *extracted;
    total += *extracted;
  }
  record.complete = true;
  {
    FileLock store;
    if (auto l = store.Lock(root_ + "/store.lock", LOCK_EX); !l)
      return tl::unexpected(l.error());
    if (auto w = common::WriteFileAtomically(record_path, EncodeRecord(record)); !w)
      return tl::unexpected(w.error());
  }
  say("image " + reference.normalized + " ready (" + HumanBytes(total) + ")");
  return PreparedImage{};
}

core::Result<void> ImageStore::Evict(const std::string& keep_normalized) {
  if (auto r = EnsureDirs(); !r)
    return r;
  FileLock store;
  if (auto l = store.Lock(root_ + "/store.lock", LOCK_EX); !l)
    return l;
  struct Entry {
    std::string key;
    Record record;
  };
  std::vector<Entry> entries;
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(root_ + "/refs", ec)) {
    const std::string name = file.path().filename().string();
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json")
      continue;
    auto record = ReadRecord(file.path().string());
    if (record)
      entries.push_back({name.substr(0, name.size() - 5), std::move(*record)});
  }
  std::vector<bool> kept(entries.size(), true);
  // The bytes of the distinct layers of the images kept.
  auto total_of = [&]() {
    std::map<std::string, int64_t> layers;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (!kept[i])
        continue;
      for (const auto& [hex, bytes] : entries[i].record.layers)
        layers[hex] = bytes;
    }
    int64_t total = 0;
    for (const auto& [hex, bytes] : layers)
      total += bytes;
    return total;
  };
  if (max_bytes_ > 0) {
    std::vector<size_t> order(entries.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return entries[a].record.last_used_ms < entries[b].record.last_used_ms;
    });
    for (size_t i : order) {
      if (total_of() <= max_bytes_)
        break;
      const Entry& e = entries[i];
      if (e.record.normalized == keep_normalized)
        continue;
      const std::string use_path = root_ + "/refs/" + e.key + ".use";
      const int fd = ::open(use_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0)
        continue;
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);  // in use by a running execution (or being fetched)
        continue;
      }
      // The .use file stays: a process may have it open, about to lock it.
      ::unlink((root_ + "/refs/" + e.key + ".json").c_str());
      ::close(fd);
      kept[i] = false;
    }
  }
  // Downloads and extractions of processes that died (a fetch killed with its execution): their
  // names carry the pid.
  auto dead = [](const std::string& name, const std::string& marker) {
    const size_t at = name.find(marker);
    if (at == std::string::npos)
      return false;
    const pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + at + marker.size()));
    return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
  };
  for (const auto& file : fs::directory_iterator(root_ + "/blobs", ec)) {
    const std::string name = file.path().filename().string();
    if (dead(name, "."))
      fs::remove_all(file.path(), ec);
  }
  for (const auto& file : fs::directory_iterator(root_ + "/layers", ec)) {
    const std::string name = file.path().filename().string();
    if (dead(name, ".tmp."))
      fs::remove_all(file.path(), ec);
  }
  // Layers no remaining image names (evicted ones, leftovers of failed fetches).
  std::set<std::string> named;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!kept[i])
      continue;
    for (const auto& [hex, bytes] : entries[i].record.layers)
      named.insert(hex);
  }
  for (const auto& file : fs::directory_iterator(root_ + "/layers", ec)) {
    const std::string name = file.path().filename().string();
    if (name.size() < 64 || name.find(".tmp.") != std::string::npos)
      continue;
    const std::string hex = name.substr(0, 64);
    if (named.count(hex))
      continue;
    std::error_code rm;
    fs::remove_all(file.path(), rm);
  }
  return {};
}

int64_t ImageStore::TotalBytes() {
  std::map<std::string, int64_t> layers;
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(root_ + "/refs", ec)) {
    const std::string name = file.path().filename().string();
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json")
      continue;
    if (auto record = ReadRecord(file.path().string())) {
      for (const auto& [hex, bytes] : record->layers)
        layers[hex] = bytes;
    }
  }
  int64_t total = 0;
  for (const auto& [hex, bytes] : layers)
    total += bytes;
  return total;
}

std::vector<std::string> ImageStore::CachedReferences() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(root_ + "/refs", ec)) {
    const std::string name = file.path().filename().string();
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json")
      continue;
    if (auto record = ReadRecord(file.path().string()); record && record->complete)
      out.push_back(record->normalized);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

std::optional<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A path named inside a tarball, kept inside it.
bool SafeRelative(const std::string& rel) {
  return !rel.empty() && rel[0] != '/' && rel.find("..") == std::string::npos;
}

}  // namespace

core::Result<PreparedImage> ImageStore::Import(const core::ImageReference& reference,
                                               const std::string& tarball) {
  if (auto r = EnsureDirs(); !r)
    return tl::unexpected(r.error());
  const std::string key = KeyOf(reference.normalized);
  const int64_t now_ms = core::ToUnixMillis(core::WallClock().Now());
  const std::string unpacked = root_ + "/blobs/import." + std::to_string(::getpid()) + "." +
                               core::Sha256Hex(tarball + std::to_string(now_ms)).substr(0, 8);
  std::error_code ec;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(dir, e);
    }
  } cleanup{unpacked};
  if (auto r = ExtractLayer(tarball, unpacked); !r) {
    return Fail(ErrorCode::kInvalidRequest,
                "the image tarball cannot be read: " + r.error().message, r.error().details);
  }
  Record record;
  record.normalized = reference.normalized;
  std::vector<std::string> layer_files;
  auto bad = [](const std::string& why) {
    return Fail(ErrorCode::kInvalidRequest, "not a docker save or OCI layout tarball: " + why);
  };
  auto parse = [](const std::optional<std::string>& text) {
    boost::system::error_code pec;
    json::value v;
    if (text)
      v = json::parse(*text, pec);
    return pec ? json::value() : v;
  };
  if (auto docker = parse(ReadWhole(unpacked + "/manifest.json")); docker.is_array()) {
    if (docker.as_array().empty() || !docker.as_array()[0].is_object())
      return bad("manifest.json names no image");
    const auto& m = docker.as_array()[0].as_object();
    const std::string config = common::StringField(m, "Config");
    if (!SafeRelative(config))
      return bad("manifest.json has no usable Config");
    auto config_json = ReadWhole(unpacked + "/" + config);
    if (!config_json)
      return bad("the config " + config + " is missing");
    record.config_json = *config_json;
    record.manifest_digest = DigestOf(*config_json);
    const auto* layers = m.if_contains("Layers");
    if (layers == nullptr || !layers->is_array())
      return bad("manifest.json has no Layers");
    for (const auto& l : layers->as_array()) {
      const std::string rel = l.is_string() ? std::string(l.as_string()) : "";
      if (!SafeRelative(rel))
        return bad("manifest.json has an unusable layer path");
      const std::string path = unpacked + "/" + rel;
      auto digest = DigestOfFile(path);
      if (!digest)
        return bad("the layer " + rel + " is missing");
      record.layers.emplace_back(digest->substr(7), 0);
      layer_files.push_back(path);
    }
  } else if (auto index = parse(ReadWhole(unpacked + "/index.json")); index.is_object()) {
    auto blob = [&](const std::string& digest) -> core::Result<std::string> {
      auto hex = DigestHex(digest);
      if (!hex)
        return tl::unexpected(hex.error());
      auto text = ReadWhole(unpacked + "/blobs/sha256/" + *hex);
      if (!text)
        return Fail(ErrorCode::kInvalidRequest, "the blob " + digest + " is missing");
      if (DigestOf(*text) != digest)
        return Fail(ErrorCode::kInvalidRequest, "digest mismatch for the blob " + digest);
      return *text;
    };
    json::value current = index;
    std::string digest;
    // An index may name another index (as `docker save` of Docker 25+ does): descend.
    for (int depth = 0;
         depth < 4 && current.is_object() && current.as_object().contains("manifests"); ++depth) {
      const auto* list = current.as_object().if_contains("manifests");
      if (!list->is_array() || list->as_array().empty())
        return bad("index.json names no manifest");
      const json::object* chosen = nullptr;
      for (const auto& m : list->as_array()) {
        if (!m.is_object())
          continue;
        const auto* platform = m.as_object().if_contains("platform");
        if (platform == nullptr || !platform->is_object() ||
            (common::StringField(platform->as_object(), "os") == "linux" &&
             common::StringField(platform->as_object(), "architecture") == MachineArchitecture())) {
          chosen = &m.as_object();
          break;
        }
      }
      if (chosen == nullptr)
        return bad("no manifest for linux/" + MachineArchitecture());
      digest = common::StringField(*chosen, "digest");
      auto text = blob(digest);
      if (!text)
        return tl::unexpected(text.error());
      current = parse(*text);
    }
    if (!current.is_object() || !current.as_object().contains("layers"))
      return bad("index.json leads to no image manifest");
    record.manifest_digest = digest;
    const auto& manifest = current.as_object();
    const auto* config = manifest.if_contains("config");
    if (config == nullptr || !config->is_object())
      return bad("the manifest has no config");
    auto config_json = blob(common::StringField(config->as_object(), "digest"));
    if (!config_json)
      return tl::unexpected(config_json.error());
    record.config_json = *config_json;
    for (const auto& l : manifest.at("layers").as_array()) {
      if (!l.is_object())
        continue;
      const std::string layer_digest = common::StringField(l.as_object(), "digest");
      auto hex = DigestHex(layer_digest);
      if (!hex)
        return tl::unexpected(hex.error());
      const std::string path = unpacked + "/blobs/sha256/" + *hex;
      auto actual = DigestOfFile(path);
      if (!actual)
        return bad("the layer " + layer_digest + " is missing");
      if (*actual != layer_digest)
        return Fail(ErrorCode::kInvalidRequest, "digest mismatch for the layer " + layer_digest);
      record.layers.emplace_back(*hex, 0);
      layer_files.push_back(path);
    }
  } else {
    return bad("it has neither manifest.json nor index.json");
  }
  for (size_t i = 0; i < layer_files.size(); ++i) {
    const std::string& hex = record.layers[i].first;
    const std::string dir = root_ + "/layers/" + hex;
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0) {
      std::ifstream in(dir + ".bytes");
      in >> record.layers[i].second;
      continue;
    }
    const std::string temp = dir + ".tmp." + std::to_string(::getpid());
    fs::remove_all(temp, ec);
    auto extracted = ExtractLayer(layer_files[i], temp);
    if (!extracted) {
      fs::remove_all(temp, ec);
      return Fail(extracted.error().code,
                  "layer " + ShortDigest(hex) + ": " + extracted.error().message,
                  extracted.error().details);
    }
    {
      std::ofstream out(dir + ".bytes");
      out << *extracted;
    }
    if (::rename(temp.c_str(), dir.c_str()) != 0)
      fs::remove_all(temp, ec);
    record.layers[i].second = *extracted;
  }
  record.complete = true;
  record.last_used_ms = core::ToUnixMillis(core::WallClock().Now());
  {
    FileLock store;
    if (auto l = store.Lock(root_ + "/store.lock", LOCK_EX); !l)
      return tl::unexpected(l.error());
    const std::string record_path = root_ + "/refs/" + key + ".json";
    if (auto w = common::WriteFileAtomically(record_path, EncodeRecord(record)); !w)
      return tl::unexpected(w.error());
  }
  (void)Evict(reference.normalized);
  PreparedImage out;
  out.normalized = record.normalized;
  out.manifest_digest = record.manifest_digest;
  for (const auto& [hex, bytes] : record.layers)
    out.layer_dirs.push_back(root_ + "/layers/" + hex);
  out.config = ParseConfig(record.config_json);
  return out;
}

namespace {

// The content of the topmost layer's `rel` (e.g. "etc/passwd"), or nullopt.
std::optional<std::string> ReadFromLayers(const PreparedImage& image, const std::string& rel) {
  for (auto it = image.layer_dirs.rbegin(); it != image.layer_dirs.rend(); ++it) {
    const std::string path = *it + "/" + rel;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0)
      continue;
    if (!S_ISREG(st.st_mode))
      return std::nullopt;  // a whiteout or something odd: no such file
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  return std::nullopt;
}

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Finds `name` (field 0) in a colon-separated file; answers fields 2 and 3.
bool FindEntry(const std::optional<std::string>& file, const std::string& name, std::string& id,
               std::string& group) {
  if (!file)
    return false;
  std::istringstream lines(*file);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream parts(line);
    while (std::getline(parts, field, ':'))
      fields.push_back(field);
    if (fields.size() >= 3 && fields[0] == name) {
      id = fields[2];
      group = fields.size() >= 4 ? fields[3] : "";
      return true;
    }
  }
  return false;
}

}  // namespace

core::Result<void> ResolveImageUser(const PreparedImage& image, const std::string& user, uid_t& uid,
                                    gid_t& gid) {
  const size_t colon = user.find(':');
  const std::string name = user.substr(0, colon);
  const std::string group = colon == std::string::npos ? "" : user.substr(colon + 1);
  const auto passwd = ReadFromLayers(image, "etc/passwd");
  std::string id, primary;
  if (AllDigits(name)) {
    uid = static_cast<uid_t>(std::stoul(name));
    // The primary group of a numeric user is the one /etc/passwd gives it, else the same id.
    gid = static_cast<gid_t>(uid);
    if (passwd) {
      std::istringstream lines(*passwd);
      std::string line;
      while (std::getline(lines, line)) {
        std::vector<std::string> f;
        std::string field;
        std::istringstream parts(line);
        while (std::getline(parts, field, ':'))
          f.push_back(field);
        if (f.size() >= 4 && f[2] == name && AllDigits(f[3])) {
          gid = static_cast<gid_t>(std::stoul(f[3]));
          break;
        }
      }
    }
  } else if (FindEntry(passwd, name, id, primary) && AllDigits(id)) {
    uid = static_cast<uid_t>(std::stoul(id));
    gid = AllDigits(primary) ? static_cast<gid_t>(std::stoul(primary)) : static_cast<gid_t>(uid);
  } else {
    return Fail(ErrorCode::kInvalidRequest,
                "image user \"" + name + "\" is not in the image's /etc/passwd");
  }
  if (group.empty())
    return {};
  if (AllDigits(group)) {
    gid = static_cast<gid_t>(std::stoul(group));
    return {};
  }
  std::string gid_text, unused;
  if (FindEntry(ReadFromLayers(image, "etc/group"), group, gid_text, unused) &&
      AllDigits(gid_text)) {
    gid = static_cast<gid_t>(std::stoul(gid_text));
    return {};
  }
  return Fail(ErrorCode::kInvalidRequest,
              "image group \"" + group + "\" is not in the image's /etc/group");
}

}  // namespace runvoy::providers::local::image
