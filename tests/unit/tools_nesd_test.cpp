// `dsiem nesd`: Nessus CSV loading with the reference tool's error texts, the lookup API through
// a real server on 127.0.0.1 / ::1 (ephemeral ports), and the `serve` command's start-up errors
// and signal stop.
#include <gtest/gtest.h>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <sstream>
#include <string>
#include <thread>

#include "dsiem/http/client.h"
#include "dsiem/http/server.h"
#include "dsiem/tools/nesd.h"
#include "unit/test_support.h"

namespace dsiem::tools {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kHost = "192.168.225.196";

fs::path fixtures() {
  const char* env = std::getenv("DSIEM_TEST_DATA");
  const fs::path base =
      env && *env ? fs::path(env) : fs::path(__FILE__).parent_path().parent_path();
  return base / "tools-fixtures" / "nesd";
}

std::string parse_error(const std::string& csv) {
  try {
    parse_nessus_csv(csv);
  } catch (const NessusCsvError& e) {
    return e.what();
  }
  return "no error";
}

TEST(NesdCsv, Example2LoadsAllRows) {
  const NessusIndex index = load_nessus_dir(fixtures() / "example2");
  ASSERT_EQ(index.entries.size(), 37u);
  for (const auto& e : index.entries) EXPECT_EQ(e.host, kHost);
  // One row per CVE: the same finding repeats.
  EXPECT_EQ(index.find(kHost, 80).size(), 14u);
  EXPECT_EQ(index.find(kHost, 31337).size(), 0u);
  EXPECT_EQ(index.find("::ffff:192.168.225.196", 80).size(), 0u);  // textual match only
  const auto rows = index.find(kHost, 111);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]->risk, "None");
  EXPECT_EQ(rows[0]->name, "RPC portmapper Service Detection");
  EXPECT_EQ(rows[0]->cve, "CVE-1999-0632");
}

TEST(NesdCsv, Example1FailsLikeTheReference) {
  try {
    load_nessus_dir(fixtures() / "example1");
    FAIL() << "example1 loaded";
  } catch (const NessusCsvError& e) {
    EXPECT_STREQ(e.what(),
                 "record on line 2; parse error on line 5, column 27: extraneous or missing \" in "
                 "quoted-field");
  }
}

TEST(NesdCsv, SyntaxErrorsUseGoWording) {
  EXPECT_EQ(parse_error(""), "empty csv file given");
  EXPECT_EQ(parse_error("Host,Port\n1,2\n3\n"), "record on line 3: wrong number of fields");
  EXPECT_EQ(parse_error("Host,Port\n1,x\"y\n"),
            "parse error on line 2, column 4: bare \" in non-quoted-field");
  EXPECT_EQ(parse_error("Host,Port\n1,\"x\"y\n"),
            "parse error on line 2, column 5: extraneous or missing \" in quoted-field");
  // Empty lines are skipped but still counted.
  EXPECT_EQ(parse_error("Host,Port\n\n1,2,3\n"), "record on line 3: wrong number of fields");
}

TEST(NesdCsv, NumberErrorsNameRecordAndColumn) {
  EXPECT_EQ(parse_error("Host,Port\n1.2.3.4,1\n1.2.3.4,abc\n"),
            "record on line 0; parse error on line 3, column 2: strconv.ParseInt: parsing "
            "\"abc\": invalid syntax");
  EXPECT_EQ(parse_error("CVSS,Host\nhigh,x\n"),
            "record on line 0; parse error on line 2, column 1: strconv.ParseFloat: parsing "
            "\"high\": invalid syntax");
  EXPECT_EQ(parse_error("Port\n99999999999999999999\n"),
            "record on line 0; parse error on line 2, column 1: strconv.ParseInt: parsing "
            "\"99999999999999999999\": value out of range");
}

