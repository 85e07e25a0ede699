// The R1-Zero prompt is the DeepSeek-R1 paper's Table 1 wording, as a function and as a chat
// template.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "rlft/text/r1_zero_template.hpp"

TEST_CASE("the R1-Zero prompt is the paper's wording with the question in place") {
  const std::string expected =
      "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
      "assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
      "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
      "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: What is "
      "12 + 7?. Assistant:";
  CHECK(rlft::r1_zero_prompt("What is 12 + 7?") == expected);
  const std::vector<rlft::chat_message> conversation = {{"user", "What is 12 + 7?"}};
  const rlft::chat_template chat = rlft::r1_zero_template();
  CHECK(chat.render(conversation) == expected);
  CHECK(chat.render(conversation, {.add_generation_prompt = true}) == expected);
}

TEST_CASE("the R1-Zero template keeps the question's text as it is") {
  const std::string question = "  Solve: {{ x }} ∈ ℝ, 日本語 😀\n";
  const std::vector<rlft::chat_message> conversation = {{"user", question}};
  CHECK(rlft::r1_zero_template().render(conversation) == rlft::r1_zero_prompt(question));
}

TEST_CASE("the R1-Zero template takes one user message") {
  const rlft::chat_template chat = rlft::r1_zero_template();
  const std::vector<rlft::chat_message> two = {{"user", "a"}, {"assistant", "b"}};
  const std::vector<rlft::chat_message> system_only = {{"system", "a"}};
  CHECK_THROWS_WITH_AS(chat.render(two),
                       "chat template line 1: raise_exception: The R1-Zero template takes one user message",
                       rlft::data_error);
  CHECK_THROWS_AS(chat.render(system_only), rlft::data_error);
}
