// `dsiem bench`: template rendering, request bodies, URL check, response parsing, latency
// percentiles, and short bounded runs against an in-process server on 127.0.0.1.
#include "dsiem/tools/bench.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dsiem/http/router.h"
#include "dsiem/http/server.h"
#include "test_support.h"

namespace dsiem::tools::bench {
namespace {

std::string padded(uint64_t seq) {
  std::string digits = std::to_string(seq);
  return std::string(kSeqWidth - digits.size(), '0') + digits;
}

// The body of one request for event number `seq` (pool entry (seq - 1) % size).
std::string single_body(const std::vector<PooledEvent>& pool, uint64_t seq) {
  std::string body;
  append_body(body, pool, BodyFormat::kSingle, seq, 1);
  return body;
}

std::vector<PooledEvent> render_pool(std::string_view tmpl, std::size_t size, uint64_t seed = 1) {
  return build_pool(EventTemplate::parse(tmpl), size, seed);
}

bool is_uuid_v4(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  }
  return s[14] == '4' && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

TEST(BenchTemplate, RendersEveryPlaceholder) {
  const auto tmpl = EventTemplate::parse(R"({
    "id": "{{uuid}}", "ts": "{{now}}", "src": "{{ip:10.1.0.0/28}}", "v6": "{{ip:fd00::/120}}",
    "port": "{{int:5:7}}", "port_text": "p{{int:5:7}}", "pick": "{{pick:a|b}}",
    "seq": "{{seq}}", "event_id": "ev-{{seq}}", "real": 1.5, "flag": true, "none": null,
    "list": ["{{int:-3:-3}}", {"inner": "{{pick:only}}"}], "big": 12345678901234
  })");
  std::mt19937_64 rng(7);
  const Cidr src_net = *Cidr::parse("10.1.0.0/28");
  const Cidr v6_net = *Cidr::parse("fd00::/120");
  std::set<int64_t> ports;
  std::set<std::string> picks;
  simdjson::dom::parser parser;
  for (uint64_t seq = 1; seq <= 200; ++seq) {
    const std::vector<PooledEvent> pool{tmpl.render(rng, "2024-01-02T03:04:05Z")};
    const std::string body = single_body(pool, seq);
    simdjson::dom::element e = parser.parse(body);
    EXPECT_TRUE(is_uuid_v4(std::string_view(e["id"]))) << body;
    EXPECT_EQ(std::string_view(e["ts"]), "2024-01-02T03:04:05Z");
    EXPECT_TRUE(src_net.contains(*IpAddress::parse(std::string_view(e["src"])))) << body;
    EXPECT_TRUE(v6_net.contains(*IpAddress::parse(std::string_view(e["v6"])))) << body;
    const int64_t port = e["port"];  // a whole-string {{int}} is a JSON number
    EXPECT_GE(port, 5);
    EXPECT_LE(port, 7);
    ports.insert(port);
    const std::string_view port_text = e["port_text"];
    EXPECT_TRUE(port_text == "p5" || port_text == "p6" || port_text == "p7") << port_text;
    picks.insert(std::string(std::string_view(e["pick"])));
    EXPECT_EQ(int64_t(e["seq"]), static_cast<int64_t>(seq));  // a whole-string {{seq}} too
    EXPECT_EQ(std::string_view(e["event_id"]), "ev-" + padded(seq));
    EXPECT_EQ(double(e["real"]), 1.5);
    EXPECT_TRUE(bool(e["flag"]));
    EXPECT_TRUE(e["none"].is_null());
    EXPECT_EQ(int64_t(e["list"].at(0)), -3);
    EXPECT_EQ(std::string_view(e["list"].at(1)["inner"]), "only");
    EXPECT_EQ(int64_t(e["big"]), 12345678901234);
  }
  EXPECT_EQ(ports, (std::set<int64_t>{5, 6, 7}));
  EXPECT_EQ(picks, (std::set<std::string>{"a", "b"}));
}

TEST(BenchTemplate, KeepsEscapesAndTextThatIsNoPlaceholder) {
  const auto pool = render_pool(
      R"({"msg": "say \"hi\" <{{int:1:1}}>\n", "raw": "{{Seq}} {{ seq}} {{{seq}}}", "k\"ey": 1})",
      1);
  simdjson::dom::parser parser;
  simdjson::dom::element e = parser.parse(single_body(pool, 42));
  EXPECT_EQ(std::string_view(e["msg"]), "say \"hi\" <1>\n");
  EXPECT_EQ(std::string_view(e["raw"]), "{{Seq}} {{ seq}} {" + padded(42) + "}");
  EXPECT_EQ(int64_t(e["k\"ey"]), 1);
}

