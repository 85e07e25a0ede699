// The CUDA samplers against rlft::sample_rows on the same rows, keys and seed: every stage and
// typical pipelines, float and bf16 rows, vocabularies that are not a multiple of four, ties,
// −inf entries, penalties with histories, thousands of rows; the errors of bad rows. Stage
// programs and argument checks run on the host without a GPU.
//
// Agreement: the drawn token must be the CPU's; a different token is accepted only as a near
// tie of the race (the two tokens' keys exp(v − m)/E within a relative 1e-5 under the CPU's own
// values), where fused multiply-adds inside exp and log may decide differently
// (exponential_race.hpp), and at most one such row per thousand. Log-probabilities within
// 2e-5 (double sums in another order).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "error_message.hpp"
#include "rlft/core/philox.hpp"
#include "rlft/cuda/sampling.hpp"
#include "rlft/io/half_precision.hpp"

namespace {

using bf16 = __nv_bfloat16;

using rlft::testing::error_message;

// Rows of four kinds: peaked (a few plausible tokens far above a noisy background), flat
// N(0, 3²) as the top-p benchmark, quantised to quarters (many exact ties), and peaked with a
// third of the entries at −inf.
std::vector<float> random_rows(std::size_t rows, std::size_t vocabulary, std::uint64_t seed) {
  rlft::philox_stream random(seed, 0);
  std::vector<float> logits(rows * vocabulary);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint32_t kind = r % 4;
    float* row = logits.data() + r * vocabulary;
    for (std::size_t v = 0; v < vocabulary; ++v) {
      const float u1 = random.uniform_nonzero(), u2 = random.uniform();
      const float normal = std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853f * u2);
      row[v] = kind == 1 ? 3.0f * normal : kind == 2 ? std::round(4.0f * normal) / 4.0f : 2.0f * normal;
      if (kind == 3 && random() % 3 == 0) row[v] = -std::numeric_limits<float>::infinity();
    }
    if (kind == 0 || kind == 3)
      for (int i = 0; i < 20; ++i) row[random() % vocabulary] = 10.0f + 6.0f * random.uniform();
  }
  return logits;
}

std::vector<bf16> to_bf16(std::vector<float>& logits) {
  std::vector<bf16> bits(logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i) {
    __nv_bfloat16_raw raw;
    raw.x = rlft::io::float_to_bfloat16(logits[i]);
    bits[i] = bf16(raw);
    logits[i] = rlft::io::bfloat16_to_float(raw.x);  // the CPU samples the rounded values
  }
  return bits;
}

struct histories {
  rlft::token_sequences sequences;
  std::size_t longest = 0;
};

histories random_histories(std::size_t rows, std::size_t vocabulary, std::uint64_t seed) {
  rlft::philox_stream random(seed, 1);
  histories h;
  for (std::size_t r = 0; r < rows; ++r) {
    std::vector<rlft::token_id> tokens(random() % 300);
    // Repeats from a small pool, so that counts exceed one.
    for (auto& t : tokens) t = static_cast<rlft::token_id>(random() % 4 == 0 ? random() % 16 : random() % vocabulary);
    h.longest = std::max(h.longest, tokens.size());
    h.sequences.push_back(tokens);
  }
  return h;
}

std::vector<rlft::sampling_key> keys_for(std::size_t rows) {
  std::vector<rlft::sampling_key> keys(rows);
  for (std::size_t r = 0; r < rows; ++r) keys[r] = {.sequence = 1000 + 7 * r, .step = static_cast<std::uint32_t>(r % 13)};
  return keys;
}

// The race key of `token` under the CPU's processed candidates (0 if it is not a candidate).
template <class Sampler>
double cpu_race_key(const Sampler& sampler, std::span<const float> row, std::span<const rlft::token_id> history,
                    const rlft::philox_stream& rng, rlft::token_id token) {
  rlft::candidate_logits candidates;
  candidates.assign(row);
  sampler.apply(candidates, history);
  const float largest = candidates.max_value();
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (candidates.token(i) == token)
      return rlft::detail::exp_nonpositive(candidates.values()[i] - largest) /
             rlft::race_variate(rng, static_cast<std::uint32_t>(token));
  return 0.0;
}

