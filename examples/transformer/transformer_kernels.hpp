// Row-wise building blocks of the Qwen2/Llama decoder and their backward passes: RMSNorm
// (Zhang and Sennrich, NeurIPS 2019, eq. 4), rotary position embeddings in the rotate-half
// layout of Hugging Face (Su et al., "RoFormer", arXiv 2104.09864, eq. 34), causal softmax
// attention for one query row (Vaswani et al., 2017, eq. 1) with the backward pass of
// FlashAttention (Dao et al., arXiv 2205.14135, Algorithm 4: probabilities recomputed from the
// stored log-sum-exp, in matrix form), SwiGLU (Shazeer, arXiv 2002.05202, eq. 5) and the log-softmax statistics
// (log-sum-exp and entropy) of a row of logits.
//
// Every reduction here has one fixed order that depends only on the length reduced over, and
// the training forward and the decoder call these very functions (not inlined copies of them),
// so both produce identical bits for identical rows.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

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

using int8x = std::int32_t __attribute__((vector_size(32)));

// e^x for 8 lanes: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by the degree-5 minimax polynomial of
// Cephes' expf (relative error about 1e-7), 2^n through the exponent bits. Inputs are clamped
// to [−87.3, 88.4], so e^x never overflows and tiny results stay normal.
inline void exp8(float8& x) noexcept {
  const float8 upper = {88.3762626647949f, 88.3762626647949f, 88.3762626647949f, 88.3762626647949f,
                        88.3762626647949f, 88.3762626647949f, 88.3762626647949f, 88.3762626647949f};
  const float8 lower = -(upper - 1.0108183002f);  // −87.3365…
  x = x > upper ? upper : x;
  x = x < lower ? lower : x;
  const float8 scaled = x * 1.44269504088896341f + 0.5f;
  float8 n = __builtin_convertvector(__builtin_convertvector(scaled, int8x), float8);
  n = n > scaled ? n - 1.0f : n;  // floor
  x = x - n * 0.693359375f;
  x = x + n * 2.12194440e-4f;
  const float8 square = x * x;
  float8 y = 1.9875691500e-4f * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * square + x + 1.0f;
  const int8x exponent = (__builtin_convertvector(n, int8x) + 127) << 23;
  x = y * reinterpret_cast<float8>(exponent);
}

}  // namespace kernel_detail

// x_i ← e^{x_i} in place; every element by exp8 (the tail through a padded vector), so an
// element's result does not depend on its position.
inline void exp_in_place(float* x, std::size_t n) noexcept {
  using namespace kernel_detail;
  float8 v;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    load8(v, x + i);
    exp8(v);
    store8(x + i, v);
  }
  if (i < n) {
    float tail[8] = {};
    std::copy(x + i, x + n, tail);
    load8(v, tail);
    exp8(v);
    store8(tail, v);
    std::copy(tail, tail + (n - i), x + i);
  }
}

// Σ x_i in a fixed order: eight lanes, then the lanes combined.
inline float sum(const float* x, std::size_t n) noexcept {
  using namespace kernel_detail;
  float8 acc = {}, v;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    load8(v, x + i);
    acc += v;
  }
  float total = horizontal_sum(acc);
  for (; i < n; ++i) total += x[i];
  return total;
}

