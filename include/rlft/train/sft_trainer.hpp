// Supervised fine-tuning with a completion-only loss: the mean negative log-likelihood of the
// completion tokens of a batch, prompt tokens excluded (the cold-start and rejection-sampling
// SFT stages of DeepSeek-R1, arXiv 2501.12948, sections 2.3.1 and 2.3.3). Examples of
// different lengths are packed without padding: an update takes whole examples, in a shuffled
// order fixed by the seed, until the token budget is reached. The policy is any rlft::policy:
// the trainer only asks for log-probs and hands back dL/d(log-prob) = −1/N on each of the N
// completion tokens. With a communicator of several ranks (rlft/distributed/), every rank packs
// the same updates and computes its share of each one's examples; the gradient is summed in
// the fixed tree of gradient_shards shards, so the parameters equal one process's with the
// same shards bit for bit.
#pragma once

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/concepts/policy.hpp"
#include "rlft/core/error.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/distributed/communicator.hpp"
#include "rlft/distributed/gradient_tree.hpp"
#include "rlft/train/checkpoint.hpp"
#include "rlft/train/policy_update.hpp"

namespace rlft {

struct sft_example {
  std::vector<token_id> tokens;  // prompt followed by completion
  std::size_t prompt_length = 0;  // the loss covers tokens [prompt_length, tokens.size())
};

struct sft_options {
  std::size_t tokens_per_batch = 4096;  // packing budget per update (an example longer than it goes alone)
  std::size_t epochs = 1;
  std::uint64_t seed = 0;  // order of the examples in each epoch
  // An update's gradient as the sum of this many shards of its examples, in a fixed binary tree
  // (rlft/distributed/gradient_tree.hpp): a power of two, at least the number of ranks; 1 (one
  // process only) takes the update's examples in one pass.
  std::size_t gradient_shards = 1;
};

struct sft_step_metrics {
  std::size_t step = 0;   // updates so far, this one included
  std::size_t epoch = 0;
  double loss = 0.0;      // mean negative log-likelihood per completion token
  std::size_t examples = 0;
  std::size_t loss_tokens = 0;
  double seconds = 0.0;
  policy_update_report update = {};
};

namespace detail {

inline void check_sft_examples(std::span<const sft_example> examples) {
  if (examples.empty()) throw error("sft: no examples");
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const auto& e = examples[i];
    if (e.prompt_length == 0 || e.prompt_length >= e.tokens.size())
      throw error(make_message("sft: example ", i, " has ", e.tokens.size(), " tokens and prompt length ",
                               e.prompt_length, "; it needs a non-empty prompt and at least one completion token"));
  }
}

}  // namespace detail

