// The plain prompt DeepSeek-R1-Zero was trained with (DeepSeek-R1 paper, Table 1): a base
// model has no chat template, so R1-Zero's reinforcement learning wraps each question in this
// fixed text, which asks for the reasoning in <think> tags and the answer in <answer> tags (the
// format rlft's format_reward checks). Given as a function and as a chat template over a
// conversation of one user message, for code that renders every model through a template.
#pragma once

#include <string>
#include <string_view>

#include "rlft/text/chat_template.hpp"

namespace rlft {

inline constexpr std::string_view r1_zero_instruction =
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with the "
    "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
    "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>.";

// "<instruction> User: <question>. Assistant:"
inline std::string r1_zero_prompt(std::string_view question) {
  std::string prompt(r1_zero_instruction);
  prompt += " User: ";
  prompt += question;
  prompt += ". Assistant:";
  return prompt;
}

// The same prompt as a chat template: the conversation is one user message (anything else is
// an rlft::data_error); add_generation_prompt changes nothing, the prompt always ends with
// "Assistant:".
inline constexpr std::string_view r1_zero_template_source =
    "{%- if messages | length != 1 or messages[0].role != 'user' -%}"
    "{{ raise_exception('The R1-Zero template takes one user message') }}"
    "{%- endif -%}"
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with the "
    "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
    "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
    "User: {{ messages[0].content }}. Assistant:";

inline chat_template r1_zero_template() { return chat_template(r1_zero_template_source); }

}  // namespace rlft
