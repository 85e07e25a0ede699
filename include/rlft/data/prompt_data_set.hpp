// A data set's records as a seekable rlft::prompt_source: each call draws the next prompts of
// the run, epoch after epoch in a shuffled order fixed by the seed (rlft/data/epoch_order.hpp),
// a batch that crosses the end of an epoch going on into the next. Draw k is a pure function
// of (seed, k), so seek(drawn) puts a resumed run exactly where the uninterrupted one was.
//
// Prompts are text until a tokenizer turns them into tokens: the constructor takes the
// tokenizer as a callable encode(std::string_view) -> std::vector<rlft::token_id>, and
// optionally a callable format(const data_record&) -> std::string that writes the prompt text
// (a chat template, the R1 template); by default the system prompt, a blank line and the
// prompt. Every record is formatted and encoded once, at construction, so a record the
// tokenizer rejects is reported then, with its file and line, and never in the middle of a run.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rlft/core/error.hpp"
#include "rlft/core/prompt_batch.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/data/data_record.hpp"
#include "rlft/data/epoch_order.hpp"

namespace rlft::data {

template <class E>
concept prompt_encoder = std::invocable<E&, std::string_view> &&
    std::convertible_to<std::invoke_result_t<E&, std::string_view>, std::vector<token_id>>;

template <class F>
concept prompt_formatter = std::invocable<const F&, const data_record&> &&
    std::convertible_to<std::invoke_result_t<const F&, const data_record&>, std::string>;

// The system prompt, a blank line and the prompt; the prompt alone without a system prompt.
struct plain_prompt_format {
  std::string operator()(const data_record& record) const {
    return record.system_prompt.empty() ? record.prompt : record.system_prompt + "\n\n" + record.prompt;
  }
};

struct prompt_order {
  std::uint64_t seed = 0;
  bool shuffle = true;  // false: file order in every epoch (held-out evaluation)
};

// A prompt batch that also says which record each prompt is, so the caller can reach its
// text (prompt_data_set::prompt_text) and its other fields (prompt_data_set::record).
struct drawn_prompts : prompt_batch {
  std::vector<std::size_t> records;
};

class prompt_data_set {
 public:
  // Throws rlft::error for no records (or more than 2^32 - 1 to shuffle), and rlft::data_error
  // "file:line: ..." for a record whose prompt the format or the tokenizer rejects (by throwing
  // rlft::error) or encodes to no tokens.
  template <prompt_encoder Encode, prompt_formatter Format = plain_prompt_format>
  prompt_data_set(std::vector<data_record> records, Encode&& encode, prompt_order order = {}, const Format& format = {})
      : records_(std::move(records)), order_(order) {
    if (records_.empty()) throw error("prompt data set: no records");
    if (order_.shuffle && records_.size() > 0xFFFFFFFFu)
      throw error(
          detail::make_message("prompt data set: ", records_.size(), " records; at most 2^32 - 1 can be shuffled"));
    texts_.reserve(records_.size());
    for (const data_record& record : records_) {
      try {
        std::string text = format(record);
        const std::vector<token_id> tokens = encode(std::string_view(text));
        if (tokens.empty()) throw error("the prompt encodes to no tokens");
        tokens_.push_back(tokens);
        texts_.push_back(std::move(text));
      } catch (const io_error&) {
        throw;
      } catch (const error& e) {
        throw data_error(detail::make_message(record.location(), ": ", e.what()));
      }
    }
  }

  // The next `count` prompts of the run and their references.
  drawn_prompts operator()(std::size_t count) {
    drawn_prompts batch;
    batch.references.reserve(count);
    batch.records.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t index = record_of_draw(drawn_ + i);
      batch.prompts.push_back(tokens_[index]);
      batch.references.push_back(records_[index].reference);
      batch.records.push_back(index);
    }
    drawn_ += count;
    return batch;
  }

  // Puts the source where it is after `drawn` prompts (rlft::seekable_prompt_source).
  void seek(std::uint64_t drawn) noexcept { drawn_ = drawn; }

  std::uint64_t drawn() const noexcept { return drawn_; }
  // The epoch the next prompt is drawn from, counted from 0.
  std::uint64_t epoch() const noexcept { return drawn_ / records_.size(); }
  std::size_t size() const noexcept { return records_.size(); }

  // Every record once, in file order, without moving the source: a held-out set to evaluate on.
  drawn_prompts in_file_order() const {
    drawn_prompts batch;
    batch.prompts = tokens_;
    for (std::size_t index = 0; index < records_.size(); ++index) {
      batch.references.push_back(records_[index].reference);
      batch.records.push_back(index);
    }
    return batch;
  }

  const data_record& record(std::size_t index) const {
    RLFT_ASSERT(index < records_.size());
    return records_[index];
  }
  std::span<const data_record> records() const noexcept { return records_; }
  // The prompt text that was encoded, and its tokens.
  std::string_view prompt_text(std::size_t index) const {
    RLFT_ASSERT(index < texts_.size());
    return texts_[index];
  }
  std::span<const token_id> prompt_tokens(std::size_t index) const { return tokens_[index]; }

 private:
  std::size_t record_of_draw(std::uint64_t draw) {
    const std::uint64_t epoch = draw / records_.size();
    const auto position = static_cast<std::size_t>(draw % records_.size());
    if (!order_.shuffle) return position;
    if (shuffled_epoch_ != epoch) {
      shuffled_ = epoch_order(records_.size(), order_.seed, epoch);
      shuffled_epoch_ = epoch;
    }
    return shuffled_[position];
  }

  std::vector<data_record> records_;
  std::vector<std::string> texts_;
  token_sequences tokens_;
  prompt_order order_;
  std::uint64_t drawn_ = 0;
  std::optional<std::uint64_t> shuffled_epoch_;  // the epoch `shuffled_` orders
  std::vector<std::size_t> shuffled_;
};

}  // namespace rlft::data
