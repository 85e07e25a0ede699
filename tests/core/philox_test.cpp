// Philox4x32 against the known-answer vectors published with Random123 (tests/kat_vectors of
// github.com/DEShawResearch/random123: counter words, key words, expected output), and the
// stream/fill layers built on it.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "rlft/core/philox.hpp"

namespace {

struct known_answer {
  rlft::philox_block counter;
  rlft::philox_key key;
  rlft::philox_block expected;
};

constexpr known_answer ten_round_vectors[] = {
    {{{0x00000000, 0x00000000, 0x00000000, 0x00000000}}, {{0x00000000, 0x00000000}},
     {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
    {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, {{0xffffffff, 0xffffffff}},
     {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
    {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, {{0xa4093822, 0x299f31d0}},
     {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
};

constexpr known_answer seven_round_vectors[] = {
    {{{0x00000000, 0x00000000, 0x00000000, 0x00000000}}, {{0x00000000, 0x00000000}},
     {{0x5f6fb709, 0x0d893f64, 0x4f121f81, 0x4f730a48}}},
    {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, {{0xffffffff, 0xffffffff}},
     {{0x5207ddc2, 0x45165e59, 0x4d8ee751, 0x8c52f662}}},
    {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, {{0xa4093822, 0x299f31d0}},
     {{0x4dfccaba, 0x190a87f0, 0xc47362ba, 0xb6b5242a}}},
};

// The bijection is constexpr: the published vectors hold at compile time too.
static_assert(rlft::philox4x32<10>(ten_round_vectors[2].counter, ten_round_vectors[2].key) ==
              ten_round_vectors[2].expected);

static_assert(std::uniform_random_bit_generator<rlft::philox_stream>);

}  // namespace

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors") {
  for (const auto& v : ten_round_vectors) {
    const auto out = rlft::philox4x32<10>(v.counter, v.key);
    for (int w = 0; w < 4; ++w) CHECK(out.words[w] == v.expected.words[w]);
  }
}

TEST_CASE("philox4x32-7 matches the Random123 known-answer vectors") {
  for (const auto& v : seven_round_vectors) {
    const auto out = rlft::philox4x32<7>(v.counter, v.key);
    for (int w = 0; w < 4; ++w) CHECK(out.words[w] == v.expected.words[w]);
  }
}

TEST_CASE("philox_stream lays (seed, stream, counter) into the key and counter words") {
  const std::uint64_t seed = 0x299f31d0a4093822ull;    // key words {a4093822, 299f31d0}
  const std::uint64_t stream = 0x0370734413198a2eull;  // counter words 2 and 3
  const rlft::philox_stream generator(seed, stream, 0x85a308d3u);
  // Block 0x243f6a88 of this stream is the third published input.
  CHECK(generator.block(0x243f6a88u) == ten_round_vectors[2].expected);
  CHECK(rlft::philox_stream(0, 0, 0).block(0) == ten_round_vectors[0].expected);
}

TEST_CASE("philox_stream draws the words of consecutive blocks in order") {
  rlft::philox_stream generator(42, 7, 3);
  const rlft::philox_stream reference(42, 7, 3);
  CHECK(generator.position() == 0);
  for (std::uint32_t i = 0; i < 40; ++i) {
    CHECK(generator() == reference.block(i / 4).words[i % 4]);
    CHECK(generator.position() == i + 1);
  }
}

TEST_CASE("different seeds, streams and counters give different blocks") {
  const auto base = rlft::philox_stream(1, 2, 3).block(0);
  CHECK_FALSE(rlft::philox_stream(2, 2, 3).block(0) == base);
  CHECK_FALSE(rlft::philox_stream(1, 3, 3).block(0) == base);
  CHECK_FALSE(rlft::philox_stream(1, 2, 4).block(0) == base);
  CHECK_FALSE(rlft::philox_stream(1, 2, 3).block(1) == base);
  // The high halves of seed and stream matter too.
  CHECK_FALSE(rlft::philox_stream(1 + (1ull << 32), 2, 3).block(0) == base);
  CHECK_FALSE(rlft::philox_stream(1, 2 + (1ull << 32), 3).block(0) == base);
}

TEST_CASE("uniform conversions cover [0, 1) and (0, 1] with 24-bit resolution") {
  CHECK(rlft::to_uniform_float(0u) == 0.0f);
  CHECK(rlft::to_uniform_float(0xFFFFFFFFu) == 1.0f - 0x1.0p-24f);
  CHECK(rlft::to_uniform_float(0x80000000u) == 0.5f);
  CHECK(rlft::to_uniform_float_nonzero(0u) == 0x1.0p-24f);
  CHECK(rlft::to_uniform_float_nonzero(0xFFFFFFFFu) == 1.0f);
}

TEST_CASE("fill_uniform equals the stream's draws, including a partial last block") {
  for (const std::size_t n : {0u, 1u, 3u, 4u, 5u, 1023u}) {
    std::vector<float> filled(n, -1.0f);
    rlft::fill_uniform(filled, 11, 5, 2);
    rlft::philox_stream generator(11, 5, 2);
    for (std::size_t i = 0; i < n; ++i) CHECK(filled[i] == generator.uniform());
  }
}

TEST_CASE("uniform draws are uniform: chi-square over 64 bins") {
  constexpr std::size_t bins = 64;
  constexpr std::size_t draws = 1 << 20;
  std::array<std::size_t, bins> counts{};
  rlft::philox_stream generator(20260101, 0);
  double sum = 0.0;
  for (std::size_t i = 0; i < draws; ++i) {
    const float u = generator.uniform();
    REQUIRE(u >= 0.0f);
    REQUIRE(u < 1.0f);
    sum += u;
    ++counts[static_cast<std::size_t>(u * bins)];
  }
  const double expected = static_cast<double>(draws) / bins;
  double chi_square = 0.0;
  for (const auto c : counts) chi_square += (c - expected) * (c - expected) / expected;
  // 63 degrees of freedom: the 99.9% quantile is 103.4.
  CHECK(chi_square < 103.4);
  // Mean within 5 standard errors of 1/2 (σ of U(0,1) is 1/√12).
  CHECK(std::abs(sum / draws - 0.5) < 5.0 / std::sqrt(12.0 * draws));
}

TEST_CASE("fill_blocks equals block() for every batch size and starting block") {
  const rlft::philox_stream generator(0x1234567890abcdefull, 0xfedcba9876543210ull, 77);
  for (const std::uint32_t first : {0u, 5u, 0xfffffff0u}) {
    for (std::size_t count = 0; count <= rlft::philox_stream::philox_batch_blocks; ++count) {
      std::vector<std::uint32_t> words(4 * count, 0);
      generator.fill_blocks(first, words);
      for (std::size_t b = 0; b < count; ++b) {
        const auto expected = generator.block(first + static_cast<std::uint32_t>(b));
        for (std::size_t w = 0; w < 4; ++w) CHECK(words[4 * b + w] == expected.words[w]);
      }
    }
  }
}
