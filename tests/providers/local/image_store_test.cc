// The local sandbox's image machinery against a real loopback registry (Debian's
// docker-registry, the ctest fixture "oci_registry"): registry client, layer extraction with
// whiteouts, the cache (fetch once, eviction, in-use images), tarball imports.

#include "providers/local/image/image_store.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/image_reference.h"
#include "providers/local/image/digest.h"
#include "providers/local/image/layer.h"
#include "providers/local/image/registry_client.h"
#include "support/oci_image_builder.h"

namespace runvoy::providers::local::image {
namespace {

namespace fs = std::filesystem;
using runvoy::testing::TarEntry;
using ::testing::HasSubstr;

std::string WriteTemp(const std::string& dir, const std::string& name, const std::string& data) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

std::string Sha256Digest(const std::string& bytes) {
  return runvoy::testing::Sha256Digest(bytes);
}

core::ImageReference Ref(const std::string& text) {
  auto parsed = core::ParseImageReference(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return *parsed;
}

class ImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = runvoy::testing::OciRegistry();
    ASSERT_FALSE(registry_.empty()) << "the loopback registry did not start";
    char tmpl[] = "/tmp/runvoy-image-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A unique repository name per test, so tests never see each other's images.
  std::string Repo(const std::string& what) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->name()) + "-" + what;
    for (auto& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
        c = '-';
    }
    return "test/" + name + "-" + std::to_string(::getpid());
  }

  runvoy::testing::TestImage Busybox(const runvoy::testing::ImageConfigSpec& config = {}) {
    return runvoy::testing::BuildImage(
        {runvoy::testing::MakeTar(runvoy::testing::BusyboxLayerEntries(), true)}, config);
  }

  std::string Push(const std::string& what, const runvoy::testing::TestImage& image) {
    const std::string repo = Repo(what);
    auto pushed = runvoy::testing::PushImage(registry_, repo, "1", image);
    EXPECT_TRUE(pushed.has_value()) << (pushed ? "" : pushed.error().message);
    return registry_ + "/" + repo + ":1";
  }

  std::string registry_;
  std::string dir_;
};

TEST_F(ImageTest, TheRegistryClientResolvesAPushedImageAndVerifiesItsBlobs) {
  auto image = Busybox({{"A=1"}, "/srv", "app"});
  const std::string ref = Push("plain", image);
  RegistryClient client(Ref(ref), {});
  auto resolved = client.Resolve();
  ASSERT_TRUE(resolved.has_value()) << resolved.error().message;
  EXPECT_EQ(resolved->manifest_digest, image.manifest_digest);
  EXPECT_EQ(resolved->config_json, image.config_json);
  ASSERT_EQ(resolved->layers.size(), 1u);
  const std::string path = dir_ + "/layer";
  int64_t seen = 0;
  ASSERT_TRUE(client.FetchBlob(resolved->layers[0].digest, path, [&](int64_t n) { seen = n; }));
  EXPECT_EQ(seen, static_cast<int64_t>(image.layers[0].size()));
  EXPECT_EQ(*DigestOfFile(path), resolved->layers[0].digest);
}

TEST_F(ImageTest, AnIndexSelectsTheManifestOfThisMachinesPlatform) {
  auto mine = Busybox({{"WHICH=mine"}});
  auto other = Busybox({{"WHICH=other"}});
  const std::string repo = Repo("index");
  ASSERT_TRUE(runvoy::testing::PushImage(registry_, repo, "mine", mine));
  ASSERT_TRUE(runvoy::testing::PushImage(registry_, repo, "other", other));
  const std::string foreign = MachineArchitecture() == "arm64" ? "amd64" : "arm64";
  ASSERT_TRUE(runvoy::testing::PushIndex(
      registry_, repo, "multi",
      {{"linux/" + foreign, other}, {"linux/" + MachineArchitecture(), mine}}));
  RegistryClient client(Ref(registry_ + "/" + repo + ":multi"), {});
  auto resolved = client.Resolve();
  ASSERT_TRUE(resolved.has_value()) << resolved.error().message;
  EXPECT_EQ(resolved->manifest_digest, mine.manifest_digest);
  EXPECT_THAT(resolved->config_json, HasSubstr("WHICH=mine"));

  RegistryClientOptions s390;
  s390.architecture = "s390x";
  auto none = RegistryClient(Ref(registry_ + "/" + repo + ":multi"), s390).Resolve();
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, core::ErrorCode::kNotFound);
  EXPECT_THAT(none.error().message, HasSubstr("linux/s390x"));
}

