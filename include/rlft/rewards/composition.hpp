// Compile-time composition of rewards, with every named part's score kept for logging.
//
//     const auto reward = component("format", format_reward{})
//                       + gate(format_reward{}, component("accuracy", accuracy_reward{}))
//                       + 0.5f * component("language", language_consistency_reward{});
//     const auto bounded = clip(reward, -1.0f, 2.0f);
//
//   component(name, r)   a leaf: any rlft::reward_function, logged under `name`;
//   w * e, e * w         e's value times w;
//   a + b                the sum (sums flatten into one reward_sum);
//   gate(c, e, t, o)     e's value when the condition reward c scores at least t (default 1),
//                        else o (default 0): "accuracy counts only when the format is right";
//   clip(e, low, high)   e's value clamped to [low, high];
//   as_reward_expression(r)  r itself if it is an expression, else component("reward", r).
// A composed reward is a reward_expression: it has component_count leaves, appends their names
// in order, and score(input, scores) writes each leaf's own score (before weights, gates and
// clipping — what each reward said) to scores[0 .. component_count) and returns the composed
// total. It is also a plain rlft::reward_function (operator() returns the total), so it nests
// anywhere a reward goes. Parts are held by value and called directly: no virtual dispatch.
// A gated expression is always evaluated, so its column is logged even when the gate is shut.
//
// A batch is scored by score_all (what score_rollouts calls): a leaf whose reward scores batches
// (rlft::batched_reward_function: a learned reward model, say) first fills its column for every
// input in one score_batch call, then score() runs on each input in parallel with those leaves
// reading their column instead of calling the reward. The totals are score()'s, bit for bit,
// wherever score_batch gives what the reward's operator() gives.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "rlft/concepts/reward_expression.hpp"
#include "rlft/concepts/reward_function.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/parallel.hpp"

namespace rlft {

// The leaves' scores of a batch: entry (input i, leaf k) of a node whose leaves start at column
// `first` of rows of `stride` scores.
struct component_columns {
  float* data = nullptr;
  std::size_t stride = 0;
  std::size_t first = 0;

  float& at(std::size_t input, std::size_t leaf) const noexcept { return data[input * stride + first + leaf]; }
  component_columns from(std::size_t offset) const noexcept { return {data, stride, first + offset}; }
};

namespace detail {

// A part's score; Prefilled: leaves that score batches read the value score_all put in their
// column. A user's own expression type without the parameter is simply scored.
template <bool Prefilled, class Expression>
float score_part(const Expression& expression, const reward_input& input, std::span<float> scores) {
  if constexpr (requires { expression.template score<Prefilled>(input, scores); })
    return expression.template score<Prefilled>(input, scores);
  else
    return expression.score(input, scores);
}

// Fills the columns of the leaves that score batches (none in a user's own expression type).
template <class Expression>
void prefill_part(const Expression& expression, std::span<const reward_input> inputs, component_columns columns) {
  if constexpr (requires { expression.prefill(inputs, columns); }) expression.prefill(inputs, columns);
}

}  // namespace detail

// Scores inputs[i] into row i of `columns` (component_count leaves, in order) and totals[i].
template <reward_expression Expression>
void score_all(const Expression& expression, std::span<const reward_input> inputs, component_columns columns,
               std::span<float> totals) {
  detail::prefill_part(expression, inputs, columns);
  parallel_for(inputs.size(), [&](std::size_t i) {
    const std::span<float> row(&columns.at(i, 0), Expression::component_count);
    totals[i] = detail::score_part<true>(expression, inputs[i], row);
  }, costly_iterations);
}

// Shared by every expression: the total alone, scoring the leaves into a scratch array.
template <class Derived>
struct reward_expression_call {
  float operator()(const reward_input& input) const {
    const auto& self = static_cast<const Derived&>(*this);
    std::array<float, Derived::component_count> scores{};
    return self.score(input, scores);
  }
};

template <reward_function Reward>
struct named_reward : reward_expression_call<named_reward<Reward>> {
  std::string name;
  Reward reward;

  named_reward(std::string reward_name, Reward wrapped) : name(std::move(reward_name)), reward(std::move(wrapped)) {}

  static constexpr std::size_t component_count = 1;
  void append_component_names(std::vector<std::string>& names) const { names.push_back(name); }
  template <bool Prefilled = false>
  float score(const reward_input& input, std::span<float> scores) const {
    if constexpr (!(Prefilled && batched_reward_function<Reward>)) scores[0] = static_cast<float>(reward(input));
    return scores[0];
  }
  void prefill(std::span<const reward_input> inputs, component_columns columns) const {
    if constexpr (batched_reward_function<Reward>) {
      std::vector<float> column(inputs.size());
      reward.score_batch(inputs, column);
      for (std::size_t i = 0; i < inputs.size(); ++i) columns.at(i, 0) = column[i];
    }
  }
};

template <reward_expression Expression>
struct weighted_reward : reward_expression_call<weighted_reward<Expression>> {
  float weight;
  Expression expression;

  weighted_reward(float w, Expression e) : weight(w), expression(std::move(e)) {}

  static constexpr std::size_t component_count = Expression::component_count;
  void append_component_names(std::vector<std::string>& names) const { expression.append_component_names(names); }
  template <bool Prefilled = false>
  float score(const reward_input& input, std::span<float> scores) const {
    return weight * detail::score_part<Prefilled>(expression, input, scores);
  }
  void prefill(std::span<const reward_input> inputs, component_columns columns) const {
    detail::prefill_part(expression, inputs, columns);
  }
};

template <reward_expression... Terms>
struct reward_sum : reward_expression_call<reward_sum<Terms...>> {
  std::tuple<Terms...> terms;

