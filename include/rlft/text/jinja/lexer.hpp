// Splits chat-template text into tokens the way Jinja2's lexer does in the environment
// transformers renders chat templates with (trim_blocks and lstrip_blocks on, the default
// {{ }} {% %} {# #} delimiters): text between tags, and inside {{ }} and {% %} the names,
// literals and operators. The whitespace rules decide the rendered bytes, so they follow
// Jinja exactly:
//   - newlines are normalised to "\n" and one trailing newline of the template is dropped;
//   - "-" after an opening or before a closing delimiter ({%- -%} {{- -}} {#- -#}) removes all
//     whitespace on that side; "+" ({%+ +%}) turns the two rules below off for that tag;
//   - trim_blocks: the first newline after a block tag or comment is removed;
//   - lstrip_blocks: spaces and tabs from the start of a line up to a block tag or comment are
//     removed (not before {{ }}).
// Comments vanish; {% raw %} ... {% endraw %} becomes text.
#pragma once

#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "rlft/text/utf8.hpp"
#include "rlft/text/jinja/failure.hpp"
#include "rlft/text/jinja/python_text.hpp"

namespace rlft::jinja {

enum class token_kind {
  text,
  variable_begin,
  variable_end,
  block_begin,
  block_end,
  name,
  string,
  integer,
  floating,
  symbol,
  end
};

struct token {
  token_kind kind = token_kind::end;
  std::string text;  // text, a name, a string literal's value or an operator symbol
  std::int64_t integer = 0;
  double floating = 0.0;
  std::size_t line = 1;
};

class lexer {
 public:
  explicit lexer(std::string_view source) : source_(normalize_newlines(source)) {}

  std::vector<token> tokenize() {
    while (position_ < source_.size()) {
      const std::size_t tag = find_tag_start(position_);
      if (tag == std::string_view::npos) {
        emit_text(std::string_view(source_).substr(position_), line_);
        advance_to(source_.size());
        break;
      }
      const std::string_view text = std::string_view(source_).substr(position_, tag - position_);
      const std::size_t text_line = line_;
      const char opener = source_[tag + 1];
      std::size_t raw_end = 0;
      char sign = 0;
      const bool raw = opener == '%' && match_raw_begin(tag, sign, raw_end);
      if (!raw && tag + 2 < source_.size() && (source_[tag + 2] == '-' || source_[tag + 2] == '+'))
        sign = source_[tag + 2];
      emit_text(strip_before_tag(text, sign, opener != '{'), text_line);
      advance_to(tag);
      if (raw) {
        lex_raw(raw_end);
      } else {
        advance_to(tag + 2 + (sign != 0 ? 1 : 0));
        if (opener == '#')
          lex_comment();
        else
          lex_tag(opener == '{');
      }
    }
    tokens_.push_back({token_kind::end, {}, 0, 0.0, line_});
    return std::move(tokens_);
  }

 private:
  static std::string normalize_newlines(std::string_view source) {
    std::string result;
    result.reserve(source.size());
    for (std::size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        result += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        result += source[i];
      }
    }
    if (!result.empty() && result.back() == '\n') result.pop_back();
    return result;
  }

  bool starts_with_at(std::size_t at, std::string_view prefix) const {
    return std::string_view(source_).substr(at).starts_with(prefix);
  }

  std::size_t find_tag_start(std::size_t from) const {
    for (std::size_t i = source_.find('{', from); i != std::string::npos; i = source_.find('{', i + 1))
      if (i + 1 < source_.size() && (source_[i + 1] == '{' || source_[i + 1] == '%' || source_[i + 1] == '#')) return i;
    return std::string::npos;
  }

  std::size_t skip_whitespace_from(std::size_t at) const {
    while (at < source_.size()) {
      const decoded_code_point decoded = decode_utf8(source_, at);
      if (!python::is_whitespace(decoded.code_point)) break;
      at += decoded.length;
    }
    return at;
  }

  void advance_to(std::size_t target) {
    for (; position_ < target; ++position_)
      if (source_[position_] == '\n') ++line_;
  }

  // After a tag: whether what the tag's closing consumed ended with a newline, which lets
  // lstrip_blocks strip the next line's indentation even though no newline precedes it.
  void finish_tag(std::size_t end) {
    line_starting_ = end > 0 && source_[end - 1] == '\n';
    advance_to(end);
  }

