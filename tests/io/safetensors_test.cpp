// rlft's safetensors reader and writer: round trips, 16-bit conversions against hand-computed
// bit patterns, and every kind of malformed file refused with an rlft::io_error that names the
// problem (run under AddressSanitizer in the sanitize preset: no read outside the file).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "rlft/core/philox.hpp"
#include "rlft/io/half_precision.hpp"
#include "rlft/io/safetensors.hpp"

namespace io = rlft::io;

namespace {

std::filesystem::path temporary_file(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("rlft_safetensors_" + name + ".safetensors");
}

// A file with the given header text (its length prefixed) followed by `data_bytes` zero bytes.
std::filesystem::path raw_file(const std::string& name, const std::string& header, std::size_t data_bytes,
                               std::uint64_t declared_length = UINT64_MAX) {
  const auto path = temporary_file(name);
  std::ofstream file(path, std::ios::binary);
  std::uint64_t length = declared_length == UINT64_MAX ? header.size() : declared_length;
  char bytes[8];
  for (char& byte : bytes) {
    byte = static_cast<char>(length & 0xff);
    length >>= 8;
  }
  file.write(bytes, 8);
  file << header;
  file << std::string(data_bytes, '\0');
  return path;
}

void expect_refused(const std::filesystem::path& path, const std::string& problem) {
  CAPTURE(problem);
  CHECK_THROWS_WITH_AS(io::safetensors_file{path}, doctest::Contains(problem.c_str()), rlft::io_error);
  std::filesystem::remove(path);
}

}  // namespace

TEST_CASE("bfloat16 and float16 conversions round to nearest even (hand-computed bit patterns)") {
  CHECK(io::float_to_bfloat16(1.0f) == 0x3f80);
  CHECK(io::float_to_bfloat16(1.0f + 0x1p-8f) == 0x3f80);       // tie → even
  CHECK(io::float_to_bfloat16(1.0f + 3 * 0x1p-8f) == 0x3f82);   // tie → even (upwards)
  CHECK(io::float_to_bfloat16(1.0f + 0x1p-8f + 0x1p-20f) == 0x3f81);
  CHECK(io::float_to_bfloat16(-2.0f) == 0xc000);
  CHECK(io::bfloat16_to_float(0x4049) == 3.140625f);
  CHECK(std::isnan(io::bfloat16_to_float(io::float_to_bfloat16(std::nanf("")))));

  CHECK(io::float_to_float16(1.0f) == 0x3c00);
  CHECK(io::float_to_float16(-2.0f) == 0xc000);
  CHECK(io::float_to_float16(0.1f) == 0x2e66);
  CHECK(io::float_to_float16(65504.0f) == 0x7bff);
  CHECK(io::float_to_float16(65519.0f) == 0x7bff);
  CHECK(io::float_to_float16(65520.0f) == 0x7c00);  // halfway to 2^16 rounds to infinity
  CHECK(io::float_to_float16(0x1p-24f) == 0x0001);  // smallest subnormal
  CHECK(io::float_to_float16(0x1p-25f) == 0x0000);  // tie → even (zero)
  CHECK(io::float_to_float16(1.5f * 0x1p-25f) == 0x0001);
  CHECK(io::float_to_float16(3 * 0x1p-25f) == 0x0002);  // 1.5 quanta: tie → even (2)
  CHECK(io::float_to_float16(0x1p-14f) == 0x0400);  // smallest normal
  CHECK(io::float16_to_float(0x0001) == 0x1p-24f);
  CHECK(io::float16_to_float(0x3555) == 0.333251953125f);
  CHECK(io::float16_to_float(0xfc00) == -std::numeric_limits<float>::infinity());
  // Every float16 value survives float16 → float → float16.
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto half = static_cast<std::uint16_t>(bits);
    if ((half & 0x7c00) == 0x7c00 && (half & 0x3ff) != 0) continue;  // NaN payloads
    REQUIRE(io::float_to_float16(io::float16_to_float(half)) == half);
  }
}

