#pragma once

#include <chrono>
#include <string>

namespace dsiem::http {

struct ClientResponse {
  int status = 0;
  std::string body;
};

// GET `url` (http:// only) with a deadline for the whole exchange, following up to 5
// redirects. Throws std::runtime_error with the reason (bad URL, resolve, connect, timeout,
// too many redirects).
ClientResponse get(const std::string& url, std::chrono::milliseconds timeout);

}  // namespace dsiem::http
