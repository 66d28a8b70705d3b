#pragma once

// The seccomp filter of the local sandbox: the last step before the command is exec'd, after
// the privilege drop and PR_SET_NO_NEW_PRIVS. Default allow, with a deny list of what a task
// never needs (kernel modules, kexec, mounts, ptrace, raw I/O ports, keyrings, bpf, new
// namespaces, the clock, ...); see seccomp_filter.cc for each group and why. Syscalls of any
// other ABI than the native one (x32, i386 through int 0x80) kill the process.

#include "core/error.h"

namespace runvoy::providers::local {

// Installs the filter on the calling thread (and everything it execs or forks afterwards).
// Needs no_new_privs to be set already, or CAP_SYS_ADMIN. Fails with the reason when the
// kernel or libseccomp refuses it; the caller must then not run the command.
core::Result<void> InstallSeccompFilter();

}  // namespace runvoy::providers::local
