// Preference data as JSON Lines, the layout of TRL's reward-model data sets: one
// {"prompt": ..., "chosen": ..., "rejected": ..., "margin": ...} object per line, where chosen and
// rejected are two responses to the prompt and the chosen one is preferred. "prompt" may be
// absent (TRL's implicit-prompt form: each response holds the whole conversation) and "margin",
// a finite number, defaults to 0. A line that does not parse or lacks a field is an
// rlft::data_error naming the file and line.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/io/json_number.hpp"
#include "rlft/io/jsonl.hpp"

namespace rlft {

struct preference_example {
  std::string prompt = {};  // empty in the implicit-prompt form
  std::string chosen = {};
  std::string rejected = {};
  float margin = 0.0f;
  friend bool operator==(const preference_example&, const preference_example&) = default;
};

namespace io {

inline std::vector<preference_example> read_preference_examples(const std::filesystem::path& path,
                                                                const jsonl_limits& limits = {}) {
  std::vector<preference_example> examples;
  read_jsonl(
      path,
      [&](const nlohmann::json& record, std::size_t) {
        if (!record.is_object()) throw error("expected an object with \"chosen\" and \"rejected\"");
        preference_example example{.prompt = detail::string_field(record, "prompt", false),
                                   .chosen = detail::string_field(record, "chosen", true),
                                   .rejected = detail::string_field(record, "rejected", true)};
        if (const auto it = record.find("margin"); it != record.end()) {
          const auto margin = json_number<float>(*it);
          if (!margin) throw error("field \"margin\" is not a finite number");
          example.margin = *margin;
        }
        examples.push_back(std::move(example));
      },
      limits);
  return examples;
}

inline void write_preference_examples(const std::filesystem::path& path, std::span<const preference_example> examples) {
  std::vector<nlohmann::json> records;
  records.reserve(examples.size());
  for (const auto& e : examples)
    records.push_back({{"prompt", e.prompt}, {"chosen", e.chosen}, {"rejected", e.rejected}, {"margin", e.margin}});
  write_jsonl(path, records);
}

}  // namespace io
}  // namespace rlft
