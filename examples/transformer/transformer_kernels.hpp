// Row-wise building blocks of the Qwen2/Llama decoder and their backward passes: RMSNorm
// (Zhang and Sennrich, NeurIPS 2019, eq. 4), rotary position embeddings in the rotate-half
// layout of Hugging Face (Su et al., "RoFormer", arXiv 2104.09864, eq. 34), causal softmax
// attention for one query row (Vaswani et al., 2017, eq. 1) with the backward pass of
// FlashAttention (Dao et al., arXiv 2205.14135, Algorithm 4: probabilities recomputed from the
// stored log-sum-exp), SwiGLU (Shazeer, arXiv 2002.05202, eq. 5) and the log-softmax statistics
// (log-sum-exp and entropy) of a row of logits.
//
// Every reduction here has one fixed order that depends only on the length reduced over, and
// the training forward and the decoder call these very functions (not inlined copies of them),
// so both produce identical bits for identical rows.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>

#include "row_stable_gemm.hpp"


namespace rlft::examples {

namespace kernel_detail {

using detail::float8;
using detail::load8;
using detail::multiply_add;
using detail::store8;

inline float horizontal_sum(const float8& v) noexcept {
  return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

}  // namespace kernel_detail

// Σ a_i·b_i with four 8-lane accumulators, then a fixed combination.
[[gnu::noinline]] inline float dot(const float* a, const float* b, std::size_t n) noexcept {
  using namespace kernel_detail;
  float8 acc[4] = {};
  float8 x, y;
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (std::size_t j = 0; j < 4; ++j) {
      load8(x, a + i + 8 * j);
      load8(y, b + i + 8 * j);
      multiply_add(acc[j], x, y);
    }
  for (; i + 8 <= n; i += 8) {
    load8(x, a + i);
    load8(y, b + i);
    multiply_add(acc[0], x, y);
  }
  const float8 total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  float sum = horizontal_sum(total);
  for (; i < n; ++i) sum = std::fma(a[i], b[i], sum);
  return sum;
}

// out_j = x · row_j for `count` rows `stride` floats apart, four rows at a time so that the
// multiply-add chains overlap. Each out_j is the same function of (x, row_j) wherever j falls.
[[gnu::noinline]] inline void dot_rows(const float* x, const float* rows, std::size_t stride, std::size_t count,
                                       std::size_t dim, float* out) noexcept {
  using namespace kernel_detail;
  const std::size_t vector_dim = dim - dim % 8;
  std::size_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const float* r0 = rows + j * stride;
    const float* r1 = r0 + stride;
    const float* r2 = r1 + stride;
    const float* r3 = r2 + stride;
    float8 acc0 = {}, acc1 = {}, acc2 = {}, acc3 = {}, xv, rv;
    for (std::size_t d = 0; d < vector_dim; d += 8) {
      load8(xv, x + d);
      load8(rv, r0 + d);
      multiply_add(acc0, xv, rv);
      load8(rv, r1 + d);
      multiply_add(acc1, xv, rv);
      load8(rv, r2 + d);
      multiply_add(acc2, xv, rv);
      load8(rv, r3 + d);
      multiply_add(acc3, xv, rv);
    }
    float s0 = horizontal_sum(acc0), s1 = horizontal_sum(acc1), s2 = horizontal_sum(acc2), s3 = horizontal_sum(acc3);
    for (std::size_t d = vector_dim; d < dim; ++d) {
      s0 = std::fma(x[d], r0[d], s0);
      s1 = std::fma(x[d], r1[d], s1);
      s2 = std::fma(x[d], r2[d], s2);
      s3 = std::fma(x[d], r3[d], s3);
    }
    out[j] = s0;
    out[j + 1] = s1;
    out[j + 2] = s2;
    out[j + 3] = s3;
  }
  for (; j < count; ++j) {
    const float* r0 = rows + j * stride;
    float8 acc0 = {}, xv, rv;
    for (std::size_t d = 0; d < vector_dim; d += 8) {
      load8(xv, x + d);
      load8(rv, r0 + d);
      multiply_add(acc0, xv, rv);
    }
    float s0 = horizontal_sum(acc0);
    for (std::size_t d = vector_dim; d < dim; ++d) s0 = std::fma(x[d], r0[d], s0);
    out[j] = s0;
  }
}

// y += α·x.
inline void add_scaled(float* y, const float* x, float alpha, std::size_t n) noexcept {
  using namespace kernel_detail;
  const float8 scale = {alpha, alpha, alpha, alpha, alpha, alpha, alpha, alpha};
  std::size_t i = 0;
  float8 xv, yv;
  for (; i + 8 <= n; i += 8) {
    load8(xv, x + i);
    load8(yv, y + i);
    multiply_add(yv, scale, xv);
    store8(y + i, yv);
  }
  for (; i < n; ++i) y[i] = std::fma(alpha, x[i], y[i]);
}

// out = x / √(mean(x²) + ε) ⊙ weight for one row; returns the inverse root mean square.
[[gnu::noinline]] inline float rms_norm_row(const float* x, const float* weight, std::size_t width, float epsilon,
                                            float* out) noexcept {
  const float mean_square = dot(x, x, width) / static_cast<float>(width);
  const float inverse_rms = 1.0f / std::sqrt(mean_square + epsilon);
  for (std::size_t i = 0; i < width; ++i) out[i] = weight[i] * (x[i] * inverse_rms);
  return inverse_rms;
}

inline void rms_norm_rows(const float* x, std::size_t rows, std::size_t width, const float* weight, float epsilon,
                          float* out, float* inverse_rms) {
  const auto count = static_cast<std::ptrdiff_t>(rows);
#pragma omp parallel for schedule(static) if (rows * width > 16384)
  for (std::ptrdiff_t r = 0; r < count; ++r) {
    const auto row = static_cast<std::size_t>(r);
    inverse_rms[row] = rms_norm_row(x + row * width, weight, width, epsilon, out + row * width);
  }
}

// Given dL/d(out) of one row: dL/dx (added to dx) and this row's share of dL/d(weight)
// (added to dweight). With n = x·r (r the inverse RMS) and g = dout ⊙ weight:
//   dx = r·(g − n·mean(g ⊙ n)),  dweight += dout ⊙ n.
inline void rms_norm_row_backward(const float* x, const float* weight, std::size_t width, float inverse_rms,
                                  const float* dout, float* dx, float* dweight) noexcept {
  float projection = 0.0f;
  for (std::size_t i = 0; i < width; ++i) projection += dout[i] * weight[i] * (x[i] * inverse_rms);
  projection /= static_cast<float>(width);
  for (std::size_t i = 0; i < width; ++i) {
    const float normed = x[i] * inverse_rms;
    dx[i] += inverse_rms * (dout[i] * weight[i] - normed * projection);
    if (dweight != nullptr) dweight[i] += dout[i] * normed;
  }
}

// Rotary tables: cos and sin of position · θ^(−2i/d) for i < d/2, computed in float as
// transformers does (inverse frequencies first, then one product per position).
class rotary_table {
 public:
  rotary_table() = default;
  rotary_table(std::size_t head_dim, float theta) : half_(head_dim / 2) {
    inverse_frequency_.resize(half_);
    for (std::size_t i = 0; i < half_; ++i)
      inverse_frequency_[i] =
          1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
  }

