// row_stable_gemm against a double-precision reference, and its defining property: a row of C
// has the same bits whichever rows are multiplied with it, and whatever the thread count; the
// blocked transpose the backward pass uses; the vectorised exponential.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "rlft/core/philox.hpp"
#include "transformer/row_stable_gemm.hpp"
#include "transformer/transformer_kernels.hpp"

namespace {

std::vector<float> random_values(std::size_t count, std::uint64_t stream) {
  std::vector<float> values(count);
  rlft::fill_uniform(values, 5, stream);
  for (float& v : values) v = 2.0f * v - 1.0f;
  return values;
}

}  // namespace

TEST_CASE("row_stable_gemm computes bias + A·Wᵀ, C = A·matrix and C += A·Wᵀ") {
  // Shapes that exercise partial panels (N = 37) and every tail height (M = 1..13).
  const std::size_t n = 37, k = 29;
  const auto w = random_values(n * k, 1), bias = random_values(n, 2);
  rlft::examples::packed_weight packed;
  packed.pack(w, bias, n, k);
  rlft::examples::packed_weight columns;
  columns.pack_columns(w, n, k);  // operand of A · w, with A of n columns
  for (std::size_t m = 1; m <= 13; ++m) {
    CAPTURE(m);
    const auto a = random_values(m * k, 10 + m);
    std::vector<float> c(m * n);
    rlft::examples::row_stable_gemm(a.data(), k, m, packed, c.data(), n);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        double expected = bias[j];
        for (std::size_t q = 0; q < k; ++q) expected += double{a[i * k + q]} * w[j * k + q];
        REQUIRE(c[i * n + j] == doctest::Approx(expected).epsilon(1e-5));
      }
    const auto accumulated_before = c;
    rlft::examples::row_stable_gemm(a.data(), k, m, packed, c.data(), n, /*accumulate=*/true);
    for (std::size_t i = 0; i < m * n; ++i)
      REQUIRE(c[i] == doctest::Approx(2.0 * accumulated_before[i] - bias[i % n]).epsilon(1e-5));

    const auto b = random_values(m * n, 30 + m);
    std::vector<float> product(m * k);
    rlft::examples::row_stable_gemm(b.data(), n, m, columns, product.data(), k);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t q = 0; q < k; ++q) {
        double expected = 0.0;
        for (std::size_t j = 0; j < n; ++j) expected += double{b[i * n + j]} * w[j * k + q];
        REQUIRE(product[i * k + q] == doctest::Approx(expected).epsilon(1e-5));
      }
  }
}

TEST_CASE("row_stable_gemm's triangle shapes skip only zero terms and unwanted outputs") {
  // Square 300 × 300 products: several row blocks (48), panels (16) and K slices (256).
  using rlft::examples::triangle;
  const std::size_t n = 300;
  auto lower = random_values(n * n, 60), upper = random_values(n * n, 61);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t q = 0; q < n; ++q) {
      if (q > r) lower[r * n + q] = 0.0f;
      if (q < r) upper[r * n + q] = 0.0f;
    }
  rlft::examples::packed_weight operand;
  operand.pack_columns(random_values(n * n, 62), n, n);
  const auto start = random_values(n * n, 63);
  const auto product = [&](const std::vector<float>& a, bool accumulate, triangle shape) {
    std::vector<float> c = start;
    rlft::examples::row_stable_gemm(a.data(), n, n, operand, c.data(), n, accumulate, shape);
    return c;
  };
  // Zero products change at most the sign of a zero, which == does not see.
  CHECK(product(lower, true, triangle::lower_a) == product(lower, true, triangle::none));
  CHECK(product(lower, false, triangle::lower_a) == product(lower, false, triangle::none));
  CHECK(product(upper, true, triangle::upper_a) == product(upper, true, triangle::none));
  CHECK(product(upper, false, triangle::upper_a) == product(upper, false, triangle::none));
  const auto all = random_values(n * n, 64);
  const auto full = product(all, false, triangle::none), wanted = product(all, false, triangle::lower_output);
  std::size_t different = 0, skipped = 0;
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < n; ++j) {
      if (j <= r) different += wanted[r * n + j] != full[r * n + j];
      else skipped += wanted[r * n + j] == start[r * n + j];
    }
  CHECK(different == 0);
  CHECK(skipped > n * n / 3);  // most of the upper triangle was not computed
}

TEST_CASE("a row of row_stable_gemm's result does not depend on the other rows or the thread count") {
  const std::size_t m = 211, n = 150, k = 300;  // several row blocks, panel groups and a tail
  const auto a = random_values(m * k, 3), w = random_values(n * k, 4);
  rlft::examples::packed_weight packed;
  packed.pack(w, {}, n, k);
  std::vector<float> all(m * n);
  rlft::examples::row_stable_gemm(a.data(), k, m, packed, all.data(), n);
  for (const std::size_t first : {0u, 5u, 47u, 48u, 100u, 210u}) {
    for (const std::size_t count : {1u, 2u, 7u}) {
      if (first + count > m) continue;
      std::vector<float> part(count * n);
      rlft::examples::row_stable_gemm(a.data() + first * k, k, count, packed, part.data(), n);
      CHECK(std::memcmp(part.data(), all.data() + first * n, part.size() * sizeof(float)) == 0);
    }
  }
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  std::vector<float> serial(m * n);
  rlft::examples::row_stable_gemm(a.data(), k, m, packed, serial.data(), n);
  omp_set_num_threads(threads);
  CHECK(std::memcmp(serial.data(), all.data(), all.size() * sizeof(float)) == 0);
#endif
}

TEST_CASE("transpose: full 8 × 8 blocks and ragged edges") {
  for (const auto& [rows, columns] : {std::pair<std::size_t, std::size_t>{16, 24}, {13, 21}, {3, 5}, {8, 1}, {300, 77}}) {
    CAPTURE(rows);
    CAPTURE(columns);
    const auto in = random_values(rows * columns, rows * 1000 + columns);
    std::vector<float> out(rows * columns, -1.0f);
    rlft::examples::transpose(in.data(), rows, columns, out.data());
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < columns; ++c) REQUIRE(out[c * rows + r] == in[r * columns + c]);
  }
}

TEST_CASE("exp_in_place agrees with std::exp to a few ulp and clamps instead of overflowing") {
  std::vector<float> x;
  for (float v = -87.0f; v <= 88.0f; v += 0.37f) x.push_back(v);
  x.push_back(0.0f);
  x.push_back(-1e-8f);
  const auto original = x;
  rlft::examples::exp_in_place(x.data(), x.size());  // a tail that is not a multiple of 8 too
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double expected = std::exp(double{original[i]});
    REQUIRE(std::abs(x[i] - expected) <= 4e-7 * expected);
  }
  std::vector<float> extreme{-1000.0f, 1000.0f, -std::numeric_limits<float>::infinity()};
  rlft::examples::exp_in_place(extreme.data(), extreme.size());
  CHECK(extreme[0] < 1e-37f);
  CHECK(std::isfinite(extreme[1]));
  CHECK(extreme[2] < 1e-37f);
}
