#include "dsiem/json/go_reader.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>

#include "dsiem/common/hash.h"

namespace dsiem::json {
namespace {

bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Go's quoteChar: the offending byte as it appears in "invalid character ..." messages. Go
// converts the byte to the rune U+00XX and quotes it with strconv.Quote.
std::string quote_char(unsigned char c) {
  if (c == '\'') return "'\\''";
  if (c == '"') return "'\"'";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "'";
  switch (c) {
    case '\a':
      s += "\\a";
      break;
    case '\b':
      s += "\\b";
      break;
    case '\f':
      s += "\\f";
      break;
    case '\n':
      s += "\\n";
      break;
    case '\r':
      s += "\\r";
      break;
    case '\t':
      s += "\\t";
      break;
    case '\v':
      s += "\\v";
      break;
    case '\\':
      s += "\\\\";
      break;
    default:
      if (c < 0x20 || c == 0x7f) {
        s += "\\x";
        s += kHex[c >> 4];
        s += kHex[c & 0xF];
      } else if (c < 0x80) {
        s += static_cast<char>(c);
      } else if (c <= 0xA0 || c == 0xAD) {  // not unicode.IsPrint
        s += "\\u00";
        s += kHex[c >> 4];
        s += kHex[c & 0xF];
      } else {  // printable Latin-1: the rune's UTF-8 form
        s += static_cast<char>(0xC0 | (c >> 6));
        s += static_cast<char>(0x80 | (c & 0x3F));
      }
  }
  s += '\'';
  return s;
}

// A port of the state machine of Go's encoding/json scanner (checkValid), run only when
// simdjson refuses a document: it yields Go's exact syntax error text, and tells apart the few
// documents Go accepts but simdjson does not.
class GoScanner {
 public:
  // Feeds one byte; false once an error has been recorded.
  bool step(unsigned char c) {
    switch (state_) {
      case State::kBeginValueOrEmpty:
        if (is_space(c)) return true;
        if (c == ']') return end_value(c);
        return begin_value(c);
      case State::kBeginValue:
        return begin_value(c);
      case State::kBeginStringOrEmpty:
        if (is_space(c)) return true;
        if (c == '}') {
          stack_.back() = Parse::kObjectValue;
          return end_value(c);
        }
        return begin_string(c);
      case State::kBeginString:
        return begin_string(c);
      case State::kEndValue:
        return end_value(c);
      case State::kEndTop:
        return end_top(c);
      case State::kInString:
        if (c == '"') {
          state_ = State::kEndValue;
        } else if (c == '\\') {
          state_ = State::kInStringEsc;
        } else if (c < 0x20) {
          return fail(c, "in string literal");
        }
        return true;
      case State::kInStringEsc:
        if (c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't' || c == '\\' || c == '/' ||
            c == '"') {
          state_ = State::kInString;
          return true;
        }
        if (c == 'u') {
          state_ = State::kInStringEscU;
          hex_left_ = 4;
          return true;
        }
        return fail(c, "in string escape code");
      case State::kInStringEscU:
        if (!is_hex(c)) return fail(c, "in \\u hexadecimal character escape");
        if (--hex_left_ == 0) state_ = State::kInString;
        return true;
      case State::kNeg:
        if (c == '0') {
          state_ = State::kZero;
          return true;
        }
        if (c >= '1' && c <= '9') {
          state_ = State::kOne;
          return true;
        }
        return fail(c, "in numeric literal");
      case State::kOne:
        if (is_digit(c)) return true;
        return after_int(c);
      case State::kZero:
        return after_int(c);
      case State::kDot:
        if (is_digit(c)) {
          state_ = State::kDot0;
          return true;
        }
        return fail(c, "after decimal point in numeric literal");
      case State::kDot0:
        if (is_digit(c)) return true;
        if (c == 'e' || c == 'E') {
          state_ = State::kE;
          return true;
        }
        return end_value(c);
      case State::kE:
        if (c == '+' || c == '-') {
          state_ = State::kESign;
          return true;
        }
        [[fallthrough]];
      case State::kESign:
        if (is_digit(c)) {
          state_ = State::kE0;
          return true;
        }
        return fail(c, "in exponent of numeric literal");
      case State::kE0:
        if (is_digit(c)) return true;
        return end_value(c);
      case State::kLiteral:
        if (c != static_cast<unsigned char>(literal_[literal_pos_])) {
          std::string context = "in literal ";
          context += literal_;
          context += " (expecting '";
          context += literal_[literal_pos_];
          context += "')";
          return fail(c, context);
        }
        if (literal_[++literal_pos_] == '\0') state_ = State::kEndValue;
        return true;
      case State::kError:
        return false;
    }
    return false;
  }

