// One optimiser update of a policy (or of any rlft::trainable model), shared by every trainer: global-norm gradient clipping,
// AdamW at the learning rate the warm-up + cosine schedule gives for this update, then
// cleared gradients. A gradient that is not finite (a NaN loss upstream, an overflow) is never
// applied: the update is skipped, the gradients cleared and the skip reported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "rlft/concepts/policy.hpp"
#include "rlft/core/error.hpp"
#include "rlft/io/safetensors.hpp"
#include "rlft/optim/adamw.hpp"
#include "rlft/optim/clip_gradient_norm.hpp"
#include "rlft/optim/learning_rate_schedule.hpp"

namespace rlft {

struct policy_update_options {
  // Weight decay 0, as TRL's trainers: with decay, a policy drifts from its reference on steps
  // that carry no reward signal. (rlft::adamw_options alone keeps PyTorch's 0.01.)
  adamw_options adamw = {.weight_decay = 0.0f};
  warmup_cosine_schedule schedule = {};
  double max_gradient_norm = 1.0;  // 0: no clipping
};

struct policy_update_report {
  bool applied = false;
  double gradient_norm = 0.0;  // before clipping; NaN when the gradient was not finite
  float learning_rate = 0.0f;
  std::string skipped_because = {};
};

class policy_update {
 public:
  // Throws rlft::error on out-of-range options.
  explicit policy_update(policy_update_options options) : options_(options), optimizer_(options.adamw) {
    options_.schedule.validate();
    detail::check_option(options_.max_gradient_norm >= 0.0, "policy update", "max_gradient_norm",
                         options_.max_gradient_norm, ">= 0 (0: no clipping)");
  }

  template <trainable Policy>
  policy_update_report apply(Policy& policy) {
    policy_update_report report{.learning_rate = options_.schedule(updates_)};
    auto parameters = policy.parameters();
    try {
      report.gradient_norm = options_.max_gradient_norm > 0.0 ? clip_gradient_norm(parameters, options_.max_gradient_norm)
                                                              : gradient_norm(parameters);
    } catch (const data_error& e) {  // a non-finite gradient
      policy.zero_grad();
      report.gradient_norm = std::numeric_limits<double>::quiet_NaN();
      report.skipped_because = e.what();
      return report;
    }
    optimizer_.step(parameters, report.learning_rate);
    policy.zero_grad();
    ++updates_;
    report.applied = true;
    return report;
  }

  std::size_t updates() const noexcept { return updates_; }

  // The optimiser's state as one safetensors file: tensors first.<i> and second.<i>, the step
  // and update counts in its metadata. Written atomically.
  void save(const std::filesystem::path& path) const {
    const adamw::state state = optimizer_.save_state();
    std::vector<io::tensor_to_save> tensors;
    for (std::size_t i = 0; i < state.first_moments.size(); ++i) {
      const auto size = static_cast<std::int64_t>(state.first_moments[i].size());
      tensors.push_back({"first." + std::to_string(i), {size}, state.first_moments[i]});
      tensors.push_back({"second." + std::to_string(i), {size}, state.second_moments[i]});
    }
    io::save_safetensors(path, tensors, io::tensor_dtype::f32,
                         {{"adamw_steps", std::to_string(state.steps)}, {"updates", std::to_string(updates_)},
                          {"parameters", std::to_string(state.first_moments.size())}});
  }

  // Throws rlft::io_error when the file is missing, malformed or inconsistent.
  void load(const std::filesystem::path& path) {
    const io::safetensors_file file(path);
    const auto count = [&](const char* key) -> std::size_t {
      const auto it = file.metadata().find(key);
      if (it == file.metadata().end())
        throw io_error(detail::make_message(path.string(), ": optimiser state lacks \"", key, "\""));
      try {
        return static_cast<std::size_t>(std::stoull(it->second));
      } catch (const std::exception&) {
        throw io_error(detail::make_message(path.string(), ": \"", key, "\" is not a count: ", it->second));
      }
    };
    adamw::state state{.steps = count("adamw_steps")};
    for (std::size_t i = 0, n = count("parameters"); i < n; ++i) {
      for (auto* moments : {&state.first_moments, &state.second_moments}) {
        const std::string name = (moments == &state.first_moments ? "first." : "second.") + std::to_string(i);
        const auto& entry = file.at(name);
        moments->emplace_back(entry.num_elements());
        file.read(name, moments->back());
      }
    }
    optimizer_.load_state(std::move(state));
    updates_ = count("updates");
  }
  const policy_update_options& options() const noexcept { return options_; }
  adamw& optimizer() noexcept { return optimizer_; }
  const adamw& optimizer() const noexcept { return optimizer_; }

 private:
  policy_update_options options_;
  adamw optimizer_;
  std::size_t updates_ = 0;
};

}  // namespace rlft