// A registry that wants a Bearer token: 401 with a challenge naming its token service (on the
// same loopback port), which hands out "t0ken" for the repository's pull scope.
class TokenRegistry {
 public:
  explicit TokenRegistry(runvoy::testing::TestImage image) : image_(std::move(image)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listener_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TokenRegistry() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string TokenQuery() const {
    std::lock_guard<std::mutex> lock(mu_);
    return token_query_;
  }

 private:
  void Serve() {
    for (;;) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0)
        return;
      for (;;) {
        std::string request;
        char buf[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
          const ssize_t n = ::read(fd, buf, sizeof buf);
          if (n <= 0)
            break;
          request.append(buf, static_cast<size_t>(n));
        }
        if (request.empty())
          break;
        const std::string target = request.substr(4, request.find(' ', 4) - 4);
        const bool authorized = request.find("Authorization: Bearer t0ken") != std::string::npos;
        std::string status = "200 OK", extra, body;
        if (target.rfind("/token?", 0) == 0) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            token_query_ = target;
          }
          body = R"({"token":"t0ken"})";
        } else if (!authorized) {
          status = "401 Unauthorized";
          extra = "WWW-Authenticate: Bearer realm=\"http://" + Address() +
                  "/token\",service=\"test-registry\",scope=\"repository:private/tool:pull\"\r\n";
        } else if (target.find("/manifests/") != std::string::npos) {
          body = image_.manifest_json;
          extra = "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n";
        } else {
          body = image_.config_json;
        }
        const std::string response = "HTTP/1.1 " + status + "\r\n" + extra +
                                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                                     body;
        (void)!::write(fd, response.data(), response.size());
      }
      ::close(fd);
    }
  }

  runvoy::testing::TestImage image_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::string token_query_;
};

TEST_F(ImageTest, ARegistryAskingForABearerTokenGetsAnAnonymousOne) {
  auto image = Busybox({{"PRIVATE=1"}});
  TokenRegistry registry(image);
  RegistryClient client(Ref(registry.Address() + "/private/tool:1"), {});
  auto resolved = client.Resolve();
  ASSERT_TRUE(resolved.has_value()) << resolved.error().message;
  EXPECT_EQ(resolved->manifest_digest, image.manifest_digest);
  EXPECT_EQ(resolved->config_json, image.config_json);
  EXPECT_EQ(registry.TokenQuery(),
            "/token?service=test-registry&scope=repository%3Aprivate%2Ftool%3Apull");
}

TEST_F(ImageTest, AnImageTheRegistryLacksIsNotFound) {
  RegistryClient client(Ref(registry_ + "/" + Repo("missing") + ":nope"), {});
  auto resolved = client.Resolve();
  ASSERT_FALSE(resolved.has_value());
  EXPECT_EQ(resolved.error().code, core::ErrorCode::kNotFound);
  EXPECT_THAT(resolved.error().message, HasSubstr("not found"));
}

TEST_F(ImageTest, ARegistryThatIsDownIsUnavailable) {
  // A port that was free a moment ago: nothing listens there.
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(s);
  const std::string ref = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x/y:1";
  ImageStore store(dir_ + "/cache", 0);
  auto acquired = store.Acquire(Ref(ref), {});
  ASSERT_FALSE(acquired.has_value());
  EXPECT_EQ(acquired.error().code, core::ErrorCode::kServiceUnavailable);
  EXPECT_THAT(acquired.error().message, HasSubstr("cannot reach the registry"));
}

TEST_F(ImageTest, ACorruptedLayerInTheRegistryFailsTheFetchWithADigestMismatch) {
  // A layer nothing else uses, so that corrupting its stored copy harms no other test.
  std::vector<TarEntry> entries = runvoy::testing::BusyboxLayerEntries();
  entries.push_back({"corrupt-me", TarEntry::Type::kFile, Repo("unique")});
  auto image = runvoy::testing::BuildImage({runvoy::testing::MakeTar(entries, true)}, {});
  const std::string ref = Push("corrupt", image);
  const std::string hex = Sha256Digest(image.layers[0]).substr(7);
  const std::string data = runvoy::testing::OciRegistryStorage() +
                           "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex +
                           "/data";
  std::string bytes = image.layers[0];
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  std::ofstream(data, std::ios::binary | std::ios::trunc) << bytes;

  ImageStore store(dir_ + "/cache", 0);
  auto acquired = store.Acquire(Ref(ref), {});
  ASSERT_FALSE(acquired.has_value());
  EXPECT_THAT(acquired.error().message, HasSubstr("digest mismatch"));
  EXPECT_FALSE(fs::exists(dir_ + "/cache/layers/" + hex));
  EXPECT_TRUE(store.CachedReferences().empty());
}

