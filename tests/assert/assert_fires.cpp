// Built with RLFT_ENABLE_ASSERTS: the default RLFT_ASSERT must report the failed condition
// with its file and line and abort. CTest matches the report (tests/CMakeLists.txt).
#include "rlft/core/token_sequences.hpp"

int main() {
  const rlft::token_sequences sequences({1, 2, 3}, {0, 1, 3});
  return static_cast<int>(sequences.view().begin(7));
}
