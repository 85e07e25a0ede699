// rlft::token_decoder: what turns token ids into text for the rewards (a tokenizer's decode).
//
// A type D is a token decoder when
//   1. it is copy-constructible (trainers and evaluations hold it by value);
//   2. a const D is callable with a std::span<const rlft::token_id> and returns something
//      convertible to std::string. Rewards are scored in parallel, so decoding must not
//      modify shared state.
#pragma once

#include <concepts>
#include <span>
#include <string>

#include "rlft/core/token_sequences.hpp"

namespace rlft {

template <class D>
concept decoder_copyable = std::copy_constructible<D>;

template <class D>
concept decodes_tokens_to_text = requires(const D& decode, std::span<const token_id> tokens) {
  { decode(tokens) } -> std::convertible_to<std::string>;
};

template <class D>
concept token_decoder = decoder_copyable<D> && decodes_tokens_to_text<D>;

}  // namespace rlft
