#include "dsiem/http/util.h"

#include <cstdint>
#include <cstdio>

namespace dsiem::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

}  // namespace

std::string percent_decode(std::string_view s) {
  return decode(s, false);
}

std::string query_decode(std::string_view s) {
  return decode(s, true);
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(query_decode(part), std::string{});
    } else {
      out.emplace_back(query_decode(part.substr(0, eq)), query_decode(part.substr(eq + 1)));
    }
  }
  return out;
}

std::string query_value(std::string_view query, std::string_view key) {
  for (auto& [k, v] : parse_query(query)) {
    if (k == key) return v;
  }
  return {};
}

std::string clean_path(std::string_view p) {
  if (p.empty()) return "/";
  std::vector<std::string_view> kept;
  bool trailing = p.size() > 1 && p.back() == '/';
  std::size_t pos = 0;
  while (pos <= p.size()) {
    std::size_t slash = p.find('/', pos);
    std::size_t end = slash == std::string_view::npos ? p.size() : slash;
    std::string_view seg = p.substr(pos, end - pos);
    bool last = slash == std::string_view::npos;
    if (seg == "..") {
      if (!kept.empty()) kept.pop_back();
      if (last) trailing = true;
    } else if (seg == ".") {
      if (last) trailing = true;
    } else if (!seg.empty()) {
      kept.push_back(seg);
    }
    if (last) break;
    pos = slash + 1;
  }
  std::string out;
  out.reserve(p.size() + 1);
  for (auto seg : kept) {
    out.push_back('/');
    out.append(seg);
  }
  if (out.empty() || trailing) out.push_back('/');
  return out;
}

std::string escape_path(std::string_view p) {
  static constexpr std::string_view kKeep = "-._~!$&'()*+,;=:@/";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(p.size());
  for (char c : p) {
    auto u = static_cast<unsigned char>(c);
    bool alnum = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9');
    if (alnum || kKeep.find(c) != std::string_view::npos) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

}  // namespace dsiem::http
