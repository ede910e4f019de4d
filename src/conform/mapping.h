// The declarative mapping form: how a city's raw CSV columns become a star
// schema (dimensions as ordered hierarchies of (name, code) levels, a measure,
// a fiscal year, cleaning rules, checks and aggregate tables). The built-in
// mappings are TOML files in mappings/, written exactly as a user would write
// one for a third city.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/text.h"
#include "config/config.h"

namespace citybooks {

// The most dimensions a mapping may declare (facts carry a fixed array).
inline constexpr size_t kMaxDimensions = 8;
// The most dimension columns one aggregate may group or filter by (its keys
// are fixed-size while facts stream).
inline constexpr size_t kMaxAggregateColumns = 6;

struct LevelSpec {
  std::string name;  // column holding the member's name, e.g. "department"
  std::string code;  // column holding its code, e.g. "department_code"; may be empty
};

// How a dimension's members are told apart. kCaseFold: the case-folded name
// path. kVendorName: names upper-cased, punctuation folded to spaces and legal
// suffixes (LLC, INC, CORP, ...) dropped, so "Acme, Inc." and "ACME INC" are
// one vendor; the key is stored in <level>_key.
enum class KeyRule { kCaseFold, kVendorName };

struct DimensionSpec {
  std::string name;  // "program" -> table dim_program, key program_id
  std::vector<LevelSpec> levels;
  std::vector<std::string> attributes;  // extra columns, most frequent value kept
  KeyRule key_rule = KeyRule::kCaseFold;

  std::string table() const { return "dim_" + name; }
  std::string id_column() const { return name + "_id"; }
  // The raw columns this dimension reads, in a fixed order: each level's name
  // then code (when it has one), then the attributes.
  std::vector<std::string> columns() const;
};

// A table kept up to date at load time for fast dashboard answers:
// transactions, sum, max and min of the amount grouped by `group_by`
// (dimension columns or the partition column), optionally filtered and
// optionally bucketed by the amount's order of magnitude (a histogram).
struct AggregateSpec {
  std::string name;  // table "agg_<name>"
  std::vector<std::string> group_by;
  // Keep only facts whose `filter_column` equals one of `filter_equals` (if
  // any) and contains `filter_contains` case-insensitively (if set).
  std::string filter_column;
  std::vector<std::string> filter_equals;
  std::string contains_column;
  std::string filter_contains;
  bool histogram = false;

