// Must not compile: an objective that returns a loss but no dL/d(log-prob).
#include <rlft/concepts/policy_objective.hpp>

struct loss_only {
  rlft::objective_result operator()(const rlft::objective_input&) const { return {}; }
};

static_assert(rlft::policy_objective<loss_only>);

int main() {}
