#include "gen/phoenix_generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_source.h"
#include "common/csv_reader.h"
#include "common/text.h"
#include "conform/conformer.h"
#include "conform/mapping.h"
#include "gen/embedded_data.h"

namespace citybooks {
namespace {

constexpr std::string_view kHeaderLine =
    "Check/Payment Date,Dept. Descrptn,Vendor Name,Commitmt Item Name,Invoice Net Amt\n";

enum Column { kDate, kDepartment, kVendor, kItem, kAmount, kColumnCount };

using Row = std::vector<std::string>;

std::vector<Row> ParseCsv(std::string_view bytes) {
  CsvReader reader(MakeViewSource(bytes, "generated"));
  CsvRecord record;
  std::vector<Row> rows;
  while (true) {
    Result<bool> more = reader.Next(&record);
    EXPECT_TRUE(more.has_value());
    if (!more || !*more) break;
    EXPECT_EQ(record.problem, CsvProblem::kNone) << "record " << record.index;
    EXPECT_EQ(record.first_line, record.last_line) << "record " << record.index;
    rows.emplace_back(record.fields.begin(), record.fields.end());
  }
  return rows;
}

std::string Generate(const PhoenixGenOptions& options, PhoenixGenStats* stats = nullptr) {
  std::ostringstream out;
  Result<PhoenixGenStats> result = GeneratePhoenix(options, out);
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message());
  if (stats != nullptr && result) *stats = *result;
  return out.str();
}

// ---------------------------------------------------------------------------
// The portal's formats, restated independently of the generator and the
// loader.

struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
  int fiscal_year() const { return month >= 7 ? year + 1 : year; }
  int number() const { return year * 10000 + month * 100 + day; }
};

