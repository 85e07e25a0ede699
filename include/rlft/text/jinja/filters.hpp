// Jinja's built-in filters that chat templates use, with Jinja's behaviour on each kind of
// value (undefined included: `undefined|length` is 0, `undefined|trim` is "", `undefined|int`
// is an error), plus transformers' tojson (json.dumps with ensure_ascii=False and its indent,
// separators and sort_keys options). Filters that return generators in Jinja (map, select,
// reverse, ...) return lists here, which iterate, join and print through `list` the same way.
#pragma once

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "rlft/text/utf8.hpp"
#include "rlft/text/jinja/arguments.hpp"
#include "rlft/text/jinja/failure.hpp"
#include "rlft/text/jinja/limits.hpp"
#include "rlft/text/jinja/methods.hpp"
#include "rlft/text/jinja/operators.hpp"
#include "rlft/text/jinja/python_text.hpp"
#include "rlft/text/jinja/tests.hpp"
#include "rlft/text/jinja/value.hpp"
#include "rlft/text/jinja/value_format.hpp"

namespace rlft::jinja {

inline value apply_filter(std::string_view name, const value& input, const call_arguments& arguments,
                          render_budget& budget);

namespace detail {

// The elements `for x in v` visits: a string's characters, a list's items, a dict's keys;
// undefined is empty.
inline std::vector<value> iterate(const value& v, render_budget& budget) {
  std::vector<value> elements;
  switch (v.type()) {
    case value::kind::undefined: break;
    case value::kind::string:
      budget.count_built_bytes(v.as_string().size(), sizeof(value));
      for (std::size_t position = 0; position < v.as_string().size();) {
        const std::size_t length = decode_utf8(v.as_string(), position).length;
        elements.push_back(value::string(v.as_string().substr(position, length)));
        position += length;
      }
      break;
    case value::kind::list: elements = v.as_list().items; break;
    case value::kind::dict:
      for (const auto& entry : v.as_dict().entries) elements.push_back(value::string(entry.first));
      break;
    default: fail_render("'", v.type_name(), "' object is not iterable");
  }
  budget.count_iterations(elements.size());
  return elements;
}

inline std::int64_t length_of(const value& v) {
  switch (v.type()) {
    case value::kind::undefined: return 0;
    case value::kind::string: return static_cast<std::int64_t>(python::code_point_count(v.as_string()));
    case value::kind::list: return static_cast<std::int64_t>(v.as_list().items.size());
    case value::kind::dict: return static_cast<std::int64_t>(v.as_dict().entries.size());
    default: fail_render("object of type '", v.type_name(), "' has no len()");
  }
}

// Jinja's attribute getter for map, selectattr and join: "a.b.0" looks up a, then b, then
// item 0, each as obj[part].
inline value get_attribute_path(const value& item, const value& attribute, const std::optional<value>& fallback,
                                render_budget& budget) {
  value current = item;
  if (attribute.is(value::kind::string)) {
    for (const std::string_view part : python::split(attribute.as_string(), ".", -1)) {
      bool all_digits = !part.empty();
      for (const char c : part) all_digits = all_digits && c >= '0' && c <= '9';
      std::int64_t index = 0;
      if (all_digits && std::from_chars(part.data(), part.data() + part.size(), index).ec == std::errc{})
        current = get_item(current, value::integer(index), budget);
      else
        current = get_item(current, value::string(std::string(part)), budget);
    }
  } else {
    current = get_item(current, attribute, budget);
  }
  if (fallback && current.is_undefined()) return *fallback;
  return current;
}

// Python's float(text): surrounding whitespace, a sign, digits with single underscores,
// "inf", "infinity" and "nan" in any case.
inline std::optional<double> parse_python_float(std::string_view text) {
  text = python::strip(text, std::nullopt, python::strip_side::both);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  std::string lowered;
  for (const char c : text) lowered += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  if (lowered == "inf" || lowered == "infinity") return negative ? -HUGE_VAL : HUGE_VAL;
  if (lowered == "nan") return std::nan("");
  std::string digits;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_') {
      const bool between_digits = i > 0 && i + 1 < text.size() &&
                                  std::isdigit(static_cast<unsigned char>(text[i - 1])) &&
                                  std::isdigit(static_cast<unsigned char>(text[i + 1]));
      if (!between_digits) return std::nullopt;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-')
      return std::nullopt;
    digits += c;
  }
  if (digits.empty() || digits.front() == '+' || digits.front() == '-') return std::nullopt;
  double parsed = 0.0;
  const auto result = std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
  if (result.ec != std::errc{} || result.ptr != digits.data() + digits.size()) return std::nullopt;
  return negative ? -parsed : parsed;
}

// Python's int(text, base): whitespace, a sign, digits with single underscores, and for base
// 0 or the matching base a 0x / 0o / 0b prefix.
inline std::optional<std::int64_t> parse_python_int(std::string_view text, std::int64_t base) {
  text = python::strip(text, std::nullopt, python::strip_side::both);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.size() > 2 && text[0] == '0') {
    const char prefix = static_cast<char>(text[1] | 0x20);
    const std::int64_t prefixed = prefix == 'x' ? 16 : prefix == 'o' ? 8 : prefix == 'b' ? 2 : 0;
    if (prefixed != 0 && (base == 0 || base == prefixed)) {
      base = prefixed;
      text.remove_prefix(text[2] == '_' ? 3 : 2);
    }
  }
  if (base == 0) base = 10;
  if (base < 2 || base > 36 || text.empty() || text.front() == '_' || text.back() == '_') return std::nullopt;
  std::string digits;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '_') {
      if (text[i + 1] == '_') return std::nullopt;
      continue;
    }
    digits += text[i];
  }
  std::int64_t parsed = 0;
  const auto result = std::from_chars(digits.data(), digits.data() + digits.size(), parsed, static_cast<int>(base));
  if (result.ec != std::errc{} || result.ptr != digits.data() + digits.size()) return std::nullopt;
  return negative ? -parsed : parsed;
}

