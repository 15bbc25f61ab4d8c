// The Beast server on 127.0.0.1 with an ephemeral port: keep-alive, pipelining, limits,
// asynchronous handlers, and start/stop behaviour. Every client operation has a 5 s deadline.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "dsiem/http/router.h"
#include "dsiem/http/server.h"

namespace dsiem::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using ClientResponse = bhttp::response<bhttp::string_body>;

std::string field(const ClientResponse& r, bhttp::field f) {
  auto v = r[f];
  return std::string(v.data(), v.size());
}
bool has(const ClientResponse& r, bhttp::field f) {
  return r.find(f) != r.end();
}

// "Sun, 06 Nov 1994 08:49:37 GMT": letters and digits where IMF-fixdate has them.
bool is_http_date(const std::string& d) {
  const std::string shape = "Aaa, 00 Aaa 0000 00:00:00 GMT";
  if (d.size() != shape.size() || d.substr(d.size() - 4) != " GMT") return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    char s = shape[i], c = d[i];
    if (s == '0' && !std::isdigit(static_cast<unsigned char>(c))) return false;
    if (s == 'A' && !std::isupper(static_cast<unsigned char>(c))) return false;
    if (s == 'a' && !std::islower(static_cast<unsigned char>(c))) return false;
    if ((s == ',' || s == ' ' || s == ':') && c != s) return false;
  }
  return true;
}

// A blocking-style client whose every operation is bounded by a 5 s deadline.
class Client {
 public:
  explicit Client(uint16_t port, const char* address = "127.0.0.1") : stream_(ioc_) {
    tcp::endpoint ep(net::ip::make_address(address), port);
    auto ec = run([&](auto done) { stream_.async_connect(ep, [done](auto e) { done(e, 0); }); });
    if (ec) throw std::runtime_error("connect: " + ec.message());
  }

  void send(const std::string& raw) {
    auto ec = run([&](auto done) { net::async_write(stream_, net::buffer(raw), done); });
    ASSERT_FALSE(ec) << ec.message();
  }

  // The next response, or nullopt (with `error` set) when the connection fails or closes.
  std::optional<ClientResponse> read(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(head);
    parser.body_limit(64 * 1024 * 1024);
    error = run([&](auto done) { bhttp::async_read(stream_, buf_, parser, done); });
    if (error) return std::nullopt;
    return parser.release();
  }

  // Everything the server sends until it closes the connection, as raw bytes.
  std::string read_to_end() {
    std::string all;
    auto dynamic = net::dynamic_buffer(all);
    error = run([&](auto done) { net::async_read(stream_, dynamic, done); });
    return std::string(static_cast<const char*>(buf_.data().data()), buf_.size()) + all;
  }

