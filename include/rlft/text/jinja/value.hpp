// The values a chat template computes with: Python's None, bool, int, float, str, list,
// tuple and dict as Jinja sees them, plus Jinja's undefined (a missing variable, key or
// attribute, which prints as nothing and fails when used as data), namespace() objects (the
// one mutable kind: templates use them to carry state out of loops) and callables (the few
// global functions and bound str/dict methods). Strings, lists and dicts are shared and
// immutable, so passing a long message around never copies it. Dicts keep insertion order,
// as Python's do, because tojson and iteration show it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/text/jinja/failure.hpp"
#include "rlft/text/jinja/limits.hpp"

namespace rlft::jinja {

struct list_data;
struct dict_data;
struct namespace_data;
struct function_data;

class value {
 public:
  enum class kind : std::uint8_t {
    undefined,
    none,
    boolean,
    integer,
    floating,
    string,
    list,
    dict,
    name_space,
    function
  };

  // Undefined, with what was looked up ("'foo' is undefined") for the error its use raises.
  value() = default;
  static value undefined(std::string hint) {
    value result;
    result.data_ = undefined_hint{std::make_shared<const std::string>(std::move(hint))};
    return result;
  }
  static value none() { return from(std::monostate{}); }
  static value boolean(bool b) { return from(b); }
  static value integer(std::int64_t i) { return from(i); }
  static value floating(double d) { return from(d); }
  static value string(std::string text) { return from(std::make_shared<const std::string>(std::move(text))); }
  static value list(std::vector<value> items, bool is_tuple = false);
  static value dict(std::vector<std::pair<std::string, value>> entries);  // keys unique
  static value new_namespace();
  static value function(std::string name, value receiver = {});

  kind type() const noexcept { return static_cast<kind>(data_.index()); }
  bool is(kind k) const noexcept { return type() == k; }
  bool is_undefined() const noexcept { return is(kind::undefined); }
  bool is_number() const noexcept { return is(kind::boolean) || is(kind::integer) || is(kind::floating); }
  // A list or a tuple: what Python's sequence protocols accept.
  bool is_list() const noexcept { return is(kind::list); }

  bool as_boolean() const { return std::get<bool>(data_); }
  std::int64_t as_integer() const { return std::get<std::int64_t>(data_); }
  double as_floating() const { return std::get<double>(data_); }
  const std::string& as_string() const { return *std::get<std::shared_ptr<const std::string>>(data_); }
  const list_data& as_list() const { return *std::get<std::shared_ptr<const list_data>>(data_); }
  const dict_data& as_dict() const { return *std::get<std::shared_ptr<const dict_data>>(data_); }
  namespace_data& as_namespace() const { return *std::get<std::shared_ptr<namespace_data>>(data_); }
  const function_data& as_function() const { return *std::get<std::shared_ptr<const function_data>>(data_); }
  const std::string& undefined_hint_text() const;

  // bool and int as Python's int (True == 1), for arithmetic.
  std::int64_t integer_value() const { return is(kind::boolean) ? (as_boolean() ? 1 : 0) : as_integer(); }
  double number_as_double() const { return is(kind::floating) ? as_floating() : static_cast<double>(integer_value()); }

  // Python's truth value; undefined is false.
  bool truthy() const;
  // How deeply lists and dicts nest inside this value (0 for a scalar).
  std::size_t depth() const;
  // Whether a namespace sits anywhere inside (or is this value): a namespace may not hold
  // one, so namespaces can never form a cycle.
  bool holds_namespace() const;
  // Identity of a shared object (namespaces and callables compare by it).
  const void* identity() const;
  // The Python type name, for error messages.
  std::string_view type_name() const;

 private:
  struct undefined_hint {
    std::shared_ptr<const std::string> text;
  };
  template <class Alternative>
  static value from(Alternative alternative) {
    value result;
    result.data_ = std::move(alternative);
    return result;
  }

  // Alternatives in the order of `kind`.
  std::variant<undefined_hint, std::monostate, bool, std::int64_t, double, std::shared_ptr<const std::string>,
               std::shared_ptr<const list_data>, std::shared_ptr<const dict_data>, std::shared_ptr<namespace_data>,
               std::shared_ptr<const function_data>>
      data_;
};

struct list_data {
  std::vector<value> items;
  bool is_tuple = false;
  std::size_t depth = 1;
  bool holds_namespace = false;
};

struct dict_data {
  std::vector<std::pair<std::string, value>> entries;
  std::size_t depth = 1;
  bool holds_namespace = false;

  const value* find(std::string_view key) const {
    for (const auto& [entry_key, entry_value] : entries)
      if (entry_key == key) return &entry_value;
    return nullptr;
  }
};

struct namespace_data {
  std::vector<std::pair<std::string, value>> attributes;