TEST(BenchTemplate, RejectsBadTemplates) {
  EXPECT_THROW(EventTemplate::parse(R"(["not", "an", "object"])"), std::invalid_argument);
  EXPECT_THROW(EventTemplate::parse(R"({"a": )"), std::invalid_argument);
  EXPECT_THROW(EventTemplate::parse(R"({"a": "{{nope}}"})"), std::invalid_argument);
  EXPECT_THROW(EventTemplate::parse(R"({"a": "{{ip:10.0.0.0/40}}"})"), std::invalid_argument);
  EXPECT_THROW(EventTemplate::parse(R"({"a": "{{ip}}"})"), std::invalid_argument);
  EXPECT_THROW(EventTemplate::parse(R"({"a": "{{int:9:1}}"})"), std::invalid_argument);
  EXPECT_THROW(EventTemplate::parse(R"({"a": "{{int:x:1}}"})"), std::invalid_argument);
  EXPECT_THROW(EventTemplate::parse(R"({"a": "{{int:5}}"})"), std::invalid_argument);
  EXPECT_THROW(EventTemplate::parse(R"({"a": "{{pick}}"})"), std::invalid_argument);
}

TEST(BenchTemplate, SameSeedSamePool) {
  const char* tmpl = R"({"id": "{{uuid}}", "src": "{{ip:10.0.0.0/8}}", "n": "{{int:0:1000000}}"})";
  const auto a = render_pool(tmpl, 50, 3);
  const auto b = render_pool(tmpl, 50, 3);
  const auto c = render_pool(tmpl, 50, 4);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].text, b[i].text);
  EXPECT_NE(a[0].text, c[0].text);
}

TEST(BenchTemplate, EverySeqIsUniqueWhileThePoolCycles) {
  const auto pool =
      render_pool(R"({"event_id": "e-{{seq}}", "n": "{{seq}}", "x": "{{int:1:2}}"})", 3);
  simdjson::dom::parser parser;
  std::set<std::string> ids;
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    const std::string body = single_body(pool, seq);
    simdjson::dom::element e = parser.parse(body);
    ids.insert(std::string(std::string_view(e["event_id"])));
    EXPECT_EQ(int64_t(e["n"]), static_cast<int64_t>(seq));
    // Apart from the sequence slots, the body is the pool entry it was cycled from.
    EXPECT_EQ(body.size(), pool[(seq - 1) % 3].text.size());
  }
  EXPECT_EQ(ids.size(), 10u);
  // The pool itself is left untouched (bodies are copies).
  EXPECT_NE(pool[0].text.find("e-" + padded(0)), std::string::npos);
}

TEST(BenchTemplate, WriteSeqFillsTheWholeSlot) {
  std::string slot(kSeqWidth, 'x');
  write_seq(slot.data(), 1234, false);
  EXPECT_EQ(slot, "000000001234");
  write_seq(slot.data(), 1234, true);
  EXPECT_EQ(slot, "        1234");
  write_seq(slot.data(), kMaxSeq, true);
  EXPECT_EQ(slot, "999999999999");
  write_seq(slot.data(), 0, false);
  EXPECT_EQ(slot, "000000000000");
}

