// The local sandbox running OCI images through the real server and CLI: a busybox image pushed
// to the loopback registry (ctest fixture "oci_registry"), fetched on first use, cached, its
// config applied; failures (not found, registry down, corrupted layer) end runs FAILED with
// the reason in their logs; a kill during the pull; two runs of a new image at once; imports.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/oci_image_builder.h"
#include "support/process.h"
#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

using TE = TarEntry;

class LocalImagesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = OciRegistry();
    server_ = new RunvoyServer();
    developer_ = server_->CreateUser("dev@example.com", "developer");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(registry_.empty()) << "the loopback registry did not start";
  }

  // A repository of its own per test and process.
  static std::string Repo(const std::string& what) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->name()) + "-" + what;
    for (auto& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
        c = '-';
    }
    return "e2e/" + name + "-" + std::to_string(::getpid());
  }

  // Pushes a busybox image (plus `extra` entries in a second layer) and registers it.
  static std::string PushAndRegister(const std::string& what, const ImageConfigSpec& config,
                                     std::vector<TE> extra = {}) {
    std::vector<std::string> layers = {MakeTar(BusyboxLayerEntries(), true)};
    extra.push_back({"unique", TE::Type::kFile, Repo(what)});
    layers.push_back(MakeTar(extra, true));
    const auto image = BuildImage(layers, config);
    const std::string repo = Repo(what);
    auto pushed = PushImage(registry_, repo, "1", image);
    EXPECT_TRUE(pushed.has_value()) << (pushed ? "" : pushed.error().message);
    return Register(registry_ + "/" + repo + ":1");
  }

  static std::string Register(const std::string& reference) {
    const auto registered = server_->Call("POST", "/api/v1/images/register", server_->admin_key(),
                                          R"({"image":")" + reference + R"("})");
    EXPECT_EQ(registered.status, 201) << registered.body;
    return registered.json.is_object() ? std::string(registered.json.at("image_id").as_string())
                                       : std::string();
  }

  static ProcessResult Run(const std::string& image, const std::string& command,
                           std::vector<std::string> flags = {}) {
    std::vector<std::string> args = {"run", "--image", image};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(command);
    return server_->Cli(args, developer_);
  }

  static std::string StartDetached(const std::string& image, const std::string& command) {
    const auto started = server_->Cli({"run", "--detach", "--image", image, command}, developer_);
    EXPECT_EQ(started.exit_code, 0) << started.err;
    std::string id = started.out;
    id.erase(id.find_last_not_of("\n") + 1);
    return id;
  }

  static std::string Logs(const std::string& id) {
    return server_->Call("GET", "/api/v1/executions/" + id + "/logs", developer_).body;
  }

  static std::string registry_;
  static RunvoyServer* server_;
  static std::string developer_;
};

std::string LocalImagesTest::registry_;
RunvoyServer* LocalImagesTest::server_ = nullptr;
std::string LocalImagesTest::developer_;

TEST_F(LocalImagesTest, ABusyboxImageRunsInItsOwnRootWithItsConfigApplied) {
  const std::string image = PushAndRegister(
      "config", {{"PATH=/bin", "FROM_IMAGE=yes", "OVERRIDDEN=image"}, "/srv/app", "app"});
  const auto result =
      Run(image,
          "echo $FROM_IMAGE $OVERRIDDEN; pwd; id -u; id -g; cat /unique >/dev/null && echo layer2;"
          " test -e /usr/bin/apt && echo host-visible; touch /rootfs-write 2>/dev/null || echo "
          "read-only-for-app;"
          " touch /workspace/w && echo workspace",
          {"--env", "OVERRIDDEN=request"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "yes request\n/srv/app\n1000\n1000\nlayer2\nread-only-for-app\nworkspace\n");
  EXPECT_NE(result.err.find("pulling image"), std::string::npos) << result.err;
}

TEST_F(LocalImagesTest, ASecondRunUsesTheCachedImageWithoutPulling) {
  const std::string image = PushAndRegister("cached", {});
  const auto first = Run(image, "echo one");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("pulling image"), std::string::npos) << first.err;
  const auto second = Run(image, "echo two; id -u");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, "two\n65534\n");  // no User in the image: the unprivileged user
  EXPECT_EQ(second.err.find("pulling image"), std::string::npos) << second.err;
}

