#pragma once

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "dsiem/http/router.h"

// The HTTP/1.1 server (Boost.Beast) in front of a Router.
//  * Keep-alive: HTTP/1.1 by default, "Connection: close" and HTTP/1.0 honoured.
//  * Requests of one connection are handled one at a time, so pipelined requests are answered
//    in order; a handler may answer later from any thread (the answer is posted back to the
//    connection's I/O thread: each connection lives on one of them).
//  * Every response carries "Server: dsiem" and a Date. Responses with an empty body carry no
//    Content-Type; HEAD responses carry the headers of the body they omit.
//  * Request line + headers over header_limit bytes → 431 "Too big request header", then close.
//    A body over body_limit → 413 "Request Entity Too Large", then close. A malformed request →
//    400 "Bad Request", then close. "Expect: 100-continue" is answered before the body is read.
// A final status below 200 becomes 500; 204 and 304 answers lose their body; extra headers
// whose name or value holds CR, LF or NUL are dropped.
// Thread-safety: start/stop/port from one controlling thread; io_context() is thread-safe.
namespace dsiem::http {

struct ServerOptions {
  std::string address = "0.0.0.0";  // IPv4 or IPv6 literal; "::" is dual-stack
  uint16_t port = 8080;             // 0: any free port (see Server::port)
  int threads = 2;                  // I/O threads (at least 1)
  std::size_t body_limit = 100 * 1024 * 1024;
  std::size_t header_limit = 4096;
};

class Server {
 public:
  Server(ServerOptions options, std::shared_ptr<const Router> router);
  ~Server();  // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (SO_REUSEADDR only), then starts the I/O threads. Throws
  // std::runtime_error in Go's wording, e.g.
  // "listen tcp 127.0.0.1:8080: bind: address already in use". Call at most once.
  void start();

  // The bound port (the chosen one when options.port is 0); 0 before start().
  uint16_t port() const;

  // An I/O context of the server (that of its first I/O thread), for handler timers. Its
  // handlers stop running at stop().
  boost::asio::io_context& io_context();

  // Closes the listener and every connection and joins the I/O threads. Responses delivered
  // afterwards are dropped. Idempotent; the server cannot be started again. Never call it from
  // a handler or an I/O thread (it joins them).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsiem::http