// int(x) of a float: none for NaN and the infinities (Python raises, and the int filter falls
// back to its default); a finite value outside 64 bits is a render error, where Python would
// make a big integer.
inline std::optional<std::int64_t> float_to_int(double x) {
  if (!std::isfinite(x)) return std::nullopt;
  if (x >= 9.2233720368547758e18 || x < -9.2233720368547758e18) fail_overflow();
  return static_cast<std::int64_t>(x);
}

inline value filter_int(const value& input, const argument_binder& bound) {
  require_defined(input);
  const value fallback = bound.get_or(0, value::integer(0));
  const std::int64_t base = bound.integer_or(1, 10);
  if (input.is(value::kind::integer) || input.is(value::kind::boolean)) return value::integer(input.integer_value());
  if (input.is(value::kind::floating)) {
    if (const auto converted = float_to_int(input.as_floating())) return value::integer(*converted);
    return fallback;
  }
  if (input.is(value::kind::string)) {
    if (const auto parsed = parse_python_int(input.as_string(), base)) return value::integer(*parsed);
    if (const auto as_float = parse_python_float(input.as_string()))
      if (const auto converted = float_to_int(*as_float)) return value::integer(*converted);
  }
  return fallback;
}

inline value filter_float(const value& input, const argument_binder& bound) {
  require_defined(input);
  const value fallback = bound.get_or(0, value::floating(0.0));
  if (input.is_number()) return value::floating(input.number_as_double());
  if (input.is(value::kind::string))
    if (const auto parsed = parse_python_float(input.as_string())) return value::floating(*parsed);
  return fallback;
}

