// The parsed form of a chat template: statements (text, {{ output }}, if, for, set, break,
// continue, generation blocks) holding expressions. One node type per level keeps the tree
// small; what each field means depends on the node's kind, as listed beside the kinds.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "rlft/text/jinja/value.hpp"

namespace rlft::jinja {

enum class expression_kind {
  literal,         // literal
  variable,        // name
  list,            // operands: the items
  tuple,           // operands: the items
  dict,            // operands: key, value, key, value, ...
  attribute,       // operands[0].name
  subscript,       // operands[0][operands[1]]; operands[1] may be a slice
  slice,           // operands: start, stop, step (each may be null)
  call,            // operands[0](operands[1..], keywords)
  filter,          // operands[0] | name(operands[1..], keywords)
  test,            // operands[0] is name(operands[1..], keywords)
  negate,          // -operands[0]
  unary_plus,      // +operands[0]
  logical_not,     // not operands[0]
  logical_and,     // operands[0] and operands[1]
  logical_or,      // operands[0] or operands[1]
  arithmetic,      // operands[0] name operands[1], name one of + - * / // % **
  concatenate,     // operands[0] ~ operands[1] ~ ...
  compare,         // operands[0] comparisons[0] operands[1] comparisons[1] ... (Python's chains)
  conditional,     // operands[0] if operands[1] else operands[2] (may be null)
  set_block_body,  // the rendered body of {% set x | filter %}...{% endset %}
};

struct expression;
using expression_ptr = std::unique_ptr<expression>;

struct keyword_argument {
  std::string name;
  expression_ptr argument;
};

struct expression {
  expression_kind kind = expression_kind::literal;
  std::size_t line = 0;
  value literal = {};
  std::string name = {};
  std::vector<expression_ptr> operands = {};
  std::vector<keyword_argument> keywords = {};
  std::vector<std::string> comparisons = {};
};

enum class statement_kind {
  text,              // text
  output,            // {{ expression }}
  if_chain,          // branches; the last branch has no condition when there is an else
  for_loop,          // for targets in expression [if condition]: body [else: else_body]
  assign,            // set targets = expression
  namespace_assign,  // set targets[0].targets[1] = expression
  assign_block,      // set targets[0] [| filters, in expression]: body
  break_loop,
  continue_loop,
  block,  // {% generation %} body {% endgeneration %}: renders its body
};

struct statement;
using statement_ptr = std::unique_ptr<statement>;

struct conditional_branch {
  expression_ptr condition;  // null: the else branch
  std::vector<statement_ptr> body;
};

struct statement {
  statement_kind kind = statement_kind::text;
  std::size_t line = 0;
  std::string text = {};
  expression_ptr expression = {};
  std::vector<std::string> targets = {};
  bool unpack_targets = false;  // `for a, b in ...`: each item is unpacked into the targets
  expression_ptr condition = {};
  std::vector<conditional_branch> branches = {};
  std::vector<statement_ptr> body = {};
  std::vector<statement_ptr> else_body = {};
};

}  // namespace rlft::jinja
