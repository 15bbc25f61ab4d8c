#include "dsiem/event/event.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace dsiem::event {
namespace {

// A complete, valid body (plugin fields set, so no taxonomy needed).
constexpr std::string_view kBody =
    R"({"event_id":"e1","timestamp":"2018-10-08T07:16:50Z","title":"t","sensor":"s1",)"
    R"("plugin_id":1001,"plugin_sid":50001,"product":"p","category":"c","subcategory":"sc",)"
    R"("src_ip":"10.0.0.1","src_port":51000,"dst_ip":"10.0.0.2","dst_port":80,)"
    R"("protocol":"TCP","custom_label1":"l1","custom_data1":"d1","custom_label2":"l2",)"
    R"("custom_data2":"d2","custom_label3":"l3","custom_data3":"d3","conn_id":5,)"
    R"("rcvd_time":1538983010000000000,"trace_parent":"tp","trace_state":"ts"})";

std::string decode_error(std::string_view body) {
  Event e;
  std::string err;
  if (decode(body, e, &err)) return "";
  EXPECT_FALSE(err.empty());
  return err;
}

bool decodes(std::string_view body) {
  Event e;
  return decode(body, e);
}

TEST(EventDecode, AllFields) {
  Event e;
  std::string err;
  ASSERT_TRUE(decode(kBody, e, &err)) << err;
  EXPECT_EQ(e.event_id, "e1");
  EXPECT_EQ(e.timestamp, "2018-10-08T07:16:50Z");
  EXPECT_EQ(e.title, "t");
  EXPECT_EQ(e.sensor, "s1");
  EXPECT_EQ(e.plugin_id, 1001);
  EXPECT_EQ(e.plugin_sid, 50001);
  EXPECT_EQ(e.product, "p");
  EXPECT_EQ(e.category, "c");
  EXPECT_EQ(e.subcategory, "sc");
  EXPECT_EQ(e.src_ip, "10.0.0.1");
  EXPECT_EQ(e.src_port, 51000);
  EXPECT_EQ(e.dst_ip, "10.0.0.2");
  EXPECT_EQ(e.dst_port, 80);
  EXPECT_EQ(e.protocol, "TCP");
  EXPECT_EQ(e.custom_label1, "l1");
  EXPECT_EQ(e.custom_data1, "d1");
  EXPECT_EQ(e.custom_label2, "l2");
  EXPECT_EQ(e.custom_data2, "d2");
  EXPECT_EQ(e.custom_label3, "l3");
  EXPECT_EQ(e.custom_data3, "d3");
  EXPECT_EQ(e.custom_data(2), "d2");
  EXPECT_EQ(e.custom_label(3), "l3");
  EXPECT_EQ(e.conn_id, 5u);
  EXPECT_EQ(e.rcvd_time, 1538983010000000000);
  EXPECT_EQ(e.trace_parent, "tp");
  EXPECT_EQ(e.trace_state, "ts");
  EXPECT_TRUE(is_valid(e));
}

TEST(EventDecode, ResetsOutputFirst) {
  Event e;
  e.title = "stale";
  e.plugin_id = 9;
  ASSERT_TRUE(decode(R"({"event_id":"x"})", e));
  EXPECT_EQ(e.title, "");
  EXPECT_EQ(e.plugin_id, 0);
  EXPECT_EQ(e.event_id, "x");
  ASSERT_FALSE(decode(R"({"event_id":1})", e));
  ASSERT_TRUE(decode("null", e));  // Go: null into a struct is a no-op
  EXPECT_EQ(e, Event{});
  ASSERT_TRUE(decode(" {} ", e));
  EXPECT_EQ(e, Event{});
}

TEST(EventDecode, TypeStrictness) {
  EXPECT_EQ(decode_error(R"({"plugin_id":"1001"})"),
            "json: cannot unmarshal string into Go struct field NormalizedEvent.plugin_id of "
            "type int");
  EXPECT_EQ(decode_error(R"({"src_port":80.0})"),
            "json: cannot unmarshal number 80.0 into Go struct field NormalizedEvent.src_port of "
            "type int");
  EXPECT_FALSE(decodes(R"({"src_port":1e2})"));
  EXPECT_EQ(decode_error(R"({"plugin_id":15001.5})"),
            "json: cannot unmarshal number 15001.5 into Go struct field "
            "NormalizedEvent.plugin_id of type int");
  EXPECT_EQ(decode_error(R"({"timestamp":1538983010})"),
            "json: cannot unmarshal number into Go struct field NormalizedEvent.timestamp of "
            "type string");
  EXPECT_EQ(decode_error(R"({"dst_port":true})"),
            "json: cannot unmarshal bool into Go struct field NormalizedEvent.dst_port of type "
            "int");
  EXPECT_EQ(decode_error(R"({"title":{"a":1}})"),
            "json: cannot unmarshal object into Go struct field NormalizedEvent.title of type "
            "string");
  EXPECT_EQ(decode_error(R"({"plugin_sid":9223372036854775808})"),
            "json: cannot unmarshal number 9223372036854775808 into Go struct field "
            "NormalizedEvent.plugin_sid of type int");
}

TEST(EventDecode, IgnoredOnInputFieldsAreStillTypeChecked) {
  EXPECT_EQ(decode_error(R"({"conn_id":-1})"),
            "json: cannot unmarshal number -1 into Go struct field NormalizedEvent.conn_id of "
            "type uint64");
  EXPECT_EQ(decode_error(R"({"conn_id":"1"})"),
            "json: cannot unmarshal string into Go struct field NormalizedEvent.conn_id of type "
            "uint64");
  EXPECT_EQ(decode_error(R"({"rcvd_time":1.5})"),
            "json: cannot unmarshal number 1.5 into Go struct field NormalizedEvent.rcvd_time of "
            "type int64");
  EXPECT_EQ(decode_error(R"({"trace_parent":1})"),
            "json: cannot unmarshal number into Go struct field NormalizedEvent.trace_parent of "
            "type string");
  Event e;
  ASSERT_TRUE(decode(R"({"conn_id":18446744073709551615,"rcvd_time":-5})", e));
  EXPECT_EQ(e.conn_id, UINT64_MAX);
  EXPECT_EQ(e.rcvd_time, -5);
}

TEST(EventDecode, FirstTypeErrorInDocumentOrderIsReported) {
  EXPECT_EQ(decode_error(R"({"src_port":"x","plugin_id":"y"})"),
            "json: cannot unmarshal string into Go struct field NormalizedEvent.src_port of type "
            "int");
}

TEST(EventDecode, NullLeavesFieldsAtZero) {
  Event e;
  ASSERT_TRUE(decode(R"({"src_ip":null,"plugin_id":null,"event_id":"x"})", e));
  EXPECT_EQ(e.src_ip, "");
  EXPECT_EQ(e.plugin_id, 0);
  // Null after a value leaves the earlier value in place, as Go does.
  ASSERT_TRUE(decode(R"({"src_ip":"1.2.3.4","src_ip":null})", e));
  EXPECT_EQ(e.src_ip, "1.2.3.4");
}

TEST(EventDecode, BadBodies) {
  EXPECT_EQ(decode_error(""), "unexpected end of JSON input");
  EXPECT_EQ(decode_error(R"({"event_id":"a"}})"), "invalid character '}' after top-level value");
  EXPECT_EQ(decode_error(R"({"event_id":"a"} {"event_id":"b"})"),
            "invalid character '{' after top-level value");
  EXPECT_EQ(decode_error(R"([{"event_id":"a"}])"),
            "json: cannot unmarshal array into Go value of type event.NormalizedEvent");
  EXPECT_EQ(decode_error(R"("event")"),
            "json: cannot unmarshal string into Go value of type event.NormalizedEvent");
  EXPECT_EQ(decode_error("42"),
            "json: cannot unmarshal number into Go value of type event.NormalizedEvent");
  EXPECT_EQ(decode_error("true"),
            "json: cannot unmarshal bool into Go value of type event.NormalizedEvent");
  EXPECT_FALSE(decodes(R"({"event_id":"a")"));
  Event e;
  EXPECT_FALSE(decode("{", e, nullptr));  // no error sink: must not crash
}

TEST(EventDecode, DuplicateKeysLastWins) {
  Event e;
  ASSERT_TRUE(decode(R"({"sensor":"a","sensor":"b","SENSOR":"c","plugin_id":1,"Plugin_ID":2})", e));
  EXPECT_EQ(e.sensor, "c");
  EXPECT_EQ(e.plugin_id, 2);
}

TEST(EventDecode, CaseInsensitiveKeys) {
  Event e;
  ASSERT_TRUE(decode(R"({"SRC_IP":"1.1.1.1","Dst_Ip":"2.2.2.2","EVENT_ID":"x","\u017fensor":"s",)"
                     R"("Timestamp":"t","CONN_ID":7})",
                     e));
  EXPECT_EQ(e.src_ip, "1.1.1.1");
  EXPECT_EQ(e.dst_ip, "2.2.2.2");
  EXPECT_EQ(e.event_id, "x");
  EXPECT_EQ(e.sensor, "s");
  EXPECT_EQ(e.timestamp, "t");
  EXPECT_EQ(e.conn_id, 7u);
  // Near misses are unknown keys.
  ASSERT_TRUE(decode(R"({"srcip":"x","src-ip":"y","src_ip ":"z"})", e));
  EXPECT_EQ(e.src_ip, "");
}

TEST(EventDecode, UnknownKeysAreIgnoredWhateverTheirValue) {
  Event e;
  ASSERT_TRUE(
      decode(R"({"@timestamp":"2024","@version":"1","nested":{"src_ip":1,"a":[1,{"b":null}]},)"
             R"("arr":[true,false,null,1.5e300,"x"],"big":123456789012345678901234567890,)"
             R"("src_ip":"9.9.9.9"})",
             e));
  EXPECT_EQ(e.src_ip, "9.9.9.9");
}

TEST(EventDecode, InvalidUtf8IsReplacedLikeGo) {
  Event e;
  ASSERT_TRUE(
      decode("{\"title\":\"a\xff"
             "b\",\"custom_data1\":\"\\ud800\"}",
             e));
  EXPECT_EQ(e.title,
            "a\ufffd"
            "b");
  EXPECT_EQ(e.custom_data1, "\ufffd");
}

Event valid_event() {
  Event e;
  e.event_id = "e";
  e.timestamp = "2018-10-08T07:16:50Z";
  e.sensor = "s";
  e.src_ip = "1.1.1.1";
  e.dst_ip = "2.2.2.2";
  e.plugin_id = 1;
  e.plugin_sid = 2;
  return e;
}

TEST(EventValidate, RequiredStrings) {
  EXPECT_TRUE(is_valid(valid_event()));
  for (std::string Event::*field :
       {&Event::event_id, &Event::timestamp, &Event::sensor, &Event::src_ip, &Event::dst_ip}) {
    Event e = valid_event();
    e.*field = "";
    EXPECT_FALSE(is_valid(e));
    e.*field = " ";  // whitespace counts as non-empty
    EXPECT_TRUE(is_valid(e));
  }
  Event e = valid_event();
  e.title.clear();
  e.protocol.clear();
  e.src_port = -1;  // ports are not range-checked
  e.dst_port = 70000;
  e.timestamp = "yesterday";  // nor the timestamp syntax
  EXPECT_TRUE(is_valid(e));
}

TEST(EventValidate, TaxonomyNeededUnlessBothPluginFieldsSet) {
  Event e = valid_event();
  EXPECT_TRUE(is_valid(e));
  for (auto [id, sid] : {std::pair<int64_t, int64_t>{0, 2}, {1, 0}, {0, 0}}) {
    e.plugin_id = id;
    e.plugin_sid = sid;
    e.product.clear();
    e.category.clear();
    EXPECT_FALSE(is_valid(e));
    e.product = "p";
    EXPECT_FALSE(is_valid(e));
    e.category = "c";
    EXPECT_TRUE(is_valid(e));
    e.product.clear();
    EXPECT_FALSE(is_valid(e));
  }
  e.plugin_id = -1;  // non-zero is "set", even when negative
  e.plugin_sid = -1;
  e.product.clear();
  e.category.clear();
  EXPECT_TRUE(is_valid(e));
}

TEST(EventEncode, SpecExampleRoundTrips) {
  const std::string example =
      R"({"conn_id":42,"event_id":"5c1f0b3e-8a0f-4b6b-9c55-0d1e2f3a4b5c",)"
      R"("timestamp":"2024-01-01T00:00:00.000Z","title":"ICMP Ping","sensor":"ids-1",)"
      R"("plugin_id":1001,"plugin_sid":2100384,"product":"Intrusion Detection System",)"
      R"("category":"Misc activity","src_ip":"192.168.0.10","src_port":0,"dst_ip":"8.8.8.8",)"
      R"("dst_port":0,"protocol":"ICMP","rcvd_time":1704067201123456789})";
  Event e;
  std::string err;
  ASSERT_TRUE(decode(example, e, &err)) << err;
  EXPECT_EQ(e.conn_id, 42u);
  EXPECT_EQ(e.rcvd_time, 1704067201123456789);
  EXPECT_EQ(encode(e), example);
}

TEST(EventEncode, OmissionsAndOrder) {
  EXPECT_EQ(encode(Event{}),
            R"({"event_id":"","timestamp":"","sensor":"","src_ip":"","src_port":0,"dst_ip":"",)"
            R"("dst_port":0,"protocol":""})");
  Event full;
  ASSERT_TRUE(decode(kBody, full));
  EXPECT_EQ(encode(full),
            R"({"conn_id":5,"event_id":"e1","timestamp":"2018-10-08T07:16:50Z","title":"t",)"
            R"("sensor":"s1","plugin_id":1001,"plugin_sid":50001,"product":"p","category":"c",)"
            R"("subcategory":"sc","src_ip":"10.0.0.1","src_port":51000,"dst_ip":"10.0.0.2",)"
            R"("dst_port":80,"protocol":"TCP","custom_data1":"d1","custom_label1":"l1",)"
            R"("custom_data2":"d2","custom_label2":"l2","custom_data3":"d3",)"
            R"("custom_label3":"l3","rcvd_time":1538983010000000000,"trace_parent":"tp",)"
            R"("trace_state":"ts"})");
  Event neg;
  neg.plugin_id = -1;
  neg.src_port = -2;
  neg.rcvd_time = -3;
  neg.custom_label2 = "only label";
  EXPECT_EQ(encode(neg), R"({"event_id":"","timestamp":"","sensor":"","plugin_id":-1,"src_ip":"",)"
                         R"("src_port":-2,"dst_ip":"","dst_port":0,"protocol":"",)"
                         R"("custom_label2":"only label","rcvd_time":-3})");
}

TEST(EventEncode, GoEscaping) {
  Event e;
  e.title = "a&b <c> \u2028\u2029 \"q\" \\ \n\t\x01";
  e.custom_data1 =
      "bad\xff"
      "utf8 \u00e9";
  const std::string out = encode(e);
  EXPECT_NE(out.find(R"("title":"a\u0026b \u003cc\u003e \u2028\u2029 \"q\" \\ \n\t\u0001")"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"custom_data1\":\"bad\\ufffdutf8 \u00e9\""), std::string::npos) << out;
  // The escaped form decodes back to the same text (minus the invalid byte).
  Event back;
  ASSERT_TRUE(decode(out, back));
  EXPECT_EQ(back.title, e.title);
  EXPECT_EQ(back.custom_data1, "bad\ufffdutf8 \u00e9");
}