TEST(BenchBody, ArrayNdjsonAndSingleShapes) {
  const auto pool = render_pool(R"({"event_id": "b-{{seq}}", "seq": "{{seq}}"})", 4);
  simdjson::dom::parser parser;

  std::string array;
  append_body(array, pool, BodyFormat::kArray, 11, 5);
  simdjson::dom::array items = parser.parse(array).get_array();
  ASSERT_EQ(items.size(), 5u);
  int64_t expected = 11;
  for (simdjson::dom::element item : items) {
    EXPECT_EQ(int64_t(item["seq"]), expected);
    EXPECT_EQ(std::string_view(item["event_id"]), "b-" + padded(static_cast<uint64_t>(expected)));
    ++expected;
  }

  std::string ndjson;
  append_body(ndjson, pool, BodyFormat::kNdjson, 21, 3);
  ASSERT_EQ(ndjson.back(), '\n');
  std::istringstream lines(ndjson);
  std::string line;
  expected = 21;
  while (std::getline(lines, line)) {
    simdjson::dom::parser line_parser;
    EXPECT_EQ(int64_t(line_parser.parse(line)["seq"]), expected);
    ++expected;
  }
  EXPECT_EQ(expected, 24);

  const std::string single = single_body(pool, 7);
  EXPECT_EQ(single.front(), '{');
  EXPECT_EQ(int64_t(parser.parse(single)["seq"]), 7);

  EXPECT_EQ(content_type(BodyFormat::kSingle), "application/json");
  EXPECT_EQ(content_type(BodyFormat::kArray), "application/json");
  EXPECT_EQ(content_type(BodyFormat::kNdjson), "application/x-ndjson");
}

TEST(BenchUrl, AcceptsOnlyLoopback) {
  Target t = parse_loopback_url("http://127.0.0.1:8080/events");
  EXPECT_EQ(t.host, "127.0.0.1");
  EXPECT_EQ(t.port, 8080);
  EXPECT_EQ(t.path, "/events");
  EXPECT_EQ(t.host_header, "127.0.0.1:8080");

  t = parse_loopback_url("http://127.9.8.7/x?y=1");
  EXPECT_EQ(t.port, 80);
  EXPECT_EQ(t.path, "/x?y=1");
  t = parse_loopback_url("http://LocalHost:9000");
  EXPECT_EQ(t.path, "/");
  t = parse_loopback_url("http://[::1]:8081/events");
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.host_header, "[::1]:8081");

  for (const char* bad :
       {"http://10.0.0.1:8080/events", "http://example.com/events", "http://0.0.0.0:8080/",
        "http://128.0.0.1/", "http://[::2]:8080/", "https://127.0.0.1/events",
        "127.0.0.1:8080/events", "http://127.0.0.1:0/", "http://127.0.0.1:70000/",
        "http://user@127.0.0.1/", "http://:8080/"}) {
    EXPECT_THROW(parse_loopback_url(bad), std::invalid_argument) << bad;
  }
}

TEST(BenchUrl, CommandRefusesNonLoopbackTargets) {
  test::TempDir dir;
  dir.write("t.json", R"({"event_id": "{{seq}}"})");
  std::ostringstream out, err;
  const int code = run_bench(
      {"--url", "http://192.168.1.10:8080/events", "--template", (dir.path() / "t.json").string()},
      out, err);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.str().find("Exiting: invalid --url: refusing non-loopback host 192.168.1.10"),
            std::string::npos)
      << out.str();
}

TEST(BenchCommand, RejectsBadFlags) {
  std::ostringstream out, err;
  EXPECT_EQ(run_bench({}, out, err), 1);
  EXPECT_NE(out.str().find("--template is required"), std::string::npos) << out.str();
  out.str("");
  EXPECT_EQ(run_bench({"--template", "x.json", "--ndjson"}, out, err), 1);
  EXPECT_NE(out.str().find("--ndjson needs --batch"), std::string::npos) << out.str();
  out.str("");
  EXPECT_EQ(run_bench({"--template", "x.json", "-d", "601"}, out, err), 1);
  EXPECT_NE(out.str().find("--duration must be between 1 and 600"), std::string::npos);
}

