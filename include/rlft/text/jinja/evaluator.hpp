// Renders a parsed chat template. Scoping follows Jinja: the render's variables and the global
// functions form the outermost frame, top-level {% set %} writes the template's own frame, and
// every iteration of a for loop runs in a fresh frame (so a {% set %} inside a loop is gone at
// the next iteration and after the loop; templates carry state out of loops with namespace()).
// The globals are transformers' chat-template globals: range, dict, namespace,
// raise_exception and strftime_now (lipsum, cycler and joiner exist but refuse to run).
// Every loop iteration, built byte and output byte is counted against the limits.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlft/text/jinja/arguments.hpp"
#include "rlft/text/jinja/ast.hpp"
#include "rlft/text/jinja/failure.hpp"
#include "rlft/text/jinja/filters.hpp"
#include "rlft/text/jinja/limits.hpp"
#include "rlft/text/jinja/methods.hpp"
#include "rlft/text/jinja/operators.hpp"
#include "rlft/text/jinja/tests.hpp"
#include "rlft/text/jinja/value.hpp"
#include "rlft/text/jinja/value_format.hpp"

namespace rlft::jinja {

using variable_list = std::vector<std::pair<std::string, value>>;

class evaluator {
 public:
  // `local_time`: what strftime_now formats; absent, the clock's local time at the call.
  evaluator(const limits& ceilings, std::optional<std::tm> local_time) : budget_(ceilings), local_time_(local_time) {}

  std::string render(const std::vector<statement_ptr>& program, const variable_list& variables) {
    variable_list globals;
    for (const char* name :
         {"range", "dict", "namespace", "raise_exception", "strftime_now", "lipsum", "cycler", "joiner"})
      globals.emplace_back(name, value::function(name));
    frames_.push_back(std::move(globals));
    for (const auto& [name, variable] : variables) assign_in(frames_.front(), name, variable);
    frames_.emplace_back();  // the template's own frame
    try {
      execute(program);
    } catch (const render_error& failure) {
      throw data_error(rlft::detail::make_message("chat template line ", current_line_, ": ", failure.what()));
    }
    return std::move(output_);
  }

 private:
  enum class flow { normal, break_loop, continue_loop };

  static void assign_in(variable_list& frame, std::string_view name, value assigned) {
    for (auto& [existing, existing_value] : frame)
      if (existing == name) {
        existing_value = std::move(assigned);
        return;
      }
    frame.emplace_back(std::string(name), std::move(assigned));
  }

  const value* lookup(std::string_view name) const {
    for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame)
      for (const auto& [existing, existing_value] : *frame)
        if (existing == name) return &existing_value;
    return nullptr;
  }

  void write(std::string_view text) {
    if (text.size() > budget_.ceilings().max_output_bytes - output_.size())
      throw error(rlft::detail::make_message("chat template: the output exceeds limits.max_output_bytes = ",
                                             budget_.ceilings().max_output_bytes));
    budget_.count_built_bytes(text.size());
    output_.append(text);
  }

  // Values built by the template may not nest deeper than the limit.
  value checked(value built) {
    budget_.check_nesting(built.depth());
    return built;
  }

  // ---- statements ----

  flow execute(const std::vector<statement_ptr>& body) {
    for (const statement_ptr& node : body) {
      const flow result = execute(*node);
      if (result != flow::normal) return result;
    }
    return flow::normal;
  }

  flow execute(const statement& node) {
    current_line_ = node.line;
    switch (node.kind) {
      case statement_kind::text: write(node.text); return flow::normal;
      case statement_kind::output: {
        const value printed = evaluate(*node.expression);
        write(to_text(printed, budget_));
        return flow::normal;
      }
      case statement_kind::if_chain:
        for (const conditional_branch& branch : node.branches)
          if (!branch.condition || evaluate(*branch.condition).truthy()) return execute(branch.body);
        return flow::normal;
      case statement_kind::for_loop: return execute_for(node);
      case statement_kind::assign: {
        value assigned = evaluate(*node.expression);
        current_line_ = node.line;
        bind(frames_.back(), node.targets, node.unpack_targets, std::move(assigned));
        return flow::normal;
      }
      case statement_kind::namespace_assign: {
        value assigned = evaluate(*node.expression);
        current_line_ = node.line;
        const value* target = lookup(node.targets[0]);
        if (target == nullptr || !target->is(value::kind::name_space))
          fail_render("cannot set the attribute '", node.targets[1], "' of '", node.targets[0],
                      "': it is not a namespace()");
        if (assigned.holds_namespace()) fail_render("a namespace cannot hold a namespace");
        target->as_namespace().set(node.targets[1], std::move(assigned));
        return flow::normal;
      }
      case statement_kind::assign_block: {
        std::string rendered;
        std::swap(rendered, output_);
        execute(node.body);
        std::swap(rendered, output_);
        value assigned = value::string(std::move(rendered));
        if (node.expression) {
          set_block_text_ = std::move(assigned);
          assigned = evaluate(*node.expression);
        }
        assign_in(frames_.back(), node.targets[0], std::move(assigned));
        return flow::normal;
      }
      case statement_kind::break_loop: return flow::break_loop;
      case statement_kind::continue_loop: return flow::continue_loop;
      case statement_kind::block: return execute(node.body);
    }
    return flow::normal;
  }

