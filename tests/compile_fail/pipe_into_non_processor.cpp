// `|` chains logit processors only: a struct without apply(candidates, history) is rejected
// with the requirement it misses.
#include <rlft/sampling/pipeline.hpp>
#include <rlft/sampling/temperature.hpp>

struct not_a_stage {
  float value = 1.0f;
};

int main() {
  const auto sampler = rlft::temperature{0.7f} | not_a_stage{};
  (void)sampler;
}
