// Tokenizes standard input with a Hugging Face tokenizer, to check rlft against a Python stack
// in one line:
//   echo -n "Hello world" | rlft_tokenize --tokenizer path/to/model          → [9707, 1879]
//   echo "[9707, 1879]"   | rlft_tokenize --tokenizer path/to/model --decode → Hello world
//   echo '[{"role": "user", "content": "Hi"}]' | rlft_tokenize --tokenizer path/to/model --chat
//       → the ids of apply_chat_template(messages, tokenize=True)
// The directory holds tokenizer.json (and tokenizer_config.json). Ids are printed as one JSON
// array; --no-special-tokens leaves out the post-processor's special tokens (BOS and the like),
// --skip-special-tokens drops special tokens when decoding. --chat reads a JSON list of messages
// and renders it with the model's chat template (--add-generation-prompt opens the assistant's
// turn; --text prints the rendered text instead of its ids).
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <rlft/text/tokenizer.hpp>
#include <rlft/text/tokenizer_chat.hpp>

int main(int argc, char** argv) {
  std::string directory;
  std::string chat_template_name = "default";
  bool decode = false, no_special_tokens = false, skip_special_tokens = false;
  bool chat = false, add_generation_prompt = false, print_text = false;
  CLI::App app{"Encode standard input with a Hugging Face tokenizer (or decode a JSON list of ids)."};
  app.add_option("--tokenizer", directory, "directory with tokenizer.json (and tokenizer_config.json)")->required();
  app.add_flag("--decode", decode, "read a JSON array of ids and print their text");
  app.add_flag("--no-special-tokens", no_special_tokens, "encode without the post-processor's special tokens");
  app.add_flag("--skip-special-tokens", skip_special_tokens, "decode without special tokens");
  app.add_flag("--chat", chat, "read a JSON list of chat messages and encode them as the chat template renders them")
      ->excludes("--decode");
  app.add_flag("--add-generation-prompt", add_generation_prompt, "with --chat: open the assistant's turn at the end");
  app.add_option("--chat-template", chat_template_name, "with --chat: which of the model's templates (default)");
  app.add_flag("--text", print_text, "with --chat: print the rendered text, not its ids");
  CLI11_PARSE(app, argc, argv);
  try {
    const auto tokenizer = rlft::tokenizer::from_directory(directory);
    const std::string input{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    if (chat) {
      const auto messages = nlohmann::ordered_json::parse(input, nullptr, /*allow_exceptions=*/false);
      if (!messages.is_array()) throw rlft::data_error("standard input is not a JSON list of chat messages");
      const std::string text = rlft::chat_of(tokenizer, chat_template_name).render(messages, add_generation_prompt);
      if (print_text) std::cout << text;
      else std::cout << nlohmann::json(tokenizer.encode(text, false)).dump() << '\n';
    } else if (decode) {
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
