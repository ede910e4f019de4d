#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_source.h"
#include "common/csv_reader.h"
#include "common/text.h"
#include "gen/embedded_data.h"
#include "gen/sf_generator.h"

namespace citybooks {
namespace {

constexpr std::string_view kHeaderLine =
    "fiscal_year,revenue_or_spending,related_govt_units,organization_group_code,"
    "organization_group,department_code,department,program_code,program,character_code,"
    "character,object_code,object,sub_object_code,sub_object,fund_type_code,fund_type,"
    "fund_code,fund,fund_category_code,fund_category,amount,data_as_of,data_loaded_at\n";

enum Column {
  kFiscalYear,
  kRevenueOrSpending,
  kRelatedGovtUnits,
  kOrganizationGroupCode,
  kOrganizationGroup,
  kDepartmentCode,
  kDepartment,
  kProgramCode,
  kProgram,
  kCharacterCode,
  kCharacter,
  kObjectCode,
  kObject,
  kSubObjectCode,
  kSubObject,
  kFundTypeCode,
  kFundType,
  kFundCode,
  kFund,
  kFundCategoryCode,
  kFundCategory,
  kAmount,
  kDataAsOf,
  kDataLoadedAt,
  kColumnCount
};

constexpr std::array<Column, 9> kNameColumns = {kOrganizationGroup, kDepartment, kProgram,
                                                kCharacter,         kObject,     kSubObject,
                                                kFundType,          kFund,       kFundCategory};

using Row = std::vector<std::string>;

// The revenue rule, restated from the generator's contract: character codes
// 4xx, 9xx, 70S and the mnemonic inflow codes are Revenue, the rest Spending.
bool IsRevenueCharacterCode(std::string_view code) {
  // clang-format off
  static const std::set<std::string_view> kMnemonics = {
      "PROP_TAX",      "BUS_TAX",          "OTHER_LOC_TAX",     "CHGS_FOR_SERVICES",
      "INT_INV_INC",   "INTER_REV_FED",    "INTERGOV_REV_ST",   "INTERGOV_REV_OTH",
      "LIC_PERM_FRAN", "FINE_FORF_PENAL",  "RENTS_CONCESSIONS", "OTH_REV",
      "OTH_FIN_SRCS",  "OPER_TFR_IN",      "INTRAFD_TFR_IN",    "CAP_CONTR_OTHER",
      "TFR_IN_CAP_EXP", "ELS",             "CONTRIB_RET_HSS_HLTH", "EXTRA_ITEM_GAIN",
      "CONVRSN_REV_ACCTS"};
  // clang-format on
  bool numeric = !code.empty() &&
                 std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (numeric) return code.front() == '4' || code.front() == '9';
  return code == "70S" || kMnemonics.contains(code);
}

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

std::string Generate(const SfGenOptions& options, SfGenStats* stats = nullptr) {
  std::ostringstream out;
  Result<SfGenStats> result = GenerateSf(options, out);
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message());
  if (stats != nullptr && result) *stats = *result;
  return out.str();
}

// A well-formed row: 24 fields, a fiscal year in range and a plain amount.
bool IsGoodRow(const Row& row, const SfGenOptions& options) {
  if (row.size() != kColumnCount) return false;
  std::optional<int64_t> year = ParseInt(row[kFiscalYear]);
  if (!year || *year < options.first_fiscal_year || *year > options.last_fiscal_year) return false;
  return ParseCents(row[kAmount], AmountFormat::kPlain).has_value();
}

std::string Key(const Row& row, int first, int count, int blank = -1) {
  std::string key;
  for (int i = first; i < first + count; ++i) {
    key += i == blank ? std::string("\x1f*") : row[static_cast<size_t>(i)];
    key += '\x1e';
  }
  return key;
}

// The real members, read from the embedded reference CSVs and laid out in
// output columns.
struct Reference {
  struct Dimension {
    int first;
    int count;
    std::vector<int> code_columns;  // levels where a name may carry another code
    std::set<std::string> paths;
    std::set<std::string> paths_without_code;  // one code column blanked
    std::set<std::string> lower_paths;         // paths in lower case
  };
  Dimension program{kRelatedGovtUnits, 7, {kDepartmentCode}, {}, {}, {}};
  Dimension type{kCharacterCode, 6, {kCharacterCode, kObjectCode, kSubObjectCode}, {}, {}, {}};
  Dimension fund{kFundTypeCode, 6, {kFundTypeCode, kFundCode}, {}, {}, {}};
};

void LoadDimension(std::string_view file, const std::vector<std::string>& csv_columns,
                   Reference::Dimension* dimension) {
  Result<std::string_view> bytes = EmbeddedFile(file);
  ASSERT_TRUE(bytes.has_value());
  std::vector<Row> rows = ParseCsv(*bytes);
  ASSERT_GT(rows.size(), 1u);
  std::vector<size_t> positions;
  for (const std::string& column : csv_columns) {
    auto it = std::find(rows[0].begin(), rows[0].end(), column);
    ASSERT_NE(it, rows[0].end()) << column;
    positions.push_back(static_cast<size_t>(it - rows[0].begin()));
  }
  for (size_t r = 1; r < rows.size(); ++r) {
    Row out(kColumnCount);
    for (size_t i = 0; i < positions.size(); ++i) {
      out[static_cast<size_t>(dimension->first) + i] = rows[r][positions[i]];
    }
    dimension->paths.insert(Key(out, dimension->first, dimension->count));
    for (int code : dimension->code_columns) {
      dimension->paths_without_code.insert(Key(out, dimension->first, dimension->count, code));
    }
    dimension->lower_paths.insert(AsciiLower(Key(out, dimension->first, dimension->count)));
  }
}

const Reference& RealMembers() {
  static const Reference* reference = [] {
    auto* r = new Reference;
    LoadDimension("reference/sf/program.csv",
                  {"related_govt_units", "organization_group_code", "organization_group",
                   "department_code", "department", "program_code", "program"},
                  &r->program);
    LoadDimension(
        "reference/sf/type.csv",
        {"character_code", "character", "object_code", "object", "sub_object_code", "sub_object"},
        &r->type);
    LoadDimension(
        "reference/sf/fund.csv",
        {"fund_type_code", "fund_type", "fund_code", "fund", "fund_category_code", "fund_category"},
        &r->fund);
    return r;
  }();
  return *reference;
}

bool IsMember(const Reference::Dimension& dimension, const Row& row) {
  return dimension.paths.contains(Key(row, dimension.first, dimension.count));
}

// A known name written with a code the reference gives another path.
bool HasAlternateCode(const Reference::Dimension& dimension, const Row& row) {
  if (IsMember(dimension, row)) return false;
  for (int code : dimension.code_columns) {
    if (dimension.paths_without_code.contains(Key(row, dimension.first, dimension.count, code))) {
      return true;
    }
  }
  return false;
}

enum Dirt {
  kUpperCaseYesNo,
  kCasing,
  kNullProgram,
  kNullCharacter,
  kNullObject,
  kNullSubObject,
  kNullDepartmentRda,
  kPaddedName,
  kAlternateCode,
  kDirtCount
};

constexpr std::array<std::string_view, kDirtCount> kDirtNames = {
    "YES/NO",          "casing",         "null program", "null character", "null object",
    "null sub-object", "RDA department", "padded name",  "alternate code"};

// A real path written in another case.
bool HasOtherCasing(const Reference::Dimension& dimension, const Row& row) {
  return !IsMember(dimension, row) &&
         dimension.lower_paths.contains(AsciiLower(Key(row, dimension.first, dimension.count)));
}

// Which kinds of the real extract's dirt a well-formed row shows.
std::array<bool, kDirtCount> DetectDirt(const Row& dirty_row) {
  const Reference& real = RealMembers();
  // Path checks below look past the YES/NO dirt.
  Row row = dirty_row;
  if (row[kRelatedGovtUnits] == "YES") row[kRelatedGovtUnits] = "Yes";
  if (row[kRelatedGovtUnits] == "NO") row[kRelatedGovtUnits] = "No";
  std::array<bool, kDirtCount> found{};
  found[kUpperCaseYesNo] = row[kRelatedGovtUnits] != dirty_row[kRelatedGovtUnits];
  found[kNullProgram] = row[kProgram].empty() && row[kProgramCode].empty();
  found[kNullCharacter] = row[kCharacter].empty() && row[kCharacterCode] == "NKE";
  found[kNullObject] = row[kObject].empty() && row[kObjectCode].empty();
  found[kNullSubObject] = row[kSubObject].empty() && row[kSubObjectCode] == "NKEY";
  found[kNullDepartmentRda] = row[kDepartment].empty() && row[kDepartmentCode] == "RDA";
  for (int column : kNameColumns) {
    const std::string& value = row[static_cast<size_t>(column)];
    if (Trim(value) != value) found[kPaddedName] = true;
  }
  found[kCasing] = HasOtherCasing(real.program, row) || HasOtherCasing(real.type, row) ||
                   HasOtherCasing(real.fund, row);
  found[kAlternateCode] = HasAlternateCode(real.program, row) || HasAlternateCode(real.type, row) ||
                          HasAlternateCode(real.fund, row);
  return found;
}

// ---------------------------------------------------------------------------

TEST(EmbeddedData, HoldsTheReferenceFilesByteForByte) {
  for (std::string_view name : EmbeddedFileNames()) {
    Result<std::string_view> embedded = EmbeddedFile(name);
    ASSERT_TRUE(embedded.has_value()) << name;
    std::ifstream file(std::string(CITYBOOKS_SOURCE_DIR) + "/data/" + std::string(name),
                       std::ios::binary);
    ASSERT_TRUE(file) << name;
    std::string expected((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    EXPECT_EQ(*embedded, expected) << name;
  }
  EXPECT_EQ(EmbeddedFileNames().size(), 6u);
}

TEST(EmbeddedData, UnknownNameIsNotFound) {
  Result<std::string_view> missing = EmbeddedFile("reference/sf/nothing.csv");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST(SfGenerator, WritesTheExactSocrataHeader) {
  SfGenOptions options;
  options.rows = 3;
  std::string bytes = Generate(options);
  EXPECT_TRUE(bytes.starts_with(kHeaderLine));
}

TEST(SfGenerator, ZeroRowsGivesTheHeaderOnly) {
  SfGenOptions options;
  options.rows = 0;
  SfGenStats stats;
  EXPECT_EQ(Generate(options, &stats), kHeaderLine);
  EXPECT_EQ(stats.rows, 0u);
  EXPECT_EQ(stats.bad_rows, 0u);
  EXPECT_EQ(stats.good_amount_cents, 0);
}

TEST(SfGenerator, SameSeedGivesSameBytes) {
  SfGenOptions options;
  options.rows = 5000;
  options.seed = 42;
  options.dirt_rate = 0.2;
  options.bad_rate = 0.05;
  std::string first = Generate(options);
  std::string second = Generate(options);
  EXPECT_EQ(first.size(), second.size());
  EXPECT_TRUE(first == second);
}

TEST(SfGenerator, DifferentSeedsGiveDifferentBytes) {
  SfGenOptions options;
  options.rows = 1000;
  options.seed = 1;
  std::string one = Generate(options);
  options.seed = 2;
  std::string two = Generate(options);
  EXPECT_FALSE(one == two);
}

TEST(SfGenerator, RefusesNonsenseOptions) {
  auto code_for = [](SfGenOptions options) {
    std::ostringstream out;
    Result<SfGenStats> result = GenerateSf(options, out);
    EXPECT_TRUE(out.str().empty());
    return result ? std::optional<ErrorCode>() : std::optional<ErrorCode>(result.error().code());
  };
  SfGenOptions options;
  options.first_fiscal_year = 2020;
  options.last_fiscal_year = 2019;
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
  options = {};
  options.first_fiscal_year = -5;
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
  options = {};
  options.dirt_rate = -0.1;
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
  options = {};
  options.dirt_rate = 1.5;
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
  options = {};
  options.bad_rate = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
  options = {};
  options.bad_rate = 2;
  EXPECT_EQ(code_for(options), ErrorCode::kInvalidArgument);
}

TEST(SfGenerator, FailedStreamIsAnIoError) {
  SfGenOptions options;
  options.rows = 10;
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  Result<SfGenStats> result = GenerateSf(options, out);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::kIoError);
}

TEST(SfGenerator, CleanRowsUseOnlyRealMembers) {
  SfGenOptions options;
  options.rows = 20000;
  options.dirt_rate = 0;
  std::string bytes = Generate(options);
  EXPECT_EQ(bytes.find('\r'), std::string::npos);
  std::vector<Row> rows = ParseCsv(bytes);
  ASSERT_EQ(rows.size(), options.rows + 1);
  const Reference& real = RealMembers();
  for (size_t i = 1; i < rows.size(); ++i) {
    const Row& row = rows[i];
    ASSERT_EQ(row.size(), size_t{kColumnCount}) << i;
    EXPECT_TRUE(IsMember(real.program, row)) << Key(row, kRelatedGovtUnits, 7);
    EXPECT_TRUE(IsMember(real.type, row)) << Key(row, kCharacterCode, 6);
    EXPECT_TRUE(IsMember(real.fund, row)) << Key(row, kFundTypeCode, 6);
    EXPECT_TRUE(row[kRelatedGovtUnits] == "No" || row[kRelatedGovtUnits] == "Yes");
    std::array<bool, kDirtCount> dirt = DetectDirt(row);
    for (int kind = 0; kind < kDirtCount; ++kind) {
      EXPECT_FALSE(dirt[static_cast<size_t>(kind)]) << kDirtNames[static_cast<size_t>(kind)];
    }
  }
}

TEST(SfGenerator, ValuesWithCommasAreQuotedAndRoundTrip) {
  SfGenOptions options;
  options.rows = 5000;
  options.dirt_rate = 0;
  std::string bytes = Generate(options);
  EXPECT_NE(bytes.find("\"Public Works, Transportation & Commerce\""), std::string::npos);
  std::vector<Row> rows = ParseCsv(bytes);
  int with_comma = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), size_t{kColumnCount});
    with_comma += rows[i][kOrganizationGroup] == "Public Works, Transportation & Commerce";
  }
  EXPECT_GT(with_comma, 0);
}

