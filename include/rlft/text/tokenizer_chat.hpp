// A tokenizer's chat template ready to render as transformers' apply_chat_template renders it:
// the template named in tokenizer_config.json (or chat_template.jinja), with the tokenizer's BOS
// and EOS passed as bos_token and eos_token, which templates such as Llama 3's write themselves.
// The rendered text already holds its special tokens: encode it without the post-processor's
// (tokenizer.encode(text, false)), as apply_chat_template(tokenize=True) does.
#pragma once

#include <string>
#include <string_view>

#include "rlft/core/error.hpp"
#include "rlft/text/chat_template.hpp"
#include "rlft/text/tokenizer.hpp"

namespace rlft {

struct tokenizer_chat {
  chat_template chat;
  chat_render_options options;  // bos_token, eos_token; add_generation_prompt off

  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt) const {
    chat_render_options with_prompt = options;
    with_prompt.add_generation_prompt = add_generation_prompt;
    return chat.render(messages, with_prompt);
  }
};

// Throws rlft::error naming the template and the ones the tokenizer has when `name` is missing.
inline tokenizer_chat chat_of(const tokenizer& tokens, std::string_view name = "default") {
  const auto& templates = tokens.chat_templates();
  const auto found = templates.find(std::string(name));
  if (found == templates.end()) {
    std::string known;
    for (const auto& [template_name, text] : templates) known += (known.empty() ? "" : ", ") + template_name;
    throw error(detail::make_message("the tokenizer has no chat template '", name, "' (",
                                     known.empty() ? std::string("it has none") : "it has: " + known, ")"));
  }
  tokenizer_chat result{.chat = chat_template(found->second), .options = {}};
  if (tokens.special().bos) result.options.bos_token = tokens.special().bos->content;
  if (tokens.special().eos) result.options.eos_token = tokens.special().eos->content;
  return result;
}

}  // namespace rlft
