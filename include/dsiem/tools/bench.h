#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "dsiem/common/ip.h"

// `dsiem bench`: an HTTP load generator for a running engine's POST /events (loopback only).
// A pool of events is rendered once from a template and cycled; every event still gets a
// unique {{seq}} because the number is patched into a fixed-width slot at send time.
// docs/tools/bench.md describes the command.
namespace dsiem::tools {

// The `dsiem bench` command line (`args` follow the tool name). Exit code 0 when the run
// completed and at least one event was accepted, 1 otherwise (bad flags, a non-loopback URL,
// an unusable template, nothing accepted).
int run_bench(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

namespace bench {

// ---- Event template and pool ------------------------------------------------------------

// Digits of a {{seq}} slot: enough for 10^12 - 1 events, which no run bounded to 600 s reaches.
inline constexpr std::size_t kSeqWidth = 12;
inline constexpr uint64_t kMaxSeq = 999'999'999'999;

// Where a {{seq}} goes in a rendered event. Inside a string the slot holds zero-padded digits
// ("ev-000000000042"); a whole-string {{seq}} becomes a JSON number right-aligned in the slot
// with leading spaces (JSON allows white space before a value; leading zeros it does not).
struct SeqSlot {
  uint32_t offset = 0;
  bool number = false;
};

// One event of the pool: compact JSON text whose {{seq}} slots are patched per request.
struct PooledEvent {
  std::string text;
  std::vector<SeqSlot> seq_slots;
};

// Writes `seq` into the kSeqWidth bytes at `slot` (zero-padded, or space-padded for a
// number slot). `seq` must not exceed kMaxSeq.
void write_seq(char* slot, uint64_t seq, bool number);

// A parsed event template: one JSON object whose string values may hold placeholders (the
// same as /work/shared/bench/loadgen.py):
//   {{seq}}         the request's sequence number (1, 2, ...), rendered at send time
//   {{uuid}}        a random UUID version 4
//   {{now}}         the UTC time the pool was built, RFC 3339 ("2024-01-02T03:04:05Z")
//   {{ip:CIDR}}     a random address inside CIDR (IPv4 or IPv6), network and broadcast included
//   {{int:A:B}}     a random integer A..B (inclusive)
//   {{pick:a|b|c}}  one of the choices
// A string value that is exactly one {{int:..}} or {{seq}} becomes a JSON number. Object keys
// are not rendered. Other values are copied (minified).
class EventTemplate {
 public:
  // Throws std::invalid_argument: not a JSON object, an unknown placeholder, a bad argument
  // (CIDR, integer range, empty pick list).
  static EventTemplate parse(std::string_view json);

  // Renders one event with random values drawn from `rng`; {{now}} becomes `now`.
  PooledEvent render(std::mt19937_64& rng, std::string_view now) const;

  enum class PartKind { kLiteral, kSeq, kSeqNumber, kUuid, kNow, kIp, kInt, kIntNumber, kPick };
  // A piece of JSON text (already escaped) or one placeholder.
  struct Part {
    PartKind kind = PartKind::kLiteral;
    std::string text;                  // kLiteral
    Cidr network;                      // kIp
    int64_t low = 0, high = 0;         // kInt, kIntNumber
    std::vector<std::string> choices;  // kPick, each already escaped
  };

 private:
  std::vector<Part> parts_;
};

// `size` events rendered with a generator seeded by `seed`; {{now}} is the current UTC time.
std::vector<PooledEvent> build_pool(const EventTemplate& tmpl, std::size_t size, uint64_t seed);

// ---- Request bodies -----------------------------------------------------------------------

enum class BodyFormat {
  kSingle,  // one event object per request
  kArray,   // a JSON array of events
  kNdjson,  // one event per line
};

// The Content-Type of a body of this format.
std::string_view content_type(BodyFormat format);

// Appends the body of one request carrying `count` events (exactly 1 for kSingle), numbered
// first_seq, first_seq + 1, ...; event number s is pool[(s - 1) % pool.size()] with its {{seq}}
// slots set to s. Only copies: once `out` has grown to the largest body, nothing is allocated.
void append_body(std::string& out, const std::vector<PooledEvent>& pool, BodyFormat format,
                 uint64_t first_seq, std::size_t count);

// ---- Target URL ---------------------------------------------------------------------------

struct Target {
  std::string host;  // for the resolver: "127.0.0.1", "localhost", "::1"
  uint16_t port = 80;
  std::string path = "/";   // request target, query included
  std::string host_header;  // "127.0.0.1:8080", "[::1]:8080"
};

// Parses "http://HOST[:PORT][/PATH]" and accepts only loopback hosts: 127.0.0.0/8,
// "localhost" and ::1. Throws std::invalid_argument with the reason.
Target parse_loopback_url(std::string_view url);

// ---- Responses ----------------------------------------------------------------------------

struct ResponseHead {
  int status = 0;
  std::size_t header_bytes = 0;    // status line and headers, the blank line included
  std::size_t content_length = 0;  // 0 when the header is absent
  bool close = false;              // the server closes the connection after this response
};

enum class HeadParse { kIncomplete, kComplete, kMalformed };

// Parses the head of an HTTP/1.x response at the start of `data`. Bodies must be delimited by
// Content-Length (the engine always sends it); Transfer-Encoding is reported as kMalformed.
HeadParse parse_response_head(std::string_view data, ResponseHead& head);

// The "accepted" count of a batch answer ({"received":N,"accepted":K,"rejected":[...]}), or
// nullopt when the body has none (single-event answers are empty).
std::optional<uint64_t> accepted_count(std::string_view body);

// ---- Statistics ---------------------------------------------------------------------------

// Latencies in nanoseconds in log-linear buckets: exact below 256 ns, then 128 buckets per
// power of two, so a reported percentile is within 0.8 % of the recorded value. Fixed size
// (about 38 KiB), no allocation when recording.
class LatencyHistogram {
 public:
  LatencyHistogram();
  void record(uint64_t ns);
  void merge(const LatencyHistogram& other);
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // The value at percentile `p` (0 < p <= 100): the highest value of the bucket that holds
  // the ceil(p% x count)-th smallest recording, capped at max(). 0 when empty.
  uint64_t percentile(double p) const;

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

// Counts the lines of a file that only grows (an engine log), reading only what was appended
// since the previous call. A missing file counts 0; a file that shrank is counted again.
class LineCounter {
 public:
  explicit LineCounter(std::filesystem::path path) : path_(std::move(path)) {}
  uint64_t count();

 private:
  std::filesystem::path path_;
  uint64_t offset_ = 0;
  uint64_t lines_ = 0;
};

// ---- The load run -------------------------------------------------------------------------

struct LoadOptions {
  Target target;
  int connections = 16;
  int threads = 1;                             // I/O threads
  std::chrono::milliseconds duration{10'000};  // no new request after this
  uint64_t max_events = 0;                     // 0: no limit
  double rate = 0;                             // events/s over all connections; 0: no pacing
  BodyFormat format = BodyFormat::kSingle;
  std::size_t batch = 1;                              // events per request (1 for kSingle)
  std::chrono::milliseconds request_timeout{10'000};  // then the connection is reopened
  std::filesystem::path alarm_events;                 // empty: correlation is not counted
  std::chrono::milliseconds drain_quiet{2'000};       // the count stopped growing for this long
  std::chrono::milliseconds drain_max{30'000};        // give up waiting after this
  // Only reported in the summary: how the pool was built.
  std::size_t pool_size = 0;
  uint64_t seed = 0;
};

struct LoadResult {
  double elapsed_s = 0;          // from the first connection attempt until the last answer
  uint64_t events_sent = 0;      // events in requests fully written
  uint64_t events_accepted = 0;  // per the answers (2xx; batch answers: their "accepted")
  uint64_t requests = 0;         // answered requests
  std::map<int, uint64_t> status_counts;
  uint64_t connection_errors = 0;  // failed connects, reads, writes, malformed answers, timeouts
  uint64_t timeouts = 0;
  LatencyHistogram latency;  // write start → complete answer, answered requests only
  bool correlation_counted = false;
  uint64_t correlated = 0;      // lines appended to alarm_events since the start
  double correlated_s = 0;      // from the start until the count stopped growing
  bool drain_complete = false;  // the count settled before drain_max
};

// Drives the load. Writes a progress line to `progress` (when not null) every second.
LoadResult run_load(const LoadOptions& options, const std::vector<PooledEvent>& pool,
                    std::ostream* progress);

// The summary, as aligned text lines or as one JSON object (and a newline).
void print_summary(std::ostream& out, const LoadOptions& options, const LoadResult& result,
                   std::string_view url, bool as_json);

}  // namespace bench
}  // namespace dsiem::tools
