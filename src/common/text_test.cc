#include "common/text.h"

#include <gtest/gtest.h>

namespace citybooks {
namespace {

TEST(Text, TrimRemovesSurroundingWhiteSpace) {
  EXPECT_EQ(Trim("  a b \r\n"), "a b");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim("   "), "");
}

TEST(Text, ParseIntIsStrict) {
  EXPECT_EQ(ParseInt("2023"), 2023);
  EXPECT_EQ(ParseInt("-7"), -7);
  EXPECT_FALSE(ParseInt("20x1"));
  EXPECT_FALSE(ParseInt(""));
  EXPECT_FALSE(ParseInt("2023.0"));
  EXPECT_FALSE(ParseInt("99999999999999999999"));
}

TEST(Text, ParsePlainCents) {
  EXPECT_EQ(ParseCents("1234.56", AmountFormat::kPlain), 123456);
  EXPECT_EQ(ParseCents("-0.5", AmountFormat::kPlain), -50);
  EXPECT_EQ(ParseCents("12", AmountFormat::kPlain), 1200);
  EXPECT_EQ(ParseCents(".25", AmountFormat::kPlain), 25);
  EXPECT_EQ(ParseCents("0.125", AmountFormat::kPlain), 13);
  EXPECT_EQ(ParseCents("-0.125", AmountFormat::kPlain), -13);
  EXPECT_FALSE(ParseCents("1,234.00", AmountFormat::kPlain));
  EXPECT_FALSE(ParseCents("abc", AmountFormat::kPlain));
  EXPECT_FALSE(ParseCents("", AmountFormat::kPlain));
  EXPECT_FALSE(ParseCents("-", AmountFormat::kPlain));
  EXPECT_FALSE(ParseCents(".", AmountFormat::kPlain));
  EXPECT_FALSE(ParseCents("1e5", AmountFormat::kPlain));
  EXPECT_FALSE(ParseCents("99999999999999999999", AmountFormat::kPlain));
}

TEST(Text, ParseAccountingCents) {
  EXPECT_EQ(ParseCents("27,678.75", AmountFormat::kAccounting), 2767875);
  EXPECT_EQ(ParseCents("(1,234.00)", AmountFormat::kAccounting), -123400);
  EXPECT_EQ(ParseCents("-5.00", AmountFormat::kAccounting), -500);
  EXPECT_EQ(ParseCents("$12.00", AmountFormat::kAccounting), 1200);
  EXPECT_EQ(ParseCents("-$12.00", AmountFormat::kAccounting), -1200);
  EXPECT_EQ(ParseCents("$-12.00", AmountFormat::kAccounting), -1200);
  EXPECT_EQ(ParseCents("1,234,567", AmountFormat::kAccounting), 123456700);
  EXPECT_FALSE(ParseCents("1,23.00", AmountFormat::kAccounting));
  EXPECT_FALSE(ParseCents("12,3456.00", AmountFormat::kAccounting));
  EXPECT_FALSE(ParseCents(",123", AmountFormat::kAccounting));
}

TEST(Text, FormatCents) {
  EXPECT_EQ(FormatCents(123456), "1234.56");
  EXPECT_EQ(FormatCents(-5), "-0.05");
  EXPECT_EQ(FormatCents(0), "0.00");
}

TEST(Text, FormatCount) {
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatCount(12), "12");
  EXPECT_EQ(FormatCount(-1000), "-1,000");
}

}  // namespace
}  // namespace citybooks
