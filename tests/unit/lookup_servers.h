#pragma once

// Loopback Wise and nesd servers for the intel/vuln lookup tests (assets_and_intel.md §5.3,
// §6.3), built on the project's own http::Server on 127.0.0.1 and a free port.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dsiem/config/lookup_sources.h"
#include "dsiem/http/router.h"
#include "dsiem/http/server.h"
#include "dsiem/http/util.h"

namespace dsiem::test {

inline const std::string kNoVulnerabilityFound = "no vulnerability found\n";

// One HTTP server speaking Wise on /wise/{ip} (and /wise2/{ip}, for a second source) and nesd on
// /nesd/?ip=&port=. Answers are canned per request key ("wise 8.8.8.8", "nesd 10.0.0.5:80");
// unknown keys get an empty Wise list or "no vulnerability found\n". Every request is recorded.
// hold() makes requests wait until release(), for at most `hold_limit`, so that a test that
// forgets to release still ends.
class LookupServer {
 public:
  struct Answer {
    int status = 200;
    std::string body;
    // A slow server: the answer takes this long after the gate opens.
    std::chrono::milliseconds delay{0};
  };

  explicit LookupServer(std::chrono::milliseconds hold_limit = std::chrono::seconds(10))
      : hold_limit_(hold_limit) {
    auto router = std::make_shared<http::Router>();
    for (const std::string prefix : {"wise", "wise2"}) {
      router->add("GET", "/" + prefix + "/{ip}",
                  [this, prefix](http::Request&& req, http::Responder respond) {
                    respond(serve(prefix + " " + req.params["ip"], req.query, "[]"));
                  });
    }
    router->add("GET", "/nesd/", [this](http::Request&& req, http::Responder respond) {
      const std::string term =
          http::query_value(req.query, "ip") + ":" + http::query_value(req.query, "port");
      respond(serve("nesd " + term, req.query, kNoVulnerabilityFound));
    });
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    // Held requests occupy an I/O thread each.
    options.threads = 4;
    server_ = std::make_unique<http::Server>(options, router);
    server_->start();
  }

  ~LookupServer() {
    release();
    server_->stop();
  }

  LookupServer(const LookupServer&) = delete;
  LookupServer& operator=(const LookupServer&) = delete;

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + std::string(path);
  }
  std::string wise_url() const { return url("/wise/${ip}"); }
  std::string nesd_url() const { return url("/nesd/?ip=${ip}&port=${port}"); }

  void answer(const std::string& key, Answer a) {
    std::lock_guard lock(mu_);
    answers_[key] = std::move(a);
  }
  void answer(const std::string& key, std::string body) { answer(key, Answer{200, body}); }

  void hold() {
    std::lock_guard lock(mu_);
    holding_ = true;
  }
  void release() {
    std::lock_guard lock(mu_);
    holding_ = false;
    cv_.notify_all();
  }

  // Request keys in arrival order.
  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Raw query strings in arrival order.
  std::vector<std::string> queries() const {
    std::lock_guard lock(mu_);
    return queries_;
  }
  // "start <key>" when a request arrives, "end <key>" when its answer leaves, in order.
  std::vector<std::string> timeline() const {
    std::lock_guard lock(mu_);
    return timeline_;
  }
  // Waits (at most `limit`) until `n` requests have arrived.
  bool wait_for_requests(std::size_t n,
                         std::chrono::milliseconds limit = std::chrono::seconds(5)) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return requests_.size() >= n; });
  }

 private:
  http::Response serve(const std::string& key, const std::string& query,
                       const std::string& default_body) {
    Answer a{200, default_body};
    {
      std::unique_lock lock(mu_);
      requests_.push_back(key);
      queries_.push_back(query);
      timeline_.push_back("start " + key);
      cv_.notify_all();
      cv_.wait_for(lock, hold_limit_, [&] { return !holding_; });
      if (auto it = answers_.find(key); it != answers_.end()) a = it->second;
    }
    if (a.delay.count() > 0) std::this_thread::sleep_for(a.delay);
    {
      std::lock_guard lock(mu_);
      timeline_.push_back("end " + key);
    }
    http::Response r;
    r.status = a.status;
    r.body = a.body;
    return r;
  }

  const std::chrono::milliseconds hold_limit_;
  std::unique_ptr<http::Server> server_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool holding_ = false;
  std::map<std::string, Answer> answers_;
  std::vector<std::string> requests_;
  std::vector<std::string> queries_;
  std::vector<std::string> timeline_;
};

// A loopback port nobody listens on: bound once by the kernel's choice, then closed, so a
// connection attempt is refused.
inline uint16_t closed_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// An enabled intel ("Wise") or vuln ("Nesd") source with `url` as its template.
inline config::LookupSource lookup_source(std::string plugin, std::string url) {
  config::LookupSource s;
  s.name = plugin;
  s.plugin = std::move(plugin);
  s.type = s.plugin == "Wise" ? "IP" : "IP-Port";
  s.enabled = true;
  s.config = "{\"url\":\"" + url + "\"}";
  s.url = std::move(url);
  return s;
}

}  // namespace dsiem::test
