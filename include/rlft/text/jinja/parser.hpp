// Turns chat-template tokens into statements and expressions with Jinja2's grammar and
// operator precedence (from loosest: `x if c else y`, or, and, not, comparisons and `in`,
// + -, ~, * / // %, **, unary - +, then postfix .attr [index] (call) and | filter / is test).
// Supported statements: if/elif/else, for/else (with a trailing `if` filter), set (to names,
// tuples of names, namespace attributes, or a {% set %}...{% endset %} block), break,
// continue, and transformers' {% generation %}. Anything else (macro, call, include, with,
// recursive loops, unknown filters or tests, ...) is an rlft::error naming it and its line.
// Nesting deeper than limits::max_nesting_depth is refused before it can exhaust the stack.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlft/text/jinja/ast.hpp"
#include "rlft/text/jinja/builtin_names.hpp"
#include "rlft/text/jinja/failure.hpp"
#include "rlft/text/jinja/lexer.hpp"
#include "rlft/text/jinja/limits.hpp"

namespace rlft::jinja {

class parser {
 public:
  parser(std::vector<token> tokens, const limits& ceilings) : tokens_(std::move(tokens)), limits_(ceilings) {}

  std::vector<statement_ptr> parse_template() {
    std::string terminator;
    return parse_body({}, terminator, {}, 0);
  }

 private:
  // Counts one level of nesting for as long as it lives.
  class nesting_guard {
   public:
    nesting_guard(parser& owner, std::size_t line) : owner_(owner) {
      if (++owner_.depth_ > owner_.limits_.max_nesting_depth)
        fail_template(line, "blocks and expressions nest deeper than limits.max_nesting_depth = ",
                      owner_.limits_.max_nesting_depth);
    }
    ~nesting_guard() { --owner_.depth_; }
    nesting_guard(const nesting_guard&) = delete;
    nesting_guard& operator=(const nesting_guard&) = delete;

   private:
    parser& owner_;
  };

  const token& current() const { return tokens_[position_]; }
  const token& peek(std::size_t ahead = 1) const { return tokens_[std::min(position_ + ahead, tokens_.size() - 1)]; }
  const token& advance() {
    const token& taken = tokens_[position_];
    if (position_ + 1 < tokens_.size()) ++position_;
    return taken;
  }
  bool at(token_kind kind) const { return current().kind == kind; }
  bool at_symbol(std::string_view symbol) const { return at(token_kind::symbol) && current().text == symbol; }
  bool at_name(std::string_view name) const { return at(token_kind::name) && current().text == name; }
  bool skip_symbol(std::string_view symbol) {
    if (!at_symbol(symbol)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!at_name(name)) return false;
    advance();
    return true;
  }

  static std::string describe(const token& t) {
    switch (t.kind) {
      case token_kind::text: return "template text";
      case token_kind::variable_begin: return "'{{'";
      case token_kind::variable_end: return "'}}'";
      case token_kind::block_begin: return "'{%'";
      case token_kind::block_end: return "'%}'";
      case token_kind::name: return rlft::detail::make_message("'", t.text, "'");
      case token_kind::string: return "a string literal";
      case token_kind::integer:
      case token_kind::floating: return rlft::detail::make_message("the number ", t.text);
      case token_kind::symbol: return rlft::detail::make_message("'", t.text, "'");
      case token_kind::end: return "the end of the template";
    }
    return "a token";
  }

  template <class... Parts>
  [[noreturn]] void fail_here(Parts&&... parts) const {
    fail_template(current().line, std::forward<Parts>(parts)...);
  }

  void expect(token_kind kind, std::string_view what) {
    if (!at(kind)) fail_here("expected ", what, ", got ", describe(current()));
    advance();
  }
  void expect_symbol(std::string_view symbol) {
    if (!skip_symbol(symbol)) fail_here("expected '", symbol, "', got ", describe(current()));
  }
  void expect_block_end() { expect(token_kind::block_end, "'%}'"); }
  std::string expect_name() {
    if (!at(token_kind::name)) fail_here("expected a name, got ", describe(current()));
    return advance().text;
  }

