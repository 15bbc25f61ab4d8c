#pragma once

#include <functional>

#include "dsiem/http/router.h"

// Liveness and readiness probes (decisions.md §3), text/plain bodies:
//   GET /health/live  → 200 "live\n" whenever the process serves HTTP;
//   GET /health/ready → 200 "ready\n" when ready() is true, else 503 "not ready\n".
// ready() is called on an I/O thread at each probe, so it must be cheap and thread-safe
// (e.g. reading an atomic flag).
namespace dsiem::ops {

void add_health_routes(http::Router& router, std::function<bool()> ready);

}  // namespace dsiem::ops