TEST_CASE("tensors and metadata round-trip in F32, BF16 and F16") {
  const std::vector<float> matrix{1.0f, -2.5f, 0.125f, 3.0f, 1e-3f, -7.0f};
  const std::vector<float> vector{0.5f, 0.25f};
  const std::vector<io::tensor_to_save> tensors{{"b.matrix", {2, 3}, matrix}, {"a.vector", {2}, vector}, {"empty", {0, 4}, {}}};
  for (const auto dtype : {io::tensor_dtype::f32, io::tensor_dtype::bf16, io::tensor_dtype::f16}) {
    CAPTURE(io::dtype_name(dtype));
    const auto path = temporary_file("round_trip");
    io::save_safetensors(path, tensors, dtype, {{"format", "pt"}});
    CHECK(std::filesystem::file_size(path) % 2 == 0);
    const io::safetensors_file file(path);
    CHECK(file.metadata().at("format") == "pt");
    CHECK(file.tensors().size() == 3);
    CHECK(file.at("b.matrix").shape == std::vector<std::int64_t>{2, 3});
    CHECK(file.at("b.matrix").dtype == dtype);
    std::vector<float> read(6);
    file.read("b.matrix", read);
    const double tolerance = dtype == io::tensor_dtype::f32 ? 0.0 : dtype == io::tensor_dtype::bf16 ? 4e-3 : 1e-3;
    for (std::size_t i = 0; i < 6; ++i) CHECK(std::abs(read[i] - matrix[i]) <= tolerance * std::abs(matrix[i]));
    std::vector<float> wrong_size(5);
    CHECK_THROWS_WITH_AS(file.read("b.matrix", wrong_size), doctest::Contains("6 elements, expected 5"), rlft::io_error);
    CHECK_THROWS_WITH_AS(file.at("nope"), doctest::Contains("no tensor named 'nope'"), rlft::io_error);
    std::filesystem::remove(path);
  }
}

TEST_CASE("the writer refuses inconsistent tensors and keeps the previous file when it cannot write") {
  const std::vector<float> three{1, 2, 3};
  const auto path = temporary_file("writer");
  CHECK_THROWS_AS(io::save_safetensors(path, std::vector<io::tensor_to_save>{{"x", {2, 2}, three}}), rlft::error);
  CHECK_THROWS_AS(io::save_safetensors(path, std::vector<io::tensor_to_save>{{"x", {3}, three}, {"x", {3}, three}}),
                  rlft::error);
  io::save_safetensors(path, std::vector<io::tensor_to_save>{{"x", {3}, three}});
  std::filesystem::create_directory(path.string() + ".partial");  // the temporary file cannot be created
  const std::vector<float> other{9, 9, 9};
  CHECK_THROWS_AS(io::save_safetensors(path, std::vector<io::tensor_to_save>{{"x", {3}, other}}), rlft::io_error);
  std::vector<float> read(3);
  io::safetensors_file(path).read("x", read);
  CHECK(read == three);
  std::filesystem::remove(path.string() + ".partial");
  std::filesystem::remove(path);
}

