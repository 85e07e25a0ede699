// The clipped surrogate of PPO (Schulman et al., arXiv 1707.06347, eq. 7) for one importance
// ratio r and advantage A, with the variants used for LLMs:
//   loss = max(−A·min(r, δ), −A·clip(r, 1 − ε_low, 1 + ε_high))         and, when A < 0,
//   loss = min(that, −c·A);
// ε_low ≠ ε_high is DAPO's clip-higher (arXiv 2503.14476, section 3.1: 0.2 and 0.28);
// c > 1 is dual-clip PPO (Ye et al., arXiv 1912.09729: bounds the loss of a negative advantage
// when r explodes; c = 3 is typical); δ > 1 + ε_high is the two-sided clip of INTELLECT-2
// (arXiv 2505.07291), which caps the unclipped ratio. With c = δ both hold a negative
// advantage's loss at −c·A once r > c and differ only in the gradient at r = c itself (see
// below). A zero option switches the variant off.
//
// The derivative d loss / d r follows PyTorch's subgradient conventions, so rlft's gradients
// match a torch reference token for token, kinks included:
//   - torch.clamp passes the gradient at its bounds (1 − ε_low <= r <= 1 + ε_high, r <= δ);
//   - torch.maximum / torch.minimum of two equal values send half the gradient to each;
//   - torch.where(A < 0, ...) picks one branch (A = 0 is not negative).
// So at r = 1 + ε_high exactly (A > 0) the gradient is the unclipped −A (both branches agree
// and pass), and at the dual-clip kink r = c (A < 0, c > 1 + ε_high) it is −A/2.
#pragma once

#include <cmath>

#include "rlft/core/error.hpp"
#include "rlft/core/host_device.hpp"

namespace rlft {

struct clip_range {
  double epsilon_low = 0.2;   // r is clipped below at 1 − ε_low; in [0, 1)
  double epsilon_high = 0.2;  // and above at 1 + ε_high; >= 0
  double dual_clip = 0.0;     // c > 1, or 0 for off
  double two_sided = 0.0;     // δ > 1 + ε_high, or 0 for off
};

// The clip range in the evaluation's real type, with the switches resolved once.
template <class Real>
struct ratio_bounds {
  Real low = 0.8;
  Real high = 1.2;
  Real dual_clip = 0;
  Real two_sided = 0;
  bool with_dual_clip = false;
  bool with_two_sided = false;

  explicit ratio_bounds(const clip_range& clip)
      : low(static_cast<Real>(1.0 - clip.epsilon_low)),
        high(static_cast<Real>(1.0 + clip.epsilon_high)),
        dual_clip(static_cast<Real>(clip.dual_clip)),
        two_sided(static_cast<Real>(clip.two_sided)),
        with_dual_clip(clip.dual_clip != 0.0),
        with_two_sided(clip.two_sided != 0.0) {}
};

template <class Real>
struct clipped_loss {
  Real loss = 0;
  Real derivative = 0;         // d loss / d ratio
  bool clipped_low = false;    // A < 0 and r < 1 − ε_low: no gradient
  bool clipped_high = false;   // A > 0 and r > 1 + ε_high: no gradient
  bool held_at_bound = false;  // A < 0 and the dual-clip or two-sided bound holds the loss
};

template <class Real>
RLFT_HOST_DEVICE inline clipped_loss<Real> clipped_surrogate(Real ratio, Real advantage,
                                                             const ratio_bounds<Real>& bounds) noexcept {
  // −A·min(r, δ): torch.clamp(r, max=δ) passes the gradient while r <= δ.
  const bool capped = bounds.with_two_sided && ratio > bounds.two_sided;
  const Real unclipped = -advantage * (capped ? bounds.two_sided : ratio);
  const Real unclipped_derivative = capped ? Real(0) : -advantage;
  // −A·clip(r, 1 − ε_low, 1 + ε_high), passing the gradient inside the closed interval.
  const bool below = ratio < bounds.low, above = ratio > bounds.high;
  const Real clipped = -advantage * (below ? bounds.low : (above ? bounds.high : ratio));
  const Real clipped_derivative = below || above ? Real(0) : -advantage;
  // torch.maximum, ties split evenly.
  Real loss = unclipped > clipped ? unclipped : clipped;
  Real derivative = unclipped > clipped   ? unclipped_derivative
                    : unclipped < clipped ? clipped_derivative
                                          : (unclipped_derivative + clipped_derivative) / Real(2);
  // torch.where(A < 0, torch.minimum(loss, −c·A), loss), ties split evenly.
  const bool negative = advantage < Real(0);
  const Real dual_bound = -bounds.dual_clip * advantage;
  const bool dual = bounds.with_dual_clip && negative && loss > dual_bound;
  const bool dual_tie = bounds.with_dual_clip && negative && loss == dual_bound;
  derivative = dual ? Real(0) : (dual_tie ? derivative / Real(2) : derivative);
  loss = dual ? dual_bound : loss;
  return {loss, derivative, negative && below, advantage > Real(0) && above, dual || (negative && capped)};
}

namespace detail {

inline void check_clip_range(const clip_range& clip, const char* objective) {
  const auto fail = [&](const char* option, double value, const char* requirement) {
    throw error(make_message(objective, ": option clip.", option, " = ", value, " is out of range (", requirement,
                             ")"));
  };
  if (!(clip.epsilon_low >= 0.0 && clip.epsilon_low < 1.0)) fail("epsilon_low", clip.epsilon_low, "in [0, 1)");
  if (!(std::isfinite(clip.epsilon_high) && clip.epsilon_high >= 0.0))
    fail("epsilon_high", clip.epsilon_high, "finite and >= 0");
  if (!(clip.dual_clip == 0.0 || (std::isfinite(clip.dual_clip) && clip.dual_clip > 1.0)))
    fail("dual_clip", clip.dual_clip, "0 for off, or finite and > 1");
  if (!(clip.two_sided == 0.0 || (std::isfinite(clip.two_sided) && clip.two_sided > 1.0 + clip.epsilon_high)))
    fail("two_sided", clip.two_sided, "0 for off, or finite and > 1 + epsilon_high");
}

}  // namespace detail
}  // namespace rlft
