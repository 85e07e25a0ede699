// A CSV data set: quoting, delimiters, headers and records mapped to prompts and references.
#include "fuzz_support.hpp"
#include "rlft/data/read_data_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = rlft_fuzz::scratch_directory() / "input.csv";
  rlft_fuzz::write_file(path, rlft_fuzz::as_text(data, size));
  for (const char delimiter : {',', '\t'})
    rlft_fuzz::expect_rlft_error_at_most([&] {
      (void)rlft::data::read_data_file(path, {.fields = {.prompt = "question", .reference = "answer"},
                                              .reference = rlft::data::reference_style::gsm8k,
                                              .csv_delimiter = delimiter,
                                              .limits = {.max_record_bytes = 1 << 16}});
    });
  return 0;
}
