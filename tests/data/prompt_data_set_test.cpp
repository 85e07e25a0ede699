// The data set as a prompt source: each epoch a permutation fixed by the seed, batches that
// run on into the next epoch, seek() giving a resumed run exactly the uninterrupted run's
// prompts, file order for held-out sets, prompt formats and tokenizers, and their errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "rlft/concepts/prompt_source.hpp"
#include "rlft/core/error.hpp"
#include "rlft/data/epoch_order.hpp"
#include "rlft/data/prompt_data_set.hpp"

using namespace rlft::data;
using rlft::token_id;

static_assert(rlft::seekable_prompt_source<prompt_data_set>);

namespace {

// A stand-in tokenizer: one token per byte.
std::vector<token_id> bytes_as_tokens(std::string_view text) {
  std::vector<token_id> tokens;
  for (const char c : text) tokens.push_back(static_cast<token_id>(static_cast<unsigned char>(c)));
  return tokens;
}

std::vector<data_record> numbered_records(std::size_t count) {
  std::vector<data_record> records;
  for (std::size_t i = 0; i < count; ++i)
    records.push_back({.prompt = "question " + std::to_string(i),
                       .reference = std::to_string(i * i),
                       .file = "numbers.jsonl",
                       .line = i + 1});
  return records;
}

// The records of `draws` prompts drawn in batches of `batch` (the last one shorter).
std::vector<std::size_t> draw_records(prompt_data_set& source, std::size_t draws, std::size_t batch) {
  std::vector<std::size_t> records;
  while (records.size() < draws) {
    const auto drawn = source(std::min(batch, draws - records.size()));
    REQUIRE(drawn.prompts.size() == drawn.records.size());
    REQUIRE(drawn.references.size() == drawn.records.size());
    for (std::size_t i = 0; i < drawn.records.size(); ++i) {
      const std::size_t index = drawn.records[i];
      CHECK(drawn.references[i] == source.record(index).reference);
      const auto tokens = drawn.prompts[i];
      CHECK(std::vector<token_id>(tokens.begin(), tokens.end()) == bytes_as_tokens(source.prompt_text(index)));
    }
    records.insert(records.end(), drawn.records.begin(), drawn.records.end());
  }
  return records;
}

}  // namespace

TEST_CASE("epoch order: a permutation fixed by (size, seed, epoch)") {
  for (const std::size_t size : {0u, 1u, 2u, 7u, 100u}) {
    auto order = epoch_order(size, 5, 3);
    CHECK(order == epoch_order(size, 5, 3));
    std::sort(order.begin(), order.end());
    std::vector<std::size_t> identity(size);
    std::iota(identity.begin(), identity.end(), std::size_t{0});
    CHECK(order == identity);
  }
  CHECK(epoch_order(100, 5, 3) != epoch_order(100, 5, 4));
  CHECK(epoch_order(100, 5, 3) != epoch_order(100, 6, 3));
  // Pinned: a checkpoint written by one version resumes on the same prompts in the next.
  CHECK(epoch_order(10, 0, 0) == std::vector<std::size_t>{3, 6, 7, 1, 2, 8, 5, 4, 0, 9});
}

TEST_CASE("every epoch draws each record once, in a new order, and batches cross epochs") {
  prompt_data_set source(numbered_records(7), bytes_as_tokens, {.seed = 11});
  CHECK(source.size() == 7);
  const auto records = draw_records(source, 21, 5);
  CHECK(source.drawn() == 21);
  CHECK(source.epoch() == 3);
  for (std::size_t epoch = 0; epoch < 3; ++epoch) {
    const std::vector<std::size_t> drawn(records.begin() + static_cast<std::ptrdiff_t>(7 * epoch),
                                         records.begin() + static_cast<std::ptrdiff_t>(7 * epoch + 7));
    CHECK(drawn == epoch_order(7, 11, epoch));
  }
  CHECK(epoch_order(7, 11, 0) != epoch_order(7, 11, 1));
}

TEST_CASE("the same seed draws the same prompts, and another seed draws others") {
  prompt_data_set first(numbered_records(50), bytes_as_tokens, {.seed = 3});
  prompt_data_set second(numbered_records(50), bytes_as_tokens, {.seed = 3});
  prompt_data_set other(numbered_records(50), bytes_as_tokens, {.seed = 4});
  const auto drawn = draw_records(first, 120, 8);
  CHECK(drawn == draw_records(second, 120, 8));
  CHECK(drawn != draw_records(other, 120, 8));
  // Batch sizes do not change the sequence of prompts.
  prompt_data_set one_at_a_time(numbered_records(50), bytes_as_tokens, {.seed = 3});
  CHECK(drawn == draw_records(one_at_a_time, 120, 1));
}

