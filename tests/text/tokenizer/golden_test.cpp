// rlft's tokenizer against Hugging Face's on the committed fixtures of
// tools/make_golden_tokenizers.py: eight tokenizer.json files in the exact configurations of GPT-2,
// Qwen2, Llama-3, SmolLM2, Llama-2 (legacy), Mistral (Metaspace), byte fallback with an unknown
// token, and every added-token flag, with the ids transformers gives for texts in many scripts,
// whitespace, digits and special tokens; decoding, including partial and invalid UTF-8; and the
// pre-tokenizers' pieces. Every id and every decoded text must be equal.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/text/byte_level.hpp"
#include "rlft/text/normalizers.hpp"
#include "rlft/text/pre_tokenizers.hpp"
#include "rlft/text/tokenizer.hpp"

namespace {

const std::filesystem::path golden = RLFT_TOKENIZER_GOLDEN_DIR;

nlohmann::json read(const std::filesystem::path& path) {
  std::ifstream file(path);
  REQUIRE(file);
  return nlohmann::json::parse(file);
}

const rlft::tokenizer& tokenizer_of(const std::string& family) {
  static std::map<std::string, rlft::tokenizer> loaded;
  const auto it = loaded.find(family);
  if (it != loaded.end()) return it->second;
  return loaded.emplace(family, rlft::tokenizer::from_directory(golden / family)).first->second;
}

}  // namespace

TEST_CASE("golden: encoding gives transformers' ids, decoding its text, in every family") {
  const auto fixture = read(golden / "cases.json");
  std::size_t checked = 0;
  for (const auto& c : fixture.at("cases")) {
    const auto family = c.at("family").get<std::string>();
    const auto text = c.at("text").get<std::string>();
    CAPTURE(family);
    CAPTURE(text);
    const auto& t = tokenizer_of(family);
    const auto expected = c.at("ids").get<std::vector<rlft::token_id>>();
    CHECK(t.encode(text, c.at("add_special_tokens").get<bool>()) == expected);
    CHECK(t.decode(expected) == c.at("decoded").get<std::string>());
    CHECK(t.decode(expected, true) == c.at("decoded_skip_special").get<std::string>());
    ++checked;
  }
  CHECK(checked > 400);
}

TEST_CASE("golden: decoding ids that are partial or invalid UTF-8") {
  const auto fixture = read(golden / "cases.json");
  for (const auto& c : fixture.at("decode_cases")) {
    CAPTURE(c.at("family").get<std::string>());
    CAPTURE(c.value("what", ""));
    const auto& t = tokenizer_of(c.at("family").get<std::string>());
    const auto ids = c.at("ids").get<std::vector<rlft::token_id>>();
    CHECK(t.decode(ids) == c.at("decoded").get<std::string>());
    CHECK(t.decode(ids, true) == c.at("decoded_skip_special").get<std::string>());
  }
}

TEST_CASE("golden: the normalizers' text and the pre-tokenizers' pieces") {
  const auto fixture = read(golden / "pretokenize.json");
  std::map<std::string, nlohmann::json> files;
  for (const auto& c : fixture.at("cases")) {
    const auto family = c.at("family").get<std::string>();
    CAPTURE(family);
    CAPTURE(c.at("text").get<std::string>());
    if (!files.contains(family)) files[family] = read(golden / family / "tokenizer.json");
    const auto& file = files[family];
    const auto normalize = rlft::text::normalizer::from_json(file.value("normalizer", nlohmann::json()));
    const auto pre_tokenize = rlft::text::pre_tokenizer::from_json(file.at("pre_tokenizer"));
    const std::string normalized = normalize.apply(c.at("text").get<std::string>());
    CHECK(normalized == c.at("normalized").get<std::string>());
    rlft::text::segments pieces{{.text = normalized, .at_input_start = true}};
    pre_tokenize.apply(pieces);
    std::vector<std::string> texts;
    for (const auto& piece : pieces) texts.push_back(rlft::text::from_byte_level(piece.text).value_or(piece.text));
    CHECK(texts == c.at("pieces").get<std::vector<std::string>>());
  }
}

TEST_CASE("chat templates saved as files replace and extend the config's") {
  const auto directory = std::filesystem::temp_directory_path() /
                         ("rlft_chat_template_files_" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(directory / "additional_chat_templates");
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(golden / "qwen2" / name, directory / name);
  const auto config_only = rlft::tokenizer::from_directory(directory).chat_templates();
  std::ofstream(directory / "chat_template.jinja") << "{{ messages[0].content }}";
  std::ofstream(directory / "additional_chat_templates" / "tool_use.jinja") << "{{ tools }}";
  const auto templates = rlft::tokenizer::from_directory(directory).chat_templates();
  std::filesystem::remove_all(directory);
  CHECK(templates.at("default") == "{{ messages[0].content }}");
  CHECK(templates.at("tool_use") == "{{ tools }}");
  CHECK(config_only.empty());  // the fixture's config has none
  CHECK(templates.size() == 2);
}
