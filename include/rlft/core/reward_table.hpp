// Per-completion rewards of a rollout batch: one named column per reward component
// (accuracy, format, language consistency, ...) kept for logging, plus the total reward the
// advantage estimators read. Columns are contiguous so per-component statistics are plain
// reductions.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rlft/core/error.hpp"

namespace rlft {

class reward_table {
 public:
  explicit reward_table(std::size_t num_sequences = 0) : total_(num_sequences, 0.0f) {}

  std::size_t num_sequences() const noexcept { return total_.size(); }
  std::size_t num_components() const noexcept { return names_.size(); }

  // Adds a zero-filled column and returns its index. Throws rlft::error on an empty or
  // duplicate name.
  std::size_t add_component(std::string name) {
    if (name.empty()) throw error("reward table: a reward component needs a non-empty name");
    if (find(name))
      throw error(detail::make_message("reward table: component '", name, "' already exists"));
    names_.push_back(std::move(name));
    columns_.emplace_back(num_sequences(), 0.0f);
    return names_.size() - 1;
  }

  std::optional<std::size_t> find(std::string_view name) const noexcept {
    const auto it = std::find(names_.begin(), names_.end(), name);
    if (it == names_.end()) return std::nullopt;
    return static_cast<std::size_t>(it - names_.begin());
  }

  const std::string& component_name(std::size_t index) const {
    RLFT_ASSERT(index < num_components());
    return names_[index];
  }
  std::span<const std::string> component_names() const noexcept { return names_; }

  std::span<float> component(std::size_t index) {
    RLFT_ASSERT(index < num_components());
    return columns_[index];
  }
  std::span<const float> component(std::size_t index) const {
    RLFT_ASSERT(index < num_components());
    return columns_[index];
  }
  // Throws rlft::error when no component has this name.
  std::span<float> component(std::string_view name) { return columns_[index_of(name)]; }
  std::span<const float> component(std::string_view name) const { return columns_[index_of(name)]; }

  // The reward each completion is trained on.
  std::span<float> total() noexcept { return total_; }
  std::span<const float> total() const noexcept { return total_; }

 private:
  std::size_t index_of(std::string_view name) const {
    if (const auto index = find(name)) return *index;
    throw error(detail::make_message("reward table: no component named '", name, "'"));
  }

  std::vector<std::string> names_;
  std::vector<std::vector<float>> columns_;
  std::vector<float> total_;
};

}  // namespace rlft
