// What a template sees: messages from C++ structs in the OpenAI layout, null-valued keys
// dropped and reasoning copied under "thinking" and "reasoning_content" as transformers does,
// tools as none or a list, documents as none, bos/eos tokens only when given, extra variables,
// and strftime_now reading the clock when no time is fixed.
#include <doctest/doctest.h>

#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/text/chat_template.hpp"

TEST_CASE("C++ messages become OpenAI-layout JSON") {
  const rlft::chat_message call = {"assistant", "", "Look it up.", {{"get_weather", {{"city", "Oslo"}}, "call00001"}}};
  CHECK(rlft::as_json(call).dump() ==
        R"({"role":"assistant","content":"","reasoning_content":"Look it up.","tool_calls":[{"id":"call00001",)"
        R"("type":"function","function":{"name":"get_weather","arguments":{"city":"Oslo"}}}]})");
  const rlft::chat_message response = {"tool", "12 degrees", std::nullopt, {}, "call00001"};
  CHECK(rlft::as_json(response).dump() == R"({"role":"tool","content":"12 degrees","tool_call_id":"call00001"})");
  const rlft::chat_message unnamed_call = {"assistant", "", std::nullopt, {{"now", "{}"}}};
  CHECK(rlft::as_json(unnamed_call).dump() == R"({"role":"assistant","content":"","tool_calls":[{"type":"function",)"
                                              R"("function":{"name":"now","arguments":"{}"}}]})");
}

TEST_CASE("messages are prepared as transformers prepares them") {
  const rlft::chat_template chat("{% for m in messages %}{{ m|tojson }}\n{% endfor %}");
  const auto messages = nlohmann::ordered_json::parse(R"([
    {"role": "user", "content": "hi", "name": null},
    {"role": "assistant", "content": null, "reasoning_content": "think"},
    {"role": "assistant", "content": "a", "reasoning": "old name"},
    {"role": "assistant", "content": "b", "thinking": "own", "reasoning_content": "rc"}])");
  CHECK(chat.render(messages) ==
        "{\"role\": \"user\", \"content\": \"hi\"}\n"
        "{\"thinking\": \"think\", \"role\": \"assistant\", \"reasoning_content\": \"think\"}\n"
        "{\"thinking\": \"old name\", \"role\": \"assistant\", \"content\": \"a\", \"reasoning\": \"old name\", "
        "\"reasoning_content\": \"old name\"}\n"
        "{\"thinking\": \"own\", \"role\": \"assistant\", \"content\": \"b\", \"reasoning_content\": \"rc\"}\n");
}

TEST_CASE("the template's variables") {
  const rlft::chat_template chat(
      "{{ tools is none }}|{{ tools|length if tools is not none }}|{{ documents is none }}|"
      "{{ add_generation_prompt }}|{{ bos_token is defined }}{{ bos_token }}|{{ eos_token is defined }}|"
      "{{ enable_thinking }}|{{ strftime_now is defined }}");
  const auto none = nlohmann::ordered_json::array();
  CHECK(chat.render(none) == "True||True|False|False|False||True");
  rlft::chat_render_options options;
  options.tools = nlohmann::ordered_json::array();
  options.add_generation_prompt = true;
  options.bos_token = "<s>";
  options.variables = {{"enable_thinking", false}};
  CHECK(chat.render(none, options) == "False|0|True|True|True<s>|False|False|True");
  // A variable may stand in for a special token.
  options.variables = {{"eos_token", "</s>"}};
  CHECK(rlft::chat_template("{{ eos_token }}").render(none, options) == "</s>");
}

TEST_CASE("strftime_now formats a fixed local time, or the clock's") {
  const rlft::chat_template chat(R"({{ strftime_now("%Y-%m-%d %a %f%z%Z|%%") }})");
  rlft::chat_render_options options;
  std::tm fixed{};
  fixed.tm_year = 2025 - 1900;
  fixed.tm_mon = 0;
  fixed.tm_mday = 31;
  fixed.tm_wday = 5;
  options.local_time = fixed;
  CHECK(chat.render(nlohmann::ordered_json::array(), options) == "2025-01-31 Fri 000000|%");
  const std::string now = chat.render(nlohmann::ordered_json::array());
  REQUIRE(now.size() == std::string("2025-01-31 Fri 000000|%").size());
  const std::time_t seconds = std::time(nullptr);
  std::tm today{};
  localtime_r(&seconds, &today);
  CHECK(now.substr(0, 4) == std::to_string(today.tm_year + 1900));
}
