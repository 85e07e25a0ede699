// A tokenizer.json: normalizers, pre-tokenizers, the BPE model, post-processors, decoders and
// added tokens built from the file, then a text with every script and special-token lookalike
// encoded and decoded by whatever loaded.
#include "fuzz_support.hpp"
#include "rlft/text/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = rlft_fuzz::scratch_directory() / "tokenizer.json";
  rlft_fuzz::write_file(path, rlft_fuzz::as_text(data, size));
  rlft_fuzz::expect_rlft_error_at_most([&] {
    const auto tokenizer = rlft::tokenizer::from_files(path, std::nullopt);
    const auto ids = tokenizer.encode("Hello  world\n\tcode(x) 12345 日本語 中文 Привет مرحبا 👩‍💻 e\u0301 <|im_end|> <s>");
    (void)tokenizer.decode(ids, false);
    (void)tokenizer.decode(ids, true);
  });
  return 0;
}
