// How template values become text: str() for {{ ... }}, `~` and the string filter, repr()
// inside printed lists and dicts, and json.dumps for the tojson filter (with transformers'
// ensure_ascii=False default, so non-ASCII text stays as it is). Every writer stops with the
// budget's error as soon as its text outgrows max_built_bytes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlft/text/jinja/failure.hpp"
#include "rlft/text/jinja/limits.hpp"
#include "rlft/text/jinja/python_text.hpp"
#include "rlft/text/jinja/value.hpp"

namespace rlft::jinja {

namespace detail {

// Throws the budget's error once `text` is longer than one render may build.
inline void check_length(const std::string& text, render_budget& budget) {
  if (text.size() > budget.ceilings().max_built_bytes) budget.refuse_built_bytes();
}

inline void append_repr(std::string& out, const value& v, render_budget& budget);

inline void append_namespace(std::string& out, const value& v, render_budget& budget) {
  out += "<Namespace {";
  bool first = true;
  for (const auto& [name, attribute] : v.as_namespace().attributes) {
    if (!first) out += ", ";
    first = false;
    out += python::string_repr(name);
    out += ": ";
    append_repr(out, attribute, budget);
  }
  out += "}>";
}

inline void append_repr(std::string& out, const value& v, render_budget& budget) {
  switch (v.type()) {
    case value::kind::undefined: out += "Undefined"; break;
    case value::kind::none: out += "None"; break;
    case value::kind::boolean: out += v.as_boolean() ? "True" : "False"; break;
    case value::kind::integer: out += std::to_string(v.as_integer()); break;
    case value::kind::floating: out += python::float_repr(v.as_floating()); break;
    case value::kind::string: out += python::string_repr(v.as_string()); break;
    case value::kind::list: {
      const list_data& list = v.as_list();
      out += list.is_tuple ? '(' : '[';
      for (std::size_t i = 0; i < list.items.size(); ++i) {
        if (i > 0) out += ", ";
        append_repr(out, list.items[i], budget);
        check_length(out, budget);
      }
      if (list.is_tuple && list.items.size() == 1) out += ',';
      out += list.is_tuple ? ')' : ']';
      break;
    }
    case value::kind::dict: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.as_dict().entries) {
        if (!first) out += ", ";
        first = false;
        out += python::string_repr(key);
        out += ": ";
        append_repr(out, item, budget);
        check_length(out, budget);
      }
      out += '}';
      break;
    }
    case value::kind::name_space: append_namespace(out, v, budget); break;
    case value::kind::function:
      out += "<function ";
      out += v.as_function().name;
      out += '>';
      break;
  }
  check_length(out, budget);
}

}  // namespace detail

// Python's str(): what {{ value }} prints. Undefined prints as nothing.
inline std::string to_text(const value& v, render_budget& budget) {
  switch (v.type()) {
    case value::kind::undefined: return {};
    case value::kind::string: return v.as_string();
    default: {
      std::string out;
      detail::append_repr(out, v, budget);
      return out;
    }
  }
}

inline std::string to_repr(const value& v, render_budget& budget) {
  std::string out;
  detail::append_repr(out, v, budget);
  return out;
}

// The options of transformers' tojson filter, which calls json.dumps.
struct json_format {
  std::optional<std::string> indent = {};          // absent: one line
  std::optional<std::string> item_separator = {};  // absent: ", " on one line, "," when indented
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};

namespace detail {

inline void append_json(std::string& out, const value& v, const json_format& format, std::size_t level,
                        render_budget& budget) {
  const std::string_view item_separator = format.item_separator ? std::string_view(*format.item_separator)
                                          : format.indent       ? ","
                                                                : ", ";
  const auto new_line = [&](std::size_t line_level) {
    if (!format.indent) return;
    out += '\n';
    for (std::size_t i = 0; i < line_level; ++i) {
      out += *format.indent;
      check_length(out, budget);
    }
  };
  switch (v.type()) {
    case value::kind::none: out += "null"; break;
    case value::kind::boolean: out += v.as_boolean() ? "true" : "false"; break;
    case value::kind::integer: out += std::to_string(v.as_integer()); break;
    case value::kind::floating: out += python::float_json(v.as_floating()); break;
    case value::kind::string: python::append_json_string(out, v.as_string(), format.ensure_ascii); break;
    case value::kind::list: {
      const auto& items = v.as_list().items;
      if (items.empty()) {
        out += "[]";
        break;
      }
      out += '[';
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += item_separator;
        new_line(level + 1);
        append_json(out, items[i], format, level + 1, budget);
        check_length(out, budget);
      }
      new_line(level);
      out += ']';
      break;
    }
    case value::kind::dict: {
      const auto& entries = v.as_dict().entries;
      if (entries.empty()) {
        out += "{}";
        break;
      }
      std::vector<const std::pair<std::string, value>*> order;
      order.reserve(entries.size());
      for (const auto& entry : entries) order.push_back(&entry);
      if (format.sort_keys)
        std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
      out += '{';
      for (std::size_t i = 0; i < order.size(); ++i) {
        if (i > 0) out += item_separator;
        new_line(level + 1);
        python::append_json_string(out, order[i]->first, format.ensure_ascii);
        out += format.key_separator;
        append_json(out, order[i]->second, format, level + 1, budget);
        check_length(out, budget);
      }
      new_line(level);
      out += '}';
      break;
    }
    case value::kind::undefined:
    case value::kind::name_space:
    case value::kind::function: fail_render("tojson: object of type ", v.type_name(), " is not JSON serializable");
  }
}

}  // namespace detail

// json.dumps(value, ...) with the given options.
inline std::string to_json_text(const value& v, const json_format& format, render_budget& budget) {
  std::string out;
  detail::append_json(out, v, format, 0, budget);
  return out;
}

}  // namespace rlft::jinja
