#include "dsiem/bus/event_publisher.h"

#include <chrono>

#include "dsiem/common/log.h"

namespace dsiem::bus {

namespace {

// The reference's error channel holds 10 errors; each one fails one request with 503.
constexpr std::size_t kMaxPendingErrors = 10;
// Pause after a failed publish before retrying (as the reference does).
constexpr auto kErrorPause = std::chrono::seconds(1);

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

EventPublisher::EventPublisher(NatsConnection& connection, std::size_t capacity)
    : connection_(connection), capacity_(capacity), thread_([this] { run(); }) {}

EventPublisher::~EventPublisher() {
  stop(0);
}

EventPublisher::Offer EventPublisher::offer(std::shared_ptr<const event::Event> e) {
  return offer(std::span<const std::shared_ptr<const event::Event>>(&e, 1));
}

EventPublisher::Offer EventPublisher::offer(
    std::span<const std::shared_ptr<const event::Event>> events) {
  std::lock_guard lock(mu_);
  if (stopping_) return Offer::kUnavailable;
  if (pending_errors_ > 0) {
    --pending_errors_;
    return Offer::kUnavailable;
  }
  if (!connection_.connected()) return Offer::kUnavailable;
  if (!buffer_.empty() && buffer_.size() + events.size() > capacity_) return Offer::kFull;
  buffer_.insert(buffer_.end(), events.begin(), events.end());
  cv_.notify_one();
  return Offer::kQueued;
}

void EventPublisher::stop(int64_t timeout_ms) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    stop_deadline_ms_ = steady_ms() + timeout_ms;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  connection_.flush(timeout_ms);
}

uint64_t EventPublisher::published() const {
  std::lock_guard lock(mu_);
  return published_;
}

uint64_t EventPublisher::publish_errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

void EventPublisher::run() {
  std::string payload;
  for (;;) {
    std::shared_ptr<const event::Event> e;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !buffer_.empty(); });
      if (buffer_.empty()) return;
      if (stopping_ && steady_ms() > stop_deadline_ms_) {
        log::warn("stopping with " + std::to_string(buffer_.size()) +
                  " events not published to NATS");
        return;
      }
      e = buffer_.front();
    }
    payload.clear();
    event::encode_to(payload, *e);
    const std::string err = connection_.publish(kEventsSubject, payload);
    std::unique_lock lock(mu_);
    if (err.empty()) {
      buffer_.pop_front();
      ++published_;
      continue;
    }
    ++errors_;
    if (pending_errors_ < kMaxPendingErrors) ++pending_errors_;
    lock.unlock();
    log::warn("Error publishing event " + e->event_id + " to NATS: " + err + ", retrying");
    std::this_thread::sleep_for(kErrorPause);
  }
}

}  // namespace dsiem::bus
