// Tokenizes standard input with a Hugging Face tokenizer, to check rlft against a Python stack
// in one line:
//   echo -n "Hello world" | rlft_tokenize --tokenizer path/to/model          → [9707, 1879]
//   echo "[9707, 1879]"   | rlft_tokenize --tokenizer path/to/model --decode → Hello world
// The directory holds tokenizer.json (and tokenizer_config.json). Ids are printed as one JSON
// array; --no-special-tokens leaves out the post-processor's special tokens (BOS and the like),
// --skip-special-tokens drops special tokens when decoding.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <rlft/text/tokenizer.hpp>

int main(int argc, char** argv) {
  std::string directory;
  bool decode = false, no_special_tokens = false, skip_special_tokens = false;
  CLI::App app{"Encode standard input with a Hugging Face tokenizer (or decode a JSON list of ids)."};
  app.add_option("--tokenizer", directory, "directory with tokenizer.json (and tokenizer_config.json)")->required();
  app.add_flag("--decode", decode, "read a JSON array of ids and print their text");
  app.add_flag("--no-special-tokens", no_special_tokens, "encode without the post-processor's special tokens");
  app.add_flag("--skip-special-tokens", skip_special_tokens, "decode without special tokens");
  CLI11_PARSE(app, argc, argv);
  try {
    const auto tokenizer = rlft::tokenizer::from_directory(directory);
    const std::string input{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    if (decode) {
      std::vector<rlft::token_id> ids;
      try {
        ids = nlohmann::json::parse(input).get<std::vector<rlft::token_id>>();
      } catch (const nlohmann::json::exception& e) {
        throw rlft::data_error(std::string("standard input is not a JSON array of ids: ") + e.what());
      }
      std::cout << tokenizer.decode(ids, skip_special_tokens) << '\n';
    } else {
      std::cout << nlohmann::json(tokenizer.encode(input, !no_special_tokens)).dump() << '\n';
    }
  } catch (const rlft::error& e) {
    std::fprintf(stderr, "rlft_tokenize: %s\n", e.what());
    return 1;
  }
  return 0;
}
