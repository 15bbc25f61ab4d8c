// `dsiem bench`: the event template, the pool rendered from it and the request bodies.
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <stdexcept>

#include "dsiem/json/go_reader.h"
#include "dsiem/json/go_writer.h"
#include "dsiem/tools/bench.h"

namespace dsiem::tools::bench {
namespace {

using Part = EventTemplate::Part;
using PartKind = EventTemplate::PartKind;

void add_literal(std::vector<Part>& parts, std::string_view text) {
  if (text.empty()) return;
  if (parts.empty() || parts.back().kind != PartKind::kLiteral) {
    parts.push_back(Part{});
  }
  parts.back().text.append(text);
}

// JSON string content (escaped, without the quotes) of `text`.
std::string escaped(std::string_view text) {
  std::string quoted = json::quote(text);
  return quoted.substr(1, quoted.size() - 2);
}

int64_t parse_int(std::string_view text, std::string_view placeholder) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) {
    throw std::invalid_argument("bad integer \"" + std::string(text) + "\" in " +
                                std::string(placeholder));
  }
  return value;
}

// A placeholder found in a string: [begin, end) of the text, its kind and argument.
struct Placeholder {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string_view kind;
  std::optional<std::string_view> arg;
};

// The next {{kind}} or {{kind:arg}} (kind: lower-case letters; arg: no '}') at or after
// `from`, as loadgen.py's pattern finds them.
std::optional<Placeholder> next_placeholder(std::string_view s, std::size_t from) {
  for (std::size_t pos = s.find("{{", from); pos != std::string_view::npos;
       pos = s.find("{{", pos + 1)) {
    std::size_t i = pos + 2;
    while (i < s.size() && s[i] >= 'a' && s[i] <= 'z') ++i;
    if (i == pos + 2) continue;
    Placeholder p;
    p.begin = pos;
    p.kind = s.substr(pos + 2, i - pos - 2);
    if (i < s.size() && s[i] == ':') {
      const std::size_t arg_end = s.find('}', i + 1);
      if (arg_end == std::string_view::npos) continue;
      p.arg = s.substr(i + 1, arg_end - i - 1);
      i = arg_end;
    }
    if (s.substr(i, 2) != "}}") continue;
    p.end = i + 2;
    return p;
  }
  return std::nullopt;
}

Part compile_placeholder(const Placeholder& p, std::string_view text, bool whole_string) {
  const std::string_view source = text.substr(p.begin, p.end - p.begin);
  const auto need_arg = [&] {
    if (!p.arg) throw std::invalid_argument(std::string(source) + " needs an argument");
    return *p.arg;
  };
  Part part;
  if (p.kind == "seq") {
    part.kind = whole_string ? PartKind::kSeqNumber : PartKind::kSeq;
  } else if (p.kind == "uuid") {
    part.kind = PartKind::kUuid;
  } else if (p.kind == "now") {
    part.kind = PartKind::kNow;
  } else if (p.kind == "ip") {
    part.kind = PartKind::kIp;
    const std::string_view arg = need_arg();
    if (auto cidr = Cidr::parse(arg)) {
      part.network = *cidr;
    } else if (auto host = IpAddress::parse(arg)) {
      part.network = Cidr{*host, host->bit_length()};
    } else {
      throw std::invalid_argument("bad network in " + std::string(source));
    }
  } else if (p.kind == "int") {
    part.kind = whole_string ? PartKind::kIntNumber : PartKind::kInt;
    const std::string_view arg = need_arg();
    const std::size_t colon = arg.find(':');
    if (colon == std::string_view::npos) {
      throw std::invalid_argument(std::string(source) + " needs A:B");
    }
    part.low = parse_int(arg.substr(0, colon), source);
    part.high = parse_int(arg.substr(colon + 1), source);
    if (part.low > part.high) throw std::invalid_argument("empty range in " + std::string(source));
  } else if (p.kind == "pick") {
    part.kind = PartKind::kPick;
    std::string_view rest = need_arg();
    for (;;) {
      const std::size_t bar = rest.find('|');
      part.choices.push_back(escaped(rest.substr(0, bar)));
      if (bar == std::string_view::npos) break;
      rest.remove_prefix(bar + 1);
    }
  } else {
    throw std::invalid_argument("unknown placeholder " + std::string(source));
  }
  return part;
}

void compile_string(std::string_view text, std::vector<Part>& parts) {
  auto first = next_placeholder(text, 0);
  if (first && first->begin == 0 && first->end == text.size() &&
      (first->kind == "int" || first->kind == "seq")) {
    parts.push_back(compile_placeholder(*first, text, true));
    return;
  }
  add_literal(parts, "\"");
  std::size_t done = 0;
  for (auto p = first; p; p = next_placeholder(text, p->end)) {
    add_literal(parts, escaped(text.substr(done, p->begin - done)));
    parts.push_back(compile_placeholder(*p, text, false));
    done = p->end;
  }
  add_literal(parts, escaped(text.substr(done)));
  add_literal(parts, "\"");
}

