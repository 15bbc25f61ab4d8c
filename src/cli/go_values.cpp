#include "dsiem/cli/go_values.h"
#include "dsiem/common/text.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dsiem::cli {
namespace {

size_t rune_count(std::string_view s) {
  size_t n = 0;
  while (!s.empty()) {
    std::size_t len = 0;
    decode_utf8(s, 0, len);
    s.remove_prefix(len);
    ++n;
  }
  return n;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// strconv's underscoreOK: `_` may only sit between digits, or between a base prefix and a digit.
bool underscore_ok(std::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

enum class IntError { kNone, kSyntax, kRange };

// strconv.ParseUint(s, 0, 64).
IntError parse_go_uint(std::string_view s, uint64_t& out) {
  if (s.empty()) return IntError::kSyntax;
  const std::string_view s0 = s;
  uint64_t base = 10;
  if (s[0] == '0') {
    if (s.size() >= 3 && lower(s[1]) == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && lower(s[1]) == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && lower(s[1]) == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const uint64_t cutoff = kMax / base + 1;
  bool underscores = false;
  uint64_t n = 0;
  for (const char c : s) {
    uint64_t d = 0;
    if (c == '_') {
      underscores = true;
      continue;
    } else if (c >= '0' && c <= '9') {
      d = static_cast<uint64_t>(c - '0');
    } else if (lower(c) >= 'a' && lower(c) <= 'z') {
      d = static_cast<uint64_t>(lower(c) - 'a' + 10);
    } else {
      return IntError::kSyntax;
    }
    if (d >= base) return IntError::kSyntax;
    if (n >= cutoff) return IntError::kRange;
    n *= base;
    const uint64_t n1 = n + d;
    if (n1 < n) return IntError::kRange;
    n = n1;
  }
  if (underscores && !underscore_ok(s0)) return IntError::kSyntax;
  out = n;
  return IntError::kNone;
}

}  // namespace

std::optional<int64_t> parse_go_int(std::string_view s, std::string* error) {
  const auto fail = [&](const char* what) -> std::optional<int64_t> {
    if (error) *error = "strconv.ParseInt: parsing " + go_quote(s) + ": " + what;
    return std::nullopt;
  };
  if (s.empty()) return fail("invalid syntax");
  std::string_view digits = s;
  bool neg = false;
  if (digits[0] == '+' || digits[0] == '-') {
    neg = digits[0] == '-';
    digits.remove_prefix(1);
  }
  uint64_t un = 0;
  const IntError e = parse_go_uint(digits, un);
  if (e == IntError::kSyntax) return fail("invalid syntax");
  constexpr uint64_t kCutoff = uint64_t{1} << 63;
  if (e == IntError::kRange || (!neg && un >= kCutoff) || (neg && un > kCutoff)) {
    return fail("value out of range");
  }
  if (neg) return un == kCutoff ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(un);
  return static_cast<int64_t>(un);
}

std::optional<bool> parse_go_bool(std::string_view s, std::string* error) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") {
    return false;
  }
  if (error) *error = "strconv.ParseBool: parsing " + go_quote(s) + ": invalid syntax";
  return std::nullopt;
}

std::optional<std::vector<std::string>> parse_csv_record(std::string_view s, std::string* error) {
  std::vector<std::string> fields;
  // pflag's readAsCSV returns an empty list for "" without asking the CSV reader.
  if (s.empty()) return fields;

  size_t pos = 0;
  int num_line = 0;
  // Reader.readLine: one line including its '\n', "\r\n" normalised to "\n", and a lone '\r'
  // before EOF dropped. Returns false at EOF.
  const auto read_line = [&](std::string& line) {
    ++num_line;
    if (pos >= s.size()) {
      line.clear();
      return false;
    }
    const size_t nl = s.find('\n', pos);
    if (nl == std::string_view::npos) {
      line = std::string(s.substr(pos));
      pos = s.size();
      if (line.back() == '\r') line.pop_back();
    } else {
      line = std::string(s.substr(pos, nl + 1 - pos));
      pos = nl + 1;
      if (line.size() >= 2 && line[line.size() - 2] == '\r') line.erase(line.size() - 2, 1);
    }
    return true;
  };
  const auto length_nl = [](std::string_view l) -> size_t {
    return !l.empty() && l.back() == '\n' ? 1 : 0;
  };
  const auto fail = [&](int line_no, size_t col, const char* what) {
    if (error) {
      *error = "parse error on line " + std::to_string(line_no) + ", column " +
               std::to_string(col) + ": " + what;
    }
    return std::nullopt;
  };
  constexpr const char* kBareQuote = "bare \" in non-quoted-field";
  constexpr const char* kQuote = "extraneous or missing \" in quoted-field";

  // Skip empty lines; an input made only of them is io.EOF for the reader.
  std::string line;
  for (;;) {
    if (!read_line(line)) {
      if (error) *error = "EOF";
      return std::nullopt;
    }
    if (line.size() != length_nl(line)) break;
  }

  size_t i = 0;
  for (;;) {
    if (i >= line.size() || line[i] != '"') {
      const size_t comma = line.find(',', i);
      const size_t end = comma != std::string::npos ? comma : line.size() - length_nl(line);
      const size_t quote = line.find('"', i);
      if (quote != std::string::npos && quote < end) {
        return fail(num_line, rune_count(std::string_view(line).substr(0, quote)), kBareQuote);
      }
      fields.push_back(line.substr(i, end - i));
      if (comma == std::string::npos) return fields;
      i = comma + 1;
      continue;
    }
    // Quoted field: may span lines; `""` is a literal quote.
    std::string field;
    ++i;
    for (;;) {
      const size_t quote = line.find('"', i);
      if (quote != std::string::npos) {
        field.append(line, i, quote - i);
        i = quote + 1;
        if (i < line.size() && line[i] == '"') {
          field.push_back('"');
          ++i;
        } else if (i < line.size() && line[i] == ',') {
          ++i;
          fields.push_back(std::move(field));
          break;
        } else if (line.size() - i == length_nl(std::string_view(line).substr(i))) {
          fields.push_back(std::move(field));
          return fields;
        } else {
          return fail(num_line, rune_count(std::string_view(line).substr(0, quote)), kQuote);
        }
      } else if (i < line.size()) {
        field.append(line, i);
        read_line(line);
        i = 0;
      } else {
        return fail(num_line, rune_count(line), kQuote);
      }
    }
  }
}

std::vector<std::string> split_fields(std::string_view s) {
  std::vector<std::string> out;
  std::string current;
  bool in_field = false;
  while (!s.empty()) {
    std::size_t size = 0;
    const int32_t r = decode_utf8(s, 0, size);
    const bool space = r >= 0 && is_go_space(r);
    if (space) {
      if (in_field) out.push_back(std::move(current));
      current.clear();
      in_field = false;
    } else {
      current.append(s.substr(0, size));
      in_field = true;
    }
    s.remove_prefix(size);
  }
  if (in_field) out.push_back(std::move(current));
  return out;
}

}  // namespace dsiem::cli