  explicit reward_sum(std::tuple<Terms...> parts) : terms(std::move(parts)) {}

  static constexpr std::size_t component_count = (Terms::component_count + ... + 0);
  void append_component_names(std::vector<std::string>& names) const {
    std::apply([&](const auto&... term) { (term.append_component_names(names), ...); }, terms);
  }
  template <bool Prefilled = false>
  float score(const reward_input& input, std::span<float> scores) const {
    float total = 0.0f;
    std::size_t offset = 0;
    std::apply(
        [&](const auto&... term) {
          ((total += detail::score_part<Prefilled>(term, input, scores.subspan(offset, term.component_count)),
            offset += term.component_count),
           ...);
        },
        terms);
    return total;
  }
  void prefill(std::span<const reward_input> inputs, component_columns columns) const {
    std::size_t offset = 0;
    std::apply(
        [&](const auto&... term) {
          ((detail::prefill_part(term, inputs, columns.from(offset)), offset += term.component_count), ...);
        },
        terms);
  }
};

template <reward_function Condition, reward_expression Expression>
struct gated_reward : reward_expression_call<gated_reward<Condition, Expression>> {
  Condition condition;
  Expression expression;
  float pass_from;
  float otherwise;

  gated_reward(Condition c, Expression e, float threshold, float closed_value)
      : condition(std::move(c)), expression(std::move(e)), pass_from(threshold), otherwise(closed_value) {}

  static constexpr std::size_t component_count = Expression::component_count;
  void append_component_names(std::vector<std::string>& names) const { expression.append_component_names(names); }
  template <bool Prefilled = false>
  float score(const reward_input& input, std::span<float> scores) const {
    const float value = detail::score_part<Prefilled>(expression, input, scores);
    return static_cast<float>(condition(input)) >= pass_from ? value : otherwise;
  }
  void prefill(std::span<const reward_input> inputs, component_columns columns) const {
    detail::prefill_part(expression, inputs, columns);
  }
};

template <reward_expression Expression>
struct clipped_reward : reward_expression_call<clipped_reward<Expression>> {
  Expression expression;
  float low;
  float high;

  // Throws rlft::error unless low <= high.
  clipped_reward(Expression e, float lowest, float highest) : expression(std::move(e)), low(lowest), high(highest) {
    if (!(low <= high))
      throw error(detail::make_message("clip: the lower bound ", low, " exceeds the upper bound ", high));
  }

  static constexpr std::size_t component_count = Expression::component_count;
  void append_component_names(std::vector<std::string>& names) const { expression.append_component_names(names); }
  template <bool Prefilled = false>
  float score(const reward_input& input, std::span<float> scores) const {
    return std::clamp(detail::score_part<Prefilled>(expression, input, scores), low, high);
  }
  void prefill(std::span<const reward_input> inputs, component_columns columns) const {
    detail::prefill_part(expression, inputs, columns);
  }
};

// The leaf: `reward`, logged as `name`.
template <reward_function Reward>
named_reward<Reward> component(std::string name, Reward reward) {
  return named_reward<Reward>(std::move(name), std::move(reward));
}

template <reward_expression Expression>
weighted_reward<Expression> operator*(float weight, Expression expression) {
  return weighted_reward<Expression>(weight, std::move(expression));
}

template <reward_expression Expression>
weighted_reward<Expression> operator*(Expression expression, float weight) {
  return weighted_reward<Expression>(weight, std::move(expression));
}

namespace detail {

template <class T>
struct is_reward_sum : std::false_type {};
template <class... Terms>
struct is_reward_sum<reward_sum<Terms...>> : std::true_type {};

template <reward_expression Expression>
auto reward_sum_terms(Expression expression) {
  if constexpr (is_reward_sum<Expression>::value)
    return std::move(expression.terms);
  else
    return std::tuple<Expression>(std::move(expression));
}

template <class... Terms>
reward_sum<Terms...> sum_from_tuple(std::tuple<Terms...> terms) {
  return reward_sum<Terms...>(std::move(terms));
}

}  // namespace detail

template <reward_expression First, reward_expression Second>
auto operator+(First first, Second second) {
  return detail::sum_from_tuple(
      std::tuple_cat(detail::reward_sum_terms(std::move(first)), detail::reward_sum_terms(std::move(second))));
}

// `expression` counts only when `condition` scores at least `pass_from`; otherwise the value
// is `otherwise`.
template <reward_function Condition, reward_expression Expression>
gated_reward<Condition, Expression> gate(Condition condition, Expression expression, float pass_from = 1.0f,
                                         float otherwise = 0.0f) {
  return gated_reward<Condition, Expression>(std::move(condition), std::move(expression), pass_from, otherwise);
}

template <reward_expression Expression>
clipped_reward<Expression> clip(Expression expression, float low, float high) {
  return clipped_reward<Expression>(std::move(expression), low, high);
}

// A reward expression as it is, and a plain reward function as one component named "reward":
// what a trainer logs when it is given a single callable.
template <reward_function Reward>
auto as_reward_expression(Reward reward) {
  if constexpr (reward_expression<Reward>)
    return reward;
  else
    return component("reward", std::move(reward));
}

template <reward_function Reward>
using reward_expression_of = decltype(as_reward_expression(std::declval<Reward>()));

}  // namespace rlft