TEST_F(ImageTest, WhiteoutsBecomeOverlayWhiteouts) {
  std::vector<TarEntry> entries = {
      {"etc", TarEntry::Type::kDir},
      {"etc/.wh.passwd", TarEntry::Type::kFile},
      {"var/cache/.wh..wh..opq", TarEntry::Type::kFile},
      {"var/cache/kept", TarEntry::Type::kFile, "kept"},
      {"data/a", TarEntry::Type::kFile, "hello"},
      {"data/b", TarEntry::Type::kHardlink, "", "data/a"},
  };
  const std::string tar = WriteTemp(dir_, "layer.tar", runvoy::testing::MakeTar(entries, false));
  auto bytes = ExtractLayer(tar, dir_ + "/out");
  ASSERT_TRUE(bytes.has_value()) << bytes.error().message << " " << bytes.error().details;
  struct stat st;
  ASSERT_EQ(::lstat((dir_ + "/out/etc/passwd").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_FALSE(fs::exists(dir_ + "/out/etc/.wh.passwd"));
  char value[8] = {};
  ASSERT_EQ(
      ::getxattr((dir_ + "/out/var/cache").c_str(), "trusted.overlay.opaque", value, sizeof value),
      1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_TRUE(fs::exists(dir_ + "/out/var/cache/kept"));
  ASSERT_EQ(::stat((dir_ + "/out/data/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(*bytes, 9);
}

TEST_F(ImageTest, ALayerEscapingItsDirectoryIsRefused) {
  std::vector<TarEntry> entries = {{"../escaped", TarEntry::Type::kFile, "x"}};
  const std::string tar = WriteTemp(dir_, "evil.tar", runvoy::testing::MakeTar(entries, false));
  auto bytes = ExtractLayer(tar, dir_ + "/out");
  ASSERT_FALSE(bytes.has_value());
  EXPECT_THAT(bytes.error().message, HasSubstr("unsafe path"));
  EXPECT_FALSE(fs::exists(dir_ + "/escaped"));

  std::vector<TarEntry> through_link = {{"link", TarEntry::Type::kSymlink, "", "/tmp"},
                                        {"link/.wh.x", TarEntry::Type::kFile}};
  const std::string tar2 =
      WriteTemp(dir_, "evil2.tar", runvoy::testing::MakeTar(through_link, false));
  auto bytes2 = ExtractLayer(tar2, dir_ + "/out2");
  ASSERT_FALSE(bytes2.has_value());
  EXPECT_FALSE(fs::exists("/tmp/x"));
}

TEST_F(ImageTest, TheStoreFetchesAnImageOnceAndAppliesItsConfig) {
  const std::string ref = Push("once", Busybox({{"PATH=/bin", "GREETING=hi"}, "/srv", "app"}));
  std::vector<std::string> lines;
  StoreHooks hooks;
  hooks.progress = [&](const std::string& line) { lines.push_back(line); };
  {
    ImageStore store(dir_ + "/cache", 0);
    auto image = store.Acquire(Ref(ref), hooks);
    ASSERT_TRUE(image.has_value()) << image.error().message;
    ASSERT_EQ(image->layer_dirs.size(), 1u);
    EXPECT_TRUE(fs::exists(image->layer_dirs[0] + "/bin/busybox"));
    EXPECT_THAT(image->config.env, ::testing::ElementsAre("PATH=/bin", "GREETING=hi"));
    EXPECT_EQ(image->config.working_dir, "/srv");
    uid_t uid = 0;
    gid_t gid = 0;
    ASSERT_TRUE(ResolveImageUser(*image, image->config.user, uid, gid));
    EXPECT_EQ(uid, 1000u);
    EXPECT_EQ(gid, 1000u);
    ASSERT_TRUE(ResolveImageUser(*image, "nobody:staff", uid, gid));
    EXPECT_EQ(uid, 65534u);
    EXPECT_EQ(gid, 50u);
    EXPECT_FALSE(ResolveImageUser(*image, "ghost", uid, gid).has_value());
  }
  EXPECT_THAT(lines.front(), HasSubstr("pulling image " + ref));
  EXPECT_THAT(lines.back(), HasSubstr("ready"));
  lines.clear();
  ImageStore again(dir_ + "/cache", 0);
  ASSERT_TRUE(again.Acquire(Ref(ref), hooks).has_value());
  EXPECT_TRUE(lines.empty()) << "a cached image is not fetched again: " << lines.front();
}

TEST_F(ImageTest, ConcurrentAcquiresOfANewImageFetchItOnce) {
  const std::string ref = Push("concurrent", Busybox());
  std::mutex mu;
  int pulls = 0;
  std::atomic<int> ok{0};
  auto run = [&] {
    ImageStore store(dir_ + "/cache", 0);
    StoreHooks hooks;
    hooks.progress = [&](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu);
      if (line.find("pulling image") != std::string::npos)
        ++pulls;
    };
    if (store.Acquire(Ref(ref), hooks))
      ++ok;
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back(run);
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), 3);
  EXPECT_EQ(pulls, 1);
}

TEST_F(ImageTest, TheLeastRecentlyUsedImageNotInUseIsEvictedAboveTheBound) {
  auto unique_image = [&](const std::string& what) {
    std::vector<TarEntry> entries = runvoy::testing::BusyboxLayerEntries();
    entries.push_back({"which", TarEntry::Type::kFile, Repo(what)});
    return runvoy::testing::BuildImage({runvoy::testing::MakeTar(entries, true)}, {});
  };
  const std::string a = Push("a", unique_image("a"));
  const std::string b = Push("b", unique_image("b"));
  const std::string c = Push("c", unique_image("c"));
  // Room for one image (busybox is about 1-2 MB unpacked).
  const int64_t bound = int64_t{1} << 20;
  {
    ImageStore store(dir_ + "/cache", bound);
    ASSERT_TRUE(store.Acquire(Ref(a), {}).has_value());
  }
  ImageStore holder(dir_ + "/cache", bound);
  auto held = holder.Acquire(Ref(b), {});
  ASSERT_TRUE(held.has_value());
  // a was not in use: evicted, layer and all.
  EXPECT_THAT(holder.CachedReferences(), ::testing::ElementsAre(b));
  {
    // b is in use (held): kept although the cache is now above its bound.
    ImageStore store(dir_ + "/cache", bound);
    ASSERT_TRUE(store.Acquire(Ref(c), {}).has_value());
    std::vector<std::string> both = {b, c};
    std::sort(both.begin(), both.end());
    EXPECT_EQ(store.CachedReferences(), both);
  }
  size_t layers = 0;
  for (const auto& entry : fs::directory_iterator(dir_ + "/cache/layers")) {
    if (entry.is_directory())
      ++layers;
  }
  EXPECT_EQ(layers, 2u);
}

TEST_F(ImageTest, ADockerSaveTarballIsImported) {
  auto image = Busybox({{"FROM_SAVE=1"}});
  const std::string tarball =
      WriteTemp(dir_, "save.tar", runvoy::testing::DockerSaveTarball(image, "saved:1"));
  ImageStore store(dir_ + "/cache", 0);
  auto imported = store.Import(Ref("saved:1"), tarball);
  ASSERT_TRUE(imported.has_value()) << imported.error().message;
  ASSERT_EQ(imported->layer_dirs.size(), 1u);
  EXPECT_TRUE(fs::exists(imported->layer_dirs[0] + "/bin/busybox"));
  EXPECT_THAT(imported->config.env, ::testing::ElementsAre("FROM_SAVE=1"));
  // Acquire finds it without any registry.
  std::vector<std::string> lines;
  StoreHooks hooks;
  hooks.progress = [&](const std::string& line) { lines.push_back(line); };
  ASSERT_TRUE(store.Acquire(Ref("saved:1"), hooks).has_value());
  EXPECT_TRUE(lines.empty());
}

TEST_F(ImageTest, AnOciLayoutTarballIsImportedAndItsDigestsChecked) {
  auto image = Busybox({{"FROM_OCI=1"}});
  const std::string tarball = WriteTemp(dir_, "oci.tar", runvoy::testing::OciLayoutTarball(image));
  ImageStore store(dir_ + "/cache", 0);
  auto imported = store.Import(Ref("oci-layout:1"), tarball);
  ASSERT_TRUE(imported.has_value()) << imported.error().message;
  EXPECT_EQ(imported->manifest_digest, image.manifest_digest);
  EXPECT_THAT(imported->config.env, ::testing::ElementsAre("FROM_OCI=1"));

  auto broken = image;
  broken.layers[0][broken.layers[0].size() / 2] ^= 0x5a;  // the manifest still names the old
  broken.manifest_json = image.manifest_json;
  const std::string bad = WriteTemp(dir_, "bad.tar", runvoy::testing::OciLayoutTarball(broken));
  auto refused = store.Import(Ref("oci-bad:1"), bad);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message, HasSubstr("missing"));

  const std::string junk = WriteTemp(
      dir_, "junk.tar", runvoy::testing::MakeTar({{"hello", TarEntry::Type::kFile, "x"}}, false));
  auto not_image = store.Import(Ref("junk:1"), junk);
  ASSERT_FALSE(not_image.has_value());
  EXPECT_THAT(not_image.error().message, HasSubstr("not a docker save or OCI layout"));
}

TEST_F(ImageTest, AFetchEndsWhenCancelled) {
  const std::string ref = Push("cancel", Busybox());
  ImageStore store(dir_ + "/cache", 0);
  StoreHooks hooks;
  hooks.cancelled = [] { return true; };
  auto acquired = store.Acquire(Ref(ref), hooks);
  ASSERT_FALSE(acquired.has_value());
  EXPECT_EQ(acquired.error().message, "cancelled");
}

}  // namespace
}  // namespace runvoy::providers::local::image
