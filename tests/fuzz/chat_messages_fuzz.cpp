// Chat messages: the input, as JSON, is the conversation that every template of the golden
// chat-template fixture (tests/text/chat_template) renders, with and without the generation prompt.
#include <fstream>
#include <vector>

#include "fuzz_support.hpp"
#include "rlft/text/chat_template.hpp"

namespace {

const std::vector<rlft::chat_template>& templates() {
  static const std::vector<rlft::chat_template> all = [] {
    std::ifstream file(std::filesystem::path(RLFT_SOURCE_DIR) / "tests/text/chat_template/golden/chat_templates.json");
    const auto json = nlohmann::ordered_json::parse(file);
    std::vector<rlft::chat_template> parsed;
    for (const auto& [name, source] : json.at("templates").items()) parsed.emplace_back(source.get<std::string>());
    return parsed;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto messages = nlohmann::ordered_json::parse(rlft_fuzz::as_text(data, size), nullptr, false);
  if (messages.is_discarded()) return 0;  // not JSON: nothing of rlft's reads it
  for (const auto& chat : templates())
    for (const bool prompt : {false, true})
      rlft_fuzz::expect_rlft_error_at_most([&] {
        (void)chat.render(messages, {.add_generation_prompt = prompt, .bos_token = "<s>", .eos_token = "</s>",
                                     .local_time = std::tm{}});
      });
  return 0;
}