TEST(EventEncode, EncodeToAppends) {
  std::string out = "x";
  encode_to(out, Event{});
  EXPECT_EQ(out, "x" + encode(Event{}));
}

TEST(EventTimestamp, ValidRfc3339) {
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T07:16:50Z"), 1538983010);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T14:16:50.999+07:00"), 1538983010);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T00:16:50-07:00"), 1538983010);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-30T12:35:27.123Z"), 1540902927);
  EXPECT_EQ(parse_rfc3339_seconds("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_seconds("1969-12-31T23:59:59.999999999999Z"), -1);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T07:16:50.5Z"), 1538983010);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T07:16:50,5Z"), 1538983010);  // Go takes ','
  EXPECT_EQ(parse_rfc3339_seconds("2024-02-29T00:00:00Z"), 1709164800);
  EXPECT_EQ(parse_rfc3339_seconds("2000-02-29T12:00:00+00:00"), 951825600);
  EXPECT_EQ(parse_rfc3339_seconds("2024-01-01T00:00:00+05:30"), 1704047400);
  // Go's layout hour "15" takes one or two digits.
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T7:16:50Z"), 1538983010);
}

// Every year Go's layout can express, at the days where leap-year rules bite, against the
// standard library's calendar.
TEST(EventTimestamp, CalendarMatchesTheStandardLibrary) {
  char text[32];
  for (int year = 0; year <= 9999; ++year) {
    for (const auto& [month, day] : {std::pair{1, 1}, {2, 28}, {2, 29}, {3, 1}, {12, 31}}) {
      std::snprintf(text, sizeof text, "%04d-%02d-%02dT23:59:58Z", year, month, day);
      const std::chrono::year_month_day ymd{std::chrono::year{year},
                                            std::chrono::month{static_cast<unsigned>(month)},
                                            std::chrono::day{static_cast<unsigned>(day)}};
      if (!ymd.ok()) {
        EXPECT_EQ(parse_rfc3339_seconds(text), std::nullopt) << text;
        continue;
      }
      const int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
      EXPECT_EQ(parse_rfc3339_seconds(text), days * 86400 + 86398) << text;
    }
  }
}

