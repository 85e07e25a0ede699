#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "rlft/io/jsonl.hpp"
#include "rlft/io/text_examples.hpp"

namespace {

std::filesystem::path scratch(const char* name) {
  const auto directory = std::filesystem::temp_directory_path() / "rlft_jsonl_test";
  std::filesystem::create_directories(directory);
  return directory / name;
}

void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("text examples round-trip through JSON Lines, Unicode and all") {
  const std::vector<rlft::text_example> examples{{"12+7\n", "<think>7+2=9</think><answer>19</answer>", "19"},
                                                 {"問題", "答え \"quoted\"\n", ""}};
  const auto path = scratch("round_trip.jsonl");
  rlft::io::write_text_examples(path, examples);
  CHECK(rlft::io::read_text_examples(path) == examples);
}

TEST_CASE("malformed JSON Lines name the file and line") {
  using doctest::Contains;
  const auto path = scratch("broken.jsonl");
  write_text(path, "{\"prompt\": \"a\", \"completion\": \"b\"}\n\n{\"prompt\": \"a\", \"completion\": \n");
  CHECK_THROWS_WITH_AS(rlft::io::read_text_examples(path), Contains("broken.jsonl:3:"), rlft::data_error);
  write_text(path, "{\"prompt\": \"a\"}\n");
  CHECK_THROWS_WITH_AS(rlft::io::read_text_examples(path), Contains(":1: missing field \"completion\""), rlft::data_error);
  write_text(path, "{\"prompt\": \"a\", \"completion\": 3}\n");
  CHECK_THROWS_WITH_AS(rlft::io::read_text_examples(path), Contains("\"completion\" is not a string"), rlft::data_error);
  write_text(path, "[1, 2]\n");
  CHECK_THROWS_WITH_AS(rlft::io::read_text_examples(path), Contains("expected an object"), rlft::data_error);
  CHECK_THROWS_WITH_AS(rlft::io::read_text_examples(scratch("missing.jsonl")), Contains("cannot open"), rlft::io_error);
}

TEST_CASE("the appender adds one flushed line per record") {
  const auto path = scratch("log.jsonl");
  {
    rlft::io::jsonl_appender log(path, false);
    log.write({{"step", 1}});
    log.write({{"step", 2}});
  }
  rlft::io::jsonl_appender(path).write({{"step", 3}});
  std::vector<int> steps;
  rlft::io::read_jsonl(path, [&](const nlohmann::json& record, std::size_t line) {
    steps.push_back(record.at("step").get<int>());
    CHECK(line == steps.size());
  });
  CHECK(steps == std::vector<int>{1, 2, 3});
}

TEST_CASE("read_jsonl bounds the bytes of a line and the nesting of a record") {
  using doctest::Contains;
  const auto path = scratch("limits.jsonl");
  write_text(path, "[1, 2]\n{\"a\": [[\"]]]]\"]]}\n");  // 6 bytes, then 17 bytes nested 3 deep
  const auto count = [&](const rlft::io::jsonl_limits& limits) {
    std::size_t records = 0;
    rlft::io::read_jsonl(path, [&](const nlohmann::json&, std::size_t) { ++records; }, limits);
    return records;
  };
  CHECK(count({}) == 2);
  CHECK(count({.max_line_bytes = 17, .max_depth = 3}) == 2);
  CHECK_THROWS_WITH_AS(count({.max_line_bytes = 16}),
                       Contains("limits.jsonl:2: the line is longer than max_line_bytes = 16 bytes"), rlft::data_error);
  CHECK_THROWS_WITH_AS(count({.max_depth = 2}),
                       Contains("limits.jsonl:2: the record nests arrays and objects deeper than max_depth = 2"),
                       rlft::data_error);
  // A file without line breaks is not read whole before the ceiling stops it.
  write_text(path, std::string(1 << 20, ' '));
  CHECK_THROWS_WITH_AS(count({.max_line_bytes = 100}), Contains("limits.jsonl:1: the line is longer"),
                       rlft::data_error);
}

TEST_CASE("read_jsonl reports a read failure as an io_error") {
  const auto directory = scratch("a_directory");
  std::filesystem::create_directories(directory);
  CHECK_THROWS_WITH_AS(rlft::io::read_jsonl(directory, [](const nlohmann::json&, std::size_t) {}),
                       doctest::Contains("error while reading"), rlft::io_error);
}
