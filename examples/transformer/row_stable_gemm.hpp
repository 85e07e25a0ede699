// C = A·Wᵀ (+ bias) for the transformer's forward pass, written so that every output element
// is computed by one fixed sequence of operations — the bias, then one fused multiply-add per
// k = 0, 1, …, K−1 in order — whatever the number of rows, their position in the matrix or the
// thread count. A row of C therefore depends only on the same row of A: the decoder, which
// multiplies a handful of rows per step, produces bit for bit the activations the training
// forward produces for the whole packed batch, and the log-probs reported while sampling equal
// those of training (the rollout/training mismatch does not exist by construction).
//
// The kernel is the usual register-blocked one (Goto and van de Geijn, "Anatomy of
// high-performance matrix multiplication", TOMS 2008): W is packed once into panels of 16
// columns of Wᵀ, and a micro-kernel keeps a rows × 16 tile of C in registers while it streams
// K. Unlike a BLAS it never splits K into separately summed partial products (which is where
// BLAS results start to depend on the matrix shape).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "rlft/core/error.hpp"


namespace rlft::examples {

struct row_stable_gemm_tuning {
  std::size_t panel_columns = 16;  // fixed by the micro-kernel: two 8-float vectors
  std::size_t tile_rows = 6;       // rows of the micro-kernel (12 accumulators + 2 B vectors)
  std::size_t block_rows = 48;     // rows of A swept per panel while they stay in L2
  std::size_t block_panels = 4;    // panels per parallel task
  std::size_t block_depth = 256;   // K per pass: a 6-row A slice and a panel slice fit in L1
};
inline constexpr row_stable_gemm_tuning row_stable_gemm_defaults{};

// W (N × K, row-major, the Hugging Face layout of a linear layer's weight) repacked as ⌈N/16⌉
// panels, panel p holding Wᵀ[k][16p .. 16p+15] for k = 0..K−1 (zero beyond N); the bias is
// padded the same way.
class packed_weight {
 public:
  packed_weight() = default;

  void pack(std::span<const float> weight, std::span<const float> bias, std::size_t rows, std::size_t columns) {
    RLFT_ASSERT(weight.size() == rows * columns);
    RLFT_ASSERT(bias.empty() || bias.size() == rows);
    pack_rows(weight.data(), rows, columns, columns);
    std::copy(bias.begin(), bias.end(), bias_.begin());
  }

  // W's rows `row_stride` floats apart (a head's keys inside the fused q/k/v rows, say).
  void pack_rows(const float* weight, std::size_t rows, std::size_t columns, std::size_t row_stride) {
    constexpr std::size_t width = row_stable_gemm_defaults.panel_columns;
    allocate(rows, columns);
    const auto panels = static_cast<std::ptrdiff_t>(panels_);
#pragma omp parallel for schedule(static) if (rows * columns > 65536)
    for (std::ptrdiff_t p = 0; p < panels; ++p) {
      float* panel = panel_data(static_cast<std::size_t>(p));
      const std::size_t first = static_cast<std::size_t>(p) * width;
      const std::size_t count = std::min(width, rows - first);
      for (std::size_t j = 0; j < count; ++j) {
        const float* source = weight + (first + j) * row_stride;
        for (std::size_t k = 0; k < columns; ++k) panel[k * width + j] = source[k];
      }
    }
  }

  // The operand of C = A · matrix (matrix: rows × columns, rows `row_stride` floats apart), i.e.
  // Wᵀ = matrix: the panels hold consecutive columns of `matrix`, copied row segment by row
  // segment. The backward pass uses it for dX = dY · W and dW = dYᵀ · X.
  void pack_columns(const float* matrix, std::size_t rows, std::size_t columns, std::size_t row_stride) {
    constexpr std::size_t width = row_stable_gemm_defaults.panel_columns;
    allocate(columns, rows);
    const auto panels = static_cast<std::ptrdiff_t>(panels_);
#pragma omp parallel for schedule(static) if (rows * columns > 65536)
    for (std::ptrdiff_t p = 0; p < panels; ++p) {
      float* panel = panel_data(static_cast<std::size_t>(p));
      const std::size_t first = static_cast<std::size_t>(p) * width;
      const std::size_t count = std::min(width, columns - first);
      for (std::size_t q = 0; q < rows; ++q)
        std::memcpy(panel + q * width, matrix + q * row_stride + first, count * sizeof(float));
    }
  }

