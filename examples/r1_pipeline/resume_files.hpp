// The files r1_pipeline reads back on --resume, and only those: a finished stage's done.json
// (the reward model's has fields of its own), the metrics log cut back to what the last
// checkpoints cover, and the wall time a checkpoint records. They come from an earlier run,
// possibly killed, truncated or edited, so each reader answers a malformed file with an
// rlft::io_error or data_error naming it (the fuzz harness tests/fuzz/r1_pipeline_resume_fuzz.cpp
// holds it to that).
#pragma once

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <rlft/core/error.hpp>
#include <rlft/io/json_number.hpp>
#include <rlft/io/jsonl.hpp>
#include <rlft/train/checkpoint.hpp>
#include <rlft/train/evaluation.hpp>
#include <rlft/train/metrics_json.hpp>

namespace rlft::r1 {

// Every stage's directory under --output, in the order the pipeline runs them (a stage missing
// here would make --resume refuse its metrics records).
inline constexpr std::array<std::string_view, 10> stage_names = {
    "base",     "r1_zero",      "cold_start",        "reasoning_rl",       "rejection_sft", "reward_model",
    "final_rl", "student_base", "student_distilled", "student_cold_start"};

inline bool is_stage_name(std::string_view name) {
  return std::find(stage_names.begin(), stage_names.end(), name) != stage_names.end();
}

struct stage_result {
  std::string stage;
  evaluation_summary evaluation;
  double seconds = 0.0;
  std::string kept_step = {};  // GRPO stages: "kept/steps" (checkpoint selection)
  double sound_rate = 0.0;     // share of the evaluation samples whose reasoning is sound
  std::optional<double> reward_model_score = {};  // their mean reward-model score, once there is one
};

inline nlohmann::json to_json(const stage_result& r) {
  return {{"stage", r.stage},
          {"evaluation", rlft::to_json(r.evaluation)},
          {"seconds", r.seconds},
          {"kept_step", r.kept_step},
          {"sound_rate", r.sound_rate},
          {"reward_model_score", r.reward_model_score ? nlohmann::json(*r.reward_model_score) : nlohmann::json()}};
}

// The reward-model stage: its preference pairs, its held-out pair accuracy before and after
// training, and the statistics of its scores that normalise the final stage's reward.
struct reward_model_result {
  std::size_t training_pairs = 0;
  std::size_t held_out_pairs = 0;
  double accuracy_before = 0.0;  // held-out pair accuracy of the untrained score head
  double accuracy = 0.0;         // after training
  double loss = 0.0;             // held-out Bradley–Terry loss after training
  double score_mean = 0.0;       // of the trained model's scores of the training completions
  double score_standard_deviation = 1.0;
  double starting_score = 0.0;   // mean score of the stage-3 model's evaluation samples
  double seconds = 0.0;
};

inline nlohmann::json to_json(const reward_model_result& r) {
  return {{"training_pairs", r.training_pairs}, {"held_out_pairs", r.held_out_pairs},
          {"accuracy_before", r.accuracy_before}, {"accuracy", r.accuracy},
          {"loss", r.loss}, {"score_mean", r.score_mean},
          {"score_standard_deviation", r.score_standard_deviation}, {"starting_score", r.starting_score},
          {"seconds", r.seconds}};
}

namespace detail {

template <class T>
T number_field(const nlohmann::json& object, const char* key) {
  const auto number = io::json_number<T>(object.at(key));
  if (!number) throw data_error(rlft::detail::make_message("\"", key, "\" is not a number in range"));
  return *number;
}

inline stage_result stage_result_from_json(const nlohmann::json& j) {
  const auto& e = j.at("evaluation");
  stage_result result{.stage = j.at("stage").get<std::string>(),
                      .evaluation = {.problems = number_field<std::size_t>(e, "problems"),
                                     .samples_per_problem = number_field<std::size_t>(e, "samples_per_problem"),
                                     .pass_at_1 = number_field<double>(e, "pass_at_1"),
                                     .consensus_at_k = number_field<double>(e, "consensus_at_k"),
                                     .format_rate = number_field<double>(e, "format_rate"),
                                     .mean_length = number_field<double>(e, "mean_length")},
                      .seconds = number_field<double>(j, "seconds"),
                      .kept_step = j.at("kept_step").get<std::string>(),
                      .sound_rate = number_field<double>(j, "sound_rate")};
  result.evaluation.pass_at_1_standard_error = number_field<double>(e, "pass_at_1_standard_error");
  if (!j.at("reward_model_score").is_null()) result.reward_model_score = number_field<double>(j, "reward_model_score");
  if (!is_stage_name(result.stage)) throw data_error("\"stage\" names no stage of the pipeline");
  return result;
}

inline reward_model_result reward_model_result_from_json(const nlohmann::json& j) {
  reward_model_result r{.training_pairs = number_field<std::size_t>(j, "training_pairs"),
                        .held_out_pairs = number_field<std::size_t>(j, "held_out_pairs"),
                        .accuracy_before = number_field<double>(j, "accuracy_before"),
                        .accuracy = number_field<double>(j, "accuracy"),
                        .loss = number_field<double>(j, "loss"),
                        .score_mean = number_field<double>(j, "score_mean"),
                        .score_standard_deviation = number_field<double>(j, "score_standard_deviation"),
                        .starting_score = number_field<double>(j, "starting_score"),
                        .seconds = number_field<double>(j, "seconds")};
  if (!(r.score_standard_deviation > 0.0)) throw data_error("\"score_standard_deviation\" is not positive");
  return r;
}

// Parses the JSON file at `path` with `from_json`; a missing file, invalid JSON or a missing or
// malformed field is an rlft::io_error naming the file.
template <class FromJson>
auto read_json_file(const std::filesystem::path& path, FromJson from_json) {
  std::ifstream file(path);
  if (!file) throw io_error("cannot open " + path.string());
  const auto json = nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) throw io_error(path.string() + " is not valid JSON");
  try {
    return from_json(json);
  } catch (const nlohmann::json::exception& e) {
    throw io_error(path.string() + ": " + e.what());
  } catch (const data_error& e) {
    throw io_error(path.string() + ": " + e.what());
  }
}

}  // namespace detail

