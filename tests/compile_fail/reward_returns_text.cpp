// Must not compile: a reward that returns text instead of a score. GCC names the unsatisfied
// requirement, rlft::score_is_arithmetic, in its diagnostic.
#include <string>

#include <rlft/concepts/reward_function.hpp>

struct returns_text {
  std::string operator()(const rlft::reward_input&) const { return "good"; }
};

static_assert(rlft::reward_function<returns_text>);

int main() {}
