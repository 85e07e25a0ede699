// Rollouts as JSON Lines, so that a run can train on completions another engine sampled (vLLM,
// SGLang, a quantised server) and export its own. One completion per line:
//   {"prompt_ids": [151644, 872, ...], "completion_ids": [40, 1184, ...],
//    "sampling_logprobs": [-0.31, -1.2, ...], "reward": 1.0,
//    "rewards": {"accuracy": 1.0, "format": 1.0}, "group": 0, "truncated": false}
// "sampling_logprobs" holds the sampling engine's log-prob of each completion token; "reward" is
// the total the estimators train on; "rewards" (optional, the same names on every line) are its
// components, logged and read by gdpo_advantage. Completions of one prompt form a group: the
// consecutive lines with one "group" number, or without "group" anywhere, the consecutive lines
// with one prompt. The batch's loss mask covers the completion tokens; old and reference
// log-probs are left for the trainer (grpo_trainer::step_on). rlft::grpo_options::rollout_correction
// then corrects for the engines' mismatch.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/core/rollout_batch.hpp"
#include "rlft/core/token_sequences.hpp"
#include "rlft/io/json_number.hpp"
#include "rlft/io/jsonl.hpp"

namespace rlft::io {

struct rollout_file_options {
  std::size_t vocabulary_size = 0;           // > 0: every token id must be below it
  std::size_t max_records = 1u << 20;        // completions in one file
  std::size_t max_sequence_tokens = 1u << 20;  // prompt + completion of one line
  jsonl_limits limits = {.max_line_bytes = std::size_t{64} << 20, .max_depth = 2};
};

}  // namespace rlft::io

namespace rlft::detail {

struct rollout_record {
  std::vector<token_id> prompt;
  std::vector<token_id> completion;
  std::vector<float> sampling_logprobs = {};
  float reward = 0.0f;
  std::map<std::string, float> components = {};
  std::optional<std::uint64_t> group = {};
  bool truncated = false;
};

inline std::vector<token_id> rollout_token_ids(const nlohmann::json& record, const char* key,
                                               const io::rollout_file_options& options) {
  const auto& array = record.at(key);
  if (!array.is_array()) throw data_error(make_message("\"", key, "\" is not an array"));
  if (array.size() > options.max_sequence_tokens)
    throw data_error(make_message("\"", key, "\" holds more than max_sequence_tokens = ",
                                                options.max_sequence_tokens, " tokens"));
  std::vector<token_id> ids;
  ids.reserve(array.size());
  for (const auto& value : array) {
    const auto id = io::json_number<token_id>(value);
    if (!id || *id < 0 || (options.vocabulary_size > 0 && static_cast<std::size_t>(*id) >= options.vocabulary_size))
      throw data_error(make_message("\"", key, "\" holds ", value.dump(), ", which is no token id",
                                                  options.vocabulary_size > 0 ? " of the vocabulary" : ""));
    ids.push_back(*id);
  }
  return ids;
}

inline float rollout_number(const nlohmann::json& value, const std::string& what) {
  const auto number = io::json_number<float>(value);
  if (!number) throw data_error(what + " is not a finite number");
  return *number;
}

inline rollout_record parse_rollout(const nlohmann::json& json, const io::rollout_file_options& options) {
  if (!json.is_object()) throw data_error("a rollout is a JSON object");
  rollout_record record{.prompt = rollout_token_ids(json, "prompt_ids", options),
                        .completion = rollout_token_ids(json, "completion_ids", options)};
  // A sequence's first token has no log-prob (nothing precedes it): a completion needs a prompt.
  if (record.prompt.empty()) throw data_error("\"prompt_ids\" is empty");
  if (record.completion.empty()) throw data_error("\"completion_ids\" is empty");
  if (record.prompt.size() + record.completion.size() > options.max_sequence_tokens)
    throw data_error(make_message("the prompt and completion hold more than max_sequence_tokens = ",
                                                options.max_sequence_tokens, " tokens"));
  const auto& logprobs = json.at("sampling_logprobs");
  if (!logprobs.is_array() || logprobs.size() != record.completion.size())
    throw data_error(make_message("\"sampling_logprobs\" must hold one number per completion token (",
                                                record.completion.size(), ")"));
  for (const auto& value : logprobs) record.sampling_logprobs.push_back(rollout_number(value, "a sampling log-prob"));
  record.reward = rollout_number(json.at("reward"), "\"reward\"");
  if (const auto rewards = json.find("rewards"); rewards != json.end()) {
    if (!rewards->is_object()) throw data_error("\"rewards\" is not an object");
    for (const auto& [name, value] : rewards->items()) {
      if (name.empty()) throw data_error("a reward component needs a name");
      record.components[name] = rollout_number(value, "reward component \"" + name + "\"");
    }
  }
  if (const auto group = json.find("group"); group != json.end()) {
    record.group = io::json_number<std::uint64_t>(*group);
    if (!record.group) throw data_error("\"group\" is not a non-negative integer");
  }
  if (const auto truncated = json.find("truncated"); truncated != json.end()) {
    if (!truncated->is_boolean()) throw data_error("\"truncated\" is not true or false");
    record.truncated = truncated->get<bool>();
  }
  return record;
}

}  // namespace rlft::detail

