// The reference transformer against Hugging Face transformers (fixtures from
// tools/make_golden_transformer.py): logits, log-probs, entropies and every parameter gradient
// of a tiny random Qwen2 (q/k/v bias, untied head, BF16 checkpoint) and a tiny Llama (no bias,
// tied embeddings, one key/value head, F16 checkpoint), plus central finite differences and
// independence from the thread count.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "golden_fixture.hpp"
#include "transformer/transformer.hpp"

using rlft::examples::transformer;

namespace {

void check_against_golden(const std::string& name) {
  const auto directory = rlft_test::golden_directory(name);
  auto model = transformer::from_pretrained(directory);
  const auto batch = rlft_test::read_golden_batch(directory);
  const rlft::io::safetensors_file golden(directory / "golden.safetensors");
  const std::size_t tokens = batch.sequences.num_tokens();

  std::vector<float> logits(tokens * model.config().vocab_size);
  model.logits(batch.sequences, logits);
  CHECK(rlft_test::relative_error(logits, rlft_test::read_tensor(golden, "logits")) <= 1e-5);

  std::vector<float> logprobs(tokens), entropy(tokens);
  model.log_probs(batch.sequences, logprobs, entropy);
  const auto expected_logprobs = rlft_test::read_tensor(golden, "logprobs");
  const auto expected_entropy = rlft_test::read_tensor(golden, "entropy");
  CHECK(rlft_test::relative_error(logprobs, expected_logprobs) <= 1e-5);
  CHECK(rlft_test::relative_error(entropy, expected_entropy) <= 1e-5);
  double loss = 0.0;
  for (std::size_t t = 0; t < tokens; ++t) loss += double{batch.dlogp[t]} * logprobs[t] + double{batch.dentropy[t]} * entropy[t];
  CHECK(loss == doctest::Approx(rlft_test::read_tensor(golden, "loss")[0]).epsilon(1e-5));

  model.zero_grad();
  model.backward(batch.sequences, batch.dlogp, batch.dentropy);
  rlft_test::check_gradients_against_golden(model, golden);
}

double golden_loss(transformer& model, const rlft_test::golden_batch& batch) {
  const std::size_t tokens = batch.sequences.num_tokens();
  std::vector<float> logprobs(tokens), entropy(tokens);
  model.log_probs(batch.sequences, logprobs, entropy);
  double loss = 0.0;
  for (std::size_t t = 0; t < tokens; ++t) loss += double{batch.dlogp[t]} * logprobs[t] + double{batch.dentropy[t]} * entropy[t];
  return loss;
}

}  // namespace

static_assert(rlft::entropy_policy<transformer>);

TEST_CASE("Qwen2: logits, log-probs, entropies and every gradient match transformers") { check_against_golden("qwen2"); }

TEST_CASE("Llama with tied embeddings: logits, log-probs, entropies and every gradient match transformers") {
  check_against_golden("llama");
}

TEST_CASE("gradients agree with central finite differences") {
  const auto directory = rlft_test::golden_directory("qwen2");
  auto model = transformer::from_pretrained(directory);
  const auto batch = rlft_test::read_golden_batch(directory);
  golden_loss(model, batch);
  model.zero_grad();
  model.backward(batch.sequences, batch.dlogp, batch.dentropy);
  auto parameters = model.parameters();
  const char* names[] = {"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.bias",
                         "model.layers.0.self_attn.k_proj.weight", "model.layers.1.self_attn.v_proj.weight",
                         "model.layers.1.mlp.down_proj.weight", "model.layers.0.input_layernorm.weight",
                         "model.norm.weight", "lm_head.weight"};
  for (const char* name : names) {
    const auto parameter = *std::find_if(parameters.begin(), parameters.end(),
                                         [&](const rlft::parameter_ref& p) { return p.name == name; });
    // The entry with the largest gradient: its finite difference stands well above rounding noise.
    std::size_t j = 0;
    for (std::size_t i = 0; i < parameter.gradients.size(); ++i)
      if (std::abs(parameter.gradients[i]) > std::abs(parameter.gradients[j])) j = i;
    const float analytic = parameter.gradients[j];
    const float saved = parameter.values[j];
    const float step = 1e-2f * std::max(1.0f, std::abs(saved));
    parameter.values[j] = saved + step;
    const double plus = golden_loss(model, batch);
    parameter.values[j] = saved - step;
    const double minus = golden_loss(model, batch);
    parameter.values[j] = saved;
    INFO(name, "[", j, "]");
    CHECK(analytic == doctest::Approx((plus - minus) / (2.0 * step)).epsilon(2e-2));
  }
}

TEST_CASE("log-probs and gradients do not depend on the thread count") {
  const auto directory = rlft_test::golden_directory("qwen2");
  auto model = transformer::from_pretrained(directory);
  // A batch large enough for every parallel loop and GEMM to use threads.
  rlft::token_sequences sequences;
  rlft::philox_stream rng(17, 0);
  for (std::size_t s = 0; s < 8; ++s) {
    std::vector<rlft::token_id> tokens(40 + 7 * s);
    for (auto& token : tokens) token = static_cast<rlft::token_id>(rng() % 512);
    sequences.push_back(tokens);
  }
  std::vector<float> dlogp(sequences.num_tokens()), dentropy(sequences.num_tokens());
  for (std::size_t t = 0; t < dlogp.size(); ++t) {
    dlogp[t] = rng.uniform() - 0.5f;
    dentropy[t] = rng.uniform() - 0.5f;
  }
  const auto run = [&] {
    std::vector<float> logprobs(sequences.num_tokens()), entropy(sequences.num_tokens());
    model.log_probs(sequences, logprobs, entropy);
    model.zero_grad();
    model.backward(sequences, dlogp, dentropy);
    std::vector<float> all(logprobs);
    for (const auto& parameter : model.parameters())
      all.insert(all.end(), parameter.gradients.begin(), parameter.gradients.end());
    return all;
  };
  const auto threaded = run();
#ifdef _OPENMP
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  const auto serial = run();
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  CHECK(std::memcmp(threaded.data(), serial.data(), threaded.size() * sizeof(float)) == 0);
}
