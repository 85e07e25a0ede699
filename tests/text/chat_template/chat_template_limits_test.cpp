// A hostile template cannot hang a render or allocate without bound: loops, string and list
// growth, output, nesting of blocks, expressions and values, and the template's own size all
// stop at their ceiling with an rlft::error naming it (not a data_error: the template, not the
// conversation, is at fault).
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "rlft/text/chat_template.hpp"

namespace {

// The message of the (non-data) rlft::error rendering `source` under `ceilings` throws.
std::string limit_error(const std::string& source, const rlft::jinja::limits& ceilings = {}) {
  try {
    const rlft::chat_template parsed(source, ceilings);
    parsed.render(nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])"));
  } catch (const rlft::data_error& failure) {
    FAIL("a limit must not be a data_error: ", failure.what());
  } catch (const rlft::error& failure) {
    return failure.what();
  }
  return "";
}

std::string repeated(const std::string& piece, std::size_t times) {
  std::string text;
  for (std::size_t i = 0; i < times; ++i) text += piece;
  return text;
}

}  // namespace

TEST_CASE("runaway loops stop at max_iterations") {
  CHECK(rlft::jinja::limits{}.max_iterations == 1'000'000);
  rlft::jinja::limits small;
  small.max_iterations = 20000;
  const std::string expected =
      "chat template: the render exceeds limits.max_iterations = 20000 (loop iterations and visited sequence elements)";
  CHECK(limit_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", small) ==
        expected);
  CHECK(limit_error("{% for i in range(150) %}{% for j in range(150) %}{% endfor %}{% endfor %}", small) == expected);
  // Filters, `in` and comparisons that visit elements count too.
  small.max_iterations = 50;
  const std::string expected_50 =
      "chat template: the render exceeds limits.max_iterations = 50 (loop iterations and visited sequence elements)";
  CHECK(limit_error("{% set xs = range(40)|list %}{{ xs|select('odd')|list|length }}{{ xs|join }}", small) ==
        expected_50);
  CHECK(limit_error("{% set xs = range(30)|list %}{{ 99 in xs }}{{ 98 in xs }}", small) == expected_50);
  CHECK(limit_error("{% set xs = range(30)|list %}{{ xs == xs }}{{ xs == xs }}", small) == expected_50);
}

TEST_CASE("strings and lists that double every iteration stop at max_built_bytes") {
  rlft::jinja::limits small;
  small.max_built_bytes = 1 << 20;
  const std::string expected =
      "chat template: the render exceeds limits.max_built_bytes = 1048576 (bytes of strings, lists and dicts built)";
  CHECK(limit_error("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                    small) == expected);
  CHECK(limit_error("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
                    small) == expected);
  CHECK(limit_error("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
                    small) == expected);
  CHECK(limit_error("{{ 'x' * 9223372036854775807 }}", small) == expected);
  CHECK(limit_error("{{ [1, 2] * 4611686018427387903 }}", small) == expected);
  CHECK(limit_error("{% set s = 'ab' * 1000 %}{{ s.replace('', s) }}", small) == expected);
  CHECK(limit_error("{% set s = 'ab' * 5000 %}{{ ('\n' * 2000) | indent(s, blank=true) }}", small) == expected);
  CHECK(limit_error("{% set ns = namespace(s='xy') %}{% for i in range(30) %}{% set ns.s = [ns.s, ns.s]|join %}"
                    "{% endfor %}",
                    small) == expected);
}

TEST_CASE("the output stops at max_output_bytes") {
  rlft::jinja::limits small;
  small.max_output_bytes = 10000;
  CHECK(limit_error("{% for i in range(1000) %}{{ 'x' * 100 }}{% endfor %}", small) ==
        "chat template: the output exceeds limits.max_output_bytes = 10000");
}

TEST_CASE("nesting stops at max_nesting_depth") {
  const std::string expected_blocks =
      "chat template line 1: blocks and expressions nest deeper than limits.max_nesting_depth = 128";
  CHECK(limit_error("{{ " + repeated("(", 5000) + "1" + repeated(")", 5000) + " }}") == expected_blocks);
  CHECK(limit_error("{{ " + repeated("[", 5000) + repeated("]", 5000) + " }}") == expected_blocks);
  CHECK(limit_error("{{ " + repeated("not ", 5000) + "1 }}") == expected_blocks);
  CHECK(limit_error("{{ " + repeated("- ", 5000) + "1 }}") == expected_blocks);
  CHECK(limit_error(repeated("{% if true %}", 5000) + repeated("{% endif %}", 5000)) == expected_blocks);
  // Values nested by a loop cannot outgrow the limit either.
  CHECK(limit_error("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = [ns.l] %}{% endfor %}") ==
        "chat template: the render exceeds limits.max_nesting_depth = 128 (levels of nested lists and dicts)");
  // Nor can the conversation's JSON.
  nlohmann::ordered_json deep = "leaf";
  for (int i = 0; i < 1000; ++i) deep = nlohmann::ordered_json::array({deep});
  const rlft::chat_template chat("{{ messages|length }}");
  CHECK_THROWS_WITH_AS(chat.render(nlohmann::ordered_json::array({{{"role", "user"}, {"content", deep}}})),
                       "chat template: the render exceeds limits.max_nesting_depth = 128 (levels of nested lists "
                       "and dicts)",
                       rlft::error);
}

TEST_CASE("templates larger than max_template_bytes are refused") {
  rlft::jinja::limits small;
  small.max_template_bytes = 100;
  CHECK(limit_error(repeated("x", 101), small) == "chat template: 101 bytes exceed limits.max_template_bytes = 100");
  CHECK(limit_error(repeated("x", 100), small).empty());
}

TEST_CASE("a template within its limits renders after a refused one") {
  rlft::jinja::limits small;
  small.max_iterations = 10;
  const rlft::chat_template chat("{% for i in range(n) %}{{ i }}{% endfor %}", small);
  rlft::chat_render_options options;
  options.variables = {{"n", 100}};
  CHECK_THROWS_AS(chat.render(nlohmann::ordered_json::array(), options), rlft::error);
  options.variables = {{"n", 5}};
  CHECK(chat.render(nlohmann::ordered_json::array(), options) == "01234");
}
