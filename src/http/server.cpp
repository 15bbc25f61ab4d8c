#include "dsiem/http/server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

namespace dsiem::http {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
// Connections run on one io_context each: its concrete executor spares every asynchronous
// operation the type-erased executor's copies.
using Executor = net::io_context::executor_type;
using Socket = tcp::socket::rebind_executor<Executor>::other;
using Stream = beast::basic_stream<tcp, Executor>;

// How long a closing connection keeps reading (and discarding) after its last response, so the
// peer gets that response instead of a reset caused by unread input.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 1 << 20;
// Bodies above kSmallBody are received kBodyReadSize bytes at a time.
constexpr std::size_t kSmallBody = 4096;
constexpr std::size_t kBodyReadSize = 64 * 1024;

std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// RFC 7231 IMF-fixdate, independent of the C locale. Formatted once per second and thread.
const std::string& http_date() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t formatted_at = -1;
  thread_local std::string text;
  const std::time_t now = std::time(nullptr);
  if (now == formatted_at) return text;
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  text = buf;
  formatted_at = now;
  return text;
}

std::string lower_first(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// Splits an origin-form or absolute-form request target into path and query.
void split_target(std::string_view target, std::string& path, std::string& query) {
  if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (auto scheme = target.find("://");
      scheme != std::string_view::npos && target.find('/') > scheme) {
    auto slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  auto q = target.find('?');
  path = std::string(target.substr(0, q));
  query = q == std::string_view::npos ? std::string{} : std::string(target.substr(q + 1));
}

struct Shared;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket&& socket, std::shared_ptr<const Router> router, const ServerOptions& opts,
          std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)),
        router_(std::move(router)),
        header_limit_(opts.header_limit),
        body_limit_(opts.body_limit),
        shared_(std::move(shared)) {
    // Beast receives into the buffer's free space, 512 bytes when empty: a single-event
    // request (about 600 bytes with its head) would take two receive calls.
    buffer_.reserve(kSmallBody);
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::read_header, shared_from_this()));
  }

  Executor executor() { return stream_.get_executor(); }

  // Writes the answer to the current request (runs on the connection's I/O thread).
  void write_response(Response r);

  // Closes at once. Only from the connection's I/O thread, or once no I/O thread runs.
  void close();

 private:
  void read_header();
  void on_header(beast::error_code ec, std::size_t bytes);
  void read_body();
  void on_body(beast::error_code ec, std::size_t bytes);
  void on_read_error(beast::error_code ec);
  void on_request();
  void send_error(int status, std::string body);
  void on_write(beast::error_code ec, bool close_after);
  void linger_close();
  void discard_input();

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::empty_body> continue_;
  std::shared_ptr<const Router> router_;
  std::size_t header_limit_;
  std::size_t body_limit_;
  std::shared_ptr<Shared> shared_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  bool closed_ = false;
  std::size_t discarded_ = 0;
  std::array<char, 4096> discard_buf_{};
  // The response being written (one at a time per connection).
  std::string out_;
};

// State shared by the server, its sessions and the responders in flight.
struct Shared {
  std::mutex mu;
  bool stopped = false;  // guarded by mu; once set, responders never post again
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions;  // guarded by mu
};

// Backs one Responder. A weak reference, so that a handler keeping its responder cannot keep
// a connection (and its socket) alive past the server.
class ResponderState {
 public:
  ResponderState(std::weak_ptr<Session> session, std::shared_ptr<Shared> shared)
      : session_(std::move(session)), shared_(std::move(shared)) {}

  ~ResponderState() {
    if (done_.load()) return;
    try {
      Response r;
      r.status = 500;
      r.body = "Internal Server Error";
      deliver(std::move(r));
    } catch (...) {
      // Nothing sensible to do in a destructor: the connection is closed at stop().
    }
  }

  void deliver(Response r) {
    if (done_.exchange(true)) return;
    // Under the lock, so that stop() cannot tear the io_context down between the check and the
    // post, and so that the temporary strong reference dies while the io_context lives.
    std::lock_guard lock(shared_->mu);
    if (shared_->stopped) return;
    auto s = session_.lock();
    if (!s) return;
    net::post(s->executor(), [s, r = std::move(r)]() mutable { s->write_response(std::move(r)); });
  }

 private:
  std::weak_ptr<Session> session_;
  std::shared_ptr<Shared> shared_;
  std::atomic<bool> done_{false};
};

void Session::read_header() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(header_limit_));
  parser_->body_limit(body_limit_);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&Session::on_header, shared_from_this()));
}

void Session::on_header(beast::error_code ec, std::size_t bytes) {
  if (ec) return on_read_error(ec);
  // Beast bounds the request line and the fields separately; the limit is on their sum.
  if (bytes > header_limit_) return send_error(431, "Too big request header");
  auto& req = parser_->get();
  if (req.version() >= 11 && iequals(sv(req[bhttp::field::expect]), "100-continue") &&
      !parser_->is_done()) {
    continue_ = {bhttp::status::continue_, 11};
    bhttp::async_write(stream_, continue_,
                       [self = shared_from_this()](beast::error_code wec, std::size_t) {
                         if (wec) return self->close();
                         self->read_body();
                       });
    return;
  }
  read_body();
}

