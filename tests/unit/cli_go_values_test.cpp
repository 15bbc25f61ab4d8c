#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dsiem/cli/go_values.h"
#include "dsiem/common/text.h"

namespace dsiem::cli {
namespace {

using Strings = std::vector<std::string>;

TEST(CliGoValues, ParseIntDetectsTheBaseLikeGo) {
  EXPECT_EQ(parse_go_int("8080"), 8080);
  EXPECT_EQ(parse_go_int("010"), 8);
  EXPECT_EQ(parse_go_int("0x1F"), 31);
  EXPECT_EQ(parse_go_int("0X1f"), 31);
  EXPECT_EQ(parse_go_int("0o17"), 15);
  EXPECT_EQ(parse_go_int("0b101"), 5);
  EXPECT_EQ(parse_go_int("0"), 0);
  EXPECT_EQ(parse_go_int("-12"), -12);
  EXPECT_EQ(parse_go_int("+12"), 12);
  EXPECT_EQ(parse_go_int("1_000"), 1000);
  EXPECT_EQ(parse_go_int("0x_1F"), 31);
  EXPECT_EQ(parse_go_int("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_go_int("-9223372036854775808"), INT64_MIN);
}

TEST(CliGoValues, ParseIntRejectsWhatGoRejects) {
  for (const char* bad :
       {"", "abc", "08", "0x", "1__0", "_1", "1_", "12a", " 1", "1.0", "+", "-"}) {
    EXPECT_EQ(parse_go_int(bad), std::nullopt) << bad;
  }
  std::string error;
  EXPECT_EQ(parse_go_int("abc", &error), std::nullopt);
  EXPECT_EQ(error, "strconv.ParseInt: parsing \"abc\": invalid syntax");
  EXPECT_EQ(parse_go_int("9223372036854775808", &error), std::nullopt);
  EXPECT_EQ(error, "strconv.ParseInt: parsing \"9223372036854775808\": value out of range");
  EXPECT_EQ(parse_go_int("99999999999999999999999", &error), std::nullopt);
  EXPECT_EQ(error, "strconv.ParseInt: parsing \"99999999999999999999999\": value out of range");
}

TEST(CliGoValues, ParseBoolAcceptsGoSpellingsOnly) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_EQ(parse_go_bool(t), true);
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    EXPECT_EQ(parse_go_bool(f), false);
  }
  for (const char* bad : {"", "yes", "on", "tRUE", "2", " true"}) {
    EXPECT_EQ(parse_go_bool(bad), std::nullopt) << bad;
  }
  std::string error;
  parse_go_bool("yes", &error);
  EXPECT_EQ(error, "strconv.ParseBool: parsing \"yes\": invalid syntax");
}

TEST(CliGoValues, CsvRecordSplitsOnCommasWithQuoting) {
  EXPECT_EQ(parse_csv_record(""), Strings{});
  EXPECT_EQ(parse_csv_record("Open,In Progress"), (Strings{"Open", "In Progress"}));
  EXPECT_EQ(parse_csv_record("\"a,b\",c"), (Strings{"a,b", "c"}));
  EXPECT_EQ(parse_csv_record("\"say \"\"hi\"\"\""), (Strings{"say \"hi\""}));
  EXPECT_EQ(parse_csv_record("a,,b,"), (Strings{"a", "", "b", ""}));
  EXPECT_EQ(parse_csv_record(" a , b"), (Strings{" a ", " b"}));
  // Only the first record counts; leading empty lines are skipped; CRLF is a line end.
  EXPECT_EQ(parse_csv_record("a,b\nc"), (Strings{"a", "b"}));
  EXPECT_EQ(parse_csv_record("\n\na\r\n"), (Strings{"a"}));
  EXPECT_EQ(parse_csv_record("\"multi\nline\",x"), (Strings{"multi\nline", "x"}));
}

TEST(CliGoValues, CsvRecordReportsSyntaxErrors) {
  std::string error;
  EXPECT_EQ(parse_csv_record("a\"b", &error), std::nullopt);
  EXPECT_EQ(error, "parse error on line 1, column 1: bare \" in non-quoted-field");
  EXPECT_EQ(parse_csv_record("\"ab\"c", &error), std::nullopt);
  EXPECT_EQ(error, "parse error on line 1, column 3: extraneous or missing \" in quoted-field");
  EXPECT_EQ(parse_csv_record("\"open", &error), std::nullopt);
  EXPECT_NE(error.find("extraneous or missing \" in quoted-field"), std::string::npos);
  EXPECT_EQ(parse_csv_record("\n", &error), std::nullopt);
  EXPECT_EQ(error, "EOF");
}

TEST(CliGoValues, SplitFieldsSplitsOnWhitespaceRuns) {
  EXPECT_EQ(split_fields("Identified Threat,Valid Threat"),
            (Strings{"Identified", "Threat,Valid", "Threat"}));
  EXPECT_EQ(split_fields("  A\t\tB \n C  "), (Strings{"A", "B", "C"}));
  EXPECT_EQ(split_fields("   "), Strings{});
  EXPECT_EQ(split_fields("a\xC2\xA0"
                         "b"),
            (Strings{"a", "b"}));  // U+00A0 is a Go space
  EXPECT_EQ(split_fields("\xC3\xA9t\xC3\xA9"), (Strings{"\xC3\xA9t\xC3\xA9"}));
}

TEST(CliGoValues, GoQuoteEscapes) {
  EXPECT_EQ(dsiem::go_quote("abc"), "\"abc\"");
  EXPECT_EQ(dsiem::go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(dsiem::go_quote(std::string("\x01\xff", 2)), "\"\\x01\\xff\"");
}

}  // namespace
}  // namespace dsiem::cli
