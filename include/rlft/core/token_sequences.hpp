// Ragged token sequences stored padding-free in compressed sparse row (CSR) form: one flat
// token array and offsets[0..n], sequence i being tokens[offsets[i] .. offsets[i + 1]).
// token_sequences owns its arrays; token_sequences_view is a cheap, non-owning window over
// consecutive sequences (a micro-batch, say) whose offsets may start anywhere: positions
// inside a view are relative to its first token, so per-token arrays of a slice line up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "rlft/core/error.hpp"

namespace rlft {

using token_id = std::int32_t;

namespace detail {

// Throws rlft::error unless `offsets` is a valid CSR offset array over `token_count` tokens.
inline void validate_offsets(std::span<const std::int64_t> offsets, std::size_t token_count,
                             const char* what) {
  if (offsets.empty())
    throw error(detail::make_message(what, ": offsets are empty; a CSR offset array holds n + 1 entries"));
  for (std::size_t i = 0; i + 1 < offsets.size(); ++i) {
    if (offsets[i + 1] < offsets[i])
      throw error(detail::make_message(what, ": offsets decrease at entry ", i + 1, " (", offsets[i], " then ",
                               offsets[i + 1], ")"));
  }
  if (offsets.front() < 0)
    throw error(detail::make_message(what, ": first offset is negative (", offsets.front(), ")"));
  const auto spanned = static_cast<std::uint64_t>(offsets.back() - offsets.front());
  if (spanned != token_count)
    throw error(detail::make_message(what, ": offsets span ", spanned, " tokens but ", token_count,
                             " tokens were given"));
}

}  // namespace detail

class token_sequences_view {
 public:
  token_sequences_view() noexcept : offsets_(empty_offsets_, 1) {}

  // Throws rlft::error unless offsets.size() >= 1, offsets never decrease and
  // offsets.back() - offsets.front() == tokens.size().
  token_sequences_view(std::span<const token_id> tokens, std::span<const std::int64_t> offsets)
      : tokens_(tokens), offsets_(offsets) {
    detail::validate_offsets(offsets, tokens.size(), "token sequences");
  }

  std::size_t size() const noexcept { return offsets_.size() - 1; }
  bool empty() const noexcept { return size() == 0; }
  std::size_t num_tokens() const noexcept { return tokens_.size(); }

  // Position of sequence i's first token, relative to the view's first token.
  std::size_t begin(std::size_t i) const {
    RLFT_ASSERT(i < size());
    return static_cast<std::size_t>(offsets_[i] - offsets_.front());
  }
  std::size_t end(std::size_t i) const {
    RLFT_ASSERT(i < size());
    return static_cast<std::size_t>(offsets_[i + 1] - offsets_.front());
  }
  std::size_t length(std::size_t i) const { return end(i) - begin(i); }

  std::span<const token_id> operator[](std::size_t i) const {
    return tokens_.subspan(begin(i), length(i));
  }

  std::span<const token_id> tokens() const noexcept { return tokens_; }
  std::span<const std::int64_t> offsets() const noexcept { return offsets_; }

  // Sequences [first, first + count) of this view.
  token_sequences_view subview(std::size_t first, std::size_t count) const {
    RLFT_ASSERT(first + count <= size());
    const auto offsets = offsets_.subspan(first, count + 1);
    return token_sequences_view(unchecked{},
                                tokens_.subspan(static_cast<std::size_t>(offsets.front() - offsets_.front()),
                                                static_cast<std::size_t>(offsets.back() - offsets.front())),
                                offsets);
  }

 private:
  friend class token_sequences;
  struct unchecked {};
  token_sequences_view(unchecked, std::span<const token_id> tokens,
                       std::span<const std::int64_t> offsets) noexcept
      : tokens_(tokens), offsets_(offsets) {}

  static constexpr std::int64_t empty_offsets_[1] = {0};
  std::span<const token_id> tokens_;
  std::span<const std::int64_t> offsets_;
};

class token_sequences {
 public:
  token_sequences() : offsets_{0} {}

  // Throws rlft::error unless offsets.front() == 0, offsets never decrease and
  // offsets.back() == tokens.size().
  token_sequences(std::vector<token_id> tokens, std::vector<std::int64_t> offsets)
      : tokens_(std::move(tokens)), offsets_(std::move(offsets)) {
    detail::validate_offsets(offsets_, tokens_.size(), "token sequences");
    if (offsets_.front() != 0)
      throw error(detail::make_message("token sequences: first offset is ", offsets_.front(), ", not 0"));
  }

  void push_back(std::span<const token_id> sequence) {
    tokens_.insert(tokens_.end(), sequence.begin(), sequence.end());
    offsets_.push_back(static_cast<std::int64_t>(tokens_.size()));
  }

  std::size_t size() const noexcept { return offsets_.size() - 1; }
  bool empty() const noexcept { return size() == 0; }
  std::size_t num_tokens() const noexcept { return tokens_.size(); }
  std::span<const token_id> operator[](std::size_t i) const { return view()[i]; }
  std::span<const token_id> tokens() const noexcept { return tokens_; }
  std::span<const std::int64_t> offsets() const noexcept { return offsets_; }

  // The invariant holds by construction, so no check is repeated here.
  token_sequences_view view() const noexcept {
    return token_sequences_view(token_sequences_view::unchecked{}, tokens_, offsets_);
  }
  operator token_sequences_view() const noexcept { return view(); }

 private:
  std::vector<token_id> tokens_;
  std::vector<std::int64_t> offsets_;
};

}  // namespace rlft
