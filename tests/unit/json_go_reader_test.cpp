#include "dsiem/json/go_reader.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace dsiem::json {
namespace {

// The DecodeError text of parse(), or "" when it succeeds.
std::string parse_error(std::string_view text) {
  simdjson::dom::parser parser;
  try {
    parse(parser, text);
  } catch (const DecodeError& e) {
    return e.what();
  }
  return "";
}

// Parses `{"v":<value>}` and returns the element of "v".
class ValueTest : public ::testing::Test {
 protected:
  simdjson::dom::element value(const std::string& json) {
    text_ = R"({"v":)" + json + "}";
    return parse(parser_, text_)["v"].value();
  }
  simdjson::dom::parser parser_;
  std::string text_;
};

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const DecodeError& e) {
    return e.what();
  }
  return "";
}

TEST(GoReaderParse, AcceptsWholeDocuments) {
  EXPECT_EQ(parse_error(R"({"a":1})"), "");
  EXPECT_EQ(parse_error(" \t\r\n{\"a\":[1,2,{}]} \n"), "");
  EXPECT_EQ(parse_error("null"), "");
  EXPECT_EQ(parse_error("123"), "");
  EXPECT_EQ(parse_error(R"("s")"), "");
}

TEST(GoReaderParse, EmptyInputIsUnexpectedEnd) {
  EXPECT_EQ(parse_error(""), "unexpected end of JSON input");
  EXPECT_EQ(parse_error(" \n\t "), "unexpected end of JSON input");
  EXPECT_EQ(parse_error("{"), "unexpected end of JSON input");
  EXPECT_EQ(parse_error(R"({"a":"abc)"), "unexpected end of JSON input");
  EXPECT_EQ(parse_error("[1,2"), "unexpected end of JSON input");
}

TEST(GoReaderParse, SyntaxErrorsUseGoWording) {
  EXPECT_EQ(parse_error(R"({"a":1}})"), "invalid character '}' after top-level value");
  EXPECT_EQ(parse_error(R"({"a":1} x)"), "invalid character 'x' after top-level value");
  EXPECT_EQ(parse_error(R"({} {})"), "invalid character '{' after top-level value");
  EXPECT_EQ(parse_error("01"), "invalid character '1' after top-level value");
  EXPECT_EQ(parse_error("tru"), "invalid character ' ' in literal true (expecting 'e')");
  EXPECT_EQ(parse_error("nul1"), "invalid character '1' in literal null (expecting 'l')");
  EXPECT_EQ(parse_error("\xef\xbb\xbf{}"),
            "invalid character '\xc3\xaf' looking for beginning of value");
  EXPECT_EQ(parse_error(R"({"a" 1})"), "invalid character '1' after object key");
  EXPECT_EQ(parse_error("{a:1}"),
            "invalid character 'a' looking for beginning of object key string");
  EXPECT_EQ(parse_error(R"({"a":1,})"),
            "invalid character '}' looking for beginning of object key string");
  EXPECT_EQ(parse_error(R"({"a":1 "b":2})"), "invalid character '\"' after object key:value pair");
  EXPECT_EQ(parse_error("[1,]"), "invalid character ']' looking for beginning of value");
  EXPECT_EQ(parse_error("[1 2]"), "invalid character '2' after array element");
  EXPECT_EQ(parse_error("{\"a\":\"x\x01\"}"), "invalid character '\\x01' in string literal");
  EXPECT_EQ(parse_error("{\"a\":\"x\ty\"}"), "invalid character '\\t' in string literal");
  EXPECT_EQ(parse_error(R"(["\x"])"), "invalid character 'x' in string escape code");
  EXPECT_EQ(parse_error(R"(["\u12G4"])"),
            "invalid character 'G' in \\u hexadecimal character escape");
  EXPECT_EQ(parse_error("-"), "invalid character ' ' in numeric literal");
  EXPECT_EQ(parse_error("[1.]"), "invalid character ']' after decimal point in numeric literal");
  EXPECT_EQ(parse_error("[1e]"), "invalid character ']' in exponent of numeric literal");
  EXPECT_EQ(parse_error("[.5]"), "invalid character '.' looking for beginning of value");
  EXPECT_EQ(parse_error("['a']"), "invalid character '\\'' looking for beginning of value");
  EXPECT_EQ(parse_error(std::string_view("{}\0", 3)),
            "invalid character '\\x00' after top-level value");
  EXPECT_EQ(parse_error("[\x80]"), "invalid character '\\u0080' looking for beginning of value");
}

TEST(GoReaderParse, NestingLimitIsGos) {
  std::string ok(10000, '[');
  ok += std::string(10000, ']');
  EXPECT_EQ(parse_error(ok), "");
  std::string deep(10001, '[');
  deep += std::string(10001, ']');
  EXPECT_EQ(parse_error(deep), "invalid character '[' exceeded max depth");
}

TEST(GoReaderParse, InvalidUtf8InStringsBecomesReplacementRunes) {
  simdjson::dom::parser parser;
  const std::string text = "{\"a\":\"x\xff\xc3y\",\"k\xfe\":\"\xe2\x82\"}";
  const auto root = parse(parser, text);
  std::string_view a;
  ASSERT_EQ(root["a"].get(a), simdjson::SUCCESS);
  EXPECT_EQ(a, "x\ufffd\ufffdy");
  std::string_view k;
  ASSERT_EQ(root["k\ufffd"].get(k), simdjson::SUCCESS);
  EXPECT_EQ(k, "\ufffd\ufffd");
}

TEST(GoReaderParse, UnpairedSurrogateEscapesBecomeReplacementRunes) {
  simdjson::dom::parser parser;
  const auto root = parse(parser, R"(["\ud800","\udc00x","\ud800\u0041","\ud83d\ude00"])");
  std::vector<std::string> got;
  const simdjson::dom::array arr = root.get_array().value();
  for (auto v : arr) got.emplace_back(v.get_string().value());
  EXPECT_EQ(got, (std::vector<std::string>{"\ufffd", "\ufffdx", "\ufffdA", "\U0001F600"}));
}

TEST(GoReaderParse, OutOfRangeNumbersAreStillNumbers) {
  simdjson::dom::parser parser;
  // Go skips these in unknown fields; simdjson alone refuses them.
  EXPECT_EQ(parse_error(R"({"a":123456789012345678901234567890,"b":1e400,"c":-1e999})"), "");
  EXPECT_EQ(parse_error(R"({"a":-9223372036854775809,"b":18446744073709551616})"), "");
  const auto root =
      parse(parser, R"([123456789012345678901234567890, 1e400, 18446744073709551615])");
  const auto arr = root.get_array().value();
  int64_t n = 0;
  EXPECT_EQ(error_of([&] { read_int(arr.at(0).value(), n, "T.a"); }),
            "json: cannot unmarshal number 1.2345678901234568e+29 into Go struct field T.a of "
            "type int");
  EXPECT_EQ(error_of([&] { read_int(arr.at(1).value(), n, "T.a"); }),
            "json: cannot unmarshal number 1e+308 into Go struct field T.a of type int");
  uint64_t u = 0;
  read_uint(arr.at(2).value(), u, "T.u");
  EXPECT_EQ(u, 18446744073709551615ULL);
}

TEST(GoReaderParse, ParserIsReusable) {
  simdjson::dom::parser parser;
  for (int i = 0; i < 3; ++i) {
    const std::string text = R"({"n":)" + std::to_string(i) + "}";
    EXPECT_EQ(parse(parser, text)["n"].get_int64().value(), i);
  }
}

TEST(GoReaderMatchField, ExactThenCaseInsensitive) {
  constexpr std::array<std::string_view, 4> names = {"event_id", "src_ip", "Title", "title"};
  EXPECT_EQ(match_field("event_id", names), 0);
  EXPECT_EQ(match_field("SRC_IP", names), 1);
  EXPECT_EQ(match_field("Src_Ip", names), 1);
  // Exact match wins over an earlier case-insensitive one.
  EXPECT_EQ(match_field("title", names), 3);
  EXPECT_EQ(match_field("Title", names), 2);
  // Otherwise the first case-insensitive match in declaration order.
  EXPECT_EQ(match_field("TITLE", names), 2);
  EXPECT_EQ(match_field("src_iq", names), -1);
  EXPECT_EQ(match_field("src_ip ", names), -1);
  EXPECT_EQ(match_field("src", names), -1);
  EXPECT_EQ(match_field("", names), -1);
  // '_' is not a letter: no folding with its 0x20-apart neighbour.
  EXPECT_EQ(match_field("src\x7fip", names), -1);
}

TEST(GoReaderMatchField, GoSpecialFolds) {
  constexpr std::array<std::string_view, 2> names = {"sensor", "kingdom"};
  EXPECT_EQ(match_field("\xc5\xbf"
                        "ensor",
                        names),
            0);  // U+017F long s
  EXPECT_EQ(match_field("\xc5\xbf"
                        "en\xc5\xbf"
                        "or",
                        names),
            0);
  EXPECT_EQ(match_field("\xe2\x84\xaa"
                        "ingdom",
                        names),
            1);  // U+212A Kelvin
  EXPECT_EQ(match_field("\xe2\x84\xaa"
                        "ensor",
                        names),
            -1);
  EXPECT_EQ(match_field("\xc5\xbf"
                        "ingdom",
                        names),
            -1);
  EXPECT_EQ(match_field("\xc3\xa9"
                        "ensor",
                        names),
            -1);
}

// FieldIndex answers exactly as match_field does, for every kind of key: exact, folded in
// either direction, Go's special folds, near misses, and names that fold to the same text.
TEST(GoReaderFieldIndex, AgreesWithMatchField) {
  constexpr std::array<std::string_view, 7> names = {"event_id", "src_ip",  "Title", "title",
                                                     "sensor",   "kingdom", "a@b"};
  const FieldIndex index(names);
  const std::vector<std::string> keys = {"event_id",
                                         "EVENT_ID",
                                         "Event_Id",
                                         "src_ip",
                                         "SRC_IP",
                                         "title",
                                         "Title",
                                         "TITLE",
                                         "tItLe",
                                         "sensor",
                                         "SENSOR",
                                         "kingdom",
                                         "KINGDOM",
                                         "a@b",
                                         "A@B",
                                         "a`b",
                                         "src_iq",
                                         "src_ip ",
                                         "src",
                                         "",
                                         "unknown_key",
                                         "@timestamp",
                                         "\xc5\xbf"
                                         "ensor",
                                         "\xc5\xbf"
                                         "en\xc5\xbf"
                                         "or",
                                         "\xe2\x84\xaa"
                                         "ingdom",
                                         "\xe2\x84\xaa"
                                         "ensor",
                                         "\xc3\xa9"
                                         "ensor",
                                         std::string(100, 'a'),
                                         "src\x7fip"};
  for (const std::string& key : keys) {
    EXPECT_EQ(index.find(key), match_field(key, names)) << key;
  }
  EXPECT_EQ(index.find("TITLE"), 2);
  EXPECT_EQ(index.find("title"), 3);
  // A learned key order only speeds up the answer, whatever order the keys come in.
  for (int round = 0; round < 3; ++round) {
    int previous = -1;
    for (const std::string& key : keys) {
      const int expected = match_field(key, names);
      EXPECT_EQ(index.find_next(key, previous), expected) << key;
      if (expected >= 0) previous = expected;
    }
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
      EXPECT_EQ(index.find_next(*it, round % 2 ? 2 : -1), match_field(*it, names)) << *it;
    }
  }
}