// A finished stage's done.json. Throws rlft::io_error naming the file when it is missing, not
// JSON, or lacks a field of the right type and range.
inline stage_result read_stage_result(const std::filesystem::path& path) {
  return detail::read_json_file(path, detail::stage_result_from_json);
}

// The reward-model stage's done.json, with the same errors.
inline reward_model_result read_reward_model_result(const std::filesystem::path& path) {
  return detail::read_json_file(path, detail::reward_model_result_from_json);
}

// Wall time a stage had spent before its last checkpoint (0 without one). Throws rlft::io_error
// when the checkpoint pointer or its "seconds" is malformed.
inline double seconds_before_resume(const std::filesystem::path& stage_directory) {
  const auto latest = checkpoint_directory(stage_directory).latest();
  if (!latest) return 0.0;
  const auto caller = latest->state.find("caller");
  if (caller == latest->state.end() || !caller->is_object())
    throw io_error(latest->directory.string() + ": checkpoint state has no \"caller\" object");
  const auto seconds = caller->find("seconds");
  if (seconds == caller->end()) return 0.0;
  const auto value = io::json_number<double>(*seconds);
  if (!value || *value < 0.0)
    throw io_error(latest->directory.string() + ": checkpoint state: \"seconds\" is not a duration");
  return *value;
}

// On resume, metrics.jsonl under `output` keeps the finished stages' records and, for a stage in
// progress, its steps up to its checkpoint: the steps after it are run again and logged again.
// Throws rlft::data_error naming the line of a record without a known stage, a kind, or (for a
// step of an unfinished stage) a step number.
inline void drop_unfinished_metrics(const std::filesystem::path& output) {
  const std::filesystem::path path = output / "metrics.jsonl";
  if (!std::filesystem::exists(path)) return;
  std::vector<nlohmann::json> kept;
  io::read_jsonl(path, [&](const nlohmann::json& record, std::size_t) {
    const std::string stage_name = record.at("stage").get<std::string>();
    if (!is_stage_name(stage_name)) throw data_error("the record's \"stage\" names no stage of the pipeline");
    const std::filesystem::path directory = output / stage_name;
    if (std::filesystem::exists(directory / "done.json")) {
      kept.push_back(record);
    } else if (record.at("kind") == "grpo" || record.at("kind") == "validation") {
      const auto latest = checkpoint_directory(directory).latest();
      if (!latest) return;
      const auto step = io::json_number<std::size_t>(record.at("step"));
      if (!step) throw data_error("a record's step is not a step number");
      if (*step <= rlft::detail::state_field<std::size_t>(*latest, "steps")) kept.push_back(record);
    }
  });
  io::write_jsonl(path, kept);
}

}  // namespace rlft::r1