// Samples `logits` (the float values the CPU sees) on both back-ends and compares.
template <class Sampler, class Logit>
void compare(const Sampler& sampler, const std::vector<float>& logits, const std::vector<Logit>& device_logits,
             std::size_t vocabulary, const histories* history) {
  const std::size_t rows = logits.size() / vocabulary;
  const auto keys = keys_for(rows);
  const std::uint64_t seed = 2026;
  std::vector<rlft::sampled_token> cpu(rows);
  rlft::sample_rows(sampler, logits, vocabulary, history ? history->sequences.view() : rlft::token_sequences_view{},
                    keys, seed, cpu);

  const cudaStream_t stream = nullptr;
  using rlft::cuda::device_buffer;
  const device_buffer<Logit> d_logits(device_logits, stream);
  const device_buffer<rlft::sampling_key> d_keys(keys, stream);
  device_buffer<rlft::sampled_token> d_tokens(rows, stream);
  std::vector<std::int64_t> offsets;
  std::vector<rlft::token_id> tokens;
  if (history) {
    offsets.assign(history->sequences.offsets().begin(), history->sequences.offsets().end());
    tokens.assign(history->sequences.tokens().begin(), history->sequences.tokens().end());
  }
  const device_buffer<std::int64_t> d_offsets(offsets, stream);
  const device_buffer<rlft::token_id> d_history(tokens, stream);
  rlft::cuda::sample_rows(sampler, d_logits.span(), vocabulary,
                          {.offsets = d_offsets.span(), .tokens = d_history.span(),
                           .max_length = history ? history->longest : 0},
                          d_keys.span(), seed, d_tokens.span(), stream);
  const auto device = d_tokens.download();

  std::size_t near_ties = 0, mismatches = 0, logprob_errors = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const auto& c = cpu[r];
    const auto& d = device[r];
    if (c.token != d.token) {
      const std::span<const float> row(logits.data() + r * vocabulary, vocabulary);
      const auto h = history ? history->sequences[r] : std::span<const rlft::token_id>{};
      const rlft::philox_stream rng(seed, keys[r].sequence, keys[r].step);
      const double cpu_key = cpu_race_key(sampler, row, h, rng, c.token);
      const double device_key = cpu_race_key(sampler, row, h, rng, d.token);
      const bool near_tie = device_key > 0.0 && std::abs(cpu_key - device_key) <= 1e-5 * cpu_key;
      near_ties += near_tie;
      mismatches += !near_tie;
      if (!near_tie) MESSAGE("row ", r, ": CPU token ", c.token, ", device token ", d.token);
      continue;
    }
    logprob_errors += !(std::abs(c.logprob - d.logprob) <= 2e-5f) || !(std::abs(c.raw_logprob - d.raw_logprob) <= 2e-5f);
  }
  CHECK(mismatches == 0);
  CHECK(near_ties * 1000 <= rows);
  CHECK(logprob_errors == 0);
}

template <class Sampler>
void compare_both(const Sampler& sampler, std::size_t rows, std::size_t vocabulary, std::uint64_t seed,
                  const histories* history = nullptr) {
  auto logits = random_rows(rows, vocabulary, seed);
  compare(sampler, logits, logits, vocabulary, history);
  const auto bits = to_bf16(logits);
  compare(sampler, logits, bits, vocabulary, history);
}

}  // namespace

