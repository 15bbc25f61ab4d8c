#include "dsiem/bus/nats_connection.h"

#include <nats/nats.h>

#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <stdexcept>

#include "dsiem/common/log.h"

namespace dsiem::bus {

namespace {

// Room for bursts before the client declares a subscriber slow and drops messages.
constexpr int kPendingMessages = 1'000'000;
constexpr int kPendingBytes = 512 * 1024 * 1024;
// Publishes kept while reconnecting (the client's default size, as the reference uses).
constexpr int kReconnectBufferBytes = 8 * 1024 * 1024;

std::string last_error(natsConnection* nc) {
  const char* text = nullptr;
  const natsStatus s = natsConnection_GetLastError(nc, &text);
  if (text && *text) return text;
  return s == NATS_OK ? "none" : natsStatus_GetText(s);
}

}  // namespace

struct NatsConnection::Impl {
  natsOptions* options = nullptr;
  natsConnection* nc = nullptr;
  std::atomic<bool> connected{false};
  std::atomic<uint64_t> slow_consumer{0};
  std::mutex mu;
  // The client reports the close on its own thread after Close() returns: the destructor waits
  // for it, so no callback runs on a freed Impl.
  std::condition_variable closed_cv;
  bool closed = false;
  std::list<MessageHandler> handlers;  // stable addresses for the client callbacks
  std::list<natsSubscription*> subscriptions;

  static void on_connected(natsConnection*, void* closure) {
    static_cast<Impl*>(closure)->connected.store(true);
    log::info("Connected to NATS server");
  }
  static void on_disconnected(natsConnection* nc, void* closure) {
    static_cast<Impl*>(closure)->connected.store(false);
    log::info("Disconnected from NATS server. Reason: " + last_error(nc));
  }
  static void on_reconnected(natsConnection*, void* closure) {
    static_cast<Impl*>(closure)->connected.store(true);
    log::info("Reconnected to NATS server");
  }
  static void on_closed(natsConnection* nc, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    self->connected.store(false);
    log::info("NATS connection closed. Reason: " + last_error(nc));
    std::lock_guard lock(self->mu);
    self->closed = true;
    self->closed_cv.notify_all();
  }
  static void on_error(natsConnection*, natsSubscription* sub, natsStatus err, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    if (err == NATS_SLOW_CONSUMER) {
      int64_t dropped = 0;
      if (sub) natsSubscription_GetDropped(sub, &dropped);
      self->slow_consumer.fetch_add(1);
      log::warn("NATS error occurred: slow consumer, messages dropped so far: " +
                std::to_string(dropped));
      return;
    }
    log::warn(std::string("NATS error occurred: ") + natsStatus_GetText(err));
  }
  static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    const auto& handler = *static_cast<MessageHandler*>(closure);
    handler(std::string_view(natsMsg_GetData(msg),
                             static_cast<std::size_t>(natsMsg_GetDataLength(msg))));
    natsMsg_Destroy(msg);
  }
};

NatsConnection::NatsConnection(const std::string& url, int64_t reconnect_wait_ms)
    : impl_(std::make_unique<Impl>()) {
  Impl* impl = impl_.get();
  auto check = [impl](natsStatus s, const char* what) {
    if (s != NATS_OK) {
      if (impl->options) natsOptions_Destroy(impl->options);
      impl->options = nullptr;
      throw std::runtime_error(std::string(what) + ": " + natsStatus_GetText(s));
    }
  };
  check(natsOptions_Create(&impl->options), "cannot create NATS options");
  check(natsOptions_SetURL(impl->options, url.c_str()), "invalid NATS URL");
  check(natsOptions_SetMaxReconnect(impl->options, -1), "NATS options");
  check(natsOptions_SetReconnectWait(impl->options, reconnect_wait_ms), "NATS options");
  check(natsOptions_SetReconnectBufSize(impl->options, kReconnectBufferBytes), "NATS options");
  check(natsOptions_SetRetryOnFailedConnect(impl->options, true, &Impl::on_connected, impl),
        "NATS options");
  check(natsOptions_SetDisconnectedCB(impl->options, &Impl::on_disconnected, impl), "NATS options");
  check(natsOptions_SetReconnectedCB(impl->options, &Impl::on_reconnected, impl), "NATS options");
  check(natsOptions_SetClosedCB(impl->options, &Impl::on_closed, impl), "NATS options");
  check(natsOptions_SetErrorHandler(impl->options, &Impl::on_error, impl), "NATS options");
  const natsStatus s = natsConnection_Connect(&impl->nc, impl->options);
  if (s == NATS_OK) {
    impl->connected.store(true);
    log::info("Connected to NATS server");
  } else if (s == NATS_NOT_YET_CONNECTED) {
    log::info("Error from message queue " + url + ": not connected yet. Reconnecting in " +
              std::to_string(reconnect_wait_ms / 1000) + " seconds..");
  } else {
    natsOptions_Destroy(impl->options);
    impl->options = nullptr;
    throw std::runtime_error("cannot connect to NATS at " + url + ": " + natsStatus_GetText(s));
  }
}

NatsConnection::~NatsConnection() {
  if (impl_->nc) {
    natsConnection_Close(impl_->nc);
    {
      std::unique_lock lock(impl_->mu);
      impl_->closed_cv.wait_for(lock, std::chrono::seconds(5), [this] { return impl_->closed; });
    }
    for (natsSubscription* sub : impl_->subscriptions) natsSubscription_Destroy(sub);
    natsConnection_Destroy(impl_->nc);
  }
  if (impl_->options) natsOptions_Destroy(impl_->options);
}

bool NatsConnection::connected() const {
  return impl_->connected.load();
}

std::string NatsConnection::publish(std::string_view subject, std::string_view payload) {
  const std::string subj(subject);
  const natsStatus s = natsConnection_Publish(impl_->nc, subj.c_str(), payload.data(),
                                              static_cast<int>(payload.size()));
  return s == NATS_OK ? "" : natsStatus_GetText(s);
}

void NatsConnection::subscribe(const std::string& subject, MessageHandler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->handlers.push_back(std::move(handler));
  natsSubscription* sub = nullptr;
  const natsStatus s = natsConnection_Subscribe(&sub, impl_->nc, subject.c_str(), &Impl::on_message,
                                                &impl_->handlers.back());
  if (s != NATS_OK) {
    impl_->handlers.pop_back();
    throw std::runtime_error("cannot subscribe to " + subject + ": " + natsStatus_GetText(s));
  }
  natsSubscription_SetPendingLimits(sub, kPendingMessages, kPendingBytes);
  impl_->subscriptions.push_back(sub);
}

void NatsConnection::flush(int64_t timeout_ms) {
  if (impl_->connected.load()) natsConnection_FlushTimeout(impl_->nc, timeout_ms);
}

uint64_t NatsConnection::slow_consumer_events() const {
  return impl_->slow_consumer.load();
}

void shutdown_client_library() {
  nats_CloseAndWait(5000);
}

}  // namespace dsiem::bus
