// Runs one untrusted program (a model's completion) under bubblewrap (Debian bubblewrap), the
// way rlft's code-execution rewards run every test case:
//   - namespaces: its own user, PID, mount, network, IPC, UTS and cgroup namespaces
//     (bwrap --unshare-all): no network at all, not even the host's loopback;
//   - files: a read-only root holding /usr read-only (with the /bin, /lib, /lib64 links), a
//     fresh /proc and a read-only minimal /dev, empty size-capped tmpfs mounts at /tmp and
//     /dev/shm, the caller's work directory read-write at /work (the working directory);
//     nothing else of the host (no /etc, /home, /root, /proc of the trainer);
//   - a clean environment (PATH, HOME=/work, LANG=C.UTF-8) and a new session;
//   - seccomp (rlft/sandbox/seccomp_policy.hpp) and rlimits: CPU seconds, address space,
//     processes, file size, open files, no core files;
//   - a wall-clock deadline, after which bwrap is killed and the kernel tears down the PID
//     namespace with every process in it (bwrap --die-with-parent);
//   - stdout and stderr captured up to a cap each; past it the run is killed.
// When the trainer runs as root the program runs as an unprivileged uid of its own
// (run_options::uid_base + a counter), which also makes the process limit count only the
// sandbox's processes; otherwise it runs as the trainer's user and the process limit counts
// that user's processes (the limit is set above their number at the start).
// Each run ends with a verdict (run_verdict); exit status 128 + N from bwrap is read as
// signal N, as a shell does. Where bubblewrap cannot set the sandbox up (a machine without
// user namespaces), run_sandboxed throws with bubblewrap's message: it never runs unconfined.
#pragma once

#include <fcntl.h>
#include <linux/close_range.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "rlft/core/error.hpp"
#include "rlft/sandbox/file_descriptor.hpp"
#include "rlft/sandbox/seccomp_policy.hpp"