TEST(SfGenerator, RevenueOrSpendingFollowsTheCharacterCode) {
  SfGenOptions options;
  options.rows = 20000;
  options.dirt_rate = 0.2;
  options.bad_rate = 0.05;
  std::vector<Row> rows = ParseCsv(Generate(options));
  int revenue = 0;
  int spending = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    const Row& row = rows[i];
    if (!IsGoodRow(row, options)) continue;
    ASSERT_TRUE(row[kRevenueOrSpending] == "Revenue" || row[kRevenueOrSpending] == "Spending");
    if (row[kCharacterCode] == "NKE") continue;  // "No Character" carries no side
    bool is_revenue = row[kRevenueOrSpending] == "Revenue";
    EXPECT_EQ(is_revenue, IsRevenueCharacterCode(row[kCharacterCode]))
        << row[kCharacterCode] << " " << row[kCharacter];
    (is_revenue ? revenue : spending)++;
  }
  EXPECT_GT(revenue, 4000);
  EXPECT_GT(spending, 8000);
}

TEST(SfGenerator, TaxRevenueIsCommonEnoughForAHistogram) {
  SfGenOptions options;
  options.rows = 20000;
  options.dirt_rate = 0;
  std::vector<Row> rows = ParseCsv(Generate(options));
  std::map<std::string, int> tax_rows_by_character;
  int tax_rows = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    const Row& row = rows[i];
    if (row[kCharacter].find("Tax") == std::string::npos) continue;
    EXPECT_EQ(row[kRevenueOrSpending], "Revenue") << row[kCharacter];
    ++tax_rows;
    ++tax_rows_by_character[row[kCharacter]];
  }
  EXPECT_GT(tax_rows, 1000);  // about 10% of rows
  EXPECT_TRUE(tax_rows_by_character.contains("Property Taxes"));
  EXPECT_TRUE(tax_rows_by_character.contains("Business Taxes"));
  EXPECT_TRUE(tax_rows_by_character.contains("Other Local Taxes"));
}