  void pack_columns(std::span<const float> matrix, std::size_t rows, std::size_t columns) {
    RLFT_ASSERT(matrix.size() == rows * columns);
    pack_columns(matrix.data(), rows, columns, columns);
  }

  std::size_t rows() const noexcept { return rows_; }        // N: output features
  std::size_t columns() const noexcept { return columns_; }  // K: input features
  std::size_t panels() const noexcept { return panels_; }
  const float* panel_data(std::size_t p) const noexcept {
    return data_.data() + offset_ + p * columns_ * row_stable_gemm_defaults.panel_columns;
  }
  const float* panel_bias(std::size_t p) const noexcept {
    return bias_.data() + p * row_stable_gemm_defaults.panel_columns;
  }

 private:
  // Zeroed panels (the padding beyond N must be zero) aligned to 32 bytes, and a zero bias.
  void allocate(std::size_t rows, std::size_t columns) {
    constexpr std::size_t width = row_stable_gemm_defaults.panel_columns;
    rows_ = rows;
    columns_ = columns;
    panels_ = (rows + width - 1) / width;
    data_.assign(panels_ * columns * width + 8, 0.0f);  // + 8: room to align to 32 bytes
    offset_ = (32 - reinterpret_cast<std::uintptr_t>(data_.data()) % 32) % 32 / sizeof(float);
    bias_.assign(panels_ * width, 0.0f);
  }

  float* panel_data(std::size_t p) noexcept {
    return data_.data() + offset_ + p * columns_ * row_stable_gemm_defaults.panel_columns;
  }

