#include "dsiem/node/event_ingest.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

#include "dsiem/json/go_writer.h"

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

// One hand-over in progress: the events, the answer once they are taken, and the deadline.
struct EventIngest::Delivery {
  event::ChunkPtr events;
  http::Response accepted;
  int timeout_status = 408;  // the reference's answer for a single event; 503 for a batch
  int64_t deadline_ns = 0;
  http::Responder respond;
};

void EventIngest::handle(http::Request&& req, http::Responder respond) {
  if (stopped_.load() || !ready_()) {
    respond(text(503, ""));
    return;
  }
  // Batches are decoded right here, on the I/O thread that read them.
  if (event::is_ndjson(req.content_type)) {
    const auto lines = event::split_ndjson(req.body);
    handle_batch(
        lines.size(),
        [&](std::size_t i, event::Event& out, std::string* error) {
          return event::decode(lines[i].text, out, error);
        },
        [&](std::size_t i) { return lines[i].position; }, true, std::move(respond));
    return;
  }
  thread_local event::ParsedArray parsed;
  if (parsed.parse(req.body)) {
    handle_batch(
        parsed.size(),
        [&](std::size_t i, event::Event& out, std::string* error) {
          return parsed.decode(i, out, error);
        },
        [](std::size_t i) { return i; }, false, std::move(respond));
    return;
  }
  if (auto items = event::split_event_array(req.body)) {
    handle_batch(
        items->size(),
        [&](std::size_t i, event::Event& out, std::string* error) {
          return event::decode((*items)[i].text, out, error);
        },
        [&](std::size_t i) { return (*items)[i].position; }, false, std::move(respond));
    return;
  }
  auto body = std::make_shared<std::string>(std::move(req.body));
  after_limiter(
      1, [this, body, respond] { admit(body, respond); }, respond);
}

void EventIngest::after_limiter(int64_t tokens, std::function<void()> admit,
                                const http::Responder& respond) {
  const int64_t wait = limiter_.enabled() ? limiter_.reserve(tokens) : 0;
  if (wait < 0) {
    respond(text(429, "Too many requests\n"));
    return;
  }
  if (wait == 0) {
    admit();
    return;
  }
  auto timer = make_timer();
  timer->expires_after(std::chrono::nanoseconds(wait));
  timer->async_wait(
      [this, timer, admit = std::move(admit), respond](const boost::system::error_code& ec) {
        if (ec || stopped_.load()) {
          respond(text(503, ""));
          return;
        }
        admit();
      });
}

void EventIngest::admit(std::shared_ptr<std::string> body, http::Responder respond) {
  const uint64_t conn_id = conn_counter_.fetch_add(1) + 1;
  window_requests_.fetch_add(1, std::memory_order_relaxed);
  auto batch = pool_.acquire(1);
  event::Event& e = batch->events.front();
  if (!event::decode(*body, e)) {
    respond(text(500, "Cannot parse the submitted event\n"));
    return;
  }
  if (!event::is_valid(e)) {
    respond(text(418, "Not a valid event\n"));
    return;
  }
  e.rcvd_time = clock_.now_ns();
  e.conn_id = conn_id;
  auto d = std::make_shared<Delivery>();
  d->events = event::make_chunk(std::move(batch), e);
  d->accepted = text(200, "");
  d->deadline_ns = clock_.now_ns() + kHandOverTimeoutNs;
  d->respond = std::move(respond);
  try_hand_over(std::move(d));
}

void EventIngest::handle_batch(std::size_t count, const DecodeElement& decode,
                               const std::function<std::size_t(std::size_t)>& position, bool ndjson,
                               http::Responder respond) {
  // The valid events are decoded into the first slots of one pooled batch (a rejected one's
  // slot is reused by the next element), and handed over as pointers into it.
  auto batch = pool_.acquire(count);
  auto events = std::make_shared<event::EventChunk>();
  events->events.reserve(count);
  const char* position_key = ndjson ? "{\"line\":" : "{\"index\":";
  std::string rejected;
  std::string error;
  for (std::size_t i = 0; i < count; ++i) {
    event::Event& e = batch->events[events->events.size()];
    const char* why = nullptr;
    error.clear();
    if (!decode(i, e, &error)) {
      why = "Cannot parse the submitted event: ";
    } else if (!event::is_valid(e)) {
      why = "Not a valid event";
      error.clear();
    }
    if (why == nullptr) {
      events->events.push_back(&e);
      continue;
    }
    if (!rejected.empty()) rejected += ',';
    rejected += position_key;
    json::append_uint(rejected, position(i));
    rejected += ",\"error\":";
    json::append_string(rejected, std::string(why) + error);
    rejected += '}';
  }
  events->owner = batch;

  http::Response summary = text(200, "");
  summary.content_type = "application/json";
  summary.body = "{\"received\":";
  json::append_uint(summary.body, count);
  summary.body += ",\"accepted\":";
  json::append_uint(summary.body, events->events.size());
  summary.body += ",\"rejected\":[" + rejected + "]}";
  if (events->events.empty()) {
    if (count > 0) summary.status = 400;
    respond(std::move(summary));
    return;
  }
  const std::size_t accepted = events->events.size();
  after_limiter(
      static_cast<int64_t>(accepted),
      [this, batch, events, accepted, summary = std::move(summary), respond] {
        const uint64_t first_id = conn_counter_.fetch_add(accepted) + 1;
        window_requests_.fetch_add(accepted, std::memory_order_relaxed);
        const int64_t now = clock_.now_ns();
        // The accepted events are the first slots of the batch, still this request's own.
        for (std::size_t i = 0; i < accepted; ++i) {
          batch->events[i].rcvd_time = now;
          batch->events[i].conn_id = first_id + i;
        }
        auto d = std::make_shared<Delivery>();
        d->events = events;
        d->accepted = summary;
        d->timeout_status = 503;
        d->deadline_ns = now + kHandOverTimeoutNs;
        d->respond = respond;
        try_hand_over(std::move(d));
      },
      respond);
}

void EventIngest::try_hand_over(std::shared_ptr<Delivery> d) {
  // Once stopping, nothing more is taken: a client that gets 503 may safely send it again.
  if (stopped_.load()) {
    d->respond(text(503, ""));
    return;
  }
  switch (hand_over_(d->events)) {
    case HandOver::kAccepted:
      d->respond(std::move(d->accepted));
      return;
    case HandOver::kUnavailable:
      d->respond(text(503, ""));
      return;
    case HandOver::kFull:
      break;
  }
  if (clock_.now_ns() >= d->deadline_ns) {
    d->respond(text(d->timeout_status, ""));
    return;
  }
  auto timer = make_timer();
  timer->expires_after(kRetryInterval);
  timer->async_wait([this, timer, d = std::move(d)](const boost::system::error_code& ec) {
    if (ec || stopped_.load()) {
      d->respond(text(503, ""));
      return;
    }
    try_hand_over(d);
  });
}

}  // namespace dsiem::node