TEST_F(LocalImagesTest, AnImageTheRegistryLacksFailsTheRunWithTheReasonInItsLogs) {
  const std::string image = Register(registry_ + "/" + Repo("absent") + ":nope");
  const auto result = Run(image, "echo never");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.out.find("never"), std::string::npos);
  const auto listed = server_->Call("GET", "/api/v1/executions?limit=1", developer_);
  const auto& last = listed.json.as_array()[0];
  EXPECT_EQ(last.at("status").as_string(), "FAILED");
  const std::string logs = Logs(std::string(last.at("execution_id").as_string()));
  EXPECT_NE(logs.find("not found"), std::string::npos) << logs;
}

TEST_F(LocalImagesTest, ARegistryThatIsDownFailsTheRun) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(s);
  const std::string image =
      Register("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/down/image:1");
  const std::string id = StartDetached(image, "echo never");
  const auto final_state = server_->WaitFinished(id, developer_);
  ASSERT_FALSE(final_state.is_null());
  EXPECT_EQ(final_state.at("status").as_string(), "FAILED");
  const std::string logs = Logs(id);
  EXPECT_NE(logs.find("cannot reach the registry"), std::string::npos) << logs;
}

TEST_F(LocalImagesTest, ACorruptedLayerFailsTheRunWithADigestMismatch) {
  std::vector<TE> entries = BusyboxLayerEntries();
  entries.push_back({"unique", TE::Type::kFile, Repo("corrupt")});
  const auto built = BuildImage({MakeTar(entries, true)}, {});
  const std::string repo = Repo("corrupt");
  ASSERT_TRUE(PushImage(registry_, repo, "1", built).has_value());
  const std::string hex = Sha256Digest(built.layers[0]).substr(7);
  std::string bytes = built.layers[0];
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  std::ofstream(OciRegistryStorage() + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) +
                    "/" + hex + "/data",
                std::ios::binary | std::ios::trunc)
      << bytes;
  const std::string id = StartDetached(Register(registry_ + "/" + repo + ":1"), "echo never");
  const auto final_state = server_->WaitFinished(id, developer_);
  ASSERT_FALSE(final_state.is_null());
  EXPECT_EQ(final_state.at("status").as_string(), "FAILED");
  const std::string logs = Logs(id);
  EXPECT_NE(logs.find("digest mismatch"), std::string::npos) << logs;
}

TEST_F(LocalImagesTest, TwoRunsOfANewImageAtOnceFetchItOnce) {
  const std::string image = PushAndRegister("twice", {});
  ProcessResult a, b;
  std::thread ta([&] { a = Run(image, "echo a"); });
  std::thread tb([&] { b = Run(image, "echo b"); });
  ta.join();
  tb.join();
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, "a\n");
  EXPECT_EQ(b.out, "b\n");
  const bool a_pulled = a.err.find("pulling image") != std::string::npos;
  const bool b_pulled = b.err.find("pulling image") != std::string::npos;
  EXPECT_NE(a_pulled, b_pulled) << "A:\n" << a.err << "\nB:\n" << b.err;
}

// A registry that serves an image's manifest and config, then stalls in the middle of its layer
// until it is stopped: a pull that never ends by itself.
class StallingRegistry {
 public:
  StallingRegistry() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listener_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    config_ = R"({"architecture":"amd64","os":"linux","config":{}})";
    const std::string layer_digest = Sha256Digest("a layer that never arrives");
    manifest_ = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                Sha256Digest(config_) + R"(","size":)" + std::to_string(config_.size()) +
                R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",)"
                R"("digest":")" +
                layer_digest + R"(","size":10485760}]})";
    thread_ = std::thread([this] { Serve(); });
  }
  ~StallingRegistry() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool LayerRequested() const { return layer_requested_; }

 private:
  void Serve() {
    std::vector<int> held;
    while (!stop_) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0)
        break;
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
        const std::string path = request.substr(4, request.find(' ', 4) - 4);
        std::string body, type = "application/octet-stream";
        if (path.find("/manifests/") != std::string::npos) {
          body = manifest_;
          type = "application/vnd.oci.image.manifest.v1+json";
        } else if (path.find(Sha256Digest(config_)) != std::string::npos) {
          body = config_;
        } else {
          layer_requested_ = true;
          const std::string head =
              "HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n" + std::string(4096, 'x');
          (void)!::write(fd, head.data(), head.size());
          held.push_back(fd);  // never finished: the connection stays open until the end
          break;
        }
        const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: " + type +
                                     "\r\nContent-Length: " + std::to_string(body.size()) +
                                     "\r\n\r\n" + body;
        (void)!::write(fd, response.data(), response.size());
      }
      if (held.empty() || held.back() != fd)
        ::close(fd);
    }
    for (int fd : held)
      ::close(fd);
  }

  int listener_ = -1;
  int port_ = 0;
  std::string config_, manifest_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> layer_requested_{false};
  std::thread thread_;
};