  void reserve(std::size_t positions) {
    const std::size_t have = cos_.size() / std::max<std::size_t>(half_, 1);
    if (positions <= have) return;
    cos_.resize(positions * half_);
    sin_.resize(positions * half_);
    for (std::size_t p = have; p < positions; ++p)
      for (std::size_t i = 0; i < half_; ++i) {
        const float angle = static_cast<float>(p) * inverse_frequency_[i];
        cos_[p * half_ + i] = std::cos(angle);
        sin_[p * half_ + i] = std::sin(angle);
      }
  }

  const float* cos(std::size_t position) const noexcept { return cos_.data() + position * half_; }
  const float* sin(std::size_t position) const noexcept { return sin_.data() + position * half_; }

 private:
  std::size_t half_ = 0;
  std::vector<float> inverse_frequency_;
  std::vector<float> cos_;
  std::vector<float> sin_;
};

// Rotates `heads` consecutive heads of one row in place (rotate-half layout).
[[gnu::noinline]] inline void apply_rotary(float* row, std::size_t heads, std::size_t head_dim, const float* cos,
                                           const float* sin) noexcept {
  const std::size_t half = head_dim / 2;
  for (std::size_t h = 0; h < heads; ++h) {
    float* x = row + h * head_dim;
    for (std::size_t i = 0; i < half; ++i) {
      const float first = x[i];
      const float second = x[i + half];
      x[i] = first * cos[i] - second * sin[i];
      x[i + half] = second * cos[i] + first * sin[i];
    }
  }
}

// The transpose of the rotation (a rotation by −angle): gradients back to the unrotated row.
inline void apply_rotary_backward(float* row, std::size_t heads, std::size_t head_dim, const float* cos,
                                  const float* sin) noexcept {
  const std::size_t half = head_dim / 2;
  for (std::size_t h = 0; h < heads; ++h) {
    float* x = row + h * head_dim;
    for (std::size_t i = 0; i < half; ++i) {
      const float first = x[i];
      const float second = x[i + half];
      x[i] = first * cos[i] + second * sin[i];
      x[i + half] = second * cos[i] - first * sin[i];
    }
  }
}

// One query row attending to `count` key/value rows (row stride `stride`): writes the output
// (head_dim floats) and returns the log-sum-exp of the scaled scores for the backward pass.
// `scores` is scratch for `count` floats.
[[gnu::noinline]] inline float attention_row(const float* query, const float* keys, const float* values,
                                             std::size_t stride, std::size_t count, std::size_t head_dim, float scale,
                                             float* scores, float* out) noexcept {
  dot_rows(query, keys, stride, count, head_dim, scores);
  float maximum = -std::numeric_limits<float>::infinity();
  for (std::size_t j = 0; j < count; ++j) {
    scores[j] *= scale;
    maximum = std::max(maximum, scores[j]);
  }
  float total = 0.0f;
  for (std::size_t j = 0; j < count; ++j) {
    scores[j] = std::exp(scores[j] - maximum);
    total += scores[j];
  }
  const float inverse_total = 1.0f / total;
  std::fill(out, out + head_dim, 0.0f);
  for (std::size_t j = 0; j < count; ++j) add_scaled(out, values + j * stride, scores[j] * inverse_total, head_dim);
  return maximum + std::log(total);
}

// Backward of attention_row for one query: with p_j = exp(s_j − lse) recomputed,
//   dp_j = dout·v_j,  ds_j = p_j (dp_j − dout·out),  dq += scale Σ ds_j k_j,
//   dk_j += scale ds_j q,  dv_j += p_j dout.
// `scratch` holds 2·count floats.
inline void attention_row_backward(const float* query, const float* keys, const float* values, std::size_t stride,
                                   std::size_t count, std::size_t head_dim, float scale, float log_sum_exp,
                                   const float* out, const float* dout, float* dquery, float* dkeys, float* dvalues,
                                   std::size_t gradient_stride, float* scratch) noexcept {
  float* probabilities = scratch;
  float* dprobabilities = scratch + count;
  dot_rows(query, keys, stride, count, head_dim, probabilities);
  dot_rows(dout, values, stride, count, head_dim, dprobabilities);
  const float dout_dot_out = dot(dout, out, head_dim);
  for (std::size_t j = 0; j < count; ++j) {
    const float probability = std::exp(probabilities[j] * scale - log_sum_exp);
    const float dscore = probability * (dprobabilities[j] - dout_dot_out) * scale;
    add_scaled(dquery, keys + j * stride, dscore, head_dim);
    add_scaled(dkeys + j * gradient_stride, query, dscore, head_dim);
    add_scaled(dvalues + j * gradient_stride, dout, probability, head_dim);
  }
}

inline float sigmoid(float x) noexcept { return 1.0f / (1.0f + std::exp(-x)); }

// act = silu(gate) ⊙ up for one row of [gate | up].
[[gnu::noinline]] inline void swiglu_row(const float* gate_up, std::size_t width, float* act) noexcept {
  const float* up = gate_up + width;
  for (std::size_t i = 0; i < width; ++i) act[i] = gate_up[i] * sigmoid(gate_up[i]) * up[i];
}

inline void swiglu_row_backward(const float* gate_up, std::size_t width, const float* dact, float* dgate_up) noexcept {
  const float* up = gate_up + width;
  for (std::size_t i = 0; i < width; ++i) {
    const float gate = gate_up[i];
    const float s = sigmoid(gate);
    dgate_up[i] = dact[i] * up[i] * s * (1.0f + gate * (1.0f - s));
    dgate_up[width + i] = dact[i] * gate * s;
  }
}

struct log_softmax_statistics {
  float log_sum_exp = 0.0f;
  float entropy = 0.0f;
};

// log-sum-exp and entropy −Σ p log p = lse − Σ p z of one row of logits z.
[[gnu::noinline]] inline log_softmax_statistics log_softmax_row(const float* logits, std::size_t count) noexcept {
  float maximum = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < count; ++i) maximum = std::max(maximum, logits[i]);
  float total = 0.0f;
  float weighted = 0.0f;
  for (std::size_t i = 0; i < count; ++i) {
    const float e = std::exp(logits[i] - maximum);
    total += e;
    weighted += e * (logits[i] - maximum);
  }
  const float log_total = std::log(total);
  return {maximum + log_total, log_total - weighted / total};
}

}  // namespace rlft::examples
