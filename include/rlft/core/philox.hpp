// Philox4x32-10 counter-based random numbers (Salmon, Moraes, Dror and Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011, section 3.3). A counter-based generator is a pure
// function of (key, counter): any thread on the CPU or the GPU can draw the numbers of any
// (seed, stream, counter) without coordination, so samples do not depend on batch order,
// thread count or back-end. rlft keys every random draw by
//   key     = the 64-bit seed,
//   counter = {block, counter, stream low word, stream high word},
// where `stream` is typically a sequence id and `counter` a decoding step; each (seed, stream,
// counter) triple owns 2^32 blocks of four 32-bit words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "rlft/core/error.hpp"
#include "rlft/core/host_device.hpp"

namespace rlft {

struct philox_block {
  std::uint32_t words[4];
  friend constexpr bool operator==(const philox_block&, const philox_block&) = default;
};

struct philox_key {
  std::uint32_t words[2];
};

namespace detail {
inline constexpr std::uint32_t philox_multiplier0 = 0xD2511F53u;
inline constexpr std::uint32_t philox_multiplier1 = 0xCD9E8D57u;
inline constexpr std::uint32_t philox_key_bump0 = 0x9E3779B9u;  // golden ratio
inline constexpr std::uint32_t philox_key_bump1 = 0xBB67AE85u;  // sqrt(3) - 1
}  // namespace detail

// The Philox4x32 bijection with `Rounds` rounds (10 is the published, crush-resistant choice).
template <int Rounds = 10>
RLFT_HOST_DEVICE constexpr philox_block philox4x32(philox_block counter, philox_key key) noexcept {
  static_assert(Rounds >= 1 && Rounds <= 16, "Philox4x32 is defined for 1 to 16 rounds");
  for (int round = 0; round < Rounds; ++round) {
    if (round > 0) {
      key.words[0] += detail::philox_key_bump0;
      key.words[1] += detail::philox_key_bump1;
    }
    const std::uint64_t product0 = std::uint64_t{detail::philox_multiplier0} * counter.words[0];
    const std::uint64_t product1 = std::uint64_t{detail::philox_multiplier1} * counter.words[2];
    counter = philox_block{{static_cast<std::uint32_t>(product1 >> 32) ^ counter.words[1] ^ key.words[0],
                            static_cast<std::uint32_t>(product1),
                            static_cast<std::uint32_t>(product0 >> 32) ^ counter.words[3] ^ key.words[1],
                            static_cast<std::uint32_t>(product0)}};
  }
  return counter;
}

// [0, 1) from the top 24 bits: every value is an exact float, 0 included, 1 excluded.
RLFT_HOST_DEVICE constexpr float to_uniform_float(std::uint32_t bits) noexcept {
  return static_cast<float>(bits >> 8) * 0x1.0p-24f;
}

// (0, 1] from the top 24 bits: safe to take the logarithm of (Gumbel and exponential draws).
RLFT_HOST_DEVICE constexpr float to_uniform_float_nonzero(std::uint32_t bits) noexcept {
  return static_cast<float>((bits >> 8) + 1u) * 0x1.0p-24f;
}

// The sequence of 32-bit words of one (seed, stream, counter) triple, drawn in order: word i is
// word i % 4 of block i / 4. Satisfies std::uniform_random_bit_generator, so <random>
// distributions accept it too (their results are not portable across standard libraries,
// rlft's own draws are).
class philox_stream {
 public:
  using result_type = std::uint32_t;

  RLFT_HOST_DEVICE constexpr philox_stream(std::uint64_t seed, std::uint64_t stream,
                                           std::uint32_t counter = 0) noexcept
      : key_{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}},
        counter_(counter),
        stream_(stream) {}

  // Block `index` of this stream, independent of how many words were drawn.
  RLFT_HOST_DEVICE constexpr philox_block block(std::uint32_t index) const noexcept {
    return philox4x32<10>(philox_block{{index, counter_, static_cast<std::uint32_t>(stream_),
                                        static_cast<std::uint32_t>(stream_ >> 32)}},
                          key_);
  }

  RLFT_HOST_DEVICE constexpr result_type operator()() noexcept {
    if (used_in_buffer_ == 4) {
      buffer_ = block(next_block_++);
      used_in_buffer_ = 0;
    }
    return buffer_.words[used_in_buffer_++];
  }

