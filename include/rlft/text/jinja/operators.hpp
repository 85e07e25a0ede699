// Python's operators on template values, as Jinja's sandbox applies them: == and ordering,
// `in`, arithmetic (int stays int, / is true division, // and % floor as Python does, str and
// list + and *), attribute and item lookup (obj.name tries Python attributes, then items;
// obj[key] the other way round; a miss is undefined), and slicing with Python's bounds rules.
// Using an undefined value as data raises its hint ("'foo' is undefined"). Integers are 64-bit:
// an overflow is a render error instead of Python's arbitrary precision.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
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

[[noreturn]] inline void fail_undefined(const value& undefined) { fail_render(undefined.undefined_hint_text()); }

inline void require_defined(const value& v) {
  if (v.is_undefined()) fail_undefined(v);
}

// Python ==: numbers compare by value across bool, int and float; lists equal lists (not
// tuples) element by element; dicts equal dicts with the same keys and values in any order;
// undefined equals undefined; namespaces and functions are equal only to themselves.
inline bool equal(const value& a, const value& b, render_budget& budget) {
  if (a.is_number() && b.is_number()) {
    if (a.is(value::kind::floating) || b.is(value::kind::floating)) return a.number_as_double() == b.number_as_double();
    return a.integer_value() == b.integer_value();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case value::kind::undefined:
    case value::kind::none: return true;
    case value::kind::string:
      budget.count_iterations(std::min(a.as_string().size(), b.as_string().size()) / 64 + 1);
      return a.as_string() == b.as_string();
    case value::kind::list: {
      const list_data& left = a.as_list();
      const list_data& right = b.as_list();
      if (left.is_tuple != right.is_tuple || left.items.size() != right.items.size()) return false;
      budget.count_iterations(left.items.size());
      for (std::size_t i = 0; i < left.items.size(); ++i)
        if (!equal(left.items[i], right.items[i], budget)) return false;
      return true;
    }
    case value::kind::dict: {
      const dict_data& left = a.as_dict();
      const dict_data& right = b.as_dict();
      if (left.entries.size() != right.entries.size()) return false;
      budget.count_iterations(left.entries.size() * left.entries.size());
      for (const auto& [key, item] : left.entries) {
        const value* other = right.find(key);
        if (other == nullptr || !equal(item, *other, budget)) return false;
      }
      return true;
    }
    default: return a.identity() == b.identity();
  }
}

// Python's <, <=, > and >= on numbers, strings (code point order, which UTF-8 byte order
// preserves) and lists or tuples (lexicographic).
inline bool ordered(const value& a, const value& b, std::string_view comparison, render_budget& budget) {
  const auto verdict = [&](int order) {
    if (comparison == "<") return order < 0;
    if (comparison == "<=") return order <= 0;
    if (comparison == ">") return order > 0;
    return order >= 0;
  };
  require_defined(a);
  require_defined(b);
  if (a.is_number() && b.is_number()) {
    if (a.is(value::kind::floating) || b.is(value::kind::floating)) {
      const double x = a.number_as_double();
      const double y = b.number_as_double();
      if (std::isnan(x) || std::isnan(y)) return false;
      return verdict(x < y ? -1 : x > y ? 1 : 0);
    }
    const std::int64_t x = a.integer_value();
    const std::int64_t y = b.integer_value();
    return verdict(x < y ? -1 : x > y ? 1 : 0);
  }
  if (a.is(value::kind::string) && b.is(value::kind::string)) {
    budget.count_iterations(std::min(a.as_string().size(), b.as_string().size()) / 64 + 1);
    return verdict(a.as_string().compare(b.as_string()));
  }
  if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
    const auto& left = a.as_list().items;
    const auto& right = b.as_list().items;
    budget.count_iterations(std::min(left.size(), right.size()));
    for (std::size_t i = 0; i < left.size() && i < right.size(); ++i)
      if (!equal(left[i], right[i], budget)) return ordered(left[i], right[i], comparison, budget);
    return verdict(left.size() < right.size() ? -1 : left.size() > right.size() ? 1 : 0);
  }
  fail_render("'", comparison, "' is not supported between '", a.type_name(), "' and '", b.type_name(), "'");
}

