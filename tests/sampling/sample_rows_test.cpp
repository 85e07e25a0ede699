// The batch entry point: row r's token depends only on its own logits, history and key, so
// batches in any order, of any composition and on any number of threads give the same
// tokens, equal to drawing each row alone.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "rlft/rlft.hpp"
#include "test_support.hpp"

using namespace rlft;
using namespace rlft::testing;

namespace {

constexpr std::size_t row_count = 37;
constexpr std::size_t vocabulary = 600;

struct batch_fixture {
  std::vector<float> logits = uniform_logits(row_count * vocabulary, -4.0f, 4.0f, 11);
  token_sequences histories;
  std::vector<sampling_key> keys;

  batch_fixture() {
    philox_stream rng(5, 5);
    for (std::size_t r = 0; r < row_count; ++r) {
      std::vector<token_id> history(r % 9);
      for (auto& token : history) token = static_cast<token_id>(rng() % vocabulary);
      histories.push_back(history);
      keys.push_back({.sequence = 1000 + 7 * r, .step = static_cast<std::uint32_t>(r % 4)});
    }
  }
};

const auto penalised_nucleus = repetition_penalty{1.3f} | temperature{0.9f} | top_p{0.9f};

}  // namespace

TEST_CASE("each row draws what the sampler draws alone from its key's Philox stream") {
  const batch_fixture batch;
  std::vector<sampled_token> tokens(row_count);
  sample_rows(penalised_nucleus, batch.logits, vocabulary, batch.histories, batch.keys, 42, tokens);
  for (std::size_t r = 0; r < row_count; ++r) {
    philox_stream rng(42, batch.keys[r].sequence, batch.keys[r].step);
    const auto row = std::span(batch.logits).subspan(r * vocabulary, vocabulary);
    const auto alone = penalised_nucleus(row, batch.histories[r], rng);
    CHECK(tokens[r].token == alone.token);
    CHECK(tokens[r].logprob == alone.logprob);
    CHECK(tokens[r].raw_logprob == alone.raw_logprob);
  }
}

TEST_CASE("batch order, batch composition and thread count do not change any token") {
  const batch_fixture batch;
  std::vector<sampled_token> reference(row_count);
  sample_rows(penalised_nucleus, batch.logits, vocabulary, batch.histories, batch.keys, 42, reference);

  // Reversed order, and only every third row.
  for (const std::size_t stride : {std::size_t{1}, std::size_t{3}}) {
    std::vector<std::size_t> order;
    for (std::size_t r = 0; r < row_count; r += stride) order.push_back(r);
    std::reverse(order.begin(), order.end());
    std::vector<float> logits;
    token_sequences histories;
    std::vector<sampling_key> keys;
    for (const auto r : order) {
      const auto row = std::span(batch.logits).subspan(r * vocabulary, vocabulary);
      logits.insert(logits.end(), row.begin(), row.end());
      histories.push_back(batch.histories[r]);
      keys.push_back(batch.keys[r]);
    }
    std::vector<sampled_token> tokens(order.size());
    sample_rows(penalised_nucleus, logits, vocabulary, histories, keys, 42, tokens);
    for (std::size_t i = 0; i < order.size(); ++i) CHECK(tokens[i].token == reference[order[i]].token);
  }

#if defined(_OPENMP)
  const int threads_before = omp_get_max_threads();
  for (const int threads : {1, 2, 5}) {
    omp_set_num_threads(threads);
    std::vector<sampled_token> tokens(row_count);
    sample_rows(penalised_nucleus, batch.logits, vocabulary, batch.histories, batch.keys, 42, tokens);
    for (std::size_t r = 0; r < row_count; ++r) CHECK(tokens[r].token == reference[r].token);
  }
  omp_set_num_threads(threads_before);
#endif
}

TEST_CASE("the seed, the sequence id and the step each select a different stream") {
  const batch_fixture batch;
  const auto count_changes = [&](std::uint64_t seed, std::uint64_t sequence_offset, std::uint32_t step_offset) {
    std::vector<sampling_key> keys = batch.keys;
    for (auto& key : keys) {
      key.sequence += sequence_offset;
      key.step += step_offset;
    }
    std::vector<sampled_token> a(row_count), b(row_count);
    sample_rows(categorical{}, batch.logits, vocabulary, {}, batch.keys, 42, a);
    sample_rows(categorical{}, batch.logits, vocabulary, {}, keys, seed, b);
    std::size_t changed = 0;
    for (std::size_t r = 0; r < row_count; ++r) changed += a[r].token != b[r].token;
    return changed;
  };
  CHECK(count_changes(42, 0, 0) == 0);
  CHECK(count_changes(43, 0, 0) > row_count / 2);
  CHECK(count_changes(42, 1, 0) > row_count / 2);
  CHECK(count_changes(42, 0, 1) > row_count / 2);
}

TEST_CASE("mismatched shapes and bad rows are rejected, naming the lowest bad row") {
  batch_fixture batch;
  std::vector<sampled_token> tokens(row_count);
  RLFT_CHECK_ERROR_CONTAINS(sample_rows(categorical{}, batch.logits, vocabulary + 1, {}, batch.keys, 1, tokens),
                            "logits for 37 rows of 601");
  RLFT_CHECK_ERROR_CONTAINS(sample_rows(categorical{}, batch.logits, 0, {}, batch.keys, 1, tokens),
                            "vocabulary size is 0");
  std::vector<sampled_token> short_output(row_count - 1);
  RLFT_CHECK_ERROR_CONTAINS(sample_rows(categorical{}, batch.logits, vocabulary, {}, batch.keys, 1, short_output),
                            "output has 36 entries");
  const token_sequences one_history({1, 2}, {0, 2});
  RLFT_CHECK_ERROR_CONTAINS(sample_rows(categorical{}, batch.logits, vocabulary, one_history, batch.keys, 1, tokens),
                            "1 histories for 37 rows");
  batch.logits[30 * vocabulary + 5] = std::nanf("");
  batch.logits[12 * vocabulary + 9] = std::nanf("");
  RLFT_CHECK_ERROR_CONTAINS(sample_rows(categorical{}, batch.logits, vocabulary, {}, batch.keys, 1, tokens),
                            "sample_rows: row 12: sampler: logit of token 9 is nan");
  // A NaN logit is bad data (a trainer skips the step); the size errors above are misuse.
  CHECK_THROWS_AS(sample_rows(categorical{}, batch.logits, vocabulary, {}, batch.keys, 1, tokens), rlft::data_error);
  try {
    sample_rows(categorical{}, batch.logits, 0, {}, batch.keys, 1, tokens);
  } catch (const rlft::data_error&) {
    FAIL("a size error reported as bad data");
  } catch (const rlft::error&) {
  }
}
