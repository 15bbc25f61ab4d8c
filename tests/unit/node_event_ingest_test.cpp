// POST /events through EventIngest (events.md §5, §6 and §8.1), dispatched by a real Router,
// with a ManualClock and a scripted hand-over. Every wait is bounded.
#include "dsiem/node/event_ingest.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dsiem/common/clock.h"
#include "dsiem/event/event.h"
#include "dsiem/http/router.h"
#include "dsiem/http/types.h"
#include "dsiem/node/eps_limiter.h"

namespace dsiem::node {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr int64_t kSecond = 1'000'000'000;
constexpr auto kBound = 5s;  // upper bound of every wait for an asynchronous answer
// An answer that must not wait (for a token or a retry) comes within this.
constexpr std::chrono::milliseconds kPrompt = 500ms;

constexpr const char* kParseError = "Cannot parse the submitted event\n";
constexpr const char* kNotValid = "Not a valid event\n";
constexpr const char* kTooMany = "Too many requests\n";

// A valid plugin event; conn_id and rcvd_time on input must be overwritten.
std::string valid_body(const std::string& id) {
  return R"({"event_id":")" + id +
         R"(","timestamp":"2024-03-01T10:00:00Z","title":"t","sensor":"sensor-1",)"
         R"("plugin_id":1001,"plugin_sid":7,"src_ip":"10.0.0.1","src_port":1234,)"
         R"("dst_ip":"10.0.0.2","dst_port":80,"conn_id":77,"rcvd_time":5})";
}

// The answer to one request: every call of its responder, in order.
class Reply {
 public:
  void set(http::Response r) {
    std::lock_guard lock(mu_);
    got_.push_back(std::move(r));
    cv_.notify_all();
  }
  // Waits (bounded) for the first answer.
  bool wait(std::chrono::milliseconds timeout = kBound) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return !got_.empty(); });
  }
  bool answered() {
    std::lock_guard lock(mu_);
    return !got_.empty();
  }
  std::size_t calls() {
    std::lock_guard lock(mu_);
    return got_.size();
  }
  // The first answer; status -1 when there is none yet.
  http::Response first() {
    std::lock_guard lock(mu_);
    return got_.empty() ? http::Response{-1, "<no answer>", "", {}} : got_.front();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<http::Response> got_;
};

// Waits for the answer and checks status and body (an empty body means a zero-length body with
// no Content-Type set by the handler).
void expect_answer(Reply& reply, int status, const std::string& body) {
  ASSERT_TRUE(reply.wait()) << "no answer within the bound";
  const http::Response r = reply.first();
  EXPECT_EQ(r.status, status);
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(reply.calls(), 1u) << "the responder was called more than once";
}

class EventIngestTest : public ::testing::Test {
 protected:
  using Script = std::function<HandOver(int call)>;

  // Builds the ingest; maxEPS/minEPS 0/0 turns the limiter off.
  void make(int64_t max_eps = 0, int64_t min_eps = 0) {
    limiter_ = std::make_unique<EpsLimiter>(max_eps, min_eps, clock_);
    ingest_ = std::make_unique<EventIngest>(
        clock_, *limiter_, [this](const event::ChunkPtr& events) { return hand_over(events); },
        [this] { return ready_.load(); });
    ingest_->add_routes(router_);
  }

  void set_script(Script s) {
    std::lock_guard lock(mu_);
    script_ = std::move(s);
  }

  HandOver hand_over(const event::ChunkPtr& chunk) {
    std::lock_guard lock(mu_);
    ++calls_;
    const HandOver r = script_ ? script_(calls_) : HandOver::kAccepted;
    if (r == HandOver::kAccepted) {
      for (const event::Event* e : chunk->events) accepted_.push_back(*e);
    }
    cv_.notify_all();
    return r;
  }

