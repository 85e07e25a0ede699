// Reading data set files into records: field mapping for JSON Lines and CSV, the fields kept as
// JSON, reference extraction, and every error in its tier — io_error for a file that cannot be
// read, data_error "file:line" for a malformed record or one over a ceiling, rlft::error for
// an option that names a field no record has.
#include <doctest/doctest.h>

#include <string>

#include "data/scratch_files.hpp"
#include "error_message.hpp"
#include "rlft/data/read_data_file.hpp"

using namespace rlft::data;
using doctest::Contains;
using rlft::testing::scratch_file;

namespace {

const data_file_options gsm8k{.fields = {.prompt = "question", .reference = "answer"},
                              .reference = reference_style::gsm8k};

// Which tier an error belongs to, most derived first.
template <class Call>
std::string tier_of(Call&& call) {
  try {
    call();
  } catch (const rlft::io_error&) {
    return "io_error";
  } catch (const rlft::data_error&) {
    return "data_error";
  } catch (const rlft::error&) {
    return "error";
  }
  return "none";
}

}  // namespace

TEST_CASE("JSON Lines: GSM8K fields mapped, every field kept as JSON") {
  const auto path =
      scratch_file("gsm8k.jsonl",
                   "{\"question\": \"How many?\", \"answer\": \"2 + 3 = <<2+3=5>>5\\n#### 5\", \"level\": 2}\n"
                   "\n"
                   "{\"question\": \"Big?\", \"answer\": \"#### 1,200\", \"tags\": [\"a\", {\"b\": 1}]}\r\n");
  const auto records = read_data_file(path, gsm8k);
  REQUIRE(records.size() == 2);
  CHECK(records[0].prompt == "How many?");
  CHECK(records[0].reference == "5");
  CHECK(records[0].system_prompt.empty());
  CHECK(records[0].fields.at("level") == 2);
  CHECK(records[0].fields.at("answer") == "2 + 3 = <<2+3=5>>5\n#### 5");  // the worked solution, for SFT
  CHECK(records[0].line == 1);
  CHECK(records[0].location() == path.string() + ":1");
  CHECK(records[1].reference == "1200");
  CHECK(records[1].line == 3);
  CHECK(records[1].fields.at("tags").at(1).at("b") == 1);

  // Unicode as written, and a byte-order mark (some editors write one) before the first record.
  const auto bom = scratch_file("bom.jsonl",
                                "\xEF\xBB\xBF{\"question\": \"Wie viele \u00c4pfel? 3 \u20ac\", "
                                "\"answer\": \"#### 3\"}\n");
  CHECK(read_data_file(bom, gsm8k).at(0).prompt == "Wie viele \u00c4pfel? 3 \u20ac");
}

TEST_CASE("JSON Lines: system prompts are optional record by record, and numbers are text") {
  const auto path =
      scratch_file("system.jsonl",
                   "{\"problem\": \"p1\", \"solution\": \"so $\\\\boxed{\\\\frac{1}{2}}$\", \"sys\": \"Be brief.\"}\n"
                   "{\"problem\": \"p2\", \"solution\": \"\\\\boxed{3}\", \"sys\": null}\n"
                   "{\"problem\": \"p3\", \"solution\": \"\\\\boxed{4}\"}\n");
  const auto records =
      read_data_file(path, {.fields = {.prompt = "problem", .reference = "solution", .system_prompt = "sys"},
                            .reference = reference_style::math_boxed});
  REQUIRE(records.size() == 3);
  CHECK(records[0].reference == "\\frac{1}{2}");
  CHECK(records[0].system_prompt == "Be brief.");
  CHECK(records[1].system_prompt.empty());
  CHECK(records[2].system_prompt.empty());

  const auto numbers = scratch_file("numbers.jsonl", "{\"q\": \"one\", \"a\": 42}\n{\"q\": \"two\", \"a\": -0.5}\n");
  const auto numeric =
      read_data_file(numbers, {.fields = {.prompt = "q", .reference = "a"}, .reference = reference_style::gsm8k});
  CHECK(numeric[0].reference == "42");  // a number is the answer itself, whatever the style
  CHECK(numeric[1].reference == "-0.5");

  const auto no_reference = read_data_file(numbers, {.fields = {.prompt = "q", .reference = ""}});
  CHECK(no_reference[0].reference.empty());
}

