// Templates outside the supported Jinja subset or with syntax errors fail when loaded, with an
// rlft::error (never a data_error) naming the construct and its line; conversations a template
// cannot render fail when rendered, with an rlft::data_error naming the problem and its line.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "error_message.hpp"
#include "rlft/text/chat_template.hpp"

namespace {

// The message of the error loading `source` throws; fails the test if it is a data_error.
std::string load_error(const std::string& source) {
  try {
    rlft::chat_template parsed(source);
  } catch (const rlft::data_error& failure) {
    FAIL("a template defect must not be a data_error: ", failure.what());
  } catch (const rlft::error& failure) {
    return failure.what();
  }
  return "";
}

// The message of the data_error rendering `source` over one user message throws.
std::string render_error(const std::string& source) {
  const rlft::chat_template parsed(source);
  const auto messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  try {
    parsed.render(messages);
  } catch (const rlft::data_error& failure) {
    return failure.what();
  }
  return "";
}

// `message` contains `part`; a failure shows both.
void check_contains(const std::string& message, const std::string& part) {
  INFO("message: ", message);
  INFO("expected to contain: ", part);
  CHECK(message.find(part) != std::string::npos);
}

}  // namespace

TEST_CASE("unknown and unsupported filters and tests are named when the template loads") {
  CHECK(load_error("{{ messages | frobnicate }}") == "chat template line 1: unknown filter 'frobnicate'");
  CHECK(load_error("a\nb\n{{ x|dictsort }}") == "chat template line 3: the filter 'dictsort' is not supported");
  CHECK(load_error("{{ x|safe }}") == "chat template line 1: the filter 'safe' is not supported");
  CHECK(load_error("{% if x is frob %}{% endif %}") == "chat template line 1: unknown test 'frob'");
  CHECK(load_error("{{ x|a.b }}") == "chat template line 1: dotted filter names are not supported");
}

TEST_CASE("statements outside the subset are named when the template loads") {
  CHECK(load_error("{% macro greet(name) %}hi{% endmacro %}") ==
        "chat template line 1: the statement 'macro' is not supported (chat templates may use if, for, set, break, "
        "continue and generation)");
  check_contains(load_error("\n{% include 'other.jinja' %}"), "line 2: the statement 'include' is not supported");
  check_contains(load_error("{% with x = 1 %}{% endwith %}"), "the statement 'with' is not supported");
  CHECK(load_error("{% for x in xs recursive %}{% endfor %}") ==
        "chat template line 1: recursive for loops are not supported");
  CHECK(load_error("{% frobnicate %}") == "chat template line 1: unknown statement 'frobnicate'");
  check_contains(load_error("{{ f(*args) }}"), "*args and **kwargs in calls are not supported");
  CHECK(load_error("{% break %}") == "chat template line 1: 'break' outside a for loop");
  CHECK(load_error("{% for x in y %}{% set z %}{% break %}{% endset %}{% endfor %}") ==
        "chat template line 1: 'break' outside a for loop");
}

TEST_CASE("malformed templates are rejected with the line of the problem") {
  CHECK(load_error("line 1\n{% if x %}\nno end") ==
        "chat template line 3: unexpected end of template: the 'if' on line 2 needs {% endif %}");
  CHECK(load_error("{% for m in messages %}{% endif %}") ==
        "chat template line 1: unexpected 'endif' inside the 'for' block");
  CHECK(load_error("{% endfor %}") == "chat template line 1: unexpected 'endfor' outside any block");
  CHECK(load_error("{{ 1 + }}") == "chat template line 1: unexpected '}}' in an expression");
  CHECK(load_error("{{ 'open }}") == "chat template line 1: unterminated string literal");
  CHECK(load_error("{{ (1] }}") == "chat template line 1: unexpected ']', expected ')'");
  CHECK(load_error("{{ x ) }}") == "chat template line 1: unexpected ')'");
  CHECK(load_error("{# never closed") == "chat template line 1: missing end of comment tag '#}'");
  check_contains(load_error("{{ x"), "unexpected end of template: missing '}}'");
  check_contains(load_error("{% if x %}{% else %}{% elif y %}{% endif %}"), "unexpected 'elif'");
  CHECK(load_error("{{ x | }}") == "chat template line 1: expected a name, got '}}'");
  check_contains(load_error("{% set 1 = 2 %}"), "expected a name");
  CHECK(load_error("{% for true in x %}{% endfor %}") == "chat template line 1: cannot assign to 'true'");
  CHECK(load_error("{{ x @ y }}") == "chat template line 1: unexpected character '@' in a tag");
  check_contains(load_error("{{ '\\xZZ' }}"), "truncated \\x escape");
  check_contains(load_error("{{ 99999999999999999999 }}"), "integer literal 99999999999999999999 is out of range");
  CHECK(load_error("{% raw %}never closed") == "chat template line 1: missing {% endraw %} for this {% raw %}");
}