  void emit_text(std::string_view text, std::size_t line) {
    if (!text.empty()) tokens_.push_back({token_kind::text, std::string(text), 0, 0.0, line});
  }

  void emit(token_kind kind, std::string text = {}) { tokens_.push_back({kind, std::move(text), 0, 0.0, line_}); }

  std::string_view strip_before_tag(std::string_view text, char sign, bool lstrip_applies) const {
    if (sign == '-') return python::strip(text, std::nullopt, python::strip_side::trailing);
    if (sign == '+' || !lstrip_applies) return text;
    const std::size_t newline = text.rfind('\n');
    const std::size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
    if (line_start == 0 && !line_starting_) return text;
    const std::string_view tail = text.substr(line_start);
    if (tail.empty() || !python::strip(tail, std::nullopt, python::strip_side::both).empty()) return text;
    return text.substr(0, line_start);
  }

  // {%[-+] raw [-]%}: sets the sign and where the opening tag ends.
  bool match_raw_begin(std::size_t tag, char& sign, std::size_t& end) const {
    std::size_t at = tag + 2;
    if (at < source_.size() && (source_[at] == '-' || source_[at] == '+')) sign = source_[at++];
    at = skip_whitespace_from(at);
    if (!starts_with_at(at, "raw")) return false;
    at = skip_whitespace_from(at + 3);
    if (starts_with_at(at, "-%}")) {
      end = skip_whitespace_from(at + 3);
      return true;
    }
    if (starts_with_at(at, "%}")) {
      end = at + 2;
      return true;
    }
    sign = 0;
    return false;
  }

  void lex_raw(std::size_t raw_begin_end) {
    const std::size_t raw_line = line_;
    finish_tag(raw_begin_end);
    for (std::size_t candidate = source_.find("{%", position_); candidate != std::string::npos;
         candidate = source_.find("{%", candidate + 1)) {
      std::size_t at = candidate + 2;
      char sign = 0;
      if (at < source_.size() && (source_[at] == '-' || source_[at] == '+')) sign = source_[at++];
      at = skip_whitespace_from(at);
      if (!starts_with_at(at, "endraw")) continue;
      at = skip_whitespace_from(at + 6);
      std::size_t end = 0;
      if (starts_with_at(at, "+%}")) {
        end = at + 3;
      } else if (starts_with_at(at, "-%}")) {
        end = skip_whitespace_from(at + 3);
      } else if (starts_with_at(at, "%}")) {
        end = at + 2;
        if (end < source_.size() && source_[end] == '\n') ++end;
      } else {
        continue;
      }
      const std::string_view body = std::string_view(source_).substr(position_, candidate - position_);
      emit_text(strip_before_tag(body, sign, true), line_);
      finish_tag(end);
      return;
    }
    fail_template(raw_line, "missing {% endraw %} for this {% raw %}");
  }

  void lex_comment() {
    const std::size_t comment_line = line_;
    const std::size_t close = source_.find("#}", position_);
    if (close == std::string::npos) fail_template(comment_line, "missing end of comment tag '#}'");
    std::size_t end = close + 2;
    if (close > position_ && source_[close - 1] == '-') {
      end = skip_whitespace_from(end);
    } else if (close > position_ && source_[close - 1] == '+') {
      // "+#}" keeps the newline that trim_blocks would remove.
    } else if (end < source_.size() && source_[end] == '\n') {
      ++end;
    }
    finish_tag(end);
  }