TEST_CASE("CSV: the header names the fields, and quoted fields keep commas, quotes and line breaks") {
  const auto path =
      scratch_file("gsm8k.csv",
                   "id,question,answer\r\n"
                   "7,\"Ann has 1,000 beads, \"\"tiny\"\" ones.\",\"Half: 1000/2 = <<1000/2=500>>500\n#### 500\"\r\n"
                   "8,Plain?,#### -3\r\n");
  const auto records = read_data_file(path, gsm8k);
  REQUIRE(records.size() == 2);
  CHECK(records[0].prompt == "Ann has 1,000 beads, \"tiny\" ones.");
  CHECK(records[0].reference == "500");
  CHECK(records[0].fields.at("id") == "7");  // CSV has no types: every field is a string
  CHECK(records[1].line == 4);
  CHECK(records[1].reference == "-3");

  const auto tabs = scratch_file("tabs.data", "prompt\treference\nx, y\t1\n");
  const auto tab_records = read_data_file(tabs, {.format = data_file_format::csv, .csv_delimiter = '\t'});
  CHECK(tab_records.at(0).prompt == "x, y");
}

TEST_CASE("malformed records are data errors naming the file and line") {
  const auto read = [](const std::string& name, const std::string& text, const data_file_options& options = gsm8k) {
    return read_data_file(scratch_file(name, text), options);
  };
  const std::string good = "{\"question\": \"q\", \"answer\": \"#### 1\"}\n";
  CHECK_THROWS_WITH_AS(read("not_json.jsonl", good + "{\"question\": \"q\", \"answer\": \n"),
                       Contains("not_json.jsonl:2: [json.exception.parse_error"), rlft::data_error);
  CHECK_THROWS_WITH_AS(read("array.jsonl", good + good + "[1, 2]\n"),
                       Contains("array.jsonl:3: expected a JSON object, not array"), rlft::data_error);
  CHECK_THROWS_WITH_AS(read("prompt_type.jsonl", "{\"question\": [1], \"answer\": \"#### 1\"}\n"),
                       Contains("prompt_type.jsonl:1: field \"question\" is array, not text"), rlft::data_error);
  CHECK_THROWS_WITH_AS(read("no_marker.jsonl", good + "{\"question\": \"q\", \"answer\": \"just 5\"}\n"),
                       Contains("no_marker.jsonl:2: field \"answer\" holds no final answer (a GSM8K solution ends "
                                "with a line \"#### <answer>\")"),
                       rlft::data_error);
  CHECK_THROWS_WITH_AS(read("no_box.jsonl", "{\"question\": \"q\", \"answer\": \"5\"}\n",
                            {.fields = gsm8k.fields, .reference = reference_style::math_boxed}),
                       Contains("no_box.jsonl:1: field \"answer\" holds no final answer (a MATH solution holds a "
                                "\\boxed{<answer>})"),
                       rlft::data_error);
  // A field other records have: the first record without it is the malformed one.
  CHECK_THROWS_WITH_AS(
      read("missing_field.jsonl", good + "{\"question\": \"q\"}\n" + good + "{\"answer\": \"#### 2\"}\n"),
      Contains("missing_field.jsonl:2: missing field \"answer\""), rlft::data_error);
  CHECK_THROWS_WITH_AS(read("missing_first.jsonl", "{\"answer\": \"#### 2\"}\n" + good),
                       Contains("missing_first.jsonl:1: missing field \"question\""), rlft::data_error);
  CHECK_THROWS_WITH_AS(read("empty.jsonl", "\n  \n"), Contains("empty.jsonl: no records"), rlft::data_error);
  CHECK_THROWS_WITH_AS(read("csv_fields.csv", "question,answer\nq,#### 1\nq,#### 2,extra\n"),
                       Contains("csv_fields.csv:3: 3 fields where the header has 2"), rlft::data_error);
  CHECK_THROWS_WITH_AS(read("csv_quote.csv", "question,answer\nq,#### 1\nq\"x,#### 2\n"),
                       Contains("csv_quote.csv:3: a double quote inside an unquoted field"), rlft::data_error);
  CHECK_THROWS_WITH_AS(read("csv_no_marker.csv", "question,answer\nq,#### 1\n\"multi\nline\",none\n"),
                       Contains("csv_no_marker.csv:3: field \"answer\" holds no final answer"), rlft::data_error);
  CHECK_THROWS_WITH_AS(read("csv_twice.csv", "question,answer,question\n"),
                       Contains("csv_twice.csv:1: the header names \"question\" twice"), rlft::data_error);
  CHECK_THROWS_WITH_AS(read("csv_empty.csv", ""), Contains("csv_empty.csv: no header line"), rlft::data_error);
}