TEST_CASE("cuda samplers: stage programs drop neutral stages and check parameters as the CPU does") {
  using rlft::cuda::detail::program_of;
  using kind = rlft::kernels::stage_kind;
  const auto program = program_of(rlft::temperature{1.0f} | rlft::repetition_penalty{1.1f} | rlft::top_k{50} |
                                      rlft::top_p{1.0f} | rlft::min_p{0.05f} | rlft::presence_penalty{0.0f} |
                                      rlft::top_k{5000} | rlft::greedy{},
                                  1000);
  REQUIRE(program.count == 4);
  CHECK(program.stages[0].kind == kind::repetition_penalty);
  CHECK(program.stages[1].kind == kind::top_k);
  CHECK(program.stages[1].k == 50);
  CHECK(program.stages[2].kind == kind::min_p);
  CHECK(program.stages[2].log_parameter == std::log(0.05f));
  CHECK(program.stages[3].kind == kind::greedy);
  CHECK(program.first_penalty == 0);
  CHECK(program_of(rlft::categorical{}, 10).count == 0);
  CHECK(program_of(rlft::top_p{0.9f}, 10).first_penalty == 1);

  const auto same = [](const auto& stage) {
    const std::string expected = error_message([&] { stage.check(); });
    CHECK(!expected.empty());
    CHECK(error_message([&] { program_of(stage, 100); }) == expected);
  };
  same(rlft::temperature{0.0f});
  same(rlft::temperature{INFINITY});
  same(rlft::top_k{0});
  same(rlft::top_p{1.5f});
  same(rlft::min_p{-0.1f});
  same(rlft::repetition_penalty{-1.0f});
  same(rlft::presence_penalty{NAN});
  same(rlft::frequency_penalty{INFINITY});
  const auto nine = rlft::temperature{0.9f} | rlft::temperature{0.8f} | rlft::temperature{0.7f} |
                    rlft::temperature{0.6f} | rlft::temperature{0.5f} | rlft::temperature{0.4f} |
                    rlft::temperature{0.3f} | rlft::temperature{0.2f} | rlft::temperature{0.1f};
  CHECK(error_message([&] { program_of(nine, 100); }).find("at most 8 stages") != std::string::npos);
}

TEST_CASE("cuda samplers: history tables and launch shape") {
  CHECK(rlft::cuda::sampling_hash_capacity(0, true) == 0);
  CHECK(rlft::cuda::sampling_hash_capacity(300, false) == 0);
  CHECK(rlft::cuda::sampling_hash_capacity(10, true) == 32);
  CHECK(rlft::cuda::sampling_hash_capacity(300, true) == 1024);
  CHECK(rlft::cuda::sampling_hash_capacity(512, true) == 1024);
  CHECK(rlft::cuda::sampling_history_bytes(151936, 0) == 0);
  CHECK(rlft::cuda::sampling_history_bytes(151936, 1024) == (4748 + 2048) * 4);
  constexpr auto tuning = rlft::cuda::default_sampling_tuning;
  static_assert(rlft::kernels::radix_bins % tuning.threads == 0);
  static_assert(tuning.cluster >= 1 && tuning.cluster <= 8, "portable cluster sizes");
}

TEST_CASE("cuda samplers: a histogram bin adds 64-bit amounts in two 32-bit words") {
  // Serial adds stand in for the device's atomics (which serialise the adds to one word).
  const auto add = [](std::uint32_t& word, std::uint32_t value) { return std::exchange(word, word + value); };
  const unsigned long long largest = 1ull << 40;  // a top-p weight of 1 in 2^-40 fixed point
  const unsigned long long edges[] = {0, 1, 0xffffffffull, 1ull << 32, (1ull << 32) + 1, largest - 1, largest};
  std::mt19937_64 random(3);
  std::uint32_t low = 0, high = 0;
  unsigned long long expected = 0;
  std::size_t wrong = 0;
  for (int i = 0; i < 200000; ++i) {
    const unsigned long long amount = i % 4 == 0 ? edges[(i / 4) % std::size(edges)] : random() % (largest + 1);
    rlft::kernels::add_in_words(low, high, amount, add);
    expected += amount;
    wrong += ((static_cast<unsigned long long>(high) << 32) | low) != expected;
  }
  CHECK(wrong == 0);
  CHECK(expected > (1ull << 56));  // the low word wrapped many times
}