  std::size_t rows_ = 0;
  std::size_t columns_ = 0;
  std::size_t panels_ = 0;
  std::size_t offset_ = 0;
  std::vector<float> data_;
  std::vector<float> bias_;
};

namespace detail {

using float8 = float __attribute__((vector_size(32)));

// Vectors go by reference: a 32-byte vector passed by value has a different ABI with and
// without AVX, which GCC warns about in builds without -mavx.
inline void load8(float8& v, const float* p) noexcept { std::memcpy(&v, p, sizeof v); }
inline void store8(float* p, const float8& v) noexcept { std::memcpy(p, &v, sizeof v); }

// acc += a·b with one rounding where the CPU has FMA, two otherwise; never chosen per call site.
inline void multiply_add(float8& acc, const float8& a, const float8& b) noexcept {
#if defined(__FMA__)
  acc = reinterpret_cast<float8>(
      _mm256_fmadd_ps(reinterpret_cast<__m256>(a), reinterpret_cast<__m256>(b), reinterpret_cast<__m256>(acc)));
#else
  const float8 product = a * b;
  acc = acc + product;
#endif
}

// Rows × 16 tile of C = bias + A·Wᵀ (or C += A·Wᵀ when accumulating) over the whole of K.
// `columns` of the tile are stored.
template <std::size_t Rows>
void row_stable_tile(const float* a, std::size_t lda, const float* panel, const float* bias, std::size_t k_count,
                     float* c, std::size_t ldc, std::size_t columns, bool accumulate) noexcept {
  float8 acc[Rows][2];
  for (std::size_t r = 0; r < Rows; ++r) {
    if (accumulate) {
      float row[16] = {};
      std::memcpy(row, c + r * ldc, columns * sizeof(float));
      load8(acc[r][0], row);
      load8(acc[r][1], row + 8);
    } else {
      load8(acc[r][0], bias);
      load8(acc[r][1], bias + 8);
    }
  }
  float8 b0, b1;
  for (std::size_t k = 0; k < k_count; ++k) {
    load8(b0, panel + k * 16);
    load8(b1, panel + k * 16 + 8);
    for (std::size_t r = 0; r < Rows; ++r) {
      const float x = a[r * lda + k];
      const float8 broadcast = {x, x, x, x, x, x, x, x};
      multiply_add(acc[r][0], broadcast, b0);
      multiply_add(acc[r][1], broadcast, b1);
    }
  }
  for (std::size_t r = 0; r < Rows; ++r) {
    if (columns == 16) {
      store8(c + r * ldc, acc[r][0]);
      store8(c + r * ldc + 8, acc[r][1]);
    } else {
      float row[16];
      store8(row, acc[r][0]);
      store8(row + 8, acc[r][1]);
      std::memcpy(c + r * ldc, row, columns * sizeof(float));
    }
  }
}

template <std::size_t Rows = 6>
void row_stable_tail(std::size_t remaining, const float* a, std::size_t lda, const float* panel, const float* bias,
                     std::size_t k_count, float* c, std::size_t ldc, std::size_t columns, bool accumulate) noexcept {
  if constexpr (Rows > 0) {
    if (remaining == Rows) return row_stable_tile<Rows>(a, lda, panel, bias, k_count, c, ldc, columns, accumulate);
    row_stable_tail<Rows - 1>(remaining, a, lda, panel, bias, k_count, c, ldc, columns, accumulate);
  }
}

}  // namespace detail

// What a product may skip when the operands of causal attention are triangular (the square
// case, rows = W.rows() = W.columns()):
//   lower_output  only C[r][j] with j <= r is wanted (the rest may hold anything);
//   lower_a       A[r][k] = 0 for k > r: the k after a row block's last row are skipped;
//   upper_a       A[r][k] = 0 for k < r: the k before a row block's first row are skipped.
// A skipped term is an exact zero product, so each element keeps its chain of multiply-adds but
// for the sign of a zero.
enum class triangle { none, lower_output, lower_a, upper_a };

// C (rows × W.rows(), row stride ldc) = A (rows × W.columns(), row stride lda) · Wᵀ + bias, or
// C += A · Wᵀ when `accumulate` (the bias is then not added).
inline void row_stable_gemm(const float* a, std::size_t lda, std::size_t rows, const packed_weight& weight, float* c,
                            std::size_t ldc, bool accumulate = false, triangle shape = triangle::none) {
  constexpr auto tuning = row_stable_gemm_defaults;
  static_assert(tuning.panel_columns == 16 && tuning.tile_rows == 6, "the micro-kernel is 6 × 16");
  if (rows == 0 || weight.rows() == 0) return;
  const std::size_t row_blocks = (rows + tuning.block_rows - 1) / tuning.block_rows;
  const std::size_t panel_groups = (weight.panels() + tuning.block_panels - 1) / tuning.block_panels;
  const auto tasks = static_cast<std::ptrdiff_t>(row_blocks * panel_groups);
  const std::size_t k_count = weight.columns();
  [[maybe_unused]] const bool worth_threads = rows * weight.rows() * k_count > (1u << 17);  // unused without OpenMP
#pragma omp parallel for schedule(static) if (worth_threads)
  for (std::ptrdiff_t task = 0; task < tasks; ++task) {
    const std::size_t row_block = static_cast<std::size_t>(task) / panel_groups;
    const std::size_t panel_group = static_cast<std::size_t>(task) % panel_groups;
    const std::size_t first_row = row_block * tuning.block_rows;
    const std::size_t last_row = std::min(rows, first_row + tuning.block_rows);
    const std::size_t first_panel = panel_group * tuning.block_panels;
    std::size_t last_panel = std::min(weight.panels(), first_panel + tuning.block_panels);
    if (shape == triangle::lower_output)  // panels wholly right of the block's last row
      last_panel = std::min(last_panel, (last_row - 1) / tuning.panel_columns + 1);
    const std::size_t k_begin = shape == triangle::upper_a ? std::min(first_row, k_count) : 0;
    const std::size_t k_end = shape == triangle::lower_a ? std::min(last_row, k_count) : k_count;
    // K in slices: a slice continues the accumulators stored by the previous one, which is
    // exact (a float stored and reloaded is the same float), so each element's chain of
    // multiply-adds is unchanged by the slicing.
    for (std::size_t k0 = k_begin; k0 < k_end; k0 += tuning.block_depth) {
      const std::size_t depth = std::min(tuning.block_depth, k_end - k0);
      const bool continues = accumulate || k0 > k_begin;
      for (std::size_t p = first_panel; p < last_panel; ++p) {
        const std::size_t first_column = p * tuning.panel_columns;
        const std::size_t columns = std::min(tuning.panel_columns, weight.rows() - first_column);
        const float* panel = weight.panel_data(p) + k0 * tuning.panel_columns;
        std::size_t r = first_row;
        for (; r + tuning.tile_rows <= last_row; r += tuning.tile_rows)
          detail::row_stable_tile<6>(a + r * lda + k0, lda, panel, weight.panel_bias(p), depth,
                                     c + r * ldc + first_column, ldc, columns, continues);
        if (r < last_row)
          detail::row_stable_tail(last_row - r, a + r * lda + k0, lda, panel, weight.panel_bias(p), depth,
                                  c + r * ldc + first_column, ldc, columns, continues);
      }
    }
  }
}

}  // namespace rlft::examples
