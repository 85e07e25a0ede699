// Hugging Face checkpoints: round trips in F32/BF16/F16, sharded loading through
// model.safetensors.index.json, and broken checkpoints that must fail without touching the model.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "golden_fixture.hpp"
#include "rlft/io/half_precision.hpp"
#include "transformer/transformer.hpp"

using rlft::examples::transformer;
using rlft::examples::transformer_config;

namespace {

struct temporary_directory {
  std::filesystem::path path;
  explicit temporary_directory(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("rlft_transformer_" + name)) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temporary_directory() { std::filesystem::remove_all(path); }
};

transformer small_model(std::uint64_t seed) {
  return transformer({.model_type = "llama", .vocab_size = 50, .hidden_size = 16, .intermediate_size = 24,
                      .num_layers = 2, .num_heads = 2, .num_kv_heads = 1, .head_dim = 8, .attention_bias = false},
                     seed);
}

std::vector<float> all_values(transformer& model) {
  std::vector<float> values;
  for (const auto& parameter : model.parameters()) values.insert(values.end(), parameter.values.begin(), parameter.values.end());
  return values;
}

}  // namespace

TEST_CASE("save and load round-trip in F32 exactly and in BF16/F16 to the rounded values") {
  temporary_directory directory("round_trip");
  auto model = small_model(1);
  model.save(directory.path);
  auto loaded = small_model(2);
  loaded.load(directory.path);
  CHECK(loaded.config() == model.config());
  CHECK(all_values(loaded) == all_values(model));

  model.save(directory.path, rlft::io::tensor_dtype::bf16);
  loaded.load(directory.path);
  const auto original = all_values(model);
  const auto rounded = all_values(loaded);
  for (std::size_t i = 0; i < original.size(); ++i)
    REQUIRE(rounded[i] == rlft::io::bfloat16_to_float(rlft::io::float_to_bfloat16(original[i])));

  model.save(directory.path, rlft::io::tensor_dtype::f16);
  loaded.load(directory.path);
  const auto half = all_values(loaded);
  for (std::size_t i = 0; i < original.size(); ++i)
    REQUIRE(half[i] == rlft::io::float16_to_float(rlft::io::float_to_float16(original[i])));
  // config.json names the dtype the weights are stored in, as transformers writes it.
  CHECK(nlohmann::json::parse(std::ifstream(directory.path / "config.json"))["torch_dtype"] == "float16");
}

TEST_CASE("a sharded checkpoint loads through model.safetensors.index.json") {
  const auto golden = rlft_test::golden_directory("qwen2");
  const auto expected = transformer::from_pretrained(golden);
  temporary_directory directory("sharded");
  std::filesystem::copy_file(golden / "config.json", directory.path / "config.json");
  // Split the golden checkpoint's tensors over two shards written by rlft's writer.
  const rlft::io::safetensors_file single(golden / "model.safetensors");
  std::vector<std::vector<float>> storage;
  std::vector<rlft::io::tensor_to_save> shards[2];
  nlohmann::json weight_map;
  std::size_t index = 0;
  for (const auto& entry : single.tensors()) {
    storage.push_back(rlft_test::read_tensor(single, entry.name));
    shards[index % 2].push_back({entry.name, entry.shape, storage.back()});
    weight_map[entry.name] = "model-0000" + std::to_string(index % 2 + 1) + "-of-00002.safetensors";
    ++index;
  }
  rlft::io::save_safetensors(directory.path / "model-00001-of-00002.safetensors", shards[0]);
  rlft::io::save_safetensors(directory.path / "model-00002-of-00002.safetensors", shards[1]);
  std::ofstream(directory.path / "model.safetensors.index.json") << nlohmann::json{{"weight_map", weight_map}}.dump();
  auto sharded = transformer::from_pretrained(directory.path);
  auto reference = expected;
  CHECK(all_values(sharded) == all_values(reference));

  // An index that maps a tensor to a shard without it, or escapes the directory, is refused.
  const bool first_shard_holds_head =
      std::ranges::any_of(shards[0], [](const auto& t) { return t.name == "lm_head.weight"; });
  weight_map["lm_head.weight"] = first_shard_holds_head ? "model-00002-of-00002.safetensors"
                                                        : "model-00001-of-00002.safetensors";
  std::ofstream(directory.path / "model.safetensors.index.json") << nlohmann::json{{"weight_map", weight_map}}.dump();
  CHECK_THROWS_WITH_AS(transformer::from_pretrained(directory.path), doctest::Contains("does not hold it"), rlft::io_error);
  weight_map["lm_head.weight"] = "../model.safetensors";
  std::ofstream(directory.path / "model.safetensors.index.json") << nlohmann::json{{"weight_map", weight_map}}.dump();
  CHECK_THROWS_WITH_AS(transformer::from_pretrained(directory.path), doctest::Contains("plain file name"), rlft::io_error);
}

