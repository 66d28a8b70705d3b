#include "providers/local/seccomp_filter.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <sched.h>
#include <seccomp.h>

namespace runvoy::providers::local {
namespace {

struct Denied {
  const char* name;
  int error;  // the errno the call fails with
};

// The deny list. The command runs unprivileged, without capabilities and with no_new_privs, so
// the kernel already refuses most of these; the filter is the second wall (it holds even if the
// operator runs tasks as root, and against kernel bugs behind these entry points) and closes
// what needs no privilege at all (ptrace of the task's own processes, user namespaces, bpf,
// perf, userfaultfd, io_uring, keyrings).
constexpr Denied kDenied[] = {
    // Kernel modules: loading code into the host kernel.
    {"init_module", EPERM},
    {"finit_module", EPERM},
    {"delete_module", EPERM},
    // Replacing or stopping the host kernel.
    {"kexec_load", EPERM},
    {"kexec_file_load", EPERM},
    {"reboot", EPERM},
    // Host swap devices.
    {"swapon", EPERM},
    {"swapoff", EPERM},
    // Mounts, old and new API: the root filesystem is complete before the command starts and
    // the command never changes it; this also stops remounting anything read-write.
    {"mount", EPERM},
    {"umount2", EPERM},
    {"pivot_root", EPERM},
    {"move_mount", EPERM},
    {"open_tree", EPERM},
    {"fsopen", EPERM},
    {"fsmount", EPERM},
    {"fsconfig", EPERM},
    {"fspick", EPERM},
    {"mount_setattr", EPERM},
    // Reading or writing another process's memory or descriptors (the supervisor's pipes, a
    // process being traced, whatever the kernel's ptrace rules would let through).
    {"ptrace", EPERM},
    {"process_vm_readv", EPERM},
    {"process_vm_writev", EPERM},
    {"pidfd_getfd", EPERM},
    // Raw I/O ports: direct hardware access.
    {"iopl", EPERM},
    {"ioperm", EPERM},
    // Kernel keyrings are not namespaced: keys of the host's users and services live there.
    {"add_key", EPERM},
    {"request_key", EPERM},
    {"keyctl", EPERM},
    // eBPF, perf events and userfaultfd: large kernel attack surfaces (and perf/bpf observe
    // the whole host), used by exploits rather than by build or batch commands.
    {"bpf", EPERM},
    {"perf_event_open", EPERM},
    {"userfaultfd", EPERM},
    // io_uring: its operations bypass this filter and it is a frequent source of kernel bugs.
    // ENOSYS so that liburing users fall back to plain system calls.
    {"io_uring_setup", ENOSYS},
    {"io_uring_enter", ENOSYS},
    {"io_uring_register", ENOSYS},
    // Joining another namespace (setns): the task's namespaces are the only ones it may see.
    // New namespaces (unshare, clone) are handled by flag below.
    {"setns", EPERM},
    // The host's clock is shared by every namespace.
    {"clock_settime", EPERM},
    {"clock_adjtime", EPERM},
    {"settimeofday", EPERM},
    {"adjtimex", EPERM},
    // Host-wide accounting, disk quotas and the kernel log.
    {"acct", EPERM},
    {"quotactl", EPERM},
    {"quotactl_fd", EPERM},
    {"syslog", EPERM},
    // Opening files by handle walks around the mount tree (the "shocker" container escape);
    // lookup_dcookie reads kernel profiling data.
    {"open_by_handle_at", EPERM},
    {"name_to_handle_at", EPERM},
    {"lookup_dcookie", EPERM},
    // Obsolete interfaces with a history of bugs.
    {"uselib", EPERM},
    {"_sysctl", EPERM},
    {"vhangup", EPERM},
};

// Every CLONE_NEW* flag: creating namespaces gives the command a user namespace with full
// capabilities over it (mounts, network set-up, ...), kernel attack surface it never needs.
constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                        CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};
#ifndef CLONE_NEWTIME
constexpr uint64_t kCloneNewTime = 0x00000080;
#else
constexpr uint64_t kCloneNewTime = CLONE_NEWTIME;
#endif

core::Result<void> Failed(const std::string& what, int rc) {
  return core::Fail(core::ErrorCode::kInternal,
                    "seccomp: " + what + ": " + std::strerror(rc < 0 ? -rc : rc));
}

// Adds "fail with `error` when arg0 has `flag`" for `syscall`.
int DenyFlag(scmp_filter_ctx ctx, int syscall, uint64_t flag, int error) {
  return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(static_cast<uint32_t>(error)), syscall, 1,
                          SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
}

}  // namespace

core::Result<void> InstallSeccompFilter() {
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_ALLOW),
                                                       seccomp_release);
  if (!ctx)
    return Failed("init", ENOMEM);
  // Only the native ABI: a syscall through another one (x32 numbers, i386's int 0x80) would
  // otherwise go around every rule below, so it kills the process instead.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
      rc != 0) {
    return Failed("bad-arch action", rc);
  }
  for (const Denied& d : kDenied) {
    const int nr = seccomp_syscall_resolve_name(d.name);
    if (nr < 0)
      continue;  // not a system call of this architecture
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(static_cast<uint32_t>(d.error)), nr, 0);
        rc != 0) {
      return Failed(d.name, rc);
    }
  }
  // New namespaces: unshare and clone with any CLONE_NEW* flag (clone's other uses, threads
  // and fork, stay). CLONE_NEWTIME shares its bit with clone's exit signal and exists for
  // unshare only.
  for (uint64_t flag : kNamespaceFlags) {
    if (int rc = DenyFlag(ctx.get(), SCMP_SYS(unshare), flag, EPERM); rc != 0)
      return Failed("unshare", rc);
    if (int rc = DenyFlag(ctx.get(), SCMP_SYS(clone), flag, EPERM); rc != 0)
      return Failed("clone", rc);
  }
  if (int rc = DenyFlag(ctx.get(), SCMP_SYS(unshare), kCloneNewTime, EPERM); rc != 0)
    return Failed("unshare", rc);
  // clone3 passes its flags in memory, out of the filter's reach: ENOSYS makes the C library
  // fall back to clone, whose flags the rules above see.
  if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); rc != 0)
    return Failed("clone3", rc);
  // personality: only the default (PER_LINUX, 0) and the query (0xffffffff); other
  // personalities switch off address-space randomisation or change how the kernel reads calls.
  // libseccomp takes one comparison per argument and rule, and rules add up as "or": a 32-bit
  // value is neither 0 nor 0xffffffff exactly when two neighbouring bits differ, one masked
  // comparison per pair and order. The kernel reads the argument as 32 bits.
  for (int bit = 0; bit < 31; ++bit) {
    const uint64_t low = 1ULL << bit;
    const uint64_t high = low << 1;
    for (uint64_t set : {low, high}) {
      if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
                                    SCMP_A0(SCMP_CMP_MASKED_EQ, low | high, set));
          rc != 0) {
        return Failed("personality", rc);
      }
    }
  }
  if (int rc = seccomp_load(ctx.get()); rc != 0)
    return Failed("load", rc);
  return {};
}

}  // namespace runvoy::providers::local
