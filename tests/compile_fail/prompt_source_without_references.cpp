// Must not compile: a prompt source that returns token lists without their references. GCC
// names the unsatisfied requirement, rlft::draws_prompt_batches, in its diagnostic.
#include <cstddef>
#include <vector>

#include <rlft/concepts/prompt_source.hpp>

struct bare_prompts {
  std::vector<std::vector<rlft::token_id>> operator()(std::size_t count) { return {count, {1, 2}}; }
};

static_assert(rlft::prompt_source<bare_prompts>);

int main() {}
