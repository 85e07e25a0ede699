// Must not compile: a data set whose tokenizer returns text instead of token ids. GCC names
// the unsatisfied requirement, rlft::data::prompt_encoder, in its diagnostic.
#include <string>
#include <string_view>
#include <vector>

#include <rlft/data/prompt_data_set.hpp>

int main() {
  const auto encode = [](std::string_view text) { return std::string(text); };
  rlft::data::prompt_data_set data_set(std::vector<rlft::data::data_record>{{.prompt = "1+1"}}, encode);
}
