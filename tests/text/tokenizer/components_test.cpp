// The pieces of rlft's Hugging Face tokenizer against cases worked out by hand from the rules of
// `tokenizers`: the regex engine's Unicode classes, BPE's merge order, the five Split
// behaviours, added-token matching, the decoders, and the errors of malformed files.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/text/tokenizer.hpp"

using doctest::Contains;
using nlohmann::json;

namespace {

std::vector<std::string> matches(std::string_view pattern, std::string_view text) {
  std::vector<std::string> found;
  rlft::text::regex(pattern).for_each_match(text, [&](std::size_t begin, std::size_t end) {
    found.emplace_back(text.substr(begin, end - begin));
  });
  return found;
}

// A tokenizer whose model spells each of the given characters, with `merges` on top.
json character_model(const std::string& characters, const std::vector<std::string>& merges) {
  json vocab = json::object();
  int id = 0;
  for (const char c : characters) vocab[std::string(1, c)] = id++;
  for (const auto& merge : merges) {
    const auto space = merge.find(' ');
    const std::string merged = merge.substr(0, space) + merge.substr(space + 1);
    if (!vocab.contains(merged)) vocab[merged] = id++;
  }
  return {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}};
}

std::vector<std::string> tokens_of(const rlft::tokenizer& t, std::string_view text) {
  std::vector<std::string> tokens;
  for (const auto id : t.encode(text, false)) tokens.push_back(*t.id_to_token(id));
  return tokens;
}

using tokens = std::vector<std::string>;

}  // namespace

TEST_CASE("regexes: Unicode classes as Oniguruma has them, and the GPT-2 split pattern") {
  // \s includes U+0085 (NEL), which PCRE2's own \s leaves out.
  CHECK(matches(R"(\s+)", "a\xC2\x85 b") == tokens{"\xC2\x85 "});
  CHECK(matches(R"([^\s\p{L}]+)", "ab\xC2\x85-.") == tokens{"-."});
  // The backtracking example of `tokenizers`: "a   b" → "a", "  ", " b".
  CHECK(matches(rlft::text::gpt2_split_pattern, "a   b") == tokens{"a", "  ", " b"});
  CHECK(matches(rlft::text::gpt2_split_pattern, "I'm  here") == tokens{"I", "'m", " ", " here"});
  // Case-insensitive contractions also take the long s, which folds to s.
  CHECK(matches(R"((?i:'s))", "'S 'ſ ’s") == tokens{"'S", "'ſ"});
  // Empty matches move on by one character.
  CHECK(matches("x*", "ab").size() == 3);
  CHECK_THROWS_WITH_AS(rlft::text::regex("(unclosed"), Contains("does not compile"), rlft::error);
}

TEST_CASE("BPE merges the lowest-ranked pair first, the leftmost of ties") {
  const auto t = rlft::tokenizer::from_json(
      {{"model", character_model("abc", {"a a", "b c", "aa a"})}}, json::object());
  CHECK(tokens_of(t, "aaaa") == tokens{"aa", "aa"});   // (a a) twice, never (aa a)
  CHECK(tokens_of(t, "aaa") == tokens{"aaa"});         // (a a) at the left, then (aa a)
  CHECK(tokens_of(t, "abca") == tokens{"a", "bc", "a"});
  const auto ranked = rlft::tokenizer::from_json(
      {{"model", character_model("abc", {"b c", "a b", "a bc"})}}, json::object());
  CHECK(tokens_of(ranked, "abc") == tokens{"abc"});  // (b c) first, then (a bc)
}

