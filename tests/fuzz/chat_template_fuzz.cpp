// Chat templates, the Jinja subset: the input is a template, parsed and rendered over every
// conversation and tool set of the golden chat-template fixture (tests/text/chat_template), with
// and without the generation prompt, under the interpreter's default limits.
#include <fstream>
#include <vector>

#include "fuzz_support.hpp"
#include "rlft/text/chat_template.hpp"

namespace {

struct golden_inputs {
  std::vector<nlohmann::ordered_json> conversations;
  std::vector<nlohmann::ordered_json> tool_sets;
};

const golden_inputs& golden() {
  static const golden_inputs inputs = [] {
    std::ifstream file(std::filesystem::path(RLFT_SOURCE_DIR) / "tests/text/chat_template/golden/chat_templates.json");
    const auto json = nlohmann::ordered_json::parse(file);
    golden_inputs result;
    for (const auto& [name, conversation] : json.at("conversations").items()) result.conversations.push_back(conversation);
    for (const auto& [name, tools] : json.at("tool_sets").items()) result.tool_sets.push_back(tools);
    return result;
  }();
  return inputs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rlft_fuzz::expect_rlft_error_at_most([&] {
    const rlft::chat_template chat(rlft_fuzz::as_text(data, size));
    for (const auto& conversation : golden().conversations)
      for (const auto& tools : golden().tool_sets)
        for (const bool prompt : {false, true})
          rlft_fuzz::expect_rlft_error_at_most([&] {
            (void)chat.render(conversation, {.add_generation_prompt = prompt, .tools = tools, .bos_token = "<s>",
                                             .eos_token = "</s>", .local_time = std::tm{}});
          });
  });
  return 0;
}
