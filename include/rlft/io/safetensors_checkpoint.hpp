// A Hugging Face checkpoint directory's weights: either one model.safetensors or shards listed
// by model.safetensors.index.json ({"weight_map": {tensor name: shard file name}}). Every shard
// is opened and validated up front, and the index must agree with the shards (each mapped
// tensor present in its shard, shard names plain file names inside the directory), so a
// broken checkpoint fails on open with an rlft::io_error, not half-way through loading.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/io/safetensors.hpp"

namespace rlft::io {

class safetensors_checkpoint {
 public:
  explicit safetensors_checkpoint(const std::filesystem::path& directory,
                                  safetensors_limits limits = default_safetensors_limits) {
    const auto index_path = directory / "model.safetensors.index.json";
    const auto single_path = directory / "model.safetensors";
    if (std::filesystem::exists(index_path)) {
      open_sharded(directory, index_path, limits);
    } else if (std::filesystem::exists(single_path)) {
      files_.push_back(std::make_shared<const safetensors_file>(single_path, limits));
      for (const auto& entry : files_.back()->tensors()) owner_[entry.name] = 0;
    } else {
      throw io_error(detail::make_message("checkpoint ", directory.string(),
                                          " has neither model.safetensors nor model.safetensors.index.json"));
    }
  }

  bool contains(std::string_view name) const { return owner_.find(name) != owner_.end(); }

  const tensor_entry& at(std::string_view name) const { return file_of(name).at(name); }

  void read(std::string_view name, std::span<float> out) const { file_of(name).read(name, out); }

  std::vector<std::string> names() const {
    std::vector<std::string> result;
    for (const auto& [name, file] : owner_) result.push_back(name);
    return result;
  }

 private:
  const safetensors_file& file_of(std::string_view name) const {
    const auto it = owner_.find(name);
    if (it == owner_.end()) throw io_error(detail::make_message("checkpoint has no tensor named '", name, "'"));
    return *files_[it->second];
  }

  void open_sharded(const std::filesystem::path& directory, const std::filesystem::path& index_path,
                    const safetensors_limits& limits) {
    std::ifstream stream(index_path);
    std::stringstream text;
    text << stream.rdbuf();
    if (!stream) throw io_error(detail::make_message("cannot read ", index_path.string()));
    const auto index = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (index.is_discarded() || !index.is_object())
      throw io_error(detail::make_message(index_path.string(), " is not a JSON object"));
    const auto map = index.find("weight_map");
    if (map == index.end() || !map->is_object())
      throw io_error(detail::make_message(index_path.string(), " has no weight_map object"));

    std::map<std::string, std::size_t> shard_of_file;
    for (const auto& [name, file] : map->items()) {
      if (!file.is_string())
        throw io_error(detail::make_message(index_path.string(), ": weight_map entry '", name, "' is not a file name"));
      const std::string& file_name = file.get_ref<const std::string&>();
      const std::filesystem::path as_path(file_name);
      if (file_name.empty() || as_path.has_parent_path() || as_path.is_absolute() || file_name == "." || file_name == "..")
        throw io_error(detail::make_message(index_path.string(), ": shard '", file_name,
                                            "' is not a plain file name inside the checkpoint directory"));
      auto [shard, inserted] = shard_of_file.try_emplace(file_name, files_.size());
      if (inserted) files_.push_back(std::make_shared<const safetensors_file>(directory / as_path, limits));
      if (files_[shard->second]->find(name) == nullptr)
        throw io_error(detail::make_message(index_path.string(), " maps tensor '", name, "' to ", file_name,
                                            ", which does not hold it"));
      owner_[name] = shard->second;
    }
  }

  // Shared so that copies of a checkpoint handle stay cheap; files are immutable once opened.
  std::vector<std::shared_ptr<const safetensors_file>> files_;
  std::map<std::string, std::size_t, std::less<>> owner_;
};

}  // namespace rlft::io