  // Binds one value to a name, or unpacks it into several.
  void bind(variable_list& frame, const std::vector<std::string>& targets, bool unpack, value bound) {
    if (!unpack) {
      assign_in(frame, targets[0], std::move(bound));
      return;
    }
    std::vector<value> parts = detail::iterate(bound, budget_);
    if (parts.size() != targets.size())
      fail_render("cannot unpack ", parts.size(), " values into ", targets.size(), " names");
    for (std::size_t i = 0; i < targets.size(); ++i) assign_in(frame, targets[i], std::move(parts[i]));
  }

  flow execute_for(const statement& node) {
    std::vector<value> items = detail::iterate(evaluate(*node.expression), budget_);
    if (node.condition) {
      std::vector<value> kept;
      for (value& item : items) {
        budget_.count_iterations(1);
        frames_.emplace_back();
        bind(frames_.back(), node.targets, node.unpack_targets, item);
        const bool keep = evaluate(*node.condition).truthy();
        frames_.pop_back();
        if (keep) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      frames_.emplace_back();
      const flow result = execute(node.else_body);
      frames_.pop_back();
      return result == flow::normal ? flow::normal : result;
    }
    const std::int64_t length = static_cast<std::int64_t>(items.size());
    for (std::int64_t i = 0; i < length; ++i) {
      budget_.count_iterations(1);
      current_line_ = node.line;
      const auto at = static_cast<std::size_t>(i);
      variable_list loop_entries = {{"index", value::integer(i + 1)},
                                    {"index0", value::integer(i)},
                                    {"revindex", value::integer(length - i)},
                                    {"revindex0", value::integer(length - i - 1)},
                                    {"first", value::boolean(i == 0)},
                                    {"last", value::boolean(i == length - 1)},
                                    {"length", value::integer(length)},
                                    {"depth", value::integer(1)},
                                    {"depth0", value::integer(0)}};
      if (i > 0) loop_entries.emplace_back("previtem", items[at - 1]);
      if (i + 1 < length) loop_entries.emplace_back("nextitem", items[at + 1]);
      frames_.emplace_back();
      bind(frames_.back(), node.targets, node.unpack_targets, items[at]);
      assign_in(frames_.back(), "loop", value::dict(std::move(loop_entries)));
      const flow result = execute(node.body);
      frames_.pop_back();
      if (result == flow::break_loop) break;
    }
    return flow::normal;
  }

  // ---- expressions ----

  call_arguments evaluate_arguments(const expression& node, std::size_t first_operand) {
    call_arguments arguments;
    for (std::size_t i = first_operand; i < node.operands.size(); ++i)
      arguments.positional.push_back(evaluate(*node.operands[i]));
    for (const keyword_argument& keyword : node.keywords)
      arguments.keywords.emplace_back(keyword.name, evaluate(*keyword.argument));
    current_line_ = node.line;
    return arguments;
  }

  std::optional<std::int64_t> slice_bound(const expression* bound) {
    if (bound == nullptr) return std::nullopt;
    const value v = evaluate(*bound);
    if (v.is(value::kind::none)) return std::nullopt;
    if (!v.is(value::kind::integer) && !v.is(value::kind::boolean))
      fail_render("slice indices must be integers or None, not ", v.type_name());
    return v.integer_value();
  }

  value evaluate(const expression& node) {
    current_line_ = node.line;
    switch (node.kind) {
      case expression_kind::literal: return node.literal;
      case expression_kind::variable: {
        if (const value* found = lookup(node.name)) return *found;
        return value::undefined(concatenated({"'", node.name, "' is undefined"}));
      }
      case expression_kind::list:
      case expression_kind::tuple: {
        std::vector<value> items;
        items.reserve(node.operands.size());
        for (const expression_ptr& item : node.operands) items.push_back(evaluate(*item));
        budget_.count_built_bytes(items.size() * sizeof(value));
        return checked(value::list(std::move(items), node.kind == expression_kind::tuple));
      }
      case expression_kind::dict: {
        std::vector<std::pair<std::string, value>> entries;
        for (std::size_t i = 0; i + 1 < node.operands.size(); i += 2) {
          const value key = evaluate(*node.operands[i]);
          if (!key.is(value::kind::string)) fail_render("dict keys must be strings here, not ", key.type_name());
          value item = evaluate(*node.operands[i + 1]);
          bool replaced = false;
          for (auto& entry : entries)
            if (entry.first == key.as_string()) {
              entry.second = std::move(item);
              replaced = true;
              break;
            }
          if (!replaced) entries.emplace_back(key.as_string(), std::move(item));
        }
        budget_.count_built_bytes(entries.size() * sizeof(entries.front()));
        return checked(value::dict(std::move(entries)));
      }
      case expression_kind::attribute: {
        const value object = evaluate(*node.operands[0]);
        current_line_ = node.line;
        return get_attribute(object, node.name);
      }
      case expression_kind::subscript: {
        const value object = evaluate(*node.operands[0]);
        const expression& key = *node.operands[1];
        if (key.kind == expression_kind::slice) {
          const auto start = slice_bound(key.operands[0].get());
          const auto stop = slice_bound(key.operands[1].get());
          const auto step = slice_bound(key.operands[2].get());
          current_line_ = node.line;
          return get_slice(object, start, stop, step, budget_);
        }
        const value index = evaluate(key);
        current_line_ = node.line;
        return get_item(object, index, budget_);
      }
      case expression_kind::slice: fail_render("a slice outside a subscript");
      case expression_kind::call: return evaluate_call(node);
      case expression_kind::filter: {
        const value input = evaluate(*node.operands[0]);
        const call_arguments arguments = evaluate_arguments(node, 1);
        return checked(apply_filter(node.name, input, arguments, budget_));
      }
      case expression_kind::test: {
        const value input = evaluate(*node.operands[0]);
        const call_arguments arguments = evaluate_arguments(node, 1);
        return value::boolean(apply_test(node.name, input, arguments, budget_));
      }
      case expression_kind::negate: return negate(evaluate(*node.operands[0]));
      case expression_kind::unary_plus: return unary_plus(evaluate(*node.operands[0]));
      case expression_kind::logical_not: return value::boolean(!evaluate(*node.operands[0]).truthy());
      case expression_kind::logical_and: {
        value left = evaluate(*node.operands[0]);
        if (!left.truthy()) return left;
        return evaluate(*node.operands[1]);
      }
      case expression_kind::logical_or: {
        value left = evaluate(*node.operands[0]);
        if (left.truthy()) return left;
        return evaluate(*node.operands[1]);
      }
      case expression_kind::arithmetic: {
        const value left = evaluate(*node.operands[0]);
        const value right = evaluate(*node.operands[1]);
        current_line_ = node.line;
        return checked(arithmetic(node.name, left, right, budget_));
      }
      case expression_kind::concatenate: {
        std::string joined;
        for (const expression_ptr& part : node.operands) {
          const std::string text = to_text(evaluate(*part), budget_);
          budget_.count_built_bytes(text.size());  // before the string grows
          joined += text;
        }
        return value::string(std::move(joined));
      }
      case expression_kind::compare: {
        value left = evaluate(*node.operands[0]);
        for (std::size_t i = 0; i < node.comparisons.size(); ++i) {
          value right = evaluate(*node.operands[i + 1]);
          current_line_ = node.line;
          if (!compare(node.comparisons[i], left, right)) return value::boolean(false);
          left = std::move(right);
        }
        return value::boolean(true);
      }
      case expression_kind::conditional: {
        if (evaluate(*node.operands[1]).truthy()) return evaluate(*node.operands[0]);
        if (node.operands[2]) return evaluate(*node.operands[2]);
        return value::undefined("the inline if has no else branch");
      }
      case expression_kind::set_block_body: return set_block_text_;
    }
    return {};
  }

  bool compare(std::string_view comparison, const value& left, const value& right) {
    if (comparison == "==") return equal(left, right, budget_);
    if (comparison == "!=") return !equal(left, right, budget_);
    if (comparison == "in") return contains(right, left, budget_);
    if (comparison == "not in") return !contains(right, left, budget_);
    return ordered(left, right, comparison, budget_);
  }

  value evaluate_call(const expression& node) {
    const value callee = evaluate(*node.operands[0]);
    const call_arguments arguments = evaluate_arguments(node, 1);
    if (callee.is_undefined()) fail_undefined(callee);
    if (!callee.is(value::kind::function)) fail_render("'", callee.type_name(), "' object is not callable");
    const function_data& function = callee.as_function();
    if (!function.receiver.is_undefined()) return checked(call_method(function, arguments, budget_));
    return checked(call_global(function.name, arguments));
  }

  value call_global(std::string_view name, const call_arguments& arguments) {
    if (name == "raise_exception") {
      const argument_binder bound(name, arguments, {"message"});
      fail_render("raise_exception: ", to_text(bound.required(0), budget_));
    }
    if (name == "strftime_now") {
      const argument_binder bound(name, arguments, {"format"});
      const value& format = bound.required(0);
      if (!format.is(value::kind::string)) fail_render("strftime_now() takes a format string");
      std::string text = format_time(format.as_string());
      budget_.count_built_bytes(text.size());
      return value::string(std::move(text));
    }
    if (name == "range") return call_range(arguments);
    if (name == "namespace" || name == "dict") {
      if (arguments.positional.size() > 1) fail_render(name, "() takes at most one positional argument");
      variable_list entries;
      if (!arguments.positional.empty()) {
        const value& initial = arguments.positional.front();
        if (initial.is(value::kind::dict)) {
          entries = initial.as_dict().entries;
        } else if (initial.is_list()) {
          for (const value& pair : initial.as_list().items) {
            if (!pair.is_list() || pair.as_list().items.size() != 2 || !pair.as_list().items[0].is(value::kind::string))
              fail_render(name, "() takes (string, value) pairs");
            assign_in(entries, pair.as_list().items[0].as_string(), pair.as_list().items[1]);
          }
        } else {
          fail_render(name, "() takes a dict, not ", initial.type_name());
        }
      }
      for (const auto& [keyword, argument] : arguments.keywords) assign_in(entries, keyword, argument);
      budget_.count_built_bytes(entries.size() * sizeof(entries.front()));
      if (name == "dict") return value::dict(std::move(entries));
      value created = value::new_namespace();
      for (auto& [attribute, attribute_value] : entries) {
        if (attribute.starts_with('_')) fail_render("namespace attributes may not start with '_': '", attribute, "'");
        if (attribute_value.holds_namespace()) fail_render("a namespace cannot hold a namespace");
        created.as_namespace().set(attribute, std::move(attribute_value));
      }
      return created;
    }
    fail_render("the function ", name, "() is not supported");
  }

  // range(stop) or range(start, stop[, step]), capped like Jinja's sandbox (100000 numbers).
  value call_range(const call_arguments& arguments) {
    if (!arguments.keywords.empty()) fail_render("range() takes no keyword arguments");
    const auto& given = arguments.positional;
    if (given.empty() || given.size() > 3) fail_render("range() takes 1 to 3 arguments");
    std::int64_t bounds[3] = {0, 0, 1};
    for (std::size_t i = 0; i < given.size(); ++i) {
      if (!given[i].is(value::kind::integer) && !given[i].is(value::kind::boolean))
        fail_render("range() takes integers, not ", given[i].type_name());
      bounds[given.size() == 1 ? 1 : i] = given[i].integer_value();
    }
    const auto [start, stop, step] = bounds;
    if (step == 0) fail_render("range() step must not be zero");
    constexpr std::int64_t max_range = 100000;
    const long double count_estimate = (static_cast<long double>(stop) - start) / step;
    if (count_estimate > max_range) fail_render("range() is too big (at most ", max_range, " numbers)");
    std::vector<value> numbers;
    for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      numbers.push_back(value::integer(i));
      if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
    }
    budget_.count_built_bytes(numbers.size() * sizeof(value));
    return value::list(std::move(numbers));
  }

