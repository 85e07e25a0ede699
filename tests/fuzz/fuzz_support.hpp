// What every libFuzzer harness of rlft's readers shares. A harness hands the input to one reader
// the way a user's file reaches it and accepts exactly one kind of failure: an rlft::error (its
// tiers: io_error, data_error) with a message. Anything else is a finding: a crash, a sanitizer
// report, a hang, an allocation past libFuzzer's -rss_limit_mb, or any other exception, which
// escapes the harness and stops the fuzzer with the input that caused it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <unistd.h>

#include "rlft/core/error.hpp"

namespace rlft_fuzz {

// A directory of this process's own under the system's temporary directory, made once.
inline const std::filesystem::path& scratch_directory() {
  static const std::filesystem::path directory = [] {
    auto path = std::filesystem::temp_directory_path() / ("rlft_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    std::atexit([] { std::filesystem::remove_all(scratch_directory()); });
    return path;
  }();
  return directory;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!file) std::abort();  // the harness's own failure, not the reader's
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `read` and accepts an rlft::error as the reader's answer to a bad input.
template <class Read>
void expect_rlft_error_at_most(Read&& read) {
  try {
    read();
  } catch (const rlft::error& refused) {
    if (std::string_view(refused.what()).empty()) std::abort();  // an error must say what is wrong
  }
}

}  // namespace rlft_fuzz