TEST(BenchResponse, ParsesHeads) {
  ResponseHead head;
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nContent-Le", head), HeadParse::kIncomplete);
  const std::string ok = "HTTP/1.1 200 OK\r\nServer: dsiem\r\ncontent-length: 12\r\n\r\n{\"a\":1}";
  ASSERT_EQ(parse_response_head(ok, head), HeadParse::kComplete);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_length, 12u);
  EXPECT_EQ(head.header_bytes, ok.find("{"));
  EXPECT_FALSE(head.close);

  ASSERT_EQ(
      parse_response_head("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n", head),
      HeadParse::kComplete);
  EXPECT_EQ(head.status, 503);
  EXPECT_EQ(head.content_length, 0u);
  EXPECT_TRUE(head.close);
  ASSERT_EQ(parse_response_head("HTTP/1.0 200 OK\r\n\r\n", head), HeadParse::kComplete);
  EXPECT_TRUE(head.close);
  ASSERT_EQ(parse_response_head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n", head),
            HeadParse::kComplete);
  EXPECT_FALSE(head.close);

  EXPECT_EQ(parse_response_head("SSH-2.0-OpenSSH\r\n\r\n", head), HeadParse::kMalformed);
  EXPECT_EQ(parse_response_head("HTTP/1.1 2x0 OK\r\n\r\n", head), HeadParse::kMalformed);
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", head),
            HeadParse::kMalformed);
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", head),
            HeadParse::kMalformed);
}

TEST(BenchResponse, ReadsTheAcceptedCount) {
  EXPECT_EQ(accepted_count(R"({"received":5,"accepted":3,"rejected":[]})"), 3u);
  EXPECT_EQ(accepted_count(R"({"received": 5, "accepted" : 0, "rejected": []})"), 0u);
  EXPECT_EQ(accepted_count(""), std::nullopt);
  EXPECT_EQ(accepted_count(R"({"error":"bad"})"), std::nullopt);
}

