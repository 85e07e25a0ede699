// Preloaded into grpo_hf by kill_at_commits.cmake: SIGKILLs the process at the Nth commit point of
// a file write, N from RLFT_KILL_AT_COMMIT (unset or 0: never). The commit points are the calls to
// fsync (a file's bytes written, not yet durable) and rename (a finished file about to replace its
// target), the two steps of every atomic write (rlft/io/atomic_file.hpp); the kill comes before
// the call, so each N leaves the run directory as a crash at that moment of a checkpoint would.
#include <atomic>
#include <csignal>
#include <cstdlib>

#include <dlfcn.h>

namespace {

std::atomic<long> commits_left{-1};

void count_commit() {
  long unset = -1;
  if (commits_left.load() == -1) {
    const char* setting = std::getenv("RLFT_KILL_AT_COMMIT");
    commits_left.compare_exchange_strong(unset, setting ? std::atol(setting) : 0);
  }
  if (commits_left.load() > 0 && commits_left.fetch_sub(1) == 1) std::raise(SIGKILL);
}

template <class Function>
Function* next_definition(const char* name) {
  return reinterpret_cast<Function*>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int fsync(int fd) {
  count_commit();
  return next_definition<int(int)>("fsync")(fd);
}

extern "C" int rename(const char* from, const char* to) noexcept {
  count_commit();
  return next_definition<int(const char*, const char*)>("rename")(from, to);
}