TEST_F(LocalImagesTest, AKillDuringThePullStopsTheRunWhileItIsStarting) {
  StallingRegistry stalling;
  const std::string image = Register(stalling.Address() + "/slow/image:1");
  const std::string id = StartDetached(image, "echo never");
  for (int i = 0; i < 1500 && !stalling.LayerRequested(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(stalling.LayerRequested()) << Logs(id);
  const auto status = server_->Call("GET", "/api/v1/executions/" + id + "/status", developer_);
  EXPECT_EQ(status.json.at("status").as_string(), "STARTING") << status.body;
  const auto killed = server_->Cli({"kill", id}, developer_);
  EXPECT_EQ(killed.exit_code, 0) << killed.err;
  const auto final_state = server_->WaitFinished(id, developer_);
  ASSERT_FALSE(final_state.is_null());
  EXPECT_EQ(final_state.at("status").as_string(), "STOPPED");
  const std::string logs = Logs(id);
  EXPECT_NE(logs.find("pulling image"), std::string::npos) << logs;
  EXPECT_EQ(logs.find(R"("stream":"stdout")"), std::string::npos) << logs;
}

TEST_F(LocalImagesTest, AnImageWhoseUserIsRootRunsAsRootWithoutCapabilitiesAndAWritableRoot) {
  const std::string image = PushAndRegister("root", {{}, "", "0"});
  const auto result = Run(image,
                          "id -u; touch /etc/written && echo writable; "
                          "grep CapEff /proc/self/status; mount -t tmpfs x /mnt 2>/dev/null || "
                          "echo no-mount");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "0\nwritable\nCapEff:\t0000000000000000\nno-mount\n");
}

TEST_F(LocalImagesTest, AnAdminImportsImageTarballsThatThenRunWithoutARegistry) {
  // Over 1 MiB: the import route has its own body limit (images.import_max_bytes).
  const auto saved = BuildImage({MakeTar(BusyboxLayerEntries(), true)}, {{"IMPORTED=save"}});
  const std::string file = MakeTempDir("runvoy-import") + "/image.tar";
  std::ofstream(file, std::ios::binary) << DockerSaveTarball(saved, "tool:1");
  const auto imported =
      server_->Cli({"images", "import", "imported/tool:1", file}, server_->admin_key());
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  std::string id = imported.out;
  id.erase(id.find_last_not_of("\n") + 1);
  const auto result = Run(id, "echo $IMPORTED");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "save\n");
  EXPECT_EQ(result.err.find("pulling image"), std::string::npos) << result.err;

  // An uncompressed layer this time (about 2 MB).
  const auto oci = BuildImage({MakeTar(BusyboxLayerEntries(), false)}, {{"IMPORTED=oci"}});
  const std::string layout = OciLayoutTarball(oci);
  ASSERT_GT(layout.size(), size_t{1} << 20);
  const auto denied =
      server_->Call("POST", "/api/v1/images/import?image=imported/oci:1", developer_, layout);
  EXPECT_EQ(denied.status, 403);
  const auto stored = server_->Call("POST", "/api/v1/images/import?image=imported/oci:1",
                                    server_->admin_key(), layout);
  ASSERT_EQ(stored.status, 201) << stored.body;
  const auto run = Run(std::string(stored.json.at("image_id").as_string()), "echo $IMPORTED");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "oci\n");

  const auto junk = server_->Call("POST", "/api/v1/images/import?image=junk:1",
                                  server_->admin_key(), std::string(4096, 'x'));
  EXPECT_EQ(junk.status, 400) << junk.body;
}

TEST_F(LocalImagesTest, HostStaysAvailableNextToImages) {
  const std::string image = Register("host");
  const auto result = Run(image, "test -e /usr/bin/apt-get && echo host");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "host\n");
}

}  // namespace
}  // namespace runvoy::testing