  std::shared_ptr<Reply> post(std::string body, std::string content_type = "") {
    http::Request req;
    req.method = "POST";
    req.path = "/events";
    req.host = "localhost";
    req.content_type = std::move(content_type);
    req.body = std::move(body);
    auto reply = std::make_shared<Reply>();
    router_.dispatch(std::move(req), [reply](http::Response r) { reply->set(std::move(r)); });
    return reply;
  }

  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // Waits (bounded) until the hand-over has been called at least n times.
  bool wait_calls(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kBound, [&] { return calls_ >= n; });
  }
  std::vector<event::Event> accepted() {
    std::lock_guard lock(mu_);
    return accepted_;
  }

  ManualClock clock_{1000};
  std::atomic<bool> ready_{true};
  std::mutex mu_;
  std::condition_variable cv_;
  Script script_;
  int calls_ = 0;
  std::vector<event::Event> accepted_;
  http::Router router_;
  std::unique_ptr<EpsLimiter> limiter_;
  std::unique_ptr<EventIngest> ingest_;  // last: destroyed first
};

TEST_F(EventIngestTest, ValidEventIsHandedOverWithConnIdAndRcvdTime) {
  make();
  const std::vector<int64_t> times = {1000 * kSecond + 123, 2000 * kSecond + 7, 2000 * kSecond + 7};
  std::vector<std::shared_ptr<Reply>> replies;
  for (std::size_t i = 0; i < times.size(); ++i) {
    clock_.set_ns(times[i]);
    replies.push_back(post(valid_body("e" + std::to_string(i + 1))));
    expect_answer(*replies.back(), 200, "");
    EXPECT_TRUE(replies.back()->first().content_type.empty());
  }
  const auto got = accepted();
  ASSERT_EQ(got.size(), 3u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].event_id, "e" + std::to_string(i + 1));
    EXPECT_EQ(got[i].conn_id, i + 1);       // starts at 1; the conn_id sent (77) is overwritten
    EXPECT_EQ(got[i].rcvd_time, times[i]);  // the clock's ns, not the 5 that was sent
    EXPECT_EQ(got[i].plugin_id, 1001);
    EXPECT_EQ(got[i].plugin_sid, 7);
    EXPECT_EQ(got[i].src_ip, "10.0.0.1");
    EXPECT_EQ(got[i].dst_port, 80);
  }
  EXPECT_EQ(calls(), 3);
  EXPECT_EQ(ingest_->requests(), 3u);
}

TEST_F(EventIngestTest, UndecodableBodyIs500AndStillTakesAConnId) {
  make();
  const std::vector<std::string> bodies = {"{bad", "", "[]", R"({"plugin_id":"1001"})",
                                           valid_body("x") + "}"};
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body);
    auto r = post(body);
    expect_answer(*r, 500, kParseError);
  }
  auto ok = post(valid_body("after"));
  expect_answer(*ok, 200, "");
  EXPECT_EQ(calls(), 1) << "an undecodable event reached the hand-over";
  const auto got = accepted();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].conn_id, 6u);  // five failed requests took conn_ids 1..5
  EXPECT_EQ(ingest_->requests(), 6u);
}

TEST_F(EventIngestTest, InvalidEventIs418AndStillTakesAConnId) {
  make();
  const std::string no_sensor =
      R"({"event_id":"a","timestamp":"2024-03-01T10:00:00Z","plugin_id":1,"plugin_sid":1,)"
      R"("src_ip":"10.0.0.1","dst_ip":"10.0.0.2"})";
  const std::string no_taxonomy =  // plugin_sid 0 needs product and category
      R"({"event_id":"b","timestamp":"2024-03-01T10:00:00Z","sensor":"s","plugin_id":1,)"
      R"("src_ip":"10.0.0.1","dst_ip":"10.0.0.2"})";
  const std::string null_src = R"({"event_id":"c","timestamp":"t","sensor":"s","plugin_id":1,)"
                               R"("plugin_sid":1,"src_ip":null,"dst_ip":"10.0.0.2"})";
  for (const std::string& body : std::vector<std::string>{no_sensor, no_taxonomy, null_src}) {
    SCOPED_TRACE(body);
    auto r = post(body);
    expect_answer(*r, 418, kNotValid);
  }
  auto ok = post(valid_body("after"));
  expect_answer(*ok, 200, "");
  EXPECT_EQ(calls(), 1) << "an invalid event reached the hand-over";
  const auto got = accepted();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].conn_id, 4u);
}

