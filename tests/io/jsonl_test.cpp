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
