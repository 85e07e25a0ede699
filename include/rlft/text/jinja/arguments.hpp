// The arguments of a call, filter or test, and their binding to a built-in's parameters the
// way Python binds them: positional arguments fill the parameters in order, keyword arguments
// by name; too many, an unknown keyword or a parameter given twice is a render error naming
// the built-in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlft/text/jinja/failure.hpp"
#include "rlft/text/jinja/value.hpp"

namespace rlft::jinja {

struct call_arguments {
  std::vector<value> positional;
  std::vector<std::pair<std::string, value>> keywords;
};

class argument_binder {
 public:
  argument_binder(std::string_view callee, const call_arguments& arguments,
                  std::initializer_list<std::string_view> parameters)
      : callee_(callee), parameters_(parameters), bound_(parameters.size(), nullptr) {
    if (arguments.positional.size() > parameters_.size())
      fail_render(callee_, "() takes at most ", parameters_.size(), " arguments, got ", arguments.positional.size());
    for (std::size_t i = 0; i < arguments.positional.size(); ++i) bound_[i] = &arguments.positional[i];
    for (const auto& [name, argument] : arguments.keywords) {
      std::size_t index = 0;
      while (index < parameters_.size() && parameters_[index] != name) ++index;
      if (index == parameters_.size()) fail_render(callee_, "() got an unexpected keyword argument '", name, "'");
      if (bound_[index] != nullptr) fail_render(callee_, "() got multiple values for the argument '", name, "'");
      bound_[index] = &argument;
    }
  }

  // The argument for parameter `index`, or null when it was not given.
  const value* given(std::size_t index) const { return bound_[index]; }
  value get_or(std::size_t index, value fallback) const { return bound_[index] ? *bound_[index] : std::move(fallback); }
  const value& required(std::size_t index) const {
    if (!bound_[index]) fail_render(callee_, "() is missing the argument '", parameters_[index], "'");
    return *bound_[index];
  }

  // A string argument (absent: nullopt; none counts as absent where Python's default is None).
  std::optional<std::string> optional_string(std::size_t index) const {
    const value* argument = bound_[index];
    if (argument == nullptr || argument->is(value::kind::none)) return std::nullopt;
    if (!argument->is(value::kind::string))
      fail_render(callee_, "(): the argument '", parameters_[index], "' must be a string, not ", argument->type_name());
    return argument->as_string();
  }
  std::int64_t integer_or(std::size_t index, std::int64_t fallback) const {
    const value* argument = bound_[index];
    if (argument == nullptr || argument->is(value::kind::none)) return fallback;
    if (!argument->is(value::kind::integer) && !argument->is(value::kind::boolean))
      fail_render(callee_, "(): the argument '", parameters_[index], "' must be an integer, not ",
                  argument->type_name());
    return argument->integer_value();
  }
  bool flag_or(std::size_t index, bool fallback) const { return bound_[index] ? bound_[index]->truthy() : fallback; }

 private:
  std::string_view callee_;
  std::vector<std::string_view> parameters_;
  std::vector<const value*> bound_;
};

}  // namespace rlft::jinja
