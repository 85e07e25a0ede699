// The fused LM head against a straightforward CPU reference: logits in double from the same
// bf16 inputs, log-softmax, gather, entropy, and their gradients with respect to the hidden
// states and the weight. Chunk planning and argument checks run on the host without a GPU.
//
// Tolerances: log-probs, entropies and log-normalisers within 1e-4 absolute (float logits from
// exact bf16 products, summed in another order); gradients within 1e-2 of the largest reference
// entry and 5e-3 in relative Frobenius norm: the backward pass rounds the logits' gradient to
// bf16 (relative 2^-9 per entry) before its two GEMMs, as mixed-precision training does.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "error_message.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/cuda/lm_head.hpp"
#include "rlft/io/half_precision.hpp"

namespace {

using bf16 = __nv_bfloat16;

using rlft::testing::error_message;

// Random values rounded to bf16: the device gets the bits, the reference their float values.
struct bf16_matrix {
  std::vector<bf16> bits;
  std::vector<float> values;
};

bf16_matrix random_bf16(std::size_t count, float scale, rlft::philox_stream& random) {
  bf16_matrix m{std::vector<bf16>(count), std::vector<float>(count)};
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint16_t bits = rlft::io::float_to_bfloat16(scale * (2.0f * random.uniform() - 1.0f));
    __nv_bfloat16_raw raw;
    raw.x = bits;
    m.bits[i] = bf16(raw);
    m.values[i] = rlft::io::bfloat16_to_float(bits);
  }
  return m;
}

struct problem {
  std::size_t tokens, vocabulary, hidden;
  bf16_matrix h, w;
  std::vector<std::int32_t> targets;
  std::vector<float> g, e;  // dℓ/d logprob, dℓ/d entropy
};

problem make_problem(std::size_t tokens, std::size_t vocabulary, std::size_t hidden, std::uint64_t seed) {
  rlft::philox_stream random(seed, 0);
  problem p{tokens, vocabulary, hidden, random_bf16(tokens * hidden, 1.0f, random),
            random_bf16(vocabulary * hidden, 0.3f, random), {}, {}, {}};
  for (std::size_t i = 0; i < tokens; ++i) {
    p.targets.push_back(static_cast<std::int32_t>(random() % vocabulary));
    p.g.push_back(random.uniform() - 0.5f);
    p.e.push_back(0.2f * (random.uniform() - 0.5f));
  }
  return p;
}

struct reference {
  std::vector<double> logprobs, entropy, normalizers, hidden_gradients, weight_gradients;
};

reference on_cpu(const problem& p, bool with_entropy_gradient) {
  const std::size_t n = p.tokens, v = p.vocabulary, d = p.hidden;
  reference r{std::vector<double>(n), std::vector<double>(n), std::vector<double>(n), std::vector<double>(n * d),
              std::vector<double>(v * d)};
  std::vector<double> z(v);
  for (std::size_t i = 0; i < n; ++i) {
    double top = -INFINITY;
    for (std::size_t j = 0; j < v; ++j) {
      double sum = 0.0;
      for (std::size_t k = 0; k < d; ++k) sum += double{p.h.values[i * d + k]} * double{p.w.values[j * d + k]};
      z[j] = sum;
      top = std::max(top, sum);
    }
    double total = 0.0, weighted = 0.0;
    for (std::size_t j = 0; j < v; ++j) {
      total += std::exp(z[j] - top);
      weighted += std::exp(z[j] - top) * z[j];
    }
    const double normalizer = top + std::log(total), mean = weighted / total;
    r.normalizers[i] = normalizer;
    r.logprobs[i] = z[static_cast<std::size_t>(p.targets[i])] - normalizer;
    r.entropy[i] = normalizer - mean;
    const double h = with_entropy_gradient ? p.e[i] : 0.0;
    for (std::size_t j = 0; j < v; ++j) {
      const double probability = std::exp(z[j] - normalizer);
      const double gradient = p.g[i] * ((j == static_cast<std::size_t>(p.targets[i]) ? 1.0 : 0.0) - probability) -
                              h * probability * (z[j] - mean);
      for (std::size_t k = 0; k < d; ++k) {
        r.hidden_gradients[i * d + k] += gradient * p.w.values[j * d + k];
        r.weight_gradients[j * d + k] += gradient * p.h.values[i * d + k];
      }
    }
  }
  return r;
}

void check_close(const std::vector<float>& device, const std::vector<double>& cpu, double tolerance) {
  REQUIRE(device.size() == cpu.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < cpu.size(); ++i) worst = std::max(worst, std::abs(device[i] - cpu[i]));
  CHECK(worst <= tolerance);
}

