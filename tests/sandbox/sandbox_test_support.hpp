// What the sandbox tests share: a fresh work directory, the count of live processes of the
// sandbox's uids, and what a run could leave on the host (mounts of the test process, files in
// its private temporary directory).
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "rlft/sandbox/run_sandboxed.hpp"

namespace sandbox_test {

namespace fs = std::filesystem;
using rlft::sandbox::run_limits;
using rlft::sandbox::run_result;
using rlft::sandbox::run_sandboxed;
using rlft::sandbox::run_verdict;

// A fresh work directory under /tmp, removed with everything in it.
struct work_directory {
  fs::path path;
  work_directory() {
    std::string pattern = (fs::temp_directory_path() / "rlft-sandbox-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~work_directory() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
};

// Live processes (not zombies waiting for init to reap them) whose uid is one the sandbox uses
// when the tests run as root, after a moment for the namespace's teardown.
inline std::size_t sandbox_processes() {
  std::size_t count = 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    count = 0;
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator("/proc", ignored)) {
      struct stat info {};
      if (::stat(entry.path().c_str(), &info) != 0 || info.st_uid < 61000 || info.st_uid >= 62000) continue;
      std::ifstream stat_file(entry.path() / "stat");
      std::string line;
      std::getline(stat_file, line);
      const auto state = line.find(") ");
      if (state != std::string::npos && line[state + 2] != 'Z') ++count;
    }
    if (count == 0) break;
    ::usleep(50000);
  }
  return count;
}

// What a run could leave on the host besides processes: the test process's mounts, and files in
// the temporary directory (private to this executable: main() points TMPDIR at it).
struct host_state {
  std::size_t mounts = 0;
  std::size_t temporary_entries = 0;
  static host_state now() {
    host_state state;
    std::ifstream mountinfo("/proc/self/mountinfo");
    for (std::string line; std::getline(mountinfo, line);) ++state.mounts;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(fs::temp_directory_path())) ++state.temporary_entries;
    return state;
  }
  bool operator==(const host_state&) const = default;
};

}  // namespace sandbox_test