  // True when the server closed the connection (EOF or reset) with nothing more to read.
  bool closed_by_peer() {
    char c;
    auto ec = run([&](auto done) { stream_.async_read_some(net::buffer(&c, 1), done); });
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

  beast::error_code error;

 private:
  template <typename Start>
  beast::error_code run(Start start) {
    beast::error_code result = net::error::timed_out;
    stream_.expires_after(std::chrono::seconds(5));
    start([&result](beast::error_code ec, std::size_t) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
};

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

std::string post(const std::string& target, const std::string& body) {
  return "POST " + target +
         " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         body;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start_server(ServerOptions{}); }

  void start_server(ServerOptions opts) {
    auto router = std::make_shared<Router>();
    auto text = [](std::string body) {
      return [body](Request&&, Responder respond) {
        Response r;
        r.body = body;
        respond(std::move(r));
      };
    };
    router->add("GET", "/hello", text("hi"));
    router->add("GET", "/empty", text(""));
    router->add("POST", "/echo", [](Request&& req, Responder respond) {
      Response r;
      r.body = req.body;
      respond(std::move(r));
    });
    router->add("GET", "/teapot", [](Request&&, Responder respond) {
      Response r;
      r.status = 418;
      r.body = "short and stout";
      r.content_type = "text/x-tea";
      r.headers.emplace_back("X-Extra", "1");
      respond(std::move(r));
    });
    // Answers from another thread after `delay` ms, given as the query string.
    router->add("GET", "/async", [this](Request&& req, Responder respond) {
      int delay = req.query.empty() ? 20 : std::stoi(req.query);
      std::lock_guard lock(mu_);
      workers_.emplace_back([delay, respond = std::move(respond)] {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
        Response r;
        r.body = "async " + std::to_string(delay);
        respond(std::move(r));
      });
    });
    router->add("GET", "/nocontent", [](Request&&, Responder respond) {
      Response r;
      r.status = 204;
      r.body = "dropped";
      r.headers.emplace_back("X-Bad", "a\r\nInjected: 1");
      r.headers.emplace_back("X-Good", "ok");
      respond(std::move(r));
    });
    router->add("GET", "/drop", [](Request&&, Responder) {});
    router->add("GET", "/throw", [](Request&&, Responder) { throw std::runtime_error("boom"); });
    router->add("GET", "/keep", [this](Request&&, Responder respond) {
      std::lock_guard lock(mu_);
      kept_ = std::move(respond);
    });
    router->add("GET", "/twice", [](Request&&, Responder respond) {
      respond(Response{200, "first", "", {}});
      respond(Response{200, "second", "", {}});
    });
    opts.address = "127.0.0.1";
    opts.port = 0;
    server_ = std::make_unique<Server>(opts, router);
    server_->start();
    port_ = server_->port();
    ASSERT_NE(port_, 0);
  }

  void TearDown() override {
    {
      std::lock_guard lock(mu_);
      for (auto& t : workers_) t.join();
      workers_.clear();
    }
    server_.reset();
  }

  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  Responder kept_;
};

// The exact bytes of responses: status line and reason, header order, Connection and
// Content-Length by version and status, the body (none for HEAD and 204).
TEST_F(ServerTest, ResponsesAreWrittenByteForByte) {
  const auto exchange = [this](const std::string& request) {
    Client c(port_);
    c.send(request);
    std::string raw = c.read_to_end();
    // The Date value is the only variable part.
    const std::size_t at = raw.find("\r\nDate: ");
    if (at != std::string::npos) {
      const std::size_t end = raw.find("\r\n", at + 2);
      EXPECT_TRUE(is_http_date(raw.substr(at + 8, end - at - 8))) << raw;
      raw.replace(at + 8, end - at - 8, "D");
    }
    return raw;
  };
  EXPECT_EQ(exchange(get("/hello", "Connection: close\r\n")),
            "HTTP/1.1 200 OK\r\nServer: dsiem\r\nDate: D\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
            "Content-Length: 2\r\n\r\nhi");
  EXPECT_EQ(exchange("GET /teapot HTTP/1.0\r\n\r\n"),
            "HTTP/1.0 418 I'm a teapot\r\nServer: dsiem\r\nDate: D\r\n"
            "Content-Type: text/x-tea\r\nX-Extra: 1\r\nContent-Length: 15\r\n\r\n"
            "short and stout");
  EXPECT_EQ(exchange("HEAD /hello HTTP/1.0\r\n\r\n"),
            "HTTP/1.0 405 Method Not Allowed\r\nServer: dsiem\r\nDate: D\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nAllow: GET, OPTIONS\r\n"
            "Content-Length: 18\r\n\r\n");
  EXPECT_EQ(exchange(get("/nocontent", "Connection: close\r\n")),
            "HTTP/1.1 204 No Content\r\nServer: dsiem\r\nDate: D\r\nX-Good: ok\r\n"
            "Connection: close\r\n\r\n");
  EXPECT_EQ(exchange("GET /empty HTTP/1.0\r\n\r\n"),
            "HTTP/1.0 200 OK\r\nServer: dsiem\r\nDate: D\r\nContent-Length: 0\r\n\r\n");
}

// HTTP/1.0 with keep-alive says so in its answer and keeps the connection.
TEST_F(ServerTest, Http10KeepAliveIsAnnounced) {
  Client c(port_);
  c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(field(*r, bhttp::field::connection), "keep-alive");
  EXPECT_EQ(field(*r, bhttp::field::content_length), "2");
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Client c(port_);
  for (int i = 0; i < 3; ++i) {
    c.send(get("/hello"));
    auto r = c.read();
    ASSERT_TRUE(r) << c.error.message();
    EXPECT_EQ(r->result_int(), 200);
    EXPECT_EQ(r->body(), "hi");
    EXPECT_EQ(field(*r, bhttp::field::server), "dsiem");
    EXPECT_EQ(field(*r, bhttp::field::content_type), "text/plain; charset=utf-8");
    EXPECT_TRUE(is_http_date(field(*r, bhttp::field::date))) << field(*r, bhttp::field::date);
    EXPECT_TRUE(r->keep_alive());
  }
  c.send(get("/empty"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_FALSE(has(*r, bhttp::field::content_type));
  EXPECT_EQ(field(*r, bhttp::field::content_length), "0");

  c.send(post("/echo", "payload"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "payload");
}

TEST_F(ServerTest, StatusReasonHeadersAndContentType) {
  Client c(port_);
  c.send(get("/teapot"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 418);
  EXPECT_EQ(std::string(r->reason()), "I'm a teapot");
  EXPECT_EQ(field(*r, bhttp::field::content_type), "text/x-tea");
  EXPECT_EQ(std::string((*r)["X-Extra"]), "1");
  EXPECT_EQ(r->body(), "short and stout");
}

TEST_F(ServerTest, RouterAnswersThroughServer) {
  Client c(port_);
  c.send("GET /Hello?x=1 HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) + "\r\n\r\n");
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 301);
  EXPECT_EQ(field(*r, bhttp::field::location),
            "http://127.0.0.1:" + std::to_string(port_) + "/hello?x=1");
  EXPECT_FALSE(has(*r, bhttp::field::content_type));
  EXPECT_EQ(r->body(), "");

  c.send(get("/nothing"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 404);
  EXPECT_EQ(r->body(), "Not Found");

  c.send("OPTIONS /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(field(*r, bhttp::field::allow), "POST, OPTIONS");
  EXPECT_FALSE(has(*r, bhttp::field::content_type));
}

TEST_F(ServerTest, NoContentHasNoBodyAndHeadersCannotSplit) {
  Client c(port_);
  c.send(get("/nocontent"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 204);
  EXPECT_EQ(r->body(), "");
  EXPECT_FALSE(has(*r, bhttp::field::content_type));
  EXPECT_EQ(r->find("Injected"), r->end());
  EXPECT_EQ(r->find("X-Bad"), r->end());
  EXPECT_EQ(std::string((*r)["X-Good"]), "ok");
  c.send(get("/hello"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "hi");
}

// HEAD is answered 405 with the headers of the omitted body; the connection stays usable,
// which proves no body bytes were sent.
TEST_F(ServerTest, HeadGets405WithoutBody) {
  Client c(port_);
  c.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read(/*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 405);
  EXPECT_EQ(field(*r, bhttp::field::allow), "GET, OPTIONS");
  EXPECT_EQ(field(*r, bhttp::field::content_length), "18");
  c.send(get("/hello"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "hi");
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  Client c(port_);
  c.send(get("/hello", "Connection: close\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "hi");
  EXPECT_FALSE(r->keep_alive());
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAlive) {
  {
    Client c(port_);
    c.send("GET /hello HTTP/1.0\r\n\r\n");
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->version(), 10u);
    EXPECT_EQ(r->body(), "hi");
    EXPECT_TRUE(c.closed_by_peer());
  }
  Client c(port_);
  c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->keep_alive());
  c.send("GET /empty HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
}

// Request line + headers: exactly 4096 bytes pass, 4097 get 431 and a closed connection.
TEST_F(ServerTest, HeaderLimitIs4KiB) {
  auto padded = [](std::size_t total) {
    std::string head = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    std::string tail = "\r\n\r\n";
    return head + std::string(total - head.size() - tail.size(), 'a') + tail;
  };
  {
    Client c(port_);
    std::string req = padded(4096);
    ASSERT_EQ(req.size(), 4096u);
    c.send(req);
    auto r = c.read();
    ASSERT_TRUE(r) << c.error.message();
    EXPECT_EQ(r->result_int(), 200);
  }
  for (std::size_t size : {4097u, 6000u, 20000u}) {
    Client c(port_);
    c.send(padded(size));
    auto r = c.read();
    ASSERT_TRUE(r) << size << ": " << c.error.message();
    EXPECT_EQ(r->result_int(), 431) << size;
    EXPECT_EQ(r->body(), "Too big request header");
    EXPECT_EQ(field(*r, bhttp::field::server), "dsiem");
    EXPECT_FALSE(r->keep_alive());
    EXPECT_TRUE(c.closed_by_peer());
  }
  // A long request line counts too.
  Client c(port_);
  c.send(get("/hello?" + std::string(5000, 'q')));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 431);
}

TEST_F(ServerTest, AsyncHandlerRespondsFromAnotherThread) {
  Client c(port_);
  c.send(get("/async?30"));
  auto r = c.read();
  ASSERT_TRUE(r) << c.error.message();
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body(), "async 30");
  EXPECT_TRUE(r->keep_alive());
  c.send(get("/hello"));
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "hi");
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Client c(port_);
  c.send(get("/async?100") + get("/hello") + post("/echo", "third") + get("/async?10"));
  const char* expected[] = {"async 100", "hi", "third", "async 10"};
  for (const char* body : expected) {
    auto r = c.read();
    ASSERT_TRUE(r) << c.error.message();
    EXPECT_EQ(r->body(), body);
  }
}

TEST_F(ServerTest, HandlerFailuresGive500) {
  Client c(port_);
  for (const char* path : {"/drop", "/throw"}) {
    c.send(get(path));
    auto r = c.read();
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->result_int(), 500) << path;
    EXPECT_EQ(r->body(), "Internal Server Error");
  }
  // A second call of a responder is ignored.
  c.send(get("/twice") + get("/hello"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "first");
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "hi");
}

TEST_F(ServerTest, MalformedRequestGets400) {
  Client c(port_);
  c.send("GET\r\n\r\n");
  auto r = c.read();
  ASSERT_TRUE(r) << c.error.message();
  EXPECT_EQ(r->result_int(), 400);
  EXPECT_EQ(r->body(), "Bad Request");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServerTest, ExpectContinue) {
  Client c(port_);
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  auto r = c.read();
  ASSERT_TRUE(r) << c.error.message();
  EXPECT_EQ(r->result_int(), 100);
  c.send("hello");
  r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body(), "hello");
}

TEST_F(ServerTest, BodyLimit) {
  TearDown();
  ServerOptions opts;
  opts.body_limit = 1024;
  start_server(opts);
  {
    Client c(port_);
    c.send(post("/echo", std::string(1024, 'b')));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body().size(), 1024u);
  }
  Client c(port_);
  c.send(post("/echo", std::string(2048, 'b')));
  // The server lingers after the answer, so a small request gets the 413 before the close.
  auto r = c.read();
  ASSERT_TRUE(r) << c.error.message();
  EXPECT_EQ(r->result_int(), 413);
  EXPECT_FALSE(r->keep_alive());
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServerTest, ConcurrentClients) {
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      try {
        Client c(port_);
        for (int i = 0; i < 50; ++i) {
          std::string body = "msg" + std::to_string(i);
          c.send(post("/echo", body));
          auto r = c.read();
          if (r && r->body() == body) ++ok;
        }
      } catch (const std::exception&) {
        // Counted as missing answers below.
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(ServerTest, BindFailureMessage) {
  ServerOptions opts;
  opts.address = "127.0.0.1";
  opts.port = port_;
  Server second(opts, std::make_shared<Router>());
  try {
    second.start();
    FAIL() << "second bind succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "listen tcp 127.0.0.1:" + std::to_string(port_) + ": bind: address already in use");
  }
  ServerOptions bad;
  bad.address = "999.1.1.1";
  Server invalid(bad, std::make_shared<Router>());
  EXPECT_THROW(invalid.start(), std::runtime_error);
}

TEST_F(ServerTest, StopClosesConnectionsAndDropsLateResponses) {
  Client idle(port_);
  Client waiting(port_);
  waiting.send(get("/keep"));
  // Make sure the handler ran before stopping.
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mu_);
      if (kept_) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  server_->stop();
  server_->stop();  // idempotent
  EXPECT_TRUE(idle.closed_by_peer());
  EXPECT_TRUE(waiting.closed_by_peer());
  std::lock_guard lock(mu_);
  ASSERT_TRUE(kept_);
  kept_(Response{200, "late", "", {}});  // dropped, must not crash
  server_.reset();
  kept_ = nullptr;  // the responder outlives the server safely
}

TEST(ServerIpv6Test, DualStackAnyAddress) {
  ServerOptions opts;
  opts.address = "::";
  opts.port = 0;
  auto router = std::make_shared<Router>();
  router->add("GET", "/hello", [](Request&&, Responder respond) {
    respond(Response{200, "hi", "", {}});
  });
  Server server(opts, router);
  try {
    server.start();
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no IPv6 here: " << e.what();
  }
  Client c(server.port(), "127.0.0.1");
  c.send(get("/hello"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body(), "hi");
}

}  // namespace
}  // namespace dsiem::http
