#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

// The request/response values exchanged between the HTTP server, the router and the route
// handlers. Plain values: no reference to the connection survives in them.
namespace dsiem::http {

struct Request {
  std::string method;        // as received, e.g. "POST"
  std::string path;          // percent-decoded, cleaned path that was routed
  std::string query;         // raw query string without '?', may be empty
  std::string host;          // Host header
  std::string content_type;  // Content-Type header, may be empty
  std::string body;
  std::unordered_map<std::string, std::string> params;  // route parameters, e.g. "filename"
};

struct Response {
  int status = 200;
  std::string body;
  // Empty: "text/plain; charset=utf-8" when body is non-empty, no Content-Type header when the
  // body is empty.
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Delivers the response of one request. Call it exactly once, from any thread; later calls are
// ignored. Dropping every copy without calling it answers 500 "Internal Server Error".
using Responder = std::function<void(Response)>;

// A route handler. It may call the responder before returning or later (asynchronously).
using Handler = std::function<void(Request&&, Responder)>;

}  // namespace dsiem::http
