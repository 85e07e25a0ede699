// The format reward in its three modes over a table of well-formed and adversarial
// completions (nested, unclosed, repeated, reordered tags, text outside, empty answers).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "rlft/rlft.hpp"

using namespace rlft;

TEST_CASE("format reward: strict, lenient and tag counting") {
  struct row {
    const char* name;
    std::string completion;
    float strict, lenient, tag_count;
  };
  const std::vector<row> table{
      {"the template", "<think>12+7=19</think><answer>19</answer>", 1, 1, 1},
      {"whitespace between and around", "\n <think>\nadd\n</think>\n<answer> 19 </answer>\n", 1, 1, 1},
      {"empty reasoning is allowed", "<think></think><answer>19</answer>", 1, 1, 1},
      {"blank answer", "<think>add</think><answer>  </answer>", 0, 0, 1},
      {"text before the think block", "Sure! <think>add</think><answer>19</answer>", 0, 1, 1},
      {"text after the answer", "<think>add</think><answer>19</answer> done", 0, 1, 1},
      {"text between the blocks", "<think>add</think> so <answer>19</answer>", 0, 1, 1},
      {"answer before think", "<answer>19</answer><think>add</think>", 0, 0, 1},
      {"answer inside think", "<think>add <answer>19</answer></think>", 0, 0, 1},
      {"unclosed think", "<think>add <answer>19</answer>", 0, 0, 0.75f},
      {"unclosed answer", "<think>add</think><answer>19", 0, 0, 0.75f},
      {"nested think", "<think><think>add</think></think><answer>19</answer>", 0, 1, 0.5f},
      {"two answers", "<think>add</think><answer>19</answer><answer>20</answer>", 0, 1, 0.5f},
      {"no tags at all", "19", 0, 0, 0},
      {"empty completion", "", 0, 0, 0},
      {"invalid UTF-8 inside", "<think>\xFF\xC3</think><answer>\xE4\xBD</answer>", 1, 1, 1},
  };
  const format_reward strict{.mode = format_mode::strict};
  const format_reward lenient{.mode = format_mode::lenient};
  const format_reward tag_count{.mode = format_mode::tag_count};
  for (const auto& [name, completion, expected_strict, expected_lenient, expected_tags] : table) {
    CAPTURE(name);
    const reward_input input{.completion = completion};
    CHECK(strict(input) == expected_strict);
    CHECK(lenient(input) == expected_lenient);
    CHECK(tag_count(input) == expected_tags);
  }
}

TEST_CASE("format reward when the prompt opened the think block, and with custom tags") {
  const r1_template opened{.prompt_opens_think = true};
  const format_reward strict{.layout = opened};
  const format_reward lenient{.mode = format_mode::lenient, .layout = opened};
  const format_reward tag_count{.mode = format_mode::tag_count, .layout = opened};
  const reward_input continued{.completion = "add them</think><answer>19</answer>"};
  CHECK(strict(continued) == 1.0f);
  CHECK(lenient(continued) == 1.0f);
  CHECK(tag_count(continued) == 1.0f);
  const reward_input repeated{.completion = "<think>add them</think><answer>19</answer>"};
  CHECK(strict(repeated) == 0.0f);
  CHECK(tag_count(repeated) == 0.75f);

  const format_reward custom{.layout = {.tags = {.think_open = "<reasoning>",
                                                 .think_close = "</reasoning>",
                                                 .answer_open = "<final>",
                                                 .answer_close = "</final>"}}};
  CHECK(custom(reward_input{.completion = "<reasoning>x</reasoning><final>1</final>"}) == 1.0f);
  CHECK(custom(reward_input{.completion = "<think>x</think><answer>1</answer>"}) == 0.0f);
}