// Events of one second share their date and time text, which is remembered between calls: the
// fraction and zone that follow still count, and nothing carries over to other text.
TEST(EventTimestamp, RepeatedDateAndTimeText) {
  constexpr int64_t k = 1538983010;  // 2018-10-08T07:16:50Z
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T07:16:50.1Z"), k);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T07:16:50.999+07:00"), k - 7 * 3600);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T07:16:50Zjunk"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T07:16:50-00:30"), k + 1800);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T07:16:51Z"), k + 1);
  EXPECT_EQ(parse_rfc3339_seconds("2018-02-30T07:16:50Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_seconds("2018-02-30T07:16:50Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T07:16:50Z"), k);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T07:16:5xZ"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_seconds("2018-10-08T07:16:50Z"), k);
}

TEST(EventTimestamp, Rejected) {
  for (std::string_view ts : {"2018-10-08 07:16:50Z",
                              "2018-10-08T07:16:50",
                              "yesterday",
                              "",
                              "1538983010",
                              "2018-10-08t07:16:50Z",
                              "2018-10-08T07:16:50z",
                              "2018-10-08T07:16:50.Z",
                              "2018-10-08T07:16:50.123",
                              "2018-13-08T07:16:50Z",
                              "2018-00-08T07:16:50Z",
                              "2018-10-00T07:16:50Z",
                              "2018-10-32T07:16:50Z",
                              "2023-02-29T07:16:50Z",
                              "1900-02-29T00:00:00Z",
                              "2018-04-31T00:00:00Z",
                              "2018-10-08T24:00:00Z",
                              "2018-10-08T07:60:00Z",
                              "2018-10-08T07:16:60Z",
                              "2018-10-08T123:16:50Z",
                              "2018-10-08T:16:50Z",
                              "2018-10-08T7:6:50Z",
                              "18-10-08T07:16:50Z",
                              "2018-10-08T07:16:50+0700",
                              "2018-10-08T07:16:50+07",
                              "2018-10-08T07:16:50 +07:00",
                              "2018-10-08T07:16:50Zjunk",
                              "2018-10-08T07:16:50+07:00 ",
                              "2018-1a-08T07:16:50Z",
                              "+018-10-08T07:16:50Z"}) {
    EXPECT_EQ(parse_rfc3339_seconds(ts), std::nullopt) << ts;
  }
}

}  // namespace
}  // namespace dsiem::event
