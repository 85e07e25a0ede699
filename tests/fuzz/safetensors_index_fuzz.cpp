// A sharded checkpoint's model.safetensors.index.json, beside two valid shards: the index opened
// as a checkpoint and every tensor it names read through it.
#include <vector>

#include "fuzz_support.hpp"
#include "rlft/io/safetensors_checkpoint.hpp"

namespace {

const std::filesystem::path& checkpoint_directory() {
  static const std::filesystem::path directory = [] {
    auto path = rlft_fuzz::scratch_directory() / "sharded";
    std::filesystem::create_directories(path);
    const std::vector<float> values{1.0f, -2.0f, 0.5f, 4.0f, 8.0f, -1.0f};
    rlft::io::save_safetensors(path / "model-00001-of-00002.safetensors",
                               std::vector<rlft::io::tensor_to_save>{{"a.weight", {2, 3}, values}});
    rlft::io::save_safetensors(path / "model-00002-of-00002.safetensors",
                               std::vector<rlft::io::tensor_to_save>{{"b.weight", {3}, std::span(values).first(3)},
                                                                     {"c.bias", {1}, std::span(values).first(1)}},
                               rlft::io::tensor_dtype::bf16);
    return path;
  }();
  return directory;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& directory = checkpoint_directory();
  rlft_fuzz::write_file(directory / "model.safetensors.index.json", rlft_fuzz::as_text(data, size));
  rlft_fuzz::expect_rlft_error_at_most([&] {
    const rlft::io::safetensors_checkpoint checkpoint(directory);
    for (const auto& name : checkpoint.names()) {
      std::vector<float> values(checkpoint.at(name).num_elements());
      checkpoint.read(name, values);
    }
  });
  return 0;
}