namespace rlft::io {

// The rollouts of `path` as one batch. Throws rlft::io_error when the file cannot be read and
// rlft::data_error "path:line: ..." for a malformed line (a missing or mistyped field, a token
// id outside the vocabulary, sampling log-probs not one per completion token, a non-finite
// number, reward components other than the first line's, a group split across the file) or
// an empty file.
inline rollout_batch read_rollouts(const std::filesystem::path& path, const rollout_file_options& options = {}) {
  std::vector<rlft::detail::rollout_record> records;
  std::vector<std::int64_t> group_offsets{0};
  std::set<std::uint64_t> finished_groups;
  read_jsonl(
      path,
      [&](const nlohmann::json& json, std::size_t) {
        if (records.size() == options.max_records)
          throw data_error(rlft::detail::make_message("the file holds more than max_records = ", options.max_records,
                                                      " rollouts"));
        auto record = rlft::detail::parse_rollout(json, options);
        if (!records.empty()) {
          const auto& previous = records.back();
          if (record.group.has_value() != previous.group.has_value())
            throw data_error("\"group\" is on some lines and not on others");
          std::vector<std::string> names, previous_names;
          for (const auto& [name, value] : record.components) names.push_back(name);
          for (const auto& [name, value] : previous.components) previous_names.push_back(name);
          if (names != previous_names) throw data_error("the reward components differ from the previous line's");
          const bool same_group = record.group ? *record.group == *previous.group : record.prompt == previous.prompt;
          if (!same_group) {
            group_offsets.push_back(static_cast<std::int64_t>(records.size()));
            if (record.group) {
              finished_groups.insert(*previous.group);
              if (finished_groups.contains(*record.group))
                throw data_error(rlft::detail::make_message("group ", *record.group,
                                                            " continues after other groups: a group's lines must be "
                                                            "consecutive"));
            }
          }
        }
        records.push_back(std::move(record));
      },
      options.limits);
  if (records.empty()) throw data_error(path.string() + " holds no rollouts");
  group_offsets.push_back(static_cast<std::int64_t>(records.size()));

  token_sequences sequences;
  std::vector<std::int64_t> prompt_lengths;
  std::vector<token_id> tokens;
  for (const auto& record : records) {
    tokens.assign(record.prompt.begin(), record.prompt.end());
    tokens.insert(tokens.end(), record.completion.begin(), record.completion.end());
    sequences.push_back(tokens);
    prompt_lengths.push_back(static_cast<std::int64_t>(record.prompt.size()));
  }
  rollout_batch batch(std::move(sequences), std::move(prompt_lengths), std::move(group_offsets));
  auto& rewards = batch.rewards();
  for (const auto& [name, value] : records.front().components) rewards.add_component(name);
  for (std::size_t s = 0; s < records.size(); ++s) {
    const auto& record = records[s];
    const std::size_t first = batch.sequence_begin(s) + record.prompt.size();
    std::copy(record.sampling_logprobs.begin(), record.sampling_logprobs.end(),
              batch.sampling_logprobs().begin() + static_cast<std::ptrdiff_t>(first));
    rewards.total()[s] = record.reward;
    for (const auto& [name, value] : record.components) rewards.component(name)[s] = value;
    batch.truncated()[s] = record.truncated ? 1 : 0;
  }
  return batch;
}

// Writes `batch`'s rollouts in the format read_rollouts reads (one line per sequence, its group
// number, rewards and components, sampling log-probs, truncation), atomically.
inline void write_rollouts(const std::filesystem::path& path, const rollout_batch& batch) {
  std::vector<nlohmann::json> lines;
  for (std::size_t g = 0; g < batch.num_groups(); ++g)
    for (std::size_t s = batch.group_begin(g); s < batch.group_end(g); ++s) {
      const auto completion_logprobs =
          batch.sampling_logprobs().subspan(batch.sequence_begin(s) + batch.prompt_length(s), batch.completion_length(s));
      nlohmann::json components = nlohmann::json::object();
      for (std::size_t c = 0; c < batch.rewards().num_components(); ++c)
        components[batch.rewards().component_name(c)] = batch.rewards().component(c)[s];
      const auto prompt = batch.prompt(s), completion = batch.completion(s);
      lines.push_back({{"prompt_ids", std::vector<token_id>(prompt.begin(), prompt.end())},
                       {"completion_ids", std::vector<token_id>(completion.begin(), completion.end())},
                       {"sampling_logprobs", std::vector<float>(completion_logprobs.begin(), completion_logprobs.end())},
                       {"reward", batch.rewards().total()[s]},
                       {"rewards", components},
                       {"group", g},
                       {"truncated", batch.truncated()[s] != 0}});
    }
  write_jsonl(path, lines);
}

}  // namespace rlft::io