TEST_F(EventIngestTest, UnavailableHandOverIs503WithoutRetry) {
  make();
  set_script([](int) { return HandOver::kUnavailable; });
  auto r = post(valid_body("u"));
  expect_answer(*r, 503, "");
  std::this_thread::sleep_for(50ms);  // a retry would call the hand-over again within 2 ms
  EXPECT_EQ(calls(), 1);
  EXPECT_TRUE(accepted().empty());
}

TEST_F(EventIngestTest, FullHandOverIsRetriedUntilAccepted) {
  make();
  set_script([](int call) { return call <= 3 ? HandOver::kFull : HandOver::kAccepted; });
  auto r = post(valid_body("f"));
  expect_answer(*r, 200, "");
  EXPECT_EQ(calls(), 4);
  const auto got = accepted();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event_id, "f");
  EXPECT_EQ(got[0].conn_id, 1u);
}

TEST_F(EventIngestTest, FullHandOverForTenSecondsIs408) {
  make();
  set_script([](int) { return HandOver::kFull; });
  auto r = post(valid_body("slow"));
  ASSERT_TRUE(wait_calls(1));
  // Retried on the real timer while the manual clock stands still, without an answer.
  ASSERT_TRUE(wait_calls(4)) << "the full hand-over is not retried";
  EXPECT_FALSE(r->answered()) << r->first().status;
  // 9 s later: still inside the 10 s deadline.
  clock_.advance_seconds(9);
  ASSERT_TRUE(wait_calls(calls() + 2));
  EXPECT_FALSE(r->answered()) << "answered " << r->first().status << " before the deadline";
  // 10 s after the hand-over started: 408, and the retries stop.
  clock_.advance_seconds(1);
  expect_answer(*r, 408, "");
  const int after = calls();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(calls(), after) << "still retrying after answering 408";
  EXPECT_TRUE(accepted().empty());
}

TEST_F(EventIngestTest, LimiterWaitsUpToThreeSecondsThen429) {
  // maxEPS 1, minEPS 1: burst 1, 1 token/s; the manual clock never moves, so tokens come only
  // from reservations: request 1 at once, 2/3/4 wait 1/2/3 s (real time), 5+ are > 3 s away.
  make(1, 1);
  const auto start = Steady::now();
  auto r1 = post(valid_body("l1"));
  EXPECT_TRUE(r1->wait(kPrompt)) << "a request with a token available should not wait";
  expect_answer(*r1, 200, "");
  std::vector<std::shared_ptr<Reply>> waiting;
  for (int i = 2; i <= 4; ++i) waiting.push_back(post(valid_body("l" + std::to_string(i))));
  for (auto& w : waiting) EXPECT_FALSE(w->answered()) << "did not wait for its token";
  for (int i = 5; i <= 6; ++i) {
    auto r = post(valid_body("l" + std::to_string(i)));
    EXPECT_TRUE(r->wait(kPrompt)) << "429 must be immediate";
    expect_answer(*r, 429, kTooMany);
  }
  // Refused and waiting requests have not passed the limiter yet.
  EXPECT_EQ(ingest_->requests(), 1u);
  EXPECT_EQ(ingest_->take_request_count(), 1u);
  for (std::size_t i = 0; i < waiting.size(); ++i) {
    SCOPED_TRACE(i + 2);
    expect_answer(*waiting[i], 200, "");
    const auto elapsed = Steady::now() - start;
    EXPECT_GE(elapsed, std::chrono::milliseconds(1000 * (i + 1) - 50));
    EXPECT_LE(elapsed, std::chrono::milliseconds(1000 * (i + 1) + 2000));
  }
  const auto got = accepted();
  ASSERT_EQ(got.size(), 4u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].event_id, "l" + std::to_string(i + 1));
    EXPECT_EQ(got[i].conn_id, i + 1);
    EXPECT_EQ(got[i].rcvd_time, 1000 * kSecond);
  }
  EXPECT_EQ(ingest_->take_request_count(), 3u);
  EXPECT_EQ(ingest_->take_request_count(), 0u);
  // Still no token (the clock has not moved, 3 s are reserved ahead): refused at once.
  auto again = post(valid_body("l7"));
  EXPECT_TRUE(again->wait(kPrompt)) << "429 must be immediate";
  expect_answer(*again, 429, kTooMany);
}