  // End of input; false (with error() set) unless a complete value was scanned.
  bool eof() {
    if (state_ == State::kError) return false;
    if (end_top_) return true;
    step(' ');  // completes a top-level number, as Go does
    if (end_top_) return true;
    if (state_ != State::kError) err_ = "unexpected end of JSON input";
    state_ = State::kError;
    return false;
  }

  const std::string& error() const { return err_; }

 private:
  enum class State : uint8_t {
    kBeginValueOrEmpty,
    kBeginValue,
    kBeginStringOrEmpty,
    kBeginString,
    kEndValue,
    kEndTop,
    kInString,
    kInStringEsc,
    kInStringEscU,
    kNeg,
    kOne,
    kZero,
    kDot,
    kDot0,
    kE,
    kESign,
    kE0,
    kLiteral,
    kError,
  };
  enum class Parse : uint8_t { kObjectKey, kObjectValue, kArrayValue };

  bool fail(unsigned char c, std::string_view context) {
    err_ = "invalid character " + quote_char(c) + " ";
    err_ += context;
    state_ = State::kError;
    return false;
  }

  bool push(Parse p, unsigned char c) {
    stack_.push_back(p);
    if (stack_.size() <= kGoMaxDepth) return true;
    return fail(c, "exceeded max depth");
  }

  void pop() {
    stack_.pop_back();
    if (stack_.empty()) {
      state_ = State::kEndTop;
      end_top_ = true;
    } else {
      state_ = State::kEndValue;
    }
  }

  bool begin_value(unsigned char c) {
    if (is_space(c)) return true;
    switch (c) {
      case '{':
        state_ = State::kBeginStringOrEmpty;
        return push(Parse::kObjectKey, c);
      case '[':
        state_ = State::kBeginValueOrEmpty;
        return push(Parse::kArrayValue, c);
      case '"':
        state_ = State::kInString;
        return true;
      case '-':
        state_ = State::kNeg;
        return true;
      case '0':
        state_ = State::kZero;
        return true;
      case 't':
        return start_literal("true");
      case 'f':
        return start_literal("false");
      case 'n':
        return start_literal("null");
      default:
        if (c >= '1' && c <= '9') {
          state_ = State::kOne;
          return true;
        }
        return fail(c, "looking for beginning of value");
    }
  }

  bool start_literal(const char* word) {
    state_ = State::kLiteral;
    literal_ = word;
    literal_pos_ = 1;
    return true;
  }

  bool begin_string(unsigned char c) {
    if (is_space(c)) return true;
    if (c == '"') {
      state_ = State::kInString;
      return true;
    }
    return fail(c, "looking for beginning of object key string");
  }

  bool after_int(unsigned char c) {
    if (c == '.') {
      state_ = State::kDot;
      return true;
    }
    if (c == 'e' || c == 'E') {
      state_ = State::kE;
      return true;
    }
    return end_value(c);
  }

  bool end_value(unsigned char c) {
    if (stack_.empty()) {
      state_ = State::kEndTop;
      end_top_ = true;
      return end_top(c);
    }
    if (is_space(c)) {
      state_ = State::kEndValue;
      return true;
    }
    switch (stack_.back()) {
      case Parse::kObjectKey:
        if (c == ':') {
          stack_.back() = Parse::kObjectValue;
          state_ = State::kBeginValue;
          return true;
        }
        return fail(c, "after object key");
      case Parse::kObjectValue:
        if (c == ',') {
          stack_.back() = Parse::kObjectKey;
          state_ = State::kBeginString;
          return true;
        }
        if (c == '}') {
          pop();
          return true;
        }
        return fail(c, "after object key:value pair");
      case Parse::kArrayValue:
        if (c == ',') {
          state_ = State::kBeginValue;
          return true;
        }
        if (c == ']') {
          pop();
          return true;
        }
        return fail(c, "after array element");
    }
    return false;
  }

