// Tests of the emulator's text helpers: CSV writing and parsing, gzip, and
// the portals' timestamp formats.
#include <gtest/gtest.h>

#include <chrono>

#include "emulator/csv_text.h"
#include "emulator/gzip.h"
#include "emulator/time_text.h"

namespace citybooks::emulator {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;

TEST(CsvText, QuotesOnlyWhatNeedsQuotingByDefault) {
  std::string out;
  AppendCsvRecord({"'Parklets' Permit Fee", "27,678.75", "say \"hi\"", "two\nlines", ""}, {}, &out);
  EXPECT_EQ(out, "'Parklets' Permit Fee,\"27,678.75\",\"say \"\"hi\"\"\",\"two\nlines\",\n");
}

TEST(CsvText, QuoteAllAndCrlf) {
  std::string out;
  AppendCsvRecord({"2023", ""}, {.quote_all = true, .crlf = true}, &out);
  EXPECT_EQ(out, "\"2023\",\"\"\r\n");
}

TEST(CsvText, ParseRoundTripsWhatItWrites) {
  const std::vector<CsvFields> records = {
      {"fiscal_year", "sub_object", "amount"},
      {"2023", "'Parklets' Permit Fee", "1,200.00"},
      {"2024", "Housing, \"Rapid\"\r\nRehousing", ""},
  };
  for (bool quote_all : {false, true}) {
    for (bool crlf : {false, true}) {
      std::string text;
      for (const CsvFields& record : records) {
        AppendCsvRecord(record, {.quote_all = quote_all, .crlf = crlf}, &text);
      }
      EXPECT_EQ(ParseCsv(text), records) << text;
    }
  }
}

TEST(CsvText, ParseSkipsBomAndToleratesStrayQuotesAndMissingFinalLineEnd) {
  EXPECT_EQ(ParseCsv("\xEF\xBB\xBF"
                     "a,b\r\n5\" pipe,x"),
            (std::vector<CsvFields>{{"a", "b"}, {"5\" pipe", "x"}}));
  EXPECT_EQ(ParseCsv(""), std::vector<CsvFields>{});
  EXPECT_EQ(ParseCsv("a,\n"), (std::vector<CsvFields>{{"a", ""}}));
  EXPECT_EQ(ParseCsv("\"open"), (std::vector<CsvFields>{{"open"}}));
}

TEST(Gzip, RoundTripsAndDetectsTruncationAndCorruption) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += "2023,Police,\"27,678.75\"\n";
  const std::string packed = GzipCompress(data);
  EXPECT_LT(packed.size(), data.size() / 10);
  EXPECT_EQ(GzipDecompress(packed), data);
  EXPECT_EQ(GzipDecompress(packed.substr(0, packed.size() / 2)), std::nullopt);
  EXPECT_EQ(GzipDecompress(packed + "x"), std::nullopt);
  std::string corrupt = packed;
  corrupt[corrupt.size() / 2] ^= 0x55;
  EXPECT_EQ(GzipDecompress(corrupt), std::nullopt);
  EXPECT_EQ(GzipDecompress(GzipCompress("")), "");
}

TEST(TimeText, FormatsThePortalsTimestamps) {
  const auto time = sys_days{2024y / 1 / 2} + 10h + 4min + 5s;
  EXPECT_EQ(FormatSocrataTimestamp(time), "2024-01-02T10:04:05.000Z");
  EXPECT_EQ(FormatHttpDate(time), "Tue, 02 Jan 2024 10:04:05 GMT");
  EXPECT_EQ(FormatCkanTimestamp(PortalTime{time} + 123456us), "2024-01-02T10:04:05.123456");
}

TEST(TimeText, ParsesIsoAndHttpDates) {
  const auto time = sys_days{2024y / 1 / 2} + 10h + 4min + 5s;
  EXPECT_EQ(ParseIsoTimestamp("2024-01-02T10:04:05"), time);
  EXPECT_EQ(ParseIsoTimestamp("2024-01-02T10:04:05.250Z"), time + 250ms);
  EXPECT_EQ(ParseIsoTimestamp("2024-01-02"), sys_days{2024y / 1 / 2});
  EXPECT_EQ(ParseIsoTimestamp("2024-02-30"), std::nullopt);
  EXPECT_EQ(ParseIsoTimestamp("2024-01-02 10:04:05"), std::nullopt);
  EXPECT_EQ(ParseIsoTimestamp("yesterday"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Tue, 02 Jan 2024 10:04:05 GMT"), time);
  EXPECT_EQ(ParseHttpDate("Tue, 02 Foo 2024 10:04:05 GMT"), std::nullopt);
  EXPECT_EQ(ParseHttpDate(FormatHttpDate(time)), time);
}

}  // namespace
}  // namespace citybooks::emulator
