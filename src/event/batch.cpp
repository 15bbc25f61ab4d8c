#include "dsiem/event/batch.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "dsiem/json/go_reader.h"

namespace dsiem::event {

namespace {

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t skip_space(std::string_view s, std::size_t i) {
  while (i < s.size() && is_json_space(s[i])) ++i;
  return i;
}

// One past the closing quote of the string whose opening quote is at `i`, or npos. memchr finds
// each candidate quote; an odd run of backslashes before it means it is escaped.
std::size_t string_end(std::string_view s, std::size_t i) {
  for (std::size_t from = i + 1; from < s.size();) {
    const void* hit = std::memchr(s.data() + from, '"', s.size() - from);
    if (hit == nullptr) return std::string_view::npos;
    const auto q = static_cast<std::size_t>(static_cast<const char*>(hit) - s.data());
    std::size_t backslashes = 0;
    while (q - backslashes > i + 1 && s[q - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return q + 1;
    from = q + 1;
  }
  return std::string_view::npos;
}

// The end (one past) of the JSON value starting at `i`, or npos when it does not end inside `s`.
// Only the framing is followed: brackets, braces and strings; scalars run to the next delimiter.
std::size_t value_end(std::string_view s, std::size_t i) {
  int depth = 0;
  while (i < s.size()) {
    const char c = s[i];
    switch (c) {
      case '"':
        i = string_end(s, i);
        if (i == std::string_view::npos || depth == 0) return i;
        continue;
      case '{':
      case '[':
        ++depth;
        break;
      case '}':
      case ']':
        if (depth == 0) return i;  // closes the enclosing array: a scalar ended here
        if (--depth == 0) return i + 1;
        break;
      case ',':
        if (depth == 0) return i;
        break;
      default:
        if (depth == 0 && is_json_space(c)) return i;
        break;
    }
    ++i;
  }
  return depth == 0 ? i : std::string_view::npos;
}

}  // namespace

bool is_ndjson(std::string_view content_type) {
  // The media type without spaces, compared case-insensitively, without building a copy.
  constexpr std::string_view kNdjson = "application/x-ndjson";
  std::size_t matched = 0;
  for (char c : content_type.substr(0, content_type.find(';'))) {
    if (is_json_space(c)) continue;
    if (matched == kNdjson.size() ||
        std::tolower(static_cast<unsigned char>(c)) != kNdjson[matched]) {
      return false;
    }
    ++matched;
  }
  return matched == kNdjson.size();
}

std::optional<std::vector<BatchItem>> split_event_array(std::string_view body) {
  std::vector<BatchItem> items;
  std::size_t i = skip_space(body, 0);
  if (i >= body.size() || body[i] != '[') return std::nullopt;
  i = skip_space(body, i + 1);
  for (;;) {
    if (i >= body.size() || body[i] != '{') return std::nullopt;
    const std::size_t end = value_end(body, i);
    if (end == std::string_view::npos) return std::nullopt;
    items.push_back({body.substr(i, end - i), items.size()});
    i = skip_space(body, end);
    if (i < body.size() && body[i] == ',') {
      i = skip_space(body, i + 1);
      continue;
    }
    if (i < body.size() && body[i] == ']') break;
    return std::nullopt;
  }
  if (skip_space(body, i + 1) != body.size()) return std::nullopt;
  return items;
}

struct ParsedArray::State {
  simdjson::dom::parser parser;
  std::string padded;  // the body followed by simdjson's padding
  std::vector<simdjson::dom::element> elements;
};

ParsedArray::ParsedArray() : state_(std::make_unique<State>()) {}
ParsedArray::~ParsedArray() = default;

bool ParsedArray::parse(std::string_view body) {
  State& st = *state_;
  st.elements.clear();
  // The parser keeps about ten bytes per byte of the largest body it has parsed, for as long as
  // it lives (one per I/O thread): bigger bodies take the per-element path.
  if (body.size() > kMaxBody) return false;
  // Cheap refusals first: what does not even start like an array of objects goes elsewhere.
  const std::size_t first = skip_space(body, 0);
  if (first >= body.size() || body[first] != '[') return false;
  st.padded.assign(body);
  st.padded.append(simdjson::SIMDJSON_PADDING, ' ');
  if (st.parser.capacity() < body.size() || st.parser.max_depth() < json::kGoMaxDepth) {
    if (st.parser.allocate(std::max(body.size(), st.parser.capacity()), json::kGoMaxDepth)) {
      return false;
    }
  }
  simdjson::dom::element root;
  if (st.parser.parse(st.padded.data(), body.size(), false).get(root) != simdjson::SUCCESS) {
    return false;
  }
  simdjson::dom::array array;
  if (root.get(array) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element e : array) {
    if (!e.is_object()) {
      st.elements.clear();
      return false;
    }
    st.elements.push_back(e);
  }
  return !st.elements.empty();
}

std::size_t ParsedArray::size() const {
  return state_->elements.size();
}

bool ParsedArray::decode(std::size_t i, Event& out, std::string* error) const {
  return event::decode(state_->elements[i], out, error);
}

std::vector<BatchItem> split_ndjson(std::string_view body) {
  std::vector<BatchItem> items;
  std::size_t line = 0;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    ++line;
    std::string_view text = body.substr(start, end - start);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (skip_space(text, 0) < text.size()) items.push_back({text, line});
    start = end + 1;
  }
  return items;
}

}  // namespace dsiem::event