void check_gradient(const std::vector<float>& device, const std::vector<double>& cpu, double scale = 1.0) {
  REQUIRE(device.size() == cpu.size());
  double largest = 0.0, worst = 0.0, error = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    const double expected = scale * cpu[i], difference = device[i] - expected;
    largest = std::max(largest, std::abs(expected));
    worst = std::max(worst, std::abs(difference));
    error += difference * difference;
    norm += expected * expected;
  }
  CHECK(worst <= 1e-2 * largest);
  CHECK(std::sqrt(error / norm) <= 5e-3);
}

// Forward and backward on the device; returns logprobs, entropy, normalisers, dH, dW.
struct device_results {
  std::vector<float> logprobs, entropy, normalizers, hidden_gradients, weight_gradients;
};

device_results on_device(const problem& p, const rlft::cuda::lm_head_tuning& tuning, bool with_entropy_gradient,
                         int backward_passes = 1) {
  const cudaStream_t stream = nullptr;
  using rlft::cuda::device_buffer;
  const device_buffer<bf16> h(p.h.bits, stream), w(p.w.bits, stream);
  const device_buffer<std::int32_t> targets(p.targets, stream);
  const device_buffer<float> g(p.g, stream), e(p.e, stream);
  device_buffer<float> logprobs(p.tokens, stream), entropy(p.tokens, stream), normalizers(p.tokens, stream);
  device_buffer<float> hidden_gradients(p.tokens * p.hidden, stream), weight_gradients(p.vocabulary * p.hidden, stream);
  rlft::cuda::fused_lm_head<bf16> head(stream, tuning);
  const rlft::cuda::lm_head_input<bf16> in{.hidden = h.span(), .weight = w.span(), .targets = targets.span(),
                                           .hidden_size = p.hidden};
  head.forward(in, {.logprobs = logprobs.span(), .entropy = entropy.span(), .log_normalizers = normalizers.span()},
               stream);
  for (int pass = 0; pass < backward_passes; ++pass)
    head.backward(in,
                  {.log_normalizers = normalizers.span(), .entropy = entropy.span(), .logprob_gradients = g.span(),
                   .entropy_gradients = with_entropy_gradient ? e.span() : std::span<const float>{}},
                  {.hidden_gradients = hidden_gradients.span(), .weight_gradients = weight_gradients.span(),
                   .accumulate = pass > 0},
                  stream);
  return {logprobs.download(), entropy.download(), normalizers.download(), hidden_gradients.download(),
          weight_gradients.download()};
}

}  // namespace

TEST_CASE("fused LM head: chunk plans bound the temporary memory") {
  using rlft::cuda::plan_lm_head_chunks;
  // The benchmark's shape: 16384 tokens at once, 4096-entry vocabulary chunks, under 1 GB.
  const auto big = plan_lm_head_chunks(16384, 151936);
  CHECK(big.tokens == 16384);
  CHECK(big.vocabulary == 4096);
  CHECK(big.row_stride == 4096);
  CHECK(rlft::cuda::lm_head_temporary_bytes(16384, 151936, false) <= std::size_t{1} << 30);
  CHECK(rlft::cuda::lm_head_temporary_bytes(16384, 151936, true) <= std::size_t{1} << 30);
  // Many tokens: tokens are chunked so that vocabulary chunks keep their minimum width.
  const auto many = plan_lm_head_chunks(std::size_t{1} << 20, 151936);
  CHECK(many.tokens == 32768);
  CHECK(many.vocabulary == 2048);
  // A vocabulary smaller than one chunk: one chunk, its stride rounded up to the alignment.
  const auto small = plan_lm_head_chunks(10, 1000);
  CHECK(small.tokens == 10);
  CHECK(small.vocabulary == 1000);
  CHECK(small.row_stride == 1024);
  const rlft::cuda::lm_head_tuning tiny{.max_chunk_elements = 4096, .vocabulary_alignment = 128,
                                        .min_vocabulary_chunk = 256};
  const auto cut = plan_lm_head_chunks(70, 1000, tiny);
  CHECK(cut.tokens == 16);
  CHECK(cut.vocabulary == 256);
  CHECK(cut.tokens * cut.row_stride <= tiny.max_chunk_elements);
  CHECK_THROWS_WITH_AS(plan_lm_head_chunks(1, 1, {.vocabulary_alignment = 12}), doctest::Contains("multiple of 8"),
                       rlft::error);
  CHECK_THROWS_AS(plan_lm_head_chunks(1, 1, {.max_chunk_elements = 100}), rlft::error);
}

