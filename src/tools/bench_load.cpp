// `dsiem bench`: the load itself. Each I/O thread runs its own io_context with its share of
// the keep-alive connections, so a connection's counters and histogram are only written by
// one thread. A connection sends one request at a time (no pipelining) and reuses its
// request and read buffers, so the steady state allocates nothing per request.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "dsiem/tools/bench.h"

namespace dsiem::tools::bench {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr std::size_t kMaxResponseBytes = 64 * 1024 * 1024;
constexpr std::chrono::milliseconds kReconnectDelay{50};
constexpr std::chrono::milliseconds kTimeoutCheckPeriod{250};

// A counter with a single writer (its I/O thread) read by the progress reporter: a relaxed
// load and store instead of a locked read-modify-write.
class Counter {
 public:
  void add(uint64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// What every connection shares: read-only settings and the global sequence counter.
struct Shared {
  Shared(const LoadOptions& o, const std::vector<PooledEvent>& p) : options(o), pool(p) {}

  const LoadOptions& options;
  const std::vector<PooledEvent>& pool;
  std::vector<tcp::endpoint> endpoints;
  std::string header_prefix;  // the request head up to the Content-Length value
  SteadyClock::time_point start;
  SteadyClock::time_point deadline;
  uint64_t last_seq = kMaxSeq;  // the last event number to send
  double ns_per_event = 0;      // pacing; 0: as fast as possible
  std::atomic<uint64_t> next_seq{1};
  std::atomic<int> open_connections{0};

  // No new request may start: the duration is over or every event has been taken.
  bool load_over(SteadyClock::time_point now) const {
    return now >= deadline || next_seq.load(std::memory_order_relaxed) > last_seq;
  }
};

class Connection;

struct Worker {
  net::io_context io{1};
  net::steady_timer ticker{io};
  std::vector<std::unique_ptr<Connection>> connections;
  int open = 0;
  SteadyClock::time_point all_finished_at;  // when `open` dropped to 0
  Counter events_sent, events_accepted, requests, errors, timeouts;
  std::array<uint64_t, 1000> status_counts{};  // read after the thread has ended
  LatencyHistogram latency;
  std::thread thread;
};

class Connection {
 public:
  Connection(Shared& shared, Worker& worker)
      : shared_(shared), worker_(worker), socket_(worker.io), timer_(worker.io) {
    read_buf_.resize(16 * 1024);
  }

  void start() {
    ++worker_.open;
    connect();
  }

  // From the worker's ticker: a connect or request unanswered for too long is abandoned
  // (closing the socket completes the pending operation with an error).
  void check_timeout(SteadyClock::time_point now) {
    if (pending_ && !timed_out_ && now - pending_since_ > shared_.options.request_timeout) {
      timed_out_ = true;
      error_code ignored;
      socket_.close(ignored);
    }
  }

  bool finished() const { return finished_; }

 private:
  void connect() {
    pending_since_ = SteadyClock::now();
    pending_ = true;
    timed_out_ = false;
    net::async_connect(socket_, shared_.endpoints,
                       [this](const error_code& ec, const tcp::endpoint&) { on_connect(ec); });
  }

  void on_connect(const error_code& ec) {
    pending_ = false;
    if (ec) {
      worker_.errors.add(1);
      if (timed_out_) worker_.timeouts.add(1);
      if (shared_.load_over(SteadyClock::now() + kReconnectDelay)) return finish();
      timer_.expires_after(kReconnectDelay);
      timer_.async_wait([this](const error_code&) { connect(); });
      return;
    }
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    read_len_ = 0;
    next_request();
  }

  void next_request() {
    const auto now = SteadyClock::now();
    if (now >= shared_.deadline) return finish();
    const uint64_t batch = shared_.options.batch;
    const uint64_t first = shared_.next_seq.fetch_add(batch, std::memory_order_relaxed);
    if (first > shared_.last_seq) return finish();
    first_seq_ = first;
    count_ = std::min<uint64_t>(batch, shared_.last_seq - first + 1);
    if (shared_.ns_per_event > 0) {
      const auto due = shared_.start + std::chrono::nanoseconds(static_cast<int64_t>(
                                           static_cast<double>(first - 1) * shared_.ns_per_event));
      if (due >= shared_.deadline) return finish();
      if (due > now) {
        timer_.expires_at(due);
        timer_.async_wait([this](const error_code&) { send(); });
        return;
      }
    }
    send();
  }

  void send() {
    body_.clear();
    append_body(body_, shared_.pool, shared_.options.format, first_seq_, count_);
    header_.assign(shared_.header_prefix);
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), body_.size());
    header_.append(digits, end);
    header_.append("\r\n\r\n");
    pending_since_ = SteadyClock::now();
    pending_ = true;
    timed_out_ = false;
    const std::array<net::const_buffer, 2> buffers{net::buffer(header_), net::buffer(body_)};
    net::async_write(socket_, buffers, [this](const error_code& ec, std::size_t) {
      if (ec) return fail();
      worker_.events_sent.add(count_);
      read_more();
    });
  }

