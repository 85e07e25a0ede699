// A user's program on the reference transformer and the built-in tasks (rlft::transformer): a
// tiny Qwen2-shaped model with random weights continues an arithmetic prompt written with the
// character tokenizer, is saved as a Hugging Face checkpoint and loaded back, and the loaded
// model gives the same log-probs, bit for bit.
//   rlft_transformer_consumer <checkpoint directory>
#include <rlft/rlft.hpp>

#include <cstdio>
#include <vector>

#include "tasks/arithmetic.hpp"
#include "tasks/char_tokenizer.hpp"
#include "transformer/transformer.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <checkpoint directory>\n", argv[0]);
    return 2;
  }
  const rlft::tasks::char_tokenizer tokenizer;
  const auto problem = rlft::tasks::arithmetic_task({}, 1).make(rlft::tasks::split::train, 0);
  rlft::token_sequences prompts;
  prompts.push_back(tokenizer.encode(problem.question + "="));

  rlft::examples::transformer model({.vocab_size = tokenizer.vocab_size(), .hidden_size = 32, .intermediate_size = 64,
                                     .num_layers = 1, .num_heads = 2, .num_kv_heads = 1, .head_dim = 16},
                                    /*seed=*/1);
  const auto batch = model.generate(prompts, 2, rlft::temperature{1.0f}, {.max_new_tokens = 8, .seed = 1});
  model.save(argv[1]);
  auto loaded = rlft::examples::transformer::from_pretrained(argv[1]);

  std::vector<float> expected(batch.num_tokens()), actual(batch.num_tokens());
  model.log_probs(batch.sequences(), expected);
  loaded.log_probs(batch.sequences(), actual);
  if (batch.completion(0).empty() || actual != expected) return 1;
  std::printf("rlft transformer consumer: ok\n");
  return 0;
}
