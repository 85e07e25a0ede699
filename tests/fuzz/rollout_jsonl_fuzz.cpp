// Imported rollouts (rlft/io/rollout_jsonl.hpp): the input as a rollout file, read with a
// vocabulary of 64 and small ceilings; a batch that reads is corrected against shifted
// old log-probs (rlft/objective/rollout_correction.hpp), written and read back, and must come
// back unchanged (a difference aborts: a finding).
#include <algorithm>
#include <cstdlib>

#include "fuzz_support.hpp"
#include "rlft/io/rollout_jsonl.hpp"
#include "rlft/objective/rollout_correction.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = rlft_fuzz::scratch_directory() / "rollouts.jsonl";
  rlft_fuzz::write_file(path, rlft_fuzz::as_text(data, size));
  rlft_fuzz::expect_rlft_error_at_most([&] {
    const rlft::io::rollout_file_options options{.vocabulary_size = 64,
                                                 .max_records = 256,
                                                 .max_sequence_tokens = 4096,
                                                 .limits = {.max_line_bytes = 1 << 20, .max_depth = 2}};
    auto batch = rlft::io::read_rollouts(path, options);
    const auto copy = rlft_fuzz::scratch_directory() / "written.jsonl";
    rlft::io::write_rollouts(copy, batch);
    const auto again = rlft::io::read_rollouts(copy, options);
    if (!std::ranges::equal(again.tokens(), batch.tokens()) ||
        !std::ranges::equal(again.sampling_logprobs(), batch.sampling_logprobs()) ||
        !std::ranges::equal(again.rewards().total(), batch.rewards().total()) || again.num_groups() != batch.num_groups())
      std::abort();
    for (std::size_t t = 0; t < batch.num_tokens(); ++t) batch.old_logprobs()[t] = batch.sampling_logprobs()[t] * 0.9f;
    std::vector<float> weights(batch.num_tokens());
    (void)rlft::correct_rollouts(batch,
                                 {.truncate = {{.level = rlft::ratio_level::sequence, .cap = 2.0}},
                                  .mask = {{.level = rlft::ratio_level::geometric, .low = 0.5, .high = 2.0}}},
                                 weights);
  });
  return 0;
}