// A number of 1-`max_digits` digits without a leading zero.
std::optional<int> ParseShortNumber(std::string_view text, size_t max_digits) {
  if (text.empty() || text.size() > max_digits || text[0] == '0') return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// M/D/YYYY without leading zeros, a real calendar date.
std::optional<Date> ParsePortalDate(std::string_view text) {
  size_t first = text.find('/');
  size_t second = first == std::string_view::npos ? first : text.find('/', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto month = ParseShortNumber(text.substr(0, first), 2);
  auto day = ParseShortNumber(text.substr(first + 1, second - first - 1), 2);
  auto year = ParseShortNumber(text.substr(second + 1), 4);
  if (!month || !day || !year || text.size() - second - 1 != 4) return std::nullopt;
  std::chrono::year_month_day date{std::chrono::year(*year),
                                   std::chrono::month(static_cast<unsigned>(*month)),
                                   std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  return Date{*year, *month, *day};
}

struct Amount {
  int64_t cents = 0;
  bool separators = false;
  bool minus = false;
  bool parentheses = false;
  bool dollar = false;
};

// [( | -][$]digits[,ddd]*.dd[)], with separators exactly when the whole part
// has four digits or more, and no leading zeros.
std::optional<Amount> ParsePortalAmount(std::string_view text) {
  Amount amount;
  if (text.starts_with('(')) {
    if (!text.ends_with(')')) return std::nullopt;
    amount.parentheses = true;
    text = text.substr(1, text.size() - 2);
  } else if (text.starts_with('-')) {
    amount.minus = true;
    text.remove_prefix(1);
  }
  if (text.starts_with('$')) {
    amount.dollar = true;
    text.remove_prefix(1);
  }
  size_t point = text.find('.');
  if (point == std::string_view::npos || text.size() - point != 3) return std::nullopt;
  std::string_view whole = text.substr(0, point);
  std::string digits;
  for (size_t i = 0; i < whole.size(); ++i) {
    size_t from_end = whole.size() - i;
    if (whole[i] == ',') {
      if (i == 0 || from_end % 4 != 0) return std::nullopt;
      amount.separators = true;
      continue;
    }
    if (whole[i] < '0' || whole[i] > '9') return std::nullopt;
    digits += whole[i];
  }
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  if (amount.separators != (digits.size() > 3)) return std::nullopt;
  for (size_t i = 0; i < whole.size(); ++i) {
    size_t from_end = whole.size() - i;
    if (from_end % 4 == 0 && whole[i] != ',' && amount.separators) return std::nullopt;
  }
  std::string_view fraction = text.substr(point + 1);
  if (fraction[0] < '0' || fraction[0] > '9' || fraction[1] < '0' || fraction[1] > '9')
    return std::nullopt;
  amount.cents = std::stoll(digits) * 100 + (fraction[0] - '0') * 10 + (fraction[1] - '0');
  if (amount.minus || amount.parentheses) amount.cents = -amount.cents;
  return amount;
}

// A row the generator meant to be good: five fields, a portal date in the
// fiscal years asked, a portal amount, and names.
bool IsWellFormed(const Row& row, const PhoenixGenOptions& options) {
  if (row.size() != kColumnCount) return false;
  std::optional<Date> date = ParsePortalDate(row[kDate]);
  if (!date || date->fiscal_year() < options.first_fiscal_year ||
      date->fiscal_year() > options.last_fiscal_year) {
    return false;
  }
  return ParsePortalAmount(row[kAmount]).has_value() && !Trim(row[kDepartment]).empty() &&
         !Trim(row[kVendor]).empty() && !Trim(row[kItem]).empty();
}

// ---------------------------------------------------------------------------
// Loading with the real mapping.

const Mapping& PhoenixMapping() {
  static const Mapping* mapping = [] {
    Result<Mapping> loaded = LoadMapping("phoenix-checkbook");
    EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().message());
    return new Mapping(loaded ? *loaded : Mapping{});
  }();
  return *mapping;
}

struct Load {
  std::vector<bool> conformed;  // per data row
  std::vector<ConformedFact> facts;
  std::vector<std::string> reasons;
  std::vector<size_t> members;  // per dimension: distinct members
};

Load ConformAll(std::string_view bytes) {
  const Mapping& mapping = PhoenixMapping();
  std::vector<DimensionBuilder> builders;
  for (const DimensionSpec& dimension : mapping.dimensions) {
    builders.emplace_back(mapping, dimension);
  }
  Load load;
  CsvReader reader(MakeViewSource(bytes, "generated.csv"));
  CsvRecord record;
  Result<bool> more = reader.Next(&record);
  EXPECT_TRUE(more && *more);
  if (!more || !*more) return load;
  std::vector<std::string_view> header(record.fields.begin(), record.fields.end());
  Result<RowConformer> conformer = RowConformer::Make(mapping, &builders, header, "generated.csv");
  EXPECT_TRUE(conformer.has_value()) << (conformer ? "" : conformer.error().message());
  if (!conformer) return load;
  while (true) {
    more = reader.Next(&record);
    EXPECT_TRUE(more.has_value());
    if (!more || !*more) break;
    ConformedFact fact;
    RowProblem problem;
    bool ok = conformer->Conform(record, &fact, &problem);
    load.conformed.push_back(ok);
    load.facts.push_back(fact);
    load.reasons.push_back(ok ? "" : problem.reason);
  }
  for (const DimensionBuilder& builder : builders) {
    load.members.push_back(builder.observed_members());
  }
  return load;
}

size_t DimensionIndex(std::string_view name) {
  const Mapping& mapping = PhoenixMapping();
  for (size_t i = 0; i < mapping.dimensions.size(); ++i)
    if (mapping.dimensions[i].name == name) return i;
  ADD_FAILURE() << "no dimension " << name;
  return 0;
}

// ---------------------------------------------------------------------------

TEST(PhoenixGenerator, WritesTheRealHeader) {
  PhoenixGenOptions options;
  options.rows = 3;
  std::string bytes = Generate(options);
  EXPECT_TRUE(bytes.starts_with(kHeaderLine));
  EXPECT_EQ(std::string(PhoenixHeader()) + "\n", kHeaderLine);
  Result<std::string_view> sample = EmbeddedFile("reference/phoenix/sample_rows.csv");
  ASSERT_TRUE(sample.has_value());
  EXPECT_EQ(sample->substr(0, sample->find('\n')), PhoenixHeader());
  EXPECT_EQ(bytes.find('\r'), std::string::npos);  // LF line ends
}

TEST(PhoenixGenerator, ZeroRowsGivesTheHeaderOnly) {
  PhoenixGenOptions options;
  options.rows = 0;
  options.bad_rate = 0.5;
  PhoenixGenStats stats;
  EXPECT_EQ(Generate(options, &stats), kHeaderLine);
  EXPECT_EQ(stats.rows, 0u);
  EXPECT_EQ(stats.bad_rows, 0u);
  EXPECT_EQ(stats.good_amount_cents, 0);
}

TEST(PhoenixGenerator, SameSeedGivesSameBytes) {
  PhoenixGenOptions options;
  options.rows = 5000;
  options.seed = 42;
  options.dirt_rate = 0.2;
  options.bad_rate = 0.05;
  std::string first = Generate(options);
  std::string second = Generate(options);
  EXPECT_EQ(first.size(), second.size());
  EXPECT_TRUE(first == second);
}

TEST(PhoenixGenerator, DifferentSeedsGiveDifferentBytes) {
  PhoenixGenOptions options;
  options.rows = 1000;
  options.seed = 1;
  std::string one = Generate(options);
  options.seed = 2;
  std::string two = Generate(options);
  EXPECT_FALSE(one == two);
}

TEST(PhoenixGenerator, RefusesNonsenseOptions) {
  auto code_for = [](PhoenixGenOptions options) {
    std::ostringstream out;
    Result<PhoenixGenStats> result = GeneratePhoenix(options, out);
    EXPECT_TRUE(out.str().empty());
    return result ? std::optional<ErrorCode>() : std::optional<ErrorCode>(result.error().code());
  };
  PhoenixGenOptions options;
  options.first_fiscal_year = 2020;
  options.last_fiscal_year = 2019;
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
  options = {};
  options.first_fiscal_year = 1999;  // the mapping loads 2000..2100
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
  options = {};
  options.last_fiscal_year = 2101;
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
  options = {};
  options.dirt_rate = -0.1;
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
  options = {};
  options.dirt_rate = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
  options = {};
  options.bad_rate = 1.5;
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
  options = {};
  options.bad_rate = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
}

TEST(PhoenixGenerator, FailedStreamIsAnIoError) {
  PhoenixGenOptions options;
  options.rows = 10;
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  Result<PhoenixGenStats> result = GeneratePhoenix(options, out);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::kIoError);
}

TEST(PhoenixGenerator, ParsesBackToOneRecordPerRowPlusTheHeader) {
  PhoenixGenOptions options;
  options.rows = 20000;
  options.dirt_rate = 0.2;
  options.bad_rate = 0.05;
  PhoenixGenStats stats;
  std::vector<Row> rows = ParseCsv(Generate(options, &stats));
  ASSERT_EQ(rows.size(), options.rows + 1);
  EXPECT_EQ(stats.rows, options.rows);
  EXPECT_EQ(rows[0], (Row{"Check/Payment Date", "Dept. Descrptn", "Vendor Name",
                          "Commitmt Item Name", "Invoice Net Amt"}));
}

TEST(PhoenixGenerator, GoodRowsConformWithTheRealMappingAndBadRowsDoNot) {
  PhoenixGenOptions options;
  options.rows = 30000;
  options.dirt_rate = 0.2;
  options.bad_rate = 0.1;
  PhoenixGenStats stats;
  std::string bytes = Generate(options, &stats);
  std::vector<Row> rows = ParseCsv(bytes);
  Load load = ConformAll(bytes);
  ASSERT_EQ(rows.size(), options.rows + 1);
  ASSERT_EQ(load.conformed.size(), options.rows);
  uint64_t good = 0;
  int64_t cents = 0;
  std::set<int> fiscal_years;
  std::set<int> fiscal_months;
  for (size_t i = 0; i < load.conformed.size(); ++i) {
    const Row& row = rows[i + 1];
    bool well_formed = IsWellFormed(row, options);
    ASSERT_EQ(load.conformed[i], well_formed)
        << "row " << i + 1 << ": " << load.reasons[i] << " [" << row[0] << "]";
    if (!load.conformed[i]) continue;
    ++good;
    const ConformedFact& fact = load.facts[i];
    cents += fact.cents;
    EXPECT_EQ(fact.cents, ParsePortalAmount(row[kAmount])->cents) << row[kAmount];
    EXPECT_EQ(fact.date, ParsePortalDate(row[kDate])->number()) << row[kDate];
    EXPECT_GE(fact.fiscal_year, options.first_fiscal_year);
    EXPECT_LE(fact.fiscal_year, options.last_fiscal_year);
    fiscal_years.insert(fact.fiscal_year);
    fiscal_months.insert(fact.fiscal_month);
  }
  EXPECT_EQ(good, options.rows - stats.bad_rows);
  EXPECT_EQ(cents, stats.good_amount_cents);
  EXPECT_GT(stats.bad_rows, 2500u);  // about 3,000
  EXPECT_LT(stats.bad_rows, 3500u);
  EXPECT_EQ(fiscal_years, (std::set<int>{2019, 2020, 2021, 2022, 2023}));
  EXPECT_EQ(fiscal_months.size(), 12u);
}

TEST(PhoenixGenerator, MalformedRowsHaveEveryKindOfDefect) {
  PhoenixGenOptions options;
  options.rows = 20000;
  options.bad_rate = 0.2;
  PhoenixGenStats stats;
  std::vector<Row> rows = ParseCsv(Generate(options, &stats));
  uint64_t bad = 0;
  bool short_rows = false;
  bool long_rows = false;
  std::set<std::string> bad_amounts;
  bool iso_dates = false;
  bool impossible_dates = false;
  bool empty_dates = false;
  for (size_t i = 1; i < rows.size(); ++i) {
    const Row& row = rows[i];
    if (IsWellFormed(row, options)) continue;
    ++bad;
    if (row.size() != kColumnCount) {
      (row.size() < kColumnCount ? short_rows : long_rows) = true;
    } else if (!ParsePortalDate(row[kDate])) {
      iso_dates = iso_dates || (row[kDate].size() == 10 && row[kDate][4] == '-');
      impossible_dates = impossible_dates || row[kDate].starts_with("13/") ||
                         row[kDate].starts_with("2/30/") || row[kDate].starts_with("19/");
      empty_dates = empty_dates || row[kDate].empty();
    } else {
      bad_amounts.insert(row[kAmount]);
    }
  }
  EXPECT_EQ(bad, stats.bad_rows);
  EXPECT_TRUE(short_rows);
  EXPECT_TRUE(long_rows);
  EXPECT_TRUE(iso_dates);
  EXPECT_TRUE(impossible_dates);
  EXPECT_TRUE(empty_dates);
  EXPECT_EQ(bad_amounts, (std::set<std::string>{"12.3.4", "N/A", "1,23.00", ""}));
}

TEST(PhoenixGenerator, NoMalformedRowsByDefaultEvenWhenEveryRowIsDirty) {
  PhoenixGenOptions options;
  options.rows = 10000;
  options.dirt_rate = 1.0;
  PhoenixGenStats stats;
  std::string bytes = Generate(options, &stats);
  EXPECT_EQ(stats.bad_rows, 0u);
  Load load = ConformAll(bytes);
  ASSERT_EQ(load.conformed.size(), options.rows);
  int64_t cents = 0;
  for (size_t i = 0; i < load.conformed.size(); ++i) {
    ASSERT_TRUE(load.conformed[i]) << load.reasons[i];
    cents += load.facts[i].cents;
  }
  EXPECT_EQ(cents, stats.good_amount_cents);
}

TEST(PhoenixGenerator, DatesAreInOrderMostlyOnWeekdaysAcrossTheFiscalYears) {
  PhoenixGenOptions options;
  options.rows = 50000;
  options.first_fiscal_year = 2020;
  options.last_fiscal_year = 2022;
  std::vector<Row> rows = ParseCsv(Generate(options));
  int previous = 0;
  int weekend = 0;
  std::set<int> fiscal_years;
  std::set<std::pair<int, int>> months;
  for (size_t i = 1; i < rows.size(); ++i) {
    std::optional<Date> date = ParsePortalDate(rows[i][kDate]);
    ASSERT_TRUE(date.has_value()) << rows[i][kDate];
    EXPECT_GE(date->number(), previous);
    previous = date->number();
    fiscal_years.insert(date->fiscal_year());
    months.emplace(date->year, date->month);
    std::chrono::weekday weekday{std::chrono::sys_days{std::chrono::year_month_day{
        std::chrono::year(date->year), std::chrono::month(static_cast<unsigned>(date->month)),
        std::chrono::day(static_cast<unsigned>(date->day))}}};
    weekend += weekday == std::chrono::Saturday || weekday == std::chrono::Sunday;
  }
  EXPECT_GE(ParsePortalDate(rows[1][kDate])->number(), 20190701);
  EXPECT_LE(previous, 20220630);
  EXPECT_GE(previous, 20220601);
  EXPECT_EQ(fiscal_years, (std::set<int>{2020, 2021, 2022}));
  EXPECT_EQ(months.size(), 36u);
  EXPECT_GT(weekend, 0);
  EXPECT_LT(weekend, 1000);  // 2%
}

TEST(PhoenixGenerator, FewRowsStillSpreadOverTheFiscalYears) {
  PhoenixGenOptions options;
  options.rows = 10;
  std::vector<Row> rows = ParseCsv(Generate(options));
  ASSERT_EQ(rows.size(), 11u);
  std::set<int> fiscal_years;
  for (size_t i = 1; i < rows.size(); ++i)
    fiscal_years.insert(ParsePortalDate(rows[i][kDate])->fiscal_year());
  EXPECT_EQ(fiscal_years.size(), 5u);
}

TEST(PhoenixGenerator, AmountsUseEveryRealFormatAndAreSkewedCents) {
  PhoenixGenOptions options;
  options.rows = 40000;
  options.dirt_rate = 0;
  std::string bytes = Generate(options);
  std::vector<Row> rows = ParseCsv(bytes);
  int plain = 0;
  int separated = 0;
  int minus = 0;
  int parentheses = 0;
  int dollar = 0;
  std::vector<int64_t> magnitudes;
  for (size_t i = 1; i < rows.size(); ++i) {
    const std::string& text = rows[i][kAmount];
    std::optional<Amount> amount = ParsePortalAmount(text);
    ASSERT_TRUE(amount.has_value()) << text;
    EXPECT_EQ(ParseCents(text, AmountFormat::kAccounting), amount->cents) << text;
    separated += amount->separators;
    minus += amount->minus;
    parentheses += amount->parentheses;
    dollar += amount->dollar;
    plain += !amount->separators && !amount->minus && !amount->parentheses && !amount->dollar;
    magnitudes.push_back(amount->cents < 0 ? -amount->cents : amount->cents);
  }
  // Separated amounts are quoted, as in the real file.
  EXPECT_NE(bytes.find(",\"27,"), std::string::npos);
  EXPECT_NE(bytes.find(",\"("), std::string::npos);
  EXPECT_GT(plain, 10000);
  EXPECT_GT(separated, 10000);
  EXPECT_GT(minus, 200);        // about 400
  EXPECT_GT(parentheses, 200);  // about 400
  EXPECT_GT(dollar, 50);        // about 160
  EXPECT_LT(minus + parentheses, 1600);
  EXPECT_LT(dollar, 400);
  std::sort(magnitudes.begin(), magnitudes.end());
  double mean = 0;
  for (int64_t m : magnitudes) mean += static_cast<double>(m);
  mean /= static_cast<double>(magnitudes.size());
  int64_t median = magnitudes[magnitudes.size() / 2];
  EXPECT_GT(mean, 3.0 * static_cast<double>(median));  // long right tail
  EXPECT_GT(median, 10'000);                           // over $100
  EXPECT_LT(median, 1'000'000);                        // under $10,000
  EXPECT_GT(magnitudes.back(), 100'000'000);           // some over $1M
}

TEST(PhoenixGenerator, DepartmentsAreRealAndTheBigOnesPayMost) {
  PhoenixGenOptions options;
  options.rows = 50000;
  options.dirt_rate = 0;
  std::vector<Row> rows = ParseCsv(Generate(options));
  std::map<std::string, int> by_department;
  for (size_t i = 1; i < rows.size(); ++i) ++by_department[rows[i][kDepartment]];
  for (std::string_view real : {"Police", "Fire", "Aviation", "Water Services", "Library"}) {
    EXPECT_TRUE(by_department.contains(std::string(real))) << real;
  }
  for (std::string_view big : {"Police", "Fire", "Aviation", "Water Services", "Public Works"}) {
    EXPECT_GT(by_department[std::string(big)], 2500) << big;  // over 5% each
  }
  EXPECT_GE(by_department.size(), 25u);
  for (const auto& [name, count] : by_department) {
    EXPECT_EQ(std::string(Trim(name)), name);
    EXPECT_LT(count, 12500) << name;  // none over 25%
  }
}

TEST(PhoenixGenerator, VendorsAreUpperCaseLegalNamesWithAHeavyTail) {
  PhoenixGenOptions options;
  options.rows = 100000;
  options.dirt_rate = 0;
  std::vector<Row> rows = ParseCsv(Generate(options));
  std::map<std::string, int> by_vendor;
  std::map<std::string, std::map<std::string, int>> departments;
  std::map<std::string, std::map<std::string, int>> items;
  for (size_t i = 1; i < rows.size(); ++i) {
    const Row& row = rows[i];
    ++by_vendor[row[kVendor]];
    ++departments[row[kVendor]][row[kDepartment]];
    ++items[row[kVendor]][row[kItem]];
  }
  EXPECT_TRUE(by_vendor.contains("21ST CENTURY POLICING LLC"));
  EXPECT_TRUE(by_vendor.contains("22ND CENTURY TECHNOLOGIES INC"));
  EXPECT_GE(by_vendor.size(), 300u);
  EXPECT_LE(by_vendor.size(), 1000u);
  std::set<std::string> keys;
  int with_suffix = 0;
  for (const auto& [name, count] : by_vendor) {
    for (char c : name) EXPECT_FALSE(c >= 'a' && c <= 'z') << name;
    EXPECT_EQ(std::string(Trim(name)), name);
    EXPECT_EQ(name.find("  "), std::string::npos) << name;
    keys.insert(NormalizeVendorName(name));
    with_suffix += NormalizeVendorName(name) != name;  // a legal suffix dropped
  }
  EXPECT_EQ(keys.size(), by_vendor.size());  // no two vendors share a key
  EXPECT_GT(with_suffix, static_cast<int>(by_vendor.size() * 3 / 4));

  std::vector<int> counts;
  for (const auto& [name, count] : by_vendor) counts.push_back(count);
  std::sort(counts.rbegin(), counts.rend());
  int top10 = 0;
  for (size_t i = 0; i < 10; ++i) top10 += counts[i];
  EXPECT_GT(counts[0], 2000);     // the most paid vendor: over 2% of payments
  EXPECT_GT(top10, 15000);        // the top ten: over 15%
  EXPECT_LT(counts.back(), 100);  // the tail: a trickle
  EXPECT_GT(counts.back(), 10);   // ...every year, not once

  // Each vendor is paid mostly under one to three departments and items.
  for (const auto& [name, count] : by_vendor) {
    if (count < 500) continue;
    for (const auto* spread : {&departments[name], &items[name]}) {
      std::vector<int> shares;
      for (const auto& [key, n] : *spread) shares.push_back(n);
      std::sort(shares.rbegin(), shares.rend());
      int top3 = 0;
      for (size_t i = 0; i < shares.size() && i < 3; ++i) top3 += shares[i];
      EXPECT_GE(top3, count * 95 / 100) << name;
    }
  }
}

TEST(PhoenixGenerator, DirtOnlyRespellsVendorsAndDepartments) {
  // Dirt draws nothing from the row stream: the same seed writes the same
  // payments at any dirt rate, so each dirty row can be compared with its
  // clean twin.
  PhoenixGenOptions options;
  options.rows = 40000;
  options.dirt_rate = 0;
  std::vector<Row> clean = ParseCsv(Generate(options));
  options.dirt_rate = 0.2;
  std::vector<Row> dirty = ParseCsv(Generate(options));
  ASSERT_EQ(clean.size(), dirty.size());
  int dirty_rows = 0;
  int vendor_dirt = 0;
  int department_dirt = 0;
  for (size_t i = 1; i < clean.size(); ++i) {
    const Row& a = clean[i];
    const Row& b = dirty[i];
    ASSERT_EQ(b.size(), size_t{kColumnCount});
    EXPECT_EQ(a[kDate], b[kDate]);
    EXPECT_EQ(a[kItem], b[kItem]);
    EXPECT_EQ(a[kAmount], b[kAmount]);
    EXPECT_EQ(NormalizeVendorName(a[kVendor]), NormalizeVendorName(b[kVendor])) << b[kVendor];
    EXPECT_EQ(AsciiLower(Trim(a[kDepartment])), AsciiLower(Trim(b[kDepartment])));
    vendor_dirt += a[kVendor] != b[kVendor];
    department_dirt += a[kDepartment] != b[kDepartment];
    dirty_rows += a[kVendor] != b[kVendor] || a[kDepartment] != b[kDepartment];
  }
  // About 20% of rows, clustered by vendor-year and department-month.
  EXPECT_GT(dirty_rows, 4000);
  EXPECT_LT(dirty_rows, 12000);
  EXPECT_GT(vendor_dirt, 1000);
  EXPECT_GT(department_dirt, 1000);

  // The loader sees the same members either way.
  PhoenixGenOptions both = options;
  both.dirt_rate = 0;
  Load clean_load = ConformAll(Generate(both));
  Load dirty_load = ConformAll(Generate(options));
  EXPECT_EQ(clean_load.members, dirty_load.members);
  std::set<std::string> clean_vendors;
  for (size_t i = 1; i < clean.size(); ++i) clean_vendors.insert(clean[i][kVendor]);
  EXPECT_EQ(dirty_load.members[DimensionIndex("vendor")], clean_vendors.size());
}

TEST(PhoenixGenerator, VendorDirtGivesSeveralSpellingsOfOneKey) {
  PhoenixGenOptions options;
  options.rows = 40000;
  options.dirt_rate = 0.3;
  std::vector<Row> rows = ParseCsv(Generate(options));
  std::map<std::string, std::set<std::string>> spellings;
  for (size_t i = 1; i < rows.size(); ++i) {
    spellings[NormalizeVendorName(rows[i][kVendor])].insert(rows[i][kVendor]);
  }
  size_t most = 0;
  int respelled = 0;
  bool title_punctuated = false;  // "Acme Supply, Inc."
  bool padded = false;
  bool long_suffix = false;
  for (const auto& [key, names] : spellings) {
    most = std::max(most, names.size());
    respelled += names.size() > 1;
    for (const std::string& name : names) {
      title_punctuated = title_punctuated || name.ends_with(", Inc.");
      padded = padded || Trim(name) != name;
      long_suffix = long_suffix || name.ends_with(" INCORPORATED") || name.ends_with(" L.L.C.");
    }
  }
  EXPECT_GE(most, 3u);
  EXPECT_GT(respelled, 50);
  EXPECT_TRUE(title_punctuated);
  EXPECT_TRUE(padded);
  EXPECT_TRUE(long_suffix);
}

TEST(PhoenixGenerator, DirtIsAPropertyOfAVendorInAYearSoSpellingsStayFew) {
  auto distinct_vendors = [](uint64_t rows) {
    PhoenixGenOptions options;
    options.rows = rows;
    options.dirt_rate = 0.2;
    std::set<std::string> spellings;
    std::vector<Row> parsed = ParseCsv(Generate(options));
    for (size_t i = 1; i < parsed.size(); ++i) spellings.insert(parsed[i][kVendor]);
    return spellings.size();
  };
  size_t at_40k = distinct_vendors(40000);
  size_t at_160k = distinct_vendors(160000);
  EXPECT_LE(at_160k, at_40k + at_40k / 20) << at_40k << " then " << at_160k;
}

// A stream buffer that keeps only the size of the largest single write.
class MeasuringBuffer : public std::streambuf {
 public:
  size_t largest_write() const { return largest_; }
  size_t total() const { return total_; }

 protected:
  std::streamsize xsputn(const char*, std::streamsize count) override {
    largest_ = std::max(largest_, static_cast<size_t>(count));
    total_ += static_cast<size_t>(count);
    return count;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) ++total_;
    return traits_type::not_eof(c);
  }

 private:
  size_t largest_ = 0;
  size_t total_ = 0;
};

TEST(PhoenixGenerator, StreamsThroughABoundedBuffer) {
  PhoenixGenOptions options;
  options.rows = 300000;
  MeasuringBuffer buffer;
  std::ostream out(&buffer);
  Result<PhoenixGenStats> stats = GeneratePhoenix(options, out);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->rows, options.rows);
  EXPECT_GT(buffer.total(), size_t{10} << 20);         // tens of MB went out...
  EXPECT_LE(buffer.largest_write(), size_t{4} << 20);  // ...a few MB at a time
}

}  // namespace
}  // namespace citybooks