TEST(BenchHistogram, PercentilesOfKnownData) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(50), 0u);
  // 1 µs .. 100 ms in 1 µs steps: the p-th percentile is p% of 100 ms.
  for (uint64_t us = 1; us <= 100'000; ++us) h.record(us * 1000);
  EXPECT_EQ(h.count(), 100'000u);
  EXPECT_EQ(h.max(), 100'000'000u);
  const auto near = [](uint64_t got, double want) {
    return std::abs(static_cast<double>(got) - want) <= want * 0.008;
  };
  EXPECT_TRUE(near(h.percentile(50), 50e6)) << h.percentile(50);
  EXPECT_TRUE(near(h.percentile(90), 90e6)) << h.percentile(90);
  EXPECT_TRUE(near(h.percentile(99), 99e6)) << h.percentile(99);
  EXPECT_TRUE(near(h.percentile(99.9), 99.9e6)) << h.percentile(99.9);
  EXPECT_EQ(h.percentile(100), 100'000'000u);
  // A percentile never undershoots the recorded value it stands for.
  EXPECT_GE(h.percentile(50), 50'000'000u);

  // Small values are exact.
  LatencyHistogram small;
  for (uint64_t ns = 1; ns <= 100; ++ns) small.record(ns);
  EXPECT_EQ(small.percentile(50), 50u);
  EXPECT_EQ(small.percentile(99), 99u);
  EXPECT_EQ(small.percentile(0.1), 1u);

  // Merging adds the recordings: 100 values of 1 ms on top of 100 of 1..100 ns.
  LatencyHistogram slow;
  for (int i = 0; i < 100; ++i) slow.record(1'000'000);
  small.merge(slow);
  EXPECT_EQ(small.count(), 200u);
  EXPECT_EQ(small.percentile(50), 100u);
  EXPECT_TRUE(near(small.percentile(51), 1e6)) << small.percentile(51);
  EXPECT_EQ(small.max(), 1'000'000u);
}

TEST(BenchLineCounter, CountsAppendedLines) {
  test::TempDir dir;
  LineCounter counter(dir.path() / "events.json");
  EXPECT_EQ(counter.count(), 0u);
  dir.write("events.json", "a\nb\n");
  EXPECT_EQ(counter.count(), 2u);
  {
    std::ofstream out(dir.path() / "events.json", std::ios::app);
    out << "c\nd\ne\n";
  }
  EXPECT_EQ(counter.count(), 5u);
  dir.write("events.json", "x\n");  // replaced by a shorter file
  EXPECT_EQ(counter.count(), 1u);
}

// An in-process engine stand-in: POST /events counts the events of single, array and NDJSON
// bodies, records their event_id, and (when asked) appends one line per event to a file.
class CountingServer {
 public:
  explicit CountingServer(int reject_per_batch = 0, std::filesystem::path lines = {})
      : reject_per_batch_(reject_per_batch), lines_(std::move(lines)) {
    auto router = std::make_shared<http::Router>();
    router->add("POST", "/events", [this](http::Request&& req, http::Responder respond) {
      respond(handle(req.body));
    });
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<http::Server>(options, router);
    server_->start();
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/events";
  }
  std::vector<std::string> ids() const {
    std::lock_guard lock(mu_);
    return ids_;
  }
  uint64_t bodies(char first) const {
    std::lock_guard lock(mu_);
    return first == '[' ? arrays_ : first == '\n' ? ndjsons_ : singles_;
  }

 private:
  http::Response handle(const std::string& body) {
    simdjson::dom::parser parser;
    std::vector<std::string> found;
    const bool array = !body.empty() && body.front() == '[';
    const bool ndjson = !array && !body.empty() && body.back() == '\n';
    try {
      if (array) {
        for (simdjson::dom::element e : parser.parse(body).get_array()) {
          found.emplace_back(std::string_view(e["event_id"]));
        }
      } else {
        std::istringstream lines(body);
        std::string line;
        while (std::getline(lines, line)) {
          if (line.empty()) continue;
          simdjson::dom::parser line_parser;
          found.emplace_back(std::string_view(line_parser.parse(line)["event_id"]));
        }
      }
    } catch (const simdjson::simdjson_error& e) {
      return http::Response{400, e.what(), "", {}};
    }
    {
      std::lock_guard lock(mu_);
      ids_.insert(ids_.end(), found.begin(), found.end());
      ++(array ? arrays_ : ndjson ? ndjsons_ : singles_);
      if (!lines_.empty()) {
        std::ofstream out(lines_, std::ios::app);
        for (const auto& id : found) out << "{\"event_id\":\"" << id << "\"}\n";
      }
    }
    if (!array && !ndjson) return http::Response{};
    const auto rejected = std::min<std::size_t>(found.size(), reject_per_batch_);
    std::string answer = "{\"received\":" + std::to_string(found.size()) +
                         ",\"accepted\":" + std::to_string(found.size() - rejected) +
                         ",\"rejected\":[";
    for (std::size_t i = 0; i < rejected; ++i) {
      answer += (i ? "," : "") + std::string("{\"index\":0,\"error\":\"Not a valid event\"}");
    }
    answer += "]}";
    return http::Response{rejected == found.size() ? 400 : 200, answer, "application/json", {}};
  }

  const std::size_t reject_per_batch_;
  const std::filesystem::path lines_;
  mutable std::mutex mu_;
  std::vector<std::string> ids_;
  uint64_t singles_ = 0, arrays_ = 0, ndjsons_ = 0;
  std::unique_ptr<http::Server> server_;
};

constexpr const char* kRunTemplate =
    R"({"event_id": "run-{{seq}}", "plugin_id": "{{int:1:3}}", "src_ip": "{{ip:10.0.0.0/24}}"})";

// Runs `dsiem bench --json` with `extra` flags; returns the parsed summary.
simdjson::dom::element run_json(simdjson::dom::parser& parser, const CountingServer& server,
                                std::vector<std::string> extra, std::string& out_text) {
  test::TempDir dir;
  dir.write("t.json", kRunTemplate);
  std::vector<std::string> args{
      "--url",  server.url(), "--template", (dir.path() / "t.json").string(),
      "--pool", "100",        "-c",         "4",
      "-d",     "60",         "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::ostringstream out, err;
  EXPECT_EQ(run_bench(args, out, err), 0) << out.str() << err.str();
  out_text = out.str();
  return parser.parse(out_text);
}

void expect_every_event_once(const CountingServer& server, uint64_t events) {
  const std::vector<std::string> ids = server.ids();
  EXPECT_EQ(ids.size(), events);
  const std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), events);
  std::set<std::string> expected;
  for (uint64_t seq = 1; seq <= events; ++seq) expected.insert("run-" + padded(seq));
  EXPECT_EQ(unique, expected);
}

