// A JSON Lines file as rlft reads them: the generic reader with its line and depth ceilings, the
// text examples that rejection sampling writes and SFT reads, preference pairs, and a data
// set's records.
#include "fuzz_support.hpp"
#include "rlft/data/read_data_file.hpp"
#include "rlft/io/jsonl.hpp"
#include "rlft/io/preference_pairs.hpp"
#include "rlft/io/text_examples.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = rlft_fuzz::scratch_directory() / "input.jsonl";
  rlft_fuzz::write_file(path, rlft_fuzz::as_text(data, size));
  rlft_fuzz::expect_rlft_error_at_most([&] {
    std::size_t records = 0;
    rlft::io::read_jsonl(path, [&](const nlohmann::json&, std::size_t) { ++records; },
                         {.max_line_bytes = 1 << 16, .max_depth = 32});
  });
  rlft_fuzz::expect_rlft_error_at_most([&] { (void)rlft::io::read_text_examples(path); });
  rlft_fuzz::expect_rlft_error_at_most([&] { (void)rlft::io::read_preference_examples(path); });
  rlft_fuzz::expect_rlft_error_at_most([&] {
    (void)rlft::data::read_data_file(path, {.fields = {.prompt = "question", .reference = "answer"},
                                            .reference = rlft::data::reference_style::gsm8k});
  });
  rlft_fuzz::expect_rlft_error_at_most([&] {
    (void)rlft::data::read_data_file(path, {.fields = {.prompt = "problem", .reference = "solution"},
                                            .reference = rlft::data::reference_style::math_boxed});
  });
  return 0;
}