TEST_CASE("fused LM head: shapes, lengths and alignment are checked on the host") {
  alignas(16) static bf16 storage[64 * 8];
  alignas(16) static float floats[64 * 8];
  std::int32_t targets[4] = {};
  using input = rlft::cuda::lm_head_input<bf16>;
  const auto check = [](const input& in) {
    return error_message([&] { rlft::cuda::detail::check_lm_head_input(in); });
  };
  const input good{.hidden = {storage, 32}, .weight = {storage, 80}, .targets = {targets, 4}, .hidden_size = 8};
  CHECK(check(good).empty());
  const auto d = rlft::cuda::detail::check_lm_head_input(good);
  CHECK(d.tokens == 4);
  CHECK(d.vocabulary == 10);
  input bad = good;
  bad.hidden_size = 12;
  CHECK(check(bad).find("multiple of 8") != std::string::npos);
  bad = good;
  bad.hidden = {storage, 30};
  CHECK(check(bad).find("30 hidden-state values") != std::string::npos);
  bad = good;
  bad.weight = {};
  CHECK(check(bad).find("weight") != std::string::npos);
  bad = good;
  bad.targets = {targets, 3};
  CHECK(check(bad) == "fused LM head: targets has 3 entries, expected 4");
  bad = good;
  bad.hidden = {storage + 1, 32};
  CHECK(check(bad) == "fused LM head: hidden must be 16-byte aligned");
  CHECK(error_message([&] {
          rlft::cuda::detail::check_forward_output({.logprobs = {floats, 4}, .entropy = {floats, 3}}, d);
        }) == "fused LM head: entropy has 3 entries, expected 4 (or none)");
  const rlft::cuda::lm_head_backward_input gradients{.log_normalizers = {floats, 4},
                                                     .logprob_gradients = {floats, 4},
                                                     .entropy_gradients = {floats, 4}};
  CHECK(error_message([&] {
          rlft::cuda::detail::check_backward(gradients, {.hidden_gradients = {floats, 32}, .weight_gradients = {floats, 80}}, d);
        }).find("entropy (needed by entropy_gradients)") != std::string::npos);
  CHECK(error_message([&] {
          rlft::cuda::detail::check_backward({.log_normalizers = {floats, 4}, .logprob_gradients = {floats, 4}},
                                             {.hidden_gradients = {floats, 32}, .weight_gradients = {floats, 79}}, d);
        }) == "fused LM head: weight_gradients has 79 entries, expected 80");
}

TEST_SUITE("gpu") {
  TEST_CASE("fused LM head: log-probs, entropies and gradients equal the CPU reference, chunked or not") {
    const auto p = make_problem(70, 1000, 64, 7);
    const auto expected = on_cpu(p, true);
    const rlft::cuda::lm_head_tuning chunked{.max_chunk_elements = 4096, .vocabulary_alignment = 128,
                                             .min_vocabulary_chunk = 256};
    for (const auto& tuning : {rlft::cuda::default_lm_head_tuning, chunked,
                               rlft::cuda::lm_head_tuning{.max_chunk_elements = 4096, .vocabulary_alignment = 128,
                                                          .min_vocabulary_chunk = 256, .overlap = false}}) {
      CAPTURE(tuning.max_chunk_elements);
      const auto device = on_device(p, tuning, true);
      check_close(device.logprobs, expected.logprobs, 1e-4);
      check_close(device.entropy, expected.entropy, 1e-4);
      check_close(device.normalizers, expected.normalizers, 1e-4);
      check_gradient(device.hidden_gradients, expected.hidden_gradients);
      check_gradient(device.weight_gradients, expected.weight_gradients);
    }
  }

  TEST_CASE("fused LM head: rows wider than one pass of a block's loads, with a partial quad") {
    // 5003 columns in one chunk: each thread loads four quads at a time, twice, and the row
    // ends three entries into a quad.
    const auto p = make_problem(24, 5003, 32, 10);
    const auto expected = on_cpu(p, true);
    const auto device = on_device(p, rlft::cuda::default_lm_head_tuning, true);
    check_close(device.logprobs, expected.logprobs, 1e-4);
    check_close(device.entropy, expected.entropy, 1e-4);
    check_close(device.normalizers, expected.normalizers, 1e-4);
    check_gradient(device.hidden_gradients, expected.hidden_gradients);
  }

  TEST_CASE("fused LM head: without the entropy term, and accumulating two backward passes") {
    const auto p = make_problem(33, 777, 32, 8);
    const auto expected = on_cpu(p, false);
    const auto device = on_device(p, {.max_chunk_elements = 4096, .min_vocabulary_chunk = 256}, false, 2);
    check_close(device.logprobs, expected.logprobs, 1e-4);
    check_gradient(device.hidden_gradients, expected.hidden_gradients, 2.0);
    check_gradient(device.weight_gradients, expected.weight_gradients, 2.0);
  }

  TEST_CASE("fused LM head: a target outside the vocabulary gives a NaN log-prob, the others are unaffected") {
    auto p = make_problem(8, 300, 16, 9);
    const auto expected = on_cpu(p, false);
    p.targets[3] = 300;
    p.targets[5] = -1;
    const auto device = on_device(p, rlft::cuda::default_lm_head_tuning, false);
    for (std::size_t i = 0; i < p.tokens; ++i) {
      CAPTURE(i);
      if (i == 3 || i == 5)
        CHECK(std::isnan(device.logprobs[i]));
      else
        CHECK(std::abs(device.logprobs[i] - expected.logprobs[i]) <= 1e-4);
    }
  }
}
