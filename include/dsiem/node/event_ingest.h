#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_set>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dsiem/common/clock.h"
#include "dsiem/event/batch.h"
#include "dsiem/event/event.h"
#include "dsiem/event/event_chunk.h"
#include "dsiem/event/event_pool.h"
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
// Hands over all of the chunk's events, in order, or none of them.
using HandOverFn = std::function<HandOver(const event::ChunkPtr&)>;

// POST /events (events.md §6): rate limit, decode, validate, stamp conn_id and rcvd_time, hand
// over. Waits (limiter, full queue) run on the ingest's own timer thread, never blocking an HTTP
// I/O thread.
//
// Batch bodies (a non-empty JSON array of objects, or NDJSON with Content-Type
// application/x-ndjson) are decoded event by event: the valid ones are taken, and the answer is
// a JSON summary
//   {"received":N,"accepted":K,"rejected":[{"index":I,"error":"..."}]}
// ("line" instead of "index" for NDJSON), status 200, or 400 when nothing could be accepted.
// A 429 (rate limit) or 503 (not ready, stopping, queue full for 10 s) refuses the whole body
// before any event is taken, so a client's retry never duplicates events. Any other array
// (empty, non-objects, broken) is a single event body and keeps the reference's 500 answer.
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
  struct Delivery;

  void handle(http::Request&& req, http::Responder respond);
  // Decodes element i of a batch body into `out`; false (with Go's message) when it fails.
  using DecodeElement = std::function<bool(std::size_t i, event::Event& out, std::string* error)>;
  // Decodes, validates and hands over the `count` elements of a batch body; `position` gives
  // the array index or NDJSON line number of element i for the answer.
  void handle_batch(std::size_t count, const DecodeElement& decode,
                    const std::function<std::size_t(std::size_t)>& position, bool ndjson,
                    http::Responder respond);
  // Waits for the limiter's tokens (or refuses with 429), then runs `admit`.
  void after_limiter(int64_t tokens, std::function<void()> admit, const http::Responder& respond);
  void admit(std::shared_ptr<std::string> body, http::Responder respond);
  void try_hand_over(std::shared_ptr<Delivery> d);
  // A timer on the ingest's thread that stop() can cancel.
  std::shared_ptr<boost::asio::steady_timer> make_timer();

  const Clock& clock_;
  EpsLimiter& limiter_;
  HandOverFn hand_over_;
  std::function<bool()> ready_;
  event::EventPool pool_;
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