void Session::read_body() {
  if (parser_->is_done()) return on_request();
  // Beast reads at most the buffer's free capacity (kSmallBody on a new connection) per receive
  // call: a batch body of hundreds of kilobytes would take a hundred reads.
  const auto length = parser_->content_length();
  if (!length || *length > kSmallBody) buffer_.reserve(kBodyReadSize);
  bhttp::async_read(stream_, buffer_, *parser_,
                    beast::bind_front_handler(&Session::on_body, shared_from_this()));
}

void Session::on_body(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  on_request();
}

void Session::on_read_error(beast::error_code ec) {
  if (ec == bhttp::error::header_limit) return send_error(431, "Too big request header");
  if (ec == bhttp::error::body_limit) return send_error(413, "Request Entity Too Large");
  static const auto& http_category = bhttp::make_error_code(bhttp::error::bad_method).category();
  if (ec.category() == http_category && ec != bhttp::error::end_of_stream &&
      ec != bhttp::error::partial_message) {
    return send_error(400, "Bad Request");
  }
  close();
}

void Session::on_request() {
  auto msg = parser_->release();
  version_ = msg.version();
  keep_alive_ = msg.keep_alive();
  head_ = msg.method() == bhttp::verb::head;

  Request req;
  req.method = std::string(sv(msg.method_string()));
  split_target(sv(msg.target()), req.path, req.query);
  req.host = std::string(sv(msg[bhttp::field::host]));
  req.content_type = std::string(sv(msg[bhttp::field::content_type]));
  req.body = std::move(msg.body());

  auto state = std::make_shared<ResponderState>(weak_from_this(), shared_);
  try {
    router_->dispatch(std::move(req), [state](Response r) { state->deliver(std::move(r)); });
  } catch (...) {
    Response r;
    r.status = 500;
    r.body = "Internal Server Error";
    state->deliver(std::move(r));
  }
}

void Session::send_error(int status, std::string body) {
  keep_alive_ = false;
  head_ = false;
  if (parser_ && parser_->got_some() && parser_->is_header_done())
    version_ = parser_->get().version();
  Response r;
  r.status = status;
  r.body = std::move(body);
  write_response(std::move(r));
}

void Session::write_response(Response r) {
  if (closed_) return;
  // A final answer cannot be 1xx (the client would wait for another), and 204/304 carry no body
  // and no Content-Length.
  const unsigned status =
      r.status >= 200 && r.status <= 999 ? static_cast<unsigned>(r.status) : 500;
  const bool no_content = status == 204 || status == 304;
  if (no_content) r.body.clear();
  std::string_view reason = sv(bhttp::obsolete_reason(bhttp::int_to_status(status)));
  if (bhttp::int_to_status(status) == bhttp::status::unknown) {
    reason = status == 418 ? "I'm a teapot" : "Unknown Status Code";
  }
  // The head is written here rather than by Beast's serializer, which costs more than the rest
  // of a small request's handling: status line, Server, Date, Content-Type, extra headers,
  // Connection, Content-Length (the order Beast would use).
  std::string& out = out_;
  out.clear();
  out += version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason;
  out += "\r\nServer: dsiem\r\nDate: ";
  out += http_date();
  const auto field = [&out](std::string_view name, std::string_view value) {
    out += "\r\n";
    out += name;
    out += ": ";
    out += value;
  };
  if (!r.content_type.empty()) {
    field("Content-Type", r.content_type);
  } else if (!r.body.empty()) {
    field("Content-Type", "text/plain; charset=utf-8");
  }
  for (const auto& [name, value] : r.headers) {
    // Values may come from the request (Location is built from Host): never split a response.
    constexpr std::string_view kBreaking("\r\n\0", 3);
    if (name.empty() || name.find_first_of(kBreaking) != std::string::npos ||
        value.find_first_of(kBreaking) != std::string::npos) {
      continue;
    }
    field(name, value);
  }
  // HTTP/1.1 keeps the connection unless told otherwise, HTTP/1.0 closes it unless told.
  if (version_ == 10 && keep_alive_) field("Connection", "keep-alive");
  if (version_ != 10 && !keep_alive_) field("Connection", "close");
  // A HEAD answer describes the body it leaves out.
  if (head_ || !no_content) field("Content-Length", std::to_string(r.body.size()));
  out += "\r\n\r\n";
  if (!head_) out += r.body;
  const bool close_after = !keep_alive_;
  net::async_write(stream_, net::buffer(out),
                   [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
                     self->on_write(ec, close_after);
                   });
}

