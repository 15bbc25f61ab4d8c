#include "dsiem/node/event_ingest.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

namespace dsiem::node {

namespace {

// How often a full queue is retried while the request waits.
constexpr auto kRetryInterval = std::chrono::milliseconds(2);

http::Response text(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

EventIngest::EventIngest(const Clock& clock, EpsLimiter& limiter, HandOverFn hand_over,
                         std::function<bool()> ready)
    : clock_(clock),
      limiter_(limiter),
      hand_over_(std::move(hand_over)),
      ready_(std::move(ready)),
      work_(boost::asio::make_work_guard(timers_)) {
  thread_ = std::thread([this] { timers_.run(); });
}

EventIngest::~EventIngest() {
  stop();
}

void EventIngest::stop() {
  if (stopped_.exchange(true)) return;
  // Wake every waiting request: its handler sees the cancellation (or stopped_) and answers 503.
  boost::asio::post(timers_, [this] {
    std::lock_guard lock(waiting_mu_);
    for (boost::asio::steady_timer* t : waiting_) t->cancel();
  });
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<boost::asio::steady_timer> EventIngest::make_timer() {
  auto timer = std::shared_ptr<boost::asio::steady_timer>(new boost::asio::steady_timer(timers_),
                                                          [this](boost::asio::steady_timer* t) {
                                                            {
                                                              std::lock_guard lock(waiting_mu_);
                                                              waiting_.erase(t);
                                                            }
                                                            delete t;
                                                          });
  std::lock_guard lock(waiting_mu_);
  waiting_.insert(timer.get());
  return timer;
}

void EventIngest::add_routes(http::Router& router) {
  router.add("POST", "/events", [this](http::Request&& req, http::Responder respond) {
    handle(std::move(req), std::move(respond));
  });
}

void EventIngest::handle(http::Request&& req, http::Responder respond) {
  if (stopped_.load() || !ready_()) {
    respond(text(503, ""));
    return;
  }
  auto body = std::make_shared<std::string>(std::move(req.body));
  if (limiter_.enabled()) {
    const int64_t wait = limiter_.reserve();
    if (wait < 0) {
      respond(text(429, "Too many requests\n"));
      return;
    }
    if (wait > 0) {
      auto timer = make_timer();
      timer->expires_after(std::chrono::nanoseconds(wait));
      timer->async_wait([this, timer, body, respond](const boost::system::error_code& ec) {
        if (ec || stopped_.load()) {
          respond(text(503, ""));
          return;
        }
        admit(body, respond);
      });
      return;
    }
  }
  admit(std::move(body), std::move(respond));
}

void EventIngest::admit(std::shared_ptr<std::string> body, http::Responder respond) {
  const uint64_t conn_id = conn_counter_.fetch_add(1) + 1;
  window_requests_.fetch_add(1, std::memory_order_relaxed);
  auto e = std::make_shared<event::Event>();
  if (!event::decode(*body, *e)) {
    respond(text(500, "Cannot parse the submitted event\n"));
    return;
  }
  if (!event::is_valid(*e)) {
    respond(text(418, "Not a valid event\n"));
    return;
  }
  e->rcvd_time = clock_.now_ns();
  e->conn_id = conn_id;
  try_hand_over(std::move(e), clock_.now_ns() + kHandOverTimeoutNs, std::move(respond));
}

void EventIngest::try_hand_over(std::shared_ptr<event::Event> e, int64_t deadline_ns,
                                http::Responder respond) {
  // Once stopping, nothing more is taken: a client that gets 503 may safely send it again.
  if (stopped_.load()) {
    respond(text(503, ""));
    return;
  }
  switch (hand_over_(e)) {
    case HandOver::kAccepted:
      respond(text(200, ""));
      return;
    case HandOver::kUnavailable:
      respond(text(503, ""));
      return;
    case HandOver::kFull:
      break;
  }
  if (clock_.now_ns() >= deadline_ns) {
    respond(text(408, ""));
    return;
  }
  auto timer = make_timer();
  timer->expires_after(kRetryInterval);
  timer->async_wait(
      [this, timer, e = std::move(e), deadline_ns, respond](const boost::system::error_code& ec) {
        if (ec || stopped_.load()) {
          respond(text(503, ""));
          return;
        }
        try_hand_over(e, deadline_ns, respond);
      });
}

}  // namespace dsiem::node
