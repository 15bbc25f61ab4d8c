#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dsiem/http/types.h"

// Request routing with the reference engine's observable rules (cluster.md §4 and §7).
// Build the router once, then share it read-only (dispatch is const and thread-safe).
namespace dsiem::http {

class Router {
 public:
  // Registers `handler` for `method` (case-sensitive, e.g. "GET") on `pattern`:
  //  * exact: "/events", "/config/", "/debug/vars/" (a trailing slash is significant);
  //  * a named segment: "/config/{filename}" matches one non-empty segment, stored in
  //    Request::params["filename"];
  //  * a trailing catch-all: "/ui/{filepath...}" matches "/ui/" and everything below it; the
  //    remainder after "/ui/" (possibly empty, no leading '/') goes to params["filepath"].
  // Exact segments win over named ones, named ones over a catch-all. Registering the same
  // method and pattern twice replaces the handler. Throws std::invalid_argument for a malformed
  // pattern (no leading '/', an unclosed '{', a catch-all that is not last).
  void add(std::string_view method, std::string pattern, Handler handler);

  // Routes one request. On entry req.path holds the raw target path (before decoding) and
  // req.query the query string. In order:
  //  1. percent-decode and clean the path (util.h); req.path becomes the cleaned path;
  //  2. a route for (method, path) → its handler;
  //  3. (not for CONNECT, not for "/") the path with its trailing slash toggled, or a
  //     case-insensitive match (also with the slash toggled), has a route for the SAME method →
  //     redirect, 301 for GET and 307 otherwise, empty body, absolute
  //     "Location: http://<host><path>[?<query>]" (path only when there is no Host);
  //  4. OPTIONS on a path routed for some method → 200, empty body,
  //     "Allow: <sorted methods>, OPTIONS";
  //  5. other methods (HEAD included: it is not routed implicitly) on a path routed for other
  //     methods → 405 "Method Not Allowed" with the same Allow header;
  //  6. 404 "Not Found".
  // "OPTIONS *" answers 200 with every registered method in Allow.
  // Exceptions thrown by a handler propagate to the caller.
  void dispatch(Request&& req, Responder respond) const;

 private:
  enum class SegKind { kLiteral, kParam, kCatchAll };
  struct Segment {
    SegKind kind;
    std::string text;  // literal text, or the parameter name
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };

  // Index into routes_ of the best route of `method` (any method when empty) matching `segs`,
  // or -1. With `fold_case`, literal segments compare ASCII case-insensitively.
  int find(std::string_view method, const std::vector<std::string_view>& segs,
           bool fold_case) const;
  // Sorted methods (except `skip` and OPTIONS) that have a route for `segs`.
  std::vector<std::string> allowed(const std::vector<std::string_view>& segs,
                                   std::string_view skip) const;

  std::vector<Route> routes_;
};

}  // namespace dsiem::http