TEST_F(EventIngestTest, NotReadyIs503) {
  make();
  ready_ = false;
  for (int i = 0; i < 3; ++i) {
    auto r = post(valid_body("n" + std::to_string(i)));
    EXPECT_TRUE(r->wait(kPrompt)) << "503 while not ready must be immediate";
    expect_answer(*r, 503, "");
  }
  EXPECT_EQ(calls(), 0);
  EXPECT_EQ(ingest_->requests(), 0u);
  EXPECT_EQ(ingest_->take_request_count(), 0u);
  ready_ = true;
  auto ok = post(valid_body("ready"));
  expect_answer(*ok, 200, "");
  const auto got = accepted();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].conn_id, 1u);
}

TEST_F(EventIngestTest, TakeRequestCountCountsRequestsThatPassedTheLimiter) {
  make();
  expect_answer(*post(valid_body("a")), 200, "");
  expect_answer(*post("{bad"), 500, kParseError);
  expect_answer(*post(R"({"event_id":"x"})"), 418, kNotValid);
  set_script([](int) { return HandOver::kUnavailable; });
  expect_answer(*post(valid_body("b")), 503, "");
  EXPECT_EQ(ingest_->take_request_count(), 4u);
  EXPECT_EQ(ingest_->take_request_count(), 0u) << "the window is not reset by take";
  set_script(nullptr);
  expect_answer(*post(valid_body("c")), 200, "");
  EXPECT_EQ(ingest_->take_request_count(), 1u);
  EXPECT_EQ(ingest_->requests(), 5u) << "requests() is cumulative";
}

TEST_F(EventIngestTest, AfterStopNewRequestsAre503) {
  make();
  ingest_->stop();
  auto r = post(valid_body("late"));
  expect_answer(*r, 503, "");
  EXPECT_EQ(calls(), 0);
}

// event_ingest.h: "Stops the timer thread; requests still waiting are answered 503."
TEST_F(EventIngestTest, StopAnswersRequestsWaitingForATokenWith503) {
  make(1, 1);
  expect_answer(*post(valid_body("w1")), 200, "");
  auto waiting = post(valid_body("w2"));  // waits 1 s for its token
  ASSERT_FALSE(waiting->answered());
  ingest_->stop();
  expect_answer(*waiting, 503, "");
  EXPECT_EQ(calls(), 1);
}

TEST_F(EventIngestTest, StopAnswersRequestsRetryingAFullHandOverWith503) {
  make();
  set_script([](int) { return HandOver::kFull; });
  auto waiting = post(valid_body("full"));
  ASSERT_TRUE(wait_calls(2));
  ingest_->stop();
  expect_answer(*waiting, 503, "");
  EXPECT_TRUE(accepted().empty());
}

// --- Batch bodies ---------------------------------------------------------------------------

constexpr const char* kNdjson = "application/x-ndjson";

std::string invalid_body(const std::string& id) {  // no sensor
  return R"({"event_id":")" + id +
         R"(","timestamp":"2024-03-01T10:00:00Z","plugin_id":1,"plugin_sid":1,)"
         R"("src_ip":"10.0.0.1","dst_ip":"10.0.0.2"})";
}

TEST_F(EventIngestTest, ArrayBatchTakesValidEventsInOrderAndReportsRejects) {
  make();
  clock_.set_ns(7 * kSecond);
  const std::string body = "[" + valid_body("b1") + "," + invalid_body("bad") + ",\n" +
                           R"({"event_id":1})" + "," + valid_body("b2") + "]";
  auto r = post(body, "application/json");
  expect_answer(
      *r, 200,
      R"({"received":4,"accepted":2,"rejected":[{"index":1,"error":"Not a valid event"},)"
      R"({"index":2,"error":"Cannot parse the submitted event: json: cannot unmarshal number )"
      R"(into Go struct field NormalizedEvent.event_id of type string"}]})");
  EXPECT_EQ(r->first().content_type, "application/json");
  const auto got = accepted();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].event_id, "b1");
  EXPECT_EQ(got[1].event_id, "b2");
  EXPECT_EQ(got[0].conn_id, 1u);
  EXPECT_EQ(got[1].conn_id, 2u);
  EXPECT_EQ(got[0].rcvd_time, 7 * kSecond);
  EXPECT_EQ(got[1].rcvd_time, 7 * kSecond);
  EXPECT_EQ(calls(), 1) << "a batch is handed over in one piece";
  EXPECT_EQ(ingest_->take_request_count(), 2u) << "the events/second window counts events";
}