  void read_more() {
    if (read_len_ == read_buf_.size()) read_buf_.resize(read_buf_.size() * 2);
    socket_.async_read_some(net::buffer(read_buf_.data() + read_len_, read_buf_.size() - read_len_),
                            [this](const error_code& ec, std::size_t n) {
                              if (ec) return fail();
                              read_len_ += n;
                              on_data();
                            });
  }

  void on_data() {
    const std::string_view data(read_buf_.data(), read_len_);
    ResponseHead head;
    const HeadParse parsed = parse_response_head(data, head);
    if (parsed == HeadParse::kMalformed) return fail();
    if (parsed == HeadParse::kIncomplete) return read_more();
    const std::size_t total = head.header_bytes + head.content_length;
    if (total > kMaxResponseBytes) return fail();
    if (read_len_ < total) {
      if (read_buf_.size() < total) read_buf_.resize(total);
      return read_more();
    }
    complete(head, data.substr(head.header_bytes, head.content_length));
    // Nothing should follow (one request at a time), but keep whatever did.
    std::memmove(read_buf_.data(), read_buf_.data() + total, read_len_ - total);
    read_len_ -= total;
    if (head.close) {
      error_code ignored;
      socket_.close(ignored);
      if (shared_.load_over(SteadyClock::now())) return finish();
      return connect();
    }
    next_request();
  }

  void complete(const ResponseHead& head, std::string_view body) {
    pending_ = false;
    const auto elapsed = SteadyClock::now() - pending_since_;
    worker_.latency.record(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()));
    worker_.requests.add(1);
    if (head.status >= 0 && head.status < static_cast<int>(worker_.status_counts.size())) {
      ++worker_.status_counts[static_cast<std::size_t>(head.status)];
    }
    const bool success = head.status >= 200 && head.status < 300;
    uint64_t accepted = success ? count_ : 0;
    if (shared_.options.format != BodyFormat::kSingle) {
      if (const auto reported = accepted_count(body)) accepted = std::min(*reported, count_);
    }
    worker_.events_accepted.add(accepted);
  }

  void fail() {
    worker_.errors.add(1);
    if (timed_out_) worker_.timeouts.add(1);
    pending_ = false;
    error_code ignored;
    socket_.close(ignored);
    if (shared_.load_over(SteadyClock::now())) return finish();
    connect();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    error_code ignored;
    socket_.close(ignored);
    if (--worker_.open == 0) {
      worker_.all_finished_at = SteadyClock::now();
      worker_.ticker.cancel();
    }
    shared_.open_connections.fetch_sub(1);
  }

  Shared& shared_;
  Worker& worker_;
  tcp::socket socket_;
  net::steady_timer timer_;  // pacing and reconnect delays
  std::string header_;
  std::string body_;
  std::vector<char> read_buf_;
  std::size_t read_len_ = 0;
  uint64_t first_seq_ = 0;
  uint64_t count_ = 0;
  SteadyClock::time_point pending_since_;  // start of the pending connect or request
  bool pending_ = false;
  bool timed_out_ = false;
  bool finished_ = false;
};

void tick(Worker& worker) {
  if (worker.open == 0) return;
  worker.ticker.expires_after(kTimeoutCheckPeriod);
  worker.ticker.async_wait([&worker](const error_code& ec) {
    if (ec) return;  // cancelled: the last connection finished
    const auto now = SteadyClock::now();
    for (auto& c : worker.connections) {
      if (!c->finished()) c->check_timeout(now);
    }
    tick(worker);
  });
}

std::vector<tcp::endpoint> resolve_loopback(const Target& target) {
  net::io_context io;
  tcp::resolver resolver(io);
  error_code ec;
  const auto results = resolver.resolve(target.host, std::to_string(target.port), ec);
  if (ec) throw std::runtime_error("cannot resolve " + target.host + ": " + ec.message());
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) {
    if (entry.endpoint().address().is_loopback()) endpoints.push_back(entry.endpoint());
  }
  if (endpoints.empty()) {
    throw std::runtime_error(target.host + " does not resolve to a loopback address");
  }
  return endpoints;
}

