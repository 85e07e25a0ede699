// Training a reward model on preference pairs with the Bradley–Terry loss
// (rlft/objective/bradley_terry_loss.hpp; InstructGPT, arXiv 2203.02155, section 3.5; TRL's
// RewardTrainer). A pair is a prompt with two responses, tokenised whole: the model scores each
// sequence by its last token's value (rlft::value_model), and an update takes pairs_per_batch
// pairs in a shuffled order fixed by the seed, both sequences of every pair in one ragged batch
// (or in micro-batches of pairs_per_micro_batch pairs, whose gradients add up to the batch's).
// The model is any rlft::value_model; evaluate() reports held-out loss and pair accuracy.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <type_traits>
#include <vector>

#include "rlft/concepts/value_model.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/data/epoch_order.hpp"
#include "rlft/objective/bradley_terry_loss.hpp"
#include "rlft/rewards/sequence_scores.hpp"
#include "rlft/train/policy_update.hpp"

namespace rlft {

struct preference_pair {
  std::vector<token_id> chosen;    // the prompt followed by the preferred response
  std::vector<token_id> rejected;  // the prompt followed by the other response
  float margin = 0.0f;             // how much better chosen must score (0: plain Bradley–Terry)
};

struct reward_model_options {
  std::size_t pairs_per_batch = 16;       // pairs per update (the last of an epoch may have fewer)
  std::size_t pairs_per_micro_batch = 0;  // pairs per forward and backward; 0: the whole update at once
  std::size_t epochs = 1;
  std::uint64_t seed = 0;                 // the order of the pairs in each epoch
  double center_rewards_coefficient = 0.0;  // TRL's: c·mean((r_c + r_r)²) keeps scores centred
};

// Over the pairs of an update, or of a held-out set.
struct reward_model_metrics {
  std::size_t step = 0;  // updates so far, this one included (0 for evaluate())
  std::size_t epoch = 0;
  double loss = 0.0;
  double accuracy = 0.0;        // share of pairs whose chosen response scores higher
  double mean_chosen = 0.0;     // mean score of the chosen responses
  double mean_rejected = 0.0;
  std::size_t pairs = 0;
  double seconds = 0.0;
  policy_update_report update = {};
};

namespace detail {

inline void check_preference_pairs(std::span<const preference_pair> pairs) {
  if (pairs.empty()) throw error("reward model: no preference pairs");
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& pair = pairs[i];
    if (pair.chosen.empty() || pair.rejected.empty())
      throw error(make_message("reward model: pair ", i, " has an empty ", pair.chosen.empty() ? "chosen" : "rejected",
                               " sequence"));
    if (!std::isfinite(pair.margin))
      throw data_error(make_message("reward model: the margin of pair ", i, " is ", pair.margin));
  }
}

}  // namespace detail

// The pair indices of each update of one epoch: the data sets' epoch order (a Fisher–Yates
// shuffle fixed by seed and epoch), cut into runs of pairs_per_batch.
inline std::vector<std::vector<std::size_t>> preference_batches(std::size_t pairs, std::size_t pairs_per_batch,
                                                                std::uint64_t seed, std::size_t epoch) {
  detail::check_option(pairs_per_batch >= 1, "reward model", "pairs_per_batch", static_cast<double>(pairs_per_batch),
                       ">= 1");
  const std::vector<std::size_t> order = data::epoch_order(pairs, seed, epoch);
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t first = 0; first < pairs; first += pairs_per_batch)
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(first),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(pairs, first + pairs_per_batch)));
  return batches;
}

template <value_model Model>
class reward_model_trainer {
 public:
  // Throws rlft::error on out-of-range options.
  reward_model_trainer(Model& model, reward_model_options options, policy_update_options update)
      : model_(model), options_(options), update_(update) {
    detail::check_option(options_.pairs_per_batch >= 1, "reward model", "pairs_per_batch",
                         static_cast<double>(options_.pairs_per_batch), ">= 1");
    detail::check_option(std::isfinite(options_.center_rewards_coefficient) && options_.center_rewards_coefficient >= 0.0,
                         "reward model", "center_rewards_coefficient", options_.center_rewards_coefficient,
                         "finite and >= 0");
  }

