// Must not compile: a decoder that returns token ids instead of text. GCC names the
// unsatisfied requirement, rlft::decodes_tokens_to_text, in its diagnostic.
#include <span>
#include <vector>

#include <rlft/concepts/token_decoder.hpp>

struct echoes_tokens {
  std::vector<rlft::token_id> operator()(std::span<const rlft::token_id> tokens) const {
    return {tokens.begin(), tokens.end()};
  }
};

static_assert(rlft::token_decoder<echoes_tokens>);

int main() {}