TEST_SUITE("gpu") {
  TEST_CASE("cuda samplers draw the CPU's tokens: single stages, 4096 rows each, float and bf16") {
    constexpr std::size_t rows = 4096, vocabulary = 5003;  // not a multiple of four: tails, unaligned rows
    compare_both(rlft::categorical{}, rows, vocabulary, 1);
    compare_both(rlft::greedy{}, rows, vocabulary, 2);
    compare_both(rlft::temperature{0.6f}, rows, vocabulary, 3);
    compare_both(rlft::top_k{1}, rows, vocabulary, 4);
    compare_both(rlft::top_k{50}, rows, vocabulary, 5);
    compare_both(rlft::top_k{3000}, rows, vocabulary, 6);
    compare_both(rlft::top_p{0.95f}, rows, vocabulary, 7);
    compare_both(rlft::top_p{0.3f}, rows, vocabulary, 8);
    compare_both(rlft::min_p{0.05f}, rows, vocabulary, 9);
  }

  TEST_CASE("cuda samplers draw the CPU's tokens: penalties with histories and composed pipelines") {
    constexpr std::size_t rows = 2048, vocabulary = 4096;
    const auto history = random_histories(rows, vocabulary, 10);
    compare_both(rlft::repetition_penalty{1.3f}, rows, vocabulary, 11, &history);
    compare_both(rlft::presence_penalty{0.7f}, rows, vocabulary, 12, &history);
    compare_both(rlft::frequency_penalty{0.4f}, rows, vocabulary, 13, &history);
    compare_both(rlft::repetition_penalty{1.1f} | rlft::frequency_penalty{0.2f} | rlft::temperature{0.7f} |
                     rlft::top_k{100} | rlft::top_p{0.9f} | rlft::min_p{0.02f},
                 rows, vocabulary, 14, &history);
    compare_both(rlft::top_k{200} | rlft::temperature{1.7f} | rlft::top_p{0.8f}, rows, vocabulary, 15);
    compare_both(rlft::top_p{0.9f} | rlft::repetition_penalty{1.5f} | rlft::top_k{3}, rows, vocabulary, 16, &history);
    compare_both(rlft::repetition_penalty{1.2f} | rlft::greedy{} | rlft::temperature{0.5f}, rows, vocabulary, 17,
                 &history);
  }

  TEST_CASE("cuda samplers draw the CPU's tokens at Qwen2.5's vocabulary") {
    constexpr std::size_t rows = 256, vocabulary = 151936;
    compare_both(rlft::top_p{0.95f}, rows, vocabulary, 21);
    compare_both(rlft::temperature{0.6f} | rlft::top_p{0.95f}, rows, vocabulary, 22);
    compare_both(rlft::top_k{50}, rows, vocabulary, 23);
  }

  TEST_CASE("cuda samplers are deterministic, whatever the launch shape") {
    constexpr std::size_t rows = 64, vocabulary = 151936;
    const auto logits = random_rows(rows, vocabulary, 31);
    const auto keys = keys_for(rows);
    const rlft::cuda::device_buffer<float> d_logits(logits, nullptr);
    const rlft::cuda::device_buffer<rlft::sampling_key> d_keys(keys, nullptr);
    rlft::cuda::device_buffer<rlft::sampled_token> one(rows, nullptr), two(rows, nullptr);
    const auto sampler = rlft::temperature{0.8f} | rlft::top_p{0.95f};
    rlft::cuda::sample_rows(sampler, d_logits.span(), vocabulary, {}, d_keys.span(), 5, one.span(), nullptr);
    rlft::cuda::sample_rows(sampler, d_logits.span(), vocabulary, {}, d_keys.span(), 5, two.span(), nullptr);
    const auto a = one.download(), b = two.download();
    for (std::size_t r = 0; r < rows; ++r) {
      CHECK(a[r].token == b[r].token);
      CHECK(a[r].logprob == b[r].logprob);
      CHECK(a[r].raw_logprob == b[r].raw_logprob);
    }
    // Shapes the benchmarks compare (rows split over 2 blocks of 512 threads, and over 4 blocks
    // of 256 held two to an SM) and the largest cluster (16, beyond the portable 8).
    const auto with_shape = [&](auto launch) {
      launch().wait();
      const auto c = two.download();
      std::size_t different = 0;
      for (std::size_t r = 0; r < rows; ++r)
        different += a[r].token != c[r].token || a[r].logprob != c[r].logprob || a[r].raw_logprob != c[r].raw_logprob;
      CHECK(different == 0);
    };
    with_shape([&] {
      return rlft::cuda::launch_sample_rows<rlft::cuda::sampling_tuning{.threads = 512, .cluster = 2}>(
          sampler, d_logits.span(), vocabulary, {}, d_keys.span(), 5, two.span(), nullptr);
    });
    with_shape([&] {
      constexpr rlft::cuda::sampling_tuning shape{.threads = 256, .cluster = 4, .blocks_per_sm = 2};
      return rlft::cuda::launch_sample_rows<shape>(
          sampler, d_logits.span(), vocabulary, {}, d_keys.span(), 5, two.span(), nullptr);
    });
    with_shape([&] {
      return rlft::cuda::launch_sample_rows<rlft::cuda::sampling_tuning{.threads = 256, .cluster = 16}>(
          sampler, d_logits.span(), vocabulary, {}, d_keys.span(), 5, two.span(), nullptr);
    });
  }

  TEST_CASE("cuda samplers report the first bad row with the CPU's message") {
    constexpr std::size_t rows = 8, vocabulary = 64;
    const auto same = [&](const auto& sampler, const std::vector<float>& logits, const histories* history,
                          std::size_t max_length) {
      const auto keys = keys_for(rows);
      std::vector<rlft::sampled_token> cpu(rows);
      const std::string expected = error_message([&] {
        rlft::sample_rows(sampler, logits, vocabulary,
                          history ? history->sequences.view() : rlft::token_sequences_view{}, keys, 1, cpu);
      });
      std::vector<std::int64_t> offsets;
      std::vector<rlft::token_id> tokens;
      if (history) {
        offsets.assign(history->sequences.offsets().begin(), history->sequences.offsets().end());
        tokens.assign(history->sequences.tokens().begin(), history->sequences.tokens().end());
      }
      using rlft::cuda::device_buffer;
      const device_buffer<float> d_logits(logits, nullptr);
      const device_buffer<rlft::sampling_key> d_keys(keys, nullptr);
      const device_buffer<std::int64_t> d_offsets(offsets, nullptr);
      const device_buffer<rlft::token_id> d_history(tokens, nullptr);
      device_buffer<rlft::sampled_token> d_tokens(rows, nullptr);
      const std::string device = error_message([&] {
        rlft::cuda::sample_rows(sampler, d_logits.span(), vocabulary,
                                {.offsets = d_offsets.span(), .tokens = d_history.span(), .max_length = max_length},
                                d_keys.span(), 1, d_tokens.span(), nullptr);
      });
      return std::pair{expected, device};
    };
    auto logits = random_rows(rows, vocabulary, 41);
    logits[5 * vocabulary + 17] = std::nanf("");
    logits[3 * vocabulary + 9] = INFINITY;
    auto [cpu, device] = same(rlft::top_p{0.9f}, logits, nullptr, 0);
    CHECK(cpu.find("row 3: sampler: logit of token 9 is inf") != std::string::npos);
    CHECK(device == cpu);

    logits = random_rows(rows, vocabulary, 42);
    for (std::size_t v = 0; v < vocabulary; ++v) logits[2 * vocabulary + v] = -INFINITY;
    std::tie(cpu, device) = same(rlft::categorical{}, logits, nullptr, 0);
    CHECK(device == cpu);

    logits = random_rows(rows, vocabulary, 43);
    for (std::size_t v = 0; v < vocabulary; ++v) logits[6 * vocabulary + v] = 1e38f;
    std::tie(cpu, device) = same(rlft::temperature{1e-3f}, logits, nullptr, 0);
    CHECK(cpu.find("overflowed") != std::string::npos);
    CHECK(device == cpu);

    histories history;
    for (std::size_t r = 0; r < rows; ++r)
      history.sequences.push_back(std::vector<rlft::token_id>{1, 2, r == 4 ? 64 : 3, r == 4 ? -2 : 3});
    history.longest = 4;
    std::tie(cpu, device) = same(rlft::presence_penalty{0.5f} | rlft::repetition_penalty{1.2f}, random_rows(rows, vocabulary, 44),
                                 &history, 4);
    CHECK(cpu.find("presence_penalty: history token -2") != std::string::npos);
    CHECK(device == cpu);
    // A history longer than the stated bound is the device's own error.
    std::tie(cpu, device) = same(rlft::presence_penalty{0.5f}, random_rows(rows, vocabulary, 45), &history, 3);
    CHECK(device.find("row 0: sampler: the history of 4 tokens exceeds device_histories::max_length = 3") !=
          std::string::npos);
  }
}
