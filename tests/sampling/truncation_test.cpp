// The kept sets of top-k, top-p, min-p and greedy, against full-sort references in double
// precision, on rows built to stress partial selection: ties, -inf entries, sorted and
// reverse-sorted rows (bad pivots), flat and peaked rows, a 256k vocabulary.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "reference_distributions.hpp"
#include "rlft/rlft.hpp"
#include "test_support.hpp"

using namespace rlft;
using namespace rlft::testing;

namespace {


struct named_row {
  const char* name;
  std::vector<float> logits;
};

std::vector<named_row> stress_rows() {
  std::vector<named_row> rows;
  rows.push_back({"uniform", uniform_logits(3000, -5.0f, 5.0f, 1)});
  auto ties = uniform_logits(3000, 0.0f, 8.0f, 2);
  for (float& x : ties) x = std::floor(x);  // eight distinct values, many ties
  rows.push_back({"ties", ties});
  auto ascending = uniform_logits(3000, -5.0f, 5.0f, 3);
  std::sort(ascending.begin(), ascending.end());
  rows.push_back({"ascending", ascending});
  auto descending = ascending;
  std::reverse(descending.begin(), descending.end());
  rows.push_back({"descending", descending});
  auto peaked = uniform_logits(3000, -2.0f, 2.0f, 4);
  for (std::size_t i = 0; i < peaked.size(); i += 97) peaked[i] += 12.0f;
  rows.push_back({"peaked", peaked});
  auto masked = uniform_logits(3000, -3.0f, 3.0f, 5);
  for (std::size_t i = 0; i < masked.size(); i += 3) masked[i] = -infinity;
  rows.push_back({"masked", masked});
  rows.push_back({"flat", std::vector<float>(3000, 1.5f)});
  return rows;
}

// The sorted token ids a processor keeps out of a full row.
template <class Processor>
std::vector<token_id> kept_by(const Processor& processor, std::span<const float> logits) {
  candidate_logits candidates;
  candidates.assign(logits);
  processor.apply(candidates, {});
  std::vector<token_id> kept;
  for (std::size_t i = 0; i < candidates.size(); ++i) kept.push_back(candidates.token(i));
  std::sort(kept.begin(), kept.end());
  return kept;
}

std::vector<token_id> ids_of(const std::vector<bool>& keep, std::span<const float> logits) {
  std::vector<token_id> ids;
  for (std::size_t i = 0; i < keep.size(); ++i)
    if (keep[i] && logits[i] != -infinity) ids.push_back(static_cast<token_id>(i));
  return ids;
}

std::vector<token_id> without_masked(std::vector<token_id> ids, std::span<const float> logits) {
  std::erase_if(ids, [&](token_id t) { return logits[static_cast<std::size_t>(t)] == -infinity; });
  return ids;
}

}  // namespace

TEST_CASE("top-k keeps the k largest logits and their ties, by heap and by selection") {
  for (const auto& [name, logits] : stress_rows()) {
    CAPTURE(name);
    const auto p = softmax(to_double(logits));
    for (const std::int64_t k : {1, 2, 10, 1000, 2000, 2999, 3000, 5000}) {
      CAPTURE(k);
      CHECK(without_masked(kept_by(top_k{k}, logits), logits) ==
            ids_of(top_k_set(p, static_cast<std::size_t>(k)), logits));
    }
  }
}

TEST_CASE("top-p keeps the smallest nucleus with mass p, with ties, whatever the row order") {
  for (const auto& [name, logits] : stress_rows()) {
    CAPTURE(name);
    const auto p = softmax(to_double(logits));
    for (const float top : {0.05f, 0.3f, 0.5f, 0.9f, 0.99f, 0.999f}) {
      CAPTURE(top);
      CHECK(kept_by(top_p{top}, logits) == ids_of(top_p_set(p, top), logits));
    }
  }
}

TEST_CASE("top-p on a 256k vocabulary keeps the reference nucleus") {
  auto logits = uniform_logits(262144, -3.0f, 3.0f, 8);
  for (std::size_t i = 0; i < logits.size(); i += 4099) logits[i] += 9.0f;
  const auto p = softmax(to_double(logits));
  // The reference in O(V log V): the prefix of the sorted order before the mass reaches p.
  const auto order = by_decreasing(p);
  std::vector<bool> keep(p.size(), false);
  double above = 0.0;
  for (std::size_t i = 0; i < order.size() && above < 0.9; ++i) {
    keep[order[i]] = true;
    above += p[order[i]];
  }
  CHECK(kept_by(top_p{0.9f}, logits) == ids_of(keep, logits));
}

TEST_CASE("min-p keeps tokens at least p times as likely as the most likely one") {
  for (const auto& [name, logits] : stress_rows()) {
    CAPTURE(name);
    const auto p = softmax(to_double(logits));
    for (const float minimum : {0.01f, 0.2f, 0.9f, 1.0f}) {
      CAPTURE(minimum);
      CHECK(kept_by(min_p{minimum}, logits) == ids_of(min_p_set(p, minimum), logits));
    }
  }
}

TEST_CASE("greedy keeps the first maximum, densely and after a truncation reordered the candidates") {
  const std::vector<float> logits{1.0f, 5.0f, -2.0f, 5.0f, 4.0f, 5.0f};
  CHECK(kept_by(greedy{}, logits) == std::vector<token_id>{1});
  CHECK(kept_by(top_p{0.99f} | greedy{}, logits) == std::vector<token_id>{1});
  CHECK(kept_by(top_k{4} | greedy{}, logits) == std::vector<token_id>{1});
}

TEST_CASE("stages compose on the survivors: a truncation after a truncation") {
  const auto logits = uniform_logits(2000, -4.0f, 4.0f, 6);
  const auto p = softmax(to_double(logits));
  const auto first = top_k_set(p, 300);
  const auto second = top_p_set(renormalised(p, first), 0.8);
  CHECK(kept_by(top_k{300} | top_p{0.8f}, logits) == ids_of(second, logits));
}

TEST_CASE("candidate_logits materialises ids once and compacts in order") {
  const std::vector<float> logits{3.0f, -1.0f, 2.0f, 7.0f, 0.5f};
  candidate_logits candidates;
  candidates.assign(logits);
  CHECK(candidates.dense());
  CHECK(candidates.token(3) == 3);
  CHECK(candidates.max_value() == 7.0f);
  candidates.keep_at_least(1.0f);
  CHECK_FALSE(candidates.dense());
  REQUIRE(candidates.size() == 3);
  CHECK(candidates.token(0) == 0);
  CHECK(candidates.token(1) == 2);
  CHECK(candidates.token(2) == 3);
  CHECK(candidates.values()[1] == 2.0f);
  candidates.keep_first(2);
  CHECK(candidates.size() == 2);
  candidates.keep_only(1);
  CHECK(candidates.size() == 1);
  CHECK(candidates.token(0) == 2);
  // A fresh row starts dense again with the whole vocabulary.
  candidates.assign(logits);
  CHECK(candidates.dense());
  CHECK(candidates.size() == 5);
  CHECK(candidates.tokens()[4] == 4);
}