// `item in container`.
inline bool contains(const value& container, const value& item, render_budget& budget) {
  switch (container.type()) {
    case value::kind::undefined: return false;  // undefined iterates as empty
    case value::kind::string:
      require_defined(item);
      if (!item.is(value::kind::string))
        fail_render("'in <string>' needs a string on the left, not '", item.type_name(), "'");
      budget.count_iterations(container.as_string().size() / 64 + 1);
      return container.as_string().find(item.as_string()) != std::string::npos;
    case value::kind::list:
      for (const value& element : container.as_list().items) {
        budget.count_iterations(1);
        if (equal(element, item, budget)) return true;
      }
      return false;
    case value::kind::dict:
      if (item.is_list() || item.is(value::kind::dict) || item.is(value::kind::name_space))
        fail_render("unhashable type: '", item.type_name(), "'");
      budget.count_iterations(container.as_dict().entries.size());
      return item.is(value::kind::string) && container.as_dict().find(item.as_string()) != nullptr;
    default: fail_render("argument of type '", container.type_name(), "' is not iterable");
  }
}

namespace detail {

[[noreturn]] inline void fail_overflow() { fail_render("integer overflow (template integers are 64-bit)"); }

inline std::int64_t checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) fail_overflow();
  return sum;
}
inline std::int64_t checked_subtract(std::int64_t a, std::int64_t b) {
  std::int64_t difference = 0;
  if (__builtin_sub_overflow(a, b, &difference)) fail_overflow();
  return difference;
}
inline std::int64_t checked_multiply(std::int64_t a, std::int64_t b) {
  std::int64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) fail_overflow();
  return product;
}

inline value repeat(const value& sequence, std::int64_t times, render_budget& budget) {
  const std::size_t count = times > 0 ? static_cast<std::size_t>(times) : 0;
  if (sequence.is(value::kind::string)) {
    const std::string& text = sequence.as_string();
    budget.count_built_bytes(text.size(), count);
    std::string result;
    result.reserve(text.size() * count);
    for (std::size_t i = 0; i < count; ++i) result += text;
    return value::string(std::move(result));
  }
  const list_data& list = sequence.as_list();
  budget.count_built_bytes(list.items.size() * sizeof(value), count);
  std::vector<value> items;
  items.reserve(list.items.size() * count);
  for (std::size_t i = 0; i < count; ++i) items.insert(items.end(), list.items.begin(), list.items.end());
  return value::list(std::move(items), list.is_tuple);
}

// Python's float floor division and modulo (the result of % takes the divisor's sign).
inline std::pair<double, double> float_divmod(double a, double b) {
  double modulo = std::fmod(a, b);
  double quotient = (a - modulo) / b;
  if (modulo != 0.0) {
    if ((b < 0) != (modulo < 0)) {
      modulo += b;
      quotient -= 1.0;
    }
  } else {
    modulo = std::copysign(0.0, b);
  }
  double floor_quotient = 0.0;
  if (quotient != 0.0) {
    floor_quotient = std::floor(quotient);
    if (quotient - floor_quotient > 0.5) floor_quotient += 1.0;
  } else {
    floor_quotient = std::copysign(0.0, a / b);
  }
  return {floor_quotient, modulo};
}

inline std::int64_t integer_power(std::int64_t base, std::int64_t exponent) {
  std::int64_t result = 1;
  while (exponent > 0) {
    if (exponent & 1) result = checked_multiply(result, base);
    exponent >>= 1;
    if (exponent > 0) base = checked_multiply(base, base);
  }
  return result;
}

}  // namespace detail

