// A whole file mapped read-only into memory (POSIX mmap), so that a large checkpoint's tensors are
// converted to float straight from the page cache: no read buffer, no second copy of a shard.
// Pages a caller is done with are handed back (release), so a model's resident memory while it
// loads is its float weights and not also the file. Where the platform has no mmap, `map`
// returns nothing and callers read the file instead.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#if __has_include(<sys/mman.h>) && __has_include(<sys/stat.h>) && __has_include(<fcntl.h>) && \
    __has_include(<unistd.h>)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define RLFT_HAS_MMAP 1
#endif

#include "rlft/core/error.hpp"

namespace rlft::io {

class mapped_file {
 public:
  // Maps the `size` bytes of `path` (a size the caller has validated and will check again, since
  // touching a page past the end of a file that shrank afterwards is a fault). Empty where mmap
  // is unavailable; throws rlft::io_error naming the file when it cannot be opened or mapped.
  static std::shared_ptr<const mapped_file> map(const std::filesystem::path& path, std::uint64_t size) {
#ifdef RLFT_HAS_MMAP
    if (size == 0) return nullptr;
    const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) throw io_error(detail::make_message(path.string(), " cannot be opened for mapping"));
    void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, descriptor, 0);
    if (address == MAP_FAILED) {
      ::close(descriptor);
      throw io_error(detail::make_message(path.string(), " cannot be mapped into memory"));
    }
    ::madvise(address, size, MADV_SEQUENTIAL);
    return std::shared_ptr<const mapped_file>(
        new mapped_file(static_cast<const unsigned char*>(address), size, descriptor));
#else
    (void)path;
    (void)size;
    return nullptr;
#endif
  }

  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file() {
#ifdef RLFT_HAS_MMAP
    ::munmap(const_cast<unsigned char*>(bytes_.data()), bytes_.size());
    ::close(descriptor_);
#endif
  }

  std::span<const unsigned char> bytes() const noexcept { return bytes_; }

  // Whether the mapped file still holds every mapped byte: false once it was truncated in place
  // (a file replaced by rename, as rlft saves, leaves the mapped one intact).
  bool intact() const noexcept {
#ifdef RLFT_HAS_MMAP
    struct stat status {};
    return ::fstat(descriptor_, &status) == 0 && static_cast<std::uint64_t>(status.st_size) >= bytes_.size();
#else
    return true;
#endif
  }

  // Drops the pages of [begin, end) from this process's memory (they stay in the page cache and
  // come back on the next touch).
  void release(std::uint64_t begin, std::uint64_t end) const noexcept {
#ifdef RLFT_HAS_MMAP
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    begin -= begin % page;
    end = std::min<std::uint64_t>(bytes_.size(), (end + page - 1) / page * page);
    if (begin < end) ::madvise(const_cast<unsigned char*>(bytes_.data()) + begin, end - begin, MADV_DONTNEED);
#else
    (void)begin;
    (void)end;
#endif
  }

 private:
  mapped_file(const unsigned char* data, std::uint64_t size, int descriptor)
      : bytes_(data, size), descriptor_(descriptor) {}
  std::span<const unsigned char> bytes_;
  int descriptor_ = -1;
};

}  // namespace rlft::io
