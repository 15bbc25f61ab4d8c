#include "dsiem/http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <optional>
#include <stdexcept>

namespace dsiem::http {

namespace {

namespace beast = boost::beast;
namespace asio = boost::asio;

struct Url {
  std::string host;
  std::string port = "80";
  std::string target = "/";
};

Url parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) {
    throw std::runtime_error("unsupported URL (only http:// is supported): " + url);
  }
  Url u;
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.target = rest.substr(slash);
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string::npos) throw std::runtime_error("invalid URL: " + url);
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      u.port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
  }
  if (u.host.empty()) throw std::runtime_error("invalid URL: " + url);
  return u;
}

// Resolves a Location header against the URL it came from.
std::string resolve_location(const std::string& base, const std::string& location) {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return location;
  const auto authority_end = base.find('/', std::string("http://").size());
  const std::string origin = base.substr(0, authority_end);
  if (!location.empty() && location.front() == '/') return origin + location;
  const auto last_slash = base.rfind('/');
  return (last_slash == std::string::npos || last_slash < std::string("http://").size()
              ? origin + "/"
              : base.substr(0, last_slash + 1)) +
         location;
}

}  // namespace

ClientResponse get(const std::string& url, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string current = url;
  for (int redirects = 0; redirects <= 5; ++redirects) {
    const Url u = parse_url(current);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("Get \"" + current + "\": timeout");
    // Beast's stream deadline only applies to asynchronous operations, so the exchange runs
    // asynchronously on a private io_context bounded by the deadline.
    asio::io_context io;
    beast::tcp_stream stream(io);
    asio::ip::tcp::resolver resolver(io);
    beast::http::request<beast::http::empty_body> req{beast::http::verb::get, u.target, 11};
    req.set(beast::http::field::host, u.host + ":" + u.port);
    req.set(beast::http::field::user_agent, "dsiem");
    beast::flat_buffer buffer;
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(100 * 1024 * 1024);
    std::optional<beast::error_code> outcome;
    resolver.async_resolve(u.host, u.port, [&](beast::error_code ec, auto endpoints) {
      if (ec) return void(outcome = ec);
      stream.expires_at(deadline);
      stream.async_connect(endpoints, [&](beast::error_code ec, const auto&) {
        if (ec) return void(outcome = ec);
        beast::http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
          if (ec) return void(outcome = ec);
          beast::http::async_read(stream, buffer, parser,
                                  [&](beast::error_code ec, std::size_t) { outcome = ec; });
        });
      });
    });
    io.run_for(left);  // name resolution has no deadline of its own
    if (!outcome) throw std::runtime_error("Get \"" + current + "\": timeout");
    if (*outcome) throw std::runtime_error("Get \"" + current + "\": " + outcome->message());
    auto res = parser.release();
    const int status = static_cast<int>(res.result_int());
    if (status >= 300 && status < 400 && res.find(beast::http::field::location) != res.end()) {
      current = resolve_location(current, std::string(res[beast::http::field::location]));
      continue;
    }
    return {status, std::move(res.body())};
  }
  throw std::runtime_error("Get \"" + url + "\": stopped after 5 redirects");
}

}  // namespace dsiem::http
