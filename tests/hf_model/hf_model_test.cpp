// Hugging Face checkpoints end to end (fixtures from tools/make_hf_fixtures.py): a tiny Qwen2
// (tied embeddings, BF16 weights, vocabulary padded past the tokenizer's) and a tiny Llama
// (untied, F32 weights), each a model directory made by transformers with a trained byte-level
// BPE tokenizer and a chat template. rlft's tokenizer and reference transformer are loaded from
// the directory as a trainer loads them and must give what transformers gives: the ids of the
// rendered chat prompts, the fp32 logits (compared row by row as max |rlft − transformers| /
// max |transformers|, at most 1e-5), and greedy generation with generation_config.json's stop
// tokens, token for token, with the same decoded text and the same log-probs (to 1e-4 nats: a
// log-prob inherits the error of logits of 5 to 25 in size, and is itself often near zero,
// so an error relative to it would say little).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "hf_fixture.hpp"
#include "relative_error.hpp"
#include "rlft/sampling/greedy.hpp"
#include "rlft/text/tokenizer.hpp"
#include "transformer/transformer.hpp"

using rlft::examples::transformer;

namespace {

const std::string model_names[] = {"qwen2", "llama"};

}  // namespace

TEST_CASE("the chat prompts transformers rendered encode to the ids it fed the model") {
  for (const std::string& name : model_names) {
    CAPTURE(name);
    const auto fixture = rlft_test::read_hf_fixture(name);
    const auto tokenizer = rlft::tokenizer::from_directory(fixture.directory);
    CHECK(tokenizer.vocab_size() == fixture.tokenizer_size);
    CHECK(tokenizer.chat_templates().contains("default"));
    for (std::size_t i = 0; i < fixture.cases.size(); ++i) {
      CAPTURE(i);
      const auto& c = fixture.cases[i];
      // The template writes every special token itself, so the trainer encodes without them.
      CHECK(tokenizer.encode(c.prompt_text, false) == c.prompt_ids);
      CHECK(tokenizer.encode(c.prompt_text, true) == c.prompt_ids_add_special_tokens);
    }
  }
}

TEST_CASE("the Llama template writes BOS itself: encoding with special tokens would double it") {
  const auto fixture = rlft_test::read_hf_fixture("llama");
  const auto tokenizer = rlft::tokenizer::from_directory(fixture.directory);
  REQUIRE(tokenizer.special().bos);
  const rlft::token_id bos = tokenizer.special().bos->id;
  for (const auto& c : fixture.cases) {
    REQUIRE(c.prompt_ids.size() >= 2);
    CHECK(c.prompt_ids[0] == bos);
    CHECK(c.prompt_ids[1] != bos);
    REQUIRE(c.prompt_ids_add_special_tokens.size() == c.prompt_ids.size() + 1);
    CHECK(c.prompt_ids_add_special_tokens[0] == bos);
    CHECK(std::equal(c.prompt_ids.begin(), c.prompt_ids.end(), c.prompt_ids_add_special_tokens.begin() + 1));
  }
}

TEST_CASE("generation_config's stop tokens begin with the tokenizer's eos") {
  for (const std::string& name : model_names) {
    CAPTURE(name);
    const auto fixture = rlft_test::read_hf_fixture(name);
    const auto stop = rlft_test::read_generation_stop_tokens(fixture.directory);
    CHECK(stop == fixture.stop_tokens);
    const auto tokenizer = rlft::tokenizer::from_directory(fixture.directory);
    REQUIRE(tokenizer.special().eos);
    REQUIRE(stop.size() == 2);
    CHECK(stop[0] == tokenizer.special().eos->id);
  }
}

TEST_CASE("logits at the end of each prompt equal transformers' in fp32") {
  for (const std::string& name : model_names) {
    CAPTURE(name);
    const auto fixture = rlft_test::read_hf_fixture(name);
    auto model = transformer::from_pretrained(fixture.directory);
    const std::size_t vocab = model.config().vocab_size;
    CHECK(vocab == fixture.vocab_size);
    CHECK(vocab >= fixture.tokenizer_size);

    // Prompt and continuation in one forward, as transformers computed them.
    rlft::token_sequences sequences;
    for (const auto& c : fixture.cases) {
      std::vector<rlft::token_id> tokens = c.prompt_ids;
      tokens.insert(tokens.end(), c.generated_ids.begin(), c.generated_ids.end());
      sequences.push_back(tokens);
    }
    std::vector<float> logits(sequences.num_tokens() * vocab);
    model.logits(sequences, logits);

    double largest_error = 0.0;
    for (std::size_t i = 0; i < fixture.cases.size(); ++i) {
      CAPTURE(i);
      const auto expected = rlft_test::read_hf_logits(fixture, i);
      const auto& positions = fixture.cases[i].logit_positions;
      REQUIRE(expected.size() == positions.size() * vocab);
      for (std::size_t r = 0; r < positions.size(); ++r) {
        const std::size_t row = static_cast<std::size_t>(sequences.offsets()[i]) + positions[r];
        const double error = rlft_test::relative_error(std::span(logits).subspan(row * vocab, vocab),
                                                       std::span(expected).subspan(r * vocab, vocab));
        largest_error = std::max(largest_error, error);
        CHECK(error <= 1e-5);
      }
    }
    MESSAGE(name, ": largest relative logit error ", largest_error);
  }
}

TEST_CASE("greedy generation with generation_config's stop tokens equals transformers' token for token") {
  for (const std::string& name : model_names) {
    CAPTURE(name);
    const auto fixture = rlft_test::read_hf_fixture(name);
    const auto tokenizer = rlft::tokenizer::from_directory(fixture.directory);
    auto model = transformer::from_pretrained(fixture.directory);
    const auto stop = rlft_test::read_generation_stop_tokens(fixture.directory);
    rlft::token_sequences prompts;
    for (const auto& c : fixture.cases) prompts.push_back(c.prompt_ids);
    const auto batch = model.generate(prompts, 1, rlft::greedy{},
                                      {.max_new_tokens = fixture.max_new_tokens, .stop_tokens = stop});
    REQUIRE(batch.num_sequences() == fixture.cases.size());

    std::size_t matched = 0, expected_tokens = 0;
    double largest_logprob_error = 0.0;
    for (std::size_t i = 0; i < fixture.cases.size(); ++i) {
      CAPTURE(i);
      const auto& c = fixture.cases[i];
      const auto completion = batch.completion(i);
      expected_tokens += c.generated_ids.size();
      const auto common = std::ranges::mismatch(completion, c.generated_ids);
      matched += static_cast<std::size_t>(common.in1 - completion.begin());  // the agreeing prefix
      CHECK(std::ranges::equal(completion, c.generated_ids));
      CHECK(static_cast<bool>(batch.truncated()[i]) == !c.stopped);
      CHECK(tokenizer.decode(completion, true) == c.generated_text);
      if (completion.size() == c.generated_ids.size()) {
        const auto logprobs = batch.sampling_logprobs().subspan(batch.sequence_begin(i) + batch.prompt_length(i),
                                                                completion.size());
        for (std::size_t t = 0; t < logprobs.size(); ++t) {
          const double error = std::abs(static_cast<double>(logprobs[t]) - c.generated_logprobs[t]);
          largest_logprob_error = std::max(largest_logprob_error, error);
          CHECK(error <= 1e-4);
        }
      }
    }
    CHECK(matched == expected_tokens);
    MESSAGE(name, ": ", matched, " of ", expected_tokens, " generated tokens matched; largest log-prob error ",
            largest_logprob_error);
  }
}
