// HTTP sending of `dsiem dtester dsiem` (tools.md §1.5 with T5, T6 and T9 fixed).

#include <utility>  // Boost 1.74's asio/awaitable.hpp uses std::exchange without including it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <deque>
#include <exception>
#include <iomanip>
#include <list>
#include <optional>
#include <stdexcept>

#include "dsiem/common/log.h"
#include "dsiem/tools/dtester.h"

namespace dsiem::tools {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::awaitable;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// Workers when --concurrency is 0 or less ("no limit"), kept below common descriptor limits.
constexpr int64_t kUnlimitedConcurrency = 256;

auto on_error(beast::error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

// What became of one POST: an HTTP status, or 0 and the transport error.
struct Outcome {
  int status = 0;
  std::string error;
};

// One keep-alive connection to the engine, used by one worker at a time.
class Connection {
 public:
  Connection(asio::io_context& io, const tcp::resolver::results_type& endpoints,
             const std::string& host, const std::string& url, std::chrono::milliseconds timeout)
      : stream_(io), endpoints_(endpoints), host_(host), url_(url), timeout_(timeout) {}

  awaitable<Outcome> post(const std::string& body) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/events", 11};
    req.set(bhttp::field::host, host_);
    req.set(bhttp::field::user_agent, "dsiem-dtester");
    req.set(bhttp::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    for (int attempt = 0;; ++attempt) {
      const bool reused = open_;
      beast::error_code ec;
      stream_.expires_after(timeout_);
      if (!open_) {
        co_await stream_.async_connect(endpoints_, on_error(ec));
        if (ec) {
          close();
          co_return Outcome{0, "Post \"" + url_ + "\": dial tcp " + host_ + ": " + ec.message()};
        }
        open_ = true;
      }
      co_await bhttp::async_write(stream_, req, on_error(ec));
      bhttp::response<bhttp::string_body> res;
      if (!ec) co_await bhttp::async_read(stream_, buffer_, res, on_error(ec));
      if (ec) {
        close();
        // The server may close an idle kept-alive connection just as it is reused: that request
        // never reached it, so it goes again once on a new connection.
        const bool closed_by_server = ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                                      ec == asio::error::connection_reset ||
                                      ec == asio::error::broken_pipe;
        if (reused && attempt == 0 && closed_by_server) continue;
        co_return Outcome{0, "Post \"" + url_ + "\": " + ec.message()};
      }
      if (!res.keep_alive()) close();
      co_return Outcome{static_cast<int>(res.result_int()), ""};
    }
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    open_ = false;
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const tcp::resolver::results_type& endpoints_;
  const std::string& host_;
  const std::string& url_;
  std::chrono::milliseconds timeout_;
  bool open_ = false;
};

class EventSender {
 public:
  EventSender(std::size_t directive_count, const DirectiveSource& source,
              const SendOptions& options, std::ostream& out)
      : directive_count_(directive_count),
        source_(source),
        options_(options),
        out_(out),
        workers_(options.concurrency <= 0 ? kUnlimitedConcurrency : options.concurrency),
        window_(static_cast<std::size_t>(std::max<int64_t>(2, 2 * workers_))),
        interval_(std::chrono::nanoseconds(1'000'000'000 / std::max<int64_t>(options.rps, 1))),
        wake_(io_, SteadyClock::time_point::max()),
        progress_timer_(io_) {}

  SendSummary run() {
    if (options_.rps <= 0) {
      throw std::runtime_error("--rps must be greater than 0, got " + std::to_string(options_.rps));
    }
    const bool v6 = options_.address.find(':') != std::string::npos;
    host_ = (v6 ? "[" + options_.address + "]" : options_.address) + ":" +
            std::to_string(options_.port);
    url_ = "http://" + host_ + "/events";
    beast::error_code ec;
    tcp::resolver resolver(io_);
    endpoints_ = resolver.resolve(options_.address, std::to_string(options_.port), ec);
    if (ec) throw std::runtime_error("lookup " + options_.address + ": " + ec.message());

    const auto started = SteadyClock::now();
    next_slot_ = started;
    fill_window();
    const auto rethrow = [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    };
    running_workers_ = workers_;
    for (int64_t i = 0; i < workers_; ++i) asio::co_spawn(io_, worker(), rethrow);
    asio::co_spawn(io_, progress(started), rethrow);
    io_.run();
    summary_.elapsed_seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    return summary_;
  }

 private:
  // A directive being driven: its events and how far it got.
  struct Active {
    DirectiveEvents events;
    std::size_t stage = 0;        // index into events.stages
    std::size_t outstanding = 0;  // events of that stage not answered yet
  };
  using ActiveIt = std::list<Active>::iterator;
  struct Job {
    ActiveIt directive;
    std::size_t copy = 0;
  };

  // Starts directives in load order while fewer than window_ are in progress, so memory stays
  // bounded and every directive gets going.
  void fill_window() {
    while (active_.size() < window_ && next_directive_ < directive_count_) {
      DirectiveEvents events = source_(next_directive_++);
      if (events.event_count() == 0) continue;
      ++summary_.directives;
      active_.push_back(Active{std::move(events)});
      queue_stage(std::prev(active_.end()));
    }
  }

  // Queues every event of the directive's next non-empty stage, or retires the directive.
  void queue_stage(ActiveIt a) {
    auto& stages = a->events.stages;
    while (a->stage < stages.size() && stages[a->stage].events.empty()) ++a->stage;
    if (a->stage == stages.size()) {
      active_.erase(a);
      return;
    }
    a->outstanding = stages[a->stage].events.size();
    for (std::size_t i = 0; i < a->outstanding; ++i) ready_.push_back(Job{a, i});
  }

  void answered(const Job& job) {
    const ActiveIt a = job.directive;
    if (--a->outstanding == 0) {
      // Stage complete: only now may the next one go out (T5).
      std::vector<event::Event>().swap(a->events.stages[a->stage].events);
      ++a->stage;
      queue_stage(a);
      fill_window();
    }
    wake_.cancel();  // waiting workers re-check the queue
  }

  bool exhausted() const {
    return ready_.empty() && active_.empty() && next_directive_ >= directive_count_;
  }

  awaitable<std::optional<Job>> next_job() {
    for (;;) {
      if (!ready_.empty()) {
        const Job job = ready_.front();
        ready_.pop_front();
        co_return job;
      }
      if (exhausted()) co_return std::nullopt;
      beast::error_code ec;
      co_await wake_.async_wait(on_error(ec));  // woken by cancel()
    }
  }

  awaitable<void> worker() {
    Connection conn(io_, endpoints_, host_, url_, options_.timeout);
    asio::steady_timer pace(io_);
    for (;;) {
      const std::optional<Job> job = co_await next_job();
      if (!job) break;
      // The rate limit: every send takes the next free 1/rps slot.
      const auto now = SteadyClock::now();
      const auto slot = std::max(now, next_slot_);
      next_slot_ = slot + interval_;
      if (slot > now) {
        beast::error_code ec;
        pace.expires_at(slot);
        co_await pace.async_wait(on_error(ec));
      }
      StageEvents& stage = job->directive->events.stages[job->directive->stage];
      event::Event& e = stage.events[job->copy];
      e.timestamp = rfc3339_utc(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
      const std::string body = event::encode(e);
      const Outcome outcome = co_await conn.post(body);
      record(stage, job->copy, outcome, body);
      answered(*job);
    }
    conn.close();
    if (--running_workers_ == 0) progress_timer_.cancel();
  }

  void record(const StageEvents& stage, std::size_t copy, const Outcome& outcome,
              const std::string& body) {
    ++summary_.sent;
    if (outcome.status >= 200 && outcome.status < 300) {
      ++summary_.accepted;
      if (options_.verbose) {
        out_ << "Sent event for stage: " << stage.stage << " order #: " << copy << "\n"
             << body << "\n";
      }
    } else if (outcome.status != 0) {
      if (summary_.refused[outcome.status]++ == 0) {
        log::warn("Event refused with HTTP status " + std::to_string(outcome.status));
      }
    } else if (summary_.transport_errors[outcome.error]++ == 0) {
      log::warn("Cannot send event: " + outcome.error);
    }
  }

  awaitable<void> progress(SteadyClock::time_point started) {
    if (options_.progress_interval.count() <= 0) co_return;
    uint64_t last_sent = 0;
    auto last = started;
    while (running_workers_ > 0) {
      beast::error_code ec;
      progress_timer_.expires_after(options_.progress_interval);
      co_await progress_timer_.async_wait(on_error(ec));
      if (running_workers_ == 0) break;
      const auto now = SteadyClock::now();
      const double seconds = std::chrono::duration<double>(now - last).count();
      const double rate =
          seconds > 0 ? static_cast<double>(summary_.sent - last_sent) / seconds : 0;
      last = now;
      last_sent = summary_.sent;
      out_ << "sent " << summary_.sent << ", accepted " << summary_.accepted << ", failed "
           << summary_.failed() << ", directives " << summary_.directives << ", "
           << static_cast<int64_t>(rate + 0.5) << " events/s" << std::endl;
    }
  }

  const std::size_t directive_count_;
  const DirectiveSource& source_;
  const SendOptions& options_;
  std::ostream& out_;
  const int64_t workers_;
  const std::size_t window_;
  const SteadyClock::duration interval_;

  asio::io_context io_;
  tcp::resolver::results_type endpoints_;
  std::string host_;
  std::string url_;
  asio::steady_timer wake_;  // never expires; cancel() wakes every waiting worker
  asio::steady_timer progress_timer_;
  SteadyClock::time_point next_slot_;

  std::list<Active> active_;
  std::deque<Job> ready_;
  std::size_t next_directive_ = 0;
  int64_t running_workers_ = 0;
  SendSummary summary_;
};

}  // namespace

uint64_t SendSummary::failed() const {
  uint64_t n = 0;
  for (const auto& [status, count] : refused) n += count;
  for (const auto& [error, count] : transport_errors) n += count;
  return n;
}

SendSummary send_events(std::size_t directive_count, const DirectiveSource& source,
                        const SendOptions& options, std::ostream& out) {
  EventSender sender(directive_count, source, options, out);
  return sender.run();
}

void print_summary(const SendSummary& s, std::ostream& out) {
  out << "Events sent: " << s.sent << "\n";
  out << "Accepted: " << s.accepted << "\n";
  out << "Failed: " << s.failed() << "\n";
  for (const auto& [status, count] : s.refused) {
    out << "  HTTP " << status << ": " << count << "\n";
  }
  for (const auto& [error, count] : s.transport_errors) {
    out << "  " << error << ": " << count << "\n";
  }
  out << "Directives driven: " << s.directives << "\n";
  const double rate = s.elapsed_seconds > 0 ? static_cast<double>(s.sent) / s.elapsed_seconds : 0;
  out << "Elapsed: " << std::fixed << std::setprecision(2) << s.elapsed_seconds << " s ("
      << std::setprecision(1) << rate << " events/s)" << std::defaultfloat << std::endl;
}

}  // namespace dsiem::tools
