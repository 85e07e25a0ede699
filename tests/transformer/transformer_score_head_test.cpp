// The reference transformer with a score head (a reward or value model) against Hugging Face
// transformers (fixtures from tools/make_golden_score_model.py): per-token values, the pooled
// sequence scores and every parameter gradient of a tiny Qwen2ForSequenceClassification (BF16)
// and LlamaForSequenceClassification (F16); the checkpoint round trip in transformers' layout;
// and the errors for using one head's operations on the other.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "error_message.hpp"
#include "golden_fixture.hpp"
#include "transformer/transformer.hpp"

using rlft::examples::transformer;
using rlft::examples::transformer_head;

namespace {

struct score_batch {
  rlft::token_sequences sequences;
  std::vector<float> dvalues;
};

score_batch read_score_batch(const std::filesystem::path& directory) {
  std::ifstream file(directory / "batch.json");
  const auto json = nlohmann::json::parse(file);
  return {rlft::token_sequences(json["tokens"].get<std::vector<rlft::token_id>>(),
                                json["offsets"].get<std::vector<std::int64_t>>()),
          json["dvalues"].get<std::vector<float>>()};
}

struct scratch_directory {
  std::filesystem::path path;
  explicit scratch_directory(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("rlft_score_head_" + name)) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~scratch_directory() { std::filesystem::remove_all(path); }
};

void check_score_model_against_golden(const std::string& name) {
  const auto directory = rlft_test::golden_directory(name);
  auto model = transformer::from_pretrained(directory);
  REQUIRE(model.config().head == transformer_head::score);
  const auto batch = read_score_batch(directory);
  const rlft::io::safetensors_file golden(directory / "golden.safetensors");
  const std::size_t tokens = batch.sequences.num_tokens();

  std::vector<float> values(tokens);
  model.values(batch.sequences, values);
  CHECK(rlft_test::relative_error(values, rlft_test::read_tensor(golden, "values")) <= 1e-5);
  // transformers' pooled output is the last token's value.
  std::vector<float> last;
  for (std::size_t s = 0; s < batch.sequences.size(); ++s) last.push_back(values[batch.sequences.view().end(s) - 1]);
  CHECK(rlft_test::relative_error(last, rlft_test::read_tensor(golden, "scores")) <= 1e-5);
  double loss = 0.0;
  for (std::size_t t = 0; t < tokens; ++t) loss += double{batch.dvalues[t]} * values[t];
  CHECK(loss == doctest::Approx(rlft_test::read_tensor(golden, "loss")[0]).epsilon(1e-5));

  model.zero_grad();
  model.backward_values(batch.sequences, batch.dvalues);
  rlft_test::check_gradients_against_golden(model, golden);
}

}  // namespace

TEST_CASE("Qwen2 score head: values, scores and every gradient match transformers") {
  check_score_model_against_golden("qwen2_score");
}

TEST_CASE("Llama score head with tied embeddings in the config: values, scores and gradients match transformers") {
  check_score_model_against_golden("llama_score");
}

TEST_CASE("a score model saves in transformers' sequence-classification layout and loads back exactly") {
  const auto fixture = rlft_test::golden_directory("qwen2_score");
  const auto model = transformer::from_pretrained(fixture);
  scratch_directory saved("round_trip");
  model.save(saved.path);

  std::ifstream file(saved.path / "config.json");
  const auto config = nlohmann::json::parse(file);
  CHECK(config["architectures"] == nlohmann::json::array({"Qwen2ForSequenceClassification"}));
  CHECK(config["id2label"].size() == 1);
  const rlft::io::safetensors_file written(saved.path / "model.safetensors");
  const rlft::io::safetensors_file original(fixture / "model.safetensors");
  REQUIRE(written.tensors().size() == original.tensors().size());
  for (const auto& entry : original.tensors()) {
    INFO(entry.name);
    REQUIRE(written.find(entry.name) != nullptr);
    CHECK(written.at(entry.name).shape == entry.shape);
  }

  auto reloaded = transformer::from_pretrained(saved.path);
  auto first = transformer::from_pretrained(fixture);
  const auto batch = read_score_batch(fixture);
  std::vector<float> before(batch.sequences.num_tokens()), after(batch.sequences.num_tokens());
  first.values(batch.sequences, before);
  reloaded.values(batch.sequences, after);
  CHECK(std::memcmp(before.data(), after.data(), before.size() * sizeof(float)) == 0);
  CHECK(reloaded.config() == first.config());
}

TEST_CASE("each head refuses the other's operations, and a classifier of several labels is refused") {
  auto score_model = transformer::from_pretrained(rlft_test::golden_directory("qwen2_score"));
  auto language_model = transformer::from_pretrained(rlft_test::golden_directory("qwen2"));
  const rlft::token_sequences sequences(std::vector<rlft::token_id>{1, 2, 3}, std::vector<std::int64_t>{0, 3});
  std::vector<float> out(3);
  CHECK(rlft::testing::error_message([&] { score_model.log_probs(sequences, out); }) ==
        "transformer: log_probs needs an LM head (a …ForCausalLM checkpoint); this model has a score head");
  CHECK(rlft::testing::error_message([&] { language_model.values(sequences, out); }) ==
        "transformer: values needs a score head (a …ForSequenceClassification checkpoint); this model has an LM head");
  CHECK(rlft::testing::error_message([&] { score_model.backward_values(sequences, out); }) ==
        "transformer: backward needs the sequences of the latest values call");
  score_model.values(sequences, out);
  std::vector<float> wrong(2);
  CHECK(rlft::testing::error_message([&] { score_model.backward_values(sequences, wrong); }) ==
        "transformer: value gradients have 2 entries for 3 tokens");

  scratch_directory labels("labels");
  score_model.save(labels.path);
  std::ifstream in(labels.path / "config.json");
  auto config = nlohmann::json::parse(in);
  in.close();
  config["id2label"] = {{"0", "bad"}, {"1", "good"}};
  std::ofstream(labels.path / "config.json") << config.dump();
  CHECK_THROWS_AS(transformer::from_pretrained(labels.path), rlft::io_error);
  CHECK(rlft::testing::error_message([&] { transformer::from_pretrained(labels.path); })
            .ends_with("a sequence classifier with 2 labels is not a reward or value model (num_labels 1)"));
}
