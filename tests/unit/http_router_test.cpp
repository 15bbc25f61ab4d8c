// Router rules of cluster.md §4 and §7, item by item, plus the path/text helpers they rely on.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "dsiem/common/text.h"
#include "dsiem/http/router.h"
#include "dsiem/http/util.h"

namespace dsiem::http {
namespace {

std::string header(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

bool has_header(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return true;
  }
  return false;
}

// A router shaped like the engine's: handlers echo what they saw.
Router make_router(bool writeable) {
  Router r;
  auto echo = [](std::string tag) {
    return [tag](Request&& req, Responder respond) {
      Response res;
      res.body = tag + "|" + req.path + "|" + req.query + "|" + req.host;
      for (const auto& [k, v] : req.params) res.body += "|" + k + "=" + v;
      respond(std::move(res));
    };
  };
  r.add("POST", "/events", echo("events"));
  r.add("GET", "/config/", echo("list"));
  r.add("GET", "/config/{filename}", echo("get"));
  r.add("GET", "/debug/vars/", echo("vars"));
  r.add("GET", "/ui/{filepath...}", echo("ui"));
  if (writeable) {
    r.add("POST", "/config/{filename}", echo("post"));
    r.add("DELETE", "/config/{filename}", echo("delete"));
  }
  return r;
}

Response call(const Router& router, std::string method, std::string_view target,
              std::string host = "dsiem:8080") {
  Request req;
  req.method = std::move(method);
  auto q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  req.host = std::move(host);
  std::optional<Response> out;
  int calls = 0;
  router.dispatch(std::move(req), [&](Response res) {
    ++calls;
    out = std::move(res);
  });
  EXPECT_EQ(calls, 1) << target;
  return out.value_or(Response{-1, "no response", "", {}});
}

class RouterTest : public ::testing::Test {
 protected:
  Router ro_ = make_router(false);
  Router rw_ = make_router(true);
};

TEST_F(RouterTest, ExactMatchRoutesToHandler) {
  auto r = call(ro_, "POST", "/events?x=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "events|/events|x=1|dsiem:8080");
  EXPECT_EQ(call(ro_, "GET", "/config/").body, "list|/config/||dsiem:8080");
  EXPECT_EQ(call(ro_, "GET", "/config/a.json").body,
            "get|/config/a.json||dsiem:8080|filename=a.json");
  EXPECT_EQ(call(ro_, "GET", "/debug/vars/").body, "vars|/debug/vars/||dsiem:8080");
}

// §7.1: trailing-slash redirects keep the method and need a route for the same method.
TEST_F(RouterTest, TrailingSlashRedirects) {
  auto r = call(ro_, "POST", "/events/");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(header(r, "Location"), "http://dsiem:8080/events");
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(r.content_type.empty());

  r = call(ro_, "GET", "/config");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "http://dsiem:8080/config/");

  r = call(ro_, "GET", "/debug/vars");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "http://dsiem:8080/debug/vars/");

  r = call(ro_, "GET", "/ui");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "http://dsiem:8080/ui/");

  r = call(ro_, "GET", "/config?a=b");
  EXPECT_EQ(header(r, "Location"), "http://dsiem:8080/config/?a=b");
}

TEST_F(RouterTest, NoRedirectWithoutRouteForSameMethod) {
  for (const char* m : {"GET", "PUT", "DELETE", "OPTIONS", "HEAD"}) {
    auto r = call(ro_, m, "/events/");
    EXPECT_EQ(r.status, 404) << m;
    EXPECT_EQ(r.body, "Not Found") << m;
  }
  for (const char* m : {"POST", "PUT", "DELETE"}) {
    EXPECT_EQ(call(ro_, m, "/config").status, 404) << m;
    EXPECT_EQ(call(rw_, m, "/config").status, 404) << m;
  }
  EXPECT_EQ(call(ro_, "POST", "/ui").status, 404);
  EXPECT_EQ(call(ro_, "GET", "/EVENTS").status, 404);
  EXPECT_EQ(call(ro_, "POST", "/Config/x.json").status, 404);
}

// §4 / §7.1: letter-case variants redirect to the route's spelling, keeping the query.
TEST_F(RouterTest, CaseInsensitiveRedirects) {
  auto r = call(ro_, "POST", "/EVENTS?src=x");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(header(r, "Location"), "http://dsiem:8080/events?src=x");

  r = call(ro_, "GET", "/Debug/Vars/");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "http://dsiem:8080/debug/vars/");

  // Case and trailing slash fixed together.
  r = call(ro_, "GET", "/CONFIG");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "http://dsiem:8080/config/");

  // A parameter keeps the request's spelling.
  r = call(ro_, "GET", "/Config/X.json");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "http://dsiem:8080/config/X.json");

  r = call(rw_, "POST", "/Config/x.json?q=1");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(header(r, "Location"), "http://dsiem:8080/config/x.json?q=1");
}

