// The Python methods chat templates call on values: str's strip/lstrip/rstrip, split/rsplit,
// splitlines, startswith/endswith, replace, upper/lower/capitalize/title, find/rfind, count,
// join, removeprefix/removesuffix and isspace/isdigit; dict's items/keys/values/get/copy;
// list's count/index/copy. Other methods of these types exist in Python but are refused here
// with a render error naming them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlft/text/jinja/arguments.hpp"
#include "rlft/text/jinja/failure.hpp"
#include "rlft/text/jinja/limits.hpp"
#include "rlft/text/jinja/operators.hpp"
#include "rlft/text/jinja/python_text.hpp"
#include "rlft/text/jinja/value.hpp"
#include "rlft/text/jinja/value_format.hpp"

namespace rlft::jinja {

namespace detail {

inline value string_list(const std::vector<std::string_view>& parts, render_budget& budget) {
  std::vector<value> items;
  items.reserve(parts.size());
  std::size_t bytes = parts.size() * sizeof(value);
  for (const std::string_view part : parts) bytes += part.size();
  budget.count_built_bytes(bytes);
  for (const std::string_view part : parts) items.push_back(value::string(std::string(part)));
  return value::list(std::move(items));
}

// str.replace within the budget: a result larger than one render may build is refused before
// it is built.
inline std::string replaced(std::string_view text, std::string_view old_text, std::string_view new_text,
                            std::int64_t count, render_budget& budget) {
  std::optional<std::string> result =
      python::replace(text, old_text, new_text, count, budget.ceilings().max_built_bytes);
  if (!result) budget.refuse_built_bytes();
  return std::move(*result);
}

inline value new_string(std::string text, render_budget& budget) {
  budget.count_built_bytes(text.size());
  return value::string(std::move(text));
}

// str.startswith / endswith: a prefix or a tuple of them.
inline bool affix_matches(std::string_view method, std::string_view text, const value& affix, bool at_start) {
  const auto one = [&](const value& candidate) {
    if (!candidate.is(value::kind::string))
      fail_render("str.", method, "() takes a string or a tuple of strings, not ", candidate.type_name());
    return at_start ? text.starts_with(candidate.as_string()) : text.ends_with(candidate.as_string());
  };
  if (affix.is_list() && affix.as_list().is_tuple) {
    for (const value& candidate : affix.as_list().items)
      if (one(candidate)) return true;
    return false;
  }
  return one(affix);
}

// Python's str.title(): a cased letter is uppercased after an uncased character, lowercased
// after a cased one.
inline std::string python_title(std::string_view text) {
  std::string result;
  bool previous_cased = false;
  for_each_code_point(text, [&](char32_t c) {
    const bool cased = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0x80 && !python::is_caseless(c));
    rlft::append_utf8(python::change_case(c, previous_cased ? python::letter_case::lower : python::letter_case::upper),
                      result);
    previous_cased = cased;
  });
  return result;
}

inline std::string python_capitalize(std::string_view text) {
  std::string result;
  bool first = true;
  for_each_code_point(text, [&](char32_t c) {
    rlft::append_utf8(python::change_case(c, first ? python::letter_case::upper : python::letter_case::lower),
                      result);
    first = false;
  });
  return result;
}

inline value call_string_method(std::string_view name, const std::string& text, const call_arguments& arguments,
                                render_budget& budget) {
  const std::string callee = concatenated({"str.", name});
  budget.count_iterations(text.size() / 64 + 1);
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const argument_binder bound(callee, arguments, {"chars"});
    const auto side = name == "strip"    ? python::strip_side::both
                      : name == "lstrip" ? python::strip_side::leading
                                         : python::strip_side::trailing;
    const std::optional<std::string> characters = bound.optional_string(0);
    return new_string(std::string(python::strip(
                          text, characters ? std::optional<std::string_view>(*characters) : std::nullopt, side)),
                      budget);
  }
  if (name == "split" || name == "rsplit") {
    const argument_binder bound(callee, arguments, {"sep", "maxsplit"});
    const std::optional<std::string> separator = bound.optional_string(0);
    const std::int64_t max_splits = bound.integer_or(1, -1);
    if (separator && separator->empty()) fail_render(callee, "(): empty separator");
    const bool from_right = name == "rsplit";
    if (!separator)
      return string_list(
          from_right ? python::rsplit_whitespace(text, max_splits) : python::split_whitespace(text, max_splits),
          budget);
    return string_list(
        from_right ? python::rsplit(text, *separator, max_splits) : python::split(text, *separator, max_splits),
        budget);
  }
  if (name == "splitlines") {
    const argument_binder bound(callee, arguments, {"keepends"});
    if (bound.flag_or(0, false)) fail_render(callee, "(keepends=True) is not supported");
    return string_list(python::split_lines(text), budget);
  }
  if (name == "startswith" || name == "endswith") {
    const argument_binder bound(callee, arguments, {"prefix", "start", "end"});
    if (bound.given(1) || bound.given(2)) fail_render(callee, "() with start or end positions is not supported");
    return value::boolean(affix_matches(callee, text, bound.required(0), name == "startswith"));
  }
  if (name == "replace") {
    const argument_binder bound(callee, arguments, {"old", "new", "count"});
    const value& old_text = bound.required(0);
    const value& new_text = bound.required(1);
    if (!old_text.is(value::kind::string) || !new_text.is(value::kind::string)) fail_render(callee, "() takes strings");
    return new_string(replaced(text, old_text.as_string(), new_text.as_string(), bound.integer_or(2, -1), budget),
                      budget);
  }
  if (name == "upper" || name == "lower") {
    const argument_binder bound(callee, arguments, {});
    return new_string(
        python::with_case(text, name == "upper" ? python::letter_case::upper : python::letter_case::lower), budget);
  }
  if (name == "capitalize" || name == "title") {
    const argument_binder bound(callee, arguments, {});
    return new_string(name == "title" ? python_title(text) : python_capitalize(text), budget);
  }
  if (name == "find" || name == "rfind" || name == "count") {
    const argument_binder bound(callee, arguments, {"sub", "start", "end"});
    if (bound.given(1) || bound.given(2)) fail_render(callee, "() with start or end positions is not supported");
    const value& sub = bound.required(0);
    if (!sub.is(value::kind::string)) fail_render(callee, "() takes a string, not ", sub.type_name());
    const std::string& needle = sub.as_string();
    if (name == "count") {
      if (needle.empty()) return value::integer(static_cast<std::int64_t>(python::code_point_count(text) + 1));
      std::int64_t count = 0;
      for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size()))
        ++count;
      return value::integer(count);
    }
    const std::size_t at = name == "find" ? text.find(needle) : text.rfind(needle);
    if (at == std::string::npos) return value::integer(-1);
    return value::integer(static_cast<std::int64_t>(python::code_point_index(text, at)));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    const argument_binder bound(callee, arguments, {"affix"});
    const value& affix = bound.required(0);
    if (!affix.is(value::kind::string)) fail_render(callee, "() takes a string, not ", affix.type_name());
    std::string_view result = text;
    if (name == "removeprefix" && result.starts_with(affix.as_string())) result.remove_prefix(affix.as_string().size());
    if (name == "removesuffix" && result.ends_with(affix.as_string())) result.remove_suffix(affix.as_string().size());
    return new_string(std::string(result), budget);
  }
  if (name == "join") {
    const argument_binder bound(callee, arguments, {"iterable"});
    const value& iterable = bound.required(0);
    if (!iterable.is_list()) fail_render(callee, "() takes a list of strings, not ", iterable.type_name());
    std::string joined;
    bool first = true;
    for (const value& item : iterable.as_list().items) {
      if (!item.is(value::kind::string)) fail_render(callee, "(): expected str items, found ", item.type_name());
      budget.count_built_bytes(item.as_string().size() + (first ? 0 : text.size()));  // before the string grows
      if (!first) joined += text;
      first = false;
      joined += item.as_string();
    }
    return value::string(std::move(joined));
  }
  if (name == "isspace") {
    const argument_binder bound(callee, arguments, {});
    bool all_whitespace = !text.empty();
    for_each_code_point(text, [&](char32_t c) { all_whitespace = all_whitespace && python::is_whitespace(c); });
    return value::boolean(all_whitespace);
  }
  if (name == "isdigit") {
    const argument_binder bound(callee, arguments, {});
    if (!python::is_ascii(text)) fail_render(callee, "() on non-ASCII text is not supported");
    bool all_digits = !text.empty();
    for (const char c : text) all_digits = all_digits && c >= '0' && c <= '9';
    return value::boolean(all_digits);
  }
  fail_render("the method ", callee, "() is not supported");
}

