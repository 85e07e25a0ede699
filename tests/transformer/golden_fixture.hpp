// Reads one golden fixture directory written by tools/make_golden_transformer.py.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "relative_error.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/io/safetensors.hpp"

namespace rlft_test {

inline std::filesystem::path golden_directory(const std::string& name) {
  return std::filesystem::path(RLFT_TRANSFORMER_GOLDEN_DIR) / name;
}

struct golden_batch {
  rlft::token_sequences sequences;
  std::vector<float> dlogp;
  std::vector<float> dentropy;
};

inline golden_batch read_golden_batch(const std::filesystem::path& directory) {
  std::ifstream file(directory / "batch.json");
  const auto json = nlohmann::json::parse(file);
  return {rlft::token_sequences(json["tokens"].get<std::vector<rlft::token_id>>(),
                                json["offsets"].get<std::vector<std::int64_t>>()),
          json["dlogp"].get<std::vector<float>>(), json["dentropy"].get<std::vector<float>>()};
}

inline std::vector<float> read_tensor(const rlft::io::safetensors_file& file, const std::string& name) {
  std::vector<float> values(file.at(name).num_elements());
  file.read(name, values);
  return values;
}

// Every parameter's gradient against golden "grad/<name>" (error relative to the tensor's
// scale at most 1e-4), and no golden gradient left unchecked.
template <class Model>
void check_gradients_against_golden(Model& model, const rlft::io::safetensors_file& golden) {
  std::size_t compared = 0;
  for (const auto& parameter : model.parameters()) {
    INFO("parameter ", std::string(parameter.name));
    const std::string key = "grad/" + std::string(parameter.name);
    REQUIRE(golden.find(key) != nullptr);
    CHECK(relative_error(parameter.gradients, read_tensor(golden, key)) <= 1e-4);
    ++compared;
  }
  std::size_t golden_gradients = 0;
  for (const auto& entry : golden.tensors()) golden_gradients += entry.name.starts_with("grad/");
  CHECK(compared == golden_gradients);
}

}  // namespace rlft_test
