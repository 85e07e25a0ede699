// The system calls a sandboxed program may not make, as a seccomp BPF program for bubblewrap's
// --seccomp (built with libseccomp, Debian libseccomp-dev). Everything else is allowed: the
// namespaces, the read-only file system and the rlimits of rlft/sandbox/run_sandboxed.hpp do
// the confining; the filter removes the kernel surface a test program never needs and an
// escape would: tracing and other processes' memory, mounts and namespaces, kernel modules,
// kexec, BPF, perf, keyrings, reboot and swap, raw or packet sockets, and System V IPC and
// POSIX message queues, whose objects outlive the processes that made them (a warm sandbox of
// rlft/sandbox/python_workers.hpp serves many programs; POSIX shared memory and semaphores are
// files in /dev/shm, which it empties). A denied call kills the process with SIGSYS, which the
// runner reports as run_verdict::denied_by_policy.
#pragma once

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "rlft/core/error.hpp"
#include "rlft/sandbox/file_descriptor.hpp"

namespace rlft::sandbox {

namespace detail {

inline constexpr int denied_system_calls[] = {
    SCMP_SYS(ptrace),          SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(mount),
    SCMP_SYS(umount2),         SCMP_SYS(pivot_root),       SCMP_SYS(chroot),            SCMP_SYS(unshare),
    SCMP_SYS(setns),           SCMP_SYS(init_module),      SCMP_SYS(finit_module),      SCMP_SYS(delete_module),
    SCMP_SYS(kexec_load),      SCMP_SYS(kexec_file_load),  SCMP_SYS(bpf),               SCMP_SYS(perf_event_open),
    SCMP_SYS(keyctl),          SCMP_SYS(add_key),          SCMP_SYS(request_key),       SCMP_SYS(reboot),
    SCMP_SYS(swapon),          SCMP_SYS(swapoff),          SCMP_SYS(userfaultfd),       SCMP_SYS(open_by_handle_at),
    SCMP_SYS(name_to_handle_at), SCMP_SYS(fanotify_init), SCMP_SYS(acct),              SCMP_SYS(settimeofday),
    SCMP_SYS(clock_settime),   SCMP_SYS(sethostname),      SCMP_SYS(setdomainname),     SCMP_SYS(iopl),
    SCMP_SYS(ioperm),          SCMP_SYS(syslog),           SCMP_SYS(lookup_dcookie),    SCMP_SYS(quotactl),
    SCMP_SYS(shmget),          SCMP_SYS(semget),           SCMP_SYS(msgget),            SCMP_SYS(mq_open),
};

[[noreturn]] inline void throw_seccomp(const char* what, int code) {
  throw error(rlft::detail::make_message("rlft sandbox: ", what, " failed: ", std::strerror(-code)));
}

}  // namespace detail

// The filter as a BPF program in an anonymous file (its offset at 0), to hand to bubblewrap.
// Throws rlft::error when libseccomp or the file fails.
inline file_descriptor seccomp_program() {
  const std::unique_ptr<void, void (*)(scmp_filter_ctx)> filter(seccomp_init(SCMP_ACT_ALLOW), seccomp_release);
  if (!filter) throw error("rlft sandbox: seccomp_init failed");
  const auto deny = [&](int call, unsigned count, const scmp_arg_cmp* conditions) {
    const int code = seccomp_rule_add_array(filter.get(), SCMP_ACT_KILL_PROCESS, call, count, conditions);
    if (code < 0) detail::throw_seccomp("seccomp_rule_add", code);
  };
  for (const int call : detail::denied_system_calls) deny(call, 0, nullptr);
  // Sockets: no raw or packet sockets (the network namespace has no route out in any case).
  const scmp_arg_cmp packet = SCMP_A0(SCMP_CMP_EQ, AF_PACKET);
  deny(SCMP_SYS(socket), 1, &packet);
  const scmp_arg_cmp raw = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW);
  deny(SCMP_SYS(socket), 1, &raw);
  file_descriptor program(static_cast<int>(::syscall(SYS_memfd_create, "rlft-seccomp", 0)));
  if (!program) throw error(rlft::detail::make_message("rlft sandbox: memfd_create failed: ", std::strerror(errno)));
  if (const int code = seccomp_export_bpf(filter.get(), program.get()); code < 0)
    detail::throw_seccomp("seccomp_export_bpf", code);
  if (::lseek(program.get(), 0, SEEK_SET) != 0)
    throw error(rlft::detail::make_message("rlft sandbox: lseek failed: ", std::strerror(errno)));
  return program;
}

}  // namespace rlft::sandbox
