// Reading CSV files as RFC 4180 defines them (https://www.rfc-editor.org/rfc/rfc4180): records
// end with a line break, fields are separated by commas, and a field in double quotes may hold
// commas, line breaks and quotes (a quote written twice, "", stands for one). A quote inside
// an unquoted field, or text after a closing quote, is malformed. Beyond the RFC, as the files
// met in practice need: a bare LF ends a record as CRLF does (a lone CR is data), a UTF-8
// byte-order mark before the first record is skipped, blank lines are skipped, and the
// delimiter may be another character (a tab for TSV). Records are read one at a time, so a
// file of any size needs only the memory of its longest record, which a ceiling bounds.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <ios>
#include <limits>
#include <streambuf>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rlft/core/error.hpp"

namespace rlft::data {

struct csv_options {
  char delimiter = ',';
  std::size_t max_record_bytes = std::numeric_limits<std::size_t>::max();  // quotes included
  std::size_t max_fields = std::numeric_limits<std::size_t>::max();
};

class csv_reader {
 public:
  // Throws rlft::io_error when the file cannot be opened, rlft::error for a delimiter that
  // cannot be one (a quote or a line break).
  explicit csv_reader(std::filesystem::path path, csv_options options = {})
      : path_(std::move(path)), options_(options), file_(path_, std::ios::binary) {
    if (options_.delimiter == '"' || options_.delimiter == '\n' || options_.delimiter == '\r')
      throw error("csv: option delimiter must not be a double quote or a line break");
    if (!file_) throw io_error(detail::make_message("cannot open ", path_.string()));
    guarded([&] { skip_byte_order_mark(); });
  }

  // Reads the next record into `fields`; false at the end of the file. Throws rlft::data_error
  // "path:line: ..." for a malformed record or one over a ceiling, and rlft::io_error when
  // reading fails.
  bool next(std::vector<std::string>& fields) {
    return guarded([&] { return read_record(fields); });
  }

  // The line the last record read starts on, numbered from 1.
  std::size_t line() const noexcept { return record_line_; }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  using traits = std::streambuf::traits_type;
  enum class field_end { delimiter, record_end };

  // libstdc++'s filebuf reports read errors by throwing (an istream would swallow them).
  template <class Read>
  std::invoke_result_t<Read&> guarded(Read&& read) {
    try {
      return read();
    } catch (const std::ios_base::failure&) {
      throw io_error(detail::make_message("error while reading ", path_.string()));
    }
  }

  std::streambuf& input() { return *file_.rdbuf(); }
  static bool is(traits::int_type c, char expected) { return traits::eq_int_type(c, traits::to_int_type(expected)); }
  static bool is_end(traits::int_type c) { return traits::eq_int_type(c, traits::eof()); }

  void skip_byte_order_mark() {
    char first[3] = {};
    if (input().sgetn(first, 3) != 3 || std::string_view(first, 3) != "\xEF\xBB\xBF") input().pubseekpos(0);
  }

  template <class... Parts>
  data_error malformed(std::size_t line, const Parts&... what) const {
    return data_error(detail::make_message(path_.string(), ":", line, ": ", what...));
  }

  void count_byte() {
    if (++record_bytes_ > options_.max_record_bytes)
      throw malformed(record_line_, "the record is longer than max_record_bytes = ", options_.max_record_bytes,
                      " bytes");
  }

  // True, consuming it, when `c` (already read) starts a line break: LF, or CR followed by LF.
  bool ends_line(traits::int_type c) {
    const bool crlf = is(c, '\r') && is(input().sgetc(), '\n');
    if (!crlf && !is(c, '\n')) return false;
    if (crlf) input().sbumpc();
    ++next_line_;
    return true;
  }

  bool read_record(std::vector<std::string>& fields) {
    do {
      fields.clear();
      if (is_end(input().sgetc())) return false;
      record_line_ = next_line_;
      record_bytes_ = 0;
      field_end end = field_end::delimiter;
      while (end == field_end::delimiter) {
        if (fields.size() == options_.max_fields)
          throw malformed(next_line_, "the record has more than max_fields = ", options_.max_fields, " fields");
        std::string& field = fields.emplace_back();
        end = is(input().sgetc(), '"') ? read_quoted_field(field) : read_unquoted_field(field);
      }
    } while (record_bytes_ == 0);  // a blank line holds no record
    return true;
  }

  field_end read_unquoted_field(std::string& field) {
    while (true) {
      const auto c = input().sbumpc();
      if (is_end(c) || ends_line(c)) return field_end::record_end;
      count_byte();
      if (is(c, options_.delimiter)) return field_end::delimiter;
      if (is(c, '"'))
        throw malformed(next_line_, "a double quote inside an unquoted field; quote the whole field and write the ",
                        "quote twice (RFC 4180)");
      field.push_back(traits::to_char_type(c));
    }
  }

  field_end read_quoted_field(std::string& field) {
    const std::size_t opened_on = next_line_;
    input().sbumpc();
    count_byte();
    while (true) {
      const auto c = input().sbumpc();
      if (is_end(c)) throw malformed(opened_on, "the quoted field that opens on this line is never closed");
      count_byte();
      if (is(c, '"')) {
        if (!is(input().sgetc(), '"')) break;  // the closing quote; "" stands for one quote
        input().sbumpc();
        count_byte();
      } else if (is(c, '\n')) {
        ++next_line_;
      }
      field.push_back(traits::to_char_type(c));
    }
    const auto after = input().sbumpc();
    if (is_end(after) || ends_line(after)) return field_end::record_end;
    count_byte();
    if (is(after, options_.delimiter)) return field_end::delimiter;
    throw malformed(next_line_, "text after a closing quote; a field is either wholly quoted or not at all");
  }

  std::filesystem::path path_;
  csv_options options_;
  std::ifstream file_;
  std::size_t next_line_ = 1;     // the line the next byte is on
  std::size_t record_line_ = 0;   // the line the last record starts on
  std::size_t record_bytes_ = 0;  // of the record being read
};

}  // namespace rlft::data
