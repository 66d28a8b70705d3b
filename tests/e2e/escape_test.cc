// Escape attempts from the local sandbox through the real server and CLI (docs/sandbox.md,
// "Sandbox security"): each test runs, as an ordinary developer, commands that try to reach
// the host (its processes, the data directory and master key, loopback services, cgroup
// limits, pids, memory, disk, privileged system calls) and checks from their output and from
// the host that every attempt failed.
//
// The server's data directory is under /opt, one of the host directories bound into the
// reserved image `host`, so that hiding it is really exercised; it is removed afterwards.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

constexpr int kPidsLimit = 64;
constexpr int kMemoryMb = 128;
constexpr long long kWorkspaceMb = 32;

bool HasPython() {
  return ::access("/usr/bin/python3", X_OK) == 0;
}

// A TCP listener on 127.0.0.1 in the host's network namespace, closed on destruction.
class LoopbackListener {
 public:
  LoopbackListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len)) {
      ADD_FAILURE() << "cannot open a loopback listener";
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackListener() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int port() const { return port_; }
  // Whether a connection is waiting (the listener is non-blocking).
  bool WasReached() {
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0)
      return false;
    ::close(client);
    return true;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// An abstract unix socket of the host's network namespace: abstract names are per namespace.
class AbstractListener {
 public:
  explicit AbstractListener(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(fd_, 16) != 0) {
      ADD_FAILURE() << "cannot open an abstract unix listener";
    }
  }
  ~AbstractListener() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  bool WasReached() {
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0)
      return false;
    ::close(client);
    return true;
  }

 private:
  int fd_ = -1;
};

// Free bytes of the filesystem holding `path`.
unsigned long long FreeBytes(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0)
    return 0;
  return static_cast<unsigned long long>(st.f_bavail) * st.f_frsize;
}

class SandboxEscapeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // /opt is bound into the `host` image: a data directory there must be hidden by the mask.
    std::string pattern = "/opt/runvoy-escape-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << "cannot create a directory under /opt";
    opt_dir_ = pattern;
    const std::string data_dir = opt_dir_;
    const std::string config = MakeTempDir("runvoy-escape") + "/server.yaml";
    std::ofstream(config) << "executions:\n  kill_grace: 2s\n"
                          << "compute:\n  local:\n    network: none\n    pids_limit: " << kPidsLimit
                          << "\n    workspace_bytes: " << kWorkspaceMb << "MiB\n";
    server_ = new RunvoyServer({"--config", config}, {}, data_dir);
    const auto image = server_->Call(
        "POST", "/api/v1/images/register", server_->admin_key(),
        R"({"image":"host","is_default":true,"memory":)" + std::to_string(kMemoryMb) + "}");
    ASSERT_EQ(image.status, 201) << image.body;
    developer_ = server_->CreateUser("dev@example.com", "developer");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::error_code ec;
    if (!opt_dir_.empty())
      std::filesystem::remove_all(opt_dir_, ec);
  }

  static ProcessResult Run(const std::string& command, std::vector<std::string> flags = {}) {
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(command);
    return server_->Cli(args, developer_);
  }

  // The newest execution's record.
  static boost::json::object Latest() {
    const auto listed = server_->Call("GET", "/api/v1/executions?limit=1", developer_);
    if (!listed.json.is_array() || listed.json.as_array().empty())
      return {};
    return listed.json.as_array()[0].as_object();
  }

  // The server still answers and another execution still runs normally.
  static void ExpectServerHealthy() {
    const auto health = server_->Call("GET", "/api/v1/health", "");
    EXPECT_EQ(health.status, 200) << health.body;
    const auto echo = Run("echo still-fine");
    EXPECT_EQ(echo.exit_code, 0) << echo.err;
    EXPECT_EQ(echo.out, "still-fine\n");
  }

  static std::string opt_dir_;
  static RunvoyServer* server_;
  static std::string developer_;
};

std::string SandboxEscapeTest::opt_dir_;
RunvoyServer* SandboxEscapeTest::server_ = nullptr;
std::string SandboxEscapeTest::developer_;

