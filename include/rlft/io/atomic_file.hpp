// Atomic file replacement for checkpoints: the new content goes to a temporary file beside the
// target, is flushed and synced to disk, and only then renamed over the target. rename(2) on
// one file system replaces the name in one step, so a crash or an exception half-way leaves
// the previous file intact (and at worst a stray temporary file, never a torn checkpoint).
#pragma once

#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>

#if __has_include(<unistd.h>)
#include <unistd.h>
#define RLFT_HAS_FSYNC 1
#endif

#include "rlft/core/error.hpp"

namespace rlft::io {

// Writes the byte chunks, in order, to `target` atomically. Throws rlft::io_error naming the
// file and the failed step; the previous `target` is then untouched.
inline void write_file_atomically(const std::filesystem::path& target,
                                  std::span<const std::span<const char>> chunks) {
  const std::filesystem::path temporary = target.string() + ".partial";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr)
    throw io_error(detail::make_message("cannot create ", temporary.string(), " to save ", target.string()));
  bool written = true;
  for (const auto chunk : chunks)
    if (!chunk.empty() && std::fwrite(chunk.data(), 1, chunk.size(), file) != chunk.size()) written = false;
  written = written && std::fflush(file) == 0;
#ifdef RLFT_HAS_FSYNC
  // Without the sync, a power loss after the rename may leave a renamed but empty file.
  written = written && ::fsync(fileno(file)) == 0;
#endif
  written = (std::fclose(file) == 0) && written;
  std::error_code ignored;
  if (!written) {
    std::filesystem::remove(temporary, ignored);
    throw io_error(detail::make_message("cannot write ", temporary.string(), " (disk full?); ",
                                        target.string(), " is unchanged"));
  }
  std::error_code renamed;
  std::filesystem::rename(temporary, target, renamed);
  if (renamed) {
    std::filesystem::remove(temporary, ignored);
    throw io_error(detail::make_message("cannot rename ", temporary.string(), " to ", target.string(), ": ",
                                        renamed.message()));
  }
}

inline void write_file_atomically(const std::filesystem::path& target, std::string_view content) {
  const std::span<const char> chunk(content.data(), content.size());
  write_file_atomically(target, std::span<const std::span<const char>>(&chunk, 1));
}

}  // namespace rlft::io
