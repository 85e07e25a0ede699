// One optimiser update of a policy, shared by every trainer: global-norm gradient clipping,
// AdamW at the learning rate the warm-up + cosine schedule gives for this update, then
// cleared gradients. A gradient that is not finite (a NaN loss upstream, an overflow) is never
// applied: the update is skipped, the gradients cleared and the skip reported.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "rlft/concepts/policy.hpp"
#include "rlft/core/error.hpp"
#include "rlft/optim/adamw.hpp"
#include "rlft/optim/clip_gradient_norm.hpp"
#include "rlft/optim/learning_rate_schedule.hpp"

namespace rlft {

struct policy_update_options {
  adamw_options adamw = {};
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
    if (!(options_.max_gradient_norm >= 0.0))
      throw error(detail::make_message("policy update: max gradient norm must be >= 0, got ", options_.max_gradient_norm));
  }

  template <policy Policy>
  policy_update_report apply(Policy& policy) {
    policy_update_report report{.learning_rate = options_.schedule(updates_)};
    auto parameters = policy.parameters();
    try {
      report.gradient_norm = options_.max_gradient_norm > 0.0 ? clip_gradient_norm(parameters, options_.max_gradient_norm)
                                                              : gradient_norm(parameters);
    } catch (const error& e) {
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
  const policy_update_options& options() const noexcept { return options_; }
  adamw& optimizer() noexcept { return optimizer_; }
  const adamw& optimizer() const noexcept { return optimizer_; }

 private:
  policy_update_options options_;
  adamw optimizer_;
  std::size_t updates_ = 0;
};

}  // namespace rlft