TEST_F(SandboxEscapeTest, HostProcessesCanBeNeitherSeenNorSignalled) {
  BackgroundProcess sleeper({"/bin/sleep", "300"}, {}, "/dev/null");
  const std::string pid = std::to_string(sleeper.pid());
  const std::string server_pid = std::to_string(server_->pid());
  const auto result = Run("ls /proc | grep -x -e " + pid + " -e " + server_pid +
                          " || echo not-listed; "
                          "test -e /proc/" +
                          pid +
                          " && echo SEEN || echo not-seen; "
                          "kill -9 " +
                          pid + " && echo KILLED; kill -9 " + server_pid +
                          " && echo KILLED; kill -9 -1; echo kill-all-done; "
                          "echo processes=$(ls -d /proc/[0-9]* | wc -l)");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("not-listed\nnot-seen\nkill-all-done\n"), std::string::npos)
      << result.out;
  EXPECT_EQ(result.out.find("KILLED"), std::string::npos) << result.out;
  EXPECT_NE(result.err.find("No such process"), std::string::npos) << result.err;
  // Only the sandbox's own processes: its init, the shell, `ls`.
  const auto count = result.out.find("processes=");
  ASSERT_NE(count, std::string::npos) << result.out;
  EXPECT_LE(std::atoi(result.out.c_str() + count + 10), 6) << result.out;
  EXPECT_TRUE(sleeper.Running());
  ExpectServerHealthy();
  sleeper.Stop(SIGKILL);
}

TEST_F(SandboxEscapeTest, AnotherExecutionOfTheSameUserCanBeNeitherSeenNorSignalled) {
  const auto started = server_->Cli(
      {"run", "--detach",
       "echo secret-a > /tmp/a; echo secret-a > /workspace/a; echo started; sleep 120"},
      developer_);
  ASSERT_EQ(started.exit_code, 0) << started.err;
  std::string id = started.out;
  id.erase(id.find_last_not_of('\n') + 1);
  bool running = false;
  for (int i = 0; i < 1500 && !running; ++i) {
    const auto logs = server_->Call("GET", "/api/v1/executions/" + id + "/logs", developer_);
    running = logs.body.find("started") != std::string::npos;
    if (!running)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(running);
  // Both run as the same uid (nobody): only the namespaces keep them apart.
  const auto result =
      Run("ls -A /tmp /workspace; cat /tmp/a /workspace/a 2>/dev/null; "
          "pkill -9 sleep && echo KILLED-SLEEP; kill -9 -1; "
          "ps -e -o comm= | grep -c sleep; echo done");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "/tmp:\n\n/workspace:\n0\ndone\n");
  const auto status = server_->Call("GET", "/api/v1/executions/" + id + "/status", developer_);
  EXPECT_EQ(status.json.at("status").as_string(), "RUNNING") << status.body;
  const auto killed = server_->Cli({"kill", id}, developer_);
  EXPECT_EQ(killed.exit_code, 0) << killed.err;
  ASSERT_FALSE(server_->WaitFinished(id, developer_).is_null());
}

TEST_F(SandboxEscapeTest, TheDataDirectoryAndTheMasterKeyAreHidden) {
  const std::string data_dir = server_->data_dir();
  ASSERT_TRUE(std::filesystem::exists(data_dir + "/master.key"));
  ASSERT_FALSE(std::filesystem::is_empty(data_dir));
  const auto result = Run("ls -A " + data_dir + " | wc -l; cat " + data_dir +
                          "/master.key && echo READ-KEY; "
                          "find / -xdev -name master.key 2>/dev/null; "
                          "find " +
                          data_dir +
                          " /etc /tmp /workspace -name master.key -o "
                          "-name 'runvoy*.db' 2>/dev/null; echo searched");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // The directory is an empty mask; nothing named like the key or the database anywhere.
  EXPECT_EQ(result.out, "0\nsearched\n");
  EXPECT_NE(result.err.find("master.key: No such file or directory"), std::string::npos)
      << result.err;
}