TEST_CASE("seek: a resumed run draws exactly what the uninterrupted run drew") {
  prompt_data_set uninterrupted(numbered_records(9), bytes_as_tokens, {.seed = 21});
  const auto whole_run = draw_records(uninterrupted, 60, 4);
  for (const std::uint64_t stopped_at : {0u, 4u, 8u, 9u, 20u, 36u, 57u}) {
    CAPTURE(stopped_at);
    prompt_data_set resumed(numbered_records(9), bytes_as_tokens, {.seed = 21});
    resumed.seek(stopped_at);
    CHECK(resumed.drawn() == stopped_at);
    const auto rest = draw_records(resumed, 60 - stopped_at, 4);
    CHECK(rest ==
          std::vector<std::size_t>(whole_run.begin() + static_cast<std::ptrdiff_t>(stopped_at), whole_run.end()));
  }
  // Seeking back replays, and seeking far ahead needs no drawing in between.
  uninterrupted.seek(0);
  CHECK(draw_records(uninterrupted, 60, 7) == whole_run);
  uninterrupted.seek(9 * 1000000 + 2);
  CHECK(uninterrupted(1).records.front() == epoch_order(9, 21, 1000000)[2]);
}

TEST_CASE("without shuffling, file order in every epoch, and in_file_order for held-out sets") {
  prompt_data_set held_out(numbered_records(4), bytes_as_tokens, {.shuffle = false});
  CHECK(draw_records(held_out, 10, 3) == std::vector<std::size_t>{0, 1, 2, 3, 0, 1, 2, 3, 0, 1});

  prompt_data_set shuffled(numbered_records(4), bytes_as_tokens, {.seed = 1});
  shuffled(3);
  const auto all = shuffled.in_file_order();
  CHECK(shuffled.drawn() == 3);  // not moved
  CHECK(all.records == std::vector<std::size_t>{0, 1, 2, 3});
  CHECK(all.references == std::vector<std::string>{"0", "1", "4", "9"});
  REQUIRE(all.prompts.size() == 4);
  const auto last = all.prompts[3];
  CHECK(std::vector<token_id>(last.begin(), last.end()) == bytes_as_tokens("question 3"));
}

TEST_CASE("prompt formats: the system prompt by default, or any callable reading the record") {
  std::vector<data_record> records = numbered_records(2);
  records[0].system_prompt = "Think step by step.";
  records[1].fields = {{"subject", "algebra"}};
  prompt_data_set plain(records, bytes_as_tokens);
  CHECK(plain.prompt_text(0) == "Think step by step.\n\nquestion 0");
  CHECK(plain.prompt_text(1) == "question 1");

  const auto r1_template = [](const data_record& record) {
    return "User: " + record.prompt + " (" + record.fields.value("subject", "any") + ")\nAssistant: <think>";
  };
  prompt_data_set formatted(records, bytes_as_tokens, {}, r1_template);
  CHECK(formatted.prompt_text(1) == "User: question 1 (algebra)\nAssistant: <think>");
  const auto tokens = formatted.prompt_tokens(1);
  CHECK(std::vector<token_id>(tokens.begin(), tokens.end()) == bytes_as_tokens(formatted.prompt_text(1)));
  CHECK(formatted.records().size() == 2);
}

TEST_CASE("a stateful tokenizer is called once per record, at construction") {
  std::size_t calls = 0;
  const auto counting = [&calls](std::string_view text) {
    ++calls;
    return bytes_as_tokens(text);
  };
  prompt_data_set source(numbered_records(5), counting, {.seed = 2});
  CHECK(calls == 5);
  source(12);
  CHECK(calls == 5);
}

TEST_CASE("records the tokenizer rejects are data errors naming the file and line") {
  using doctest::Contains;
  const auto rejects_7 = [](std::string_view text) {
    if (text.find('7') != std::string_view::npos) throw rlft::error("character '7' is not in the alphabet");
    return bytes_as_tokens(text);
  };
  CHECK_THROWS_WITH_AS(prompt_data_set(numbered_records(10), rejects_7),
                       Contains("numbers.jsonl:8: character '7' is not in the alphabet"), rlft::data_error);
  const auto empty = [](std::string_view) { return std::vector<token_id>{}; };
  CHECK_THROWS_WITH_AS(prompt_data_set(numbered_records(1), empty),
                       Contains("numbers.jsonl:1: the prompt encodes to no tokens"), rlft::data_error);
  CHECK_THROWS_WITH_AS(prompt_data_set({}, bytes_as_tokens), Contains("no records"), rlft::error);
}
