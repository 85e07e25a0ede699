// Learning-rate schedule: linear warm-up followed by cosine decay (Loshchilov and Hutter,
// "SGDR", ICLR 2017, eq. 5, without restarts; the warm-up of Goyal et al. 2017), the schedule of
// transformers' get_cosine_schedule_with_warmup with a floor:
//   step < W:      η = η_peak · step / W
//   W ≤ step ≤ T:  η = η_min + (η_peak − η_min) · ½ (1 + cos(π (step − W) / (T − W)))
//   step > T:      η = η_min
#pragma once

#include <cmath>
#include <cstddef>
#include <numbers>

#include "rlft/core/error.hpp"

namespace rlft {

struct warmup_cosine_schedule {
  float peak_learning_rate = 1e-3f;
  float final_learning_rate = 0.0f;
  std::size_t warmup_steps = 0;
  std::size_t total_steps = 1;

  // Throws rlft::error unless 0 ≤ final ≤ peak, both finite, and warmup_steps ≤ total_steps.
  void validate() const {
    constexpr const char* owner = "warmup_cosine_schedule";
    detail::check_option(std::isfinite(peak_learning_rate) && peak_learning_rate >= 0.0f, owner, "peak_learning_rate",
                         peak_learning_rate, "finite and >= 0");
    detail::check_option(std::isfinite(final_learning_rate) && final_learning_rate >= 0.0f &&
                             final_learning_rate <= peak_learning_rate,
                         owner, "final_learning_rate", final_learning_rate, "in [0, peak_learning_rate]");
    detail::check_option(warmup_steps <= total_steps, owner, "warmup_steps", static_cast<double>(warmup_steps),
                         "<= total_steps");
  }

  // The learning rate of optimizer step `step` (counting from 0).
  float operator()(std::size_t step) const {
    validate();
    if (step < warmup_steps)
      return peak_learning_rate * static_cast<float>(static_cast<double>(step) / static_cast<double>(warmup_steps));
    if (step >= total_steps) return final_learning_rate;
    const double progress = static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    return static_cast<float>(final_learning_rate + (peak_learning_rate - final_learning_rate) * cosine);
  }
};

}  // namespace rlft
