// Framing of batch bodies for POST /events: JSON arrays of objects and NDJSON.
#include "dsiem/event/batch.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace dsiem::event