namespace rlft::sandbox {

struct run_limits {
  double cpu_seconds = 2.0;                      // per process (RLIMIT_CPU)
  double wall_seconds = 5.0;                     // the whole run
  std::size_t memory_bytes = std::size_t{512} << 20;  // address space per process (RLIMIT_AS)
  std::size_t processes = 32;                    // RLIMIT_NPROC
  std::size_t file_bytes = std::size_t{16} << 20;     // largest file written (RLIMIT_FSIZE), and /tmp's size
  std::size_t open_files = 64;                   // RLIMIT_NOFILE
  std::size_t output_bytes = std::size_t{64} << 10;   // captured from stdout and from stderr each
};

enum class run_verdict {
  completed,         // exited with status 0
  runtime_error,     // another exit status, or a signal not listed below
  timeout,           // past the wall deadline or the CPU limit
  memory_limit,      // an allocation failed (MemoryError, std::bad_alloc) at the address-space limit
  output_limit,      // stdout or stderr past the cap, or a file past the file size limit
  denied_by_policy,  // a system call the seccomp policy forbids
};

inline const char* verdict_name(run_verdict verdict) noexcept {
  switch (verdict) {
    case run_verdict::completed: return "completed";
    case run_verdict::runtime_error: return "runtime error";
    case run_verdict::timeout: return "timeout";
    case run_verdict::memory_limit: return "memory limit";
    case run_verdict::output_limit: return "output limit";
    default: return "denied by policy";
  }
}

struct run_result {
  run_verdict verdict = run_verdict::runtime_error;
  int exit_status = -1;  // 0..127 when it exited; -1 when a signal ended it
  int signal = 0;        // the signal that ended it, or 0
  double wall_seconds = 0.0;  // from the start of bwrap to its exit (the CPU time is limited, not measured:
                              // bwrap does not wait for its namespace's init, which holds it)
  std::string stdout_text;
  std::string stderr_text;
  bool output_truncated = false;
};

struct run_options {
  std::filesystem::path bwrap = "/usr/bin/bwrap";
  unsigned uid_base = 61000;  // when root: the runs' uids (and gids), uid_base + (counter mod 1000)
};

namespace detail {

[[noreturn]] inline void throw_system(const char* what) {
  throw error(rlft::detail::make_message("rlft sandbox: ", what, " failed: ", std::strerror(errno)));
}

inline void check_limits(const run_limits& limits) {
  const auto positive = [](double value) { return std::isfinite(value) && value > 0.0; };
  rlft::detail::check_option(positive(limits.cpu_seconds), "rlft sandbox", "cpu_seconds", limits.cpu_seconds, "> 0");
  rlft::detail::check_option(positive(limits.wall_seconds), "rlft sandbox", "wall_seconds", limits.wall_seconds,
                             "> 0");
  rlft::detail::check_option(limits.memory_bytes >= (std::size_t{16} << 20), "rlft sandbox", "memory_bytes",
                             limits.memory_bytes, ">= 16 MiB (the interpreter itself needs that much)");
  rlft::detail::check_option(limits.processes >= 1, "rlft sandbox", "processes", limits.processes, ">= 1");
  rlft::detail::check_option(limits.open_files >= 8, "rlft sandbox", "open_files", limits.open_files, ">= 8");
  rlft::detail::check_option(limits.file_bytes >= 1, "rlft sandbox", "file_bytes", limits.file_bytes, ">= 1");
}

// Processes (threads included) the user `uid` runs now: what RLIMIT_NPROC counts.
inline std::size_t processes_of(uid_t uid) {
  std::size_t count = 0;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    struct stat info {};
    if (::stat(entry.path().c_str(), &info) != 0 || info.st_uid != uid) continue;
    std::error_code missing;
    for (auto task = std::filesystem::directory_iterator(entry.path() / "task", missing);
         task != std::filesystem::directory_iterator(); task.increment(missing))
      ++count;
  }
  return count;
}

// RLIMIT_NPROC for a run: its processes, bwrap's two, and (when not root, all runs sharing the
// trainer's uid) the user's processes now.
inline std::size_t process_limit(const run_limits& limits) {
  return limits.processes + 2 + (::geteuid() == 0 ? 0 : processes_of(::geteuid()));
}

inline std::vector<std::string> bwrap_arguments(const run_options& options, const run_limits& limits,
                                                const std::filesystem::path& work, int seccomp_fd, int info_fd,
                                                const std::vector<std::string>& command) {
  std::vector<std::string> args{options.bwrap.string(),
                                "--unshare-all",
                                "--die-with-parent",
                                "--new-session",
                                "--ro-bind", "/usr", "/usr",
                                "--symlink", "usr/bin", "/bin",
                                "--symlink", "usr/lib", "/lib",
                                "--symlink", "usr/lib64", "/lib64",
                                "--proc", "/proc",
                                "--dev", "/dev",
                                "--size", std::to_string(limits.file_bytes),
                                "--tmpfs", "/dev/shm",
                                "--remount-ro", "/dev",
                                "--size", std::to_string(limits.file_bytes),
                                "--tmpfs", "/tmp",
                                "--bind", work.string(), "/work",
                                "--chdir", "/work",
                                "--clearenv",
                                "--setenv", "PATH", "/usr/bin:/bin",
                                "--setenv", "HOME", "/work",
                                "--setenv", "LANG", "C.UTF-8",
                                "--remount-ro", "/",
                                "--seccomp", std::to_string(seccomp_fd),
                                "--info-fd", std::to_string(info_fd),
                                "--"};
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

// The child's side of vfork(): limits, identity, descriptors, exec. Reports a failure as errno
// on `report` and exits. It shares the trainer's memory until exec, so it only makes system
// calls and writes its own stack; identity changes are raw system calls, which change this
// process only (glibc's setuid would try to change every thread of the trainer too).
[[noreturn]] inline void exec_child(char* const* argv, char* const* environment, const rlimit* limits,
                                    const int* resources, int resource_count, int stdin_fd, int stdout_fd,
                                    int stderr_fd, int seccomp_fd, int info_fd, int report, uid_t as_user) {
  const auto fail = [&] {
    const int code = errno;
    [[maybe_unused]] const auto written = ::write(report, &code, sizeof code);
    ::_exit(127);
  };
  if (::dup2(stdin_fd, 0) < 0 || ::dup2(stdout_fd, 1) < 0 || ::dup2(stderr_fd, 2) < 0) fail();
  for (int i = 0; i < resource_count; ++i)
    if (::setrlimit(resources[i], &limits[i]) != 0) fail();
  if (as_user != 0) {
    if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setgid, as_user) != 0 ||
        ::syscall(SYS_setuid, as_user) != 0)
      fail();
  }
  // Every other descriptor closes at exec, except bwrap's seccomp program and info pipe.
  if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)  // Linux before 5.11: one at a time
    for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (::fcntl(info_fd, F_SETFD, 0) != 0 || ::fcntl(seccomp_fd, F_SETFD, 0) != 0) fail();
  ::execve(argv[0], argv, environment);
  fail();
  ::_exit(127);  // fail() does not return; the compiler cannot tell
}

inline void make_pipe(file_descriptor& read_end, file_descriptor& write_end) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw_system("pipe2");
  read_end = file_descriptor(ends[0]);
  write_end = file_descriptor(ends[1]);
}

