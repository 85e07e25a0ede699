// Must not compile: a sampler that does not take the token history.
#include <rlft/concepts/sampler.hpp>

struct ignores_history {
  rlft::sampled_token operator()(std::span<const float>, rlft::philox_stream&) const { return {}; }
};

static_assert(rlft::sampler<ignores_history>);

int main() {}