// Binary + - * / // % ** (the spelling in `op`).
inline value arithmetic(std::string_view op, const value& a, const value& b, render_budget& budget) {
  require_defined(a);
  require_defined(b);
  if (op == "+") {
    if (a.is(value::kind::string) && b.is(value::kind::string)) {
      budget.count_built_bytes(a.as_string().size() + b.as_string().size());
      return value::string(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
      const auto& left = a.as_list().items;
      const auto& right = b.as_list().items;
      budget.count_built_bytes((left.size() + right.size()) * sizeof(value));
      std::vector<value> items(left);
      items.insert(items.end(), right.begin(), right.end());
      return value::list(std::move(items), a.as_list().is_tuple);
    }
  }
  if (op == "*") {
    if ((a.is(value::kind::string) || a.is_list()) && (b.is(value::kind::integer) || b.is(value::kind::boolean)))
      return detail::repeat(a, b.integer_value(), budget);
    if ((b.is(value::kind::string) || b.is_list()) && (a.is(value::kind::integer) || a.is(value::kind::boolean)))
      return detail::repeat(b, a.integer_value(), budget);
  }
  if (op == "%" && a.is(value::kind::string))
    fail_render("printf-style string formatting ('...' % values) is not supported");
  if (!a.is_number() || !b.is_number())
    fail_render("unsupported operand types for ", op, ": '", a.type_name(), "' and '", b.type_name(), "'");
  const bool floating = a.is(value::kind::floating) || b.is(value::kind::floating);
  if (op == "/") {
    if (b.number_as_double() == 0.0) fail_render("division by zero");
    return value::floating(a.number_as_double() / b.number_as_double());
  }
  if (floating) {
    const double x = a.number_as_double();
    const double y = b.number_as_double();
    if (op == "+") return value::floating(x + y);
    if (op == "-") return value::floating(x - y);
    if (op == "*") return value::floating(x * y);
    if (op == "//" || op == "%") {
      if (y == 0.0) fail_render("division by zero");
      const auto [quotient, modulo] = detail::float_divmod(x, y);
      return value::floating(op == "//" ? quotient : modulo);
    }
    if (x == 0.0 && y < 0.0) fail_render("0.0 cannot be raised to a negative power");
    const double power = std::pow(x, y);
    if (std::isnan(power) && !std::isnan(x) && !std::isnan(y))
      fail_render("a negative number raised to a fractional power");
    return value::floating(power);
  }
  const std::int64_t x = a.integer_value();
  const std::int64_t y = b.integer_value();
  if (op == "+") return value::integer(detail::checked_add(x, y));
  if (op == "-") return value::integer(detail::checked_subtract(x, y));
  if (op == "*") return value::integer(detail::checked_multiply(x, y));
  if (op == "//" || op == "%") {
    if (y == 0) fail_render("integer division or modulo by zero");
    if (x == INT64_MIN && y == -1) {
      if (op == "%") return value::integer(0);
      detail::fail_overflow();
    }
    std::int64_t quotient = x / y;
    std::int64_t modulo = x % y;
    if (modulo != 0 && ((modulo < 0) != (y < 0))) {
      modulo += y;
      quotient -= 1;
    }
    return value::integer(op == "//" ? quotient : modulo);
  }
  if (y < 0) {
    if (x == 0) fail_render("0 cannot be raised to a negative power");
    return value::floating(std::pow(static_cast<double>(x), static_cast<double>(y)));
  }
  return value::integer(detail::integer_power(x, y));
}

inline value negate(const value& v) {
  require_defined(v);
  if (v.is(value::kind::floating)) return value::floating(-v.as_floating());
  if (!v.is_number()) fail_render("bad operand type for unary -: '", v.type_name(), "'");
  if (v.integer_value() == INT64_MIN) detail::fail_overflow();
  return value::integer(-v.integer_value());
}

inline value unary_plus(const value& v) {
  require_defined(v);
  if (v.is(value::kind::floating)) return v;
  if (!v.is_number()) fail_render("bad operand type for unary +: '", v.type_name(), "'");
  return value::integer(v.integer_value());
}

namespace detail {

inline bool is_string_method(std::string_view name) {
  static constexpr std::string_view names[] = {
      "capitalize", "casefold",     "center",       "count",   "encode",     "endswith",    "expandtabs",
      "find",       "format",       "format_map",   "index",   "isalnum",    "isalpha",     "isascii",
      "isdecimal",  "isdigit",      "isidentifier", "islower", "isnumeric",  "isprintable", "isspace",
      "istitle",    "isupper",      "join",         "ljust",   "lower",      "lstrip",      "maketrans",
      "partition",  "removeprefix", "removesuffix", "replace", "rfind",      "rindex",      "rjust",
      "rpartition", "rsplit",       "rstrip",       "split",   "splitlines", "startswith",  "strip",
      "swapcase",   "title",        "translate",    "upper",   "zfill"};
  for (const std::string_view method : names)
    if (method == name) return true;
  return false;
}

// Methods the immutable sandbox lets a template reach; the mutating ones are refused.
inline bool is_safe_dict_method(std::string_view name) {
  return name == "items" || name == "keys" || name == "values" || name == "get" || name == "copy";
}
inline bool is_mutating_dict_method(std::string_view name) {
  return name == "clear" || name == "pop" || name == "popitem" || name == "setdefault" || name == "update" ||
         name == "fromkeys";
}
inline bool is_safe_list_method(std::string_view name) { return name == "count" || name == "index" || name == "copy"; }
inline bool is_mutating_list_method(std::string_view name) {
  return name == "append" || name == "clear" || name == "extend" || name == "insert" || name == "pop" ||
         name == "remove" || name == "reverse" || name == "sort";
}

inline std::string object_description(const value& v) {
  return rlft::detail::make_message("'", v.type_name(), " object'");
}

// Python getattr through the sandbox: a method, an unsafe one (undefined), or nothing.
inline std::optional<value> python_attribute(const value& object, std::string_view name) {
  if (name.starts_with('_'))
    return value::undefined(rlft::detail::make_message("access to the attribute '", name, "' is not allowed"));
  if (object.is(value::kind::string) && is_string_method(name)) return value::function(std::string(name), object);
  if (object.is(value::kind::dict)) {
    if (is_safe_dict_method(name)) return value::function(std::string(name), object);
    if (is_mutating_dict_method(name))
      return value::undefined(
          rlft::detail::make_message("the dict method '", name, "' would modify the dict; it is not allowed"));
  }
  if (object.is_list()) {
    if (is_safe_list_method(name)) return value::function(std::string(name), object);
    if (is_mutating_list_method(name))
      return value::undefined(
          rlft::detail::make_message("the list method '", name, "' would modify the list; it is not allowed"));
  }
  if (object.is(value::kind::name_space)) {
    if (const value* attribute = object.as_namespace().find(name)) return *attribute;
  }
  return std::nullopt;
}

// Calls visit(index, bytes) for each code point of `text`.
template <class Visit>
void for_each_code_point_in(std::string_view text, Visit&& visit) {
  std::int64_t index = 0;
  for (std::size_t position = 0; position < text.size(); ++index) {
    const std::size_t length = decode_utf8(text, position).length;
    visit(index, text.substr(position, length));
    position += length;
  }
}

inline std::optional<std::int64_t> as_index(const value& key) {
  if (key.is(value::kind::integer) || key.is(value::kind::boolean)) return key.integer_value();
  return std::nullopt;
}

}  // namespace detail

// obj.name: a Python attribute first (a method, a namespace attribute), then a dict item.
inline value get_attribute(const value& object, std::string_view name) {
  require_defined(object);
  if (auto attribute = detail::python_attribute(object, name)) return *attribute;
  if (object.is(value::kind::dict))
    if (const value* item = object.as_dict().find(name)) return *item;
  return value::undefined(concatenated({"'", object.type_name(), " object' has no attribute '", name, "'"}));
}

// obj[key] with an index or key (slices are get_slice): an item first, then for a string key
// a Python attribute.
inline value get_item(const value& object, const value& key, render_budget& budget) {
  require_defined(object);
  require_defined(key);
  if (object.is(value::kind::dict) && key.is(value::kind::string))
    if (const value* item = object.as_dict().find(key.as_string())) return *item;
  if (const auto index = detail::as_index(key); index && (object.is_list() || object.is(value::kind::string))) {
    if (object.is_list()) {
      const auto& items = object.as_list().items;
      const std::int64_t size = static_cast<std::int64_t>(items.size());
      const std::int64_t at = *index < 0 ? *index + size : *index;
      if (at >= 0 && at < size) return items[static_cast<std::size_t>(at)];
      return value::undefined(rlft::detail::make_message(object.type_name(), " object has no element ", *index));
    }
    const std::string& text = object.as_string();
    budget.count_iterations(text.size() / 64 + 1);
    const std::int64_t size = static_cast<std::int64_t>(python::code_point_count(text));
    const std::int64_t at = *index < 0 ? *index + size : *index;
    if (at < 0 || at >= size) return value::undefined(rlft::detail::make_message("str object has no element ", *index));
    std::string character;
    detail::for_each_code_point_in(text, [&](std::int64_t i, std::string_view piece) {
      if (i == at) character = piece;
    });
    return value::string(std::move(character));
  }
  if (key.is(value::kind::string)) {
    if (auto attribute = detail::python_attribute(object, key.as_string())) return *attribute;
    return value::undefined(
        concatenated({"'", object.type_name(), " object' has no attribute '", key.as_string(), "'"}));
  }
  return value::undefined(
      rlft::detail::make_message(detail::object_description(object), " has no element of type ", key.type_name()));
}

// A Python slice [start:stop:step] resolved against a sequence of `size` elements: `count`
// positions from `first`, `stride` apart.
struct slice_range {
  std::int64_t first = 0;
  std::int64_t stride = 1;
  std::size_t count = 0;
};

inline slice_range resolve_slice(std::int64_t size, std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                                 std::optional<std::int64_t> step) {
  const std::int64_t stride = step.value_or(1);
  if (stride == 0) fail_render("slice step cannot be zero");
  const std::int64_t lower = stride > 0 ? 0 : -1;
  const std::int64_t upper = stride > 0 ? size : size - 1;
  const auto clamp = [&](std::optional<std::int64_t> bound, std::int64_t otherwise) {
    if (!bound) return otherwise;
    std::int64_t at = *bound < 0 ? (*bound < -size ? lower : *bound + size) : *bound;
    if (at < lower) at = lower;
    if (at > upper) at = upper;
    return at;
  };
  const std::int64_t first = clamp(start, stride > 0 ? lower : upper);
  const std::int64_t end = clamp(stop, stride > 0 ? upper : lower);
  // Unsigned, so that a stride of INT64_MIN has a magnitude.
  const std::uint64_t magnitude =
      stride > 0 ? static_cast<std::uint64_t>(stride) : 0 - static_cast<std::uint64_t>(stride);
  const std::uint64_t span = stride > 0 ? (end > first ? static_cast<std::uint64_t>(end - first) : 0)
                                        : (first > end ? static_cast<std::uint64_t>(first - end) : 0);
  return {first, stride, static_cast<std::size_t>(span == 0 ? 0 : (span - 1) / magnitude + 1)};
}

// Calls visit(position) for each position of the slice, in order.
template <class Visit>
void for_each_position(const slice_range& range, Visit&& visit) {
  std::int64_t position = range.first;
  for (std::size_t k = 0; k < range.count; ++k) {
    visit(static_cast<std::size_t>(position));
    if (k + 1 < range.count) position += range.stride;
  }
}

inline value get_slice(const value& object, std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                       std::optional<std::int64_t> step, render_budget& budget) {
  require_defined(object);
  if (object.is_list()) {
    const auto& items = object.as_list().items;
    const slice_range range = resolve_slice(static_cast<std::int64_t>(items.size()), start, stop, step);
    budget.count_iterations(range.count);
    budget.count_built_bytes(range.count * sizeof(value));
    std::vector<value> sliced;
    sliced.reserve(range.count);
    for_each_position(range, [&](std::size_t i) { sliced.push_back(items[i]); });
    return value::list(std::move(sliced), object.as_list().is_tuple);
  }
  if (object.is(value::kind::string)) {
    const std::string& text = object.as_string();
    budget.count_iterations(text.size() / 64 + 1);
    std::string sliced;
    if (python::is_ascii(text)) {
      const slice_range range = resolve_slice(static_cast<std::int64_t>(text.size()), start, stop, step);
      budget.count_built_bytes(range.count);
      sliced.reserve(range.count);
      for_each_position(range, [&](std::size_t i) { sliced += text[i]; });
      return value::string(std::move(sliced));
    }
    // Where each code point starts: what a stride over code points needs.
    std::vector<std::size_t> starts;
    budget.count_built_bytes(text.size(), sizeof(std::size_t));
    detail::for_each_code_point_in(text, [&](std::int64_t, std::string_view piece) {
      starts.push_back(static_cast<std::size_t>(piece.data() - text.data()));
    });
    starts.push_back(text.size());
    const slice_range range = resolve_slice(static_cast<std::int64_t>(starts.size()) - 1, start, stop, step);
    for_each_position(range, [&](std::size_t i) { sliced.append(text, starts[i], starts[i + 1] - starts[i]); });
    budget.count_built_bytes(sliced.size());
    return value::string(std::move(sliced));
  }
  return value::undefined(rlft::detail::make_message(detail::object_description(object), " cannot be sliced"));
}

}  // namespace rlft::jinja