TEST(BenchRun, SingleEventsArriveOnceEach) {
  CountingServer server;
  simdjson::dom::parser parser;
  std::string text;
  simdjson::dom::element s = run_json(parser, server, {"-n", "2000", "--threads", "2"}, text);
  EXPECT_EQ(uint64_t(s["events_sent"]), 2000u) << text;
  EXPECT_EQ(uint64_t(s["events_accepted"]), 2000u) << text;
  EXPECT_EQ(uint64_t(s["requests"]), 2000u) << text;
  EXPECT_EQ(uint64_t(s["status_counts"]["200"]), 2000u) << text;
  EXPECT_EQ(uint64_t(s["connection_errors"]), 0u) << text;
  EXPECT_GT(double(s["latency_ms"]["max"]), 0.0) << text;
  EXPECT_EQ(server.bodies('{'), 2000u);
  expect_every_event_once(server, 2000);
}

TEST(BenchRun, ArrayBatchesArriveOnceEach) {
  CountingServer server;
  simdjson::dom::parser parser;
  std::string text;
  // 2050 events in batches of 100: 20 full batches and a last one of 50.
  simdjson::dom::element s = run_json(parser, server, {"-n", "2050", "--batch", "100"}, text);
  EXPECT_EQ(uint64_t(s["events_sent"]), 2050u) << text;
  EXPECT_EQ(uint64_t(s["events_accepted"]), 2050u) << text;
  EXPECT_EQ(uint64_t(s["requests"]), 21u) << text;
  EXPECT_EQ(server.bodies('['), 21u);
  expect_every_event_once(server, 2050);
}

TEST(BenchRun, NdjsonBatchesArriveOnceEach) {
  CountingServer server;
  simdjson::dom::parser parser;
  std::string text;
  simdjson::dom::element s =
      run_json(parser, server, {"-n", "2000", "--batch", "50", "--ndjson"}, text);
  EXPECT_EQ(uint64_t(s["events_sent"]), 2000u) << text;
  EXPECT_EQ(uint64_t(s["events_accepted"]), 2000u) << text;
  EXPECT_EQ(uint64_t(s["requests"]), 40u) << text;
  EXPECT_TRUE(bool(s["ndjson"]));
  EXPECT_EQ(server.bodies('\n'), 40u);
  expect_every_event_once(server, 2000);
}

TEST(BenchRun, AcceptedComesFromTheBatchAnswer) {
  CountingServer server(/*reject_per_batch=*/2);
  simdjson::dom::parser parser;
  std::string text;
  simdjson::dom::element s = run_json(parser, server, {"-n", "1000", "--batch", "10"}, text);
  EXPECT_EQ(uint64_t(s["events_sent"]), 1000u) << text;
  EXPECT_EQ(uint64_t(s["events_accepted"]), 800u) << text;
  EXPECT_EQ(uint64_t(s["status_counts"]["200"]), 100u) << text;
}

TEST(BenchRun, RejectedBatchesAreNotAccepted) {
  CountingServer server(/*reject_per_batch=*/1);
  test::TempDir dir;
  dir.write("t.json", kRunTemplate);
  std::ostringstream out, err;
  // Batches of one event, each rejected: 400 answers, nothing accepted, exit code 1.
  EXPECT_EQ(run_bench({"--url", server.url(), "--template", (dir.path() / "t.json").string(), "-n",
                       "20", "--batch", "1", "-c", "2"},
                      out, err),
            1);
  EXPECT_NE(out.str().find("events accepted:   0 "), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("400: 20"), std::string::npos) << out.str();
}