  // datetime.now().strftime(format): Python handles %f (microseconds) and %z / %Z (empty for a
  // naive datetime) itself and hands the rest to the C library's strftime.
  std::string format_time(const std::string& format) const {
    if (format.size() > 4096) fail_render("strftime_now(): the format is too long");
    std::tm time{};
    long microseconds = 0;
    if (local_time_) {
      time = *local_time_;
    } else {
      const auto now = std::chrono::system_clock::now();
      const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
#if defined(_WIN32)
      localtime_s(&time, &seconds);
#else
      localtime_r(&seconds, &time);
#endif
      microseconds = static_cast<long>(
          std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000);
    }
    std::string prepared;
    for (std::size_t i = 0; i < format.size(); ++i) {
      if (format[i] != '%' || i + 1 >= format.size()) {
        prepared += format[i];
        continue;
      }
      const char directive = format[++i];
      if (directive == 'f') {
        const std::string digits = std::to_string(microseconds);
        prepared += std::string(6 - digits.size(), '0') + digits;
      } else if (directive != 'z' && directive != 'Z') {
        prepared += '%';
        prepared += directive;
      }
    }
    if (prepared.empty()) return {};
    for (std::size_t capacity = 256; capacity <= 64 * prepared.size() + 256; capacity *= 2) {
      std::string buffer(capacity, '\0');
      const std::size_t written = std::strftime(buffer.data(), buffer.size(), prepared.c_str(), &time);
      if (written > 0) {
        buffer.resize(written);
        return buffer;
      }
    }
    return {};
  }

  render_budget budget_;
  std::optional<std::tm> local_time_;
  std::vector<variable_list> frames_;
  std::string output_;
  value set_block_text_;
  std::size_t current_line_ = 0;
};

}  // namespace rlft::jinja
