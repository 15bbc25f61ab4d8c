#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

// The transport of cluster mode: one NATS connection per process (cnats), reconnecting for
// ever. The NATS subjects and payloads are those of the reference engine (cluster.md §2).
namespace dsiem::bus {

inline constexpr const char* kEventsSubject = "dsiem_events";
inline constexpr const char* kOverloadSubject = "dsiem_overload_signals";

// A NATS connection that never gives up: the first connect and every reconnect are retried
// every `reconnect_wait_ms`, subscriptions survive reconnects, and connection changes are
// logged with the reference's wording. Thread-safe.
class NatsConnection {
 public:
  using MessageHandler = std::function<void(std::string_view payload)>;

  // Starts connecting to `url` in the background; does not wait for the server. Throws
  // std::runtime_error when the URL or options are unusable.
  explicit NatsConnection(const std::string& url, int64_t reconnect_wait_ms = 2000);
  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  bool connected() const;
  // Publishes one message (buffered by the client while reconnecting). Returns "" or the
  // error text.
  std::string publish(std::string_view subject, std::string_view payload);
  // Subscribes `handler` (called on a client thread, one message at a time) to `subject`.
  // Works before the first connect succeeds; throws std::runtime_error on failure.
  void subscribe(const std::string& subject, MessageHandler handler);
  // Flushes buffered publishes, waiting at most `timeout_ms`.
  void flush(int64_t timeout_ms);

  // Messages the client dropped because a subscriber could not keep up.
  uint64_t slow_consumer_events() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Stops the client library's threads (waiting up to 5 s) once every connection is destroyed,
// so none outlives the process's logging.
void shutdown_client_library();

}  // namespace dsiem::bus
