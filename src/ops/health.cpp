#include "dsiem/ops/health.h"

#include <memory>
#include <utility>

namespace dsiem::ops {

void add_health_routes(http::Router& router, std::function<bool()> ready) {
  router.add("GET", "/health/live", [](http::Request&&, http::Responder respond) {
    http::Response res;
    res.body = "live\n";
    respond(std::move(res));
  });
  auto is_ready = std::make_shared<const std::function<bool()>>(std::move(ready));
  router.add("GET", "/health/ready", [is_ready](http::Request&&, http::Responder respond) {
    http::Response res;
    bool ok = *is_ready && (*is_ready)();
    res.status = ok ? 200 : 503;
    res.body = ok ? "ready\n" : "not ready\n";
    respond(std::move(res));
  });
}

}  // namespace dsiem::ops
