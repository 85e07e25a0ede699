// Chat templates: turning a conversation into the exact text a chat model was trained on.
// Hugging Face models carry the template as Jinja in tokenizer_config.json ("chat_template"),
// and transformers renders it with apply_chat_template; rlft::chat_template renders the same
// text with rlft's own interpreter (rlft/text/jinja/), so a model fine-tuned with rlft sees
// prompts byte-identical to the ones it will be served with. It covers the Jinja subset of the
// Qwen2.5, Qwen2.5-Math, Qwen3, Llama 3.1/3.2, DeepSeek-R1-Distill, SmolLM2 and Mistral
// templates (see rlft/text/jinja/parser.hpp for the statements, builtin_names.hpp for the
// filters and tests); anything outside it is an rlft::error naming the construct when the
// template is loaded. Templates are untrusted text: every render is bounded by jinja::limits.
//
// What the template sees, as transformers 5 passes it:
//   messages               the conversation, each message with its null-valued keys dropped
//                          and its reasoning (reasoning_content, thinking or reasoning) copied
//                          under both "reasoning_content" and "thinking";
//   tools                  the tool schemas, or none;
//   documents              none;
//   add_generation_prompt  whether to open the assistant's turn at the end;
//   bos_token, eos_token   when given, and any further variables (enable_thinking, ...).
// A conversation the template rejects (raise_exception, a missing field used as text) is an
// rlft::data_error, so a trainer skips that example.
#pragma once

#include <cstddef>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlft/core/error.hpp"
#include "rlft/text/jinja/ast.hpp"
#include "rlft/text/jinja/evaluator.hpp"
#include "rlft/text/jinja/lexer.hpp"
#include "rlft/text/jinja/limits.hpp"
#include "rlft/text/jinja/parser.hpp"
#include "rlft/text/jinja/value.hpp"

namespace rlft {

// A function call an assistant message makes, in the OpenAI layout chat templates read.
struct chat_tool_call {
  std::string name;
  // The arguments object (some data sets store it as a string holding JSON; templates differ
  // in which they expect).
  nlohmann::ordered_json arguments = nlohmann::ordered_json::object();
  std::string id = {};  // empty: the call has no id
};

struct chat_message {
  std::string role;  // "system", "user", "assistant" or "tool"
  std::string content;
  std::optional<std::string> reasoning_content = {};  // an assistant's chain of thought
  std::vector<chat_tool_call> tool_calls = {};
  std::optional<std::string> tool_call_id = {};  // a tool response: the call it answers
};

// The message as transformers receives it: {"role", "content", "reasoning_content"?,
// "tool_calls"?: [{"id"?, "type": "function", "function": {"name", "arguments"}}],
// "tool_call_id"?}.
inline nlohmann::ordered_json as_json(const chat_message& message) {
  nlohmann::ordered_json json = {{"role", message.role}, {"content", message.content}};
  if (message.reasoning_content) json["reasoning_content"] = *message.reasoning_content;
  if (!message.tool_calls.empty()) {
    nlohmann::ordered_json calls = nlohmann::ordered_json::array();
    for (const chat_tool_call& call : message.tool_calls) {
      nlohmann::ordered_json entry = nlohmann::ordered_json::object();
      if (!call.id.empty()) entry["id"] = call.id;
      entry["type"] = "function";
      entry["function"] = {{"name", call.name}, {"arguments", call.arguments}};
      calls.push_back(std::move(entry));
    }
    json["tool_calls"] = std::move(calls);
  }
  if (message.tool_call_id) json["tool_call_id"] = *message.tool_call_id;
  return json;
}

struct chat_render_options {
  bool add_generation_prompt = false;
  // The tools the model may call, as JSON schemas ({"type": "function", "function": {...}});
  // null: no tools (the template sees none, which is not the same as an empty list).
  nlohmann::ordered_json tools = nullptr;
  std::optional<std::string> bos_token = {};
  std::optional<std::string> eos_token = {};
  // Further template variables, a JSON object: {"enable_thinking": false}, {"date_string": ...}.
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  // The local date and time strftime_now formats; absent, the clock's at the render.
  std::optional<std::tm> local_time = {};
};

class chat_template {
 public:
  // Parses the template; a syntax error or a construct outside the supported subset is an
  // rlft::error "chat template line N: ...".
  explicit chat_template(std::string_view source, jinja::limits limits = {}) : limits_(limits) {
    if (source.size() > limits_.max_template_bytes)
      throw error(detail::make_message("chat template: ", source.size(),
                                       " bytes exceed limits.max_template_bytes = ", limits_.max_template_bytes));
    auto program = std::make_shared<std::vector<jinja::statement_ptr>>(
        jinja::parser(jinja::tokenize(source), limits_).parse_template());
    program_ = std::move(program);
  }