double seconds_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Waits until the alarm-event count has not grown for drain_quiet (at most drain_max after
// the load), then fills the correlation fields of `result`.
void wait_for_correlation(const LoadOptions& options, LineCounter& counter, uint64_t before,
                          SteadyClock::time_point start, SteadyClock::time_point load_end,
                          LoadResult& result) {
  constexpr std::chrono::milliseconds kPoll{250};
  uint64_t last = counter.count();
  auto last_growth = load_end;
  const auto give_up = load_end + options.drain_max;
  result.drain_complete = false;
  for (;;) {
    const auto now = SteadyClock::now();
    if (now - last_growth >= options.drain_quiet) {
      result.drain_complete = true;
      break;
    }
    if (now >= give_up) break;
    std::this_thread::sleep_for(kPoll);
    const uint64_t current = counter.count();
    if (current != last) {
      last = current;
      last_growth = SteadyClock::now();
    }
  }
  result.correlation_counted = true;
  result.correlated = last >= before ? last - before : 0;
  result.correlated_s = seconds_between(start, last_growth);
}

}  // namespace

LoadResult run_load(const LoadOptions& options, const std::vector<PooledEvent>& pool,
                    std::ostream* progress) {
  if (pool.empty()) throw std::invalid_argument("the event pool is empty");
  Shared shared(options, pool);
  shared.endpoints = resolve_loopback(options.target);
  shared.header_prefix =
      "POST " + options.target.path + " HTTP/1.1\r\nHost: " + options.target.host_header +
      "\r\nUser-Agent: dsiem-bench\r\nContent-Type: " + std::string(content_type(options.format)) +
      "\r\nContent-Length: ";
  if (options.max_events > 0) shared.last_seq = std::min(options.max_events, kMaxSeq);
  if (options.rate > 0) shared.ns_per_event = 1e9 / options.rate;

  std::optional<LineCounter> alarm_events;
  uint64_t alarm_events_before = 0;
  if (!options.alarm_events.empty()) {
    alarm_events.emplace(options.alarm_events);
    alarm_events_before = alarm_events->count();
  }

  const int thread_count = std::max(1, options.threads);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < thread_count; ++i) workers.push_back(std::make_unique<Worker>());
  for (int i = 0; i < std::max(1, options.connections); ++i) {
    Worker& w = *workers[static_cast<std::size_t>(i % thread_count)];
    w.connections.push_back(std::make_unique<Connection>(shared, w));
  }
  shared.open_connections = std::max(1, options.connections);
  shared.start = SteadyClock::now();
  shared.deadline = shared.start + options.duration;
  for (auto& w : workers) {
    for (auto& c : w->connections) c->start();
    tick(*w);
    w->thread = std::thread([&io = w->io] { io.run(); });
  }

  // Progress, once a second, until every connection is done.
  uint64_t last_sent = 0;
  auto last_report = shared.start;
  auto next_report = shared.start + std::chrono::seconds(1);
  while (shared.open_connections.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto now = SteadyClock::now();
    if (progress == nullptr || now < next_report) continue;
    uint64_t sent = 0, accepted = 0, errors = 0;
    for (auto& w : workers) {
      sent += w->events_sent.get();
      accepted += w->events_accepted.get();
      errors += w->errors.get();
    }
    char line[256];
    int n = std::snprintf(
        line, sizeof(line), "[%4.0fs] sent %llu events (%.0f/s), accepted %llu, errors %llu",
        seconds_between(shared.start, now), static_cast<unsigned long long>(sent),
        static_cast<double>(sent - last_sent) / std::max(1e-3, seconds_between(last_report, now)),
        static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(errors));
    if (alarm_events && n > 0 && static_cast<std::size_t>(n) < sizeof(line)) {
      const uint64_t lines = alarm_events->count();
      std::snprintf(line + n, sizeof(line) - static_cast<std::size_t>(n), ", correlated %llu",
                    static_cast<unsigned long long>(
                        lines >= alarm_events_before ? lines - alarm_events_before : 0));
    }
    *progress << line << std::endl;
    last_sent = sent;
    last_report = now;
    next_report += std::chrono::seconds(1);
    if (next_report < now) next_report = now + std::chrono::seconds(1);
  }
  auto load_end = shared.start;
  for (auto& w : workers) {
    w->thread.join();
    load_end = std::max(load_end, w->all_finished_at);
  }

  LoadResult result;
  result.elapsed_s = seconds_between(shared.start, load_end);
  for (auto& w : workers) {
    result.events_sent += w->events_sent.get();
    result.events_accepted += w->events_accepted.get();
    result.requests += w->requests.get();
    result.connection_errors += w->errors.get();
    result.timeouts += w->timeouts.get();
    result.latency.merge(w->latency);
    for (std::size_t status = 0; status < w->status_counts.size(); ++status) {
      if (w->status_counts[status] != 0) {
        result.status_counts[static_cast<int>(status)] += w->status_counts[status];
      }
    }
  }
  if (alarm_events) {
    wait_for_correlation(options, *alarm_events, alarm_events_before, shared.start, load_end,
                         result);
  }
  return result;
}

}  // namespace dsiem::tools::bench