  static expression_ptr make_expression(expression_kind kind, std::size_t line) {
    auto node = std::make_unique<expression>();
    node->kind = kind;
    node->line = line;
    return node;
  }
  static statement_ptr make_statement(statement_kind kind, std::size_t line) {
    auto node = std::make_unique<statement>();
    node->kind = kind;
    node->line = line;
    return node;
  }

  // ---- statements ----

  // Statements up to a block tag named in `terminators`, which is consumed (its name stored in
  // `terminator`); `opener` names the block being closed, for the error when none comes.
  std::vector<statement_ptr> parse_body(std::initializer_list<std::string_view> terminators, std::string& terminator,
                                        std::string_view opener, std::size_t opener_line) {
    std::vector<statement_ptr> body;
    while (true) {
      const token& t = current();
      if (t.kind == token_kind::end) {
        if (terminators.size() == 0) return body;
        std::string_view closer = *terminators.begin();
        for (const std::string_view name : terminators)
          if (name.starts_with("end")) closer = name;
        fail_template(t.line, "unexpected end of template: the '", opener, "' on line ", opener_line, " needs {% ",
                      closer, " %}");
      }
      if (t.kind == token_kind::text) {
        auto node = make_statement(statement_kind::text, t.line);
        node->text = t.text;
        body.push_back(std::move(node));
        advance();
      } else if (t.kind == token_kind::variable_begin) {
        auto node = make_statement(statement_kind::output, t.line);
        advance();
        node->expression = parse_tuple(true);
        expect(token_kind::variable_end, "'}}'");
        body.push_back(std::move(node));
      } else if (t.kind == token_kind::block_begin) {
        const token& keyword = peek();
        if (keyword.kind == token_kind::name)
          for (const std::string_view name : terminators)
            if (keyword.text == name) {
              advance();
              terminator = advance().text;
              return body;
            }
        body.push_back(parse_statement(opener));
      } else {
        fail_here("unexpected ", describe(t));
      }
    }
  }

  statement_ptr parse_statement(std::string_view enclosing) {
    const std::size_t line = current().line;
    advance();  // {%
    if (!at(token_kind::name)) fail_here("expected a statement name after '{%', got ", describe(current()));
    const std::string keyword = advance().text;
    if (keyword == "if") return parse_if(line);
    if (keyword == "for") return parse_for(line);
    if (keyword == "set") return parse_set(line);
    if (keyword == "generation") return parse_generation(line);
    if (keyword == "break" || keyword == "continue") {
      if (loop_depth_ == 0) fail_template(line, "'", keyword, "' outside a for loop");
      expect_block_end();
      return make_statement(keyword == "break" ? statement_kind::break_loop : statement_kind::continue_loop, line);
    }
    static constexpr std::string_view unsupported[] = {"macro",  "call",  "filter",   "with",  "include",
                                                       "import", "from",  "extends",  "block", "autoescape",
                                                       "do",     "trans", "pluralize"};
    for (const std::string_view name : unsupported)
      if (keyword == name)
        fail_template(line, "the statement '", keyword,
                      "' is not supported (chat templates may use if, for, set, break, continue and generation)");
    static constexpr std::string_view closers[] = {"elif",    "else",          "endif",   "endfor",
                                                   "endset",  "endgeneration", "endraw",  "endmacro",
                                                   "endcall", "endfilter",     "endwith", "endblock"};
    for (const std::string_view name : closers)
      if (keyword == name) {
        if (enclosing.empty()) fail_template(line, "unexpected '", keyword, "' outside any block");
        fail_template(line, "unexpected '", keyword, "' inside the '", enclosing, "' block");
      }
    fail_template(line, "unknown statement '", keyword, "'");
  }

  statement_ptr parse_if(std::size_t line) {
    nesting_guard guard(*this, line);
    auto node = make_statement(statement_kind::if_chain, line);
    while (true) {
      conditional_branch branch;
      branch.condition = parse_tuple(false);
      expect_block_end();
      std::string terminator;
      branch.body = parse_body({"elif", "else", "endif"}, terminator, "if", line);
      node->branches.push_back(std::move(branch));
      if (terminator == "elif") continue;
      expect_block_end();
      if (terminator == "else") {
        conditional_branch otherwise;
        otherwise.body = parse_body({"endif"}, terminator, "if", line);
        node->branches.push_back(std::move(otherwise));
        expect_block_end();
      }
      return node;
    }
  }