// write() that fails with EPIPE instead of raising SIGPIPE when the reader has gone (a program
// may close its input): SIGPIPE is blocked in this thread for the call, and one it raised is
// taken before the mask is restored.
inline ssize_t write_to_pipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_signal, previous;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
  const ssize_t written = ::write(fd, data, size);
  const int code = errno;
  if (written < 0 && code == EPIPE) {
    const timespec now{0, 0};
    while (::sigtimedwait(&pipe_signal, nullptr, &now) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = code;
  return written;
}

inline bool has(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

inline run_verdict classify(const run_result& result, bool killed_at_deadline, bool output_overflow) {
  if (killed_at_deadline) return run_verdict::timeout;
  if (output_overflow) return run_verdict::output_limit;
  switch (result.signal) {
    case 0: break;
    case SIGXCPU:
    case SIGKILL: return run_verdict::timeout;  // the CPU limit's soft and hard signals
    case SIGSYS: return run_verdict::denied_by_policy;
    case SIGXFSZ: return run_verdict::output_limit;
    default: break;
  }
  if (has(result.stderr_text, "MemoryError") || has(result.stderr_text, "std::bad_alloc") ||
      has(result.stderr_text, "Cannot allocate memory"))
    return run_verdict::memory_limit;
  // Python ignores SIGXFSZ and reports EFBIG; a full /tmp reports ENOSPC.
  if (result.exit_status != 0 &&
      (has(result.stderr_text, "File too large") || has(result.stderr_text, "No space left on device")))
    return run_verdict::output_limit;
  if (result.signal != 0 || result.exit_status != 0) return run_verdict::runtime_error;
  return run_verdict::completed;
}

// Hands `work` and everything in it to `uid` (when root: the run's uid, and back after).
inline void hand_over(const std::filesystem::path& work, uid_t uid) {
  std::error_code ignored;
  ::chown(work.c_str(), uid, uid);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(work, ignored))
    ::lchown(entry.path().c_str(), uid, uid);
}

}  // namespace detail

// A new empty directory under the system's temporary directory (reachable by the runs' uids),
// to be a sandbox's /work. Throws rlft::error when it cannot be made.
inline std::filesystem::path make_work_directory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "rlft-sandbox-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw error(rlft::detail::make_message("rlft sandbox: cannot make a work directory under ",
                                           std::filesystem::temp_directory_path().string()));
  return pattern;
}

// A sandbox started by start_sandboxed: bubblewrap's pid (the caller waits for it), the pipes
// to the program's standard streams and from bubblewrap's info pipe, and the uid it runs as
// (0: the trainer's own, when not root; `work` is that uid's until handed back).
struct sandboxed_process {
  pid_t pid = -1;
  uid_t as_user = 0;
  file_descriptor stdin_write, stdout_read, stderr_read, info_read;
  std::chrono::steady_clock::time_point start;
};

// Starts `command` in the sandbox over `work` (see run_sandboxed) and returns without waiting.
// Throws rlft::error for bad limits, a missing bwrap or a failing system call.
inline sandboxed_process start_sandboxed(const std::vector<std::string>& command, const std::filesystem::path& work,
                                         const run_limits& limits, const run_options& options) {
  detail::check_limits(limits);
  if (command.empty()) throw error("rlft sandbox: the command is empty");
  if (::access(options.bwrap.c_str(), X_OK) != 0)
    throw error(rlft::detail::make_message("rlft sandbox: bubblewrap is not at ", options.bwrap.string(),
                                           " (Debian: apt-get install bubblewrap)"));
  if (!std::filesystem::is_directory(work))
    throw error(rlft::detail::make_message("rlft sandbox: the work directory ", work.string(), " does not exist"));

  static std::atomic<unsigned> counter{0};
  const bool root = ::geteuid() == 0;
  sandboxed_process process;
  process.as_user = root ? options.uid_base + counter.fetch_add(1) % 1000 : 0;
  if (root) detail::hand_over(work, process.as_user);

  const file_descriptor seccomp = seccomp_program();
  file_descriptor info_write;  // bwrap writes the sandbox's pid here once it stands
  detail::make_pipe(process.info_read, info_write);
  const auto arguments = detail::bwrap_arguments(options, limits, work, seccomp.get(), info_write.get(), command);
  std::vector<char*> argv;
  for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  std::string path_variable = "PATH=/usr/bin:/bin";
  char* environment[] = {path_variable.data(), nullptr};

  const auto seconds = [](double value) { return static_cast<rlim_t>(std::ceil(value)); };
  const std::size_t processes = detail::process_limit(limits);
  const rlimit values[] = {{seconds(limits.cpu_seconds), seconds(limits.cpu_seconds) + 1},
                           {limits.memory_bytes, limits.memory_bytes},
                           {processes, processes},
                           {limits.file_bytes, limits.file_bytes},
                           {limits.open_files, limits.open_files},
                           {0, 0}};
  const int resources[] = {RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CORE};

  file_descriptor stdin_read, stdout_write, stderr_write, report_read, report_write;
  detail::make_pipe(stdin_read, process.stdin_write);
  detail::make_pipe(process.stdout_read, stdout_write);
  detail::make_pipe(process.stderr_read, stderr_write);
  detail::make_pipe(report_read, report_write);

  process.start = std::chrono::steady_clock::now();
  // vfork: the trainer's memory is not copied (fork() of a trainer holding a model costs tens
  // of milliseconds per run in page tables), and this thread waits until the child has
  // exec'd bubblewrap or failed.
  process.pid = ::vfork();
  if (process.pid < 0) {
    if (root) detail::hand_over(work, ::geteuid());
    detail::throw_system("vfork");
  }
  if (process.pid == 0)
    detail::exec_child(argv.data(), environment, values, resources, static_cast<int>(std::size(resources)),
                       stdin_read.get(), stdout_write.get(), stderr_write.get(), seccomp.get(), info_write.get(),
                       report_write.get(), process.as_user);
  report_write.reset();

  int exec_error = 0;
  if (::read(report_read.get(), &exec_error, sizeof exec_error) == static_cast<ssize_t>(sizeof exec_error)) {
    ::waitpid(process.pid, nullptr, 0);
    if (root) detail::hand_over(work, ::geteuid());
    errno = exec_error;
    detail::throw_system("starting bubblewrap");
  }
  return process;
}