  std::string render(std::span<const chat_message> messages, const chat_render_options& options = {}) const {
    nlohmann::ordered_json json = nlohmann::ordered_json::array();
    for (const chat_message& message : messages) json.push_back(as_json(message));
    return render(json, options);
  }

  // `messages`: a JSON array of message objects (OpenAI layout), as they would be passed to
  // apply_chat_template.
  std::string render(const nlohmann::ordered_json& messages, const chat_render_options& options = {}) const {
    if (!messages.is_array()) throw error("chat template: messages must be a JSON array of message objects");
    if (!options.tools.is_null() && !options.tools.is_array())
      throw error("chat template: tools must be a JSON array of tool schemas, or null");
    if (!options.variables.is_object()) throw error("chat template: variables must be a JSON object");
    const jinja::render_budget conversion_budget(limits_);
    nlohmann::ordered_json prepared = nlohmann::ordered_json::array();
    for (const auto& message : messages) {
      if (!message.is_object()) throw error("chat template: every message must be a JSON object");
      prepared.push_back(prepare_message(message));
    }
    jinja::variable_list variables = {{"messages", jinja::from_json(prepared, conversion_budget)},
                                      {"tools", jinja::from_json(options.tools, conversion_budget)},
                                      {"documents", jinja::value::none()},
                                      {"add_generation_prompt", jinja::value::boolean(options.add_generation_prompt)}};
    if (options.bos_token) variables.push_back({"bos_token", jinja::value::string(*options.bos_token)});
    if (options.eos_token) variables.push_back({"eos_token", jinja::value::string(*options.eos_token)});
    for (const auto& [name, variable] : options.variables.items()) {
      if (name == "messages" || name == "tools" || name == "documents" || name == "add_generation_prompt")
        throw error(detail::make_message("chat template: the variable '", name,
                                         "' is set by render() itself, not through options.variables"));
      variables.push_back({name, jinja::from_json(variable, conversion_budget)});
    }
    return jinja::evaluator(limits_, options.local_time).render(*program_, variables);
  }

  const jinja::limits& limits() const { return limits_; }

 private:
  // What transformers does to each message before rendering: keys holding null are dropped
  // (many templates treat a missing key and a null one differently), and the reasoning is
  // copied under "thinking" (first) and "reasoning_content".
  static nlohmann::ordered_json prepare_message(const nlohmann::ordered_json& message) {
    nlohmann::ordered_json kept = nlohmann::ordered_json::object();
    for (const auto& [key, field] : message.items())
      if (!field.is_null()) kept[key] = field;
    const nlohmann::ordered_json* reasoning = nullptr;
    for (const char* key : {"reasoning_content", "thinking", "reasoning"})
      if (const auto found = kept.find(key); found != kept.end()) {
        reasoning = &*found;
        break;
      }
    if (reasoning == nullptr) return kept;
    nlohmann::ordered_json aliased = nlohmann::ordered_json::object();
    aliased["thinking"] = *reasoning;
    for (const auto& [key, field] : kept.items()) aliased[key] = field;
    aliased["reasoning_content"] = *reasoning;
    return aliased;
  }

  jinja::limits limits_;
  std::shared_ptr<const std::vector<jinja::statement_ptr>> program_;
};

}  // namespace rlft
