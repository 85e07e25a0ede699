// Checkpoints that let a training run continue exactly where it stopped (TRL's checkpoint-N
// directories with trainer_state.json, for rlft's trainers). A checkpoint holds everything the
// next step depends on — the policy (and GRPO's reference policy), the optimiser's moments and
// update count, the Philox position, the data cursor and the step count — plus the caller's
// validation state (best_policy: the best policy so far and its score) and any JSON the caller
// adds. The trainers write and read their part (grpo_trainer::save_checkpoint and resume,
// sft_trainer likewise); this header keeps the directory:
//   root/step-40/...        one complete checkpoint
//   root/latest.json        {"checkpoint": "step-40", "state": {...}}, replaced atomically
// A checkpoint is written into a fresh directory, and only when it is complete does latest.json
// name it; then the previous one is removed. A run killed at any moment leaves latest.json
// naming one complete checkpoint (or no latest.json at all before the first).
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "rlft/concepts/policy.hpp"
#include "rlft/core/error.hpp"
#include "rlft/io/atomic_file.hpp"
#include "rlft/io/json_number.hpp"

namespace rlft {

class checkpoint_directory {
 public:
  struct checkpoint {
    std::filesystem::path directory;
    nlohmann::json state;  // what save() was given
  };

  explicit checkpoint_directory(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const noexcept { return root_; }

  // Writes checkpoint `name`: write(directory) fills a fresh root/name, then latest.json names it
  // with `state`, then the previous checkpoint is removed. A second checkpoint of the same name
  // (saved twice at one step) goes to name.1, name.2, ...: the latest is never written over.
  // Throws what `write` throws, rlft::error for a name that is not a plain directory name, or
  // rlft::io_error; latest.json then still names the previous checkpoint.
  template <class Write>
  void save(const std::string& name, const nlohmann::json& state, Write&& write) {
    if (!plain_name(name))
      throw error(detail::make_message("checkpoint directory: \"", name, "\" is not a plain directory name"));
    const std::optional<checkpoint> previous = latest();
    std::string target = name;
    for (int copy = 1; previous && previous->directory == root_ / target; ++copy)
      target = name + "." + std::to_string(copy);
    const std::filesystem::path directory = root_ / target;
    try {
      std::filesystem::remove_all(directory);  // what a run killed while writing it left
      std::filesystem::create_directories(directory);
      write(directory);
    } catch (const std::filesystem::filesystem_error& e) {
      throw io_error(detail::make_message("cannot write checkpoint ", directory.string(), ": ", e.what()));
    }
    io::write_file_atomically(root_ / pointer_name,
                              nlohmann::json{{"checkpoint", target}, {"state", state}}.dump(2));
    std::error_code ignored;  // the new checkpoint is complete and named: the old one may linger
    if (previous) std::filesystem::remove_all(previous->directory, ignored);
  }

  // The checkpoint latest.json names, or none before the first. Throws rlft::io_error when
  // latest.json is malformed or names a missing directory.
  std::optional<checkpoint> latest() const {
    const std::filesystem::path pointer = root_ / pointer_name;
    if (!std::filesystem::exists(pointer)) return std::nullopt;
    nlohmann::json record;
    try {
      std::ifstream file(pointer);
      record = nlohmann::json::parse(file);
      const auto name = record.at("checkpoint").get<std::string>();
      checkpoint found{root_ / name, record.at("state")};
      if (!plain_name(name) || !std::filesystem::is_directory(found.directory))
        throw io_error(detail::make_message(pointer.string(), " names ", name, ", which is not a checkpoint here"));
      return found;
    } catch (const nlohmann::json::exception& e) {
      throw io_error(detail::make_message(pointer.string(), ": ", e.what()));
    }
  }

  // Removes latest.json and the checkpoint it names (a finished run needs neither). Throws
  // rlft::io_error when they cannot be removed.
  void remove() {
    const std::optional<checkpoint> previous = latest();
    try {
      std::filesystem::remove(root_ / pointer_name);
      if (previous) std::filesystem::remove_all(previous->directory);
    } catch (const std::filesystem::filesystem_error& e) {
      throw io_error(detail::make_message("cannot remove the checkpoint in ", root_.string(), ": ", e.what()));
    }
  }

  static constexpr const char* pointer_name = "latest.json";

 private:
  // A directory name directly in the root: not empty, ".", "..", a path or the pointer.
  static bool plain_name(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
           name != pointer_name;
  }

  std::filesystem::path root_;
};

// Saves `policy` (or a value model) into `directory`, created first (a model's save() may
// expect it to exist).
template <persists Policy>
void save_policy(const Policy& policy, const std::filesystem::path& directory) {
  std::filesystem::create_directories(directory);
  policy.save(directory);
}

namespace detail {

// Throws rlft::io_error unless the checkpoint was written by a `trainer` trainer.
inline void check_trainer_state(const checkpoint_directory::checkpoint& from, const char* trainer) {
  const auto& state = from.state;
  if (!state.is_object() || !state.contains("trainer") || state.at("trainer") != trainer)
    throw io_error(make_message(from.directory.string(), ": not a checkpoint of a ", trainer, " trainer"));
}

template <class T>
T state_field(const checkpoint_directory::checkpoint& from, const char* key) {
  try {
    if constexpr (std::is_arithmetic_v<T>) {
      const auto number = io::json_number<T>(from.state.at(key));
      if (!number) throw io_error(make_message(from.directory.string(), ": checkpoint state \"", key, "\" is not a number in range"));
      return *number;
    } else {
      return from.state.at(key).get<T>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw io_error(make_message(from.directory.string(), ": checkpoint state \"", key, "\": ", e.what()));
  }
}

}  // namespace detail

// Validation state: the best policy validation has seen so far, with its score and step (what
// TRL's load_best_model_at_end keeps).
template <policy Policy>
class best_policy {
 public:
  // Keeps a copy of `candidate` when `score` beats the best so far (the first offer always
  // does); returns whether it did.
  bool offer(const Policy& candidate, double score, std::size_t step) {
    if (best_ && !(score > score_)) return false;
    best_.emplace(candidate);
    score_ = score;
    step_ = step;
    return true;
  }