  std::string table() const { return "agg_" + name; }
};

// A dashboard view: a titled query over the aggregates, and the same answer
// computed from the fact table (tests prove they agree). "{schema}" in the
// SQL stands for the dataset's schema.
struct ViewSpec {
  std::string name;
  std::string title;
  std::string chart;  // "pie", "bar", "histogram", "table"
  std::string sql;    // over agg_* tables
  std::string sql_from_facts;
  // The SQL with {schema} replaced.
  std::string Sql(const std::string& schema) const;
  std::string SqlFromFacts(const std::string& schema) const;
};

// How `citybooks model` projects a department's spending (see model/forecast.h).
enum class ForecastKind { kNone, kMonthly, kYearly };

// Which forensic models apply to the facts and how they group them (the
// mapping's [models] section); their numeric parameters are configuration
// (ModelParams). Columns named here are dimension columns of the mapping.
struct ModelsSpec {
  // Benford tests per group: "dataset" (every amount) and dimension columns
  // (one group per value, e.g. "department", "vendor").
  std::vector<std::string> benford_groups = {"dataset"};
  // Robust outliers within peer groups formed by these columns (dimension
  // columns or the fiscal year, e.g. fiscal_year x department x object);
  // empty: no outlier model.
  std::vector<std::string> outlier_peer_group;
  // The column naming a fact's department: model_outliers.department and the
  // forecast's groups. The outliers' detail is the last peer-group column
  // that is neither this nor the fiscal year.
  std::string department;
  // Duplicate payments: same normalised vendor (`duplicate_vendor`), same
  // amount, dates (`duplicate_date`, the mapping's date column) within the
  // window; `duplicate_detail` (optional) is compared for the score.
  bool duplicates = false;
  std::string duplicate_vendor;
  std::string duplicate_date;
  std::string duplicate_detail;
  // Spending per department projected to the fiscal year's end: monthly
  // needs a date column; facts count when `forecast_filter_column` (if set)
  // is one of `forecast_filter_equals` (e.g. revenue_or_spending = Spending).
  ForecastKind forecast = ForecastKind::kNone;
  std::string forecast_filter_column;
  std::vector<std::string> forecast_filter_equals;
};

// How a date column is written in the raw file.
enum class DateFormat { kMonthDayYear /* 7/14/2021 */, kIso /* 2021-07-14 */ };

// What a full snapshot replaces: whole fiscal years, or fiscal months.
enum class Partition { kFiscalYear, kFiscalMonth };

// Sorted partition values (fiscal years, or fiscal year * 100 + month) as
// words: "fiscal year 2020", "fiscal years 2015-2020", "fiscal years 2015,
// 2018"; months up to `listed_months` are listed ("fiscal months FY2022/01,
// FY2022/02"), more as a range ("14 fiscal months, FY2022/01 to FY2023/02").
// Empty for no partition.
std::string PartitionsText(const std::vector<int64_t>& partitions, size_t listed_months);

struct Mapping {
  std::string name;
  std::string fact_table;  // e.g. "fact_transaction"
  // The fiscal year: read from a column (SF's "fiscal_year"), or, when the
  // mapping has a date column, derived from the date and written to the
  // fact column "fiscal_year" with "fiscal_month" beside it.
  std::string fiscal_year_column;
  std::string date_column;  // e.g. "payment_date"; empty when none
  DateFormat date_format = DateFormat::kMonthDayYear;
  Partition partition = Partition::kFiscalYear;
  int fiscal_year_start_month = 7;  // July for both reference cities
  std::string amount_column = "amount";
  AmountFormat amount_format = AmountFormat::kPlain;
  int min_fiscal_year = 1900;
  int max_fiscal_year = 2100;
  // target column -> header name in the raw file, where they differ.
  std::map<std::string, std::string> source_columns;
  std::vector<DimensionSpec> dimensions;

  bool trim = true;
  bool case_fold = true;  // match names case-insensitively, show the most frequent spelling
  std::map<std::string, std::string> null_placeholders;  // column -> value used when empty
  std::map<std::string, std::map<std::string, std::string>> value_maps;  // column -> from -> to

  std::vector<CheckSpec> checks;
  std::vector<AggregateSpec> aggregates;
  std::vector<ViewSpec> views;
  ModelsSpec models;
  std::string fingerprint;  // sha256 of the mapping text

  bool has_date() const { return !date_column.empty(); }
  // The fact-table columns that come from the date or the fiscal year, in
  // order: SF: fiscal_year; Phoenix: payment_date, fiscal_year, fiscal_month.
  std::vector<std::string> TimeColumns() const;
  // A portable SQL expression of a fact's partition over the fact table
  // (alias optional): "fiscal_year", or "(fiscal_year * 100 + fiscal_month)".
  std::string PartitionExpression(const std::string& alias = "") const;

  // The header name to look for for target column `column`.
  std::string SourceColumn(const std::string& column) const;
  // Every raw column the mapping reads (fiscal year, amount, dimension columns).
  std::vector<std::string> RequiredColumns() const;
  // The dimension owning `column` (a level name/code or attribute), or nullptr.
  const DimensionSpec* DimensionOf(const std::string& column) const;
};

// Parses a mapping TOML text; `file` names it in messages.
Result<Mapping> ParseMapping(const std::string& text, const std::string& file);

// `name_or_path` is a built-in mapping name ("sf-spending-revenue") or a path
// to a mapping TOML file.
Result<Mapping> LoadMapping(const std::string& name_or_path);

// Names of the built-in mappings.
std::vector<std::string> BuiltInMappingNames();

}  // namespace citybooks
