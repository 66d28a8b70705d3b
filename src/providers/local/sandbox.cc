#include "providers/local/sandbox.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/image_reference.h"
#include "providers/local/git_workspace.h"
#include "providers/local/seccomp_filter.h"

namespace runvoy::providers::local {
namespace {

core::Result<void> Sys(bool ok, const std::string& what) {
  if (ok)
    return {};
  return core::Fail(core::ErrorCode::kInternal, what + ": " + std::strerror(errno));
}

core::Result<void> MountOrFail(const char* source, const std::string& target, const char* type,
                               unsigned long flags, const char* data) {
  return Sys(::mount(source, target.c_str(), type, flags, data) == 0, "mount " + target);
}

// Makes a mount read-only and nosuid, plus `extra` (MS_NODEV everywhere but /dev).
core::Result<void> RemountReadOnly(const std::string& target, unsigned long extra) {
  return MountOrFail(nullptr, target, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | extra,
                     nullptr);
}

core::Result<void> MakeDir(const std::string& path, mode_t mode) {
  return Sys(::mkdir(path.c_str(), mode) == 0 || errno == EEXIST, "mkdir " + path);
}

// Directories of the host bound read-only into a `host` root; symlinks (merged /usr) are copied.
constexpr const char* kHostDirs[] = {"usr",   "bin",    "sbin", "lib", "lib32",
                                     "lib64", "libx32", "opt",  "etc"};
// Under /etc: credentials, host keys and runvoy's own configuration, masked by empty ones.
constexpr const char* kEtcMasks[] = {
    "shadow", "shadow-",     "gshadow",          "gshadow-",    "sudoers", "sudoers.d", "ssh",
    "runvoy", "ssl/private", "security/opasswd", "krb5.keytab", "docker",  "containerd"};

core::Result<void> BindHostDirs(const std::string& root, const std::string& empty_file) {
  for (const char* name : kHostDirs) {
    const std::string host = std::string("/") + name;
    const std::string target = root + "/" + name;
    struct stat st;
    if (::lstat(host.c_str(), &st) != 0)
      continue;
    if (S_ISLNK(st.st_mode)) {
      char link[4096];
      const ssize_t n = ::readlink(host.c_str(), link, sizeof link - 1);
      if (n <= 0)
        continue;
      link[n] = '\0';
      if (auto r = Sys(::symlink(link, target.c_str()) == 0, "symlink " + target); !r)
        return r;
      continue;
    }
    if (!S_ISDIR(st.st_mode))
      continue;
    if (auto r = MakeDir(target, 0755); !r)
      return r;
    if (auto r = MountOrFail(host.c_str(), target, nullptr, MS_BIND | MS_REC, nullptr); !r) {
      return r;
    }
    if (std::string(name) == "etc") {
      for (const char* mask : kEtcMasks) {
        const std::string path = target + "/" + mask;
        struct stat ms;
        if (::lstat(path.c_str(), &ms) != 0 || S_ISLNK(ms.st_mode))
          continue;
        if (S_ISDIR(ms.st_mode)) {
          if (auto r =
                  MountOrFail("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                              "mode=0755,size=4k");
              !r) {
            return r;
          }
        } else if (auto r = MountOrFail(empty_file.c_str(), path, nullptr, MS_BIND, nullptr); !r) {
          return r;
        } else if (auto r2 = RemountReadOnly(path, MS_NODEV | MS_NOEXEC); !r2) {
          return r2;
        }
      }
    }
    if (auto r = RemountReadOnly(target, MS_NODEV); !r)
      return r;
  }
  return {};
}

// Hides `path` (the data directory) if it lies inside one of the bound host directories.
core::Result<void> MaskInsideRoot(const std::string& root, const std::string& path) {
  if (path.empty() || path == "/")
    return {};
  char real[PATH_MAX];
  const std::string resolved = ::realpath(path.c_str(), real) != nullptr ? real : path;
  const std::string target = root + resolved;
  struct stat st;
  if (::stat(target.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return {};
  return MountOrFail("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     "mode=0755,size=4k");
}

core::Result<void> MakeDev(const std::string& root) {
  const std::string dev = root + "/dev";
  if (auto r = MakeDir(dev, 0755); !r)
    return r;
  if (auto r = MountOrFail("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k");
      !r) {
    return r;
  }
  struct Node {
    const char* name;
    unsigned major, minor;
  };
  for (const Node& node : {Node{"null", 1, 3}, Node{"zero", 1, 5}, Node{"full", 1, 7},
                           Node{"random", 1, 8}, Node{"urandom", 1, 9}, Node{"tty", 5, 0}}) {
    const std::string path = dev + "/" + node.name;
    if (auto r = Sys(::mknod(path.c_str(), S_IFCHR | 0666, makedev(node.major, node.minor)) == 0,
                     "mknod " + path);
        !r) {
      return r;
    }
    ::chmod(path.c_str(), 0666);
  }
  ::symlink("/proc/self/fd", (dev + "/fd").c_str());
  ::symlink("/proc/self/fd/0", (dev + "/stdin").c_str());
  ::symlink("/proc/self/fd/1", (dev + "/stdout").c_str());
  ::symlink("/proc/self/fd/2", (dev + "/stderr").c_str());
  if (auto r = MakeDir(dev + "/shm", 01777); !r)
    return r;
  if (auto r =
          MountOrFail("shm", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m");
      !r) {
    return r;
  }
  // Pseudo-terminals are optional: a private devpts instance when the kernel allows it.
  if (::mkdir((dev + "/pts").c_str(), 0755) == 0 &&
      ::mount("devpts", (dev + "/pts").c_str(), "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620") == 0) {
    ::symlink("pts/ptmx", (dev + "/ptmx").c_str());
  }
  return {};
}

core::Result<void> BringLoopbackUp() {
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return Sys(false, "socket");
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool ok = ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
  if (ok) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    ok = ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  }
  const int err = errno;
  ::close(s);
  errno = err;
  return Sys(ok, "bring lo up");
}

// The base of a `host` root: a small tmpfs with the host's directories bound read-only.
core::Result<std::string> MountHostRoot(const SandboxConfig& config) {
  const std::string& root = config.root_dir;
  if (auto r = MountOrFail("runvoy-root", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m");
      !r) {
    return tl::unexpected(r.error());
  }
  const std::string empty_file = root + "/.empty";
  const int fd = ::open(empty_file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0);
  if (fd < 0)
    return tl::unexpected(Sys(false, "create " + empty_file).error());
  ::close(fd);
  if (auto r = BindHostDirs(root, empty_file); !r)
    return tl::unexpected(r.error());
  if (auto r = MaskInsideRoot(root, config.data_dir); !r)
    return tl::unexpected(r.error());
  return root;
}

// The base of an image's root: an overlay of its layers (read-only, from the image cache) under
// a writable upper layer on a tmpfs of the task's own (charged to its cgroup, gone with it).
core::Result<std::string> MountImageRoot(const SandboxConfig& config) {
  const std::string& base = config.root_dir;
  const std::string tmpfs_opts = "mode=0755,size=" + std::to_string(config.workspace_bytes);
  if (auto r = MountOrFail("runvoy-upper", base, "tmpfs", MS_NOSUID | MS_NODEV, tmpfs_opts.c_str());
      !r) {
    return tl::unexpected(r.error());
  }
  for (const char* dir : {"/upper", "/work", "/merged"}) {
    if (auto r = MakeDir(base + dir, 0755); !r)
      return tl::unexpected(r.error());
  }
  // overlayfs lists lower layers topmost first.
  std::string lower;
  for (auto it = config.image_layers.rbegin(); it != config.image_layers.rend(); ++it) {
    if (!lower.empty())
      lower += ':';
    lower += *it;
  }
  const std::string options =
      "lowerdir=" + lower + ",upperdir=" + base + "/upper,workdir=" + base + "/work";
  if (options.size() >= 4000) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "the image has too many layers (" +
                          std::to_string(config.image_layers.size()) + ") to mount");
  }
  const std::string root = base + "/merged";
  if (auto r = MountOrFail("overlay", root, "overlay", MS_NOSUID | MS_NODEV, options.c_str()); !r)
    return tl::unexpected(r.error());
  // The image's working directory, when it lies outside the task's tmpfs mounts.
  const std::string& workdir = config.workdir;
  if (workdir.rfind("/workspace", 0) != 0 && workdir.rfind("/tmp", 0) != 0) {
    for (size_t pos = 1; pos <= workdir.size(); ++pos) {
      if (pos == workdir.size() || workdir[pos] == '/')
        ::mkdir((root + workdir.substr(0, pos)).c_str(), 0755);
    }
  }
  return root;
}

// The task's root: the base of `host` or of the image, then /proc, /sys, /dev, /workspace, /tmp,
// the git clone, and pivot_root into it.
core::Result<void> BuildRoot(const SandboxConfig& config) {
  auto base = config.image_layers.empty() ? MountHostRoot(config) : MountImageRoot(config);
  if (!base)
    return tl::unexpected(base.error());
  const std::string& root = *base;
  if (auto r = MakeDir(root + "/proc", 0555); !r)
    return r;
  if (auto r =
          MountOrFail("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
      !r) {
    return r;
  }
  if (auto r = MakeDir(root + "/sys", 0555); !r)
    return r;
  if (auto r = MountOrFail("sysfs", root + "/sys", "sysfs",
                           MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
      !r) {
    return r;
  }
  if (auto r = MakeDev(root); !r)
    return r;
  // The workspace quota: /workspace (the git clone included) and /tmp are tmpfs of at most
  // workspace_bytes each, so the task writes nothing to the host's disk, and it gets ENOSPC.
  const std::string size_opt = ",size=" + std::to_string(config.workspace_bytes);
  const std::string workspace_opts = "mode=0700,uid=" + std::to_string(config.uid) +
                                     ",gid=" + std::to_string(config.gid) + size_opt;
  if (auto r = MakeDir(root + "/workspace", 0700); !r)
    return r;
  if (auto r = MountOrFail("workspace", root + "/workspace", "tmpfs", MS_NOSUID | MS_NODEV,
                           workspace_opts.c_str());
      !r) {
    return r;
  }
  if (auto r = MakeDir(root + "/tmp", 01777); !r)
    return r;
  const std::string tmp_opts = "mode=1777" + size_opt;
  if (auto r = MountOrFail("tmp", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmp_opts.c_str());
      !r) {
    return r;
  }
  if (!config.git.repo.empty()) {
    // Still in the host's view of the filesystem: the host's git, the host's network (entered
    // through net_fd), the workspace being the task's own tmpfs.
    GitCloneOptions options;
    options.source = config.git;
    options.token = config.git_token;
    options.scrub = config.scrub_values;
    options.uid = config.uid;
    options.gid = config.gid;
    options.progress_fd = config.runvoy_fd;
    options.net_fd = config.net_fd;
    options.home_parent = root + "/tmp";
    auto cloned = CloneIntoWorkspace(options, root + "/workspace");
    if (config.net_fd >= 0)
      ::close(config.net_fd);
    if (!cloned)
      return cloned;
  }
  if (auto r = MakeDir(root + "/.oldroot", 0700); !r)
    return r;
  if (auto r = Sys(::chdir(root.c_str()) == 0, "chdir new root"); !r)
    return r;
  if (auto r = Sys(::syscall(SYS_pivot_root, ".", ".oldroot") == 0, "pivot_root"); !r)
    return r;
  if (auto r = Sys(::chdir("/") == 0, "chdir /"); !r)
    return r;
  if (auto r = Sys(::umount2("/.oldroot", MNT_DETACH) == 0, "detach old root"); !r)
    return r;
  ::rmdir("/.oldroot");
  if (auto r = RemountReadOnly("/dev", MS_NOEXEC); !r)
    return r;
  if (!config.image_layers.empty())
    return {};  // an image's root is writable: its upper layer
  return RemountReadOnly("/", MS_NODEV);
}

void WriteStatus(int fd, char kind, const std::string& body) {
  std::string msg(1, kind);
  msg += body;
  size_t done = 0;
  while (done < msg.size()) {
    const ssize_t n = ::write(fd, msg.data() + done, msg.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void FailInit(const SandboxConfig& config, const std::string& reason) {
  WriteStatus(config.status_fd, 'E', reason);
  ::_exit(1);
}

// Closes every descriptor from 3 up except those in `keep`.
void CloseAllExcept(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (int fd : keep) {
    if (fd < 3)
      continue;
    if (static_cast<unsigned>(fd) > from)
      ::syscall(SYS_close_range, from, fd - 1, 0);
    from = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, 0);
}

void DropCapabilities() {
  for (int cap = 0; cap <= 63; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL)
      break;
  }
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

void ClearCapabilitySets() {
  struct __user_cap_header_struct header;
  struct __user_cap_data_struct data[2];
  std::memset(&header, 0, sizeof header);
  std::memset(data, 0, sizeof data);
  header.version = _LINUX_CAPABILITY_VERSION_3;
  ::syscall(SYS_capset, &header, data);
}

[[noreturn]] void ExecCommand(const SandboxConfig& config) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGCHLD, SIG_DFL);
  ::signal(SIGPIPE, SIG_DFL);
  ::setsid();
  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0 && null_fd != 0) {
    ::dup2(null_fd, 0);
    ::close(null_fd);
  }
  ::dup2(config.stdout_fd, 1);
  ::dup2(config.stderr_fd, 2);
  ::syscall(SYS_close_range, 3U, ~0U, 0);
  auto fail = [](const std::string& what) {
    const std::string msg = "runvoy: " + what + ": " + std::strerror(errno) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  };
  if (::chdir(config.workdir.c_str()) != 0)
    fail("chdir " + config.workdir);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    fail("no_new_privs");
  DropCapabilities();
  const gid_t groups[1] = {config.gid};
  if (::setgroups(1, groups) != 0)
    fail("setgroups");
  if (::setgid(config.gid) != 0)
    fail("setgid");
  if (::setuid(config.uid) != 0)
    fail("setuid");
  ClearCapabilitySets();
  std::vector<char*> envp;
  envp.reserve(config.env.size() + 1);
  for (const auto& e : config.env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  char sh[] = "/bin/sh";
  char dash_c[] = "-c";
  char* argv[] = {sh, dash_c, const_cast<char*>(config.command.c_str()), nullptr};
  if (auto r = InstallSeccompFilter(); !r) {
    const std::string msg = "runvoy: " + r.error().message + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  ::execve("/bin/sh", argv, envp.data());
  fail("exec /bin/sh");
  ::_exit(127);
}

void NoteSignal(int) {}

}  // namespace

core::Result<void> CheckRootfs(const std::string& reference) {
  if (reference == "host")
    return {};
  // Any well-formed reference: whether the registry has it is known when it is fetched.
  if (auto parsed = core::ParseImageReference(reference); !parsed)
    return tl::unexpected(parsed.error());
  return {};
}

core::Result<void> PrepareWorkspace(const contract::GitSource& git) {
  if (git.repo.empty())
    return {};
  if (auto r = ValidateGitPath(git.path); !r)
    return r;
  if (FindGitBinary().empty()) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "git clone failed: git is not installed on the server");
  }
  return {};
}

core::Result<void> PrepareRootfs(const SandboxConfig& config) {
  if (auto r = CheckRootfs(config.image_reference); !r)
    return r;
  return BuildRoot(config);
}

core::Result<void> LookupUser(const std::string& name, uid_t& uid, gid_t& gid) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "compute.local.user: no such user \"" + name + "\"");
  }
  uid = pw.pw_uid;
  gid = pw.pw_gid;
  return {};
}

void RunInit(const SandboxConfig& config) {
  CloseAllExcept({config.stdout_fd, config.stderr_fd, config.status_fd, config.sync_fd,
                  config.runvoy_fd, config.net_fd});
  ::umask(0);
  // Signals from the supervisor (SIGTERM: end the task) and children: handlers so that the
  // kernel delivers them to a namespace init, blocked so that sigwaitinfo picks them up.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = NoteSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGCHLD, &sa, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

  int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
  if (!config.host_network)
    flags |= CLONE_NEWNET;
  if (::unshare(flags) != 0)
    FailInit(config, std::string("unshare: ") + std::strerror(errno));
  ::sethostname("runvoy", 6);
  if (!config.host_network) {
    if (auto r = BringLoopbackUp(); !r)
      FailInit(config, r.error().message);
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    FailInit(config, std::string("make / private: ") + std::strerror(errno));
  }

  // The supervisor moves this process into the task's cgroup meanwhile (slow on cgroup v1: an
  // RCU grace period); nothing of the task (git clone, command) may start before that is done.
  char byte;
  ssize_t got;
  while ((got = ::read(config.sync_fd, &byte, 1)) < 0 && errno == EINTR) {
  }
  ::close(config.sync_fd);
  if (got != 1)
    FailInit(config, "the supervisor could not place the task in its cgroup");

  if (auto r = PrepareRootfs(config); !r)
    FailInit(config, r.error().message);

  const pid_t child = ::fork();
  if (child < 0)
    FailInit(config, std::string("fork: ") + std::strerror(errno));
  if (child == 0)
    ExecCommand(config);
  ::close(config.stdout_fd);
  ::close(config.stderr_fd);
  if (config.runvoy_fd >= 0)
    ::close(config.runvoy_fd);
  WriteStatus(config.status_fd, 'R', "");

  for (;;) {
    siginfo_t info;
    const int sig = ::sigwaitinfo(&set, &info);
    if (sig == SIGTERM) {
      ::kill(-1, SIGTERM);  // every process of the namespace but this one
      continue;
    }
    if (sig != SIGCHLD)
      continue;
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == child) {
        char body[4];
        std::memcpy(body, &status, 4);
        WriteStatus(config.status_fd, 'S', std::string(body, 4));
        ::_exit(0);  // the kernel kills what is left of the namespace
      }
    }
  }
}

}  // namespace runvoy::providers::local
