// JSON Lines (https://jsonlines.org): one JSON value per line, the format of rlft's data sets
// and metrics logs. Reading reports the file and line of the first malformed record and can
// bound what one line may hold; writing a whole file is atomic (rlft/io/atomic_file.hpp), and
// the appending writer flushes every record, so a log is complete up to the last finished step
// even if the run is killed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <ios>
#include <limits>
#include <span>
#include <streambuf>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/io/atomic_file.hpp"

namespace rlft::detail {

enum class line_status { read, end_of_file, too_long };

// Reads one line, without its '\n', into `line`; a line over max_bytes is left unread past the
// ceiling, so a file without line breaks never fills the memory. Read errors propagate as
// std::ios_base::failure (libstdc++'s filebuf throws them; an istream would swallow them).
inline line_status read_bounded_line(std::streambuf& input, std::string& line, std::size_t max_bytes) {
  using traits = std::streambuf::traits_type;
  line.clear();
  auto c = input.sbumpc();
  if (traits::eq_int_type(c, traits::eof())) return line_status::end_of_file;
  for (; !traits::eq_int_type(c, traits::eof()) && traits::to_char_type(c) != '\n'; c = input.sbumpc()) {
    if (line.size() == max_bytes) return line_status::too_long;
    line.push_back(traits::to_char_type(c));
  }
  return line_status::read;
}

// The deepest nesting of arrays and objects in JSON text, strings skipped; on malformed text a
// rough count (the parser reports the text itself).
inline std::size_t json_nesting_depth(std::string_view text) noexcept {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Field `name` of a record as a string: "" when absent and optional; an rlft::error naming the
// field when absent and required or not a string (read_jsonl adds the file and line).
inline std::string string_field(const nlohmann::json& record, const char* name, bool required) {
  const auto it = record.find(name);
  if (it == record.end()) {
    if (required) throw error(make_message("missing field \"", name, "\""));
    return {};
  }
  if (!it->is_string()) throw error(make_message("field \"", name, "\" is not a string"));
  return it->get<std::string>();
}

}  // namespace rlft::detail

namespace rlft::io {

// Ceilings on one line of a JSON Lines file, for files from elsewhere: a line over one is a
// malformed record. The defaults accept everything.
struct jsonl_limits {
  std::size_t max_line_bytes = std::numeric_limits<std::size_t>::max();
  // Nesting of arrays and objects: 1 for a flat object, 0 for a scalar.
  std::size_t max_depth = std::numeric_limits<std::size_t>::max();
};

// Calls on_record(record, line_number) for every non-blank line (numbered from 1). Throws
// rlft::io_error when the file cannot be read, and rlft::data_error "path:line: ..." for a
// malformed record: a line that is not valid JSON, a line over a ceiling of `limits`, or
// on_record throwing rlft::error or a nlohmann::json exception (a missing or mistyped field).
template <class OnRecord>
void read_jsonl(const std::filesystem::path& path, OnRecord&& on_record, const jsonl_limits& limits = {}) {
  std::ifstream file(path);
  if (!file) throw io_error(detail::make_message("cannot open ", path.string()));
  const auto malformed = [&](std::size_t number, const auto&... what) {
    return data_error(detail::make_message(path.string(), ":", number, ": ", what...));
  };
  std::string line;
  for (std::size_t number = 1;; ++number) {
    detail::line_status status;
    try {
      status = detail::read_bounded_line(*file.rdbuf(), line, limits.max_line_bytes);
    } catch (const std::ios_base::failure&) {
      throw io_error(detail::make_message("error while reading ", path.string()));
    }
    if (status == detail::line_status::end_of_file) break;
    if (status == detail::line_status::too_long)
      throw malformed(number, "the line is longer than max_line_bytes = ", limits.max_line_bytes, " bytes");
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (limits.max_depth != std::numeric_limits<std::size_t>::max() &&
        detail::json_nesting_depth(line) > limits.max_depth)
      throw malformed(number, "the record nests arrays and objects deeper than max_depth = ", limits.max_depth);
    try {
      on_record(nlohmann::json::parse(line), number);
    } catch (const nlohmann::json::exception& e) {
      throw malformed(number, e.what());
    } catch (const io_error&) {
      throw;
    } catch (const error& e) {
      throw malformed(number, e.what());
    }
  }
}

// Replaces `path` with one line per record, atomically.
inline void write_jsonl(const std::filesystem::path& path, std::span<const nlohmann::json> records) {
  std::string text;
  for (const auto& record : records) text += record.dump() + "\n";
  write_file_atomically(path, text);
}

// Appends records to a log, one line each, flushed at once.
class jsonl_appender {
 public:
  // append = false starts the file afresh. Throws rlft::io_error when it cannot be opened.
  explicit jsonl_appender(const std::filesystem::path& path, bool append = true)
      : path_(path), file_(path, append ? std::ios::app : std::ios::trunc) {
    if (!file_) throw io_error(detail::make_message("cannot open ", path.string(), " for writing"));
  }

  void write(const nlohmann::json& record) {
    file_ << record.dump() << '\n' << std::flush;
    if (!file_) throw io_error(detail::make_message("cannot write to ", path_.string()));
  }

 private:
  std::filesystem::path path_;
  std::ofstream file_;
};

}  // namespace rlft::io
