// JSON Lines (https://jsonlines.org): one JSON value per line, the format of rlft's data sets
// and metrics logs. Reading reports the file and line of the first malformed record; writing
// a whole file is atomic (rlft/io/atomic_file.hpp), and the appending writer flushes every
// record, so a log is complete up to the last finished step even if the run is killed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/io/atomic_file.hpp"

namespace rlft::io {

// Calls on_record(record, line_number) for every non-blank line (numbered from 1). Throws
// rlft::io_error when the file cannot be read, and rlft::data_error "path:line: ..." for a
// malformed record: a line that is not valid JSON, or on_record throwing rlft::error or a
// nlohmann::json exception (a missing or mistyped field).
template <class OnRecord>
void read_jsonl(const std::filesystem::path& path, OnRecord&& on_record) {
  std::ifstream file(path);
  if (!file) throw io_error(detail::make_message("cannot open ", path.string()));
  std::string line;
  for (std::size_t number = 1; std::getline(file, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      on_record(nlohmann::json::parse(line), number);
    } catch (const nlohmann::json::exception& e) {
      throw data_error(detail::make_message(path.string(), ":", number, ": ", e.what()));
    } catch (const io_error&) {
      throw;
    } catch (const error& e) {
      throw data_error(detail::make_message(path.string(), ":", number, ": ", e.what()));
    }
  }
  if (file.bad()) throw io_error(detail::make_message("error while reading ", path.string()));
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
