// The local sandbox's seccomp filter (seccomp_filter.h), installed in a forked child: every
// call of the deny list fails with its errno, what commands need still works, and other ABIs
// kill the process. Every denied call is made with arguments that would be harmless even
// without the filter (bad paths, bad descriptors, no-op flags), since the tests run as root.

#include "providers/local/seccomp_filter.h"

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include <asm/unistd.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace runvoy::providers::local {
namespace {

struct ChildResult {
  int status = 0;      // wait status
  std::string report;  // what the child wrote
};

// Forks; the child sets no_new_privs, installs the filter, runs `body` and writes its answer
// to the parent, then exits 0 (1 when the filter could not be installed).
ChildResult RunFiltered(const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return {-1, "pipe failed"};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    int code = 0;
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      out = "no_new_privs failed";
      code = 1;
    } else if (auto r = InstallSeccompFilter(); !r) {
      out = "install failed: " + r.error().message;
      code = 1;
    } else {
      out = body();
    }
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(code);
  }
  ::close(fds[1]);
  ChildResult result;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0)
      result.report.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  ::waitpid(pid, &result.status, 0);
  return result;
}

// "name=errno;" for one call: `ret` is the call's result, errno read right after it.
std::string Outcome(const char* name, long ret) {
  const int err = errno;
  return std::string(name) + "=" + (ret == -1 ? std::string(strerrorname_np(err)) : "ok") + ";";
}

