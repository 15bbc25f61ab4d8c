// Framing of batch bodies for POST /events: JSON arrays of objects and NDJSON.
#include "dsiem/event/batch.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace dsiem::event {
namespace {

std::vector<std::string> texts(const std::vector<BatchItem>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.emplace_back(i.text);
  return out;
}

TEST(EventBatchTest, NdjsonMediaTypeIgnoresCaseAndParameters) {
  EXPECT_TRUE(is_ndjson("application/x-ndjson"));
  EXPECT_TRUE(is_ndjson("Application/X-NDJSON; charset=utf-8"));
  EXPECT_FALSE(is_ndjson("application/json"));
  EXPECT_FALSE(is_ndjson(""));
  EXPECT_FALSE(is_ndjson("application/x-ndjsonx"));
}

TEST(EventBatchTest, ArrayOfObjectsIsSplitIntoElementTexts) {
  const std::string body =
      " [ {\"a\":1} ,{\"b\":\"x],}{\\\"\"}\n,\t{\"c\":{\"d\":[1,{\"e\":2}]}} ]\n";
  const auto items = split_event_array(body);
  ASSERT_TRUE(items.has_value());
  EXPECT_EQ(texts(*items), (std::vector<std::string>{R"({"a":1})", R"({"b":"x],}{\""})",
                                                     R"({"c":{"d":[1,{"e":2}]}})"}));
  for (std::size_t i = 0; i < items->size(); ++i) EXPECT_EQ((*items)[i].position, i);
}

TEST(EventBatchTest, EscapedBackslashesBeforeAQuoteAreCounted) {
  // "x\\" ends after two escaped backslashes; "y\\\"z" holds an escaped quote.
  const auto items = split_event_array(R"([{"a":"x\\"},{"b":"y\\\"z]"}])");
  ASSERT_TRUE(items.has_value());
  EXPECT_EQ(texts(*items), (std::vector<std::string>{R"({"a":"x\\"})", R"({"b":"y\\\"z]"})"}));
}

TEST(EventBatchTest, BrokenElementsAreLeftToTheEventDecoder) {
  // Balanced but invalid JSON inside an object is still one element.
  const auto items = split_event_array(R"([{"a":},{"b":2}])");
  ASSERT_TRUE(items.has_value());
  EXPECT_EQ(texts(*items), (std::vector<std::string>{R"({"a":})", R"({"b":2})"}));
}

TEST(EventBatchTest, AnythingButANonEmptyArrayOfObjectsIsNotABatch) {
  for (const std::string body :
       {"", "{\"a\":1}", "[]", " [ ] ", "[1,2,3]", "[{\"a\":1},2]", "[null]", "[{\"a\":1}",
        "[{\"a\":1},]", "[{\"a\":1}{\"b\":2}]", "[{\"a\":1}] x", "[{\"a\":\"unterminated}]",
        "[{\"a\":{}]", "[,{\"a\":1}]"}) {
    SCOPED_TRACE(body);
    EXPECT_FALSE(split_event_array(body).has_value());
  }
}

TEST(EventBatchTest, NdjsonKeepsNonBlankLinesWithTheirLineNumbers) {
  const std::string body = "{\"a\":1}\r\n\n   \n{\"b\":2}\n{\"c\":3}";
  const auto items = split_ndjson(body);
  EXPECT_EQ(texts(items), (std::vector<std::string>{R"({"a":1})", R"({"b":2})", R"({"c":3})"}));
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].position, 1u);
  EXPECT_EQ(items[1].position, 4u);
  EXPECT_EQ(items[2].position, 5u);  // the last line needs no newline
  EXPECT_TRUE(split_ndjson("").empty());
  EXPECT_TRUE(split_ndjson("\n\r\n").empty());
}

// The bodies of the bad-input corpus (tests/badinput/events.jsonl): broken, mistyped, odd and
// valid events.
std::vector<std::string> corpus_bodies() {
  const char* root = std::getenv("DSIEM_TEST_DATA");
  std::ifstream in(std::string(root ? root : "tests") + "/badinput/events.jsonl");
  std::vector<std::string> bodies;
  simdjson::dom::parser parser;
  for (std::string line; std::getline(in, line);) {
    std::string_view body;
    if (parser.parse(line).get_object()["body"].get(body) == simdjson::SUCCESS) {
      bodies.emplace_back(body);
    }
  }
  return bodies;
}