TEST_CASE("malformed, truncated and oversized files are refused with a message naming the problem") {
  const std::string good_entry = R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  {
    const auto path = temporary_file("tiny");
    std::ofstream(path, std::ios::binary) << "abc";
    expect_refused(path, "fewer than the 8-byte header length");
  }
  expect_refused(raw_file("huge_header", "{}", 0, std::uint64_t{1} << 40), "above the limit");
  expect_refused(raw_file("header_past_end", "{}", 0, 4096), "is truncated: the header needs 4096 bytes");
  expect_refused(raw_file("not_json", "{\"x\": [1, 2", 0), "not valid JSON");
  expect_refused(raw_file("array", "[1, 2]", 0), "not a JSON object");
  expect_refused(raw_file("entry_not_object", R"({"x": 3})", 0), "entry is not an object");
  expect_refused(raw_file("no_dtype", R"({"x":{"shape":[2],"data_offsets":[0,8]}})", 8), "without a dtype");
  expect_refused(raw_file("unknown_dtype", R"({"x":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", 2),
                 "unknown dtype 'F8_E4M3'");
  expect_refused(raw_file("negative_shape", R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
                 "not a non-negative integer");
  expect_refused(raw_file("fractional_shape", R"({"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}})", 8),
                 "not a non-negative integer");
  expect_refused(raw_file("no_offsets", R"({"x":{"dtype":"F32","shape":[2]}})", 8), "without data_offsets");
  expect_refused(raw_file("reversed_offsets", R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8),
                 "begin (8) after they end (0)");
  expect_refused(raw_file("past_data", "{" + good_entry + "}", 4), "ends at byte 8 of a data section of 4 bytes");
  expect_refused(raw_file("size_mismatch", R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 12),
                 "do not match its shape");
  expect_refused(raw_file("shape_overflow",
                          R"({"x":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,0]}})", 0),
                 "do not match its shape");
  expect_refused(raw_file("overlap", R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                     R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
                 "overlap");
  expect_refused(raw_file("deep", std::string(100000, '[') + std::string(100000, ']'), 0), "nested deeper");
  expect_refused(raw_file("bad_metadata", R"({"__metadata__":{"format":3}})", 0), "is not a string");
  expect_refused(temporary_file("does_not_exist"), "cannot be opened");

  // Integer tensors are listed but not read as floating point.
  const auto path = raw_file("integers", R"({"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8);
  const io::safetensors_file file(path);
  std::vector<float> out(1);
  CHECK_THROWS_WITH_AS(file.read("x", out), doctest::Contains("does not read as floating point"), rlft::io_error);
  std::filesystem::remove(path);
}

TEST_CASE("random corruption of a valid file never crashes: it loads or fails with rlft::io_error") {
  const std::vector<float> values{1, 2, 3, 4, 5, 6};
  const auto original = temporary_file("fuzz_original");
  io::save_safetensors(original, std::vector<io::tensor_to_save>{{"weight", {2, 3}, values}, {"bias", {0}, {}}},
                       io::tensor_dtype::bf16, {{"format", "pt"}});
  std::ifstream in(original, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto mutated = temporary_file("fuzz");
  std::size_t refused = 0;
  for (std::uint32_t trial = 0; trial < 400; ++trial) {
    rlft::philox_stream rng(2026, trial);
    std::string copy = bytes;
    const std::uint32_t action = rng() % 3;
    if (action == 0) {
      copy.resize(rng() % copy.size());  // truncate anywhere
    } else {
      const std::uint32_t flips = 1 + rng() % 4;
      for (std::uint32_t f = 0; f < flips; ++f) {
        // Mostly the length prefix and header, where the structure lives.
        const std::size_t at = (action == 1 ? rng() % std::min<std::size_t>(copy.size(), 96) : rng() % copy.size());
        copy[at] = static_cast<char>(rng() & 0xff);
      }
    }
    std::ofstream(mutated, std::ios::binary | std::ios::trunc) << copy;
    try {
      const io::safetensors_file file(mutated);
      for (const auto& entry : file.tensors()) {
        std::vector<float> out(entry.num_elements());
        file.read(entry.name, out);
      }
    } catch (const rlft::io_error&) {
      ++refused;
    }
  }
  CHECK(refused > 100);
  std::filesystem::remove(mutated);
  std::filesystem::remove(original);
}

TEST_CASE("an open file keeps its tensors when replaced by a save and refuses reads once truncated in place") {
  const std::vector<float> first(1024, 1.5f);
  const std::vector<float> second(1024, -2.0f);
  const auto path = temporary_file("replaced");
  io::save_safetensors(path, std::vector<io::tensor_to_save>{{"w", {1024}, first}});
  const io::safetensors_file opened(path);
  // rlft saves by rename: the file opened before keeps its bytes.
  io::save_safetensors(path, std::vector<io::tensor_to_save>{{"w", {1024}, second}});
  std::vector<float> read(1024);
  opened.read("w", read);
  CHECK(read == first);
  const io::safetensors_file reopened(path);
  reopened.read("w", read);
  CHECK(read == second);
  // Truncated in place under an open reader: an error naming the tensor, never a fault.
  std::filesystem::resize_file(path, 100);
  CHECK_THROWS_WITH_AS(reopened.read("w", read), doctest::Contains("tensor 'w'"), rlft::io_error);
  std::filesystem::remove(path);
}