// §7.2: absolute Location from the Host header; path only without one; path re-encoded.
TEST_F(RouterTest, LocationIsAbsoluteAndEscaped) {
  auto r = call(ro_, "GET", "/config", "10.0.0.1:8081");
  EXPECT_EQ(header(r, "Location"), "http://10.0.0.1:8081/config/");
  r = call(ro_, "GET", "/config", "");
  EXPECT_EQ(header(r, "Location"), "/config/");
  r = call(ro_, "GET", "/CONFIG/a%20b.json");
  EXPECT_EQ(header(r, "Location"), "http://dsiem:8080/config/a%20b.json");
}

// §7.3: OPTIONS answers 200, empty body, Allow with the path's methods plus OPTIONS.
TEST_F(RouterTest, OptionsListsAllowedMethods) {
  auto r = call(ro_, "OPTIONS", "/events");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(r.content_type.empty());
  EXPECT_EQ(header(r, "Allow"), "POST, OPTIONS");
  EXPECT_EQ(header(call(ro_, "OPTIONS", "/config/x.json"), "Allow"), "GET, OPTIONS");
  EXPECT_EQ(header(call(rw_, "OPTIONS", "/config/x.json"), "Allow"), "DELETE, GET, POST, OPTIONS");
  EXPECT_EQ(call(ro_, "OPTIONS", "/nothing").status, 404);
  auto star = call(ro_, "OPTIONS", "*");
  EXPECT_EQ(star.status, 200);
  EXPECT_EQ(header(star, "Allow"), "GET, POST, OPTIONS");
}

// §7.4: HEAD is not routed: 405 with Allow on a GET path, 404 elsewhere.
TEST_F(RouterTest, HeadIsNotRouted) {
  auto r = call(ro_, "HEAD", "/config/");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "GET, OPTIONS");
  r = call(ro_, "HEAD", "/events");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "POST, OPTIONS");
  EXPECT_EQ(call(ro_, "HEAD", "/nothing").status, 404);
}

TEST_F(RouterTest, OtherMethodsGet405) {
  for (const char* m : {"GET", "PUT", "DELETE", "PATCH"}) {
    auto r = call(ro_, m, "/events");
    EXPECT_EQ(r.status, 405) << m;
    EXPECT_EQ(r.body, "Method Not Allowed");
    EXPECT_EQ(header(r, "Allow"), "POST, OPTIONS");
  }
  // Uploads off: POST/DELETE on a config file are 405 with Allow: GET, OPTIONS.
  for (const char* m : {"POST", "DELETE"}) {
    auto r = call(ro_, m, "/config/x.json");
    EXPECT_EQ(r.status, 405) << m;
    EXPECT_EQ(header(r, "Allow"), "GET, OPTIONS");
  }
  auto r = call(rw_, "PUT", "/config/x.json");
  EXPECT_EQ(header(r, "Allow"), "DELETE, GET, POST, OPTIONS");
}

TEST_F(RouterTest, UnknownPathIs404) {
  auto r = call(ro_, "GET", "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "Not Found");
  EXPECT_FALSE(has_header(r, "Allow"));
  EXPECT_EQ(call(ro_, "GET", "/").status, 404);
  EXPECT_EQ(call(ro_, "GET", "/config/a/b.json").status, 404);
}

// §7.6: percent-decoding and cleaning happen before routing.
TEST_F(RouterTest, PathIsDecodedAndCleaned) {
  auto r = call(ro_, "POST", "/%65vents");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "events|/events||dsiem:8080");
  EXPECT_EQ(call(ro_, "GET", "/config//x.json").body,
            "get|/config/x.json||dsiem:8080|filename=x.json");
  EXPECT_EQ(call(ro_, "GET", "/config/./x.json").body,
            "get|/config/x.json||dsiem:8080|filename=x.json");
  EXPECT_EQ(call(ro_, "GET", "/config/../x.json").status, 404);
  EXPECT_EQ(call(ro_, "GET", "/config/%2e%2e%2fetc.json").status, 404);
  EXPECT_EQ(call(ro_, "GET", "/config/a%2Fb.json").status, 404);
  EXPECT_EQ(call(ro_, "GET", "/x/../config/").body, "list|/config/||dsiem:8080");
  // The query is passed raw, not decoded.
  EXPECT_EQ(call(ro_, "POST", "/events?a=%20").body, "events|/events|a=%20|dsiem:8080");
}

