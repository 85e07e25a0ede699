// Every parameter value of a model, in order: what the value-model tests compare runs by.
#pragma once

#include <vector>

namespace rlft_test {

template <class Model>
std::vector<float> parameters_of(Model& model) {
  std::vector<float> all;
  for (const auto& p : model.parameters()) all.insert(all.end(), p.values.begin(), p.values.end());
  return all;
}

}  // namespace rlft_test