// The example indices of each update of one epoch: a Fisher–Yates shuffle drawn from
// philox_stream(seed, epoch), packed greedily up to tokens_per_batch tokens.
inline std::vector<std::vector<std::size_t>> pack_sft_batches(std::span<const sft_example> examples,
                                                              std::size_t tokens_per_batch, std::uint64_t seed,
                                                              std::size_t epoch) {
  detail::check_option(tokens_per_batch >= 1, "sft", "tokens_per_batch", static_cast<double>(tokens_per_batch), ">= 1");
  std::vector<std::size_t> order(examples.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  philox_stream rng(seed, epoch);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  std::vector<std::vector<std::size_t>> batches;
  std::size_t tokens = 0;
  for (const std::size_t index : order) {
    const std::size_t length = examples[index].tokens.size();
    if (batches.empty() || tokens + length > tokens_per_batch) {
      batches.emplace_back();
      tokens = 0;
    }
    batches.back().push_back(index);
    tokens += length;
  }
  return batches;
}

template <policy Policy, communicator Communicator = single_process_communicator>
class sft_trainer {
 public:
  // Throws rlft::error when gradient_shards is not a power of two or is fewer than the ranks.
  sft_trainer(Policy& policy, sft_options options, policy_update_options update, Communicator ranks = Communicator())
      : policy_(policy), options_(options), update_(update), comm_(std::move(ranks)) {
    detail::check_option(options_.gradient_shards >= comm_.size() && detail::is_power_of_two(options_.gradient_shards),
                         "sft", "gradient_shards", static_cast<double>(options_.gradient_shards),
                         detail::make_message("a power of two >= the ", comm_.size(), " ranks"));
  }

  // Updates the policy once on the given examples.
  sft_step_metrics train_batch(std::span<const sft_example> examples, std::span<const std::size_t> indices) {
    const auto start = std::chrono::steady_clock::now();
    const std::size_t loss_tokens = loss_tokens_of(examples, indices);
    const float weight = 1.0f / static_cast<float>(loss_tokens);
    double loss = 0.0;
    if (options_.gradient_shards == 1) {
      loss = forward_backward(examples, indices, weight);
    } else {
      // This rank's shards of the examples, each accumulated alone, then the tree over all ranks'.
      const std::size_t shards = options_.gradient_shards, count = indices.size();
      gradient_tree tree(shards);
      for (std::size_t k = share_begin(shards, comm_.rank(), comm_.size());
           k < share_begin(shards, comm_.rank() + 1, comm_.size()); ++k) {
        const auto shard = indices.subspan(share_begin(count, k, shards),
                                           share_begin(count, k + 1, shards) - share_begin(count, k, shards));
        if (!shard.empty()) loss += forward_backward(examples, shard, weight);
        tree.add(k, take_gradients(policy_));
      }
      set_gradients(policy_, tree.total(comm_));
      loss = sum_over_ranks(loss);
    }
    sft_step_metrics metrics{.loss = loss, .examples = indices.size(), .loss_tokens = loss_tokens};
    if (std::isfinite(loss)) {
      metrics.update = update_.apply(policy_);
    } else {
      policy_.zero_grad();
      metrics.update.skipped_because = "the loss is not finite";
    }
    metrics.step = update_.updates();
    metrics.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return metrics;
  }

  // Every epoch of options.epochs, from where the run stands (the start, or a resumed
  // checkpoint): on_step(metrics) after each update, after_epoch(epoch) after each epoch.
  // on_step may return false to stop after its update (to checkpoint and exit, say); train()
  // called again continues from there.
  template <class OnStep, class AfterEpoch = void (*)(std::size_t)>
  void train(std::span<const sft_example> examples, OnStep&& on_step,
             AfterEpoch&& after_epoch = [](std::size_t) {}) {
    detail::check_sft_examples(examples);
    while (epoch_ < options_.epochs) {
      const auto batches = pack_sft_batches(examples, options_.tokens_per_batch, options_.seed, epoch_);
      while (next_batch_ < batches.size()) {
        auto metrics = train_batch(examples, batches[next_batch_]);
        metrics.epoch = epoch_;
        ++next_batch_;
        ++batches_done_;
        if constexpr (std::is_convertible_v<std::invoke_result_t<OnStep&, sft_step_metrics&>, bool>) {
          if (!on_step(metrics)) return;
        } else {
          on_step(metrics);
        }
      }
      // The position moves on first, so a checkpoint saved by after_epoch resumes after it.
      const std::size_t finished = epoch_++;
      next_batch_ = 0;
      after_epoch(finished);
    }
  }

  // A checkpoint of the run so far, named step-<batches trained> in `checkpoints`: policy,
  // optimiser and the position in the epochs, with the caller's validation state and JSON.
  // With several ranks only rank 0 writes (every rank holds the same state).
  void save_checkpoint(checkpoint_directory& checkpoints, const nlohmann::json& caller_state = {},
                       const best_policy<Policy>* validation = nullptr) const {
    if (comm_.rank() != 0) return;
    const nlohmann::json state{{"trainer", "sft"},
                               {"epoch", epoch_},
                               {"next_batch", next_batch_},
                               {"batches_done", batches_done_},
                               {"validation", validation ? validation->record() : nullptr},
                               {"caller", caller_state}};
    checkpoints.save("step-" + std::to_string(batches_done_), state, [&](const std::filesystem::path& directory) {
      save_policy(policy_, directory / "policy");
      update_.save(directory / "optimizer.safetensors");
      if (validation) validation->save(directory);
    });
  }

  // Continues the run `from` a checkpoint save_checkpoint wrote: train() then makes exactly
  // the updates the uninterrupted run would have made next. Returns the caller's JSON.
  // Throws rlft::io_error for a missing or malformed checkpoint.
  nlohmann::json resume(const checkpoint_directory::checkpoint& from, best_policy<Policy>* validation = nullptr) {
    detail::check_trainer_state(from, "sft");
    const auto epoch = detail::state_field<std::size_t>(from, "epoch");
    const auto next_batch = detail::state_field<std::size_t>(from, "next_batch");
    const auto batches_done = detail::state_field<std::size_t>(from, "batches_done");
    policy_.load(from.directory / "policy");
    update_.load(from.directory / "optimizer.safetensors");
    if (validation) validation->load(from.directory, from.state.value("validation", nlohmann::json()), policy_);
    epoch_ = epoch;
    next_batch_ = next_batch;
    batches_done_ = batches_done;
    return from.state.value("caller", nlohmann::json::object());
  }

  // Mean negative log-likelihood per completion token, without updating (validation loss).
  double evaluate_loss(std::span<const sft_example> examples) {
    detail::check_sft_examples(examples);
    std::vector<std::size_t> chunk;
    double negative_log_likelihood = 0.0;
    std::size_t tokens = 0, chunk_tokens = 0;
    const auto flush = [&] {
      const auto [sequences, weights] = pack(examples, chunk, 1.0f);
      std::vector<float> logprobs(sequences.num_tokens());
      policy_.log_probs(sequences.view(), logprobs);
      for (std::size_t t = 0; t < logprobs.size(); ++t)
        if (weights[t] > 0.0f) negative_log_likelihood -= logprobs[t];
      tokens += loss_tokens_of(examples, chunk);
      chunk.clear();
      chunk_tokens = 0;
    };
    for (std::size_t i = 0; i < examples.size(); ++i) {
      if (!chunk.empty() && chunk_tokens + examples[i].tokens.size() > options_.tokens_per_batch) flush();
      chunk.push_back(i);
      chunk_tokens += examples[i].tokens.size();
    }
    flush();
    return negative_log_likelihood / static_cast<double>(tokens);
  }

  // Updates train() makes with these options (for the length of the learning-rate schedule):
  // each epoch packs its own shuffle, so epochs may differ by an update or two.
  static std::size_t updates(std::span<const sft_example> examples, const sft_options& options) {
    std::size_t total = 0;
    for (std::size_t epoch = 0; epoch < options.epochs; ++epoch)
      total += pack_sft_batches(examples, options.tokens_per_batch, options.seed, epoch).size();
    return total;
  }

  policy_update& update() noexcept { return update_; }

 private:
  struct packed {
    token_sequences sequences;
    std::vector<float> weights;  // 1/N on completion tokens, 0 elsewhere
  };

  static std::size_t loss_tokens_of(std::span<const sft_example> examples, std::span<const std::size_t> indices) {
    std::size_t n = 0;
    for (const auto i : indices) n += examples[i].tokens.size() - examples[i].prompt_length;
    return n;
  }

  // Log-probs and backward of the examples `indices`, each completion token weighted `weight`
  // (1/N of the whole update); returns their share of the loss.
  double forward_backward(std::span<const sft_example> examples, std::span<const std::size_t> indices, float weight) {
    const auto [sequences, weights] = pack(examples, indices, weight);
    std::vector<float> logprobs(sequences.num_tokens());
    policy_.log_probs(sequences.view(), logprobs);
    double loss = 0.0;
    std::vector<float> gradients(logprobs.size(), 0.0f);
    for (std::size_t t = 0; t < logprobs.size(); ++t) {
      loss -= weights[t] * static_cast<double>(logprobs[t]);
      gradients[t] = -weights[t];
    }
    if (std::isfinite(loss)) policy_.backward(sequences.view(), gradients);
    return loss;
  }

  // The ranks' losses added in rank order (one process: its own).
  double sum_over_ranks(double loss) {
    if (comm_.size() == 1) return loss;
    double total = 0.0;
    for (const auto& blob : comm_.all_gather(std::as_bytes(std::span(&loss, 1)))) {
      double part = 0.0;
      if (blob.size() != sizeof part) throw error("sft: a rank sent a malformed loss");
      std::memcpy(&part, blob.data(), sizeof part);
      total += part;
    }
    return total;
  }

  static packed pack(std::span<const sft_example> examples, std::span<const std::size_t> indices, float weight) {
    packed result;
    for (const auto i : indices) {
      result.sequences.push_back(examples[i].tokens);
      result.weights.resize(result.sequences.num_tokens(), 0.0f);
      std::fill(result.weights.end() - static_cast<std::ptrdiff_t>(examples[i].tokens.size() - examples[i].prompt_length),
                result.weights.end(), weight);
    }
    return result;
  }

  Policy& policy_;
  sft_options options_;
  policy_update update_;
  std::size_t epoch_ = 0;         // the epoch train() is in
  std::size_t next_batch_ = 0;    // the next update of that epoch
  std::size_t batches_done_ = 0;  // updates train() has made, skipped ones included
  Communicator comm_;
};

}  // namespace rlft
