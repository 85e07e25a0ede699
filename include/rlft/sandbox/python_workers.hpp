// Warm Python sandboxes for many short programs, such as a GRPO step's code rewards. A worker
// is one sandbox of rlft/sandbox/run_sandboxed.hpp in which the harness of
// rlft/sandbox/test_harness.hpp runs with --persistent: each job (a program's source and its
// test inputs) runs as forked children of that interpreter, exactly as run_test_cases runs
// them, so a program costs a fork instead of a sandbox set-up and an interpreter start
// (bench/RESULTS.md).
//
// What programs in one worker share, and what keeps them apart:
//   - they run one at a time; after each job the harness kills every other process of the
//     sandbox's PID namespace and empties /work, /tmp and /dev/shm (the only writable places);
//   - the harness is not dumpable, so a program cannot read or write its memory through /proc
//     (ptrace and process_vm_* are denied by the seccomp policy, as are System V IPC and POSIX
//     message queues, which would outlive a job);
//   - a program may still stop or kill the harness (same uid). A job that does not end, within
//     its deadline, with every case reported and the sandbox reset is thrown away with its
//     worker, and the program runs again alone (run_test_cases in a sandbox of its own): its
//     verdict is then the one it gets alone;
//   - the namespaces themselves (hostname, a network namespace with no interface up) and the
//     uid are the worker's for its whole life; process ids differ from a run alone, and /tmp
//     and /dev/shm hold up to the ceiling's file_bytes.
// A worker retires after `jobs_per_worker` jobs. Python sources only: they run in the harness's
// interpreter (/usr/bin/python3 -I -S), whatever language::run says. Thread-safe: each caller
// takes an idle worker or starts one, so there are as many workers as concurrent callers.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/sandbox/run_sandboxed.hpp"
#include "rlft/sandbox/test_harness.hpp"

namespace rlft::sandbox {

class python_workers {
 public:
  // `ceiling`: each worker's sandbox limits per process (address space, processes, file size,
  // open files), which a job's limits may not exceed; its CPU and wall seconds are not used.
  explicit python_workers(const run_options& options = {}, const run_limits& ceiling = {},
                          std::size_t jobs_per_worker = 1000)
      : options_(options), ceiling_(ceiling), jobs_per_worker_(jobs_per_worker) {
    detail::check_limits(ceiling_);
    rlft::detail::check_option(jobs_per_worker_ >= 1, "python_workers", "jobs_per_worker", jobs_per_worker_, ">= 1");
  }
  python_workers(const python_workers&) = delete;
  python_workers& operator=(const python_workers&) = delete;

  // Runs the Python `source` once per input, `limits` per case, and returns one result per
  // input, in order, as run_test_cases would. Throws rlft::error for limits above the ceiling
  // or a sandbox that cannot run.
  std::vector<run_result> run(std::string_view source, const std::vector<std::string>& inputs,
                              const run_limits& limits = {}) {
    detail::check_limits(limits);
    const auto above = [](const char* name, std::size_t value, std::size_t ceiling) {
      rlft::detail::check_option(value <= ceiling, "python_workers", name, value,
                                 rlft::detail::make_message("<= the workers' ceiling, ", ceiling));
    };
    above("memory_bytes", limits.memory_bytes, ceiling_.memory_bytes);
    above("processes", limits.processes, ceiling_.processes);
    above("file_bytes", limits.file_bytes, ceiling_.file_bytes);
    above("open_files", limits.open_files, ceiling_.open_files);

    std::string job;
    try {  // strict: a source that is not UTF-8 is not altered but run alone
      job = nlohmann::json{{"python", "main.py"}, {"source", source}, {"inputs", inputs},
                           {"limits", detail::case_limits(limits)}}.dump() + "\n";
    } catch (const nlohmann::json::exception&) {
      return run_alone(source, inputs, limits);
    }
    std::unique_ptr<worker> taken = take();
    if (!taken) return run_alone(source, inputs, limits);
    bool clean = false;
    auto results = run_job(*taken, job, inputs.size(), limits, clean);
    if (results && clean && taken->jobs < jobs_per_worker_) {
      const std::lock_guard lock(mutex_);
      idle_.push_back(std::move(taken));
    }
    taken.reset();  // a worker that failed or is done ends here
    if (results) return std::move(*results);
    {
      const std::lock_guard lock(mutex_);
      ++programs_run_alone_;
    }
    return run_alone(source, inputs, limits);
  }

  // Workers started so far, and programs whose job failed in a worker and ran alone.
  std::size_t workers_started() const {
    const std::lock_guard lock(mutex_);
    return workers_started_;
  }
  std::size_t programs_run_alone() const {
    const std::lock_guard lock(mutex_);
    return programs_run_alone_;
  }

