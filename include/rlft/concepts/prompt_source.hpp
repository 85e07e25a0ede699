// rlft::prompt_source: where a trainer draws the prompts of each step from (a data set's
// iterator, a task generator).
//
// A type S is a prompt source when
//   1. source(count) on a non-const S returns the next `count` prompts of the run as something
//      convertible to rlft::prompt_batch: the prompts' tokens and one reference (what the
//      rewards compare with) per prompt. Fewer references than prompts is the caller's error.
// Optionally (rlft::seekable_prompt_source) source.seek(drawn) puts it where it would be after
// `drawn` prompts, so that a resumed run draws the prompts an uninterrupted one would.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>

#include "rlft/core/prompt_batch.hpp"

namespace rlft {

template <class S>
concept draws_prompt_batches = requires(S& source, std::size_t count) {
  { source(count) } -> std::convertible_to<prompt_batch>;
};

template <class S>
concept prompt_source = draws_prompt_batches<S>;

template <class S>
concept seekable_prompt_source = prompt_source<S> && requires(S& source, std::uint64_t drawn) { source.seek(drawn); };

}  // namespace rlft