TEST_CASE("a broken checkpoint fails with rlft::io_error and leaves the model unchanged") {
  temporary_directory directory("broken");
  auto saved = small_model(1);
  saved.save(directory.path);
  auto model = small_model(5);
  const auto before = all_values(model);

  SUBCASE("truncated weights") {
    std::filesystem::resize_file(directory.path / "model.safetensors",
                                 std::filesystem::file_size(directory.path / "model.safetensors") - 10);
    CHECK_THROWS_WITH_AS(model.load(directory.path), doctest::Contains("truncated"), rlft::io_error);
  }
  SUBCASE("a tensor missing") {
    auto other = transformer({.model_type = "llama", .vocab_size = 50, .hidden_size = 16, .intermediate_size = 24,
                              .num_layers = 1, .num_heads = 2, .num_kv_heads = 1, .head_dim = 8, .attention_bias = false});
    other.save(directory.path / "one_layer");
    std::filesystem::copy_file(directory.path / "config.json", directory.path / "one_layer" / "config.json",
                               std::filesystem::copy_options::overwrite_existing);
    CHECK_THROWS_WITH_AS(model.load(directory.path / "one_layer"), doctest::Contains("model.layers.1.input_layernorm.weight"),
                         rlft::io_error);
  }
  SUBCASE("a config the model cannot run") {
    std::ofstream(directory.path / "config.json") << R"({"model_type": "gpt2", "vocab_size": 50})";
    CHECK_THROWS_WITH_AS(model.load(directory.path), doctest::Contains("model_type"), rlft::io_error);
  }
  SUBCASE("a field of the wrong JSON type") {
    std::ifstream in(directory.path / "config.json");
    auto config = nlohmann::json::parse(in);
    config["tie_word_embeddings"] = "yes";
    std::ofstream(directory.path / "config.json") << config.dump();
    CHECK_THROWS_WITH_AS(model.load(directory.path), doctest::Contains("config.json"), rlft::io_error);
  }
  SUBCASE("rope scaling") {
    std::ifstream in(directory.path / "config.json");
    auto config = nlohmann::json::parse(in);
    config["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
    std::ofstream(directory.path / "config.json") << config.dump();
    CHECK_THROWS_WITH_AS(model.load(directory.path), doctest::Contains("rope_scaling"), rlft::io_error);
  }
  // Mutations found by fuzzing config.json: the first hung building 2^63 layers, the second
  // tried to allocate 13 TB. Both must be refused from the config and the weights' shapes alone.
  const auto with_field = [&](const char* field, nlohmann::json value) {
    std::ifstream in(directory.path / "config.json");
    auto config = nlohmann::json::parse(in);
    config[field] = std::move(value);
    std::ofstream(directory.path / "config.json") << config.dump();
  };
  SUBCASE("a layer count beyond every ceiling") {
    with_field("num_hidden_layers", 9223372036854775807ull);
    CHECK_THROWS_WITH_AS(model.load(directory.path), doctest::Contains("num_hidden_layers 9223372036854775807 exceeds"),
                         rlft::io_error);
  }
  SUBCASE("a layer count within the ceiling but beyond the weights") {
    with_field("num_hidden_layers", 1000);
    CHECK_THROWS_WITH_AS(model.load(directory.path), doctest::Contains("lacks tensor 'model.layers.2."), rlft::io_error);
  }
  SUBCASE("a head_dim beyond every ceiling") {
    with_field("head_dim", 2147483648ull);
    CHECK_THROWS_WITH_AS(model.load(directory.path), doctest::Contains("head_dim 2147483648 exceeds"), rlft::io_error);
  }
  SUBCASE("a head_dim within the ceiling that the weights disagree with") {
    with_field("head_dim", 65536);
    CHECK_THROWS_WITH_AS(model.load(directory.path),
                         doctest::Contains("'model.layers.0.self_attn.q_proj.weight' has shape [16, 16], the config needs "
                                           "[131072, 16]"),
                         rlft::io_error);
  }
  SUBCASE("numbers that do not fit their fields (a float-cast overflow before)") {
    with_field("max_position_embeddings", 5.18e22);
    CHECK_THROWS_WITH_AS(model.load(directory.path), doctest::Contains("max_position_embeddings is not"), rlft::io_error);
  }
  SUBCASE("an rms_norm_eps beyond float") {
    with_field("rms_norm_eps", 1e300);
    CHECK_THROWS_WITH_AS(model.load(directory.path), doctest::Contains("rms_norm_eps is missing or not a finite float"),
                         rlft::io_error);
  }
  SUBCASE("no checkpoint at all") {
    CHECK_THROWS_AS(model.load(directory.path / "missing"), rlft::io_error);
  }
  CHECK(all_values(model) == before);
}

TEST_CASE("an interrupted save leaves the previous checkpoint intact") {
  temporary_directory directory("atomic");
  auto model = small_model(1);
  model.save(directory.path);
  // A directory squatting on the temporary file's name makes the write fail half-way through
  // the save (as a full disk would): the error names the file, the old checkpoint still loads.
  std::filesystem::create_directory(directory.path / "model.safetensors.partial");
  auto other = small_model(9);
  CHECK_THROWS_WITH_AS(other.save(directory.path), doctest::Contains("model.safetensors"), rlft::io_error);
  auto loaded = small_model(3);
  loaded.load(directory.path);
  CHECK(all_values(loaded) == all_values(model));
}

TEST_CASE("the config counts the parameters the model allocates, and its ceilings are the caller's") {
  for (const bool tied : {false, true})
    for (const bool bias : {false, true}) {
      CAPTURE(tied);
      CAPTURE(bias);
      const transformer model({.model_type = bias ? "qwen2" : "llama", .vocab_size = 50, .hidden_size = 16,
                               .intermediate_size = 24, .num_layers = 3, .num_heads = 4, .num_kv_heads = 2,
                               .head_dim = 6, .attention_bias = bias, .tie_word_embeddings = tied});
      CHECK(model.config().num_parameters() == model.num_parameters());
    }
  const transformer_config config{.model_type = "llama", .vocab_size = 50, .hidden_size = 16, .intermediate_size = 24,
                                  .num_layers = 2, .num_heads = 2, .num_kv_heads = 1, .head_dim = 8,
                                  .attention_bias = false};
  CHECK_NOTHROW(config.validate());
  CHECK_THROWS_WITH_AS(config.validate({.max_layers = 1}), doctest::Contains("max_layers = 1"), rlft::error);
  CHECK_THROWS_WITH_AS(config.validate({.max_width = 20}), doctest::Contains("intermediate_size 24 exceeds"),
                       rlft::error);
  CHECK_THROWS_WITH_AS(config.validate({.max_parameters = 1000}), doctest::Contains("parameters, above"), rlft::error);
}
