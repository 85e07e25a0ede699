// CSV reading (RFC 4180): quoted fields holding delimiters, quotes and line breaks, CRLF and
// LF endings, the byte-order mark, blank lines, line numbers of records that span lines, and
// every malformed case and ceiling with its file:line.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "data/scratch_files.hpp"
#include "rlft/data/csv.hpp"

using rlft::data::csv_options;
using rlft::data::csv_reader;
using rlft::testing::scratch_file;
using rows = std::vector<std::vector<std::string>>;

namespace {

struct read_result {
  rows records;
  std::vector<std::size_t> lines;
};

read_result read_all(const std::string& name, const std::string& text, csv_options options = {}) {
  csv_reader reader(scratch_file(name, text), options);
  read_result result;
  std::vector<std::string> fields;
  while (reader.next(fields)) {
    result.records.push_back(fields);
    result.lines.push_back(reader.line());
  }
  return result;
}

}  // namespace

TEST_CASE("csv: plain records, with and without a final line break") {
  CHECK(read_all("plain.csv", "a,b,c\n1,2,3\n").records == rows{{"a", "b", "c"}, {"1", "2", "3"}});
  CHECK(read_all("no_final_break.csv", "a,b\n1,2").records == rows{{"a", "b"}, {"1", "2"}});
  CHECK(read_all("crlf.csv", "a,b\r\n1,2\r\n").records == rows{{"a", "b"}, {"1", "2"}});
  CHECK(read_all("empty.csv", "").records.empty());
}

TEST_CASE("csv: empty fields and spaces are kept as written") {
  CHECK(read_all("empty_fields.csv", "a,,c\n,\n").records == rows{{"a", "", "c"}, {"", ""}});
  CHECK(read_all("trailing_delimiter.csv", "a,b,\n").records == rows{{"a", "b", ""}});
  CHECK(read_all("spaces.csv", " a , b \n").records == rows{{" a ", " b "}});
  CHECK(read_all("empty_quoted.csv", "\"\"\n").records == rows{{""}});
}

TEST_CASE("csv: quoted fields hold delimiters, doubled quotes and line breaks") {
  const auto result = read_all("quoted.csv",
                               "question,answer\n"
                               "\"Add 1,000 and 2\",\"1,002\"\n"
                               "\"She said \"\"hi\"\"\",\"\"\"\"\n"
                               "\"two\nlines\",\"crlf\r\ninside\"\r\n"
                               "last,one\n");
  CHECK(result.records == rows{{"question", "answer"},
                               {"Add 1,000 and 2", "1,002"},
                               {"She said \"hi\"", "\""},
                               {"two\nlines", "crlf\r\ninside"},
                               {"last", "one"}});
  // A record starts on the line of its first byte; line breaks inside quotes still count.
  CHECK(result.lines == std::vector<std::size_t>{1, 2, 3, 4, 7});
}

TEST_CASE("csv: a lone carriage return is data, blank lines are skipped, a BOM is dropped") {
  CHECK(read_all("lone_cr.csv", "a\rb,c\n").records == rows{{"a\rb", "c"}});
  const auto blank = read_all("blank_lines.csv", "a,b\n\n1,2\r\n\r\n\n3,4\n\n");
  CHECK(blank.records == rows{{"a", "b"}, {"1", "2"}, {"3", "4"}});
  CHECK(blank.lines == std::vector<std::size_t>{1, 3, 6});
  CHECK(read_all("bom.csv", "\xEF\xBB\xBFprompt,reference\nx,y\n").records ==
        rows{{"prompt", "reference"}, {"x", "y"}});
  CHECK(read_all("short.csv", "a").records == rows{{"a"}});  // shorter than a BOM
}

TEST_CASE("csv: another delimiter") {
  CHECK(read_all("tabs.tsv", "a\tb,c\n\"x\ty\"\tz\n", {.delimiter = '\t'}).records ==
        rows{{"a", "b,c"}, {"x\ty", "z"}});
  CHECK_THROWS_AS(csv_reader(scratch_file("quote_delimiter.csv", ""), {.delimiter = '"'}), rlft::error);
}

TEST_CASE("csv: malformed records name the file and the line") {
  using doctest::Contains;
  CHECK_THROWS_WITH_AS(read_all("quote_inside.csv", "a,b\nx,y\"z\n"),
                       Contains("quote_inside.csv:2: a double quote inside an unquoted field"), rlft::data_error);
  CHECK_THROWS_WITH_AS(read_all("after_quote.csv", "a,b\n\"x\nx\"y,z\n"),
                       Contains("after_quote.csv:3: text after a closing quote"), rlft::data_error);
  CHECK_THROWS_WITH_AS(read_all("unclosed.csv", "a,b\n1,2\n3,\"never\nclosed\n"),
                       Contains("unclosed.csv:3: the quoted field that opens on this line is never closed"),
                       rlft::data_error);
}

TEST_CASE("csv: ceilings on the record size and the field count") {
  using doctest::Contains;
  const std::string long_field(100, 'x');
  CHECK(read_all("at_ceiling.csv", "ab,c\n", {.max_record_bytes = 4}).records == rows{{"ab", "c"}});
  CHECK_THROWS_WITH_AS(read_all("record_bytes.csv", "a\n" + long_field + "\n", {.max_record_bytes = 10}),
                       Contains("record_bytes.csv:2: the record is longer than max_record_bytes = 10 bytes"),
                       rlft::data_error);
  // A quoted field never closed does not read the whole file before failing.
  CHECK_THROWS_WITH_AS(read_all("record_bytes_quoted.csv", "\"" + long_field, {.max_record_bytes = 10}),
                       Contains("record_bytes_quoted.csv:1: the record is longer"), rlft::data_error);
  CHECK(read_all("at_field_ceiling.csv", "a,b,c\n", {.max_fields = 3}).records == rows{{"a", "b", "c"}});
  CHECK_THROWS_WITH_AS(read_all("fields.csv", "a,b\n1,2,3\n", {.max_fields = 2}),
                       Contains("fields.csv:2: the record has more than max_fields = 2 fields"), rlft::data_error);
}

TEST_CASE("csv: a file that cannot be read is an io_error") {
  CHECK_THROWS_WITH_AS(csv_reader(rlft::testing::scratch_directory() / "no_such_file.csv"),
                       doctest::Contains("cannot open"), rlft::io_error);
  CHECK_THROWS_WITH_AS(csv_reader(rlft::testing::scratch_directory()), doctest::Contains("error while reading"),
                       rlft::io_error);
}
