// `dsiem bench`: the target URL, response heads, latency histogram and the log line counter.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include "dsiem/tools/bench.h"

namespace dsiem::tools::bench {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

bool icontains(std::string_view text, std::string_view word) {
  for (std::size_t i = 0; i + word.size() <= text.size(); ++i) {
    if (iequals(text.substr(i, word.size()), word)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_loopback_host(std::string_view host) {
  if (iequals(host, "localhost")) return true;
  const auto ip = IpAddress::parse(host);
  if (!ip) return false;
  if (ip->v4) return ip->bytes[0] == 127;
  return *ip == *IpAddress::parse("::1");
}

// Histogram layout: values below 2^kExactBits are their own bucket; above, each power of two
// is split into 2^(kExactBits - 1) buckets.
constexpr int kExactBits = 8;
constexpr uint64_t kExact = uint64_t{1} << kExactBits;
constexpr uint64_t kSubBuckets = kExact / 2;
constexpr int kMaxBits = 44;  // values are capped just below 2^44 ns (about 4.9 hours)
constexpr std::size_t kBucketCount = kExact + (kMaxBits - kExactBits) * kSubBuckets;

std::size_t bucket_of(uint64_t value) {
  if (value < kExact) return static_cast<std::size_t>(value);
  const int msb = 63 - std::countl_zero(value);
  const int shift = msb - (kExactBits - 1);
  return static_cast<std::size_t>(kExact + (msb - kExactBits) * kSubBuckets +
                                  ((value >> shift) - kSubBuckets));
}

// The highest value that falls into `bucket`.
uint64_t bucket_high(std::size_t bucket) {
  if (bucket < kExact) return bucket;
  const uint64_t above = bucket - kExact;
  const int msb = static_cast<int>(above / kSubBuckets) + kExactBits;
  const int shift = msb - (kExactBits - 1);
  const uint64_t low = (above % kSubBuckets + kSubBuckets) << shift;
  return low + (uint64_t{1} << shift) - 1;
}

}  // namespace

Target parse_loopback_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size() || !iequals(url.substr(0, kScheme.size()), kScheme)) {
    throw std::invalid_argument("only http:// URLs are supported: " + std::string(url));
  }
  std::string_view rest = url.substr(kScheme.size());
  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  Target target;
  if (authority_end != std::string_view::npos) {
    std::string_view path = rest.substr(authority_end);
    path = path.substr(0, path.find('#'));
    target.path = (path.front() == '/' ? "" : "/") + std::string(path);
  }
  if (authority.find('@') != std::string_view::npos) {
    throw std::invalid_argument("user information is not supported in the URL");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("unclosed '[' in the URL");
    target.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      throw std::invalid_argument("bad host in the URL: " + std::string(authority));
    }
    if (!after.empty()) port_text = after.substr(1);
  } else {
    const std::size_t colon = authority.find(':');
    target.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (target.host.empty()) throw std::invalid_argument("no host in the URL");
  if (!port_text.empty()) {
    unsigned port = 0;
    const char* end = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    if (ec != std::errc() || ptr != end || port == 0 || port > 65535) {
      throw std::invalid_argument("bad port in the URL: " + std::string(port_text));
    }
    target.port = static_cast<uint16_t>(port);
  }
  if (!is_loopback_host(target.host)) {
    throw std::invalid_argument("refusing non-loopback host " + target.host +
                                " (only 127.0.0.0/8, localhost and ::1 are allowed)");
  }
  const bool v6 = target.host.find(':') != std::string::npos;
  target.host_header =
      (v6 ? "[" + target.host + "]" : target.host) + ":" + std::to_string(target.port);
  return target;
}

HeadParse parse_response_head(std::string_view data, ResponseHead& head) {
  constexpr std::size_t kMaxHead = 64 * 1024;
  const std::size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return data.size() > kMaxHead ? HeadParse::kMalformed : HeadParse::kIncomplete;
  }
  const std::string_view text = data.substr(0, end + 2);  // every line ends with CRLF
  std::size_t line_end = text.find("\r\n");
  const std::string_view status_line = text.substr(0, line_end);
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
    return HeadParse::kMalformed;
  }
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (status_line[i] < '0' || status_line[i] > '9') return HeadParse::kMalformed;
    status = status * 10 + (status_line[i] - '0');
  }
  head = ResponseHead{};
  head.status = status;
  head.header_bytes = end + 4;
  bool keep_alive = status_line[7] != '0';
  for (std::size_t start = line_end + 2; start < text.size(); start = line_end + 2) {
    line_end = text.find("\r\n", start);
    const std::string_view line = text.substr(start, line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return HeadParse::kMalformed;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      const auto [ptr, ec] =
          std::from_chars(value.data(), value.data() + value.size(), head.content_length);
      if (ec != std::errc() || ptr != value.data() + value.size()) return HeadParse::kMalformed;
    } else if (iequals(name, "connection")) {
      if (icontains(value, "close")) keep_alive = false;
      if (icontains(value, "keep-alive")) keep_alive = true;
    } else if (iequals(name, "transfer-encoding")) {
      return HeadParse::kMalformed;
    }
  }
  head.close = !keep_alive;
  return HeadParse::kComplete;
}

std::optional<uint64_t> accepted_count(std::string_view body) {
  constexpr std::string_view kKey = "\"accepted\"";
  const std::size_t key = body.find(kKey);
  if (key == std::string_view::npos) return std::nullopt;
  std::size_t i = key + kKey.size();
  const auto skip_space = [&] {
    while (i < body.size() &&
           (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) {
      ++i;
    }
  };
  skip_space();
  if (i >= body.size() || body[i] != ':') return std::nullopt;
  ++i;
  skip_space();
  uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(body.data() + i, body.data() + body.size(), value);
  if (ec != std::errc()) return std::nullopt;
  return value;
}

LatencyHistogram::LatencyHistogram() : buckets_(kBucketCount, 0) {}

void LatencyHistogram::record(uint64_t ns) {
  ns = std::min(ns, (uint64_t{1} << kMaxBits) - 1);
  ++buckets_[bucket_of(ns)];
  ++count_;
  max_ = std::max(max_, ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBucketCount; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  const auto wanted = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  const uint64_t rank = std::clamp<uint64_t>(wanted, 1, count_);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(bucket_high(i), max_);
  }
  return max_;
}

uint64_t LineCounter::count() {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path_, ec);
  if (ec) {
    offset_ = lines_ = 0;
    return 0;
  }
  if (size < offset_) offset_ = lines_ = 0;
  if (size == offset_) return lines_;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return lines_;
  in.seekg(static_cast<std::streamoff>(offset_));
  char chunk[64 * 1024];
  uint64_t left = size - offset_;
  while (left > 0 && in) {
    in.read(chunk, static_cast<std::streamsize>(std::min<uint64_t>(left, sizeof(chunk))));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    lines_ += static_cast<uint64_t>(std::count(chunk, chunk + got, '\n'));
    offset_ += got;
    left -= got;
  }
  return lines_;
}

}  // namespace dsiem::tools::bench
