// Preference data in JSON Lines: TRL's explicit- and implicit-prompt layouts, margins, and
// malformed lines named by file and line.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "error_message.hpp"
#include "rlft/io/preference_pairs.hpp"

namespace {

struct preference_file {
  std::filesystem::path path = std::filesystem::temp_directory_path() / "rlft_preference_pairs_test.jsonl";
  explicit preference_file(const std::string& text) { std::ofstream(path) << text; }
  ~preference_file() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("preference pairs: both layouts and the margin read; written pairs read back unchanged") {
  const preference_file file(
      "{\"prompt\": \"2+2?\", \"chosen\": \"4\", \"rejected\": \"5\"}\n"
      "\n"
      "{\"chosen\": \"Q: hi A: hello\", \"rejected\": \"Q: hi A: go away\", \"margin\": 1.5}\n");
  const auto pairs = rlft::io::read_preference_examples(file.path);
  REQUIRE(pairs.size() == 2);
  CHECK(pairs[0] == rlft::preference_example{.prompt = "2+2?", .chosen = "4", .rejected = "5"});
  CHECK(pairs[1] == rlft::preference_example{.chosen = "Q: hi A: hello", .rejected = "Q: hi A: go away", .margin = 1.5f});

  const preference_file copy("");
  rlft::io::write_preference_examples(copy.path, pairs);
  CHECK(rlft::io::read_preference_examples(copy.path) == pairs);
}

TEST_CASE("preference pairs: malformed lines are data errors naming the file and line") {
  const auto message_for = [](const std::string& text) {
    const preference_file file(text);
    return rlft::testing::error_message([&] { rlft::io::read_preference_examples(file.path); })
        .substr(file.path.string().size());
  };
  CHECK(message_for("{\"chosen\": \"a\"}\n") == ":1: missing field \"rejected\"");
  CHECK(message_for("{\"chosen\": \"a\", \"rejected\": \"b\"}\n{\"chosen\": 1, \"rejected\": \"b\"}\n") ==
        ":2: field \"chosen\" is not a string");
  CHECK(message_for("{\"chosen\": \"a\", \"rejected\": \"b\", \"margin\": \"big\"}\n") ==
        ":1: field \"margin\" is not a finite number");
  CHECK(message_for("[1, 2]\n") == ":1: expected an object with \"chosen\" and \"rejected\"");
  const preference_file broken("{\"chosen\": \n");
  CHECK_THROWS_AS(rlft::io::read_preference_examples(broken.path), rlft::data_error);
}
