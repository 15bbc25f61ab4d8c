#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dsiem/common/clock.h"
#include "dsiem/event/event.h"
#include "dsiem/http/router.h"
#include "dsiem/node/eps_limiter.h"

namespace dsiem::node {

// Result of handing an accepted event to the next stage (the correlation queue, or the NATS
// publisher).
enum class HandOver {
  kAccepted,     // taken (or deliberately dropped, e.g. a whitelisted source)
  kFull,         // no room now: try again until the 10 s hand-over deadline (then 408)
  kUnavailable,  // cannot take events at all now (503)
};
using HandOverFn = std::function<HandOver(std::shared_ptr<event::Event>)>;

// POST /events (events.md §6): rate limit, decode, validate, stamp conn_id and rcvd_time, hand
// over. Waits (limiter, full queue) run on the ingest's own timer thread, never blocking an HTTP
// I/O thread.
class EventIngest {
 public:
  // The hand-over of one event gives up after this long (408).
  static constexpr int64_t kHandOverTimeoutNs = 10'000'000'000;

  EventIngest(const Clock& clock, EpsLimiter& limiter, HandOverFn hand_over,
              std::function<bool()> ready);
  ~EventIngest();

  void add_routes(http::Router& router);
  // Stops the timer thread; requests still waiting are answered 503.
  void stop();

  // /events requests that passed the limiter since the last call (the events/second window).
  uint64_t take_request_count() { return window_requests_.exchange(0); }
  uint64_t requests() const { return conn_counter_.load(); }

 private:
  void handle(http::Request&& req, http::Responder respond);
  void admit(std::shared_ptr<std::string> body, http::Responder respond);
  void try_hand_over(std::shared_ptr<event::Event> e, int64_t deadline_ns, http::Responder respond);
  // A timer on the ingest's thread that stop() can cancel.
  std::shared_ptr<boost::asio::steady_timer> make_timer();

  const Clock& clock_;
  EpsLimiter& limiter_;
  HandOverFn hand_over_;
  std::function<bool()> ready_;
  std::atomic<uint64_t> conn_counter_{0};
  std::atomic<uint64_t> window_requests_{0};
  std::atomic<bool> stopped_{false};
  std::mutex waiting_mu_;
  std::unordered_set<boost::asio::steady_timer*> waiting_;
  boost::asio::io_context timers_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace dsiem::node
