// Reading a data set file — JSON Lines (rlft/io/jsonl.hpp) or CSV (rlft/data/csv.hpp) — into
// records, with the field names the data set uses:
//     GSM8K:  {.fields = {.prompt = "question", .reference = "answer"},
//              .reference = reference_style::gsm8k}
//     MATH:   {.fields = {.prompt = "problem", .reference = "solution"},
//              .reference = reference_style::math_boxed}
// Errors follow rlft's tiers: a file that cannot be read is rlft::io_error; a malformed record,
// or one over a ceiling of read_limits, is rlft::data_error "path:line: ..."; an option that
// does not fit the file — a field name that no record has — is rlft::error naming the field.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/data/csv.hpp"
#include "rlft/data/data_record.hpp"
#include "rlft/data/reference_answer.hpp"
#include "rlft/io/jsonl.hpp"

namespace rlft::data {

enum class data_file_format {
  from_extension,  // .jsonl or .ndjson: JSON Lines; .csv: CSV
  jsonl,
  csv,
};

// The fields of a record that hold the prompt, the reference and the system prompt. An empty
// name is a field the data set does not have: no reference gives empty references (a reward
// that needs none), no system prompt gives empty system prompts.
struct field_names {
  std::string prompt = "prompt";
  std::string reference = "reference";
  std::string system_prompt = {};
};

// Ceilings on what a file may hold, so that a wrong path (a corpus, a binary) fails at once
// with a message naming the ceiling instead of filling the memory.
struct read_limits {
  std::size_t max_record_bytes = std::size_t{1} << 20;  // a JSON line or a CSV record
  std::size_t max_records = 4'000'000;                  // above the large open maths sets (NuminaMath: ~0.9M)
  std::size_t max_depth = 32;                           // nesting of JSON arrays and objects (1: a flat object)
  std::size_t max_fields = 1024;                        // of a CSV record
};

struct data_file_options {
  field_names fields = {};
  reference_style reference = reference_style::verbatim;
  data_file_format format = data_file_format::from_extension;
  char csv_delimiter = ',';
  read_limits limits = {};
};

}  // namespace rlft::data

namespace rlft::detail {

// "a", "b", "c": the fields there are, for a message about one that is not.
inline std::string quoted_field_names(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "\"" : ", \"") + name + "\"";
  return list.empty() ? "no fields" : list;
}

// Turns JSON objects into records. A mapped field that a record lacks is only reported once the
// whole file is read: when no record has it, the option names a wrong field (rlft::error);
// when others have it, the first record without it is malformed (rlft::data_error).
class data_record_mapper {
 public:
  data_record_mapper(const std::filesystem::path& path, const data::data_file_options& options)
      : path_(path.string()), options_(options) {
    if (options.fields.prompt.empty())
      throw error("data file options: fields.prompt is empty; a record needs a prompt");
    const data::read_limits& limits = options.limits;
    check_option(limits.max_record_bytes >= 1, "data file options", "limits.max_record_bytes",
                 static_cast<double>(limits.max_record_bytes), ">= 1");
    check_option(limits.max_records >= 1, "data file options", "limits.max_records",
                 static_cast<double>(limits.max_records), ">= 1");
    check_option(limits.max_depth >= 1, "data file options", "limits.max_depth", static_cast<double>(limits.max_depth),
                 ">= 1: a record is an object");
    check_option(limits.max_fields >= 1, "data file options", "limits.max_fields",
                 static_cast<double>(limits.max_fields), ">= 1");
  }

  // Adds the record on `line`; throws rlft::error for a malformed one (the caller adds the file
  // and line).
  void add(nlohmann::json record, std::size_t line) {
    if (!record.is_object()) throw error(make_message("expected a JSON object, not ", record.type_name()));
    if (records_read_ == options_.limits.max_records)
      throw error(make_message("more than max_records = ", options_.limits.max_records, " records"));
    ++records_read_;
    if (records_read_ == 1)
      for (const auto& item : record.items()) first_record_fields_.push_back(item.key());
    const data::field_names& names = options_.fields;
    auto prompt = required_text(record, names.prompt, prompt_, line);
    if (!prompt) return;
    data::data_record mapped{.prompt = std::move(*prompt), .file = path_, .line = line};
    if (!names.reference.empty()) {
      const auto reference = required_text(record, names.reference, reference_, line);
      if (!reference) return;
      // Extraction reads text; a number (some data sets store answers as numbers) is the answer.
      auto answer =
          record.at(names.reference).is_string() ? data::extract_reference(*reference, options_.reference) : reference;
      if (!answer)
        throw error(make_message("field \"", names.reference, "\" holds no final answer (",
                                 options_.reference == data::reference_style::gsm8k
                                     ? "a GSM8K solution ends with a line \"#### <answer>\""
                                     : "a MATH solution holds a \\boxed{<answer>}",
                                 ")"));
      mapped.reference = std::move(*answer);
    }
    if (!names.system_prompt.empty()) {
      // Optional record by record: a data set may give some prompts a system prompt.
      const auto found = record.find(names.system_prompt);
      if (found != record.end() && !found->is_null()) {
        system_prompt_.seen = true;
        mapped.system_prompt = text_of(*found, names.system_prompt);
      }
    }
    mapped.fields = std::move(record);
    records_.push_back(std::move(mapped));
  }