TEST(SeccompFilterTest, EveryDeniedSystemCallFailsWithEperm) {
  const ChildResult child = RunFiltered([] {
    std::string r;
    const char* nowhere = "/nonexistent-runvoy-seccomp";
    r += Outcome("init_module", ::syscall(__NR_init_module, nullptr, 0, ""));
    r += Outcome("finit_module", ::syscall(__NR_finit_module, -1, "", 0));
    r += Outcome("delete_module", ::syscall(__NR_delete_module, "runvoy_none", O_NONBLOCK));
    r += Outcome("kexec_load", ::syscall(__NR_kexec_load, 0, 0, nullptr, 0xdead0000UL));
    r += Outcome("kexec_file_load",
                 ::syscall(__NR_kexec_file_load, -1, -1, 0, nullptr, 0xdead0000UL));
    r += Outcome("reboot", ::syscall(__NR_reboot, 0, 0, 0, nullptr));
    r += Outcome("swapon", ::syscall(__NR_swapon, nowhere, 0));
    r += Outcome("swapoff", ::syscall(__NR_swapoff, nowhere));
    r += Outcome("mount", ::syscall(__NR_mount, "none", nowhere, "tmpfs", 0, nullptr));
    r += Outcome("umount2", ::syscall(__NR_umount2, nowhere, 0));
    r += Outcome("pivot_root", ::syscall(__NR_pivot_root, nowhere, nowhere));
    r += Outcome("move_mount", ::syscall(__NR_move_mount, -1, "", -1, "", 0));
    r += Outcome("open_tree", ::syscall(__NR_open_tree, -1, nowhere, 0));
    r += Outcome("fsopen", ::syscall(__NR_fsopen, "runvoy_none", 0));
    r += Outcome("fsmount", ::syscall(__NR_fsmount, -1, 0, 0));
    r += Outcome("fsconfig", ::syscall(__NR_fsconfig, -1, 0, nullptr, nullptr, 0));
    r += Outcome("fspick", ::syscall(__NR_fspick, -1, nowhere, 0));
    r += Outcome("mount_setattr", ::syscall(__NR_mount_setattr, -1, nowhere, 0, nullptr, 0));
    r += Outcome("ptrace", ::syscall(__NR_ptrace, PTRACE_PEEKUSER, 1, 0, 0));
    r += Outcome("process_vm_readv",
                 ::syscall(__NR_process_vm_readv, ::getppid(), nullptr, 0, nullptr, 0, 0));
    r += Outcome("process_vm_writev",
                 ::syscall(__NR_process_vm_writev, ::getppid(), nullptr, 0, nullptr, 0, 0));
    r += Outcome("pidfd_getfd", ::syscall(__NR_pidfd_getfd, -1, 0, 0));
    r += Outcome("iopl", ::syscall(__NR_iopl, 0));
    r += Outcome("ioperm", ::syscall(__NR_ioperm, 0x80, 1, 0));
    r += Outcome("add_key",
                 ::syscall(__NR_add_key, "user", "runvoy-test", "x", 1, KEY_SPEC_PROCESS_KEYRING));
    r += Outcome("request_key", ::syscall(__NR_request_key, "user", "runvoy-none", nullptr, 0));
    r += Outcome("keyctl",
                 ::syscall(__NR_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 0));
    r += Outcome("bpf", ::syscall(__NR_bpf, -1, nullptr, 0));
    r += Outcome("perf_event_open", ::syscall(__NR_perf_event_open, nullptr, 0, -1, -1, 0));
    r += Outcome("userfaultfd", ::syscall(__NR_userfaultfd, 0));
    r += Outcome("setns", ::syscall(__NR_setns, -1, 0));
    r += Outcome("unshare_user", ::syscall(__NR_unshare, CLONE_NEWUSER));
    r += Outcome("unshare_net", ::syscall(__NR_unshare, CLONE_NEWNET));
    r += Outcome("unshare_mount", ::syscall(__NR_unshare, CLONE_NEWNS | CLONE_FILES));
    const long cloned = ::syscall(__NR_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (cloned == 0)
      ::_exit(0);  // only without the filter
    r += Outcome("clone_newuser", cloned);
    r += Outcome("clock_settime", ::syscall(__NR_clock_settime, CLOCK_REALTIME, nullptr));
    r += Outcome("clock_adjtime", ::syscall(__NR_clock_adjtime, CLOCK_REALTIME, nullptr));
    r += Outcome("settimeofday", ::syscall(__NR_settimeofday, nullptr, nullptr));
    r += Outcome("adjtimex", ::syscall(__NR_adjtimex, nullptr));
    r += Outcome("acct", ::syscall(__NR_acct, nowhere));
    r += Outcome("quotactl", ::syscall(__NR_quotactl, 0, nullptr, 0, nullptr));
    r += Outcome("syslog", ::syscall(__NR_syslog, 10, nullptr, 0));
    r += Outcome("lookup_dcookie", ::syscall(__NR_lookup_dcookie, 0, nullptr, 0));
    r += Outcome("open_by_handle_at", ::syscall(__NR_open_by_handle_at, -1, nullptr, 0));
    r += Outcome("name_to_handle_at",
                 ::syscall(__NR_name_to_handle_at, -1, nowhere, nullptr, nullptr, 0));
    r += Outcome("personality_linux32", ::syscall(__NR_personality, PER_LINUX32));
    r += Outcome("personality_no_aslr",
                 ::syscall(__NR_personality, static_cast<unsigned long>(ADDR_NO_RANDOMIZE)));
    return r;
  });
  ASSERT_TRUE(WIFEXITED(child.status)) << child.status << " " << child.report;
  ASSERT_EQ(WEXITSTATUS(child.status), 0) << child.report;
  std::map<std::string, std::string> outcomes;
  size_t pos = 0;
  while (pos < child.report.size()) {
    const size_t eq = child.report.find('=', pos);
    const size_t end = child.report.find(';', pos);
    ASSERT_NE(eq, std::string::npos);
    ASSERT_NE(end, std::string::npos);
    outcomes[child.report.substr(pos, eq - pos)] = child.report.substr(eq + 1, end - eq - 1);
    pos = end + 1;
  }
  EXPECT_EQ(outcomes.size(), 47u) << child.report;
  for (const auto& [name, outcome] : outcomes)
    EXPECT_EQ(outcome, "EPERM") << name;
}

TEST(SeccompFilterTest, Clone3AndIoUringAnswerEnosysSoThatLibrariesFallBack) {
  const ChildResult child = RunFiltered([] {
    std::string r;
    r += Outcome("clone3", ::syscall(__NR_clone3, nullptr, 0));
    r += Outcome("io_uring_setup", ::syscall(__NR_io_uring_setup, 1, nullptr));
    return r;
  });
  ASSERT_TRUE(WIFEXITED(child.status)) << child.report;
  EXPECT_EQ(child.report, "clone3=ENOSYS;io_uring_setup=ENOSYS;");
}

TEST(SeccompFilterTest, WhatCommandsNeedStillWorks) {
  const ChildResult child = RunFiltered([] {
    std::string r;
    r += Outcome("getpid", ::getpid());
    r += Outcome("open", ::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
    // std::thread goes through clone3, refused with ENOSYS, then clone without namespaces.
    bool ran = false;
    std::thread thread([&ran] { ran = true; });
    thread.join();
    r += std::string("thread=") + (ran ? "ok" : "no") + ";";
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/true", "true", static_cast<char*>(nullptr));
      ::_exit(126);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    r += std::string("fork_exec=") +
         (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "no") + ";";
    r += Outcome("unshare_files", ::syscall(__NR_unshare, CLONE_FILES | CLONE_FS));
    r += Outcome("personality_query", ::syscall(__NR_personality, 0xffffffffUL));
    r += Outcome("personality_default", ::syscall(__NR_personality, PER_LINUX));
    const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
    r += Outcome("socket", sock);
    return r;
  });
  ASSERT_TRUE(WIFEXITED(child.status)) << child.report;
  EXPECT_EQ(child.report,
            "getpid=ok;open=ok;thread=ok;fork_exec=ok;unshare_files=ok;personality_query=ok;"
            "personality_default=ok;socket=ok;");
}

#if defined(__x86_64__)
TEST(SeccompFilterTest, AnX32SystemCallKillsTheProcess) {
  const ChildResult child = RunFiltered([] {
    ::syscall(0x40000000L | __NR_getpid);
    return std::string("survived");
  });
  ASSERT_TRUE(WIFSIGNALED(child.status)) << child.status << " " << child.report;
  EXPECT_EQ(WTERMSIG(child.status), SIGSYS);
}

TEST(SeccompFilterTest, AnI386SystemCallKillsTheProcess) {
  const ChildResult child = RunFiltered([] {
    long ret = 20;  // getpid on i386
    asm volatile("int $0x80" : "+a"(ret) : : "memory");
    return std::string("survived");
  });
  ASSERT_TRUE(WIFSIGNALED(child.status)) << child.status << " " << child.report;
  if (WTERMSIG(child.status) == SIGSEGV)
    GTEST_SKIP() << "this kernel has no i386 emulation (int 0x80 faults before seccomp)";
  EXPECT_EQ(WTERMSIG(child.status), SIGSYS);
}
#endif

}  // namespace
}  // namespace runvoy::providers::local
