#include "dsiem/http/router.h"

#include <algorithm>
#include <stdexcept>

#include "dsiem/http/util.h"

namespace dsiem::http {

namespace {

// "/a/b/" → {"a", "b", ""}; "/" → {""}. The views point into `path`.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segs;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::size_t pos = 0;
  for (;;) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) {
      segs.push_back(path.substr(pos));
      return segs;
    }
    segs.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
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

std::string join_allow(const std::vector<std::string>& methods) {
  std::string out;
  for (const auto& m : methods) {
    out += m;
    out += ", ";
  }
  out += "OPTIONS";
  return out;
}

Response plain(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string toggle_slash(const std::string& path) {
  if (path.size() > 1 && path.back() == '/') return path.substr(0, path.size() - 1);
  return path + "/";
}

}  // namespace

void Router::add(std::string_view method, std::string pattern, Handler handler) {
  if (method.empty()) throw std::invalid_argument("http route: empty method");
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("http route: pattern must begin with '/': " + pattern);
  }
  Route route{std::string(method), pattern, {}, std::move(handler)};
  auto parts = split_path(pattern);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    if (!part.empty() && part.front() == '{') {
      if (part.size() < 3 || part.back() != '}') {
        throw std::invalid_argument("http route: malformed segment in " + pattern);
      }
      std::string_view name = part.substr(1, part.size() - 2);
      if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
        if (i + 1 != parts.size()) {
          throw std::invalid_argument("http route: catch-all must be last in " + pattern);
        }
        route.segments.push_back(
            {SegKind::kCatchAll, std::string(name.substr(0, name.size() - 3))});
      } else {
        route.segments.push_back({SegKind::kParam, std::string(name)});
      }
    } else if (part.find_first_of("{}") != std::string_view::npos) {
      throw std::invalid_argument("http route: malformed segment in " + pattern);
    } else {
      route.segments.push_back({SegKind::kLiteral, std::string(part)});
    }
  }
  for (auto& r : routes_) {
    if (r.method == route.method && r.pattern == route.pattern) {
      r = std::move(route);
      return;
    }
  }
  routes_.push_back(std::move(route));
}

int Router::find(std::string_view method, const std::vector<std::string_view>& segs,
                 bool fold_case) const {
  // Lower kinds are more specific: literal < named < catch-all, compared left to right.
  auto more_specific = [](const Route& a, const Route& b) {
    std::size_t n = std::min(a.segments.size(), b.segments.size());
    for (std::size_t k = 0; k < n; ++k) {
      if (a.segments[k].kind != b.segments[k].kind) {
        return a.segments[k].kind < b.segments[k].kind;
      }
    }
    return a.segments.size() < b.segments.size();
  };
  int best = -1;
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    const Route& route = routes_[r];
    if (!method.empty() && route.method != method) continue;
    bool ok = true;
    bool catch_all = false;
    for (std::size_t k = 0; ok && k < route.segments.size(); ++k) {
      const Segment& seg = route.segments[k];
      if (k >= segs.size()) {
        ok = false;
      } else if (seg.kind == SegKind::kCatchAll) {
        catch_all = true;
      } else if (seg.kind == SegKind::kParam) {
        ok = !segs[k].empty();
      } else {
        ok = fold_case ? iequals(seg.text, segs[k]) : seg.text == segs[k];
      }
    }
    if (!ok || (!catch_all && route.segments.size() != segs.size())) continue;
    if (best < 0 || more_specific(route, routes_[static_cast<std::size_t>(best)])) {
      best = static_cast<int>(r);
    }
  }
  return best;
}

std::vector<std::string> Router::allowed(const std::vector<std::string_view>& segs,
                                         std::string_view skip) const {
  std::vector<std::string> methods;
  for (const auto& route : routes_) {
    if (route.method == skip || route.method == "OPTIONS") continue;
    if (std::find(methods.begin(), methods.end(), route.method) != methods.end()) continue;
    if (find(route.method, segs, false) >= 0) methods.push_back(route.method);
  }
  std::sort(methods.begin(), methods.end());
  return methods;
}

void Router::dispatch(Request&& req, Responder respond) const {
  if (req.method == "OPTIONS" && req.path == "*") {
    std::vector<std::string> methods;
    for (const auto& r : routes_) {
      if (r.method != "OPTIONS" &&
          std::find(methods.begin(), methods.end(), r.method) == methods.end()) {
        methods.push_back(r.method);
      }
    }
    std::sort(methods.begin(), methods.end());
    Response res;
    res.headers.emplace_back("Allow", join_allow(methods));
    respond(std::move(res));
    return;
  }

  req.path = clean_path(percent_decode(req.path));
  auto segs = split_path(req.path);

  if (int r = find(req.method, segs, false); r >= 0) {
    const Route& route = routes_[static_cast<std::size_t>(r)];
    for (std::size_t k = 0; k < route.segments.size(); ++k) {
      const Segment& seg = route.segments[k];
      if (seg.kind == SegKind::kParam) {
        req.params[seg.text] = std::string(segs[k]);
      } else if (seg.kind == SegKind::kCatchAll) {
        // The remainder runs from this segment to the end of the cleaned path.
        std::size_t off = static_cast<std::size_t>(segs[k].data() - req.path.data());
        req.params[seg.text] = req.path.substr(off);
      }
    }
    route.handler(std::move(req), std::move(respond));
    return;
  }

  if (req.method != "CONNECT" && req.path != "/") {
    std::string target;
    std::string toggled = toggle_slash(req.path);
    auto toggled_segs = split_path(toggled);
    if (find(req.method, toggled_segs, false) >= 0) {
      target = toggled;
    } else {
      // Case-insensitive match, as is or with the slash toggled: rebuild the path with the
      // route's spelling of its literal segments and the request's parameter values.
      for (const auto* candidate : {&segs, &toggled_segs}) {
        int r = find(req.method, *candidate, true);
        if (r < 0) continue;
        const Route& route = routes_[static_cast<std::size_t>(r)];
        const std::string& base = candidate == &segs ? req.path : toggled;
        for (std::size_t k = 0; k < route.segments.size(); ++k) {
          const Segment& seg = route.segments[k];
          target.push_back('/');
          if (seg.kind == SegKind::kLiteral) {
            target += seg.text;
          } else if (seg.kind == SegKind::kParam) {
            target += (*candidate)[k];
          } else {
            target += base.substr(static_cast<std::size_t>((*candidate)[k].data() - base.data()));
          }
        }
        break;
      }
    }
    if (!target.empty()) {
      std::string location = req.host.empty() ? "" : "http://" + req.host;
      location += escape_path(target);
      if (!req.query.empty()) location += "?" + req.query;
      Response res;
      res.status = req.method == "GET" ? 301 : 307;
      res.headers.emplace_back("Location", std::move(location));
      respond(std::move(res));
      return;
    }
  }

  auto methods = allowed(segs, req.method);
  if (!methods.empty()) {
    if (req.method == "OPTIONS") {
      Response res;
      res.headers.emplace_back("Allow", join_allow(methods));
      respond(std::move(res));
    } else {
      Response res = plain(405, "Method Not Allowed");
      res.headers.emplace_back("Allow", join_allow(methods));
      respond(std::move(res));
    }
    return;
  }
  respond(plain(404, "Not Found"));
}

}  // namespace dsiem::http