  void lex_tag(bool is_variable) {
    const std::size_t tag_line = line_;
    emit(is_variable ? token_kind::variable_begin : token_kind::block_begin);
    std::vector<char> open_brackets;  // the closing bracket each open one expects
    while (true) {
      if (position_ >= source_.size())
        fail_template(tag_line, "unexpected end of template: missing '", is_variable ? "}}" : "%}", "'");
      if (open_brackets.empty() && try_close_tag(is_variable)) return;
      const char c = source_[position_];
      const decoded_code_point decoded = decode_utf8(source_, position_);
      if (python::is_whitespace(decoded.code_point)) {
        advance_to(position_ + decoded.length);
      } else if (c >= '0' && c <= '9') {
        lex_number();
      } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
        const std::size_t start = position_;
        std::size_t end = start;
        while (end < source_.size() && (std::isalnum(static_cast<unsigned char>(source_[end])) || source_[end] == '_'))
          ++end;
        emit(token_kind::name, source_.substr(start, end - start));
        advance_to(end);
      } else if (c == '\'' || c == '"') {
        lex_string();
      } else {
        lex_symbol(open_brackets);
      }
    }
  }

  bool try_close_tag(bool is_variable) {
    if (is_variable) {
      if (starts_with_at(position_, "-}}")) {
        emit(token_kind::variable_end);
        finish_tag(skip_whitespace_from(position_ + 3));
        return true;
      }
      if (starts_with_at(position_, "}}")) {
        emit(token_kind::variable_end);
        finish_tag(position_ + 2);
        return true;
      }
      return false;
    }
    if (starts_with_at(position_, "-%}")) {
      emit(token_kind::block_end);
      finish_tag(skip_whitespace_from(position_ + 3));
      return true;
    }
    if (starts_with_at(position_, "+%}")) {
      emit(token_kind::block_end);
      finish_tag(position_ + 3);
      return true;
    }
    if (starts_with_at(position_, "%}")) {
      emit(token_kind::block_end);
      std::size_t end = position_ + 2;
      if (end < source_.size() && source_[end] == '\n') ++end;  // trim_blocks
      finish_tag(end);
      return true;
    }
    return false;
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  // Digits with single underscores between them (Python's 1_000), from `at`; returns the end.
  std::size_t scan_digits(std::size_t at, bool (*is_valid)(char)) const {
    std::size_t end = at;
    while (end < source_.size() && (is_valid(source_[end]) || (source_[end] == '_' && end > at &&
                                                               end + 1 < source_.size() && is_valid(source_[end + 1]))))
      ++end;
    return end;
  }

  void lex_number() {
    const std::size_t start = position_;
    const auto without_underscores = [&](std::size_t from, std::size_t to) {
      std::string digits;
      for (std::size_t i = from; i < to; ++i)
        if (source_[i] != '_') digits += source_[i];
      return digits;
    };
    const char prefix = start + 1 < source_.size() ? static_cast<char>(source_[start + 1] | 0x20) : 0;
    if (source_[start] == '0' && (prefix == 'x' || prefix == 'o' || prefix == 'b')) {
      const int base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : 2;
      const auto valid = base == 16  ? +[](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
                         : base == 8 ? +[](char c) { return c >= '0' && c <= '7'; }
                                     : +[](char c) { return c == '0' || c == '1'; };
      std::size_t digits_start = start + 2;
      if (digits_start < source_.size() && source_[digits_start] == '_') ++digits_start;
      const std::size_t end = scan_digits(digits_start, valid);
      if (end == digits_start) fail_template(line_, "malformed number literal");
      emit_integer(without_underscores(digits_start, end), base);
      advance_to(end);
      return;
    }
    std::size_t end = scan_digits(start, is_digit);
    bool is_float = false;
    // A number right after a dot (x.0.1) is an attribute index, never a float.
    const bool may_be_float = start == 0 || source_[start - 1] != '.';
    if (may_be_float && end + 1 < source_.size() && source_[end] == '.' && is_digit(source_[end + 1])) {
      end = scan_digits(end + 1, is_digit);
      is_float = true;
    }
    if (may_be_float && end < source_.size() && (source_[end] | 0x20) == 'e') {
      std::size_t exponent = end + 1;
      if (exponent < source_.size() && (source_[exponent] == '+' || source_[exponent] == '-')) ++exponent;
      if (exponent < source_.size() && is_digit(source_[exponent])) {
        end = scan_digits(exponent, is_digit);
        is_float = true;
      }
    }
    const std::string digits = without_underscores(start, end);
    if (is_float) {
      token number{token_kind::floating, digits, 0, 0.0, line_};
      const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), number.floating);
      if (parsed.ec != std::errc{}) fail_template(line_, "malformed number literal '", digits, "'");
      tokens_.push_back(std::move(number));
    } else {
      emit_integer(digits, 10);
    }
    advance_to(end);
  }

  void emit_integer(const std::string& digits, int base) {
    token number{token_kind::integer, digits, 0, 0.0, line_};
    const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), number.integer, base);
    if (parsed.ec != std::errc{} || parsed.ptr != digits.data() + digits.size())
      fail_template(line_, "integer literal ", digits, " is out of range");
    tokens_.push_back(std::move(number));
  }

  static int hex_value(char32_t c) {
    if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
    return -1;
  }

  // A string literal's value. Jinja decodes escapes as Python's "unicode-escape" codec does
  // after replacing non-ASCII characters by their backslash escapes: the usual \n \t \\ \'
  // \xhh \uhhhh \Uhhhhhhhh and octal escapes, "\" + newline is dropped, unknown escapes stay.
  void lex_string() {
    const std::size_t literal_line = line_;
    const char quote = source_[position_];
    std::size_t end = position_ + 1;
    while (end < source_.size() && source_[end] != quote) end += source_[end] == '\\' ? 2 : 1;
    if (end >= source_.size()) fail_template(literal_line, "unterminated string literal");
    const std::vector<char32_t> body =
        python::code_points(std::string_view(source_).substr(position_ + 1, end - position_ - 1));
    std::string decoded;
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (body[i] != '\\' || i + 1 >= body.size()) {
        rlft::append_utf8(body[i], decoded);
        continue;
      }
      const char32_t escape = body[++i];
      const auto read_hex = [&](std::size_t digits) {
        char32_t code = 0;
        for (std::size_t k = 0; k < digits; ++k) {
          const int digit = i + 1 < body.size() ? hex_value(body[i + 1]) : -1;
          if (digit < 0)
            fail_template(literal_line, "truncated \\", static_cast<char>(escape), " escape in a string literal");
          code = code * 16 + static_cast<char32_t>(digit);
          ++i;
        }
        if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
          fail_template(literal_line, "a string literal escapes an invalid code point");
        rlft::append_utf8(code, decoded);
      };
      switch (escape) {
        case '\n': break;
        case '\\': decoded += '\\'; break;
        case '\'': decoded += '\''; break;
        case '"': decoded += '"'; break;
        case 'a': decoded += '\a'; break;
        case 'b': decoded += '\b'; break;
        case 'f': decoded += '\f'; break;
        case 'n': decoded += '\n'; break;
        case 'r': decoded += '\r'; break;
        case 't': decoded += '\t'; break;
        case 'v': decoded += '\v'; break;
        case 'x': read_hex(2); break;
        case 'u': read_hex(4); break;
        case 'U': read_hex(8); break;
        case 'N': fail_template(literal_line, "\\N{...} escapes in string literals are not supported");
        default:
          if (escape >= '0' && escape <= '7') {
            char32_t code = escape - '0';
            for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k)
              code = code * 8 + (body[++i] - '0');
            rlft::append_utf8(code, decoded);
          } else if (escape >= 0x80) {
            // The backslash escapes the backslash of the character's own escape sequence.
            decoded += '\\';
            std::string spelled;
            python::append_hex_escape(spelled,
                                      escape <= 0xFF     ? 'x'
                                      : escape <= 0xFFFF ? 'u'
                                                         : 'U',
                                      escape,
                                      escape <= 0xFF     ? 2
                                      : escape <= 0xFFFF ? 4
                                                         : 8);
            decoded += spelled.substr(1);
          } else {
            decoded += '\\';
            rlft::append_utf8(escape, decoded);
          }
      }
    }
    tokens_.push_back({token_kind::string, std::move(decoded), 0, 0.0, literal_line});
    advance_to(end + 1);
  }

  void lex_symbol(std::vector<char>& open_brackets) {
    static constexpr std::string_view two_character[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const std::string_view symbol : two_character)
      if (starts_with_at(position_, symbol)) {
        emit(token_kind::symbol, std::string(symbol));
        advance_to(position_ + 2);
        return;
      }
    const char c = source_[position_];
    if (std::string_view("+-*/%~[](){}<>=.:|,;").find(c) == std::string_view::npos) {
      const decoded_code_point decoded = decode_utf8(source_, position_);
      fail_template(line_, "unexpected character '", source_.substr(position_, decoded.length), "' in a tag");
    }
    if (c == '(' || c == '[' || c == '{') {
      open_brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (open_brackets.empty()) fail_template(line_, "unexpected '", c, "'");
      if (open_brackets.back() != c)
        fail_template(line_, "unexpected '", c, "', expected '", open_brackets.back(), "'");
      open_brackets.pop_back();
    }
    emit(token_kind::symbol, std::string(1, c));
    advance_to(position_ + 1);
  }

  std::string source_;
  std::size_t position_ = 0;
  std::size_t line_ = 1;
  bool line_starting_ = true;
  std::vector<token> tokens_;
};

inline std::vector<token> tokenize(std::string_view source) { return lexer(source).tokenize(); }

}  // namespace rlft::jinja