TEST_F(RouterTest, CatchAllAndSpecificity) {
  EXPECT_EQ(call(ro_, "GET", "/ui/").body, "ui|/ui/||dsiem:8080|filepath=");
  EXPECT_EQ(call(ro_, "GET", "/ui/a/b.js").body, "ui|/ui/a/b.js||dsiem:8080|filepath=a/b.js");
  EXPECT_EQ(call(ro_, "GET", "/ui/dir/").body, "ui|/ui/dir/||dsiem:8080|filepath=dir/");
  // The exact "/config/" wins; an empty segment never fills {filename}.
  EXPECT_EQ(call(ro_, "GET", "/config/").body.substr(0, 4), "list");

  Router r;
  r.add("GET", "/a/{x}", [](Request&&, Responder res) { res({200, "param", "", {}}); });
  r.add("GET", "/a/{rest...}", [](Request&&, Responder res) { res({200, "all", "", {}}); });
  r.add("GET", "/a/fixed", [](Request&&, Responder res) { res({200, "fixed", "", {}}); });
  EXPECT_EQ(call(r, "GET", "/a/fixed").body, "fixed");
  EXPECT_EQ(call(r, "GET", "/a/other").body, "param");
  EXPECT_EQ(call(r, "GET", "/a/b/c").body, "all");
  // Re-adding replaces the handler.
  r.add("GET", "/a/fixed", [](Request&&, Responder res) { res({200, "fixed2", "", {}}); });
  EXPECT_EQ(call(r, "GET", "/a/fixed").body, "fixed2");
}

TEST_F(RouterTest, MalformedPatternsThrow) {
  Router r;
  auto h = [](Request&&, Responder) {};
  EXPECT_THROW(r.add("GET", "events", h), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{x", h), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{x...}/b", h), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/b{x}", h), std::invalid_argument);
  EXPECT_THROW(r.add("", "/a", h), std::invalid_argument);
}

TEST(HttpUtilTest, CleanPath) {
  EXPECT_EQ(clean_path(""), "/");
  EXPECT_EQ(clean_path("/"), "/");
  EXPECT_EQ(clean_path("events"), "/events");
  EXPECT_EQ(clean_path("/config/"), "/config/");
  EXPECT_EQ(clean_path("/config//x.json"), "/config/x.json");
  EXPECT_EQ(clean_path("/config/./x.json"), "/config/x.json");
  EXPECT_EQ(clean_path("/config/../x.json"), "/x.json");
  EXPECT_EQ(clean_path("/../../x"), "/x");
  EXPECT_EQ(clean_path("/a/b/.."), "/a/");
  EXPECT_EQ(clean_path("/a/."), "/a/");
  EXPECT_EQ(clean_path("/a/.."), "/");
  EXPECT_EQ(clean_path("//a//b//"), "/a/b/");
  EXPECT_EQ(clean_path("/a/..b/c"), "/a/..b/c");
}

TEST(HttpUtilTest, PercentDecode) {
  EXPECT_EQ(percent_decode("/%65vents"), "/events");
  EXPECT_EQ(percent_decode("/a%2Fb%2fc"), "/a/b/c");
  EXPECT_EQ(percent_decode("/a+b"), "/a+b");
  EXPECT_EQ(percent_decode("/%zz%4"), "/%zz%4");  // invalid escapes stay literal
  EXPECT_EQ(percent_decode("%"), "%");
  EXPECT_EQ(query_decode("a+b%21"), "a b!");
  auto q = parse_query("r=%5Eeps&&x&r=second&y=a+b");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"r", "^eps"}));
  EXPECT_EQ(q[1], (std::pair<std::string, std::string>{"x", ""}));
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"y", "a b"}));
  EXPECT_EQ(query_value("r=%5Eeps&r=second", "r"), "^eps");
  EXPECT_EQ(query_value("a=1", "r"), "");
}

TEST(HttpUtilTest, EscapePath) {
  EXPECT_EQ(escape_path("/config/a b.json"), "/config/a%20b.json");
  EXPECT_EQ(escape_path("/a?b#c%d"), "/a%3Fb%23c%25d");
  EXPECT_EQ(escape_path("/x-_.~:@!$&'()*+,;="), "/x-_.~:@!$&'()*+,;=");
  EXPECT_EQ(escape_path("/\xC3\xA9"), "/%C3%A9");
}

TEST(HttpUtilTest, GoQuote) {
  EXPECT_EQ(go_quote("("), "\"(\"");
  EXPECT_EQ(go_quote("a\"b\\"), "\"a\\\"b\\\\\"");
  EXPECT_EQ(go_quote("\n\x01\xFF"), "\"\\n\\x01\\xff\"");
  EXPECT_EQ(go_quote("\xC3\xA9"), "\"\xC3\xA9\"");
}

}  // namespace
}  // namespace dsiem::http