// Runs `command` (argv inside the sandbox, e.g. {"/usr/bin/python3", "main.py"}) in `work`
// (bound read-write at /work; when root, handed to the run's uid for the run and back after, so
// it must be reachable by an unprivileged user: a directory under /tmp, not under /root)
// with `stdin_text` on its standard input. Throws rlft::error for bad limits, a missing bwrap
// or a failing system call on the trainer's side, with what failed; everything the program
// does is in the result.
inline run_result run_sandboxed(const std::vector<std::string>& command, const std::filesystem::path& work,
                                std::string_view stdin_text, const run_limits& limits = {},
                                const run_options& options = {}) {
  sandboxed_process process = start_sandboxed(command, work, limits, options);
  const pid_t child = process.pid;
  const bool root = process.as_user != 0;
  auto& stdin_write = process.stdin_write;
  auto& stdout_read = process.stdout_read;
  auto& stderr_read = process.stderr_read;
  const auto start = process.start;

  run_result result;
  bool killed_at_deadline = false, output_overflow = false;
  std::size_t written = 0;
  if (stdin_text.empty()) stdin_write.reset();
  for (const int fd : {stdin_write.get(), stdout_read.get(), stderr_read.get()})
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(limits.wall_seconds));
  char buffer[65536];
  while (stdout_read || stderr_read) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      killed_at_deadline = true;
      break;
    }
    pollfd watched[3] = {{stdout_read.get(), POLLIN, 0}, {stderr_read.get(), POLLIN, 0},
                         {stdin_write.get(), POLLOUT, 0}};
    if (::poll(watched, 3, static_cast<int>(left.count()) + 1) < 0 && errno != EINTR) detail::throw_system("poll");
    if (watched[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
      const ssize_t n =
          detail::write_to_pipe(stdin_write.get(), stdin_text.data() + written, stdin_text.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) written = stdin_text.size();  // the program closed its input
      if (written == stdin_text.size()) stdin_write.reset();
    }
    for (int i = 0; i < 2; ++i) {
      if (!(watched[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      auto& pipe = i == 0 ? stdout_read : stderr_read;
      auto& text = i == 0 ? result.stdout_text : result.stderr_text;
      const ssize_t n = ::read(pipe.get(), buffer, sizeof buffer);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        pipe.reset();
        continue;
      }
      if (n < 0) continue;
      const std::size_t room = limits.output_bytes - std::min(limits.output_bytes, text.size());
      text.append(buffer, std::min(room, static_cast<std::size_t>(n)));
      if (static_cast<std::size_t>(n) > room) output_overflow = result.output_truncated = true;
    }
    if (output_overflow) break;
  }
  if (killed_at_deadline || output_overflow) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  } else if (WEXITSTATUS(status) > 128) {
    result.signal = WEXITSTATUS(status) - 128;  // bwrap's report of its child's signal
  } else {
    result.exit_status = WEXITSTATUS(status);
  }
  if (root) detail::hand_over(work, ::geteuid());
  // Nothing on the info pipe: bubblewrap never set the sandbox up (no user namespaces, say), and
  // nothing ran. An error, not a verdict about the program.
  char info = 0;
  if (!killed_at_deadline && ::read(process.info_read.get(), &info, 1) != 1)
    throw error(rlft::detail::make_message("rlft sandbox: bubblewrap could not set up the sandbox: ",
                                           result.stderr_text));
  result.verdict = detail::classify(result, killed_at_deadline, output_overflow);
  return result;
}

}  // namespace rlft::sandbox