inline value call_dict_method(std::string_view name, const value& receiver, const call_arguments& arguments,
                              render_budget& budget) {
  const std::string callee = concatenated({"dict.", name});
  const dict_data& dict = receiver.as_dict();
  if (name == "get") {
    const argument_binder bound(callee, arguments, {"key", "default"});
    const value& key = bound.required(0);
    if (key.is(value::kind::string))
      if (const value* item = dict.find(key.as_string())) return *item;
    return bound.get_or(1, value::none());
  }
  if (name == "copy") {
    const argument_binder bound(callee, arguments, {});
    return receiver;  // dicts are immutable here, so a copy is the same value
  }
  const argument_binder bound(callee, arguments, {});
  budget.count_iterations(dict.entries.size());
  budget.count_built_bytes(dict.entries.size() * 3 * sizeof(value));
  std::vector<value> items;
  items.reserve(dict.entries.size());
  for (const auto& [key, item] : dict.entries) {
    if (name == "keys")
      items.push_back(value::string(key));
    else if (name == "values")
      items.push_back(item);
    else
      items.push_back(value::list({value::string(key), item}, true));
  }
  return value::list(std::move(items));
}

inline value call_list_method(std::string_view name, const value& receiver, const call_arguments& arguments,
                              render_budget& budget) {
  const std::string callee = concatenated({"list.", name});
  if (name == "copy") {
    const argument_binder bound(callee, arguments, {});
    return receiver;
  }
  const argument_binder bound(callee, arguments, {"value"});
  const value& wanted = bound.required(0);
  const auto& items = receiver.as_list().items;
  std::int64_t count = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    budget.count_iterations(1);
    if (!equal(items[i], wanted, budget)) continue;
    if (name == "index") return value::integer(static_cast<std::int64_t>(i));
    ++count;
  }
  if (name == "index") fail_render(callee, "(): the value is not in the list");
  return value::integer(count);
}

}  // namespace detail

// Calls a method bound to its receiver (see get_attribute).
inline value call_method(const function_data& method, const call_arguments& arguments, render_budget& budget) {
  const value& receiver = method.receiver;
  if (receiver.is(value::kind::string))
    return detail::call_string_method(method.name, receiver.as_string(), arguments, budget);
  if (receiver.is(value::kind::dict)) return detail::call_dict_method(method.name, receiver, arguments, budget);
  if (receiver.is_list()) return detail::call_list_method(method.name, receiver, arguments, budget);
  fail_render("'", method.name, "' is not callable");
}

}  // namespace rlft::jinja
