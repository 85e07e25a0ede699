// Text through the eight golden tokenizers of tests/text (byte-level BPE of GPT-2, Qwen2, Llama 3
// and SmolLM2; Metaspace with byte fallback of Llama 2 and Mistral; added-token flags; an unknown
// token): the first byte picks one, the rest is encoded and decoded, and read as ids decoded.
#include <array>
#include <vector>

#include "fuzz_support.hpp"
#include "rlft/text/tokenizer.hpp"

namespace {

const std::vector<rlft::tokenizer>& tokenizers() {
  static const std::vector<rlft::tokenizer> all = [] {
    std::vector<rlft::tokenizer> loaded;
    for (const char* name : {"gpt2", "qwen2", "llama3", "smollm2", "llama2", "mistral", "added_token_flags",
                             "byte_fallback_unk"})
      loaded.push_back(rlft::tokenizer::from_directory(std::filesystem::path(RLFT_SOURCE_DIR) /
                                                       "tests/text/tokenizer/golden" / name));
    return loaded;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& tokenizer = tokenizers()[data[0] % tokenizers().size()];
  const auto text = rlft_fuzz::as_text(data + 1, size - 1);
  rlft_fuzz::expect_rlft_error_at_most([&] {
    for (const bool special : {false, true}) {
      const auto ids = tokenizer.encode(text, special);
      (void)tokenizer.decode(ids, !special);
    }
  });
  // The same bytes as ids, some past the vocabulary: decode must refuse those, never read past it.
  std::vector<rlft::token_id> ids;
  for (std::size_t i = 1; i + 2 <= size; i += 2)
    ids.push_back(static_cast<rlft::token_id>(data[i] | (data[i + 1] << 8)) - 64);
  rlft_fuzz::expect_rlft_error_at_most([&] { (void)tokenizer.decode(ids, data[0] & 1); });
  return 0;
}