TEST_CASE("conversations a template cannot render are data errors with the line") {
  CHECK(render_error("{{ raise_exception('Roles must alternate') }}") ==
        "chat template line 1: raise_exception: Roles must alternate");
  CHECK(render_error("x\n{{ missing.role }}") == "chat template line 2: 'missing' is undefined");
  CHECK(render_error("{{ messages[0].name + 'x' }}") == "chat template line 1: 'dict object' has no attribute 'name'");
  CHECK(render_error("{{ messages[3].role }}") == "chat template line 1: list object has no element 3");
  CHECK(render_error("{{ 'a' + 1 }}") == "chat template line 1: unsupported operand types for +: 'str' and 'int'");
  CHECK(render_error("{{ 1 < 'a' }}") == "chat template line 1: '<' is not supported between 'int' and 'str'");
  CHECK(render_error("{{ 1 // 0 }}") == "chat template line 1: integer division or modulo by zero");
  check_contains(render_error("{{ 9223372036854775807 + 1 }}"), "integer overflow");
  CHECK(render_error("{% for x in none %}{% endfor %}") == "chat template line 1: 'NoneType' object is not iterable");
  CHECK(render_error("{{ none|length }}") == "chat template line 1: object of type 'NoneType' has no len()");
  CHECK(render_error("{{ x|tojson }}") ==
        "chat template line 1: tojson: object of type undefined is not JSON serializable");
  CHECK(render_error("{{ 'x'.zfill(3) }}") == "chat template line 1: the method str.zfill() is not supported");
  check_contains(render_error("{{ {'a': 1}.pop('a') }}"), "would modify the dict");
  CHECK(render_error("{{ 'x'.split('') }}") == "chat template line 1: str.split(): empty separator");
  check_contains(render_error("{{ 'x'.strip(1) }}"), "must be a string");
  check_contains(render_error("{{ 'é'|upper }}"), "changing the letter case of U+00E9 is not supported");
  CHECK(render_error("{% set ns = namespace(a=1) %}{% set ns.b = namespace() %}") ==
        "chat template line 1: a namespace cannot hold a namespace");
  check_contains(render_error("{% set x = 1 %}{% set x.y = 2 %}"), "it is not a namespace()");
  CHECK(render_error("{{ cycler(1, 2) }}") == "chat template line 1: the function cycler() is not supported");
  check_contains(render_error("{{ range(1000000)|length }}"), "range() is too big");
  check_contains(render_error("{{ '%s' % 1 }}"), "printf-style string formatting");
  CHECK(render_error("{% for a, b in [[1, 2, 3]] %}{% endfor %}") ==
        "chat template line 1: cannot unpack 3 values into 2 names");
  CHECK(render_error("{{ [1, 2][::0] }}") == "chat template line 1: slice step cannot be zero");
  check_contains(render_error("{{ strftime_now(5) }}"), "strftime_now() takes a format string");
  check_contains(render_error("{{ 'abc'|replace('b') }}"), "replace() is missing the argument 'new'");
  check_contains(render_error("{{ [1]|join(d=',', sep=',') }}"), "unexpected keyword argument 'sep'");
}

TEST_CASE("render inputs are checked") {
  const rlft::chat_template chat("{{ messages|length }}");
  using rlft::testing::error_message;
  CHECK(error_message([&] { chat.render(nlohmann::ordered_json::object()); }) ==
        "chat template: messages must be a JSON array of message objects");
  CHECK(error_message([&] { chat.render(nlohmann::ordered_json::parse("[1]")); }) ==
        "chat template: every message must be a JSON object");
  rlft::chat_render_options options;
  options.tools = "not a list";
  CHECK(error_message([&] { chat.render(nlohmann::ordered_json::array(), options); }) ==
        "chat template: tools must be a JSON array of tool schemas, or null");
  options.tools = nullptr;
  options.variables = {{"messages", 1}};
  CHECK(error_message([&] { chat.render(nlohmann::ordered_json::array(), options); }) ==
        "chat template: the variable 'messages' is set by render() itself, not through options.variables");
}
