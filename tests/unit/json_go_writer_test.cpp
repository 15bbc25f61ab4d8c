#include "dsiem/json/go_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace dsiem::json {
namespace {

std::string quoted(std::string_view s) {
  std::string out;
  append_string(out, s);
  return out;
}

TEST(GoWriterString, PlainAsciiIsCopied) {
  EXPECT_EQ(quoted(""), R"("")");
  EXPECT_EQ(quoted("hello world 123 /~'{}[]"), R"("hello world 123 /~'{}[]")");
  EXPECT_EQ(quoted("\x7f"), "\"\x7f\"");  // DEL is in Go's safe set
}

TEST(GoWriterString, QuoteBackslashAndShortEscapes) {
  EXPECT_EQ(quoted("a\"b"), R"("a\"b")");
  EXPECT_EQ(quoted("a\\b"), R"("a\\b")");
  EXPECT_EQ(quoted("a\nb\rc\td"), R"("a\nb\rc\td")");
}

TEST(GoWriterString, OtherControlBytesUseLowerCaseU00) {
  EXPECT_EQ(quoted("\b"), R"("\u0008")");
  EXPECT_EQ(quoted("\f"), R"("\u000c")");
  EXPECT_EQ(quoted(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(quoted("\x1b[0m"), R"("\u001b[0m")");
  EXPECT_EQ(quoted("\x1f"), R"("\u001f")");
}

TEST(GoWriterString, HtmlCharactersAreEscaped) {
  EXPECT_EQ(quoted("<script>a&b</script>"), R"("\u003cscript\u003ea\u0026b\u003c/script\u003e")");
}

TEST(GoWriterString, LineAndParagraphSeparatorsAreEscaped) {
  EXPECT_EQ(quoted("a\u2028b\u2029c"), R"("a\u2028b\u2029c")");
  // Neighbours of U+2028 are copied raw.
  EXPECT_EQ(quoted("\u2027\u202a"), "\"\u2027\u202a\"");
}

TEST(GoWriterString, ValidMultiByteIsCopiedRaw) {
  EXPECT_EQ(quoted("caf\u00e9 \u20ac \U0001F600 \u00ff\ufffd"),
            "\"caf\u00e9 \u20ac \U0001F600 \u00ff\ufffd\"");
  EXPECT_EQ(quoted("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");  // U+10FFFF
}

TEST(GoWriterString, EachInvalidByteBecomesReplacementEscape) {
  EXPECT_EQ(quoted("a\xff"
                   "b"),
            R"("a\ufffdb")");
  EXPECT_EQ(quoted("\xc3"), R"("\ufffd")");  // truncated at end
  EXPECT_EQ(quoted("\xe2\x82"
                   "a"),
            R"("\ufffd\ufffda")");                                         // truncated 3-byte
  EXPECT_EQ(quoted("\xc0\x80"), R"("\ufffd\ufffd")");                      // overlong NUL
  EXPECT_EQ(quoted("\xe0\x80\xaf"), R"("\ufffd\ufffd\ufffd")");            // overlong '/'
  EXPECT_EQ(quoted("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");            // surrogate U+D800
  EXPECT_EQ(quoted("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // > U+10FFFF
  EXPECT_EQ(quoted("\x80"
                   "\u00e9"),
            "\"\\ufffd\u00e9\"");
  EXPECT_EQ(quoted("\xf0\x9f\x98"), R"("\ufffd\ufffd\ufffd")");
}

TEST(GoWriterString, MixedRunsAreCopiedAroundEscapes) {
  EXPECT_EQ(quoted("abc<def>ghi\n\xffjkl\u2028mno"),
            R"("abc\u003cdef\u003eghi\n\ufffdjkl\u2028mno")");
}

// Runs of safe bytes are skipped in blocks: an escape must be found wherever it falls, at
// every offset of strings shorter and longer than a block.
TEST(GoWriterString, EscapeIsFoundAtEveryPosition) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"\"", "\\\""},           {"\\", "\\\\"},
      {"<", "\\u003c"},         {">", "\\u003e"},
      {"&", "\\u0026"},         {"\n", "\\n"},
      {"\x01", "\\u0001"},      {"\xff", "\\ufffd"},
      {"\xc3\xa9", "\xc3\xa9"}, {"\xe2\x80\xa8", "\\u2028"}};
  for (std::size_t length = 0; length <= 40; ++length) {
    for (std::size_t at = 0; at <= length; ++at) {
      for (const auto& [raw, escaped] : cases) {
        const std::string before(at, 'x'), after(length - at, 'y');
        std::string out;
        dsiem::json::append_string(out, before + std::string(raw) + after);
        EXPECT_EQ(out, "\"" + before + std::string(escaped) + after + "\"")
            << "length " << length << " at " << at;
      }
    }
  }
}

// Every printable ASCII byte but the five escaped ones is copied unchanged, wherever it falls
// (the block checks single out the five with bit tricks that must spare their neighbours).
TEST(GoWriterString, OtherPrintableBytesAreCopiedAtEveryPosition) {
  for (int c = 0x20; c < 0x80; ++c) {
    if (c == '"' || c == '\\' || c == '<' || c == '>' || c == '&') continue;
    for (std::size_t length = 1; length <= 20; ++length) {
      for (std::size_t at = 0; at < length; ++at) {
        std::string s(length, 'x');
        s[at] = static_cast<char>(c);
        EXPECT_EQ(json::quoted(s), "\"" + s + "\"")
            << "byte " << c << " length " << length << " at " << at;
      }
    }
  }
}

TEST(GoWriterString, AppendsToExistingContent) {
  std::string out = "prefix:";
  append_string(out, "x");
  EXPECT_EQ(out, R"(prefix:"x")");
}

TEST(GoWriterNumbers, IntAndUint) {
  std::string out;
  append_int(out, 0);
  out += ' ';
  append_int(out, -42);
  out += ' ';
  append_int(out, std::numeric_limits<int64_t>::min());
  out += ' ';
  append_int(out, std::numeric_limits<int64_t>::max());
  out += ' ';
  append_uint(out, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(out, "0 -42 -9223372036854775808 9223372036854775807 18446744073709551615");
}

TEST(GoWriterKey, KeyIsEscapedAndFollowedByColon) {
  std::string out;
  append_key(out, "a<b");
  EXPECT_EQ(out, R"("a\u003cb":)");
}

TEST(JsonIndentTest, LaysOutCompactJsonAsMarshalIndent) {
  EXPECT_EQ(indent(R"({"a":[1,{"b":"x,{:}\"]"}],"c":{},"d":[],"e":null})"),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x,{:}\\\"]\"\n    }\n  ],\n"
            "  \"c\": {},\n  \"d\": [],\n  \"e\": null\n}");
  EXPECT_EQ(indent("[]"), "[]");
  EXPECT_EQ(indent(R"("s")"), R"("s")");
}

}  // namespace
}  // namespace dsiem::json
