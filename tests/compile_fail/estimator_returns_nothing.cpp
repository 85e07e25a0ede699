// Must not compile: an advantage estimator that reports nothing about the groups.
#include <rlft/concepts/advantage_estimator.hpp>

struct returns_nothing {
  void operator()(const rlft::rollout_batch&, std::span<float>) const {}
};

static_assert(rlft::advantage_estimator<returns_nothing>);

int main() {}