 private:
  struct worker {
    std::filesystem::path work;
    sandboxed_process process;
    std::size_t jobs = 0;
    worker() = default;
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;
    ~worker() {
      if (process.pid > 0) {
        ::kill(process.pid, SIGKILL);  // bwrap: the kernel tears down the PID namespace with it
        while (::waitpid(process.pid, nullptr, 0) < 0 && errno == EINTR) {
        }
      }
      if (process.as_user != 0) detail::hand_over(work, ::geteuid());
      std::error_code ignored;
      std::filesystem::remove_all(work, ignored);
    }
  };

  // An idle worker, or a new one; null when the harness cannot be written.
  std::unique_ptr<worker> take() {
    {
      const std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto taken = std::move(idle_.back());
        idle_.pop_back();
        return taken;
      }
      ++workers_started_;
    }
    auto started = std::make_unique<worker>();
    started->work = make_work_directory();
    {
      std::ofstream file(started->work / ".rlft_harness.py", std::ios::binary);
      file << detail::harness_source;
      if (!file) return nullptr;
    }
    run_limits sandbox = ceiling_;
    sandbox.cpu_seconds = 3600.0;  // the harness's own, over all its jobs; each case has its own limit
    started->process = start_sandboxed({"/usr/bin/python3", "-I", "-S", ".rlft_harness.py", "--persistent"},
                                       started->work, sandbox, options_);
    return started;
  }

  // Sends `job` and reads the reports of its `cases` cases and of the reset. Nothing when the
  // worker does not answer in time, ends, or answers something else.
  static std::optional<std::vector<run_result>> run_job(worker& w, const std::string& job, std::size_t cases,
                                                        const run_limits& limits, bool& clean) {
    ++w.jobs;
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(
                              limits.wall_seconds * static_cast<double>(cases) + 3.0));
    const std::size_t most = detail::report_bytes(cases, limits);
    std::string reports;
    std::size_t lines = 0, written = 0;
    char buffer[65536];
    for (const int fd : {w.process.stdin_write.get(), w.process.stdout_read.get(), w.process.stderr_read.get()})
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    while (lines < cases + 1) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd watched[3] = {{w.process.stdout_read.get(), POLLIN, 0},
                           {w.process.stderr_read.get(), POLLIN, 0},
                           {written < job.size() ? w.process.stdin_write.get() : -1, POLLOUT, 0}};
      if (::poll(watched, 3, static_cast<int>(left.count()) + 1) < 0 && errno != EINTR) return std::nullopt;
      if (watched[2].revents & (POLLERR | POLLHUP)) return std::nullopt;
      if (watched[2].revents & POLLOUT) {
        const ssize_t n = detail::write_to_pipe(w.process.stdin_write.get(), job.data() + written, job.size() - written);
        if (n < 0 && errno != EAGAIN) return std::nullopt;
        if (n > 0) written += static_cast<std::size_t>(n);
      }
      if (watched[1].revents & (POLLIN | POLLHUP | POLLERR)) {  // the harness's own complaints: not kept
        if (::read(w.process.stderr_read.get(), buffer, sizeof buffer) == 0) return std::nullopt;
      }
      if (watched[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = ::read(w.process.stdout_read.get(), buffer, sizeof buffer);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return std::nullopt;
        if (n > 0) {
          lines += static_cast<std::size_t>(std::count(buffer, buffer + n, '\n'));
          reports.append(buffer, static_cast<std::size_t>(n));
          if (reports.size() > most) return std::nullopt;
        }
      }
    }
    if (lines != cases + 1 || reports.back() != '\n') return std::nullopt;
    std::vector<run_result> results;
    std::size_t begin = 0;
    for (std::size_t line = 0; line <= cases; ++line) {
      const std::size_t end = reports.find('\n', begin);
      const auto report = nlohmann::json::parse(reports.substr(begin, end - begin), nullptr, false);
      begin = end + 1;
      if (!report.is_object()) return std::nullopt;
      if (line == cases) {
        clean = report.value("clean", false);
        break;
      }
      if (!report.contains("exit_status")) return std::nullopt;
      results.push_back(detail::case_result(report));
    }
    return results;
  }

  // The program in a sandbox of its own, through the same harness.
  std::vector<run_result> run_alone(std::string_view source, const std::vector<std::string>& inputs,
                                    const run_limits& limits) const {
    const std::filesystem::path work = make_work_directory();
    struct removed {
      const std::filesystem::path& path;
      ~removed() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
      }
    } remove_after{work};
    std::ofstream file(work / "main.py", std::ios::binary);
    file.write(source.data(), static_cast<std::streamsize>(source.size()));
    if (!file) throw error(rlft::detail::make_message("rlft sandbox: cannot write ", (work / "main.py").string()));
    file.close();
    return run_test_cases({}, "main.py", work, inputs, limits, options_);
  }

  run_options options_;
  run_limits ceiling_;
  std::size_t jobs_per_worker_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<worker>> idle_;
  std::size_t workers_started_ = 0, programs_run_alone_ = 0;
};

}  // namespace rlft::sandbox