inline value filter_tojson(const value& input, const argument_binder& bound, render_budget& budget) {
  json_format format;
  format.ensure_ascii = bound.flag_or(0, false);
  if (const value* indent = bound.given(1); indent && !indent->is(value::kind::none)) {
    if (indent->is(value::kind::string)) {
      format.indent = indent->as_string();
    } else if (indent->is(value::kind::integer) || indent->is(value::kind::boolean)) {
      const std::int64_t width = indent->integer_value();
      if (width > 4096) fail_render("tojson(): indent = ", width, " is too wide");
      format.indent = std::string(width > 0 ? static_cast<std::size_t>(width) : 0, ' ');
    } else {
      fail_render("tojson(): indent must be an integer or a string, not ", indent->type_name());
    }
  }
  if (const value* separators = bound.given(2); separators && !separators->is(value::kind::none)) {
    if (!separators->is_list() || separators->as_list().items.size() != 2 ||
        !separators->as_list().items[0].is(value::kind::string) ||
        !separators->as_list().items[1].is(value::kind::string))
      fail_render("tojson(): separators must be a pair of strings");
    format.item_separator = separators->as_list().items[0].as_string();
    format.key_separator = separators->as_list().items[1].as_string();
  }
  format.sort_keys = bound.flag_or(3, false);
  std::string text = to_json_text(input, format, budget);
  budget.count_built_bytes(text.size());
  return value::string(std::move(text));
}

inline value filter_indent(const value& input, const argument_binder& bound, render_budget& budget) {
  require_defined(input);
  std::string indentation(4, ' ');
  if (const value* width = bound.given(0)) {
    if (width->is(value::kind::string)) {
      indentation = width->as_string();
    } else {
      const std::int64_t spaces = bound.integer_or(0, 4);
      if (spaces > 4096) fail_render("indent(): width = ", spaces, " is too wide");
      indentation.assign(spaces > 0 ? static_cast<std::size_t>(spaces) : 0, ' ');
    }
  }
  const bool first = bound.flag_or(1, false);
  const bool blank = bound.flag_or(2, false);
  std::string text = to_text(input, budget);
  text += '\n';
  const std::vector<std::string_view> lines = python::split_lines(text);
  budget.count_built_bytes(text.size() + lines.size() * indentation.size());
  std::string result;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) result += '\n';
    if (i > 0 && (blank || !lines[i].empty())) result += indentation;
    result += lines[i];
  }
  if (first) result.insert(0, indentation);
  return value::string(std::move(result));
}

// Jinja's title filter: words start after runs of whitespace, '-', '(', '{', '[' or '<'.
inline std::string jinja_title(std::string_view text) {
  std::string result;
  bool word_start = true;
  for_each_code_point(text, [&](char32_t c) {
    const bool separator = python::is_whitespace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (separator) {
      rlft::append_utf8(c, result);
      word_start = true;
      return;
    }
    rlft::append_utf8(python::change_case(c, word_start ? python::letter_case::upper : python::letter_case::lower),
                      result);
    word_start = false;
  });
  return result;
}

// select / reject / selectattr / rejectattr.
inline value filter_select(std::string_view name, const value& input, const call_arguments& arguments,
                           render_budget& budget) {
  const bool by_attribute = name == "selectattr" || name == "rejectattr";
  const bool keep_matches = name == "select" || name == "selectattr";
  std::size_t next_argument = 0;
  value attribute;
  if (by_attribute) {
    if (arguments.positional.empty()) fail_render(name, "() needs the attribute to test");
    attribute = arguments.positional[next_argument++];
  }
  std::optional<std::string> test_name;
  if (next_argument < arguments.positional.size()) {
    const value& test = arguments.positional[next_argument++];
    if (!test.is(value::kind::string)) fail_render(name, "(): the test name must be a string");
    if (!contains_name(supported_tests, test.as_string()))
      fail_render(name, "(): unknown test '", test.as_string(), "'");
    test_name = test.as_string();
  }
  call_arguments test_arguments;
  test_arguments.positional.assign(arguments.positional.begin() + static_cast<std::ptrdiff_t>(next_argument),
                                   arguments.positional.end());
  test_arguments.keywords = arguments.keywords;
  std::vector<value> kept;
  if (!input.truthy()) return value::list({});  // Jinja yields nothing for a falsy input, even none
  for (const value& item : iterate(input, budget)) {
    const value tested = by_attribute ? get_attribute_path(item, attribute, std::nullopt, budget) : item;
    const bool verdict = test_name ? apply_test(*test_name, tested, test_arguments, budget) : tested.truthy();
    if (verdict == keep_matches) kept.push_back(item);
  }
  budget.count_built_bytes(kept.size() * sizeof(value));
  return value::list(std::move(kept));
}

