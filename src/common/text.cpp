#include "dsiem/common/text.h"

#include <locale.h>
#include <wctype.h>

#include <cstdio>

namespace dsiem {

int32_t decode_utf8(std::string_view s, std::size_t i, std::size_t& len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  len = 1;
  if (b0 < 0x80) return b0;
  int extra = 0;
  int32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    extra = 1;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3;
    cp = b0 & 0x07;
  } else {
    return -1;
  }
  if (i + extra >= s.size()) return -1;
  for (int k = 1; k <= extra; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr int32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  len = extra + 1;
  return cp;
}

namespace {}  // namespace

bool is_go_space(int32_t cp) {
  switch (cp) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

namespace {

locale_t utf8_locale() {
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  return loc;
}

}  // namespace

bool is_space_at(std::string_view s, std::size_t i, std::size_t& len) {
  const int32_t cp = decode_utf8(s, i, len);
  return cp >= 0 && is_go_space(cp);
}

std::string trim_space(std::string_view s) {
  std::size_t begin = 0, len = 0;
  while (begin < s.size() && is_space_at(s, begin, len)) begin += len;
  std::size_t end = begin;
  // Track the end of the last non-space code point.
  for (std::size_t i = begin; i < s.size(); i += len) {
    if (!is_space_at(s, i, len)) end = i + len;
  }
  return std::string(s.substr(begin, end - begin));
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> items;
  std::size_t start = 0, i = 0, len = 0;
  while (i < s.size()) {
    if (s[i] == ',') {
      len = 1;
    } else if (!is_space_at(s, i, len)) {
      i += len;
      continue;
    }
    if (i > start) items.emplace_back(s.substr(start, i - start));
    i += len;
    start = i;
  }
  if (start < s.size()) items.emplace_back(s.substr(start));
  return items;
}

std::string to_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const locale_t loc = utf8_locale();
  for (std::size_t i = 0, len = 0; i < s.size(); i += len) {
    const int32_t cp = decode_utf8(s, i, len);
    if (cp < 0) {
      out.push_back(s[i]);
    } else if (cp < 0x80) {
      out.push_back(cp >= 'A' && cp <= 'Z' ? static_cast<char>(cp + 32) : static_cast<char>(cp));
    } else {
      const wint_t lower = loc ? towlower_l(static_cast<wint_t>(cp), loc) : static_cast<wint_t>(cp);
      append_utf8(out, static_cast<int32_t>(lower));
    }
  }
  return out;
}

std::string go_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t len = 1;
    int32_t cp = decode_utf8(s, i, len);
    char buf[16];
    if (cp < 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i]));
      out += buf;
    } else if (cp == '"' || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp >= 0x20 && cp < 0x7F) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x80) {
      switch (cp) {
        case '\a':
          out += "\\a";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\v':
          out += "\\v";
          break;
        default:
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
          out += buf;
      }
    } else if (cp < 0xA0 || cp == 0xAD || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF) {
      // Non-printable code points that Go's unicode.IsPrint rejects and that occur in practice.
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  out.push_back('"');
  return out;
}

void append_utf8(std::string& out, int32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace dsiem