TEST(BenchRun, CountsCorrelatedLinesAfterTheLoad) {
  test::TempDir dir;
  const auto lines = dir.path() / "siem_alarm_events.json";
  dir.write("siem_alarm_events.json", "old 1\nold 2\nold 3\n");
  CountingServer server(0, lines);
  LoadOptions options;
  options.target = parse_loopback_url(server.url());
  options.connections = 3;
  options.max_events = 500;
  options.duration = std::chrono::seconds(60);
  options.alarm_events = lines;
  options.drain_quiet = std::chrono::milliseconds(300);
  options.drain_max = std::chrono::seconds(5);
  const LoadResult r = run_load(options, render_pool(kRunTemplate, 20), nullptr);
  EXPECT_EQ(r.events_accepted, 500u);
  EXPECT_TRUE(r.correlation_counted);
  EXPECT_EQ(r.correlated, 500u);
  EXPECT_TRUE(r.drain_complete);
  EXPECT_GE(r.correlated_s, r.elapsed_s);

  std::ostringstream text, json_text;
  print_summary(text, options, r, server.url(), false);
  EXPECT_NE(text.str().find("correlated events: 500 (100.0% of accepted"), std::string::npos)
      << text.str();
  print_summary(json_text, options, r, server.url(), true);
  simdjson::dom::parser parser;
  const std::string json = json_text.str();
  simdjson::dom::element s = parser.parse(json);
  EXPECT_EQ(uint64_t(s["correlated_events"]), 500u);
  EXPECT_EQ(double(s["correlated_pct_of_accepted"]), 100.0);
}

TEST(BenchRun, PacedRunSendsEveryEvent) {
  CountingServer server;
  LoadOptions options;
  options.target = parse_loopback_url(server.url());
  options.connections = 3;
  options.max_events = 300;
  options.rate = 5000;
  options.duration = std::chrono::seconds(60);
  const LoadResult r = run_load(options, render_pool(kRunTemplate, 7), nullptr);
  EXPECT_EQ(r.events_sent, 300u);
  EXPECT_EQ(r.events_accepted, 300u);
  expect_every_event_once(server, 300);
}

TEST(BenchRun, UnansweredRequestsTimeOut) {
  std::mutex mu;
  std::vector<http::Responder> never_answered;
  auto router = std::make_shared<http::Router>();
  router->add("POST", "/events", [&](http::Request&&, http::Responder respond) {
    std::lock_guard lock(mu);
    never_answered.push_back(std::move(respond));
  });
  http::ServerOptions server_options;
  server_options.address = "127.0.0.1";
  server_options.port = 0;
  http::Server server(server_options, router);
  server.start();

  LoadOptions options;
  options.target =
      parse_loopback_url("http://127.0.0.1:" + std::to_string(server.port()) + "/events");
  options.connections = 2;
  options.max_events = 2;  // one request per connection; none is answered
  options.duration = std::chrono::seconds(60);
  options.request_timeout = std::chrono::milliseconds(300);
  const LoadResult r = run_load(options, render_pool(kRunTemplate, 5), nullptr);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_EQ(r.events_sent, 2u);
  EXPECT_EQ(r.timeouts, 2u);
  EXPECT_EQ(r.connection_errors, 2u);
  server.stop();
}

TEST(BenchRun, RefusedConnectionsAreCountedAndTheRunEnds) {
  // A port nobody listens on: bind one, then close it.
  uint16_t port = 0;
  {
    CountingServer server;
    port = static_cast<uint16_t>(parse_loopback_url(server.url()).port);
  }
  LoadOptions options;
  options.target = parse_loopback_url("http://127.0.0.1:" + std::to_string(port) + "/events");
  options.connections = 2;
  options.duration = std::chrono::milliseconds(300);
  const LoadResult r = run_load(options, render_pool(kRunTemplate, 5), nullptr);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_EQ(r.events_accepted, 0u);
  EXPECT_GE(r.connection_errors, 2u);
}

}  // namespace
}  // namespace dsiem::tools::bench