  bool end_top(unsigned char c) {
    if (!is_space(c)) return fail(c, "after top-level value");
    return true;
  }

  State state_ = State::kBeginValue;
  std::vector<Parse> stack_;
  bool end_top_ = false;
  const char* literal_ = "";
  size_t literal_pos_ = 0;
  int hex_left_ = 0;
  std::string err_;
};

std::optional<std::string> go_syntax_error(std::string_view text) {
  GoScanner scanner;
  for (const char ch : text) {
    if (!scanner.step(static_cast<unsigned char>(ch))) return scanner.error();
  }
  if (!scanner.eof()) return scanner.error();
  return std::nullopt;
}

// Length of a valid UTF-8 sequence at s[i] (a byte >= 0x80), 0 if Go would decode the byte as
// RuneError of width 1.
size_t utf8_len(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [](unsigned char b) { return (b & 0xC0) == 0x80; };
  const unsigned char b0 = at(0);
  const size_t left = s.size() - i;
  if (b0 >= 0xC2 && b0 <= 0xDF) return left >= 2 && cont(at(1)) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3) return 0;
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(at(2)) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4) return 0;
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(at(2)) && cont(at(3)) ? 4 : 0;
  }
  return 0;
}

int hex4(std::string_view s, size_t i) {
  if (i + 4 > s.size()) return -1;
  int v = 0;
  for (size_t k = i; k < i + 4; ++k) {
    const auto c = static_cast<unsigned char>(s[k]);
    if (!is_hex(c)) return -1;
    v = v * 16 + (is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

// Rewrites a number literal that Go's scanner accepts but simdjson cannot represent: an
// integer outside int64/uint64 becomes its nearest double (still a number, still not an int),
// a float beyond double range becomes +-1e308.
void append_number(std::string& out, std::string_view lit) {
  const bool neg = lit.front() == '-';
  const bool is_int = lit.find_first_of(".eE") == std::string_view::npos;
  if (is_int) {
    if (neg) {
      int64_t v;
      if (std::from_chars(lit.data(), lit.data() + lit.size(), v).ec == std::errc()) {
        out += lit;
        return;
      }
    } else {
      uint64_t v;
      if (std::from_chars(lit.data(), lit.data() + lit.size(), v).ec == std::errc()) {
        out += lit;
        return;
      }
    }
  }
  double d;
  const auto r = std::from_chars(lit.data(), lit.data() + lit.size(), d);
  if (r.ec == std::errc()) {
    if (is_int) {
      char buf[32];
      const auto w = std::to_chars(buf, buf + sizeof buf, d);
      std::string_view repr(buf, static_cast<size_t>(w.ptr - buf));
      out += repr;
      // A whole double prints without '.' or exponent; keep it non-integer for simdjson.
      if (repr.find_first_of(".e") == std::string_view::npos) out += ".0";
    } else {
      out += lit;
    }
    return;
  }
  // Out of range: overflow if the leading significant digit sits at or above the units place,
  // otherwise an underflow, which simdjson itself turns into 0.
  const std::string_view digits = lit.substr(neg ? 1 : 0);
  const size_t e_pos = digits.find_first_of("eE");
  const std::string_view mant = digits.substr(0, e_pos);
  const size_t dot = mant.find('.');
  const size_t int_len = dot == std::string_view::npos ? mant.size() : dot;
  int64_t lead_exp = 0;
  bool found = false;
  for (size_t k = 0; k < mant.size() && !found; ++k) {
    if (mant[k] == '.' || mant[k] == '0') continue;
    found = true;
    lead_exp =
        k < int_len ? static_cast<int64_t>(int_len - 1 - k) : -static_cast<int64_t>(k - int_len);
  }
  int64_t exp = 0;
  if (e_pos != std::string_view::npos) {
    std::string_view es = digits.substr(e_pos + 1);
    bool eneg = false;
    if (!es.empty() && (es.front() == '+' || es.front() == '-')) {
      eneg = es.front() == '-';
      es.remove_prefix(1);
    }
    for (const char c : es) exp = std::min<int64_t>(exp * 10 + (c - '0'), 1'000'000'000);
    if (eneg) exp = -exp;
  }
  if (found && lead_exp + exp >= 0) {
    out += neg ? "-1e308" : "1e308";
  } else {
    out += lit;
  }
}

// Makes a Go-valid document acceptable to simdjson, keeping Go's decoded values: each invalid
// UTF-8 byte in a string becomes U+FFFD, an unpaired surrogate escape becomes \ufffd (Go's
// unquote does both), and out-of-range numbers are rewritten (append_number).
std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '-' || is_digit(c)) {
      size_t j = i + 1;
      while (j < n && (is_digit(static_cast<unsigned char>(text[j])) || text[j] == '.' ||
                       text[j] == 'e' || text[j] == 'E' || text[j] == '+' || text[j] == '-')) {
        ++j;
      }
      append_number(out, text.substr(i, j - i));
      i = j;
      continue;
    }
    out.push_back(static_cast<char>(c));
    ++i;
    if (c != '"') continue;
    // Inside a string, up to and including the closing quote.
    while (i < n) {
      const auto s = static_cast<unsigned char>(text[i]);
      if (s == '"') {
        out.push_back('"');
        ++i;
        break;
      }
      if (s == '\\') {
        if (i + 1 < n && text[i + 1] == 'u') {
          const int cp = hex4(text, i + 2);
          if (cp >= 0xD800 && cp <= 0xDBFF && i + 12 <= n && text[i + 6] == '\\' &&
              text[i + 7] == 'u') {
            const int lo = hex4(text, i + 8);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              out.append(text.substr(i, 12));
              i += 12;
              continue;
            }
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) {
            out.append("\\ufffd");
          } else {
            out.append(text.substr(i, 6));
          }
          i += 6;
          continue;
        }
        out.append(text.substr(i, 2));
        i += 2;
        continue;
      }
      if (s < 0x80) {
        out.push_back(static_cast<char>(s));
        ++i;
        continue;
      }
      const size_t len = utf8_len(text, i);
      if (len == 0) {
        out.append("\xEF\xBF\xBD");
        ++i;
      } else {
        out.append(text.substr(i, len));
        i += len;
      }
    }
  }
  return out;
}

