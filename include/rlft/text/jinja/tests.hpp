// Jinja's tests (`x is defined`, `x is string`, `x is divisibleby 3`, ...) with Python's
// notions of type: bool counts as a number but not as an integer, undefined is iterable and
// empty, and a mapping is a dict. select, reject, selectattr and rejectattr call them too.
#pragma once

#include <string>
#include <string_view>

#include "rlft/text/jinja/arguments.hpp"
#include "rlft/text/jinja/builtin_names.hpp"
#include "rlft/text/jinja/failure.hpp"
#include "rlft/text/jinja/limits.hpp"
#include "rlft/text/jinja/operators.hpp"
#include "rlft/text/jinja/python_text.hpp"
#include "rlft/text/jinja/value.hpp"
#include "rlft/text/jinja/value_format.hpp"

namespace rlft::jinja {

namespace detail {

// str.islower() (lower = true) or str.isupper(): some cased letter, none of the other case.
inline bool has_only_case(const value& input, bool lower, render_budget& budget) {
  const std::string text = to_text(input, budget);
  budget.count_iterations(text.size() / 64 + 1);
  bool any_cased = false;
  bool all_match = true;
  for_each_code_point(text, [&](char32_t c) {
    const char32_t as_lower = python::change_case(c, python::letter_case::lower);
    const char32_t as_upper = python::change_case(c, python::letter_case::upper);
    if (as_lower == as_upper) return;  // uncased
    any_cased = true;
    if (lower ? c != as_lower : c != as_upper) all_match = false;
  });
  return any_cased && all_match;
}

inline bool same_object(const value& a, const value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case value::kind::undefined: return false;
    case value::kind::none: return true;
    case value::kind::boolean: return a.as_boolean() == b.as_boolean();
    case value::kind::integer: return a.as_integer() == b.as_integer();
    case value::kind::floating: return false;
    default: return a.identity() == b.identity();
  }
}

}  // namespace detail

inline bool apply_test(std::string_view name, const value& input, const call_arguments& arguments,
                       render_budget& budget) {
  const std::string callee = concatenated({"test ", name});
  // The one argument of the comparison tests (`x is equalto y`, `x is in seq`, ...).
  const auto argument = [&](std::string_view parameter) -> const value& {
    return argument_binder(callee, arguments, {parameter}).required(0);
  };
  using kind = value::kind;
  if (name == "divisibleby") return equal(arithmetic("%", input, argument("num"), budget), value::integer(0), budget);
  if (name == "in") return contains(argument("seq"), input, budget);
  if (name == "sameas") return detail::same_object(input, argument("other"));
  if (name == "eq" || name == "equalto" || name == "==") return equal(input, argument("other"), budget);
  if (name == "ne" || name == "!=") return !equal(input, argument("other"), budget);
  if (name == "lt" || name == "lessthan" || name == "<") return ordered(input, argument("other"), "<", budget);
  if (name == "le" || name == "<=") return ordered(input, argument("other"), "<=", budget);
  if (name == "gt" || name == "greaterthan" || name == ">") return ordered(input, argument("other"), ">", budget);
  if (name == "ge" || name == ">=") return ordered(input, argument("other"), ">=", budget);

  const argument_binder no_arguments(callee, arguments, {});
  if (name == "defined") return !input.is_undefined();
  if (name == "undefined") return input.is_undefined();
  if (name == "none") return input.is(kind::none);
  if (name == "boolean") return input.is(kind::boolean);
  if (name == "true") return input.is(kind::boolean) && input.as_boolean();
  if (name == "false") return input.is(kind::boolean) && !input.as_boolean();
  if (name == "integer") return input.is(kind::integer);
  if (name == "float") return input.is(kind::floating);
  if (name == "number") return input.is_number();
  if (name == "string") return input.is(kind::string);
  if (name == "mapping") return input.is(kind::dict);
  if (name == "iterable" || name == "sequence")
    return input.is_undefined() || input.is(kind::string) || input.is_list() || input.is(kind::dict);
  if (name == "callable") return input.is(kind::function);
  if (name == "escaped") return false;
  if (name == "odd" || name == "even")
    return equal(arithmetic("%", input, value::integer(2), budget), value::integer(name == "odd" ? 1 : 0), budget);
  if (name == "lower" || name == "upper") return detail::has_only_case(input, name == "lower", budget);
  if (name == "filter") return input.is(kind::string) && contains_name(supported_filters, input.as_string());
  if (name == "test") return input.is(kind::string) && contains_name(supported_tests, input.as_string());
  fail_render("no test named '", name, "'");
}

}  // namespace rlft::jinja
