// examples/grpo_hf's command line: the input, one argument per line, parsed with every flag of the
// trainer (files must exist and be readable; numbers, ranges and choices are checked), then the
// rewards named by --reward NAME=WEIGHT built and checked against the known ones. A CLI11 parse
// error is the parser's answer to a bad command line, as an rlft::error is the trainer's.
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "grpo_hf/grpo_hf_options.hpp"
#include "grpo_hf/hf_rewards.hpp"
#include "grpo_hf/user_rewards.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The seeds name the fixture model and sample data relative to the source tree.
  static const bool in_source_tree = (std::filesystem::current_path(RLFT_SOURCE_DIR), true);
  (void)in_source_tree;
  std::vector<std::string> arguments{"rlft_grpo_hf"};
  std::string current;
  for (const char c : rlft_fuzz::as_text(data, size)) {
    if (c != '\n') {
      current.push_back(c);
    } else {
      arguments.push_back(current);
      current.clear();
    }
  }
  if (!current.empty()) arguments.push_back(current);
  std::vector<const char*> argv;
  for (const auto& argument : arguments) argv.push_back(argument.c_str());

  rlft::hf::grpo_hf_options options;
  CLI::App app{"fuzzed"};
  rlft::hf::add_flags(app, options);
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Error&) {
    return 0;
  }
  rlft_fuzz::expect_rlft_error_at_most([&] {
    const rlft::hf::reward_weights weights(options.rewards);
    const auto reward = rlft::hf::builtin_rewards(weights, options.max_new_tokens, {}) + rlft::hf::user_rewards(weights);
    std::vector<std::string> names;
    reward.append_component_names(names);
    weights.check_known(names);
  });
  return 0;
}
