// Reading the fields of tokenizer.json components: each read names the component and the field
// when it is missing or of the wrong type, as rlft::io_error (the file is malformed).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"

namespace rlft::text::detail {

[[noreturn]] inline void malformed(std::string_view component, std::string_view problem) {
  throw io_error(rlft::detail::make_message(component, ": ", problem));
}

inline const nlohmann::json& field(const nlohmann::json& object, const char* key, std::string_view component) {
  if (!object.is_object()) malformed(component, "expected a JSON object");
  const auto it = object.find(key);
  if (it == object.end()) malformed(component, rlft::detail::make_message("missing field \"", key, "\""));
  return *it;
}

template <class T>
T field_as(const nlohmann::json& object, const char* key, std::string_view component) {
  const nlohmann::json& value = field(object, key, component);
  try {
    return value.get<T>();
  } catch (const nlohmann::json::exception&) {
    malformed(component, rlft::detail::make_message("field \"", key, "\" has the wrong type: ", value.dump()));
  }
}

// An optional field: `fallback` when absent or null.
template <class T>
T field_or(const nlohmann::json& object, const char* key, T fallback, std::string_view component) {
  if (!object.is_object()) malformed(component, "expected a JSON object");
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return field_as<T>(object, key, component);
}

inline std::string type_of(const nlohmann::json& object, std::string_view component) {
  return field_as<std::string>(object, "type", component);
}

// A pattern object {"String": s} or {"Regex": r}.
struct pattern_field {
  std::string text;
  bool is_regex = false;
};

inline pattern_field pattern_of(const nlohmann::json& object, std::string_view component) {
  const nlohmann::json& pattern = field(object, "pattern", component);
  if (pattern.is_object() && pattern.contains("String"))
    return {field_as<std::string>(pattern, "String", component), false};
  if (pattern.is_object() && pattern.contains("Regex")) return {field_as<std::string>(pattern, "Regex", component), true};
  malformed(component, "pattern is neither {\"String\": ...} nor {\"Regex\": ...}");
}

}  // namespace rlft::text::detail