// Parses with simdjson from a reusable padded copy (the DOM keeps no pointer into it).
simdjson::error_code parse_padded(simdjson::dom::parser& parser, std::string_view text,
                                  simdjson::dom::element& out) {
  thread_local std::string buffer;
  buffer.assign(text);
  buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
  return parser.parse(buffer.data(), text.size(), false).get(out);
}

std::string number_text(simdjson::dom::element v) {
  char buf[40];
  std::to_chars_result r{};
  switch (v.type()) {
    case simdjson::dom::element_type::INT64:
      r = std::to_chars(buf, buf + sizeof buf, v.get_int64().value_unsafe());
      break;
    case simdjson::dom::element_type::UINT64:
      r = std::to_chars(buf, buf + sizeof buf, v.get_uint64().value_unsafe());
      break;
    default:
      // The literal itself is gone; the shortest round-trip form is the closest substitute.
      r = std::to_chars(buf, buf + sizeof buf, v.get_double().value_unsafe());
      break;
  }
  std::string text = "number " + std::string(buf, r.ptr);
  // A whole double most likely came from a literal such as 80.0 (Logstash floats).
  if (v.type() == simdjson::dom::element_type::DOUBLE &&
      text.find_first_of(".e", 7) == std::string::npos) {
    text += ".0";
  }
  return text;
}

// Go's equalFoldRight for an ASCII field name: ASCII letters match either case, and the
// non-ASCII runes that fold to ASCII letters (U+017F long s, U+212A Kelvin) match s and k.
bool equal_fold(std::string_view name, std::string_view key) {
  size_t t = 0;
  for (const char ch : name) {
    const auto sb = static_cast<unsigned char>(ch);
    if (t >= key.size()) return false;
    const auto tb = static_cast<unsigned char>(key[t]);
    if (tb < 0x80) {
      if (sb != tb) {
        const unsigned char upper = sb & 0xDF;
        if (upper < 'A' || upper > 'Z' || upper != (tb & 0xDF)) return false;
      }
      ++t;
      continue;
    }
    const std::string_view rest = key.substr(t);
    if ((sb == 's' || sb == 'S') && rest.starts_with("\xC5\xBF")) {
      t += 2;
    } else if ((sb == 'k' || sb == 'K') && rest.starts_with("\xE2\x84\xAA")) {
      t += 3;
    } else {
      return false;
    }
  }
  return t == key.size();
}

}  // namespace