  // Names to assign: `a`, `a, b` or `(a, b)`.
  std::vector<std::string> parse_target_names(bool& is_tuple, std::string_view terminator_name) {
    std::vector<std::string> names;
    const bool parenthesized = skip_symbol("(");
    is_tuple = parenthesized;
    while (true) {
      const std::size_t line = current().line;
      std::string name = expect_name();
      if (name == "true" || name == "false" || name == "none" || name == "True" || name == "False" || name == "None" ||
          name == "loop")
        fail_template(line, "cannot assign to '", name, "'");
      names.push_back(std::move(name));
      if (!skip_symbol(",")) break;
      is_tuple = true;
      if ((parenthesized && at_symbol(")")) || at_name(terminator_name) || at_symbol("=")) break;
    }
    if (parenthesized) expect_symbol(")");
    return names;
  }

  statement_ptr parse_for(std::size_t line) {
    nesting_guard guard(*this, line);
    auto node = make_statement(statement_kind::for_loop, line);
    node->targets = parse_target_names(node->unpack_targets, "in");
    if (!skip_name("in")) fail_here("expected 'in' in the for loop, got ", describe(current()));
    node->expression = parse_tuple(false, {"recursive"});
    if (skip_name("if")) node->condition = parse_expression(true);
    if (at_name("recursive")) fail_here("recursive for loops are not supported");
    expect_block_end();
    std::string terminator;
    ++loop_depth_;
    node->body = parse_body({"endfor", "else"}, terminator, "for", line);
    --loop_depth_;
    expect_block_end();
    if (terminator == "else") {
      node->else_body = parse_body({"endfor"}, terminator, "for", line);
      expect_block_end();
    }
    return node;
  }

  statement_ptr parse_set(std::size_t line) {
    if (at(token_kind::name) && peek().kind == token_kind::symbol && peek().text == ".") {
      auto node = make_statement(statement_kind::namespace_assign, line);
      node->targets.push_back(advance().text);
      advance();  // .
      node->targets.push_back(expect_name());
      expect_symbol("=");
      node->expression = parse_tuple(true);
      expect_block_end();
      return node;
    }
    bool is_tuple = false;
    std::vector<std::string> names = parse_target_names(is_tuple, "");
    if (skip_symbol("=")) {
      auto node = make_statement(statement_kind::assign, line);
      node->targets = std::move(names);
      node->unpack_targets = is_tuple;
      node->expression = parse_tuple(true);
      expect_block_end();
      return node;
    }
    if (is_tuple) fail_here("a {% set %} block assigns one name");
    nesting_guard guard(*this, line);
    auto node = make_statement(statement_kind::assign_block, line);
    node->targets = std::move(names);
    if (at_symbol("|")) node->expression = parse_filter(make_expression(expression_kind::set_block_body, line));
    expect_block_end();
    std::string terminator;
    // break and continue cannot leave a set block, even one inside a loop.
    const std::size_t enclosing_loops = std::exchange(loop_depth_, 0);
    node->body = parse_body({"endset"}, terminator, "set", line);
    loop_depth_ = enclosing_loops;
    expect_block_end();
    return node;
  }

  statement_ptr parse_generation(std::size_t line) {
    nesting_guard guard(*this, line);
    auto node = make_statement(statement_kind::block, line);
    expect_block_end();
    std::string terminator;
    node->body = parse_body({"endgeneration"}, terminator, "generation", line);
    expect_block_end();
    return node;
  }

  // ---- expressions ----

  bool is_tuple_end(std::initializer_list<std::string_view> extra_end_names) const {
    if (at(token_kind::variable_end) || at(token_kind::block_end) || at_symbol(")")) return true;
    for (const std::string_view name : extra_end_names)
      if (at_name(name)) return true;
    return false;
  }