TEST_CASE("a field no record has is an option error naming the field") {
  const auto jsonl = scratch_file("wrong_field.jsonl",
                                  "{\"problem\": \"p\", \"solution\": \"\\\\boxed{1}\"}\n"
                                  "{\"problem\": \"q\", \"solution\": \"\\\\boxed{2}\"}\n");
  CHECK(tier_of([&] { read_data_file(jsonl, gsm8k); }) == "error");
  CHECK(rlft::testing::error_message([&] { read_data_file(jsonl, gsm8k); }) ==
        "data file " + jsonl.string() +
            ": no record has the field \"question\" (option fields.prompt); the first record has \"problem\", "
            "\"solution\"");
  const data_file_options wrong_system{
      .fields = {.prompt = "problem", .reference = "solution", .system_prompt = "system"},
      .reference = reference_style::math_boxed};
  CHECK(rlft::testing::error_message([&] {
          read_data_file(jsonl, wrong_system);
        }).find("no record has the field \"system\" (option fields.system_prompt)") != std::string::npos);

  const auto csv = scratch_file("wrong_field.csv", "problem,solution\np,\\boxed{1}\n");
  CHECK(tier_of([&] { read_data_file(csv, gsm8k); }) == "error");
  CHECK(rlft::testing::error_message([&] { read_data_file(csv, gsm8k); }) ==
        "data file " + csv.string() +
            ": the header has no field \"question\" (option fields.prompt); it has \"problem\", \"solution\"");

  CHECK(tier_of([&] { read_data_file(jsonl, {.fields = {.prompt = ""}}); }) == "error");
  CHECK(tier_of([&] { read_data_file(scratch_file("format.parquet", "PAR1"), gsm8k); }) == "error");
  CHECK(rlft::testing::error_message([&] {
          read_data_file(jsonl, {.limits = {.max_records = 0}});
        }).find("limits.max_records = 0 is out of range") != std::string::npos);
}

TEST_CASE("a file that cannot be read is an io_error") {
  const auto missing = rlft::testing::scratch_directory() / "missing.jsonl";
  CHECK(tier_of([&] { read_data_file(missing, gsm8k); }) == "io_error");
  CHECK(tier_of([&] { read_data_file(rlft::testing::scratch_directory() / "missing.csv", gsm8k); }) == "io_error");
  CHECK(tier_of([&] { read_data_file(rlft::testing::scratch_directory(), {.format = data_file_format::jsonl}); }) ==
        "io_error");
}

TEST_CASE("ceilings: record size, record count and nesting depth") {
  const std::string record = "{\"question\": \"q\", \"answer\": \"#### 1\"}";  // 37 bytes
  const auto two = scratch_file("two.jsonl", record + "\n" + record + "\n");
  CHECK(read_data_file(two, {.fields = gsm8k.fields,
                             .reference = gsm8k.reference,
                             .limits = {.max_record_bytes = record.size(), .max_records = 2}})
            .size() == 2);

  auto options = gsm8k;
  options.limits.max_records = 1;
  CHECK(tier_of([&] { read_data_file(two, options); }) == "data_error");
  CHECK(rlft::testing::error_message([&] { read_data_file(two, options); }) ==
        two.string() + ":2: more than max_records = 1 records");

  options = gsm8k;
  options.limits.max_record_bytes = 20;
  CHECK(rlft::testing::error_message([&] { read_data_file(two, options); }) ==
        two.string() + ":1: the line is longer than max_line_bytes = 20 bytes");
  const auto two_csv = scratch_file("two.csv", "question,answer\nq,#### 1\n\"" + std::string(30, 'x') + "\",#### 2\n");
  CHECK(rlft::testing::error_message([&] { read_data_file(two_csv, options); }) ==
        two_csv.string() + ":3: the record is longer than max_record_bytes = 20 bytes");

  const auto deep =
      scratch_file("deep.jsonl", record + "\n{\"question\": \"q\", \"answer\": \"#### 1\", \"x\": [[[\"[[[[\"]]]}\n");
  options = gsm8k;
  options.limits.max_depth = 4;
  CHECK(read_data_file(deep, options).size() == 2);  // brackets inside strings do not nest
  options.limits.max_depth = 3;
  CHECK(tier_of([&] { read_data_file(deep, options); }) == "data_error");
  CHECK(rlft::testing::error_message([&] { read_data_file(deep, options); }) ==
        deep.string() + ":2: the record nests arrays and objects deeper than max_depth = 3");

  options = gsm8k;
  options.limits.max_fields = 2;
  const auto wide = scratch_file("wide.csv", "question,answer,id\n");
  CHECK(rlft::testing::error_message([&] { read_data_file(wide, options); }) ==
        wide.string() + ":1: the record has more than max_fields = 2 fields");
}