constexpr std::string_view kValid =
    R"({"event_id":"v","timestamp":"2024-03-01T10:00:00Z","sensor":"s","plugin_id":1,)"
    R"("plugin_sid":2,"src_ip":"10.0.0.1","dst_ip":"10.0.0.2"})";

// A batch parsed as one document must decode each element exactly as the element's own text
// decodes (the per-element path): same success, same error text, same event.
TEST(ParsedArrayTest, ElementsDecodeAsTheirOwnTextDoes) {
  const auto bodies = corpus_bodies();
  ASSERT_GT(bodies.size(), 100u);
  ParsedArray parsed;
  int one_parse = 0, per_element = 0;
  for (const std::string& body : bodies) {
    const std::string array = "[" + body + "," + std::string(kValid) + "]";
    SCOPED_TRACE(array);
    if (!parsed.parse(array)) {
      ++per_element;
      continue;
    }
    ++one_parse;
    const auto items = split_event_array(array);
    ASSERT_TRUE(items.has_value());
    ASSERT_EQ(items->size(), parsed.size());
    for (std::size_t i = 0; i < items->size(); ++i) {
      Event from_array, alone;
      std::string array_error, alone_error;
      const bool array_ok = parsed.decode(i, from_array, &array_error);
      EXPECT_EQ(array_ok, decode((*items)[i].text, alone, &alone_error));
      EXPECT_EQ(array_error, alone_error);
      if (array_ok) {
        EXPECT_EQ(from_array, alone);
      }
    }
  }
  // Both paths are exercised by the corpus.
  EXPECT_GT(one_parse, 30);
  EXPECT_GT(per_element, 30);
}

TEST(ParsedArrayTest, OnlyNonEmptyArraysOfObjectsParse) {
  ParsedArray parsed;
  for (const std::string body : {"", "{\"a\":1}", "[]", "[1,2,3]", "[{\"a\":1},2]", "[null]",
                                 "[{\"a\":1}", "[{\"a\":1},]", "[{\"a\":1}] x", "[{\"a\":}]"}) {
    SCOPED_TRACE(body);
    EXPECT_FALSE(parsed.parse(body));
  }
  ASSERT_TRUE(parsed.parse(" [ {\"event_id\":\"a\"} , {\"event_id\":\"b\"} ]\n"));
  ASSERT_EQ(parsed.size(), 2u);
  Event e;
  ASSERT_TRUE(parsed.decode(1, e, nullptr));
  EXPECT_EQ(e.event_id, "b");
  // Reusable: a failed parse leaves nothing behind.
  EXPECT_FALSE(parsed.parse("[1]"));
  EXPECT_EQ(parsed.size(), 0u);
  // Bodies beyond the bound are left to the per-element path.
  std::string big = "[{\"event_id\":\"" + std::string(ParsedArray::kMaxBody, 'x') + "\"}]";
  EXPECT_FALSE(parsed.parse(big));
  ASSERT_TRUE(split_event_array(big).has_value());
}

// decode() into an Event that held another event gives what decoding into a fresh one gives.
TEST(EventDecodeTest, ReusedEventDecodesAsAFreshOne) {
  const auto bodies = corpus_bodies();
  Event reused;
  ASSERT_TRUE(decode(R"({"event_id":"x","timestamp":"t","title":"long title of an earlier event",)"
                     R"("custom_data3":"c3","conn_id":7,"rcvd_time":9,"plugin_id":5})",
                     reused));
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body);
    Event fresh;
    std::string fresh_error, reused_error;
    const bool ok = decode(body, fresh, &fresh_error);
    EXPECT_EQ(decode(body, reused, &reused_error), ok);
    EXPECT_EQ(reused_error, fresh_error);
    if (ok) {
      EXPECT_EQ(reused, fresh);
    }
  }
}

}  // namespace
}  // namespace dsiem::event