TEST_F(SandboxEscapeTest, NetworkNoneReachesNeitherTheServerNorOtherLoopbackServices) {
  if (!HasPython())
    GTEST_SKIP() << "needs /usr/bin/python3";
  LoopbackListener listener;
  const std::string abstract_name = "runvoy-escape-" + std::to_string(::getpid());
  AbstractListener abstract(abstract_name);
  const std::string server_port = server_->base_url().substr(server_->base_url().rfind(':') + 1);
  const auto result =
      Run("python3 - <<'EOF'\n"
          "import errno, socket\n"
          "def attempt(name, family, address):\n"
          "    s = socket.socket(family, socket.SOCK_STREAM)\n"
          "    s.settimeout(5)\n"
          "    try:\n"
          "        s.connect(address)\n"
          "        print(name, 'CONNECTED')\n"
          "    except OSError as e:\n"
          "        print(name, errno.errorcode.get(e.errno, e))\n"
          "attempt('server', socket.AF_INET, ('127.0.0.1', " +
          server_port +
          "))\n"
          "attempt('listener', socket.AF_INET, ('127.0.0.1', " +
          std::to_string(listener.port()) +
          "))\n"
          "attempt('abstract', socket.AF_UNIX, '\\0" +
          abstract_name +
          "')\n"
          "EOF");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "server ECONNREFUSED\nlistener ECONNREFUSED\nabstract ECONNREFUSED\n");
  EXPECT_FALSE(listener.WasReached());
  EXPECT_FALSE(abstract.WasReached());
}

TEST_F(SandboxEscapeTest, CgroupLimitsCanBeNeitherChangedNorRemounted) {
  const auto result =
      Run("for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
          "/sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cgroup.procs; do "
          "  (echo max > $f) 2>/dev/null && echo WROTE $f; done; "
          "mkdir /tmp/cg; mount -t cgroup2 none /tmp/cg && echo MOUNTED; "
          "mount -t cgroup -o memory none /tmp/cg && echo MOUNTED; "
          "mount -o remount,rw /sys && echo REMOUNTED; echo attempted");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "attempted\n");
  EXPECT_NE(result.err.find("must be superuser"), std::string::npos) << result.err;
  // The limit still holds afterwards: see the fork bomb and memory tests, which run after.
}

TEST_F(SandboxEscapeTest, AForkBombHitsThePidsLimitWhileTheServerAndOtherRunsCarryOn) {
  const auto started = server_->Cli(
      {"run", "--detach", "bomb() { bomb | bomb & }; bomb; wait; sleep 30"}, developer_);
  ASSERT_EQ(started.exit_code, 0) << started.err;
  std::string id = started.out;
  id.erase(id.find_last_not_of('\n') + 1);
  // While it runs (or once it is over), the rest of the service works.
  ExpectServerHealthy();
  const auto done = server_->WaitFinished(id, developer_);
  ASSERT_FALSE(done.is_null());
  EXPECT_EQ(done.at("status").as_string(), "FAILED");
  EXPECT_EQ(done.at("exit_code").as_int64(), 137);  // SIGKILL, by the supervisor
  ExpectServerHealthy();
}

TEST_F(SandboxEscapeTest, AllocatingBeyondTheMemoryLimitKillsTheTaskOnly) {
  if (!HasPython())
    GTEST_SKIP() << "needs /usr/bin/python3";
  const auto result = Run("python3 -c 'x = b\"r\" * (" + std::to_string(4 * kMemoryMb) +
                          " << 20); print(\"ALLOCATED\", len(x))'");
  EXPECT_EQ(result.exit_code, 137) << result.err;
  EXPECT_EQ(result.out.find("ALLOCATED"), std::string::npos) << result.out;
  const auto record = Latest();
  ASSERT_TRUE(record.contains("status"));
  EXPECT_EQ(record.at("status").as_string(), "FAILED");
  ExpectServerHealthy();
}