TEST(NesdCsv, FieldsAndNumbers) {
  const auto rows = parse_nessus_csv(
      "Plugin ID, Host ,Port,host,CVSS,Risk,Name,CVE,Name\r\n"
      " 10 ,1.2.3.4, 080 ,ignored, 7.5 ,High,first,CVE-1,\"right, \"\"most\"\"\nline\"\r\n"
      ",5.6.7.8,,x,,Low,n,,n2\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].plugin_id, 10);
  EXPECT_EQ(rows[0].host, "1.2.3.4");  // " Host " matched after trimming
  EXPECT_EQ(rows[0].port, 80);         // decimal, not octal
  EXPECT_DOUBLE_EQ(rows[0].cvss, 7.5);
  EXPECT_EQ(rows[0].risk, "High");
  EXPECT_EQ(rows[0].cve, "CVE-1");
  EXPECT_EQ(rows[0].name, "right, \"most\"\nline");  // repeated header: the right-most wins
  EXPECT_EQ(rows[1].plugin_id, 0);
  EXPECT_EQ(rows[1].port, 0);
  EXPECT_EQ(rows[1].host, "5.6.7.8");
  EXPECT_EQ(parse_nessus_csv("Host,Port\n").size(), 0u);
}

TEST(NesdCsv, DirectoryGlobOrderAndEmptyResult) {
  test::TempDir dir;
  dir.write("nessus_b.csv", "Host,Port,Name\n10.0.0.1,22,from b\n");
  dir.write("nessus_a.csv", "Host,Port,Name\n10.0.0.1,22,from a\n");
  dir.write("other.csv", "Host,Port,Name\n10.0.0.1,22,ignored\n");
  const NessusIndex index = load_nessus_dir(dir.path());
  ASSERT_EQ(index.entries.size(), 2u);
  EXPECT_EQ(index.entries[0].name, "from a");
  EXPECT_EQ(index.entries[1].name, "from b");

  test::TempDir header_only;
  header_only.write("nessus_x.csv", "Host,Port\n");
  try {
    load_nessus_dir(header_only.path());
    FAIL() << "a header-only directory loaded";
  } catch (const NessusCsvError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot find valid nessus scan results to load from " + header_only.path().string());
  }
}

TEST(NesdApi, ResponseTypesAndHeaders) {
  const NessusIndex index = load_nessus_dir(fixtures() / "example2");
  const auto error = answer_nesd_query(index, "ip=foo&port=1");
  EXPECT_EQ(error.status, 418);
  EXPECT_TRUE(error.content_type.empty());  // the server's text/plain; charset=utf-8
  ASSERT_EQ(error.headers.size(), 1u);
  EXPECT_EQ(error.headers[0].first, "X-Content-Type-Options");
  EXPECT_EQ(error.headers[0].second, "nosniff");

  const auto found = answer_nesd_query(index, std::string("ip=") + kHost + "&port=21");
  EXPECT_EQ(found.status, 200);
  EXPECT_TRUE(found.content_type.empty());  // served as text/plain, like the reference
  EXPECT_TRUE(found.headers.empty());
}

// A nesd router on an ephemeral port of `address`.
class NesdServer {
 public:
  explicit NesdServer(const std::string& address = "127.0.0.1")
      : address_(address),
        index_(std::make_shared<NessusIndex>(load_nessus_dir(fixtures() / "example2"))),
        server_(http::ServerOptions{address, 0, 1}, make_nesd_router(index_)) {
    server_.start();
  }
  std::string url(const std::string& target) const {
    const bool v6 = address_.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + address_ + "]" : address_) + ":" +
           std::to_string(server_.port()) + target;
  }

 private:
  std::string address_;
  std::shared_ptr<NessusIndex> index_;
  http::Server server_;
};

TEST(NesdApi, ExpectedResponsesByteForByte) {
  NesdServer server;
  for (const int port : {21, 22, 80, 111, 161, 443}) {
    const auto res =
        http::get(server.url("/?ip=" + std::string(kHost) + "&port=" + std::to_string(port)), 5s);
    EXPECT_EQ(res.status, 200) << port;
    EXPECT_EQ(res.body,
              test::read_file(fixtures() / "expected_responses" /
                              (std::string(kHost) + "_" + std::to_string(port) + ".body")))
        << port;
  }
}

TEST(NesdApi, StatusesOfTheReferenceServerTest) {
  NesdServer server;
  const std::string ip = std::string("/?ip=") + kHost;

  auto res = http::get(server.url("/"), 5s);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, "requires ip and port parameter\n");
  res = http::get(server.url(ip), 5s);
  EXPECT_EQ(res.status, 400);

  res = http::get(server.url("/?ip=foo&port=bar"), 5s);
  EXPECT_EQ(res.status, 418);
  EXPECT_EQ(res.body, "ip parameter only accept... ip address\n");
  res = http::get(server.url(ip + "&port=0"), 5s);
  EXPECT_EQ(res.status, 418);
  EXPECT_EQ(res.body, "port parameter only accept... valid port number\n");
  EXPECT_EQ(http::get(server.url(ip + "&port=65536"), 5s).status, 418);
  EXPECT_EQ(http::get(server.url(ip + "&port=%2080"), 5s).status, 418);  // " 80"

  res = http::get(server.url(ip + "&port=31337"), 5s);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "no vulnerability found\n");
  const std::string body_80 =
      test::read_file(fixtures() / "expected_responses" / (std::string(kHost) + "_80.body"));
  const std::string body_161 =
      test::read_file(fixtures() / "expected_responses" / (std::string(kHost) + "_161.body"));
  EXPECT_EQ(http::get(server.url(ip + "&port=80"), 5s).body, body_80);
  EXPECT_EQ(http::get(server.url(ip + "&port=161"), 5s).body, body_161);
  // A sign is accepted; CR/LF are removed from the values; the first value counts.
  EXPECT_EQ(http::get(server.url(ip + "&port=%2B161"), 5s).body, body_161);
  EXPECT_EQ(http::get(server.url(ip + "%0D%0A&port=161%0A"), 5s).body, body_161);
  EXPECT_EQ(http::get(server.url(ip + "&port=161&port=80"), 5s).body, body_161);
  // The match is textual.
  EXPECT_EQ(http::get(server.url("/?ip=::ffff:192.168.225.196&port=161"), 5s).body,
            "no vulnerability found\n");
}

