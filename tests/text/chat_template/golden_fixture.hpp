// Reads the golden fixture of tools/make_golden_chat_templates.py: the test templates, the
// conversations, the tool sets and every case with the text transformers rendered.
#pragma once

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "rlft/text/chat_template.hpp"

namespace rlft_test {

inline nlohmann::ordered_json read_chat_template_fixture() {
  std::ifstream file(std::filesystem::path(RLFT_CHAT_TEMPLATE_GOLDEN_DIR) / "chat_templates.json");
  return nlohmann::ordered_json::parse(file);
}

// [year, month, day, hour, minute, second] as the std::tm strftime reads (weekday and day of
// the year included).
inline std::tm local_time_of(const nlohmann::ordered_json& fields) {
  using namespace std::chrono;
  const year_month_day date{year{fields[0].get<int>()}, month{fields[1].get<unsigned>()},
                            day{fields[2].get<unsigned>()}};
  const sys_days days{date};
  std::tm time{};
  time.tm_year = static_cast<int>(date.year()) - 1900;
  time.tm_mon = static_cast<int>(static_cast<unsigned>(date.month())) - 1;
  time.tm_mday = static_cast<int>(static_cast<unsigned>(date.day()));
  time.tm_hour = fields[3].get<int>();
  time.tm_min = fields[4].get<int>();
  time.tm_sec = fields[5].get<int>();
  time.tm_wday = static_cast<int>(weekday{days}.c_encoding());
  time.tm_yday = static_cast<int>((days - sys_days{date.year() / January / 1}).count());
  return time;
}

// The render options of one case.
inline rlft::chat_render_options options_of(const nlohmann::ordered_json& fixture,
                                            const nlohmann::ordered_json& test_case) {
  rlft::chat_render_options options;
  options.add_generation_prompt = test_case["add_generation_prompt"].get<bool>();
  options.tools = fixture["tool_sets"][test_case["tools"].get<std::string>()];
  options.bos_token = fixture["bos_token"].get<std::string>();
  options.eos_token = fixture["eos_token"].get<std::string>();
  options.variables = test_case["variables"];
  options.local_time = local_time_of(fixture["local_time"]);
  return options;
}

}  // namespace rlft_test