TEST_F(SandboxEscapeTest, FillingTheWorkspaceStopsAtItsQuotaWithoutTouchingTheHostDisk) {
  const unsigned long long host_free = FreeBytes(server_->data_dir());
  const unsigned long long tmp_free = FreeBytes("/tmp");
  const auto result =
      Run("df -k /workspace /tmp | tail -n +2 | awk '{print $1, $2}'; "
          "dd if=/dev/zero of=/workspace/fill bs=1M count=512 2>&1 | grep -o 'No space left on "
          "device'; "
          "dd if=/dev/zero of=/tmp/fill bs=1M count=512 2>&1 | grep -o 'No space left on device'; "
          "du -sm /workspace/fill /tmp/fill | awk '{print $1}'");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const std::string kb = std::to_string(kWorkspaceMb * 1024);
  const std::string mb = std::to_string(kWorkspaceMb);
  EXPECT_EQ(result.out, "workspace " + kb + "\ntmp " + kb +
                            "\nNo space left on device\nNo space left on device\n" + mb + "\n" +
                            mb + "\n");
  // 1 GiB was asked for; other builds share this disk, so only a large drop would show a leak.
  EXPECT_GT(FreeBytes(server_->data_dir()) + (256ULL << 20), host_free);
  EXPECT_GT(FreeBytes("/tmp") + (256ULL << 20), tmp_free);
  ExpectServerHealthy();
}

TEST_F(SandboxEscapeTest, AGitCloneLargerThanTheWorkspaceQuotaFails) {
  // 48 MiB of random data (git cannot compress it) in a repository served over file://.
  const std::string dir = MakeTempDir("runvoy-escape-git");
  const std::string script =
      "set -e; export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null; cd '" + dir +
      "'; git init -q -b main src; cd src; git config core.compression 0; head -c " +
      std::to_string((kWorkspaceMb + 16) << 20) +
      " /dev/urandom > big; git add big; "
      "git -c user.email=t@example.com -c user.name=t commit -qm big; chmod -R a+rX '" +
      dir + "'";
  const auto made = RunProcess({"/bin/sh", "-c", script});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto result =
      server_->Cli({"run", "-g", "file://" + dir + "/src", "echo CLONED"}, developer_);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_EQ(result.out.find("CLONED"), std::string::npos) << result.out;
  EXPECT_NE(result.err.find("No space left on device"), std::string::npos) << result.err;
  EXPECT_EQ(Latest().at("status").as_string(), "FAILED");
  ExpectServerHealthy();
}

TEST_F(SandboxEscapeTest, PrivilegedSystemCallsFailWithEperm) {
  if (!HasPython())
    GTEST_SKIP() << "needs /usr/bin/python3";
#if !defined(__x86_64__)
  GTEST_SKIP() << "the system call numbers below are x86_64's";
#endif
  const auto result =
      Run("unshare -Ur id || echo unshare-refused\n"
          "python3 - <<'EOF'\n"
          "import ctypes, errno, os, time\n"
          "libc = ctypes.CDLL(None, use_errno=True)\n"
          "child = os.fork()\n"
          "if child == 0:\n"
          "    time.sleep(30)\n"
          "    os._exit(0)\n"
          "calls = [\n"
          "    ('mount', 165, b'none', b'/tmp', b'tmpfs', 0, None),\n"
          "    ('umount2', 166, b'/workspace', 2),\n"
          "    ('pivot_root', 155, b'/tmp', b'/tmp'),\n"
          "    ('unshare_user', 272, 0x10000000),\n"
          "    ('unshare_net', 272, 0x40000000),\n"
          "    ('setns', 308, 0, 0),\n"
          "    ('ptrace_attach_own_child', 101, 16, child, 0, 0),\n"
          "    ('process_vm_readv', 310, child, None, 0, None, 0, 0),\n"
          "    ('keyctl', 250, 0, -2, 0),\n"
          "    ('add_key', 248, b'user', b'runvoy', b'v', 1, -2),\n"
          "    ('bpf', 321, 0, None, 0),\n"
          "    ('perf_event_open', 298, None, 0, -1, -1, 0),\n"
          "    ('userfaultfd', 323, 0),\n"
          "    ('init_module', 175, None, 0, b''),\n"
          "    ('finit_module', 313, 0, b'', 0),\n"
          "    ('delete_module', 176, b'runvoy_none', 0),\n"
          "    ('kexec_load', 246, 0, 0, None, 0xdead0000),\n"
          "    ('reboot', 169, 0, 0, 0, None),\n"
          "    ('iopl', 172, 3),\n"
          "    ('ioperm', 173, 0x80, 1, 1),\n"
          "    ('open_by_handle_at', 304, 0, None, 0),\n"
          "    ('settimeofday', 164, None, None),\n"
          "]\n"
          "for name, *args in calls:\n"
          "    r = libc.syscall(*args)\n"
          "    e = ctypes.get_errno()\n"
          "    print(name, 'SUCCEEDED' if r != -1 else errno.errorcode.get(e, e))\n"
          "os.kill(child, 9)\n"
          "EOF");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const char* names[] = {"mount",
                         "umount2",
                         "pivot_root",
                         "unshare_user",
                         "unshare_net",
                         "setns",
                         "ptrace_attach_own_child",
                         "process_vm_readv",
                         "keyctl",
                         "add_key",
                         "bpf",
                         "perf_event_open",
                         "userfaultfd",
                         "init_module",
                         "finit_module",
                         "delete_module",
                         "kexec_load",
                         "reboot",
                         "iopl",
                         "ioperm",
                         "open_by_handle_at",
                         "settimeofday"};
  std::string expected = "unshare-refused\n";
  for (const char* name : names)
    expected += std::string(name) + " EPERM\n";
  EXPECT_EQ(result.out, expected);
  EXPECT_NE(result.err.find("unshare failed: Operation not permitted"), std::string::npos)
      << result.err;
}