void compile_value(simdjson::dom::element value, std::vector<Part>& parts) {
  switch (value.type()) {
    case simdjson::dom::element_type::OBJECT: {
      add_literal(parts, "{");
      bool first = true;
      const simdjson::dom::object object = value.get_object().value_unsafe();
      for (auto field : object) {
        std::string key = first ? "" : ",";
        first = false;
        json::append_key(key, field.key);
        add_literal(parts, key);
        compile_value(field.value, parts);
      }
      add_literal(parts, "}");
      break;
    }
    case simdjson::dom::element_type::ARRAY: {
      add_literal(parts, "[");
      bool first = true;
      const simdjson::dom::array array = value.get_array().value_unsafe();
      for (auto item : array) {
        if (!first) add_literal(parts, ",");
        first = false;
        compile_value(item, parts);
      }
      add_literal(parts, "]");
      break;
    }
    case simdjson::dom::element_type::STRING:
      compile_string(value.get_string().value_unsafe(), parts);
      break;
    default:
      add_literal(parts, simdjson::minify(value));
  }
}

void append_uuid(std::string& out, std::mt19937_64& rng) {
  uint64_t hi = rng();
  uint64_t lo = rng();
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                         // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  char text[36];
  std::size_t n = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) text[n++] = '-';
    const uint64_t word = i < 16 ? hi : lo;
    text[n++] = kHex[(word >> (60 - 4 * (i % 16))) & 0xF];
  }
  out.append(text, sizeof(text));
}

void append_random_ip(std::string& out, const Cidr& network, std::mt19937_64& rng) {
  IpAddress ip = network.network;
  const int bytes = ip.bit_length() / 8;
  for (int i = 0; i < bytes; ++i) {
    const int host_bits = std::min(8, std::max(0, (i + 1) * 8 - network.prefix));
    const auto host_mask = static_cast<uint8_t>((1U << host_bits) - 1);
    ip.bytes[i] = static_cast<uint8_t>((ip.bytes[i] & ~host_mask) | (rng() & host_mask));
  }
  out += to_string(ip);
}

std::string utc_now_rfc3339() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  const std::size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(text, n);
}

}  // namespace

void write_seq(char* slot, uint64_t seq, bool number) {
  char* p = slot + kSeqWidth;
  do {
    *--p = static_cast<char>('0' + seq % 10);
    seq /= 10;
  } while (seq != 0 && p != slot);
  const char pad = number ? ' ' : '0';
  while (p != slot) *--p = pad;
}

EventTemplate EventTemplate::parse(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  try {
    root = json::parse(parser, text);
  } catch (const json::DecodeError& e) {
    throw std::invalid_argument(e.what());
  }
  if (root.type() != simdjson::dom::element_type::OBJECT) {
    throw std::invalid_argument("the template must be one JSON object");
  }
  EventTemplate tmpl;
  compile_value(root, tmpl.parts_);
  return tmpl;
}

PooledEvent EventTemplate::render(std::mt19937_64& rng, std::string_view now) const {
  PooledEvent event;
  std::string& out = event.text;
  for (const Part& part : parts_) {
    switch (part.kind) {
      case PartKind::kLiteral:
        out += part.text;
        break;
      case PartKind::kSeq:
      case PartKind::kSeqNumber: {
        const bool number = part.kind == PartKind::kSeqNumber;
        event.seq_slots.push_back(SeqSlot{static_cast<uint32_t>(out.size()), number});
        out.append(kSeqWidth, '0');
        write_seq(out.data() + out.size() - kSeqWidth, 0, number);
        break;
      }
      case PartKind::kUuid:
        append_uuid(out, rng);
        break;
      case PartKind::kNow:
        out += now;
        break;
      case PartKind::kIp:
        append_random_ip(out, part.network, rng);
        break;
      case PartKind::kInt:
      case PartKind::kIntNumber:
        json::append_int(out, std::uniform_int_distribution<int64_t>(part.low, part.high)(rng));
        break;
      case PartKind::kPick:
        out += part.choices[std::uniform_int_distribution<std::size_t>(
            0, part.choices.size() - 1)(rng)];
        break;
    }
  }
  return event;
}

std::vector<PooledEvent> build_pool(const EventTemplate& tmpl, std::size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::string now = utc_now_rfc3339();
  std::vector<PooledEvent> pool;
  pool.reserve(size);
  for (std::size_t i = 0; i < size; ++i) pool.push_back(tmpl.render(rng, now));
  return pool;
}

std::string_view content_type(BodyFormat format) {
  return format == BodyFormat::kNdjson ? "application/x-ndjson" : "application/json";
}

void append_body(std::string& out, const std::vector<PooledEvent>& pool, BodyFormat format,
                 uint64_t first_seq, std::size_t count) {
  if (format == BodyFormat::kArray) out.push_back('[');
  for (std::size_t k = 0; k < count; ++k) {
    const uint64_t seq = first_seq + k;
    const PooledEvent& event = pool[(seq - 1) % pool.size()];
    if (format == BodyFormat::kArray && k != 0) out.push_back(',');
    const std::size_t base = out.size();
    out += event.text;
    for (const SeqSlot& slot : event.seq_slots) {
      write_seq(out.data() + base + slot.offset, seq, slot.number);
    }
    if (format == BodyFormat::kNdjson) out.push_back('\n');
  }
  if (format == BodyFormat::kArray) out.push_back(']');
}

}  // namespace dsiem::tools::bench