TEST_F(ValueTest, ReadString) {
  std::string s = "keep";
  read_string(value("null"), s, "T.s");
  EXPECT_EQ(s, "keep");
  read_string(value(R"("a\"b\u00e9")"), s, "T.s");
  EXPECT_EQ(s, "a\"b\u00e9");
  read_string(value(R"("")"), s, "T.s");
  EXPECT_EQ(s, "");
  EXPECT_EQ(error_of([&] { read_string(value("1"), s, "T.s"); }),
            "json: cannot unmarshal number into Go struct field T.s of type string");
  EXPECT_EQ(error_of([&] { read_string(value("true"), s, "T.s"); }),
            "json: cannot unmarshal bool into Go struct field T.s of type string");
  EXPECT_EQ(error_of([&] { read_string(value("[]"), s, "T.s"); }),
            "json: cannot unmarshal array into Go struct field T.s of type string");
  EXPECT_EQ(error_of([&] { read_string(value("{}"), s, "T.s"); }),
            "json: cannot unmarshal object into Go struct field T.s of type string");
}

TEST_F(ValueTest, ReadIntAcceptsOnlyPlainIntegers) {
  int64_t n = 7;
  read_int(value("null"), n, "T.n");
  EXPECT_EQ(n, 7);
  read_int(value("-0"), n, "T.n");
  EXPECT_EQ(n, 0);
  read_int(value("1001"), n, "T.n");
  EXPECT_EQ(n, 1001);
  read_int(value("-9223372036854775808"), n, "T.n");
  EXPECT_EQ(n, INT64_MIN);
  read_int(value("9223372036854775807"), n, "T.n");
  EXPECT_EQ(n, INT64_MAX);
  EXPECT_EQ(error_of([&] { read_int(value("15001.5"), n, "NormalizedEvent.plugin_id"); }),
            "json: cannot unmarshal number 15001.5 into Go struct field "
            "NormalizedEvent.plugin_id of type int");
  EXPECT_EQ(error_of([&] { read_int(value("80.0"), n, "T.n"); }),
            "json: cannot unmarshal number 80.0 into Go struct field T.n of type int");
  EXPECT_NE(error_of([&] { read_int(value("1e2"), n, "T.n"); }), "");
  EXPECT_EQ(error_of([&] { read_int(value("9223372036854775808"), n, "T.n"); }),
            "json: cannot unmarshal number 9223372036854775808 into Go struct field T.n of "
            "type int");
  EXPECT_EQ(error_of([&] { read_int(value(R"("1001")"), n, "T.n"); }),
            "json: cannot unmarshal string into Go struct field T.n of type int");
  EXPECT_EQ(error_of([&] { read_int(value("false"), n, "T.n"); }),
            "json: cannot unmarshal bool into Go struct field T.n of type int");
  EXPECT_EQ(error_of([&] { read_int(value("[1]"), n, "T.n"); }),
            "json: cannot unmarshal array into Go struct field T.n of type int");
  EXPECT_EQ(error_of([&] { read_int(value(R"({"a":1})"), n, "T.n"); }),
            "json: cannot unmarshal object into Go struct field T.n of type int");
  EXPECT_EQ(error_of([&] { read_int(value("1.5"), n, "T.n", "int64"); }),
            "json: cannot unmarshal number 1.5 into Go struct field T.n of type int64");
  EXPECT_EQ(n, INT64_MAX);  // failed reads leave the value alone
}

TEST_F(ValueTest, ReadUintRejectsNegatives) {
  uint64_t n = 3;
  read_uint(value("null"), n, "T.n");
  EXPECT_EQ(n, 3u);
  read_uint(value("0"), n, "T.n");
  EXPECT_EQ(n, 0u);
  read_uint(value("18446744073709551615"), n, "T.n");
  EXPECT_EQ(n, UINT64_MAX);
  EXPECT_EQ(error_of([&] { read_uint(value("-1"), n, "T.n"); }),
            "json: cannot unmarshal number -1 into Go struct field T.n of type uint64");
  EXPECT_EQ(error_of([&] { read_uint(value("2.5"), n, "T.n", "uint"); }),
            "json: cannot unmarshal number 2.5 into Go struct field T.n of type uint");
  EXPECT_EQ(error_of([&] { read_uint(value(R"("1")"), n, "T.n"); }),
            "json: cannot unmarshal string into Go struct field T.n of type uint64");
}

TEST_F(ValueTest, ReadBool) {
  bool b = true;
  read_bool(value("null"), b, "T.b");
  EXPECT_TRUE(b);
  read_bool(value("false"), b, "T.b");
  EXPECT_FALSE(b);
  read_bool(value("true"), b, "T.b");
  EXPECT_TRUE(b);
  EXPECT_EQ(error_of([&] { read_bool(value(R"("true")"), b, "T.b"); }),
            "json: cannot unmarshal string into Go struct field T.b of type bool");
  EXPECT_EQ(error_of([&] { read_bool(value("1"), b, "T.b"); }),
            "json: cannot unmarshal number into Go struct field T.b of type bool");
}

TEST_F(ValueTest, ReadStringArray) {
  std::vector<std::string> v = {"old1", "old2", "old3"};
  read_string_array(value(R"(["a","b"])"), v, "T.v");
  EXPECT_EQ(v, (std::vector<std::string>{"a", "b"}));
  read_string_array(value("[]"), v, "T.v");
  EXPECT_TRUE(v.empty());
  v = {"x"};
  read_string_array(value("null"), v, "T.v");
  EXPECT_TRUE(v.empty());
  v = {"keep"};
  read_string_array(value(R"([null,null])"), v, "T.v");  // Go reuses the slice in place
  EXPECT_EQ(v, (std::vector<std::string>{"keep", ""}));
  EXPECT_EQ(error_of([&] { read_string_array(value(R"(["a",1])"), v, "T.v"); }),
            "json: cannot unmarshal number into Go struct field T.v of type string");
  EXPECT_EQ(error_of([&] { read_string_array(value(R"("a")"), v, "T.v"); }),
            "json: cannot unmarshal string into Go struct field T.v of type []string");
  EXPECT_EQ(error_of([&] { read_string_array(value("{}"), v, "T.v"); }),
            "json: cannot unmarshal object into Go struct field T.v of type []string");
}

TEST_F(ValueTest, ReadIntArray) {
  std::vector<int64_t> v = {9};
  read_int_array(value("[1,-2,3]"), v, "T.v");
  EXPECT_EQ(v, (std::vector<int64_t>{1, -2, 3}));
  read_int_array(value("null"), v, "T.v");
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(error_of([&] { read_int_array(value("[1,2.5]"), v, "T.v"); }),
            "json: cannot unmarshal number 2.5 into Go struct field T.v of type int");
  EXPECT_EQ(error_of([&] { read_int_array(value(R"([1,"2"])"), v, "T.v"); }),
            "json: cannot unmarshal string into Go struct field T.v of type int");
  EXPECT_EQ(error_of([&] { read_int_array(value("5"), v, "T.v"); }),
            "json: cannot unmarshal number into Go struct field T.v of type []int");
}

TEST_F(ValueTest, KindNames) {
  EXPECT_EQ(kind_name(value(R"("x")")), "string");
  EXPECT_EQ(kind_name(value("1")), "number");
  EXPECT_EQ(kind_name(value("-1")), "number");
  EXPECT_EQ(kind_name(value("18446744073709551615")), "number");
  EXPECT_EQ(kind_name(value("1.5")), "number");
  EXPECT_EQ(kind_name(value("true")), "bool");
  EXPECT_EQ(kind_name(value("[]")), "array");
  EXPECT_EQ(kind_name(value("{}")), "object");
}

TEST(GoReaderForEachField, VisitsMatchingKeysInDocumentOrder) {
  constexpr std::array<std::string_view, 2> names = {"a", "b"};
  simdjson::dom::parser parser;
  const auto root = parse(parser, R"({"b":1,"x":{"a":9},"A":2,"a":3})");
  std::vector<std::pair<int, int64_t>> seen;
  for_each_field(root, names, "pkg.T", [&](int idx, simdjson::dom::element v) {
    seen.emplace_back(idx, v.get_int64().value());
  });
  EXPECT_EQ(seen, (std::vector<std::pair<int, int64_t>>{{1, 1}, {0, 2}, {0, 3}}));
}

TEST(GoReaderForEachField, NullIsNothingAndOtherKindsFail) {
  constexpr std::array<std::string_view, 1> names = {"a"};
  simdjson::dom::parser parser;
  int calls = 0;
  for_each_field(parse(parser, "null"), names, "pkg.T", [&](int, auto) { ++calls; });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(
      error_of([&] { for_each_field(parse(parser, "[1]"), names, "pkg.T", [&](int, auto) {}); }),
      "json: cannot unmarshal array into Go value of type pkg.T");
  EXPECT_EQ(
      error_of([&] { for_each_field(parse(parser, R"("s")"), names, "pkg.T", [&](int, auto) {}); }),
      "json: cannot unmarshal string into Go value of type pkg.T");
  EXPECT_EQ(
      error_of([&] { for_each_field(parse(parser, "12"), names, "pkg.T", [&](int, auto) {}); }),
      "json: cannot unmarshal number into Go value of type pkg.T");
}

}  // namespace
}  // namespace dsiem::json
