// The XML subset reader of `dsiem ossimcnv`. It accepts and rejects what Go's encoding/xml
// decoder (strict mode, no entity map, no charset reader) accepts and rejects for OSSIM
// directive files, so the same input stops at the same place.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dsiem/common/text.h"
#include "dsiem/tools/ossimcnv.h"

namespace dsiem::tools::ossimcnv {

const std::string* XmlElement::attribute(std::string_view wanted) const {
  const std::string* found = nullptr;
  for (const auto& [key, value] : attributes) {
    if (key == wanted) found = &value;
  }
  return found;
}

namespace {

// Go's decoder has the same limit (encoding/xml maxUnmarshalDepth).
constexpr std::size_t kMaxDepth = 10000;

struct SyntaxError {
  std::string message;
  int line;
};

bool is_xml_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_name_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
         u == ':' || u == '.' || u == '-' || u >= 0x80;
}

// XML 1.0 Char production.
bool in_character_range(int32_t cp) {
  return cp == 0x09 || cp == 0x0A || cp == 0x0D || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

std::string hex_code(int32_t cp) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string digits;
  for (auto v = static_cast<uint32_t>(cp); v != 0; v >>= 4)
    digits.insert(digits.begin(), kHex[v & 15]);
  while (digits.size() < 4) digits.insert(digits.begin(), '0');
  return "U+" + digits;
}

// Go's procInst: the quoted value of `param=` in a processing instruction's content.
std::string proc_inst_param(std::string_view content, std::string_view param) {
  const std::string key = std::string(param) + "=";
  const std::size_t at = content.find(key);
  if (at == std::string_view::npos) return "";
  std::string_view v = content.substr(at + key.size());
  if (v.empty() || (v[0] != '\'' && v[0] != '"')) return "";
  const std::size_t end = v.find(v[0], 1);
  if (end == std::string_view::npos) return "";
  return std::string(v.substr(1, end - 1));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

class Parser {
 public:
  Parser(std::string_view text, std::size_t implicit_at, std::string_view implicit_name)
      : s_(text), implicit_at_(implicit_at), implicit_root_name_(implicit_name) {}

  XmlDocument run() {
    try {
      for (;;) {
        if (!implicit_opened_ && implicit_at_ != std::string_view::npos && pos_ >= implicit_at_) {
          open_implicit_root();
        }
        if (pos_ >= s_.size()) break;
        if (s_[pos_] == '<') {
          markup();
        } else {
          text();
        }
      }
      end_of_input();
    } catch (const SyntaxError& e) {
      doc_.error = e.message;
      doc_.error_line = e.line;
      doc_.error_after_root = root_done_;
    }
    return std::move(doc_);
  }

 private:
  [[noreturn]] void fail(std::string message) const {
    throw SyntaxError{std::move(message), line_};
  }

  bool starts_with(std::string_view prefix) const { return s_.substr(pos_).starts_with(prefix); }

  void advance(std::size_t n) {
    for (std::size_t end = pos_ + n; pos_ < end && pos_ < s_.size(); ++pos_) {
      if (s_[pos_] == '\n') ++line_;
    }
  }

  // The byte at pos_, consumed; an error at the end of the input.
  char next() {
    if (pos_ >= s_.size()) fail("unexpected EOF");
    const char c = s_[pos_];
    advance(1);
    return c;
  }

  // Gives back the byte that next() consumed.
  void unget() {
    --pos_;
    if (s_[pos_] == '\n') --line_;
  }

  void skip_space() {
    while (pos_ < s_.size() && is_xml_space(s_[pos_])) advance(1);
  }

  std::string name() {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && is_name_byte(s_[pos_])) advance(1);
    const std::string_view n = s_.substr(start, pos_ - start);
    if (n.empty()) return "";
    const char first = n[0];
    if ((first >= '0' && first <= '9') || first == '-' || first == '.') {
      fail("invalid XML name: " + std::string(n));
    }
    for (std::size_t i = 0; i < n.size();) {
      std::size_t len = 1;
      if (decode_utf8(n, i, len) < 0) fail("invalid UTF-8");
      i += len;
    }
    return std::string(n);
  }

  // Checks one run of character data (text, an attribute value or CDATA) from pos_ up to (not
  // including) a byte in `stops` or the offset `limit`, decoding entities unless `cdata`;
  // returns the decoded text.
  std::string character_data(std::string_view stops, bool cdata, bool in_attribute,
                             std::size_t limit = std::string_view::npos) {
    std::string out;
    const std::size_t end = std::min(limit, s_.size());
    while (pos_ < end && stops.find(s_[pos_]) == std::string_view::npos) {
      if (in_attribute && s_[pos_] == '<') fail("unescaped < inside quoted string");
      if (!cdata && starts_with("]]>")) fail("unescaped ]]> not in CDATA section");
      const char c = s_[pos_];
      if (c == '&' && !cdata) {
        out += entity();
        continue;
      }
      if (c == '\r') {  // "\r\n" and a lone "\r" both become "\n"
        advance(1);
        if (pos_ < s_.size() && s_[pos_] == '\n') advance(1);
        out.push_back('\n');
        continue;
      }
      std::size_t len = 1;
      const int32_t cp = decode_utf8(s_, pos_, len);
      if (cp < 0) fail("invalid UTF-8");
      if (!in_character_range(cp)) fail("illegal character code " + hex_code(cp));
      out.append(s_.substr(pos_, len));
      advance(len);
    }
    return out;
  }

  // At '&': the replacement text of one entity or character reference.
  std::string entity() {
    std::string raw = "&";
    advance(1);
    char c = next();
    if (c == '#') {
      raw += c;
      c = next();
      int base = 10;
      if (c == 'x') {
        base = 16;
        raw += c;
        c = next();
      }
      const std::size_t digits_start = raw.size();
      const auto is_digit = [&](char d) {
        return (d >= '0' && d <= '9') ||
               (base == 16 && ((d >= 'a' && d <= 'f') || (d >= 'A' && d <= 'F')));
      };
      while (is_digit(c)) {
        raw += c;
        c = next();
      }
      if (c == ';') {
        raw += c;
        const std::string digits = raw.substr(digits_start, raw.size() - digits_start - 1);
        uint64_t value = 0;
        bool ok = !digits.empty() && digits.size() <= 16;
        for (char d : digits) {
          const int v = d <= '9' ? d - '0' : (d | 0x20) - 'a' + 10;
          value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(v);
          if (value > 0x10FFFF) ok = false;
        }
        if (ok) {
          std::string out;
          // Surrogates become U+FFFD, as Go's string(rune(n)).
          append_utf8(out,
                      value >= 0xD800 && value <= 0xDFFF ? 0xFFFD : static_cast<int32_t>(value));
          return out;
        }
      } else {
        unget();
      }
    } else {
      unget();
      const std::string n = name();
      raw += n;
      c = next();
      if (c == ';') {
        raw += c;
        if (n == "lt") return "<";
        if (n == "gt") return ">";
        if (n == "amp") return "&";
        if (n == "apos") return "'";
        if (n == "quot") return "\"";
      } else {
        unget();
      }
    }
    if (raw.back() != ';') raw += " (no semicolon)";
    fail("invalid character entity " + raw);
  }

  void text() {
    // Text stops where the implicit root opens, so that it opens between the right tokens.
    const bool before_root = !implicit_opened_ && implicit_at_ != std::string_view::npos;
    character_data("<", false, false, before_root ? implicit_at_ : std::string_view::npos);
  }

  void markup() {
    if (starts_with("<?")) return processing_instruction();
    if (starts_with("<!--")) return comment();
    if (starts_with("<![CDATA[")) return cdata();
    if (starts_with("<!")) return doctype_or_declaration();
    if (starts_with("</")) return end_tag();
    start_tag();
  }

  void processing_instruction() {
    advance(2);
    const std::string target = name();
    if (target.empty()) fail("expected target name after <?");
    const std::size_t end = s_.find("?>", pos_);
    if (end == std::string_view::npos) fail("unexpected EOF");
    const std::string_view content = s_.substr(pos_, end - pos_);
    if (target == "xml") {
      const std::string version = proc_inst_param(content, "version");
      if (!version.empty() && version != "1.0") {
        fail("unsupported version " + go_quote(version) + "; only version 1.0 is supported");
      }
      const std::string encoding = proc_inst_param(content, "encoding");
      if (!encoding.empty() && !iequals(encoding, "utf-8")) {
        fail("encoding " + go_quote(encoding) + " declared, but only UTF-8 is supported");
      }
    }
    advance(end + 2 - pos_);
  }

  void comment() {
    advance(4);
    char b0 = 0, b1 = 0;
    for (;;) {
      const char b = next();
      if (b0 == '-' && b1 == '-') {
        if (b != '>') fail("invalid sequence \"--\" not allowed in comments");
        return;
      }
      b0 = b1;
      b1 = b;
    }
  }

  void cdata() {
    advance(9);
    const std::size_t end = s_.find("]]>", pos_);
    if (end == std::string_view::npos) fail("unexpected EOF in CDATA section");
    character_data("", true, false, end);
    advance(3);
  }

  // <!DOCTYPE ...> and the like: skipped, with quoted text, nested <...> and comments.
  void doctype_or_declaration() {
    advance(2);
    int depth = 0;
    char quote = 0;
    for (;;) {
      const char b = next();
      if (quote != 0) {
        if (b == quote) quote = 0;
        continue;
      }
      if (b == '\'' || b == '"') {
        quote = b;
      } else if (b == '>') {
        if (depth == 0) return;
        --depth;
      } else if (b == '<') {
        if (starts_with("!--")) {
          advance(3);
          char c0 = 0, c1 = 0;
          for (char c = next(); !(c0 == '-' && c1 == '-' && c == '>'); c = next()) {
            c0 = c1;
            c1 = c;
          }
        } else {
          ++depth;
        }
      }
    }
  }

  void end_tag() {
    advance(2);
    const std::string n = name();
    if (n.empty()) fail("expected element name after </");
    skip_space();
    if (next() != '>') fail("invalid characters between </" + n + " and >");
    if (stack_.empty()) fail("unexpected end element </" + n + ">");
    XmlElement* top = stack_.back();
    if (top->name != n) {
      fail("element <" + top->name + "> (line " + std::to_string(top->line) + ") closed by </" + n +
           ">");
    }
    close_top();
  }

  void start_tag() {
    const int start_line = line_;
    advance(1);
    const std::string n = name();
    if (n.empty()) fail("expected element name after <");
    XmlElement element;
    element.name = n;
    element.line = start_line;
    bool self_closing = false;
    for (;;) {
      skip_space();
      const char c = next();
      if (c == '/') {
        if (next() != '>') fail("expected /> in element");
        self_closing = true;
        break;
      }
      if (c == '>') break;
      unget();
      const std::string key = name();
      if (key.empty()) fail("expected attribute name in element");
      skip_space();
      if (next() != '=') fail("attribute name without = in element");
      skip_space();
      const char quote = next();
      if (quote != '"' && quote != '\'') fail("unquoted or missing attribute value in element");
      std::string value = character_data(std::string_view(&quote, 1), false, true);
      next();  // the closing quote (an EOF is reported by next)
      element.attributes.emplace_back(key, std::move(value));
    }
    XmlElement* added = push(std::move(element));
    if (self_closing) {
      added->complete = true;
      stack_.pop_back();
      after_close();
    }
  }

  XmlElement* push(XmlElement element) {
    if (stack_.size() >= kMaxDepth) fail("exceeded max depth");
    std::vector<XmlElement>& siblings = stack_.empty() ? doc_.elements : stack_.back()->children;
    siblings.push_back(std::move(element));
    stack_.push_back(&siblings.back());
    return stack_.back();
  }

  void close_top() {
    stack_.back()->complete = true;
    if (stack_.back() == implicit_root_) implicit_root_ = nullptr;
    stack_.pop_back();
    after_close();
  }

  void after_close() {
    if (stack_.empty()) root_done_ = true;
  }

  void open_implicit_root() {
    implicit_opened_ = true;
    XmlElement root;
    root.name = implicit_root_name_;
    root.line = line_;
    implicit_root_ = push(std::move(root));
  }

  void end_of_input() {
    if (stack_.size() == 1 && stack_.back() == implicit_root_) {
      close_top();
      return;
    }
    if (!stack_.empty()) {
      const XmlElement* top = stack_.back();
      fail("unexpected end of file: element <" + top->name + "> (line " +
           std::to_string(top->line) + ") is not closed");
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  int line_ = 1;
  std::size_t implicit_at_;
  std::string implicit_root_name_;
  bool implicit_opened_ = false;
  XmlElement* implicit_root_ = nullptr;
  bool root_done_ = false;
  std::vector<XmlElement*> stack_;
  XmlDocument doc_;
};

}  // namespace

XmlDocument parse_xml(std::string_view text, std::size_t implicit_root_at,
                      std::string_view implicit_root_name) {
  return Parser(text, implicit_root_at, implicit_root_name).run();
}

}  // namespace dsiem::tools::ossimcnv
