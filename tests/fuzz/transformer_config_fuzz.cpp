// A Hugging Face config.json beside the weights of the tiny Llama fixture (tests/hf_model): the
// model built by from_pretrained and, when it loads, one forward over three tokens.
#include <vector>

#include "fuzz_support.hpp"
#include "transformer/transformer.hpp"

namespace {

const std::filesystem::path& model_directory() {
  static const std::filesystem::path directory = [] {
    auto path = rlft_fuzz::scratch_directory() / "model";
    std::filesystem::create_directories(path);
    std::filesystem::copy_file(std::filesystem::path(RLFT_SOURCE_DIR) / "tests/hf_model/fixtures/llama/model.safetensors",
                               path / "model.safetensors");
    return path;
  }();
  return directory;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& directory = model_directory();
  rlft_fuzz::write_file(directory / "config.json", rlft_fuzz::as_text(data, size));
  rlft_fuzz::expect_rlft_error_at_most([&] {
    auto model = rlft::examples::transformer::from_pretrained(directory);
    rlft::token_sequences sequences;
    sequences.push_back(std::vector<rlft::token_id>{0, 1, 2});
    std::vector<float> logprobs(sequences.num_tokens());
    model.log_probs(sequences, logprobs);
  });
  return 0;
}
