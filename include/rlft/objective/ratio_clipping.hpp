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
#include "rlft/core/simd.hpp"

namespace rlft {

struct clip_range {
  double epsilon_low = 0.2;   // r is clipped below at 1 − ε_low; in [0, 1)
  double epsilon_high = 0.2;  // and above at 1 + ε_high; >= 0
  double dual_clip = 0.0;     // c > 1, or 0 for off
  double two_sided = 0.0;     // δ > 1 + ε_high, or 0 for off
};

// The clip range in the evaluation's value type (a scalar or a float pack), with the switches
// resolved once.
template <class Real>
struct ratio_bounds {
  Real low{};
  Real high{};
  Real dual_clip{};
  Real two_sided{};
  detail::mask_of<Real> with_dual_clip{};
  detail::mask_of<Real> with_two_sided{};

  explicit ratio_bounds(const clip_range& clip)
      : low(detail::splat<Real>(static_cast<detail::scalar_of<Real>>(1.0 - clip.epsilon_low))),
        high(detail::splat<Real>(static_cast<detail::scalar_of<Real>>(1.0 + clip.epsilon_high))),
        dual_clip(detail::splat<Real>(static_cast<detail::scalar_of<Real>>(clip.dual_clip))),
        two_sided(detail::splat<Real>(static_cast<detail::scalar_of<Real>>(clip.two_sided))),
        with_dual_clip(detail::splat_mask<Real>(clip.dual_clip != 0.0)),
        with_two_sided(detail::splat_mask<Real>(clip.two_sided != 0.0)) {}
};

template <class Real>
struct clipped_loss {
  Real loss{};
  Real derivative{};                       // d loss / d ratio
  detail::mask_of<Real> clipped_low{};     // A < 0 and r < 1 − ε_low: no gradient
  detail::mask_of<Real> clipped_high{};    // A > 0 and r > 1 + ε_high: no gradient
  detail::mask_of<Real> held_at_bound{};   // A < 0 and the dual-clip or two-sided bound holds the loss
};

// Branch-free (selects and 0/1 factors), so that it runs on packs of tokens as well.
template <class Real>
RLFT_HOST_DEVICE RLFT_INLINE clipped_loss<Real> clipped_surrogate(Real ratio, Real advantage,
                                                             const ratio_bounds<Real>& bounds) noexcept {
  using Mask = detail::mask_of<Real>;
  using Scalar = detail::scalar_of<Real>;
  using detail::select;
  using detail::to_real;
  const Real zero = detail::splat<Real>(0);
  // −A·min(r, δ): torch.clamp(r, max=δ) passes the gradient while r <= δ.
  const Mask capped = bounds.with_two_sided & (ratio > bounds.two_sided);
  const Real unclipped = -advantage * select<Real>(capped, bounds.two_sided, ratio);
  const Real unclipped_derivative = -advantage * to_real<Real>(detail::mask_not<Real>(capped));
  // −A·clip(r, 1 − ε_low, 1 + ε_high), passing the gradient inside the closed interval.
  const Mask below = ratio < bounds.low, above = ratio > bounds.high;
  Real clamped = select<Real>(below, bounds.low, ratio);
  clamped = select<Real>(above, bounds.high, clamped);
  const Real clipped = -advantage * clamped;
  const Real clipped_derivative = -advantage * to_real<Real>(detail::mask_not<Real>(below | above));
  // torch.maximum: the larger branch's gradient, half of each on a tie.
  const Real tie = to_real<Real>(unclipped == clipped) * Scalar(0.5);
  Real loss = select<Real>(unclipped > clipped, unclipped, clipped);
  Real derivative = (to_real<Real>(unclipped > clipped) + tie) * unclipped_derivative +
                    (to_real<Real>(unclipped < clipped) + tie) * clipped_derivative;
  // torch.where(A < 0, torch.minimum(loss, −c·A), loss): the bound's gradient is 0, half on a tie.
  const Mask negative = advantage < zero;
  const Real dual_bound = -bounds.dual_clip * advantage;
  const Mask dual = bounds.with_dual_clip & negative & (loss > dual_bound);
  const Mask dual_tie = bounds.with_dual_clip & negative & (loss == dual_bound);
  derivative = derivative * (to_real<Real>(detail::mask_not<Real>(dual)) - to_real<Real>(dual_tie) * Scalar(0.5));
  loss = select<Real>(dual, dual_bound, loss);
  const Mask clipped_low = negative & below, clipped_high = (advantage > zero) & above;
  const Mask held = dual | (negative & capped);
  return {loss, derivative, clipped_low, clipped_high, held};
}

namespace detail {

inline void check_clip_range(const clip_range& clip, const char* objective) {
  check_option(clip.epsilon_low >= 0.0 && clip.epsilon_low < 1.0, objective, "clip.epsilon_low", clip.epsilon_low,
               "in [0, 1)");
  check_option(std::isfinite(clip.epsilon_high) && clip.epsilon_high >= 0.0, objective, "clip.epsilon_high",
               clip.epsilon_high, "finite and >= 0");
  check_option(clip.dual_clip == 0.0 || (std::isfinite(clip.dual_clip) && clip.dual_clip > 1.0), objective,
               "clip.dual_clip", clip.dual_clip, "0 for off, or finite and > 1");
  check_option(clip.two_sided == 0.0 || (std::isfinite(clip.two_sided) && clip.two_sided > 1.0 + clip.epsilon_high),
               objective, "clip.two_sided", clip.two_sided, "0 for off, or finite and > 1 + epsilon_high");
}

}  // namespace detail
}  // namespace rlft
