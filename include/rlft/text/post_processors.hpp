// The post-processors of tokenizer.json (Hugging Face `tokenizers`), which add the special tokens
// around an encoded text when the caller asks for them: TemplateProcessing (Llama-3's and Llama-2's
// BOS: its ids come from its own table, not the vocabulary), ByteLevel (no change to the ids) and
// Sequence. rlft encodes single texts; a template's "pair" form is read but not used. Anything
// else in a file is an error naming it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/token_sequences.hpp"
#include "rlft/text/detail/json_fields.hpp"

namespace rlft::text {

class post_processor {
 public:
  post_processor() = default;

  // From a tokenizer.json "post_processor" value (null: none). Throws rlft::io_error naming an
  // unsupported or malformed component.
  static post_processor from_json(const nlohmann::json& json) {
    post_processor result;
    if (!json.is_null()) result.add(json);
    return result;
  }

  // A template of special tokens around the text: `before`, the text, `after`.
  static post_processor around(std::vector<token_id> before, std::vector<token_id> after) {
    post_processor result;
    result.template_ = {.before = std::move(before), .after = std::move(after), .set = true};
    return result;
  }

  // The ids of an encoded text with the special tokens added.
  std::vector<token_id> apply(std::vector<token_id> ids, bool add_special_tokens) const {
    if (!add_special_tokens || !template_.set) return ids;
    std::vector<token_id> out = template_.before;
    out.insert(out.end(), ids.begin(), ids.end());
    out.insert(out.end(), template_.after.begin(), template_.after.end());
    return out;
  }

 private:
  struct single_template {
    std::vector<token_id> before;
    std::vector<token_id> after;
    bool set = false;
  };

  void add(const nlohmann::json& json) {
    constexpr std::string_view component = "post_processor";
    const std::string type = detail::type_of(json, component);
    if (type == "Sequence") {
      const auto& parts = detail::field(json, "processors", component);
      if (!parts.is_array()) detail::malformed(component, "Sequence.processors is not a list");
      for (const auto& part : parts) add(part);
    } else if (type == "ByteLevel") {
      // Offsets only: the ids stay as they are.
    } else if (type == "TemplateProcessing") {
      if (template_.set) detail::malformed(component, "more than one TemplateProcessing");
      read_template(json);
    } else {
      detail::malformed(component,
                        "type \"" + type + "\" is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
    }
  }

  void read_template(const nlohmann::json& json) {
    constexpr std::string_view component = "post_processor";
    const auto& special_tokens = detail::field(json, "special_tokens", component);
    const auto& single = detail::field(json, "single", component);
    if (!single.is_array()) detail::malformed(component, "TemplateProcessing.single is not a list");
    bool after_text = false;
    template_.set = true;
    for (const auto& piece : single) {
      if (piece.is_object() && piece.contains("Sequence")) {
        if (detail::field_as<std::string>(piece["Sequence"], "id", component) != "A" || after_text)
          detail::malformed(component, "TemplateProcessing.single must hold sequence A once");
        after_text = true;
      } else if (piece.is_object() && piece.contains("SpecialToken")) {
        const auto name = detail::field_as<std::string>(piece["SpecialToken"], "id", component);
        if (!special_tokens.contains(name))
          detail::malformed(component, "TemplateProcessing names \"" + name + "\", which special_tokens lacks");
        const auto ids = detail::field_as<std::vector<token_id>>(special_tokens[name], "ids", component);
        auto& side = after_text ? template_.after : template_.before;
        side.insert(side.end(), ids.begin(), ids.end());
      } else {
        detail::malformed(component, "TemplateProcessing piece " + piece.dump() + " is neither Sequence nor SpecialToken");
      }
    }
    if (!after_text) detail::malformed(component, "TemplateProcessing.single lacks sequence A");
  }

  single_template template_;
};

}  // namespace rlft::text