inline value filter_map(const value& input, const call_arguments& arguments, render_budget& budget) {
  std::vector<value> mapped;
  if (!input.truthy()) return value::list({});  // Jinja yields nothing for a falsy input, even none
  if (arguments.positional.empty()) {
    const argument_binder bound("map", arguments, {"attribute", "default"});
    const value& attribute = bound.required(0);
    const std::optional<value> fallback = bound.given(1) ? std::optional<value>(*bound.given(1)) : std::nullopt;
    for (const value& item : iterate(input, budget))
      mapped.push_back(get_attribute_path(item, attribute, fallback, budget));
  } else {
    const value& filter_name = arguments.positional.front();
    if (!filter_name.is(value::kind::string)) fail_render("map(): the filter name must be a string");
    if (!contains_name(supported_filters, filter_name.as_string()))
      fail_render("map(): unknown or unsupported filter '", filter_name.as_string(), "'");
    call_arguments filter_arguments;
    filter_arguments.positional.assign(arguments.positional.begin() + 1, arguments.positional.end());
    filter_arguments.keywords = arguments.keywords;
    for (const value& item : iterate(input, budget))
      mapped.push_back(apply_filter(filter_name.as_string(), item, filter_arguments, budget));
  }
  budget.count_built_bytes(mapped.size() * sizeof(value));
  return value::list(std::move(mapped));
}

inline value filter_join(const value& input, const argument_binder& bound, render_budget& budget) {
  const value separator_value = bound.get_or(0, value::string(""));
  const std::string separator = to_text(separator_value, budget);
  const value* attribute = bound.given(1);
  std::string joined;
  bool first = true;
  for (const value& item : iterate(input, budget)) {
    const std::string text =
        to_text(attribute ? get_attribute_path(item, *attribute, std::nullopt, budget) : item, budget);
    budget.count_built_bytes(text.size() + (first ? 0 : separator.size()));  // before the string grows
    if (!first) joined += separator;
    first = false;
    joined += text;
  }
  return value::string(std::move(joined));
}

inline value text_result(std::string text, render_budget& budget) {
  budget.count_built_bytes(text.size());
  return value::string(std::move(text));
}

}  // namespace detail

