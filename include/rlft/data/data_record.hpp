// One record of a data set as training sees it: the prompt, the reference answer the rewards
// compare with, an optional system prompt, and the whole record as JSON, so that a prompt
// format or a reward can read the fields the mapping left out (a subject, a difficulty level,
// test cases). Where it came from is kept for error messages.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace rlft::data {

struct data_record {
  std::string prompt = {};
  std::string reference = {};                        // the answer itself, extracted from a worked solution if need be
  std::string system_prompt = {};                    // empty when the data set has none
  nlohmann::json fields = nlohmann::json::object();  // every field as read (CSV: all strings)
  std::string file = {};                             // the file it was read from
  std::size_t line = 0;                              // the line it starts on, numbered from 1

  // "file:line", the prefix of an error about this record.
  std::string location() const { return file + ":" + std::to_string(line); }
};

}  // namespace rlft::data