  // Updates the model once on pairs[indices]. A gradient that is not finite skips the update
  // (reported in metrics.update); a score that is not finite is an rlft::data_error naming the
  // pair, and leaves the model's gradients cleared.
  reward_model_metrics train_batch(std::span<const preference_pair> pairs, std::span<const std::size_t> indices) {
    const auto start = std::chrono::steady_clock::now();
    detail::check_preference_pairs(pairs);
    if (indices.empty()) throw error("reward model: an update needs at least one pair");
    for (const std::size_t i : indices)
      if (i >= pairs.size())
        throw error(detail::make_message("reward model: pair index ", i, " is outside the ", pairs.size(), " pairs"));
    bradley_terry_sums sums;
    try {
      sums = forward_backward(pairs, indices, /*with_gradients=*/true);
    } catch (...) {
      model_.zero_grad();
      throw;
    }
    reward_model_metrics metrics = metrics_of(sums);
    metrics.update = update_.apply(model_);
    metrics.step = update_.updates();
    metrics.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return metrics;
  }

  // Every epoch of options.epochs from where the run stands: on_step(metrics) after each update
  // (it may return false to stop there; train() called again continues).
  template <class OnStep>
  void train(std::span<const preference_pair> pairs, OnStep&& on_step) {
    detail::check_preference_pairs(pairs);
    while (epoch_ < options_.epochs) {
      const auto batches = preference_batches(pairs.size(), options_.pairs_per_batch, options_.seed, epoch_);
      while (next_batch_ < batches.size()) {
        auto metrics = train_batch(pairs, batches[next_batch_]);
        metrics.epoch = epoch_;
        ++next_batch_;
        if constexpr (std::is_convertible_v<std::invoke_result_t<OnStep&, reward_model_metrics&>, bool>) {
          if (!on_step(metrics)) return;
        } else {
          on_step(metrics);
        }
      }
      ++epoch_;
      next_batch_ = 0;
    }
  }

  // Loss, pair accuracy and mean scores over `pairs` without updating (held-out evaluation).
  reward_model_metrics evaluate(std::span<const preference_pair> pairs) {
    detail::check_preference_pairs(pairs);
    std::vector<std::size_t> all(pairs.size());
    std::iota(all.begin(), all.end(), std::size_t{0});
    return metrics_of(forward_backward(pairs, all, /*with_gradients=*/false));
  }

  // Updates train() makes with these options (for the length of the learning-rate schedule).
  static std::size_t updates(std::size_t pairs, const reward_model_options& options) {
    return options.epochs * ((pairs + options.pairs_per_batch - 1) / options.pairs_per_batch);
  }

  policy_update& update() noexcept { return update_; }

 private:
  // Scores pairs[indices] in micro-batches; with_gradients: back-propagates the loss of each.
  bradley_terry_sums forward_backward(std::span<const preference_pair> pairs, std::span<const std::size_t> indices,
                                      bool with_gradients) {
    const std::size_t micro = options_.pairs_per_micro_batch ? options_.pairs_per_micro_batch : indices.size();
    bradley_terry_sums total;
    for (std::size_t first = 0; first < indices.size(); first += micro) {
      const auto part = indices.subspan(first, std::min(micro, indices.size() - first));
      // Chosen sequences first, then rejected ones, pair by pair.
      token_sequences sequences;
      std::vector<float> margins;
      for (const std::size_t i : part) sequences.push_back(pairs[i].chosen);
      for (const std::size_t i : part) {
        sequences.push_back(pairs[i].rejected);
        margins.push_back(pairs[i].margin);
      }
      const std::size_t n = part.size();
      std::vector<float> scores(2 * n), dscores(2 * n);
      score_sequences(model_, sequences.view(), scores);
      const std::span<const float> all_scores(scores);
      const std::span<float> all_gradients(dscores);
      total.add(bradley_terry_loss(all_scores.first(n), all_scores.last(n), margins,
                                   options_.center_rewards_coefficient, indices.size(), all_gradients.first(n),
                                   all_gradients.last(n)));
      if (!with_gradients) continue;
      std::vector<float> dvalues(sequences.num_tokens(), 0.0f);
      for (std::size_t s = 0; s < 2 * n; ++s) dvalues[sequences.view().end(s) - 1] = dscores[s];
      model_.backward_values(sequences.view(), dvalues);
    }
    return total;
  }

  static reward_model_metrics metrics_of(const bradley_terry_sums& sums) {
    const double pairs = static_cast<double>(sums.pairs);
    return {.loss = sums.loss,
            .accuracy = sums.accuracy(),
            .mean_chosen = sums.chosen_scores / pairs,
            .mean_rejected = sums.rejected_scores / pairs,
            .pairs = sums.pairs};
  }

  Model& model_;
  reward_model_options options_;
  policy_update update_;
  std::size_t epoch_ = 0;
  std::size_t next_batch_ = 0;
};

}  // namespace rlft
