// Files the data tests write: under a directory of this process's own (CTest runs test cases
// as parallel processes), removed when the process ends.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <system_error>

namespace rlft::testing {

inline const std::filesystem::path& scratch_directory() {
  struct owned_directory {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("rlft_data_test_" + std::to_string(std::random_device{}()));
    owned_directory() { std::filesystem::create_directories(path); }
    ~owned_directory() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const owned_directory directory;
  return directory.path;
}

// Writes `text` byte for byte to a scratch file called `name` and returns its path.
inline std::filesystem::path scratch_file(const std::string& name, std::string_view text) {
  const auto path = scratch_directory() / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace rlft::testing
