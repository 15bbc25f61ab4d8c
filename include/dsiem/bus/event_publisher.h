#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "dsiem/bus/nats_connection.h"
#include "dsiem/event/event.h"

namespace dsiem::bus {

// The frontend's hand-over to NATS (events.md §6-§7): a bounded buffer drained by one publisher
// thread that writes each event on dsiem_events in the Go wire encoding. A failed publish is
// reported to the next offer (its request answers 503) and the failed event is retried, not
// lost. Thread-safe.
class EventPublisher {
 public:
  enum class Offer {
    kQueued,       // in the buffer, will be published
    kFull,         // the buffer is full now
    kUnavailable,  // not connected, or a publish error is waiting to be reported
  };

  EventPublisher(NatsConnection& connection, std::size_t capacity = 1024);
  ~EventPublisher();

  Offer offer(std::shared_ptr<const event::Event> e);
  // All of `events`, in order, or none (a batch always fits an empty buffer).
  Offer offer(std::span<const std::shared_ptr<const event::Event>> events);
  // Publishes what is buffered (waiting at most `timeout_ms` for the connection), then stops.
  void stop(int64_t timeout_ms = 5000);

  uint64_t published() const;
  uint64_t publish_errors() const;

 private:
  void run();

  NatsConnection& connection_;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const event::Event>> buffer_;
  std::size_t pending_errors_ = 0;  // reported one per offer, at most kMaxPendingErrors
  uint64_t published_ = 0;
  uint64_t errors_ = 0;
  bool stopping_ = false;
  int64_t stop_deadline_ms_ = 0;
  std::thread thread_;
};

}  // namespace dsiem::bus