TEST(SfGenerator, AmountsAreSkewedCentsWithAFewNegatives) {
  SfGenOptions options;
  options.rows = 20000;
  options.dirt_rate = 0;
  std::vector<Row> rows = ParseCsv(Generate(options));
  std::vector<int64_t> magnitudes;
  int negative = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    const std::string& amount = rows[i][kAmount];
    // Plain: optional minus, digits, a point and exactly two decimals.
    size_t point = amount.find('.');
    ASSERT_NE(point, std::string::npos) << amount;
    ASSERT_EQ(amount.size() - point, 3u) << amount;
    std::optional<int64_t> cents = ParseCents(amount, AmountFormat::kPlain);
    ASSERT_TRUE(cents.has_value()) << amount;
    negative += *cents < 0;
    magnitudes.push_back(*cents < 0 ? -*cents : *cents);
  }
  double share_negative = static_cast<double>(negative) / static_cast<double>(options.rows);
  EXPECT_GT(share_negative, 0.01);
  EXPECT_LT(share_negative, 0.10);
  std::sort(magnitudes.begin(), magnitudes.end());
  double mean = 0;
  for (int64_t m : magnitudes) mean += static_cast<double>(m);
  mean /= static_cast<double>(magnitudes.size());
  int64_t median = magnitudes[magnitudes.size() / 2];
  EXPECT_GT(mean, 5.0 * static_cast<double>(median));     // long right tail
  EXPECT_GT(median, 100'000);                             // over $1,000
  EXPECT_LT(median, 10'000'000);                          // under $100,000
  EXPECT_GT(magnitudes.back(), int64_t{100'000'000'00});  // some rows over $100M
}

TEST(SfGenerator, FiscalYearsAndTimestampsArePlausible) {
  SfGenOptions options;
  options.rows = 5000;
  options.first_fiscal_year = 2015;
  options.last_fiscal_year = 2020;
  options.dirt_rate = 0.1;
  std::vector<Row> rows = ParseCsv(Generate(options));
  std::set<std::string> years;
  for (size_t i = 1; i < rows.size(); ++i) {
    const Row& row = rows[i];
    years.insert(row[kFiscalYear]);
    EXPECT_EQ(row[kDataAsOf], rows[1][kDataAsOf]);
    EXPECT_EQ(row[kDataLoadedAt], rows[1][kDataLoadedAt]);
  }
  EXPECT_EQ(years, (std::set<std::string>{"2015", "2016", "2017", "2018", "2019", "2020"}));
  // "2020/09/14 12:00:00 AM"
  const std::string& as_of = rows[1][kDataAsOf];
  ASSERT_EQ(as_of.size(), 22u) << as_of;
  EXPECT_TRUE(as_of.starts_with("2020/")) << as_of;
  EXPECT_TRUE(as_of.ends_with(" 12:00:00 AM")) << as_of;
  const std::string& loaded = rows[1][kDataLoadedAt];
  ASSERT_EQ(loaded.size(), 22u) << loaded;
  EXPECT_GT(loaded, as_of);
  EXPECT_TRUE(loaded.ends_with("AM") || loaded.ends_with("PM")) << loaded;
}

TEST(SfGenerator, CountsMalformedRowsAndSumsTheGoodAmountsExactly) {
  SfGenOptions options;
  options.rows = 20000;
  options.dirt_rate = 0.1;
  options.bad_rate = 0.1;
  SfGenStats stats;
  std::vector<Row> rows = ParseCsv(Generate(options, &stats));
  ASSERT_EQ(rows.size(), options.rows + 1);
  EXPECT_EQ(stats.rows, options.rows);
  uint64_t bad = 0;
  int64_t good_cents = 0;
  std::set<size_t> bad_widths;
  std::set<std::string> bad_amounts;
  std::set<std::string> bad_years;
  for (size_t i = 1; i < rows.size(); ++i) {
    const Row& row = rows[i];
    if (!IsGoodRow(row, options)) {
      ++bad;
      if (row.size() != kColumnCount) {
        bad_widths.insert(row.size() < kColumnCount ? 0 : row.size());
      } else if (!ParseCents(row[kAmount], AmountFormat::kPlain)) {
        bad_amounts.insert(row[kAmount]);
      } else {
        bad_years.insert(row[kFiscalYear]);
      }
      continue;
    }
    good_cents += *ParseCents(row[kAmount], AmountFormat::kPlain);
  }
  EXPECT_EQ(bad, stats.bad_rows);
  EXPECT_EQ(good_cents, stats.good_amount_cents);
  EXPECT_GT(bad, 1600u);
  EXPECT_LT(bad, 2400u);
  EXPECT_EQ(bad_widths, (std::set<size_t>{0, kColumnCount + 1}));
  EXPECT_EQ(bad_amounts, (std::set<std::string>{"12.3.4", "N/A", ""}));
  EXPECT_EQ(bad_years, (std::set<std::string>{"20x1", "", "99999"}));
}

TEST(SfGenerator, NoMalformedRowsByDefault) {
  SfGenOptions options;
  options.rows = 5000;
  options.dirt_rate = 1.0;  // every row dirty, yet every row well-formed
  SfGenStats stats;
  std::vector<Row> rows = ParseCsv(Generate(options, &stats));
  EXPECT_EQ(stats.bad_rows, 0u);
  int64_t cents = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_TRUE(IsGoodRow(rows[i], options)) << i;
    cents += *ParseCents(rows[i][kAmount], AmountFormat::kPlain);
  }
  EXPECT_EQ(cents, stats.good_amount_cents);
}

TEST(SfGenerator, InjectsEveryKindOfRealDirtAtRoughlyTheRate) {
  SfGenOptions options;
  options.rows = 20000;
  options.dirt_rate = 0.2;
  std::vector<Row> rows = ParseCsv(Generate(options));
  std::array<int, kDirtCount> counts{};
  int dirty = 0;
  const Reference& real = RealMembers();
  for (size_t i = 1; i < rows.size(); ++i) {
    const Row& row = rows[i];
    ASSERT_EQ(row.size(), size_t{kColumnCount});
    std::array<bool, kDirtCount> found = DetectDirt(row);
    bool any = false;
    for (size_t kind = 0; kind < found.size(); ++kind) {
      counts[kind] += found[kind];
      any = any || found[kind];
    }
    dirty += any;
    if (!any) {  // a row without visible dirt is made of real members
      EXPECT_TRUE(IsMember(real.program, row) && IsMember(real.type, row) &&
                  IsMember(real.fund, row))
          << i;
    }
  }
  for (size_t kind = 0; kind < counts.size(); ++kind) {
    EXPECT_GE(counts[kind], 1) << kDirtNames[kind];
    // Each program or type kind: about 240 expected, clustered by member.
    EXPECT_GE(counts[kind], 100) << kDirtNames[kind];
  }
  EXPECT_GT(dirty, 3400);  // about 4,000 expected; a few dirt draws are invisible
  EXPECT_LT(dirty, 4600);
}

TEST(SfGenerator, DirtIsAPropertyOfAMemberInAnEraSoSpellingsStayFew) {
  // Every member appears in both eras well within 40k rows, so if dirt is
  // decided per (member, era) the distinct program spellings are all there by
  // then; per-row dirt would keep adding new ones.
  auto distinct_programs = [](uint64_t rows) {
    SfGenOptions options;
    options.rows = rows;
    options.dirt_rate = 0.2;
    std::set<std::string> spellings;
    std::vector<Row> parsed = ParseCsv(Generate(options));
    for (size_t i = 1; i < parsed.size(); ++i) {
      std::string key;
      for (int column = kRelatedGovtUnits; column <= kProgram; ++column)
        key += parsed[i][column] + "\x1f";
      spellings.insert(key);
    }
    return spellings.size();
  };
  size_t at_40k = distinct_programs(40000);
  size_t at_160k = distinct_programs(160000);
  EXPECT_LE(at_160k, at_40k + at_40k / 20) << at_40k << " then " << at_160k;
}

TEST(SfGenerator, AlternateDepartmentCodesAreTheKnownOnes) {
  SfGenOptions options;
  options.rows = 20000;
  options.dirt_rate = 1.0;
  std::vector<Row> rows = ParseCsv(Generate(options));
  const std::map<std::string, std::set<std::string>> known = {
      {"GEN General City / Unallocated", {"GEN", "UNA"}},
      {"HSA Human Services Agency", {"HSA", "DSS"}},
      {"DEM Emergency Management", {"DEM", "ECD"}}};
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 1; i < rows.size(); ++i) {
    const Row& row = rows[i];
    auto it = known.find(row[kDepartment]);
    if (it == known.end()) continue;
    EXPECT_TRUE(it->second.contains(row[kDepartmentCode])) << row[kDepartmentCode];
    seen.emplace(row[kDepartment], row[kDepartmentCode]);
  }
  EXPECT_EQ(seen.size(), 6u);
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

TEST(SfGenerator, StreamsThroughABoundedBuffer) {
  SfGenOptions options;
  options.rows = 100000;
  MeasuringBuffer buffer;
  std::ostream out(&buffer);
  Result<SfGenStats> stats = GenerateSf(options, out);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->rows, options.rows);
  EXPECT_GT(buffer.total(), size_t{20} << 20);         // tens of MB went out...
  EXPECT_LE(buffer.largest_write(), size_t{4} << 20);  // ...a few MB at a time
}

}  // namespace
}  // namespace citybooks
