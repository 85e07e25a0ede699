// A one-line progress bar for a training run: redrawn in place on a terminal, one line every
// `every` steps (and the last) when the output is a file or a pipe, so logs stay readable.
//   [##########..........] 50/100  reward 0.41  kl 0.0012  4.2 s/step  ETA 3m30s
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace rlft::hf {

class progress_bar {
 public:
  progress_bar(std::size_t total, std::size_t first, std::size_t every = 10)
      : total_(total), first_(first), every_(every), interactive_(isatty(fileno(stdout)) != 0) {}

  void update(std::size_t done, const std::string& summary) {
    const double elapsed = std::chrono::duration<double>(clock::now() - start_).count();
    const double per_step = done > first_ ? elapsed / static_cast<double>(done - first_) : 0.0;
    const auto remaining = static_cast<long>(per_step * static_cast<double>(total_ - done));
    constexpr std::size_t width = 20;
    const std::size_t filled = total_ == 0 ? width : done * width / total_;
    const std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
    char timing[64];
    std::snprintf(timing, sizeof timing, "%.1f s/step  ETA %ldm%02lds", per_step, remaining / 60, remaining % 60);
    if (interactive_) {
      std::printf("\r\033[K[%s] %zu/%zu  %s  %s", bar.c_str(), done, total_, summary.c_str(), timing);
    } else if (done % every_ == 0 || done == total_ || done == first_ + 1) {
      std::printf("[%s] %zu/%zu  %s  %s\n", bar.c_str(), done, total_, summary.c_str(), timing);
    }
    std::fflush(stdout);
  }

  // Ends the bar's line before other output.
  void interrupt() const {
    if (interactive_) std::printf("\n");
  }

 private:
  using clock = std::chrono::steady_clock;
  std::size_t total_, first_, every_;
  bool interactive_;
  clock::time_point start_ = clock::now();
};

}  // namespace rlft::hf