// A syntax error inside one element makes the body invalid JSON as a whole: the elements are
// then framed and decoded one by one, and only the broken one is refused.
TEST_F(EventIngestTest, ArrayBatchWithABrokenElementStillTakesItsNeighbours) {
  make();
  const std::string body = "[" + valid_body("c1") + R"(,{"event_id":"x",},)" + valid_body("c2") +
                           "," + valid_body("c3") + "]";
  auto r = post(body, "application/json");
  expect_answer(*r, 200,
                R"({"received":4,"accepted":3,"rejected":[{"index":1,"error":"Cannot parse the )"
                R"(submitted event: invalid character '}' looking for beginning of object key )"
                R"(string"}]})");
  const auto got = accepted();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].event_id, "c1");
  EXPECT_EQ(got[2].event_id, "c3");
  EXPECT_EQ(got[2].conn_id, 3u);
}

TEST_F(EventIngestTest, NdjsonBatchReportsRejectsByLine) {
  make();
  const std::string body = valid_body("n1") + "\r\n\n{broken\n" + valid_body("n2") + "\n";
  auto r = post(body, "application/x-ndjson; charset=utf-8");
  ASSERT_TRUE(r->wait());
  const http::Response answer = r->first();
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body.rfind(R"({"received":3,"accepted":2,"rejected":[{"line":3,"error":)", 0),
            0u)
      << answer.body;
  const auto got = accepted();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].event_id, "n2");
}

TEST_F(EventIngestTest, BatchWithNothingValidIs400AndTakesNothing) {
  make();
  auto r = post("[" + invalid_body("x") + "]", "application/json");
  expect_answer(
      *r, 400,
      R"({"received":1,"accepted":0,"rejected":[{"index":0,"error":"Not a valid event"}]})");
  auto empty = post("\n\n", kNdjson);
  expect_answer(*empty, 200, R"({"received":0,"accepted":0,"rejected":[]})");
  EXPECT_EQ(calls(), 0);
}

TEST_F(EventIngestTest, ArraysThatAreNotBatchesKeepTheSingleEventAnswer) {
  make();
  for (const std::string& body : std::vector<std::string>{
           "[]", "[1,2,3]", "[" + valid_body("t") + ",5]", "[" + valid_body("t")}) {
    SCOPED_TRACE(body);
    expect_answer(*post(body, "application/json"), 500, kParseError);
  }
  EXPECT_EQ(calls(), 0);
}

TEST_F(EventIngestTest, RateLimitRefusesTheWholeBatchBeforeTakingAnything) {
  make(1, 1);  // burst 1, 1 token/s
  std::string batch = "[";
  for (int i = 0; i < 5; ++i) batch += (i ? "," : "") + valid_body("r" + std::to_string(i));
  batch += "]";
  // The bucket is full: the batch goes at once and owes 4 tokens.
  expect_answer(*post(batch), 200, R"({"received":5,"accepted":5,"rejected":[]})");
  // The next one would wait 5 s: refused whole, nothing taken.
  expect_answer(*post(batch), 429, kTooMany);
  EXPECT_EQ(accepted().size(), 5u);
  clock_.advance_seconds(5);  // debt paid, bucket full again
  expect_answer(*post(batch), 200, R"({"received":5,"accepted":5,"rejected":[]})");
  EXPECT_EQ(accepted().size(), 10u);
}

TEST_F(EventIngestTest, FullQueueForTenSecondsRefusesTheBatchWith503) {
  make();
  set_script([](int) { return HandOver::kFull; });
  auto r = post("[" + valid_body("q1") + "," + valid_body("q2") + "]");
  ASSERT_TRUE(wait_calls(2));
  clock_.advance_seconds(10);
  expect_answer(*r, 503, "");
  EXPECT_TRUE(accepted().empty());
}

TEST_F(EventIngestTest, NotReadyRefusesABatchWith503) {
  make();
  ready_.store(false);
  expect_answer(*post(valid_body("n") + "\n", kNdjson), 503, "");
  EXPECT_EQ(calls(), 0);
}

}  // namespace
}  // namespace dsiem::node
