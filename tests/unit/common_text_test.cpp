#include "dsiem/common/text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using dsiem::split_list;
using dsiem::to_lower;
using dsiem::trim_space;
using List = std::vector<std::string>;

TEST(SplitList, CommasAndWhitespaceDropEmptyItems) {
  EXPECT_EQ(split_list("a,b,c"), (List{"a", "b", "c"}));
  EXPECT_EQ(split_list("10.0.0.0/8, !10.0.0.1"), (List{"10.0.0.0/8", "!10.0.0.1"}));
  EXPECT_EQ(split_list(" a ,, b\t,\nc  d ,"), (List{"a", "b", "c", "d"}));
  EXPECT_EQ(split_list(",,,"), List{});
  EXPECT_EQ(split_list("   "), List{});
  EXPECT_EQ(split_list(""), List{});
  EXPECT_EQ(split_list("single"), List{"single"});
  // "! x" is two items: the '!' is not glued to the next word.
  EXPECT_EQ(split_list("! x"), (List{"!", "x"}));
}

TEST(SplitList, UnicodeWhitespaceSeparates) {
  // U+00A0 NO-BREAK SPACE and U+3000 IDEOGRAPHIC SPACE are white space for Go.
  EXPECT_EQ(split_list("a\u00a0b\u3000c"), (List{"a", "b", "c"}));
  // Non-space multibyte characters stay inside their item.
  EXPECT_EQ(split_list("\u00c4x,\u00d6y"), (List{"\u00c4x", "\u00d6y"}));
}

TEST(TrimSpace, TrimsBothEnds) {
  EXPECT_EQ(trim_space("  deny "), "deny");
  EXPECT_EQ(trim_space("\t\n\v\f\r x y \r\n"), "x y");
  EXPECT_EQ(trim_space("x"), "x");
  EXPECT_EQ(trim_space(""), "");
  EXPECT_EQ(trim_space(" \t "), "");
  EXPECT_EQ(trim_space("\u3000deny\u00a0\u2003"), "deny");
  // Inner white space is kept.
  EXPECT_EQ(trim_space(" a \u00a0 b "), "a \u00a0 b");
}

TEST(TrimSpace, InvalidUtf8IsNotSpace) {
  EXPECT_EQ(trim_space(" \xff "), "\xff");
  EXPECT_EQ(trim_space("\xc2 x"), "\xc2 x");
}

TEST(ToLower, AsciiAndUnicode) {
  EXPECT_EQ(to_lower("DENY"), "deny");
  EXPECT_EQ(to_lower("Deny 123-_X"), "deny 123-_x");
  EXPECT_EQ(to_lower("\u00c4\u00d6\u00dc"), "\u00e4\u00f6\u00fc");  // ÄÖÜ -> äöü
  EXPECT_EQ(to_lower("\u03a3\u0391\u03a3"), "\u03c3\u03b1\u03c3");  // simple case: no final sigma
  EXPECT_EQ(to_lower("\u0416"), "\u0436");                          // Cyrillic Zhe
  EXPECT_EQ(to_lower("already lower \u00e4"), "already lower \u00e4");
  EXPECT_EQ(to_lower(""), "");
}

TEST(ToLower, InvalidBytesAreKept) {
  EXPECT_EQ(to_lower("AB\xff"
                     "CD"),
            "ab\xff"
            "cd");
  EXPECT_EQ(to_lower("\xc3"), "\xc3");  // truncated sequence
}

}  // namespace
