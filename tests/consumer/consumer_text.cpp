// A user's program on the installed tokenizers (rlft::text): a byte-level tokenizer built in
// memory encodes and decodes a text.
#include <rlft/text/tokenizer.hpp>

#include <cstdio>

int main() {
  const nlohmann::json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}};
  const auto tokenizer = rlft::tokenizer::from_json(
      {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b"}}}},
       {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
       {"decoder", {{"type", "ByteLevel"}}}},
      nlohmann::json::object());
  const auto ids = tokenizer.encode("abc");
  if (ids.size() != 2 || tokenizer.decode(ids) != "abc") return 1;
  std::printf("rlft text consumer: ok\n");
  return 0;
}
