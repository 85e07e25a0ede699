// Ceilings that keep a chat template from hanging or exhausting memory. Templates come with
// downloaded models, so rlft treats them as untrusted text: its size, how deeply its blocks,
// expressions and values nest, how many loop iterations and sequence elements one render may
// visit, and how many bytes one render may build and output are all bounded. Crossing a
// ceiling is an rlft::error naming it.
#pragma once

#include <cstddef>
#include <string_view>

#include "rlft/core/error.hpp"

namespace rlft::jinja {

struct limits {
  std::size_t max_template_bytes = std::size_t{1} << 20;
  // Blocks inside blocks, expressions inside expressions, lists and dicts inside each other
  // (the conversation's own JSON included): every recursion of the interpreter is this deep
  // at most.
  std::size_t max_nesting_depth = 128;
  // Loop iterations plus the sequence elements that filters, `in` and comparisons visit,
  // summed over one render.
  std::size_t max_iterations = 1'000'000;
  std::size_t max_output_bytes = std::size_t{64} << 20;
  // Bytes of the strings, lists and dicts one render builds, the output included.
  std::size_t max_built_bytes = std::size_t{256} << 20;
};

// What one render has spent against its limits.
class render_budget {
 public:
  explicit render_budget(const limits& ceilings) : limits_(ceilings) {}

  const limits& ceilings() const { return limits_; }

  void count_iterations(std::size_t count) {
    iterations_ += count;
    if (iterations_ > limits_.max_iterations)
      exceeded("max_iterations", limits_.max_iterations, "loop iterations and visited sequence elements");
  }

  void count_built_bytes(std::size_t bytes) {
    // Compared before adding so that a huge request cannot wrap the counter around.
    if (bytes > limits_.max_built_bytes - built_bytes_)
      exceeded("max_built_bytes", limits_.max_built_bytes, "bytes of strings, lists and dicts built");
    built_bytes_ += bytes;
  }

  // `count` pieces of `each` bytes, refused before the product can overflow.
  void count_built_bytes(std::size_t each, std::size_t count) {
    if (count != 0 && each > limits_.max_built_bytes / count)
      exceeded("max_built_bytes", limits_.max_built_bytes, "bytes of strings, lists and dicts built");
    count_built_bytes(each * count);
  }

  // For a result found too large before it is built.
  [[noreturn]] void refuse_built_bytes() const {
    exceeded("max_built_bytes", limits_.max_built_bytes, "bytes of strings, lists and dicts built");
  }

  void check_nesting(std::size_t depth) const {
    if (depth > limits_.max_nesting_depth)
      exceeded("max_nesting_depth", limits_.max_nesting_depth, "levels of nested lists and dicts");
  }

 private:
  [[noreturn]] static void exceeded(std::string_view name, std::size_t ceiling, std::string_view what) {
    throw error(
        rlft::detail::make_message("chat template: the render exceeds limits.", name, " = ", ceiling, " (", what, ")"));
  }

  limits limits_;
  std::size_t iterations_ = 0;
  std::size_t built_bytes_ = 0;
};

}  // namespace rlft::jinja