TEST_CASE("BPE: characters outside the vocabulary become byte tokens, the unknown token, or nothing") {
  json model = character_model("ab", {});
  CHECK(tokens_of(rlft::tokenizer::from_json({{"model", model}}, json::object()), "aéb") == tokens{"a", "b"});
  model["vocab"]["<unk>"] = 2;
  model["unk_token"] = "<unk>";
  model["fuse_unk"] = true;
  CHECK(tokens_of(rlft::tokenizer::from_json({{"model", model}}, json::object()), "aééb") ==
        tokens{"a", "<unk>", "b"});
  model["fuse_unk"] = false;
  CHECK(tokens_of(rlft::tokenizer::from_json({{"model", model}}, json::object()), "aééb") ==
        tokens{"a", "<unk>", "<unk>", "b"});
  model["byte_fallback"] = true;
  model["vocab"]["<0xC3>"] = 3;
  model["vocab"]["<0xA9>"] = 4;
  CHECK(tokens_of(rlft::tokenizer::from_json({{"model", model}}, json::object()), "aé€") ==
        tokens{"a", "<0xC3>", "<0xA9>", "<unk>"});  // all of a character's bytes, or the unknown token
}

TEST_CASE("Split: the five behaviours on \"the-final--countdown\", and invert") {
  const auto split_tokens = [](const char* behavior, bool invert) {
    json file{{"pre_tokenizer", {{"type", "Split"},
                                 {"pattern", {{"String", "-"}}},
                                 {"behavior", behavior},
                                 {"invert", invert}}},
              {"model", {{"type", "BPE"}, {"vocab", json::object()}, {"merges", json::array()},
                         {"ignore_merges", true}}}};
    for (const std::string piece : {"the", "final", "countdown", "-", "--", "the-", "final-", "-final",
                                    "-countdown"})
      file["model"]["vocab"][piece] = file["model"]["vocab"].size();
    const auto t = rlft::tokenizer::from_json(file, json::object());
    return tokens_of(t, "the-final--countdown");
  };
  CHECK(split_tokens("Removed", false) == tokens{"the", "final", "countdown"});
  CHECK(split_tokens("Isolated", false) == tokens{"the", "-", "final", "-", "-", "countdown"});
  CHECK(split_tokens("Contiguous", false) == tokens{"the", "-", "final", "--", "countdown"});
  CHECK(split_tokens("MergedWithPrevious", false) == tokens{"the-", "final-", "-", "countdown"});
  CHECK(split_tokens("MergedWithNext", false) == tokens{"the", "-final", "-", "-countdown"});
  CHECK(split_tokens("Removed", true) == tokens{"-", "-", "-"});  // each "-" is a match of its own
}

TEST_CASE("added tokens: leftmost-longest, single_word, lstrip and rstrip, normalized or raw") {
  json file{{"model", character_model("abcxyz <|>", {})},
            {"added_tokens", json::array({
                 {{"content", "<|a|>"}, {"special", true}, {"normalized", false}},
                 {{"content", "<|a|>b"}, {"special", true}, {"normalized", false}},
                 {{"content", "xyz"}, {"special", false}, {"normalized", false}, {"single_word", true}},
                 {{"content", "_"}, {"special", false}, {"normalized", false}, {"lstrip", true}, {"rstrip", true}},
             })}};
  const auto t = rlft::tokenizer::from_json(file, json::object());
  CHECK(tokens_of(t, "c<|a|>bc") == tokens{"c", "<|a|>b", "c"});  // the longest at the leftmost start
  CHECK(tokens_of(t, "a xyz b") == tokens{"a", " ", "xyz", " ", "b"});
  CHECK(tokens_of(t, "axyz b") == tokens{"a", "x", "y", "z", " ", "b"});  // touches a word: plain text
  CHECK(tokens_of(t, "a  _  b") == tokens{"a", "_", "b"});  // the whitespace goes into the token
  // Ids: the vocabulary's size onwards, in file order; the file's ids are not used.
  CHECK(*t.token_to_id("<|a|>") == 10);
  CHECK(*t.token_to_id("_") == 13);
  CHECK(t.vocab_size() == 14);
  // Special tokens as plain text when the config asks for it.
  auto config = json{{"split_special_tokens", true}};
  const auto plain = rlft::tokenizer::from_json(file, config);
  CHECK(tokens_of(plain, "<|a|>").front() == "<");
}