  const value* find(std::string_view name) const {
    for (const auto& [attribute, attribute_value] : attributes)
      if (attribute == name) return &attribute_value;
    return nullptr;
  }
  void set(std::string_view name, value new_value) {
    for (auto& [attribute, attribute_value] : attributes)
      if (attribute == name) {
        attribute_value = std::move(new_value);
        return;
      }
    attributes.emplace_back(std::string(name), std::move(new_value));
  }
};

// A global function (receiver undefined) or a str/dict/list method bound to its receiver.
struct function_data {
  std::string name;
  value receiver;
};

inline value value::list(std::vector<value> items, bool is_tuple) {
  auto data = std::make_shared<list_data>();
  for (const value& item : items) {
    data->depth = std::max(data->depth, item.depth() + 1);
    data->holds_namespace = data->holds_namespace || item.holds_namespace();
  }
  data->items = std::move(items);
  data->is_tuple = is_tuple;
  return from(std::shared_ptr<const list_data>(std::move(data)));
}

inline value value::dict(std::vector<std::pair<std::string, value>> entries) {
  auto data = std::make_shared<dict_data>();
  for (const auto& entry : entries) {
    data->depth = std::max(data->depth, entry.second.depth() + 1);
    data->holds_namespace = data->holds_namespace || entry.second.holds_namespace();
  }
  data->entries = std::move(entries);
  return from(std::shared_ptr<const dict_data>(std::move(data)));
}

inline value value::new_namespace() { return from(std::make_shared<namespace_data>()); }

inline value value::function(std::string name, value receiver) {
  return from(std::make_shared<const function_data>(function_data{std::move(name), std::move(receiver)}));
}

inline const std::string& value::undefined_hint_text() const {
  static const std::string unknown = "a value is undefined";
  const auto& hint = std::get<undefined_hint>(data_).text;
  return hint ? *hint : unknown;
}

inline bool value::truthy() const {
  switch (type()) {
    case kind::undefined:
    case kind::none: return false;
    case kind::boolean: return as_boolean();
    case kind::integer: return as_integer() != 0;
    case kind::floating: return as_floating() != 0.0;
    case kind::string: return !as_string().empty();
    case kind::list: return !as_list().items.empty();
    case kind::dict: return !as_dict().entries.empty();
    case kind::name_space:
    case kind::function: return true;
  }
  return false;
}

inline std::size_t value::depth() const {
  if (is(kind::list)) return as_list().depth;
  if (is(kind::dict)) return as_dict().depth;
  // A namespace's attributes hold no namespace and are each within the nesting limit, so a
  // namespace adds one level to whatever holds it.
  if (is(kind::name_space)) return 1;
  return 0;
}

inline bool value::holds_namespace() const {
  if (is(kind::name_space)) return true;
  if (is(kind::list)) return as_list().holds_namespace;
  if (is(kind::dict)) return as_dict().holds_namespace;
  return false;
}

inline const void* value::identity() const {
  return std::visit(
      [](const auto& alternative) -> const void* {
        using alternative_type = std::decay_t<decltype(alternative)>;
        if constexpr (std::is_same_v<alternative_type, std::shared_ptr<namespace_data>> ||
                      std::is_same_v<alternative_type, std::shared_ptr<const function_data>> ||
                      std::is_same_v<alternative_type, std::shared_ptr<const list_data>> ||
                      std::is_same_v<alternative_type, std::shared_ptr<const dict_data>> ||
                      std::is_same_v<alternative_type, std::shared_ptr<const std::string>>)
          return alternative.get();
        else
          return nullptr;
      },
      data_);
}

inline std::string_view value::type_name() const {
  switch (type()) {
    case kind::undefined: return "undefined";
    case kind::none: return "NoneType";
    case kind::boolean: return "bool";
    case kind::integer: return "int";
    case kind::floating: return "float";
    case kind::string: return "str";
    case kind::list: return as_list().is_tuple ? "tuple" : "list";
    case kind::dict: return "dict";
    case kind::name_space: return "Namespace";
    case kind::function: return "function";
  }
  return "value";
}

// A JSON value (a message, a tool schema, a template variable) as a template value. Numbers
// keep JSON's integer/float distinction, as Python's json module does; nesting beyond the
// budget's limit is an rlft::error.
inline value from_json(const nlohmann::ordered_json& json, const render_budget& budget, std::size_t depth = 0) {
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null:
    case nlohmann::ordered_json::value_t::discarded: return value::none();
    case nlohmann::ordered_json::value_t::boolean: return value::boolean(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return value::integer(json.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto unsigned_value = json.get<std::uint64_t>();
      if (unsigned_value > static_cast<std::uint64_t>(INT64_MAX))
        throw data_error(
            rlft::detail::make_message("chat template: the integer ", unsigned_value, " is out of range (64-bit)"));
      return value::integer(static_cast<std::int64_t>(unsigned_value));
    }
    case nlohmann::ordered_json::value_t::number_float: return value::floating(json.get<double>());
    case nlohmann::ordered_json::value_t::string: return value::string(json.get<std::string>());
    case nlohmann::ordered_json::value_t::binary:
      throw error("chat template: binary JSON values have no template equivalent");
    case nlohmann::ordered_json::value_t::array: {
      budget.check_nesting(depth + 1);
      std::vector<value> items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(from_json(item, budget, depth + 1));
      return value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      budget.check_nesting(depth + 1);
      std::vector<std::pair<std::string, value>> entries;
      entries.reserve(json.size());
      for (const auto& [key, item] : json.items()) entries.emplace_back(key, from_json(item, budget, depth + 1));
      return value::dict(std::move(entries));
    }
  }
  return value::none();
}

}  // namespace rlft::jinja