[[noreturn]] void throw_type_error(std::string_view value, std::string_view field,
                                   std::string_view go_type) {
  std::string msg = "json: cannot unmarshal ";
  msg += value;
  if (field.empty()) {
    msg += " into Go value of type ";
  } else {
    msg += " into Go struct field ";
    msg += field;
    msg += " of type ";
  }
  msg += go_type;
  throw DecodeError(msg);
}

simdjson::dom::element parse(simdjson::dom::parser& parser, std::string_view text) {
  if (parser.max_depth() < kGoMaxDepth) {
    const auto err =
        parser.allocate(std::max<size_t>({text.size(), parser.capacity(), 4096}), kGoMaxDepth);
    if (err) throw DecodeError(std::string("json: ") + simdjson::error_message(err));
  }
  simdjson::dom::element root;
  const auto err = parse_padded(parser, text, root);
  if (!err) return root;
  if (auto msg = go_syntax_error(text)) throw DecodeError(*msg);
  // Valid for Go; retry with what simdjson refuses rewritten the way Go would decode it.
  const std::string clean = sanitize(text);
  const auto err2 = parse_padded(parser, clean, root);
  if (!err2) return root;
  throw DecodeError(std::string("json: ") + simdjson::error_message(err));
}

int match_field(std::string_view key, std::span<const std::string_view> names) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == key) return static_cast<int>(i);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (equal_fold(names[i], key)) return static_cast<int>(i);
  }
  return -1;
}

namespace {

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// ASCII lower case of `s` into `buf` (at least s.size() bytes).
std::string_view ascii_lower(std::string_view s, char* buf) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    buf[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return {buf, s.size()};
}

constexpr size_t kMaxFoldedKey = 64;

}  // namespace

FieldIndex::FieldIndex(std::span<const std::string_view> names) : names_(names) {
  size_t slots = 16;
  while (slots < names.size() * 3) slots *= 2;
  exact_.assign(slots, -1);
  folded_.assign(slots, -1);
  char buf[kMaxFoldedKey];
  for (size_t i = 0; i < names.size(); ++i) {
    ascii_names_ = ascii_names_ && is_ascii(names[i]) && names[i].size() <= kMaxFoldedKey;
    lowered_.emplace_back(ascii_names_ ? ascii_lower(names[i], buf) : names[i]);
  }
  const auto place = [slots](std::vector<int16_t>& table, std::string_view text, size_t index,
                             const auto& text_of) {
    for (size_t h = hash_bytes(text) & (slots - 1);; h = (h + 1) & (slots - 1)) {
      if (table[h] < 0) {
        table[h] = static_cast<int16_t>(index);
        return;
      }
      if (text_of(static_cast<size_t>(table[h])) == text) return;  // an earlier name wins
    }
  };
  for (size_t i = 0; i < names.size(); ++i) {
    place(exact_, names[i], i, [&](size_t j) { return names[j]; });
    place(folded_, lowered_[i], i, [&](size_t j) { return std::string_view(lowered_[j]); });
  }
  const bool unique = std::all_of(names.begin(), names.end(), [&](std::string_view n) {
    return std::count(names.begin(), names.end(), n) == 1;
  });
  if (unique) {
    successor_ = std::vector<std::atomic<int16_t>>(names.size() + 1);
    for (auto& s : successor_) s.store(-1, std::memory_order_relaxed);
  }
}

int FieldIndex::find_next(std::string_view key, int previous) const {
  if (successor_.empty()) return find(key);
  std::atomic<int16_t>& guess = successor_[static_cast<size_t>(previous + 1)];
  const int16_t predicted = guess.load(std::memory_order_relaxed);
  if (predicted >= 0 && same_bytes(names_[static_cast<size_t>(predicted)], key)) return predicted;
  const int found = find(key);
  if (found >= 0) guess.store(static_cast<int16_t>(found), std::memory_order_relaxed);
  return found;
}

