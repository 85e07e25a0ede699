// The message of the rlft::error a call throws: the tests compare messages, CPU against CUDA
// and against the words the library promises.
#pragma once

#include <string>

#include "rlft/core/error.hpp"

namespace rlft::testing {

// The message of the rlft::error `call` throws, or "" when it throws nothing.
template <class Call>
std::string error_message(Call&& call) {
  try {
    call();
  } catch (const rlft::error& failure) {
    return failure.what();
  }
  return "";
}

}  // namespace rlft::testing