  RLFT_HOST_DEVICE constexpr float uniform() noexcept { return to_uniform_float((*this)()); }
  RLFT_HOST_DEVICE constexpr float uniform_nonzero() noexcept {
    return to_uniform_float_nonzero((*this)());
  }

  // Blocks first, first + 1, ... of this stream, word w of block first + b going to
  // words[4·b + w] (words.size() a multiple of 4, at most 4 · philox_batch_blocks). The same
  // values as block(), computed with the rounds outside the loop over blocks so that the
  // compiler runs the blocks side by side in vector registers: several times faster on CPUs.
  static constexpr std::size_t philox_batch_blocks = 16;
  void fill_blocks(std::uint32_t first, std::span<std::uint32_t> words) const noexcept {
    const std::size_t count = words.size() / 4;
    RLFT_ASSERT(words.size() % 4 == 0 && count <= philox_batch_blocks);
    std::uint32_t c0[philox_batch_blocks], c1[philox_batch_blocks], c2[philox_batch_blocks],
        c3[philox_batch_blocks];
    for (std::size_t b = 0; b < philox_batch_blocks; ++b) {
      c0[b] = first + static_cast<std::uint32_t>(b);
      c1[b] = counter_;
      c2[b] = static_cast<std::uint32_t>(stream_);
      c3[b] = static_cast<std::uint32_t>(stream_ >> 32);
    }
    std::uint32_t key0 = key_.words[0], key1 = key_.words[1];
    for (int round = 0; round < 10; ++round) {
      // Fully unrolled, the loop over blocks would no longer be vectorised.
#if defined(__GNUC__) && !defined(__CUDACC__)
#pragma GCC unroll 1
#endif
      for (std::size_t b = 0; b < philox_batch_blocks; ++b) {
        const std::uint64_t product0 = std::uint64_t{detail::philox_multiplier0} * c0[b];
        const std::uint64_t product1 = std::uint64_t{detail::philox_multiplier1} * c2[b];
        const std::uint32_t next0 = static_cast<std::uint32_t>(product1 >> 32) ^ c1[b] ^ key0;
        const std::uint32_t next2 = static_cast<std::uint32_t>(product0 >> 32) ^ c3[b] ^ key1;
        c1[b] = static_cast<std::uint32_t>(product1);
        c3[b] = static_cast<std::uint32_t>(product0);
        c0[b] = next0;
        c2[b] = next2;
      }
      key0 += detail::philox_key_bump0;
      key1 += detail::philox_key_bump1;
    }
    for (std::size_t b = 0; b < count; ++b) {
      words[4 * b] = c0[b];
      words[4 * b + 1] = c1[b];
      words[4 * b + 2] = c2[b];
      words[4 * b + 3] = c3[b];
    }
  }

  // Words drawn so far.
  RLFT_HOST_DEVICE constexpr std::uint64_t position() const noexcept {
    return std::uint64_t{next_block_} * 4 - (4 - used_in_buffer_);
  }

  RLFT_HOST_DEVICE static constexpr result_type min() noexcept { return 0; }
  RLFT_HOST_DEVICE static constexpr result_type max() noexcept { return 0xFFFFFFFFu; }

 private:
  philox_key key_;
  std::uint32_t counter_;
  std::uint64_t stream_;
  std::uint32_t next_block_ = 0;
  std::uint32_t used_in_buffer_ = 4;
  philox_block buffer_{};
};

// CPU reference for kernels/rlft/philox.cuh: out[i] = the i-th uniform draw of the stream.
inline void fill_uniform(std::span<float> out, std::uint64_t seed, std::uint64_t stream,
                         std::uint32_t counter = 0) {
  RLFT_ASSERT(out.size() / 4 <= 0xFFFFFFFFu);  // one triple owns 2^32 blocks
  const philox_stream generator(seed, stream, counter);
  const std::size_t full_blocks = out.size() / 4;
  for (std::size_t b = 0; b < full_blocks; ++b) {
    const philox_block block = generator.block(static_cast<std::uint32_t>(b));
    for (int w = 0; w < 4; ++w) out[4 * b + w] = to_uniform_float(block.words[w]);
  }
  const philox_block tail = generator.block(static_cast<std::uint32_t>(full_blocks));
  for (std::size_t i = 4 * full_blocks; i < out.size(); ++i)
    out[i] = to_uniform_float(tail.words[i - 4 * full_blocks]);
}

}  // namespace rlft