int FieldIndex::lookup(const std::vector<int16_t>& table, std::string_view text,
                       bool folded) const {
  const size_t mask = table.size() - 1;
  for (size_t h = hash_bytes(text) & mask; table[h] >= 0; h = (h + 1) & mask) {
    const auto i = static_cast<size_t>(table[h]);
    if (same_bytes(folded ? std::string_view(lowered_[i]) : names_[i], text)) return table[h];
  }
  return -1;
}

int FieldIndex::find(std::string_view key) const {
  if (const int exact = lookup(exact_, key, false); exact >= 0) return exact;
  // For ASCII text, Go's case folding is ASCII lower case: two texts fold-match exactly when
  // their lower-case forms are equal. Other keys (U+017F, U+212A, ...) take the full rule.
  if (!ascii_names_ || key.size() > kMaxFoldedKey || !is_ascii(key)) {
    return match_field(key, names_);
  }
  char buf[kMaxFoldedKey];
  return lookup(folded_, ascii_lower(key, buf), true);
}

std::string_view kind_name(simdjson::dom::element v) {
  switch (v.type()) {
    case simdjson::dom::element_type::ARRAY:
      return "array";
    case simdjson::dom::element_type::OBJECT:
      return "object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      return "number";
    case simdjson::dom::element_type::STRING:
      return "string";
    case simdjson::dom::element_type::BOOL:
      return "bool";
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
  }
  return "null";
}

void throw_not_object(simdjson::dom::element v, std::string_view go_type) {
  throw_type_error(kind_name(v), {}, go_type);
}

void read_string(simdjson::dom::element v, std::string& out, std::string_view field) {
  std::string_view s;
  if (v.get(s) == simdjson::SUCCESS) {
    out.assign(s);
  } else if (!v.is_null()) {
    // Go names only the kind for a non-string, even for a number ("number", no literal).
    throw_type_error(kind_name(v), field, "string");
  }
}

void read_int(simdjson::dom::element v, int64_t& out, std::string_view field) {
  read_int(v, out, field, "int");
}

void read_int(simdjson::dom::element v, int64_t& out, std::string_view field,
              std::string_view go_type) {
  switch (v.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
      return;
    case simdjson::dom::element_type::INT64:
      out = v.get_int64().value_unsafe();
      return;
    case simdjson::dom::element_type::UINT64:  // only produced above INT64_MAX
    case simdjson::dom::element_type::DOUBLE:  // a fraction or exponent: ParseInt fails
      throw_type_error(number_text(v), field, go_type);
    default:
      throw_type_error(kind_name(v), field, go_type);
  }
}

void read_uint(simdjson::dom::element v, uint64_t& out, std::string_view field) {
  read_uint(v, out, field, "uint64");
}

void read_uint(simdjson::dom::element v, uint64_t& out, std::string_view field,
               std::string_view go_type) {
  switch (v.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
      return;
    case simdjson::dom::element_type::INT64: {
      const int64_t i = v.get_int64().value_unsafe();
      if (i < 0) throw_type_error(number_text(v), field, go_type);
      out = static_cast<uint64_t>(i);
      return;
    }
    case simdjson::dom::element_type::UINT64:
      out = v.get_uint64().value_unsafe();
      return;
    case simdjson::dom::element_type::DOUBLE:
      throw_type_error(number_text(v), field, go_type);
    default:
      throw_type_error(kind_name(v), field, go_type);
  }
}

void read_bool(simdjson::dom::element v, bool& out, std::string_view field) {
  bool b;
  if (v.get(b) == simdjson::SUCCESS) {
    out = b;
  } else if (!v.is_null()) {
    throw_type_error(kind_name(v), field, "bool");
  }
}

void read_string_array(simdjson::dom::element v, std::vector<std::string>& out,
                       std::string_view field) {
  read_array(v, out, field, "[]string",
             [&](simdjson::dom::element item, std::string& s) { read_string(item, s, field); });
}

void read_int_array(simdjson::dom::element v, std::vector<int64_t>& out, std::string_view field) {
  read_array(v, out, field, "[]int",
             [&](simdjson::dom::element item, int64_t& n) { read_int(item, n, field); });
}

}  // namespace dsiem::json
