// How the chat-template interpreter reports what it cannot do. A defect of the template text
// (a syntax error, an unknown filter, a construct outside the supported subset) is found when
// the template is parsed and is an rlft::error "chat template line N: ...". A conversation the
// template cannot render (an undefined field used as text, values of the wrong type, the
// template's own raise_exception) is found while rendering and is an rlft::data_error with the
// line, so a trainer skips that example and goes on.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "rlft/core/error.hpp"

namespace rlft::jinja {

// Raised while rendering by the pieces that do not know the template line (filters, operators,
// methods); the renderer prefixes the line of the statement or expression it was evaluating.
class render_error : public data_error {
 public:
  using data_error::data_error;
};

// Pieces of text joined: cheaper than a stream for the hint every undefined value carries,
// which templates create often (`message.tool_calls` on a message without tool calls).
inline std::string concatenated(std::initializer_list<std::string_view> pieces) {
  std::size_t size = 0;
  for (const std::string_view piece : pieces) size += piece.size();
  std::string text;
  text.reserve(size);
  for (const std::string_view piece : pieces) text.append(piece);
  return text;
}

template <class... Parts>
[[noreturn]] void fail_render(Parts&&... parts) {
  throw render_error(rlft::detail::make_message(std::forward<Parts>(parts)...));
}

template <class... Parts>
[[noreturn]] void fail_template(std::size_t line, Parts&&... parts) {
  throw error(rlft::detail::make_message("chat template line ", line, ": ", std::forward<Parts>(parts)...));
}

}  // namespace rlft::jinja
