#include "gen/sf_generator.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/byte_source.h"
#include "common/csv_reader.h"
#include "common/text.h"
#include "gen/embedded_data.h"
#include "gen/random.h"

namespace citybooks {
namespace {

using gen_internal::CubeRoot;
using gen_internal::MixHash;
using gen_internal::Pow10;
using gen_internal::Random;

// ---------------------------------------------------------------------------
// Output columns, in the order of the real Socrata header.

enum Column : int {
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

// The real Socrata header; the loader maps columns by these names.
constexpr std::string_view kHeaderLine =
    "fiscal_year,revenue_or_spending,related_govt_units,organization_group_code,"
    "organization_group,department_code,department,program_code,program,character_code,"
    "character,object_code,object,sub_object_code,sub_object,fund_type_code,fund_type,"
    "fund_code,fund,fund_category_code,fund_category,amount,data_as_of,data_loaded_at\n";

// Columns holding a name (as opposed to a code), where casing and white-space
// dirt goes.
constexpr std::array<Column, 9> kNameColumns = {kOrganizationGroup, kDepartment, kProgram,
                                                kCharacter,         kObject,     kSubObject,
                                                kFundType,          kFund,       kFundCategory};

// The chart of accounts switched from numeric to mnemonic codes with the
// city's new financial system in fiscal year 2018; rows of earlier years use
// the old members, later rows the new ones (where a dimension has both).
constexpr int kFirstMnemonicFiscalYear = 2018;

// ---------------------------------------------------------------------------
// The revenue rule.
//
// A row is Revenue exactly when its character code (as in type.csv) is:
//   - a numeric code 4xx: the old chart's revenue accounts, 406 capital
//     contributions through 495 intrafund transfers in;
//   - a numeric code 9xx: only 975 "Data Conversion Adjustment" exists, whose
//     sub-object is "Other Revenue Conversion Accts" (499000);
//   - 70S "Special Items-Inflow";
//   - one of the new chart's mnemonic inflow codes in kRevenueMnemonics.
// Everything else is Spending: 5xx, 8xx (ISF charges and expenditure
// recoveries are credits against spending), ELU transfer adjustments-uses,
// SPCL_ITEMS_OUT, CAP_EXP, CARRYFWD_BUD_ONLY, FAC_MNTC, PROG_PROJ, NKE "No
// Character" and the other mnemonic uses. Every character name in type.csv
// that carries several codes falls on one side with all of them.
// clang-format off
constexpr std::array<std::string_view, 21> kRevenueMnemonics = {
    "PROP_TAX",      "BUS_TAX",          "OTHER_LOC_TAX",     "CHGS_FOR_SERVICES",
    "INT_INV_INC",   "INTER_REV_FED",    "INTERGOV_REV_ST",   "INTERGOV_REV_OTH",
    "LIC_PERM_FRAN", "FINE_FORF_PENAL",  "RENTS_CONCESSIONS", "OTH_REV",
    "OTH_FIN_SRCS",  "OPER_TFR_IN",      "INTRAFD_TFR_IN",    "CAP_CONTR_OTHER",
    "TFR_IN_CAP_EXP", "ELS",             "CONTRIB_RET_HSS_HLTH", "EXTRA_ITEM_GAIN",
    "CONVRSN_REV_ACCTS"};
// clang-format on

bool IsAllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

bool IsRevenueCharacterCode(std::string_view code) {
  if (IsAllDigits(code)) return code.front() == '4' || code.front() == '9';
  if (code == "70S") return true;
  for (std::string_view mnemonic : kRevenueMnemonics)
    if (code == mnemonic) return true;
  return false;
}

// Expenditure recoveries and charges to other funds: spending rows that are
// often negative in the real books.
bool IsRecoveryCharacterCode(std::string_view code) {
  return code == "860" || code == "865" || code == "890" || code == "EXP_RECOVERY";
}

// ---------------------------------------------------------------------------
// ---------------------------------------------------------------------------
// The catalog of real members, loaded once from the embedded CSVs.

// One row of program.csv, type.csv or fund.csv: the values of a contiguous
// run of output columns, and those values already written as CSV.
struct Member {
  std::vector<std::string> values;
  std::string fragment;  // values joined by ',' and quoted where needed
  // For each (code column, name column) level of the dimension: an index into
  // Catalog::alternate_codes when the name carries several codes, else -1.
  std::vector<int> alternates;
};

struct Level {
  Column code;
  Column name;
};

struct Dimension {
  Column first_column;
  std::vector<std::string_view> csv_columns;  // source column per output column
  std::vector<Level> levels;                  // where alternate codes are looked up
  std::vector<Member> members;
};

enum Era { kLegacy, kMnemonic, kEraCount };

struct Catalog {
  Dimension program;
  Dimension type;
  Dimension fund;
  std::string revenue_name;   // "Revenue", from finance.csv
  std::string spending_name;  // "Spending"
  // Lists of codes that one name carries at some level (two or more each).
  std::vector<std::vector<std::string>> alternate_codes;
  // Indices of type members per era: revenue, revenue whose character is a
  // tax, spending; and fund members per era. An era without members of a kind
  // falls back to both eras.
  std::array<std::vector<uint32_t>, kEraCount> revenue_types;
  std::array<std::vector<uint32_t>, kEraCount> tax_types;
  std::array<std::vector<uint32_t>, kEraCount> spending_types;
  std::array<std::vector<uint32_t>, kEraCount> funds;
  // Program members whose department name carries several codes
  // (GEN/UNA, HSA/DSS, DEM/ECD).
  std::vector<uint32_t> alternate_department_programs;
};

// The three dimensions a row draws members from, in a fixed order, their
// name columns, and the dirt each can carry.
using DimensionOf = const Dimension* (*)(const Catalog&);
constexpr std::array<DimensionOf, 3> kDimensions = {[](const Catalog& c) { return &c.program; },
                                                    [](const Catalog& c) { return &c.type; },
                                                    [](const Catalog& c) { return &c.fund; }};
constexpr std::array<std::array<Column, 3>, 3> kDimensionNameColumns = {{
    {kOrganizationGroup, kDepartment, kProgram},
    {kCharacter, kObject, kSubObject},
    {kFundType, kFund, kFundCategory},
}};

Result<Dimension> LoadDimension(std::string_view file, Column first_column,
                                std::vector<std::string_view> csv_columns,
                                std::vector<Level> levels) {
  Dimension dimension;
  dimension.first_column = first_column;
  dimension.csv_columns = std::move(csv_columns);
  dimension.levels = std::move(levels);

  CB_ASSIGN_OR_RETURN(std::string_view bytes, EmbeddedFile(file));
  CsvReader reader(MakeViewSource(bytes, std::string(file)));
  CsvRecord record;
  CB_ASSIGN_OR_RETURN(bool has_header, reader.Next(&record));
  if (!has_header) return Fail(ErrorCode::kInternal, "embedded " + std::string(file) + " is empty");
  std::vector<size_t> positions;
  for (std::string_view column : dimension.csv_columns) {
    size_t position = 0;
    while (position < record.fields.size() && record.fields[position] != column) ++position;
    if (position == record.fields.size()) {
      return Fail(ErrorCode::kInternal,
                  "embedded " + std::string(file) + " has no column '" + std::string(column) + "'");
    }
    positions.push_back(position);
  }
  const size_t width = record.fields.size();
  while (true) {
    CB_ASSIGN_OR_RETURN(bool more, reader.Next(&record));
    if (!more) break;
    if (record.problem != CsvProblem::kNone || record.fields.size() != width) {
      return Fail(ErrorCode::kInternal, "embedded " + std::string(file) + " has a malformed row " +
                                            std::to_string(record.index));
    }
    Member member;
    for (size_t position : positions) {
      member.values.emplace_back(record.fields[position]);
      if (member.values.size() > 1) member.fragment += ',';
      AppendCsvField(&member.fragment, member.values.back());
    }
    dimension.members.push_back(std::move(member));
  }
  if (dimension.members.empty()) {
    return Fail(ErrorCode::kInternal, "embedded " + std::string(file) + " has no rows");
  }
  return dimension;
}

const std::string& Value(const Dimension& dimension, const Member& member, Column column) {
  return member.values[static_cast<size_t>(column - dimension.first_column)];
}

// Finds, per level, the names that carry several codes and records them in
// catalog->alternate_codes and in each member's `alternates`.
void IndexAlternateCodes(Dimension* dimension, Catalog* catalog) {
  for (Member& member : dimension->members) member.alternates.assign(dimension->levels.size(), -1);
  for (size_t level = 0; level < dimension->levels.size(); ++level) {
    const Level& columns = dimension->levels[level];
    std::unordered_map<std::string, std::vector<std::string>> codes_by_name;
    std::vector<std::string> name_order;  // first-seen order keeps output deterministic
    for (const Member& member : dimension->members) {
      const std::string& name = Value(*dimension, member, columns.name);
      const std::string& code = Value(*dimension, member, columns.code);
      auto [it, inserted] = codes_by_name.try_emplace(name);
      if (inserted) name_order.push_back(name);
      bool known = false;
      for (const std::string& seen : it->second) known = known || seen == code;
      if (!known) it->second.push_back(code);
    }
    std::unordered_map<std::string, int> list_by_name;
    for (const std::string& name : name_order) {
      std::vector<std::string>& codes = codes_by_name[name];
      if (codes.size() < 2) continue;
      list_by_name[name] = static_cast<int>(catalog->alternate_codes.size());
      catalog->alternate_codes.push_back(std::move(codes));
    }
    for (Member& member : dimension->members) {
      auto it = list_by_name.find(Value(*dimension, member, columns.name));
      if (it != list_by_name.end()) member.alternates[level] = it->second;
    }
  }
}

void FillEmptyEras(std::array<std::vector<uint32_t>, kEraCount>* pools) {
  std::vector<uint32_t> all;
  for (const auto& pool : *pools) all.insert(all.end(), pool.begin(), pool.end());
  for (auto& pool : *pools)
    if (pool.empty()) pool = all;
}

Result<Catalog> LoadCatalog() {
  Catalog catalog;
  CB_ASSIGN_OR_RETURN(
      catalog.program,
      LoadDimension("reference/sf/program.csv", kRelatedGovtUnits,
                    {"related_govt_units", "organization_group_code", "organization_group",
                     "department_code", "department", "program_code", "program"},
                    {{kDepartmentCode, kDepartment}}));
  CB_ASSIGN_OR_RETURN(
      catalog.type,
      LoadDimension(
          "reference/sf/type.csv", kCharacterCode,
          {"character_code", "character", "object_code", "object", "sub_object_code", "sub_object"},
          {{kCharacterCode, kCharacter}, {kObjectCode, kObject}, {kSubObjectCode, kSubObject}}));
  CB_ASSIGN_OR_RETURN(catalog.fund,
                      LoadDimension("reference/sf/fund.csv", kFundTypeCode,
                                    {"fund_type_code", "fund_type", "fund_code", "fund",
                                     "fund_category_code", "fund_category"},
                                    {{kFundTypeCode, kFundType}, {kFundCode, kFund}}));

  CB_ASSIGN_OR_RETURN(std::string_view finance, EmbeddedFile("reference/sf/finance.csv"));
  CsvReader reader(MakeViewSource(finance, "reference/sf/finance.csv"));
  CsvRecord record;
  while (true) {
    CB_ASSIGN_OR_RETURN(bool more, reader.Next(&record));
    if (!more) break;
    if (record.index == 0 || record.fields.size() != 2) continue;
    if (record.fields[1] == "Revenue") catalog.revenue_name = record.fields[1];
    if (record.fields[1] == "Spending") catalog.spending_name = record.fields[1];
  }
  if (catalog.revenue_name.empty() || catalog.spending_name.empty()) {
    return Fail(ErrorCode::kInternal, "embedded sf/finance.csv lacks Revenue or Spending");
  }

  IndexAlternateCodes(&catalog.program, &catalog);
  IndexAlternateCodes(&catalog.type, &catalog);
  IndexAlternateCodes(&catalog.fund, &catalog);

  for (uint32_t i = 0; i < catalog.type.members.size(); ++i) {
    const Member& member = catalog.type.members[i];
    const std::string& code = Value(catalog.type, member, kCharacterCode);
    const std::string& character = Value(catalog.type, member, kCharacter);
    Era era = IsAllDigits(code) || code == "70S" ? kLegacy : kMnemonic;
    if (IsRevenueCharacterCode(code)) {
      catalog.revenue_types[era].push_back(i);
      if (character.find("Tax") != std::string::npos) catalog.tax_types[era].push_back(i);
    } else {
      catalog.spending_types[era].push_back(i);
    }
  }
  for (uint32_t i = 0; i < catalog.fund.members.size(); ++i) {
    // Old fund types have two-character codes ("1G", "2S"), new ones words.
    Era era = Value(catalog.fund, catalog.fund.members[i], kFundTypeCode).size() <= 2 ? kLegacy
                                                                                      : kMnemonic;
    catalog.funds[era].push_back(i);
  }
  for (uint32_t i = 0; i < catalog.program.members.size(); ++i) {
    if (catalog.program.members[i].alternates[0] >= 0) {
      catalog.alternate_department_programs.push_back(i);
    }
  }
  FillEmptyEras(&catalog.revenue_types);
  FillEmptyEras(&catalog.tax_types);
  FillEmptyEras(&catalog.spending_types);
  FillEmptyEras(&catalog.funds);
  if (catalog.revenue_types[kLegacy].empty() || catalog.tax_types[kLegacy].empty() ||
      catalog.spending_types[kLegacy].empty() || catalog.alternate_department_programs.empty()) {
    return Fail(ErrorCode::kInternal, "embedded sf reference data lacks expected members");
  }
  return catalog;
}

const Result<Catalog>& SharedCatalog() {
  static const Result<Catalog> catalog = LoadCatalog();
  return catalog;
}

// ---------------------------------------------------------------------------
// The writer.

// Shares of rows and the shape of amounts. Magnitudes are log-normal-ish in
// log10 of dollars; tax rows are the big ones.
constexpr double kRevenueShare = 0.4;
constexpr double kTaxShareOfRevenue = 0.25;
constexpr double kWholeDollarShare = 0.25;
constexpr double kZeroShare = 0.004;
constexpr double kNegativeShare = 0.015;
constexpr double kNegativeRecoveryShare = 0.4;
constexpr int64_t kMaxCents = int64_t{200'000'000'000};  // $2 billion on one row

constexpr size_t kFlushBytes = size_t{1} << 20;

enum class Dirt {
  kUpperCaseYesNo,
  kCasing,
  kNullProgram,
  kNullCharacter,
  kNullObject,
  kNullSubObject,
  kNullDepartmentRda,
  kPaddedName,
  kAlternateCode,
  kCount
};

const std::array<std::vector<Dirt>, 3> kDirtKinds = {{
    {Dirt::kUpperCaseYesNo, Dirt::kCasing, Dirt::kNullProgram, Dirt::kNullDepartmentRda,
     Dirt::kPaddedName, Dirt::kAlternateCode},
    {Dirt::kCasing, Dirt::kNullCharacter, Dirt::kNullObject, Dirt::kNullSubObject,
     Dirt::kPaddedName, Dirt::kAlternateCode},
    {Dirt::kCasing, Dirt::kPaddedName, Dirt::kAlternateCode},
}};

enum class Malformation { kTooFewFields, kTooManyFields, kBadAmount, kBadFiscalYear, kCount };

// "2023/09/14 12:00:00 AM"
std::string FormatTimestamp(int year, int month, int day, int hour, int minute, int second) {
  char text[32];
  std::snprintf(text, sizeof text, "%04d/%02d/%02d %02d:%02d:%02d %s", year, month, day,
                hour % 12 == 0 ? 12 : hour % 12, minute, second, hour < 12 ? "AM" : "PM");
  return text;
}

void AppendCents(std::string* out, int64_t cents) {
  char text[32];
  char* p = text;
  uint64_t magnitude = cents < 0 ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  if (cents < 0) *p++ = '-';
  p = std::to_chars(p, text + sizeof text, magnitude / 100).ptr;
  *p++ = '.';
  *p++ = static_cast<char>('0' + magnitude % 100 / 10);
  *p++ = static_cast<char>('0' + magnitude % 10);
  out->append(text, static_cast<size_t>(p - text));
}

// AppendCsvField, with a single-pass check first: most values need no quotes,
// and this keeps dirty rows nearly as cheap as clean ones.
void AppendField(std::string* out, std::string_view value) {
  for (char c : value) {
    if (c == ',' || c == '"' || c == '\r' || c == '\n') {
      AppendCsvField(out, value);
      return;
    }
  }
  out->append(value);
}

class SfWriter {
 public:
  SfWriter(const Catalog& catalog, const SfGenOptions& options, std::ostream& out)
      : catalog_(catalog), options_(options), out_(out), random_(options.seed) {
    // The file's timestamps: one export a few months after the last fiscal
    // year closed, loaded a day or two later.
    Random stamp(options.seed ^ 0x5f3759df5f3759dfULL);
    int month = 8 + static_cast<int>(stamp.Below(5));
    int day = 1 + static_cast<int>(stamp.Below(26));
    data_as_of_ = FormatTimestamp(options.last_fiscal_year, month, day, 0, 0, 0);
    data_loaded_at_ =
        FormatTimestamp(options.last_fiscal_year, month, day + 1 + static_cast<int>(stamp.Below(3)),
                        static_cast<int>(stamp.Below(24)), static_cast<int>(stamp.Below(60)),
                        static_cast<int>(stamp.Below(60)));
    row_tail_ = "," + data_as_of_ + "," + data_loaded_at_ + "\n";
    for (int year = options.first_fiscal_year; year <= options.last_fiscal_year; ++year) {
      years_.push_back(std::to_string(year));
    }
    buffer_.reserve(kFlushBytes + (size_t{64} << 10));
    // Three dimensions each dirty with this chance give dirt_rate of rows.
    member_dirt_rate_ = 1.0 - CubeRoot(1.0 - options.dirt_rate);
  }

  Result<SfGenStats> Run() {
    buffer_ += kHeaderLine;
    for (uint64_t row = 0; row < options_.rows; ++row) {
      WriteRow();
      if (buffer_.size() >= kFlushBytes) CB_RETURN_IF_ERROR(Flush());
    }
    CB_RETURN_IF_ERROR(Flush());
    out_.flush();
    if (!out_) return Fail(ErrorCode::kIoError, "writing the generated SF CSV failed");
    return stats_;
  }

 private:
  Status Flush() {
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
    if (!out_) return Fail(ErrorCode::kIoError, "writing the generated SF CSV failed");
    return Ok();
  }

  void WriteRow() {
    const uint64_t year_index = random_.Below(years_.size());
    const int year = options_.first_fiscal_year + static_cast<int>(year_index);
    const Era era = year < kFirstMnemonicFiscalYear ? kLegacy : kMnemonic;
    const bool revenue = random_.Chance(kRevenueShare);
    const bool tax = revenue && random_.Chance(kTaxShareOfRevenue);
    const std::vector<uint32_t>& type_pool =
        tax ? catalog_.tax_types[era]
            : (revenue ? catalog_.revenue_types[era] : catalog_.spending_types[era]);
    const Member* program =
        &catalog_.program.members[random_.Below(catalog_.program.members.size())];
    const Member& type = catalog_.type.members[type_pool[random_.Below(type_pool.size())]];
    const std::vector<uint32_t>& fund_pool = catalog_.funds[era];
    const Member& fund = catalog_.fund.members[fund_pool[random_.Below(fund_pool.size())]];
    const int64_t cents = Amount(tax, IsRecoveryCharacterCode(type.values[0]));

    ++stats_.rows;
    const bool bad = random_.Chance(options_.bad_rate);
    // Dirt is a property of a member in an era, as in the real extract (a
    // name spelled one way in the years of one chart of accounts): every row
    // of a dirty (member, era) carries the same dirt, so the distinct
    // spellings stay few however many rows are written.
    const std::array<const Member*, 3> row_members = {program, &type, &fund};
    std::array<uint64_t, 3> dirt_hash{};
    bool dirty = false;
    for (size_t d = 0; d < 3; ++d) {
      const Dimension& dimension = *kDimensions[d](catalog_);
      uint64_t index = static_cast<uint64_t>(row_members[d] - dimension.members.data());
      uint64_t h = MixHash(options_.seed, d, index, static_cast<uint64_t>(era));
      if (static_cast<double>(h >> 11) * 0x1.0p-53 < member_dirt_rate_) {
        dirt_hash[d] = h | 1;  // nonzero marks the dimension dirty
        dirty = true;
      }
    }
    if (!bad) stats_.good_amount_cents += cents;
    const std::string& side = revenue ? catalog_.revenue_name : catalog_.spending_name;

    if (!bad && !dirty) {
      buffer_ += years_[year_index];
      buffer_ += ',';
      buffer_ += side;
      buffer_ += ',';
      buffer_ += program->fragment;
      buffer_ += ',';
      buffer_ += type.fragment;
      buffer_ += ',';
      buffer_ += fund.fragment;
      buffer_ += ',';
      AppendCents(&buffer_, cents);
      buffer_ += row_tail_;
      return;
    }

    amount_.clear();
    AppendCents(&amount_, cents);
    std::array<std::string_view, kColumnCount> fields;
    Fill(&fields, years_[year_index], side, *program, type, fund);
    for (size_t d = 0; d < 3; ++d) {
      if (dirt_hash[d] == 0) continue;
      Random choice(dirt_hash[d]);
      const std::vector<Dirt>& kinds = kDirtKinds[d];
      Dirt dirt = kinds[choice.Below(kinds.size())];
      ApplyDirt(dirt, d, *row_members[d], choice, &fields);
    }
    if (bad) {
      ++stats_.bad_rows;
      WriteMalformed(&fields);
    } else {
      WriteFields(fields, kColumnCount);
    }
  }

  int64_t Amount(bool tax, bool recovery) {
    // log10 of dollars: mean and spread.
    double mean = tax ? 5.6 : (recovery ? 3.8 : 4.2);
    double spread = tax ? 1.1 : 1.2;
    double dollars_log10 = mean + spread * random_.Normalish();
    int64_t cents = static_cast<int64_t>(Pow10(dollars_log10 + 2.0) + 0.5);
    if (cents < 1) cents = 1;
    if (cents > kMaxCents) cents = kMaxCents;
    if (cents >= 100 && random_.Chance(kWholeDollarShare)) cents -= cents % 100;
    if (random_.Chance(kZeroShare)) cents = 0;
    if (random_.Chance(recovery ? kNegativeRecoveryShare : kNegativeShare)) cents = -cents;
    return cents;
  }

  void Fill(std::array<std::string_view, kColumnCount>* fields, std::string_view year,
            std::string_view side, const Member& program, const Member& type,
            const Member& fund) const {
    (*fields)[kFiscalYear] = year;
    (*fields)[kRevenueOrSpending] = side;
    for (const auto& [dimension, member] :
         {std::pair{&catalog_.program, &program}, std::pair{&catalog_.type, &type},
          std::pair{&catalog_.fund, &fund}}) {
      for (size_t i = 0; i < member->values.size(); ++i) {
        (*fields)[dimension->first_column + i] = member->values[i];
      }
    }
    (*fields)[kAmount] = amount_;
    (*fields)[kDataAsOf] = data_as_of_;
    (*fields)[kDataLoadedAt] = data_loaded_at_;
  }

  // Rewrites *fields with one kind of the real extract's dirt. The row stays
  // one a loader must accept.
  void ApplyDirt(Dirt dirt, size_t dimension_index, const Member& member, Random& random,
                 std::array<std::string_view, kColumnCount>* fields) {
    std::string& scratch = scratch_[dimension_index];
    const std::array<Column, 3>& names = kDimensionNameColumns[dimension_index];
    switch (dirt) {
      case Dirt::kUpperCaseYesNo:
        scratch = AsciiUpper((*fields)[kRelatedGovtUnits]);
        (*fields)[kRelatedGovtUnits] = scratch;
        return;
      case Dirt::kCasing: {
        Column column = names[random.Below(names.size())];
        std::string_view name = (*fields)[column];
        uint64_t first = random.Below(3);
        for (uint64_t k = 0; k < 3; ++k) {
          switch ((first + k) % 3) {
            case 0:
              scratch = AsciiUpper(name);
              break;
            case 1:
              scratch = AsciiLower(name);
              break;
            default:
              scratch = AsciiTitle(name);
              break;
          }
          if (scratch != name) break;
        }
        (*fields)[column] = scratch;
        return;
      }
      case Dirt::kNullProgram:
        (*fields)[kProgram] = {};
        (*fields)[kProgramCode] = {};
        return;
      case Dirt::kNullCharacter:
        (*fields)[kCharacter] = {};
        (*fields)[kCharacterCode] = "NKE";
        return;
      case Dirt::kNullObject:
        (*fields)[kObject] = {};
        (*fields)[kObjectCode] = {};
        return;
      case Dirt::kNullSubObject:
        (*fields)[kSubObject] = {};
        (*fields)[kSubObjectCode] = "NKEY";
        return;
      case Dirt::kNullDepartmentRda:
        (*fields)[kDepartment] = {};
        (*fields)[kDepartmentCode] = "RDA";
        return;
      case Dirt::kPaddedName: {
        Column column = names[random.Below(names.size())];
        std::string_view name = (*fields)[column];
        switch (random.Below(3)) {
          case 0:
            scratch = " " + std::string(name);
            break;
          case 1:
            scratch = std::string(name) + " ";
            break;
          default:
            scratch = " " + std::string(name) + " ";
            break;
        }
        (*fields)[column] = scratch;
        return;
      }
      case Dirt::kAlternateCode: {
        // Levels of this member whose name carries another code.
        const Dimension& dimension = *kDimensions[dimension_index](catalog_);
        std::array<std::pair<Column, int>, 3> candidates;
        size_t count = 0;
        for (size_t level = 0; level < dimension.levels.size(); ++level) {
          if (member.alternates[level] >= 0) {
            candidates[count++] = {dimension.levels[level].code, member.alternates[level]};
          }
        }
        if (count == 0) {  // no name here has another code: fall back to casing
          ApplyDirt(Dirt::kCasing, dimension_index, member, random, fields);
          return;
        }
        const auto& [column, list] = candidates[random.Below(count)];
        const std::vector<std::string>& codes = catalog_.alternate_codes[list];
        size_t pick = random.Below(codes.size() - 1);
        if (codes[pick] == (*fields)[column]) pick = codes.size() - 1;
        (*fields)[column] = codes[pick];
        return;
      }
      case Dirt::kCount:
        return;
    }
  }

  void WriteMalformed(std::array<std::string_view, kColumnCount>* fields) {
    switch (static_cast<Malformation>(random_.Below(static_cast<uint64_t>(Malformation::kCount)))) {
      case Malformation::kTooFewFields:  // a truncated line
        WriteFields(*fields, 1 + random_.Below(kColumnCount - 1));
        return;
      case Malformation::kTooManyFields: {
        // A name written without its quotes, or with a stray comma, splits in two.
        Column column = kNameColumns[random_.Below(kNameColumns.size())];
        std::string_view name = (*fields)[column];
        size_t space = name.find(' ');
        if (space == std::string_view::npos) space = name.size();
        for (int i = 0; i < kColumnCount; ++i) {
          if (i) buffer_ += ',';
          if (i == column) {
            AppendField(&buffer_, name.substr(0, space));
            buffer_ += ',';
            AppendField(&buffer_, name.substr(std::min(space + 1, name.size())));
          } else {
            AppendField(&buffer_, (*fields)[i]);
          }
        }
        buffer_ += '\n';
        return;
      }
      case Malformation::kBadAmount: {
        static constexpr std::array<std::string_view, 3> kBadAmounts = {"12.3.4", "N/A", ""};
        (*fields)[kAmount] = kBadAmounts[random_.Below(kBadAmounts.size())];
        WriteFields(*fields, kColumnCount);
        return;
      }
      case Malformation::kBadFiscalYear: {
        static constexpr std::array<std::string_view, 3> kBadYears = {"20x1", "", "99999"};
        (*fields)[kFiscalYear] = kBadYears[random_.Below(kBadYears.size())];
        WriteFields(*fields, kColumnCount);
        return;
      }
      case Malformation::kCount:
        return;
    }
  }

  void WriteFields(const std::array<std::string_view, kColumnCount>& fields, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      if (i) buffer_ += ',';
      AppendField(&buffer_, fields[i]);
    }
    buffer_ += '\n';
  }

  const Catalog& catalog_;
  const SfGenOptions& options_;
  std::ostream& out_;
  Random random_;
  SfGenStats stats_;
  std::vector<std::string> years_;
  std::string data_as_of_;
  std::string data_loaded_at_;
  std::string row_tail_;  // ",<data_as_of>,<data_loaded_at>\n"
  std::string buffer_;
  std::string amount_;                  // the current dirty or malformed row's amount
  std::array<std::string, 3> scratch_;  // the current row's rewritten value, per dimension
  double member_dirt_rate_ = 0;         // chance that a (member, era) of one dimension is dirty
};

}  // namespace

Result<SfGenStats> GenerateSf(const SfGenOptions& options, std::ostream& out) {
  if (options.first_fiscal_year < 1900 || options.last_fiscal_year > 2100 ||
      options.first_fiscal_year > options.last_fiscal_year) {
    return Fail(ErrorCode::kInvalidArgument,
                "fiscal years must satisfy 1900 <= first <= last <= 2100, got " +
                    std::to_string(options.first_fiscal_year) + ".." +
                    std::to_string(options.last_fiscal_year));
  }
  // Written so that NaN fails too.
  if (!(options.dirt_rate >= 0.0 && options.dirt_rate <= 1.0)) {
    return Fail(ErrorCode::kInvalidArgument, "the dirt rate must be between 0 and 1");
  }
  if (!(options.bad_rate >= 0.0 && options.bad_rate <= 1.0)) {
    return Fail(ErrorCode::kInvalidArgument, "the bad-row rate must be between 0 and 1");
  }
  const Result<Catalog>& catalog = SharedCatalog();
  if (!catalog) return Fail(catalog.error().WithContext("loading the SF reference members"));
  SfWriter writer(*catalog, options, out);
  return writer.Run();
}

}  // namespace citybooks
