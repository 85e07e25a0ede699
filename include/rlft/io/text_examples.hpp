// Text data sets as JSON Lines: one {"prompt": ..., "completion": ..., "reference": ...}
// object per line. Rejection sampling writes them and SFT reads them; a line that does not
// parse or lacks a string field is an rlft::data_error naming the file and line.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/io/jsonl.hpp"

namespace rlft {

struct text_example {
  std::string prompt;
  std::string completion;
  std::string reference = {};  // optional in the file
  friend bool operator==(const text_example&, const text_example&) = default;
};

namespace io {

inline std::vector<text_example> read_text_examples(const std::filesystem::path& path) {
  std::vector<text_example> examples;
  read_jsonl(path, [&](const nlohmann::json& record, std::size_t) {
    if (!record.is_object()) throw error("expected an object with \"prompt\" and \"completion\"");
    examples.push_back({detail::string_field(record, "prompt", true), detail::string_field(record, "completion", true),
                        detail::string_field(record, "reference", false)});
  });
  return examples;
}

inline void write_text_examples(const std::filesystem::path& path, std::span<const text_example> examples) {
  std::vector<nlohmann::json> records;
  records.reserve(examples.size());
  for (const auto& e : examples)
    records.push_back({{"prompt", e.prompt}, {"completion", e.completion}, {"reference", e.reference}});
  write_jsonl(path, records);
}

}  // namespace io
}  // namespace rlft