TEST_F(SandboxEscapeTest, SetuidBinariesGrantNothing) {
  const auto result =
      Run("grep NoNewPrivs /proc/self/status; id -u; "
          "ls -l /usr/bin/mount | cut -c1-4; "
          "mount -t tmpfs none /workspace && echo MOUNTED; "
          "umount /workspace && echo UNMOUNTED; "
          "su -c id root </dev/null && echo SU; echo attempted");
  EXPECT_EQ(result.out.find("MOUNTED"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("SU"), std::string::npos) << result.out;
  // mount is setuid root on the host, yet runs as the sandbox's user.
  EXPECT_EQ(result.out, "NoNewPrivs:\t1\n65534\n-rws\nattempted\n");
  EXPECT_NE(result.err.find("must be superuser"), std::string::npos) << result.err;
}

TEST_F(SandboxEscapeTest, KernelControlFilesCannotBeWritten) {
  const auto result =
      Run("for f in /proc/sysrq-trigger /proc/sys/vm/drop_caches /proc/sys/kernel/hostname "
          "/sys/class/net/lo/mtu /sys/kernel/mm/transparent_hugepage/enabled /proc/1/oom_score_adj "
          "/etc/runvoy-escape /usr/bin/runvoy-escape; do "
          "  (echo 1 > $f) 2>/dev/null && echo WROTE $f; done; "
          "touch /sys/runvoy /proc/runvoy /runvoy 2>/dev/null || echo refused");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "refused\n");
}

TEST_F(SandboxEscapeTest, RawAndPacketSocketsAreRefused) {
  if (!HasPython())
    GTEST_SKIP() << "needs /usr/bin/python3";
  const auto result =
      Run("python3 - <<'EOF'\n"
          "import errno, socket\n"
          "for name, family, kind, proto in [\n"
          "        ('raw_icmp', socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),\n"
          "        ('raw_tcp', socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP),\n"
          "        ('packet', socket.AF_PACKET, socket.SOCK_RAW, 0)]:\n"
          "    try:\n"
          "        socket.socket(family, kind, proto)\n"
          "        print(name, 'OPENED')\n"
          "    except OSError as e:\n"
          "        print(name, errno.errorcode.get(e.errno, e))\n"
          "EOF");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "raw_icmp EPERM\nraw_tcp EPERM\npacket EPERM\n");
}

}  // namespace
}  // namespace runvoy::testing
