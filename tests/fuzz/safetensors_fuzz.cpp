// A safetensors file: header, offsets and tensor bytes, opened and every tensor read as float.
#include <vector>

#include "fuzz_support.hpp"
#include "rlft/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = rlft_fuzz::scratch_directory() / "input.safetensors";
  rlft_fuzz::write_file(path, rlft_fuzz::as_text(data, size));
  rlft_fuzz::expect_rlft_error_at_most([&] {
    const rlft::io::safetensors_file file(path);
    for (const auto& entry : file.tensors()) {
      std::vector<float> values(entry.num_elements());
      file.read(entry.name, values);
    }
  });
  return 0;
}
