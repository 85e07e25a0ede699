// rlft::reward_expression: a reward whose named parts are each logged — what rlft::component,
// weights, sums, gates and clips (rlft/rewards/composition.hpp) build, and what score_rollouts
// and the trainers log column by column.
//
// A type E is a reward expression when
//   1. it is a reward function (its operator() returns the composed total);
//   2. E::component_count is the number of named leaves it logs;
//   3. e.append_component_names(names) appends their names, in order, to a
//      std::vector<std::string>;
//   4. e.score(input, scores) writes the leaves' scores to a std::span<float> of
//      component_count entries and returns the total as float.
// A plain reward function becomes one with rlft::component(name, reward) (the trainers do it
// themselves, naming it "reward").
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "rlft/concepts/reward_function.hpp"

namespace rlft {

template <class E>
concept counts_components = requires {
  { E::component_count } -> std::convertible_to<std::size_t>;
};

template <class E>
concept names_components = requires(const E& e, std::vector<std::string>& names) { e.append_component_names(names); };

template <class E>
concept scores_components = requires(const E& e, const reward_input& input, std::span<float> scores) {
  { e.score(input, scores) } -> std::same_as<float>;
};

template <class E>
concept reward_expression = reward_function<E> && counts_components<E> && names_components<E> && scores_components<E>;

}  // namespace rlft