TEST_CASE("decoders: byte-level U+FFFD per maximal subpart, byte fallback per byte, Metaspace's first token") {
  json byte_level_file{{"model", character_model("", {})}, {"decoder", {{"type", "ByteLevel"}}}};
  byte_level_file["model"]["vocab"] = {{"Ġhi", 0}, {"ð", 1}, {"Ł", 2}, {"ĺ", 3}, {"<|x|> ", 4}};
  const auto byte_level = rlft::tokenizer::from_json(byte_level_file, json::object());
  CHECK(byte_level.decode(std::vector<rlft::token_id>{0}) == " hi");
  // F0 9F 98 (a truncated 4-byte sequence) is one U+FFFD; a token outside the alphabet keeps its text.
  CHECK(byte_level.decode(std::vector<rlft::token_id>{1, 2, 3, 0}) == "\xEF\xBF\xBD hi");
  CHECK(byte_level.decode(std::vector<rlft::token_id>{4, 0}) == "<|x|>  hi");

  json fallback_file{{"model", character_model("", {})},
                     {"decoder", {{"type", "Sequence"},
                                  {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", "▁"}}},
                                                             {"content", " "}},
                                                            {{"type", "ByteFallback"}},
                                                            {{"type", "Fuse"}},
                                                            {{"type", "Strip"}, {"content", " "}, {"start", 1},
                                                             {"stop", 0}}})}}}};
  fallback_file["model"]["vocab"] = {{"▁a", 0}, {"<0xE2>", 1}, {"<0x82>", 2}, {"<0xAC>", 3}, {"<0x41>", 4}};
  const auto fallback = rlft::tokenizer::from_json(fallback_file, json::object());
  CHECK(fallback.decode(std::vector<rlft::token_id>{0, 1, 2, 3}) == "a€");
  CHECK(fallback.decode(std::vector<rlft::token_id>{0, 1, 2, 4}) == "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");

  json metaspace_file{{"model", character_model("", {})},
                      {"decoder", {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}}}};
  metaspace_file["model"]["vocab"] = {{"▁a▁b", 0}, {"▁c", 1}};
  CHECK(rlft::tokenizer::from_json(metaspace_file, json::object()).decode(std::vector<rlft::token_id>{0, 1}) ==
        "ab c");
}

TEST_CASE("malformed or unsupported files are io errors naming the component") {
  const json model = character_model("ab", {"a b"});
  const auto fails = [&](json file, const char* expected) {
    file["model"] = file.value("model", model);
    CHECK_THROWS_WITH_AS(rlft::tokenizer::from_json(file, json::object()), Contains(expected), rlft::io_error);
  };
  fails({{"pre_tokenizer", {{"type", "Whitespace"}}}}, "pre_tokenizer: type \"Whitespace\" is not supported");
  fails({{"normalizer", {{"type", "Precompiled"}}}}, "normalizer: type \"Precompiled\" is not supported");
  fails({{"decoder", {{"type", "WordPiece"}}}}, "decoder: type \"WordPiece\" is not supported");
  fails({{"model", {{"type", "Unigram"}}}}, "model: type \"Unigram\" is not supported");
  fails({{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", {"a b"}}}}}, "outside the vocabulary");
  fails({{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "("}}}, {"behavior", "Isolated"},
                            {"invert", false}}}},
        "does not compile");
  fails({{"post_processor", {{"type", "TemplateProcessing"}, {"single", {{{"SpecialToken", {{"id", "<s>"}}}}}},
                             {"special_tokens", json::object()}}}},
        "special_tokens lacks");
  CHECK_THROWS_AS(rlft::tokenizer::from_directory("/nonexistent/tokenizer"), rlft::io_error);
  const auto t = rlft::tokenizer::from_json({{"model", model}}, json::object());
  CHECK_THROWS_AS(t.encode("\xC3"), rlft::data_error);  // not UTF-8
}