  // An expression, or several separated by commas (a tuple).
  expression_ptr parse_tuple(bool with_condition, std::initializer_list<std::string_view> extra_end_names = {},
                             bool explicit_parentheses = false) {
    const std::size_t line = current().line;
    std::vector<expression_ptr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_symbol(",");
      if (is_tuple_end(extra_end_names)) break;
      items.push_back(parse_expression(with_condition));
      if (!at_symbol(",")) break;
      is_tuple = true;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items.front());
      if (!explicit_parentheses) fail_here("expected an expression, got ", describe(current()));
    }
    auto node = make_expression(expression_kind::tuple, line);
    node->operands = std::move(items);
    return node;
  }

  expression_ptr parse_expression(bool with_condition) {
    nesting_guard guard(*this, current().line);
    return with_condition ? parse_conditional() : parse_or();
  }

  expression_ptr parse_conditional() {
    expression_ptr result = parse_or();
    while (at_name("if")) {
      const std::size_t line = advance().line;
      auto node = make_expression(expression_kind::conditional, line);
      node->operands.push_back(std::move(result));
      node->operands.push_back(parse_or());
      node->operands.push_back(skip_name("else") ? parse_conditional() : nullptr);
      result = std::move(node);
    }
    return result;
  }

  expression_ptr binary(expression_kind kind, std::size_t line, expression_ptr left, expression_ptr right,
                        std::string name = {}) {
    auto node = make_expression(kind, line);
    node->name = std::move(name);
    node->operands.push_back(std::move(left));
    node->operands.push_back(std::move(right));
    return node;
  }

  expression_ptr parse_or() {
    expression_ptr left = parse_and();
    while (at_name("or")) {
      const std::size_t line = advance().line;
      left = binary(expression_kind::logical_or, line, std::move(left), parse_and());
    }
    return left;
  }

  expression_ptr parse_and() {
    expression_ptr left = parse_not();
    while (at_name("and")) {
      const std::size_t line = advance().line;
      left = binary(expression_kind::logical_and, line, std::move(left), parse_not());
    }
    return left;
  }

  expression_ptr parse_not() {
    if (!at_name("not")) return parse_compare();
    const std::size_t line = advance().line;
    nesting_guard guard(*this, line);
    auto node = make_expression(expression_kind::logical_not, line);
    node->operands.push_back(parse_not());
    return node;
  }

  expression_ptr parse_compare() {
    const std::size_t line = current().line;
    expression_ptr first = parse_math1();
    auto node = make_expression(expression_kind::compare, line);
    while (true) {
      if (at(token_kind::symbol) && (current().text == "==" || current().text == "!=" || current().text == "<" ||
                                     current().text == "<=" || current().text == ">" || current().text == ">=")) {
        node->comparisons.push_back(advance().text);
      } else if (skip_name("in")) {
        node->comparisons.emplace_back("in");
      } else if (at_name("not") && peek().kind == token_kind::name && peek().text == "in") {
        advance();
        advance();
        node->comparisons.emplace_back("not in");
      } else {
        break;
      }
      node->operands.push_back(parse_math1());
    }
    if (node->comparisons.empty()) return first;
    node->operands.insert(node->operands.begin(), std::move(first));
    return node;
  }

  expression_ptr parse_math1() {
    expression_ptr left = parse_concat();
    while (at_symbol("+") || at_symbol("-")) {
      const token& op = advance();
      left = binary(expression_kind::arithmetic, op.line, std::move(left), parse_concat(), op.text);
    }
    return left;
  }

  expression_ptr parse_concat() {
    const std::size_t line = current().line;
    expression_ptr first = parse_math2();
    if (!at_symbol("~")) return first;
    auto node = make_expression(expression_kind::concatenate, line);
    node->operands.push_back(std::move(first));
    while (skip_symbol("~")) node->operands.push_back(parse_math2());
    return node;
  }

  expression_ptr parse_math2() {
    expression_ptr left = parse_power();
    while (at_symbol("*") || at_symbol("/") || at_symbol("//") || at_symbol("%")) {
      const token& op = advance();
      left = binary(expression_kind::arithmetic, op.line, std::move(left), parse_power(), op.text);
    }
    return left;
  }

  // Jinja's ** groups to the left: 2 ** 3 ** 2 is 64.
  expression_ptr parse_power() {
    expression_ptr left = parse_unary(true);
    while (at_symbol("**")) {
      const token& op = advance();
      left = binary(expression_kind::arithmetic, op.line, std::move(left), parse_unary(true), op.text);
    }
    return left;
  }

  // A unary sign binds tighter than filters: -x|abs is (-x)|abs.
  expression_ptr parse_unary(bool with_filters) {
    const std::size_t line = current().line;
    nesting_guard guard(*this, line);
    expression_ptr node;
    if (at_symbol("-") || at_symbol("+")) {
      const bool negative = advance().text == "-";
      node = make_expression(negative ? expression_kind::negate : expression_kind::unary_plus, line);
      node->operands.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filters) node = parse_filters_and_tests(std::move(node));
    return node;
  }

  expression_ptr parse_primary() {
    const token& t = current();
    const std::size_t line = t.line;
    if (t.kind == token_kind::name) {
      auto node = make_expression(expression_kind::literal, line);
      if (t.text == "true" || t.text == "True") {
        node->literal = value::boolean(true);
      } else if (t.text == "false" || t.text == "False") {
        node->literal = value::boolean(false);
      } else if (t.text == "none" || t.text == "None") {
        node->literal = value::none();
      } else {
        node->kind = expression_kind::variable;
        node->name = t.text;
      }
      advance();
      return node;
    }
    if (t.kind == token_kind::string) {
      std::string text;
      while (at(token_kind::string)) text += advance().text;  // adjacent literals concatenate
      auto node = make_expression(expression_kind::literal, line);
      node->literal = value::string(std::move(text));
      return node;
    }
    if (t.kind == token_kind::integer || t.kind == token_kind::floating) {
      auto node = make_expression(expression_kind::literal, line);
      node->literal = t.kind == token_kind::integer ? value::integer(t.integer) : value::floating(t.floating);
      advance();
      return node;
    }
    if (skip_symbol("(")) {
      expression_ptr node = parse_tuple(true, {}, true);
      expect_symbol(")");
      return node;
    }
    if (at_symbol("[")) return parse_list();
    if (at_symbol("{")) return parse_dict();
    fail_here("unexpected ", describe(t), " in an expression");
  }

  expression_ptr parse_list() {
    auto node = make_expression(expression_kind::list, advance().line);
    while (!at_symbol("]")) {
      if (!node->operands.empty()) {
        expect_symbol(",");
        if (at_symbol("]")) break;
      }
      node->operands.push_back(parse_expression(true));
    }
    expect_symbol("]");
    return node;
  }

  expression_ptr parse_dict() {
    auto node = make_expression(expression_kind::dict, advance().line);
    while (!at_symbol("}")) {
      if (!node->operands.empty()) {
        expect_symbol(",");
        if (at_symbol("}")) break;
      }
      node->operands.push_back(parse_expression(true));
      expect_symbol(":");
      node->operands.push_back(parse_expression(true));
    }
    expect_symbol("}");
    return node;
  }

  expression_ptr parse_postfix(expression_ptr node) {
    while (true) {
      if (at_symbol(".") || at_symbol("[")) {
        node = parse_subscript(std::move(node));
      } else if (at_symbol("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  expression_ptr parse_filters_and_tests(expression_ptr node) {
    while (true) {
      if (at_symbol("|")) {
        node = parse_filter(std::move(node));
      } else if (at_name("is")) {
        node = parse_test(std::move(node));
      } else if (at_symbol("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  expression_ptr parse_subscript(expression_ptr object) {
    const token& opener = advance();
    const std::size_t line = opener.line;
    if (opener.text == ".") {
      const token& member = current();
      if (member.kind == token_kind::name) {
        auto node = make_expression(expression_kind::attribute, line);
        node->name = member.text;
        node->operands.push_back(std::move(object));
        advance();
        return node;
      }
      if (member.kind != token_kind::integer) fail_here("expected a name or a number after '.'");
      auto index = make_expression(expression_kind::literal, line);
      index->literal = value::integer(member.integer);
      advance();
      auto node = make_expression(expression_kind::subscript, line);
      node->operands.push_back(std::move(object));
      node->operands.push_back(std::move(index));
      return node;
    }
    auto node = make_expression(expression_kind::subscript, line);
    node->operands.push_back(std::move(object));
    node->operands.push_back(parse_subscribed());
    if (at_symbol(",")) fail_here("subscripts with several indices are not supported");
    expect_symbol("]");
    return node;
  }

  // An index or a slice start:stop:step (each part optional).
  expression_ptr parse_subscribed() {
    const std::size_t line = current().line;
    auto slice = make_expression(expression_kind::slice, line);
    if (skip_symbol(":")) {
      slice->operands.push_back(nullptr);
    } else {
      expression_ptr index = parse_expression(true);
      if (!skip_symbol(":")) return index;
      slice->operands.push_back(std::move(index));
    }
    const auto at_part_end = [&] { return at_symbol("]") || at_symbol(",") || at_symbol(":"); };
    slice->operands.push_back(at_part_end() ? nullptr : parse_expression(true));
    if (skip_symbol(":"))
      slice->operands.push_back(at_symbol("]") || at_symbol(",") ? nullptr : parse_expression(true));
    else
      slice->operands.push_back(nullptr);
    return slice;
  }

  // (positional..., name=keyword...) into node->operands (after what is already there) and
  // node->keywords.
  void parse_call_arguments(expression& node) {
    expect_symbol("(");
    bool require_comma = false;
    while (!at_symbol(")")) {
      if (require_comma) {
        expect_symbol(",");
        if (at_symbol(")")) break;
      }
      if (at_symbol("*") || at_symbol("**")) fail_here("*args and **kwargs in calls are not supported");
      if (at(token_kind::name) && peek().kind == token_kind::symbol && peek().text == "=") {
        std::string name = advance().text;
        advance();
        node.keywords.push_back({std::move(name), parse_expression(true)});
      } else {
        if (!node.keywords.empty()) fail_here("a positional argument follows a keyword argument");
        node.operands.push_back(parse_expression(true));
      }
      require_comma = true;
    }
    expect_symbol(")");
  }

  expression_ptr parse_call(expression_ptr callee) {
    auto node = make_expression(expression_kind::call, current().line);
    node->operands.push_back(std::move(callee));
    parse_call_arguments(*node);
    return node;
  }

  expression_ptr parse_filter(expression_ptr input) {
    while (skip_symbol("|")) {
      const std::size_t line = current().line;
      std::string name = expect_name();
      if (at_symbol(".")) fail_here("dotted filter names are not supported");
      if (!contains_name(supported_filters, name)) {
        if (contains_name(unsupported_filters, name)) fail_template(line, "the filter '", name, "' is not supported");
        fail_template(line, "unknown filter '", name, "'");
      }
      auto node = make_expression(expression_kind::filter, line);
      node->name = std::move(name);
      node->operands.push_back(std::move(input));
      if (at_symbol("(")) parse_call_arguments(*node);
      input = std::move(node);
    }
    return input;
  }

  expression_ptr parse_test(expression_ptr input) {
    const std::size_t line = advance().line;  // is
    const bool negated = skip_name("not");
    std::string name = expect_name();
    if (at_symbol(".")) fail_here("dotted test names are not supported");
    if (!contains_name(supported_tests, name)) fail_template(line, "unknown test '", name, "'");
    auto node = make_expression(expression_kind::test, line);
    node->name = std::move(name);
    node->operands.push_back(std::move(input));
    if (at_symbol("(")) {
      parse_call_arguments(*node);
    } else if ((at(token_kind::name) || at(token_kind::string) || at(token_kind::integer) || at(token_kind::floating) ||
                at_symbol("[") || at_symbol("{")) &&
               !at_name("else") && !at_name("or") && !at_name("and")) {
      // One argument without parentheses: `x is divisibleby 3`, `x is sameas false`.
      if (at_name("is")) fail_here("tests cannot be chained with 'is'");
      node->operands.push_back(parse_postfix(parse_primary()));
    }
    if (!negated) return node;
    auto negation = make_expression(expression_kind::logical_not, line);
    negation->operands.push_back(std::move(node));
    return negation;
  }

  std::vector<token> tokens_;
  limits limits_;
  std::size_t position_ = 0;
  std::size_t depth_ = 0;
  std::size_t loop_depth_ = 0;
};

}  // namespace rlft::jinja