inline value apply_filter(std::string_view name, const value& input, const call_arguments& arguments,
                          render_budget& budget) {
  using kind = value::kind;
  // Filters read a string input at least once.
  if (input.is(kind::string)) budget.count_iterations(input.as_string().size() / 64 + 1);
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr")
    return detail::filter_select(name, input, arguments, budget);
  if (name == "map") return detail::filter_map(input, arguments, budget);
  if (name == "default" || name == "d") {
    const argument_binder bound(name, arguments, {"default_value", "boolean"});
    const bool replace_falsy = bound.flag_or(1, false);
    if (input.is_undefined() || (replace_falsy && !input.truthy())) return bound.get_or(0, value::string(""));
    return input;
  }
  if (name == "tojson") {
    const argument_binder bound(name, arguments, {"ensure_ascii", "indent", "separators", "sort_keys"});
    return detail::filter_tojson(input, bound, budget);
  }
  if (name == "int") return detail::filter_int(input, argument_binder(name, arguments, {"default", "base"}));
  if (name == "float") return detail::filter_float(input, argument_binder(name, arguments, {"default"}));
  if (name == "indent")
    return detail::filter_indent(input, argument_binder(name, arguments, {"width", "first", "blank"}), budget);
  if (name == "join") return detail::filter_join(input, argument_binder(name, arguments, {"d", "attribute"}), budget);
  if (name == "replace") {
    const argument_binder bound(name, arguments, {"old", "new", "count"});
    const std::string old_text = to_text(bound.required(0), budget);
    const std::string new_text = to_text(bound.required(1), budget);
    return detail::text_result(
        detail::replaced(to_text(input, budget), old_text, new_text, bound.integer_or(2, -1), budget), budget);
  }
  if (name == "trim") {
    const argument_binder bound(name, arguments, {"chars"});
    const std::optional<std::string> characters = bound.optional_string(0);
    const std::string text = to_text(input, budget);
    return detail::text_result(
        std::string(python::strip(text, characters ? std::optional<std::string_view>(*characters) : std::nullopt,
                                  python::strip_side::both)),
        budget);
  }

  const argument_binder no_arguments(name, arguments, {});
  if (name == "length" || name == "count") return value::integer(detail::length_of(input));
  if (name == "string") return detail::text_result(to_text(input, budget), budget);
  if (name == "upper" || name == "lower")
    return detail::text_result(python::with_case(to_text(input, budget), name == "upper" ? python::letter_case::upper
                                                                                         : python::letter_case::lower),
                               budget);
  if (name == "capitalize") return detail::text_result(detail::python_capitalize(to_text(input, budget)), budget);
  if (name == "title") return detail::text_result(detail::jinja_title(to_text(input, budget)), budget);
  if (name == "abs") {
    if (input.is(kind::floating)) return value::floating(std::fabs(input.as_floating()));
    if (!input.is_number()) fail_render("bad operand type for abs(): '", input.type_name(), "'");
    const std::int64_t x = input.integer_value();
    if (x == INT64_MIN) detail::fail_overflow();
    return value::integer(x < 0 ? -x : x);
  }
  if (name == "items") {
    if (input.is_undefined()) return value::list({});
    if (!input.is(kind::dict)) fail_render("items: can only get item pairs from a mapping, not ", input.type_name());
    return call_method(function_data{"items", input}, {}, budget);
  }
  if (name == "list") {
    std::vector<value> items = detail::iterate(input, budget);
    budget.count_built_bytes(items.size() * sizeof(value));
    return value::list(std::move(items));
  }
  if (name == "reverse") {
    if (input.is(kind::string)) return get_slice(input, std::nullopt, std::nullopt, -1, budget);
    std::vector<value> items = detail::iterate(input, budget);
    budget.count_built_bytes(items.size() * sizeof(value));
    return value::list(std::vector<value>(items.rbegin(), items.rend()));
  }
  if (name == "first" || name == "last") {
    const bool first = name == "first";
    if (input.is_undefined())
      return value::undefined(rlft::detail::make_message("no ", name, " item: the sequence is undefined"));
    if (input.is_list()) {
      const auto& items = input.as_list().items;
      if (items.empty())
        return value::undefined(rlft::detail::make_message("no ", name, " item: the sequence is empty"));
      return first ? items.front() : items.back();
    }
    if (input.is(kind::dict)) {
      const auto& entries = input.as_dict().entries;
      if (entries.empty()) return value::undefined(rlft::detail::make_message("no ", name, " item: the dict is empty"));
      return value::string(first ? entries.front().first : entries.back().first);
    }
    if (input.is(kind::string)) {
      if (input.as_string().empty())
        return value::undefined(rlft::detail::make_message("no ", name, " item: the string is empty"));
      return get_item(input, value::integer(first ? 0 : -1), budget);
    }
    fail_render("'", input.type_name(), "' object is not iterable");
  }
  fail_render("no filter named '", name, "'");
}

}  // namespace rlft::jinja