void Session::on_write(beast::error_code ec, bool close_after) {
  if (ec) return close();
  if (close_after) return linger_close();
  read_header();
}

void Session::linger_close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLingerTime);
  discard_input();
}

void Session::discard_input() {
  stream_.async_read_some(net::buffer(discard_buf_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->discarded_ += n;
                            if (ec || self->discarded_ > kLingerBytes) return self->close();
                            self->discard_input();
                          });
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  std::lock_guard lock(shared_->mu);
  shared_->sessions.erase(this);
}

}  // namespace

// One io_context per I/O thread, each run by its own thread: a connection stays on the thread
// it was given when accepted, so its handlers need no strand, and its state never moves between
// cores. One more context and thread only accept connections.
struct Server::Impl {
  Impl(ServerOptions o, std::shared_ptr<const Router> r)
      : opts(std::move(o)), router(std::move(r)), shared(std::make_shared<Shared>()) {
    const int n = opts.threads > 0 ? opts.threads : 1;
    // Context 0 only accepts: a handler that blocks its thread must not stop new connections.
    for (int i = 0; i <= n; ++i) {
      // Concurrency hint 1: one thread runs it (others may still post to it).
      contexts.push_back(std::make_unique<net::io_context>(1));
      work.push_back(net::make_work_guard(*contexts.back()));
    }
    acceptor.emplace(*contexts.front());
    retry_timer.emplace(*contexts.front());
  }

  void do_accept() {
    // Connections are spread over the I/O threads in turn.
    net::io_context& home = *contexts[1 + next_context++ % (contexts.size() - 1)];
    acceptor->async_accept(home, [this](beast::error_code ec, Socket sock) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
      if (ec) {
        // E.g. out of file descriptors: retry a little later instead of spinning.
        retry_timer->expires_after(std::chrono::milliseconds(100));
        retry_timer->async_wait([this](beast::error_code wec) {
          if (!wec) do_accept();
        });
        return;
      }
      beast::error_code ignored;
      sock.set_option(tcp::no_delay(true), ignored);
      auto s = std::make_shared<Session>(std::move(sock), router, opts, shared);
      {
        std::lock_guard lock(shared->mu);
        if (shared->stopped) return;
        shared->sessions.emplace(s.get(), s);
      }
      s->run();
      do_accept();
    });
  }

  ServerOptions opts;
  std::shared_ptr<const Router> router;
  // First, so that they are destroyed last.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> retry_timer;
  std::shared_ptr<Shared> shared;
  std::vector<std::thread> threads;
  std::size_t next_context = 0;  // only the accept handler (one thread) touches it
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;
};

Server::Server(ServerOptions options, std::shared_ptr<const Router> router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

Server::~Server() {
  stop();
}

void Server::start() {
  Impl& d = *impl_;
  if (d.started || d.stopped) throw std::runtime_error("http server: start() called twice");
  d.started = true;
  beast::error_code ec;
  auto addr = net::ip::make_address(d.opts.address, ec);
  if (ec) throw std::runtime_error(d.opts.address + " is not a valid IP address");
  std::string where = (addr.is_v6() ? "[" + d.opts.address + "]" : d.opts.address) + ":" +
                      std::to_string(d.opts.port);
  auto fail = [&](const char* op) {
    throw std::runtime_error("listen tcp " + where + ": " + op + ": " + lower_first(ec.message()));
  };
  tcp::endpoint ep(addr, d.opts.port);
  tcp::acceptor& acceptor = *d.acceptor;
  acceptor.open(ep.protocol(), ec);
  if (ec) fail("socket");
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) fail("setsockopt");
  if (addr.is_v6() && addr.to_v6().is_unspecified()) {
    // "::" serves IPv4 too, whatever the system default for IPV6_V6ONLY.
    acceptor.set_option(net::ip::v6_only(false), ec);
    if (ec) fail("setsockopt");
  }
  acceptor.bind(ep, ec);
  if (ec) fail("bind");
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("listen");
  d.port = acceptor.local_endpoint().port();
  d.do_accept();
  for (auto& context : d.contexts) {
    d.threads.emplace_back([ioc = context.get()] {
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (...) {
          // A handler let an exception escape: keep serving the other connections.
        }
      }
    });
  }
}

uint16_t Server::port() const {
  return impl_->port;
}

boost::asio::io_context& Server::io_context() {
  return *impl_->contexts[1];
}

void Server::stop() {
  Impl& d = *impl_;
  if (d.stopped) return;
  d.stopped = true;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(d.shared->mu);
    d.shared->stopped = true;
    sessions.swap(d.shared->sessions);
  }
  d.work.clear();
  for (auto& context : d.contexts) context->stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
  // No I/O thread runs now, so the acceptor and the sessions can be closed from here.
  beast::error_code ignored;
  d.acceptor->close(ignored);
  d.retry_timer->cancel();
  for (auto& [ptr, s] : sessions) s->close();
}

}  // namespace dsiem::http
