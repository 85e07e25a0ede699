// Every case of the golden fixture (tools/make_golden_chat_templates.py: templates written for
// the tests, rendered by transformers' apply_chat_template) renders byte-identical, and every
// conversation a template rejects there is an rlft::data_error here.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "golden_fixture.hpp"
#include "rlft/text/chat_template.hpp"

TEST_CASE("golden chat templates render byte-identical to transformers") {
  const auto fixture = rlft_test::read_chat_template_fixture();
  std::map<std::string, rlft::chat_template> templates;
  for (const auto& [name, source] : fixture["templates"].items())
    templates.emplace(name, rlft::chat_template(source.get<std::string>()));

  std::size_t rendered = 0, rejected = 0;
  std::set<std::string> templates_used;
  for (const auto& test_case : fixture["cases"]) {
    const std::string template_name = test_case["template"].get<std::string>();
    const std::string conversation_name = test_case["conversation"].get<std::string>();
    INFO("template ", template_name, ", conversation ", conversation_name, ", add_generation_prompt ",
         test_case["add_generation_prompt"].get<bool>(), ", tools ", test_case["tools"].get<std::string>(),
         ", variables ", test_case["variables"].dump());
    const auto& chat = templates.at(template_name);
    const auto& messages = fixture["conversations"][conversation_name];
    const auto options = rlft_test::options_of(fixture, test_case);
    templates_used.insert(template_name);
    if (test_case.contains("expected")) {
      CHECK(chat.render(messages, options) == test_case["expected"].get<std::string>());
      ++rendered;
    } else {
      INFO("transformers raised ", test_case["expected_error"].get<std::string>());
      CHECK_THROWS_AS(chat.render(messages, options), rlft::data_error);
      ++rejected;
    }
  }
  CHECK(templates_used.size() == fixture["templates"].size());
  CHECK(rendered >= 250);
  CHECK(rejected >= 20);
}

TEST_CASE("a chat template renders the same after copying, and from C++ messages") {
  const auto fixture = rlft_test::read_chat_template_fixture();
  const rlft::chat_template original(fixture["templates"]["tool_turns"].get<std::string>());
  const rlft::chat_template copy = original;
  for (const auto& test_case : fixture["cases"]) {
    if (test_case["template"] != "tool_turns" || test_case["conversation"] != "tool_round_trip") continue;
    const auto options = rlft_test::options_of(fixture, test_case);
    const std::vector<rlft::chat_message> messages = {
        {"system", "Use the tools when they help."},
        {"user", "What is the weather in Zürich?"},
        {"assistant", "", std::nullopt, {{"get_weather", {{"city", "Zürich"}, {"unit", "celsius"}}, "call12345"}}},
        {"tool", "{\"temperature\": 21, \"sky\": \"sunny ☀\"}", std::nullopt, {}, "call12345"},
        {"assistant", "It is 21 °C and sunny in Zürich."}};
    CHECK(copy.render(messages, options) == test_case["expected"].get<std::string>());
  }
}
