// The Bradley–Terry loss of a reward model on preference pairs (Bradley & Terry, Biometrika
// 1952; Ouyang et al., arXiv 2203.02155, eq. 1; TRL's RewardTrainer): for pair i with scores r_c
// of the chosen and r_r of the rejected response,
//   L = (1/N) Σ_i −log σ(r_c − r_r − m_i) + c·(1/N) Σ_i (r_c + r_r)²
// with m_i an optional margin (Touvron et al., Llama 2, arXiv 2307.09288, eq. 2) and c TRL's
// center_rewards_coefficient (Eisenstein et al., arXiv 2312.09244), which keeps the scores
// centred on zero. −log σ(d) is evaluated as softplus(−d), exact for any d.
//   dL/dr_c = (−σ(−d) + 2c·(r_c + r_r)) / N,   dL/dr_r = (σ(−d) + 2c·(r_c + r_r)) / N.
// N is the normaliser the caller gives (the pairs of its whole update), so micro-batches of
// one update add up to the update's loss and gradients.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>

#include "rlft/core/error.hpp"

namespace rlft {

// Sums over the pairs of one call: the loss is already divided by the normaliser, the counts
// are not, so calls on micro-batches of one update add up.
struct bradley_terry_sums {
  double loss = 0.0;
  std::size_t pairs = 0;
  std::size_t correct = 0;          // pairs with r_c > r_r (a tie counts as wrong)
  double chosen_scores = 0.0;       // Σ r_c
  double rejected_scores = 0.0;     // Σ r_r

  void add(const bradley_terry_sums& other) noexcept {
    loss += other.loss;
    pairs += other.pairs;
    correct += other.correct;
    chosen_scores += other.chosen_scores;
    rejected_scores += other.rejected_scores;
  }
  double accuracy() const noexcept { return pairs ? static_cast<double>(correct) / static_cast<double>(pairs) : 0.0; }
};

// Writes dL/dr_c and dL/dr_r of each pair (spans the size of the scores; margins empty for none).
// Throws rlft::error for mismatched sizes, a normaliser below the pairs or a negative or
// non-finite coefficient, and rlft::data_error naming the pair for a non-finite score or margin.
inline bradley_terry_sums bradley_terry_loss(std::span<const float> chosen, std::span<const float> rejected,
                                             std::span<const float> margins, double center_rewards_coefficient,
                                             std::size_t normaliser, std::span<float> dchosen,
                                             std::span<float> drejected) {
  const std::size_t pairs = chosen.size();
  if (rejected.size() != pairs || dchosen.size() != pairs || drejected.size() != pairs ||
      (!margins.empty() && margins.size() != pairs))
    throw error(detail::make_message("bradley_terry_loss: ", pairs, " chosen scores, ", rejected.size(), " rejected, ",
                                     margins.size(), " margins, ", dchosen.size(), " and ", drejected.size(),
                                     " gradients; all must agree (margins may be empty)"));
  if (normaliser < pairs || normaliser == 0)
    throw error(detail::make_message("bradley_terry_loss: normaliser ", normaliser, " below the ", pairs,
                                     " pairs or zero"));
  detail::check_option(std::isfinite(center_rewards_coefficient) && center_rewards_coefficient >= 0.0,
                       "bradley_terry_loss", "center_rewards_coefficient", center_rewards_coefficient,
                       "finite and >= 0");
  const double n = static_cast<double>(normaliser);
  bradley_terry_sums sums{.pairs = pairs};
  for (std::size_t i = 0; i < pairs; ++i) {
    const double c = chosen[i], r = rejected[i], m = margins.empty() ? 0.0 : margins[i];
    const auto refuse = [&](const char* what, double value) {
      throw data_error(detail::make_message("bradley_terry_loss: the ", what, " of pair ", i, " is ", value));
    };
    if (!std::isfinite(c)) refuse("chosen score", c);
    if (!std::isfinite(r)) refuse("rejected score", r);
    if (!std::isfinite(m)) refuse("margin", m);
    const double d = c - r - m;
    const double softplus_minus_d = std::max(-d, 0.0) + std::log1p(std::exp(-std::abs(d)));  // −log σ(d)
    const double sigmoid_minus_d = d >= 0.0 ? std::exp(-d) / (1.0 + std::exp(-d)) : 1.0 / (1.0 + std::exp(d));
    const double centre = center_rewards_coefficient * (c + r);
    sums.loss += (softplus_minus_d + centre * (c + r)) / n;
    dchosen[i] = static_cast<float>((-sigmoid_minus_d + 2.0 * centre) / n);
    drejected[i] = static_cast<float>((sigmoid_minus_d + 2.0 * centre) / n);
    sums.correct += c > r;
    sums.chosen_scores += c;
    sums.rejected_scores += r;
  }
  return sums;
}

}  // namespace rlft