TEST(NesdApi, ListensOnIpv6) {
  std::unique_ptr<NesdServer> server;
  try {
    server = std::make_unique<NesdServer>("::1");
  } catch (const std::exception& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  const auto res = http::get(server->url("/?ip=" + std::string(kHost) + "&port=111"), 5s);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, test::read_file(fixtures() / "expected_responses" /
                                      (std::string(kHost) + "_111.body")));
}

int run(const std::vector<std::string>& args, std::string& out) {
  std::ostringstream o, e;
  const int code = run_nesd(args, o, e);
  out = o.str();
  return code;
}

TEST(NesdCommand, StartupErrors) {
  const std::string example2 = (fixtures() / "example2").string();
  std::string out;
  EXPECT_EQ(run({"serve"}, out), 1);
  EXPECT_EQ(out, "Exiting: wrong startup parameter: csvdir cannot be empty\n");

  const std::string example1 = (fixtures() / "example1").string();
  EXPECT_EQ(run({"serve", "-d", example1}, out), 1);
  EXPECT_EQ(out, "Exiting: Cannot read Nessus CSV from " + example1 +
                     ": record on line 2; parse error on line 5, column 27: extraneous or "
                     "missing \" in quoted-field\n");

  EXPECT_EQ(run({"serve", "-d", example2, "-p", "0"}, out), 1);
  EXPECT_EQ(out, "Exiting: Cannot start server: Invalid TCP port number\n");
  EXPECT_EQ(run({"serve", "-d", example2, "--port", "65536"}, out), 1);
  EXPECT_EQ(out, "Exiting: Cannot start server: Invalid TCP port number\n");
  EXPECT_EQ(run({"serve", "-d", example2, "-a", "foo"}, out), 1);
  EXPECT_EQ(out, "Exiting: Cannot start server: foo is not a valid IP address\n");
  // Both wrong: the port is reported.
  EXPECT_EQ(run({"serve", "-d", example2, "-a", "foo", "-p", "0"}, out), 1);
  EXPECT_EQ(out, "Exiting: Cannot start server: Invalid TCP port number\n");
  // --debug keeps the same message and exit code.
  EXPECT_EQ(run({"serve", "-d", example2, "-a", "1.2.3", "--debug"}, out), 1);
  EXPECT_EQ(out, "Exiting: Cannot start server: 1.2.3 is not a valid IP address\n");
}

TEST(NesdCommand, BindFailureIsReported) {
  http::Server taken(http::ServerOptions{"127.0.0.1", 0, 1}, std::make_shared<http::Router>());
  taken.start();
  const std::string port = std::to_string(taken.port());
  std::string out;
  EXPECT_EQ(run({"serve", "-d", (fixtures() / "example2").string(), "-p", port}, out), 1);
  EXPECT_EQ(out, "Exiting: Cannot start server: listen tcp 127.0.0.1:" + port +
                     ": bind: address already in use\n");
}

TEST(NesdCommand, ServesUntilSigterm) {
  // A port that was free a moment ago (serve rejects port 0).
  uint16_t port = 0;
  {
    http::Server probe(http::ServerOptions{"127.0.0.1", 0, 1}, std::make_shared<http::Router>());
    probe.start();
    port = probe.port();
  }
  auto result = std::make_shared<std::promise<int>>();
  auto finished = result->get_future();
  const std::vector<std::string> args = {"serve", "-d", (fixtures() / "example2").string(), "-p",
                                         std::to_string(port)};
  std::thread serve([result, args] {
    std::string out;
    result->set_value(run(args, out));
  });
  const std::string url =
      "http://127.0.0.1:" + std::to_string(port) + "/?ip=" + kHost + "&port=443";
  bool answered = false;
  for (int attempt = 0; attempt < 100 && !answered; ++attempt) {
    if (finished.wait_for(50ms) == std::future_status::ready) break;
    try {
      answered = http::get(url, 1s).body == "no vulnerability found\n";
    } catch (const std::exception&) {
    }
  }
  // The serving thread blocks SIGTERM and waits for it, so only it receives this one.
  if (finished.wait_for(0s) != std::future_status::ready) {
    pthread_kill(serve.native_handle(), SIGTERM);
  }
  if (finished.wait_for(10s) != std::future_status::ready) {
    serve.detach();
    FAIL() << "serve did not stop on SIGTERM";
  }
  serve.join();
  EXPECT_TRUE(answered);
  EXPECT_EQ(finished.get(), 0);
}

TEST(NesdCommand, BareToolPrintsHelp) {
  std::string out;
  EXPECT_EQ(run({}, out), 0);
  EXPECT_NE(out.find("\n  serve       Start the server\n"), std::string::npos) << out;
  EXPECT_EQ(run({"serve", "--help"}, out), 0);
  EXPECT_NE(out.find("-d, --csvdir string"), std::string::npos) << out;
  EXPECT_NE(out.find("(default \"127.0.0.1\")"), std::string::npos);
  EXPECT_NE(out.find("(default 8081)"), std::string::npos);
}

}  // namespace
}  // namespace dsiem::tools
