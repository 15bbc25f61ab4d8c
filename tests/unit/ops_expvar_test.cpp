// /debug/vars/ in Go expvar format (cluster.md §4.6) and the health probes (decisions.md §3).
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <optional>
#include <string>

#include "dsiem/ops/counters.h"
#include "dsiem/ops/expvar.h"
#include "dsiem/ops/health.h"

namespace dsiem::ops {
namespace {

using http::Request;
using http::Response;
using http::Router;

Response call(const Router& router, std::string method, std::string_view target) {
  Request req;
  req.method = std::move(method);
  auto q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  req.host = "localhost:8080";
  std::optional<Response> out;
  router.dispatch(std::move(req), [&](Response res) { out = std::move(res); });
  EXPECT_TRUE(out.has_value());
  return out.value_or(Response{-1, "", "", {}});
}

class ExpvarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    counters_ = std::make_shared<Counters>();
    counters_->eps_counter = 12;
    counters_->backlog_counter = 7;
    counters_->goroutine_counter = 42;
    set_cmdline({"dsiem", "serve", "--tags", "a\"b"});
    add_debug_vars_route(router_, counters_);
  }
  std::shared_ptr<Counters> counters_;
  Router router_;
};

// {"rss_bytes":N,"vm_bytes":N} with N > 0.
bool is_memstats(std::string_view v) {
  for (std::string_view key : {"{\"rss_bytes\":", ",\"vm_bytes\":"}) {
    if (v.substr(0, key.size()) != key) return false;
    v.remove_prefix(key.size());
    std::size_t digits = 0;
    while (digits < v.size() && std::isdigit(static_cast<unsigned char>(v[digits]))) ++digits;
    if (digits == 0 || v[0] == '0') return false;
    v.remove_prefix(digits);
  }
  return v == "}";
}

TEST_F(ExpvarTest, FormatAndOrder) {
  auto r = call(router_, "GET", "/debug/vars/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
  // memstats varies; everything else is exact.
  const std::string head =
      "{\n"
      "\t\"alarm_counter\": 0,\n"
      "\t\"backlog_counter\": 7,\n"
      "\t\"cmdline\": [\"dsiem\",\"serve\",\"--tags\",\"a\\\"b\"],\n"
      "\t\"eps_counter\": 12,\n"
      "\t\"expvarHandlerCalls\": 1,\n"
      "\t\"expvarRegexpErrors\": 0,\n"
      "\t\"goroutine_counter\": 42,\n"
      "\t\"memstats\": ";
  const std::string tail = "\n}\n";
  ASSERT_GT(r.body.size(), head.size() + tail.size()) << r.body;
  EXPECT_EQ(r.body.substr(0, head.size()), head);
  EXPECT_EQ(r.body.substr(r.body.size() - tail.size()), tail);
  std::string memstats = r.body.substr(head.size(), r.body.size() - head.size() - tail.size());
  EXPECT_TRUE(is_memstats(memstats)) << memstats;
}

TEST_F(ExpvarTest, CountersAreReadAtEachRequest) {
  counters_->alarm_counter = 3;
  counters_->eps_counter.store(99);
  auto r = call(router_, "GET", "/debug/vars/?r=_counter");
  EXPECT_EQ(r.body,
            "{\n\t\"alarm_counter\": 3,\n\t\"backlog_counter\": 7,\n\t\"eps_counter\": 99,\n"
            "\t\"goroutine_counter\": 42\n}\n");
}

TEST_F(ExpvarTest, RegexFilter) {
  EXPECT_EQ(call(router_, "GET", "/debug/vars/?r=%5Eeps").body, "{\n\t\"eps_counter\": 12\n}\n");
  EXPECT_EQ(call(router_, "GET", "/debug/vars/?x=1&r=^back").body,
            "{\n\t\"backlog_counter\": 7\n}\n");
  EXPECT_EQ(call(router_, "GET", "/debug/vars/?r=nomatch").body, "{\n\n}\n");
  // The handler's own counters: this is the 4th call.
  EXPECT_EQ(call(router_, "GET", "/debug/vars/?r=Calls").body,
            "{\n\t\"expvarHandlerCalls\": 4\n}\n");
  // An empty r means every variable.
  auto all = call(router_, "GET", "/debug/vars/?r=");
  EXPECT_NE(all.body.find("\"memstats\""), std::string::npos);
  EXPECT_NE(all.body.find("\"alarm_counter\""), std::string::npos);
}

TEST_F(ExpvarTest, InvalidRegexIs400) {
  auto r = call(router_, "GET", "/debug/vars/?r=(");
  EXPECT_EQ(r.status, 400);
  const std::string prefix = "Error when obtaining expvar regexp: cannot parse r=\"(\": ";
  EXPECT_EQ(r.body.rfind(prefix, 0), 0u) << r.body;
  EXPECT_GT(r.body.size(), prefix.size());
  EXPECT_TRUE(r.content_type.empty());  // text/plain from the server default

  r = call(router_, "GET", "/debug/vars/?r=" + std::string(1001, 'a'));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(": expression too long"), std::string::npos);

  EXPECT_EQ(call(router_, "GET", "/debug/vars/?r=Errors").body,
            "{\n\t\"expvarRegexpErrors\": 2\n}\n");
}

TEST_F(ExpvarTest, RoutedOnlyWithTrailingSlashAndGet) {
  auto r = call(router_, "GET", "/debug/vars");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.headers.at(0).second, "http://localhost:8080/debug/vars/");
  EXPECT_EQ(call(router_, "POST", "/debug/vars/").status, 405);
}

TEST(CmdlineTest, RoundTrip) {
  set_cmdline({"x", "y"});
  EXPECT_EQ(cmdline(), (std::vector<std::string>{"x", "y"}));
  set_cmdline({});
  EXPECT_TRUE(cmdline().empty());
}

TEST(HealthTest, LiveAndReady) {
  std::atomic<bool> ready{false};
  Router router;
  add_health_routes(router, [&] { return ready.load(); });
  auto r = call(router, "GET", "/health/live");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "live\n");
  r = call(router, "GET", "/health/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready\n");
  ready = true;
  r = call(router, "GET", "/health/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");
  EXPECT_EQ(call(router, "HEAD", "/health/live").status, 405);

  Router no_fn;
  add_health_routes(no_fn, nullptr);
  EXPECT_EQ(call(no_fn, "GET", "/health/ready").status, 503);
}

}  // namespace
}  // namespace dsiem::ops