  // The records read; throws for a mapped field that no record has (rlft::error), for a record
  // without one that others have (rlft::data_error) and for a file without records.
  std::vector<data::data_record> finish() && {
    if (records_read_ == 0) throw data_error(make_message(path_, ": no records"));
    const data::field_names& names = options_.fields;
    check_some_record_has(names.prompt, prompt_, "fields.prompt");
    check_some_record_has(names.reference, reference_, "fields.reference");
    check_some_record_has(names.system_prompt, system_prompt_, "fields.system_prompt");
    const bool reference_first =
        reference_.first_missing_line != 0 &&
        (prompt_.first_missing_line == 0 || reference_.first_missing_line < prompt_.first_missing_line);
    const field_presence& first = reference_first ? reference_ : prompt_;
    if (first.first_missing_line != 0)
      throw data_error(make_message(path_, ":", first.first_missing_line, ": missing field \"",
                                    reference_first ? names.reference : names.prompt, "\""));
    return std::move(records_);
  }

 private:
  struct field_presence {
    bool seen = false;
    std::size_t first_missing_line = 0;
  };

  // A string as it is; a number or a boolean as its JSON text.
  static std::string text_of(const nlohmann::json& value, const std::string& name) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number() || value.is_boolean()) return value.dump();
    throw error(make_message("field \"", name, "\" is ", value.type_name(), ", not text"));
  }

  // The text of field `name`, or nullopt (noted in `presence`) when the record lacks it.
  static std::optional<std::string> required_text(const nlohmann::json& record, const std::string& name,
                                                  field_presence& presence, std::size_t line) {
    const auto found = record.find(name);
    if (found == record.end()) {
      if (presence.first_missing_line == 0) presence.first_missing_line = line;
      return std::nullopt;
    }
    presence.seen = true;
    return text_of(*found, name);
  }

  void check_some_record_has(const std::string& name, const field_presence& presence, const char* option) const {
    if (name.empty() || presence.seen) return;
    throw error(make_message("data file ", path_, ": no record has the field \"", name, "\" (option ", option,
                             "); the first record has ", quoted_field_names(first_record_fields_)));
  }

  std::string path_;
  const data::data_file_options& options_;
  field_presence prompt_, reference_, system_prompt_;
  std::size_t records_read_ = 0;
  std::vector<std::string> first_record_fields_;
  std::vector<data::data_record> records_;
};

inline data::data_file_format data_file_format_of(const std::filesystem::path& path, data::data_file_format format) {
  if (format != data::data_file_format::from_extension) return format;
  const std::string extension = path.extension().string();
  if (extension == ".jsonl" || extension == ".ndjson") return data::data_file_format::jsonl;
  if (extension == ".csv") return data::data_file_format::csv;
  throw error(make_message("data file ", path.string(), ": cannot tell its format from the extension \"", extension,
                           "\" (.jsonl, .ndjson or .csv); set the option format"));
}

inline void read_jsonl_data_records(const std::filesystem::path& path, const data::data_file_options& options,
                                    data_record_mapper& mapper) {
  io::read_jsonl(path, [&](nlohmann::json record, std::size_t line) { mapper.add(std::move(record), line); },
                 {.max_line_bytes = options.limits.max_record_bytes, .max_depth = options.limits.max_depth});
}

inline void read_csv_data_records(const std::filesystem::path& path, const data::data_file_options& options,
                                  data_record_mapper& mapper) {
  data::csv_reader reader(path, {.delimiter = options.csv_delimiter,
                                 .max_record_bytes = options.limits.max_record_bytes,
                                 .max_fields = options.limits.max_fields});
  const auto malformed = [&](const auto&... what) {
    return data_error(make_message(path.string(), ":", reader.line(), ": ", what...));
  };
  std::vector<std::string> header, row;
  if (!reader.next(header)) throw data_error(make_message(path.string(), ": no header line"));
  for (std::size_t i = 0; i < header.size(); ++i)
    if (std::find(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(i), header[i]) !=
        header.begin() + static_cast<std::ptrdiff_t>(i))
      throw malformed("the header names \"", header[i], "\" twice");
  // The header names every record's fields, so a mapped name missing from it is wrong at once.
  const data::field_names& names = options.fields;
  for (const auto& [name, option] :
       {std::pair{&names.prompt, "fields.prompt"}, std::pair{&names.reference, "fields.reference"},
        std::pair{&names.system_prompt, "fields.system_prompt"}}) {
    if (name->empty() || std::find(header.begin(), header.end(), *name) != header.end()) continue;
    throw error(make_message("data file ", path.string(), ": the header has no field \"", *name, "\" (option ", option,
                             "); it has ", quoted_field_names(header)));
  }
  while (reader.next(row)) {
    if (row.size() != header.size()) throw malformed(row.size(), " fields where the header has ", header.size());
    nlohmann::json record = nlohmann::json::object();
    for (std::size_t i = 0; i < row.size(); ++i) record[header[i]] = std::move(row[i]);
    try {
      mapper.add(std::move(record), reader.line());
    } catch (const io_error&) {
      throw;
    } catch (const error& e) {
      throw malformed(e.what());
    }
  }
}

}  // namespace rlft::detail

namespace rlft::data {

// The records of `path`, in file order.
inline std::vector<data_record> read_data_file(const std::filesystem::path& path,
                                               const data_file_options& options = {}) {
  detail::data_record_mapper mapper(path, options);
  if (detail::data_file_format_of(path, options.format) == data_file_format::csv)
    detail::read_csv_data_records(path, options, mapper);
  else
    detail::read_jsonl_data_records(path, options, mapper);
  return std::move(mapper).finish();
}

}  // namespace rlft::data