  bool empty() const noexcept { return !best_.has_value(); }
  const Policy& policy() const {
    if (!best_) throw error("best policy: nothing was offered yet");
    return *best_;
  }
  double score() const noexcept { return score_; }
  std::size_t step() const noexcept { return step_; }

  // Score and step as JSON (null when empty), and the policy into directory/best: what a
  // trainer's save_checkpoint stores.
  nlohmann::json record() const {
    if (!best_) return nullptr;
    return {{"score", score_}, {"step", step_}};
  }
  void save(const std::filesystem::path& directory) const {
    if (best_) save_policy(*best_, directory / "best");
  }

  // From what record() and save() wrote; `shape` is a policy of the same shape to load the
  // weights into. Throws rlft::io_error when the record or the weights are missing or malformed.
  void load(const std::filesystem::path& directory, const nlohmann::json& record, const Policy& shape) {
    if (record.is_null()) {
      best_.reset();
      return;
    }
    try {
      Policy loaded = shape;
      loaded.load(directory / "best");
      const auto score = io::json_number<double>(record.at("score"));
      const auto step = io::json_number<std::size_t>(record.at("step"));
      if (!score || !step) throw io_error(detail::make_message(directory.string(), ": best policy record: score or step out of range"));
      score_ = *score;
      step_ = *step;
      best_.emplace(std::move(loaded));
    } catch (const nlohmann::json::exception& e) {
      throw io_error(detail::make_message(directory.string(), ": best policy record: ", e.what()));
    }
  }

 private:
  std::optional<Policy> best_;
  double score_ = -std::numeric_limits<double>::infinity();
  std::size_t step_ = 0;
};

}  // namespace rlft
