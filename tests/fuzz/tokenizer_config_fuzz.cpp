// A tokenizer_config.json beside a valid Qwen2-shaped tokenizer.json (tests/text golden): special
// tokens, flags and chat templates read from it, and its default template, when it has one,
// rendering a conversation.
#include "fuzz_support.hpp"
#include "rlft/text/tokenizer.hpp"
#include "rlft/text/tokenizer_chat.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = rlft_fuzz::scratch_directory() / "tokenizer_config.json";
  rlft_fuzz::write_file(path, rlft_fuzz::as_text(data, size));
  rlft_fuzz::expect_rlft_error_at_most([&] {
    const auto tokenizer = rlft::tokenizer::from_files(
        std::filesystem::path(RLFT_SOURCE_DIR) / "tests/text/tokenizer/golden/qwen2/tokenizer.json", path);
    (void)tokenizer.decode(tokenizer.encode("Hi <|im_start|>there<|im_end|>"), true);
    if (tokenizer.chat_templates().contains("default")) {
      const auto messages = nlohmann::ordered_json::parse(
          R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
              {"role": "assistant", "content": "<think>easy</think>4"}, {"role": "user", "content": "And 3+3?"}])");
      (void)rlft::chat_of(tokenizer).render(messages, true);
    }
  });
  return 0;
}
