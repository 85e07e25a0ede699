// The names of the filters and tests the interpreter implements, and of the Jinja built-ins it
// deliberately leaves out. The parser checks every filter and test name against these lists,
// so a template that uses something outside the subset fails when it is loaded, with a message
// that says whether the name is unknown to Jinja or only unsupported here.
#pragma once

#include <algorithm>
#include <span>
#include <string_view>

namespace rlft::jinja {

inline constexpr std::string_view supported_filters[] = {
    "abs",     "capitalize", "count",  "d",          "default", "first", "float",  "indent", "int",
    "items",   "join",       "last",   "length",     "list",    "lower", "map",    "reject", "rejectattr",
    "replace", "reverse",    "select", "selectattr", "string",  "title", "tojson", "trim",   "upper"};

// Jinja built-in filters outside the subset.
inline constexpr std::string_view unsupported_filters[] = {
    "attr",      "batch", "center",   "dictsort", "e",         "escape", "filesizeformat", "forceescape", "format",
    "groupby",   "max",   "min",      "pprint",   "random",    "round",  "safe",           "slice",       "sort",
    "striptags", "sum",   "truncate", "unique",   "urlencode", "urlize", "wordcount",      "wordwrap",    "xmlattr"};

// The tests; the operator spellings ("==", "<", ...) are reachable through select and reject.
inline constexpr std::string_view supported_tests[] = {
    "boolean",  "callable", "defined",  "divisibleby", "eq",          "equalto", "escaped", "even",
    "false",    "filter",   "float",    "ge",          "greaterthan", "gt",      "in",      "integer",
    "iterable", "le",       "lessthan", "lower",       "lt",          "mapping", "ne",      "none",
    "number",   "odd",      "sameas",   "sequence",    "string",      "test",    "true",    "undefined",
    "upper",    "==",       "!=",       "<",           "<=",          ">",       ">="};

inline constexpr bool contains_name(std::span<const std::string_view> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace rlft::jinja
