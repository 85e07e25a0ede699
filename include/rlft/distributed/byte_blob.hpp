// The bytes ranks exchange (rlft::communicator's all_gather): counts, arrays of trivially
// copyable values and strings appended to a blob, and read back in the same order, with an
// error instead of a read past the end. Both ends run the same build, so values travel in the
// machine's own representation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "rlft/core/error.hpp"

namespace rlft::detail {

class byte_writer {
 public:
  template <class T>
  void values(std::span<const T> items) {
    count(items.size());
    const auto* bytes = reinterpret_cast<const std::byte*>(items.data());
    out_.insert(out_.end(), bytes, bytes + items.size_bytes());
  }
  void count(std::size_t n) {
    const auto value = static_cast<std::uint64_t>(n);
    const auto* bytes = reinterpret_cast<const std::byte*>(&value);
    out_.insert(out_.end(), bytes, bytes + sizeof value);
  }
  void text(const std::string& s) { values(std::span<const char>(s.data(), s.size())); }
  std::vector<std::byte> take() { return std::move(out_); }

 private:
  std::vector<std::byte> out_;
};

class byte_reader {
 public:
  explicit byte_reader(std::span<const std::byte> in) : in_(in) {}
  std::size_t count() {
    std::uint64_t value = 0;
    take(&value, sizeof value);
    return static_cast<std::size_t>(value);
  }
  template <class T>
  std::vector<T> values() {
    const std::size_t n = count();
    if (n > (in_.size() - at_) / sizeof(T)) fail();
    std::vector<T> items(n);
    take(items.data(), n * sizeof(T));
    return items;
  }
  // Into an existing array of the same length.
  template <class T>
  void values_into(std::span<T> items) {
    if (count() != items.size()) fail();
    take(items.data(), items.size_bytes());
  }
  std::string text() {
    const auto chars = values<char>();
    return {chars.begin(), chars.end()};
  }
  bool done() const noexcept { return at_ == in_.size(); }

 private:
  void take(void* to, std::size_t bytes) {
    if (bytes > in_.size() - at_) fail();
    if (bytes > 0) std::memcpy(to, in_.data() + at_, bytes);
    at_ += bytes;
  }
  [[noreturn]] static void fail() { throw error("data exchange: what a rank sent arrived truncated or malformed"); }
  std::span<const std::byte> in_;
  std::size_t at_ = 0;
};

}  // namespace rlft::detail
