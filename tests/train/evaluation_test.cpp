#include <doctest/doctest.h>

#include <vector>

#include "rlft/train/evaluation.hpp"

using rlft::sample_outcome;

TEST_CASE("pass@1, cons@k, format rate and mean length by hand") {
  // Problem 0: answers 7 (right) 5 5 (wrong) — pass 1/3, vote "5" wrong.
  // Problem 1: answers 3 3 (right) and none — pass 2/3, vote "3" right.
  const std::vector<sample_outcome> outcomes{
      {"7", true, true, 10}, {"5", false, true, 20}, {"5", false, false, 30},
      {"3", true, true, 12}, {"3", true, true, 14}, {"", false, false, 64},
  };
  const auto summary = rlft::summarise_evaluation(outcomes, 3);
  CHECK(summary.problems == 2);
  CHECK(summary.pass_at_1 == doctest::Approx(3.0 / 6.0));
  // Problem rates 1/3 and 2/3: sample deviation √((1/36 + 1/36) / 1) = √2 / 6, over √2 problems.
  CHECK(summary.pass_at_1_standard_error == doctest::Approx(1.0 / 6.0));
  CHECK(summary.consensus_at_k == doctest::Approx(0.5));
  CHECK(summary.format_rate == doctest::Approx(4.0 / 6.0));
  CHECK(summary.mean_length == doctest::Approx(150.0 / 6.0));
}

TEST_CASE("cons@k: ties go to the answer sampled first; no answer means a wrong vote") {
  const std::vector<sample_outcome> tie{{"4", true, true, 1}, {"9", false, true, 1},
                                        {"9", false, true, 1}, {"4", true, true, 1}};
  CHECK(rlft::summarise_evaluation(tie, 4).consensus_at_k == 1.0);
  const std::vector<sample_outcome> silent{{"", false, false, 1}, {"", false, false, 1}};
  CHECK(rlft::summarise_evaluation(silent, 2).consensus_at_k == 0.0);
  CHECK(rlft::summarise_evaluation(silent, 1).pass_at_1_standard_error == 0.0);
  CHECK(rlft::summarise_evaluation(silent, 2).pass_at_1_standard_error == 0.0);  // one problem: no spread to estimate
}

TEST_CASE("evaluation: malformed requests are errors") {
  using doctest::Contains;
  const std::vector<sample_outcome> three(3);
  CHECK_THROWS_WITH_AS(rlft::summarise_evaluation(three, 0), Contains("option samples_per_problem = 0"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::summarise_evaluation({}, 2), Contains("no samples"), rlft::error);
  CHECK_THROWS_WITH_AS(rlft::summarise_evaluation(three, 2), Contains("3 samples do not split into groups of 2"),
                       rlft::error);
}