namespace kernel_detail {

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

namespace kernel_detail {

// Rotates `heads` consecutive heads of one row in place (rotate-half layout), by −angle when
// Inverse: the transpose of the rotation, which carries gradients back to the unrotated row.
template <bool Inverse>
inline void rotate_heads(float* row, std::size_t heads, std::size_t head_dim, const float* cos,
                         const float* sin) noexcept {
  const std::size_t half = head_dim / 2;
  for (std::size_t h = 0; h < heads; ++h) {
    float* x = row + h * head_dim;
    for (std::size_t i = 0; i < half; ++i) {
      const float first = x[i];
      const float second = x[i + half];
      const float s = Inverse ? -sin[i] : sin[i];
      x[i] = first * cos[i] - second * s;
      x[i + half] = second * cos[i] + first * s;
    }
  }
}

}  // namespace kernel_detail

[[gnu::noinline]] inline void apply_rotary(float* row, std::size_t heads, std::size_t head_dim, const float* cos,
                                           const float* sin) noexcept {
  kernel_detail::rotate_heads<false>(row, heads, head_dim, cos, sin);
}

inline void apply_rotary_backward(float* row, std::size_t heads, std::size_t head_dim, const float* cos,
                                  const float* sin) noexcept {
  kernel_detail::rotate_heads<true>(row, heads, head_dim, cos, sin);
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
  for (std::size_t j = 0; j < count; ++j) scores[j] -= maximum;
  exp_in_place(scores, count);
  const float total = sum(scores, count);
  const float inverse_total = 1.0f / total;
  std::fill(out, out + head_dim, 0.0f);
  for (std::size_t j = 0; j < count; ++j) add_scaled(out, values + j * stride, scores[j] * inverse_total, head_dim);
  return maximum + std::log(total);
}

// out (columns × rows) = inᵀ (in: rows × columns, both row-major), in 8 × 8 blocks transposed
// in registers where AVX is there.
inline void transpose(const float* in, std::size_t rows, std::size_t columns, float* out) {
  constexpr std::size_t block = 8;
  const std::size_t full_rows = rows - rows % block;
  const std::size_t full_columns = columns - columns % block;
  const auto row_blocks = static_cast<std::ptrdiff_t>(full_rows / block);
#pragma omp parallel for schedule(static) if (rows * columns > 65536)
  for (std::ptrdiff_t row_block = 0; row_block < row_blocks; ++row_block) {
    const std::size_t r0 = static_cast<std::size_t>(row_block) * block;
    for (std::size_t c0 = 0; c0 < full_columns; c0 += block) {
#if defined(__AVX__)
      __m256 r[8], t[8];
      for (std::size_t i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(in + (r0 + i) * columns + c0);
      for (std::size_t i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
      }
      for (std::size_t i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
      }
      for (std::size_t i = 0; i < 4; ++i) {
        _mm256_storeu_ps(out + (c0 + i) * rows + r0, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
        _mm256_storeu_ps(out + (c0 + i + 4) * rows + r0, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
      }
#else
      for (std::size_t i = 0; i < block; ++i)
        for (std::size_t j = 0; j < block; ++j) out[(c0 + j) * rows + r0 + i] = in[(r0 + i) * columns + c0 + j];
#endif
    }
  }
  // Ragged edges: the last rows % 8 rows and the last columns % 8 columns.
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = (r < full_rows ? full_columns : 0); c < columns; ++c) out[c * rows + r] = in[r * columns + c];
}

// Causal attention of one head over one sequence, backward (FlashAttention's Algorithm 4 in
// matrix form, probabilities recomputed from the stored log-sum-exp):
//   P = exp(scale·QKᵀ − lse) (causal),  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(dO ⊙ O)),
//   dQ += scale·dS·K,  dK += scale·dSᵀ·Q,  dV += Pᵀ·dO,
// as five GEMMs of the row-stable kernel over T × T matrices that skip the masked triangle
// where a whole tile of output or a whole run of K lies in it (triangle::...).
struct attention_backward_problem {
  std::size_t length = 0;
  std::size_t head_dim = 0;
  float scale = 1.0f;
  const float* queries = nullptr;  // rows qkv_stride apart, likewise keys, values and their gradients
  const float* keys = nullptr;
  const float* values = nullptr;
  std::size_t qkv_stride = 0;
  const float* log_sum_exp = nullptr;  // one per query row, lse_stride apart
  std::size_t lse_stride = 1;
  const float* out = nullptr;  // rows out_stride apart, likewise dout
  const float* dout = nullptr;
  std::size_t out_stride = 0;
  float* dqueries = nullptr;
  float* dkeys = nullptr;
  float* dvalues = nullptr;
};

struct attention_backward_workspace {
  std::vector<float> probabilities, dscores, transposed, row_dot;
  packed_weight operand;
};

inline void attention_backward(const attention_backward_problem& problem, attention_backward_workspace& w) {
  const std::size_t n = problem.length;
  const std::size_t d = problem.head_dim;
  w.probabilities.resize(n * n);
  w.dscores.resize(n * n);
  w.transposed.resize(n * n);
  w.row_dot.resize(n);
  // Scores and dP = dO·Vᵀ.
  w.operand.pack_rows(problem.keys, n, d, problem.qkv_stride);
  row_stable_gemm(problem.queries, problem.qkv_stride, n, w.operand, w.probabilities.data(), n, false,
                  triangle::lower_output);
  w.operand.pack_rows(problem.values, n, d, problem.qkv_stride);
  row_stable_gemm(problem.dout, problem.out_stride, n, w.operand, w.dscores.data(), n, false, triangle::lower_output);
  for (std::size_t t = 0; t < n; ++t) {
    const float lse = problem.log_sum_exp[t * problem.lse_stride];
    const float dout_dot_out = dot(problem.dout + t * problem.out_stride, problem.out + t * problem.out_stride, d);
    float* p = w.probabilities.data() + t * n;
    float* ds = w.dscores.data() + t * n;
    for (std::size_t j = 0; j <= t; ++j) p[j] = p[j] * problem.scale - lse;
    exp_in_place(p, t + 1);
    for (std::size_t j = 0; j <= t; ++j) ds[j] = p[j] * (ds[j] - dout_dot_out) * problem.scale;
    std::fill(p + t + 1, p + n, 0.0f);
    std::fill(ds + t + 1, ds + n, 0.0f);
  }
  // dQ += dS·K.
  w.operand.pack_columns(problem.keys, n, d, problem.qkv_stride);
  row_stable_gemm(w.dscores.data(), n, n, w.operand, problem.dqueries, problem.qkv_stride, /*accumulate=*/true,
                  triangle::lower_a);
  // dK += dSᵀ·Q.
  transpose(w.dscores.data(), n, n, w.transposed.data());
  w.operand.pack_columns(problem.queries, n, d, problem.qkv_stride);
  row_stable_gemm(w.transposed.data(), n, n, w.operand, problem.dkeys, problem.qkv_stride, /*accumulate=*/true,
                  triangle::upper_a);
  // dV += Pᵀ·dO.
  transpose(w.probabilities.data(), n, n, w.transposed.data());
  w.operand.pack_columns(problem.dout, n, d, problem.out_stride);
  row_stable_gemm(w.transposed.data(), n, n, w.operand, problem.dvalues, problem.qkv_stride, /*accumulate=*/true,
                  triangle::upper_a);
}

// act = silu(gate) ⊙ up for one row of [gate | up], silu(g) = g / (1 + e^−g).
[[gnu::noinline]] inline void swiglu_row(const float* gate_up, std::size_t width, float* act) noexcept {
  const float* up = gate_up + width;
  for (std::size_t i = 0; i < width; ++i) act[i] = -gate_up[i];
  exp_in_place(act, width);
  for (std::size_t i = 0; i < width; ++i) act[i] = gate_up[i] / (1.0f + act[i]) * up[i];
}

// With s = σ(g): d gate = dact · up · s (1 + g (1 − s)), d up = dact · g · s.
inline void swiglu_row_backward(const float* gate_up, std::size_t width, const float* dact, float* dgate_up) noexcept {
  const float* up = gate_up + width;
  float* sigmoid = dgate_up + width;  // scratch until the up gradients overwrite it
  for (std::size_t i = 0; i < width; ++i) sigmoid[i] = -gate_up[i];
  exp_in_place(sigmoid, width);
  for (std::size_t i = 0; i < width; ++i) {
    const float gate = gate_up[i];
    const float s = 1.0f / (1.0f + sigmoid[i]);
    dgate_up[i] = dact[i] * up[i] * s * (1.0f + gate * (1.0f - s));
    dgate_up[width + i] = dact[i] * gate * s;
  }
}

struct log_softmax_statistics {
  float log_sum_exp = 0.0f;
  float entropy = 0.0f;
};

// log-sum-exp and entropy −Σ p log p = lse − Σ p z of one row of logits z; `scratch` holds
// `count` floats.
[[gnu::noinline]] inline log_softmax_statistics log_softmax_row(const float* logits, std::size_t count,
                                                                float* scratch) noexcept {
  float maximum = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < count; ++i) maximum = std::max(maximum, logits[i]);
  for (std::size_t i = 0; i < count; ++i) scratch[i] = logits[i] - maximum;
  const float weighted_numerator = [&] {
    exp_in_place(scratch, count);
    float weighted = 0.0f;
    for (std::size_t i = 0; i < count; ++i) weighted += scratch[i] * (logits[i] - maximum);
    return weighted;
  }();
  const float total = sum(scratch, count);
  const float log_total = std::log(total);
  return {maximum + log_total, log_total - weighted_numerator / total};
}

}  // namespace rlft::examples
