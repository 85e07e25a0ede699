// The concepts a trainer asks of its other inputs: rlft::reward_expression (named reward
// components), rlft::token_decoder and rlft::prompt_source (with its seekable form); types that
// satisfy each and types that do not.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rlft/concepts/prompt_source.hpp"
#include "rlft/concepts/reward_expression.hpp"
#include "rlft/concepts/token_decoder.hpp"
#include "rlft/rewards/composition.hpp"

namespace {

struct constant_reward {
  float operator()(const rlft::reward_input&) const { return 1.0f; }
};

struct two_components {
  static constexpr std::size_t component_count = 2;
  void append_component_names(std::vector<std::string>& names) const { names.insert(names.end(), {"a", "b"}); }
  float score(const rlft::reward_input&, std::span<float> scores) const {
    scores[0] = 1.0f;
    scores[1] = 2.0f;
    return 3.0f;
  }
  float operator()(const rlft::reward_input&) const { return 3.0f; }
};

struct unnamed_components {  // scores, but says neither how many parts nor their names
  float score(const rlft::reward_input&, std::span<float>) const { return 0.0f; }
  float operator()(const rlft::reward_input&) const { return 0.0f; }
};

struct letters {
  std::string operator()(std::span<const rlft::token_id> tokens) const { return std::string(tokens.size(), 'a'); }
};

struct echoes_tokens {
  std::vector<rlft::token_id> operator()(std::span<const rlft::token_id> tokens) const { return {tokens.begin(), tokens.end()}; }
};

struct owns_a_vocabulary {  // move-only: trainers could not keep a copy
  std::unique_ptr<int> vocabulary;
  std::string operator()(std::span<const rlft::token_id>) const { return {}; }
};

struct counting_source {
  std::uint64_t drawn = 0;
  rlft::prompt_batch operator()(std::size_t count) {
    rlft::prompt_batch batch;
    for (std::size_t i = 0; i < count; ++i, ++drawn) {
      batch.prompts.push_back(std::vector<rlft::token_id>{static_cast<rlft::token_id>(drawn)});
      batch.references.push_back(std::to_string(drawn));
    }
    return batch;
  }
};

struct seekable_source : counting_source {
  void seek(std::uint64_t position) { drawn = position; }
};

struct token_lists_only {
  std::vector<std::vector<rlft::token_id>> operator()(std::size_t count) { return {count, {1}}; }
};

}  // namespace

static_assert(rlft::reward_expression<two_components>);
static_assert(rlft::reward_expression<decltype(rlft::component("c", constant_reward{}))>);
static_assert(!rlft::reward_expression<constant_reward> && rlft::reward_function<constant_reward>);
static_assert(!rlft::counts_components<unnamed_components> && !rlft::reward_expression<unnamed_components>);
static_assert(std::is_same_v<rlft::reward_expression_of<two_components>, two_components>);
static_assert(rlft::reward_expression<rlft::reward_expression_of<constant_reward>>);

static_assert(rlft::token_decoder<letters>);
static_assert(!rlft::decodes_tokens_to_text<echoes_tokens> && !rlft::token_decoder<echoes_tokens>);
static_assert(rlft::decodes_tokens_to_text<owns_a_vocabulary> && !rlft::token_decoder<owns_a_vocabulary>);

static_assert(rlft::prompt_source<counting_source> && !rlft::seekable_prompt_source<counting_source>);
static_assert(rlft::seekable_prompt_source<seekable_source>);
static_assert(!rlft::prompt_source<token_lists_only>);
static_assert(!rlft::prompt_source<const counting_source>);  // drawing advances the source

TEST_CASE("a plain reward becomes one component named \"reward\"; an expression stays as it is") {
  const auto wrapped = rlft::as_reward_expression(constant_reward{});
  std::vector<std::string> names;
  wrapped.append_component_names(names);
  CHECK(names == std::vector<std::string>{"reward"});
  names.clear();
  rlft::as_reward_expression(two_components{}).append_component_names(names);
  CHECK(names == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a seekable source draws after seek(n) what it draws after n prompts") {
  seekable_source straight, resumed;
  straight(5);
  resumed.seek(5);
  CHECK(straight(3).references == resumed(3).references);
}
