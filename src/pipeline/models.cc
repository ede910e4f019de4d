// The model stage: streams a dataset's facts once, with the dimension values
// the mapping's [models] section names, through the pure functions of
// model/, and replaces the model_* tables in one transaction.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

#include "common/log.h"
#include "common/text.h"
#include "conform/conformer.h"
#include "conform/mapping.h"
#include "model/benford.h"
#include "model/duplicates.h"
#include "model/forecast.h"
#include "model/outliers.h"
#include "pipeline/pipeline.h"
#include "pipeline/star_schema.h"

namespace citybooks {

namespace {

constexpr uint32_t kNoValue = UINT32_MAX;

// The distinct values of one dimension column and which one each member has.
struct ColumnValues {
  std::string column;
  size_t dimension = 0;             // index into Mapping::dimensions
  std::vector<uint32_t> by_member;  // member id -> value index, kNoValue if unknown
  std::vector<std::string> values;

  uint32_t Of(int64_t member) const {
    if (member < 0 || static_cast<uint64_t>(member) >= by_member.size()) return kNoValue;
    return by_member[static_cast<size_t>(member)];
  }
  const std::string& Name(uint32_t value) const {
    static const std::string kUnknown = "(unknown)";
    return value < values.size() ? values[value] : kUnknown;
  }
};

std::string Percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", value);
  return text;
}

// "2024-07" for a fiscal month: fiscal years are named for the calendar year
// they end in.
std::string CalendarMonth(int fiscal_year, int fiscal_month, int start_month) {
  const int month = (start_month - 1 + fiscal_month - 1) % 12 + 1;
  const int year = start_month > 1 && month >= start_month ? fiscal_year - 1 : fiscal_year;
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02d", year, month);
  return text;
}

// Parses "YYYY-MM-DD" into days since 1970; nullopt for anything else.
std::optional<int32_t> DayOf(std::string_view text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto year = ParseInt(text.substr(0, 4));
  auto month = ParseInt(text.substr(5, 2));
  auto day = ParseInt(text.substr(8, 2));
  if (!year || !month || !day || *month < 1 || *month > 12 || *day < 1 || *day > 31)
    return std::nullopt;
  return DaysFromCivil(static_cast<int>(*year), static_cast<int>(*month), static_cast<int>(*day));
}

// Everything the models accumulate while the facts stream by; memory is
// per group except the payments (duplicates, 32 bytes a fact) and the
// amounts (outliers, 24 bytes a fact).
class ModelComputation {
 public:
  ModelComputation(const Mapping& mapping, const ModelParams& params, std::string dataset)
      : mapping_(mapping), models_(mapping.models), params_(params), dataset_(std::move(dataset)) {}

  // Reads the values of every dimension column the models use.
  Status ReadDimensions(Warehouse& warehouse, const std::string& schema) {
    std::vector<std::string> wanted;
    for (const std::string& column : models_.benford_groups)
      if (column != "dataset") wanted.push_back(column);
    for (const std::string& column : models_.outlier_peer_group)
      if (column != mapping_.fiscal_year_column) wanted.push_back(column);
    for (const std::string* column : {&models_.department, &models_.duplicate_vendor,
                                      &models_.duplicate_detail, &models_.forecast_filter_column})
      if (!column->empty()) wanted.push_back(*column);
    for (const std::string& column : wanted) {
      if (column_index_.count(column)) continue;
      const DimensionSpec* dimension = mapping_.DimensionOf(column);
      if (dimension == nullptr)
        return Fail(ErrorCode::kInvalidArgument, "the mapping's [models] names '" + column +
                                                     "', which is not a dimension column");
      ColumnValues values;
      values.column = column;
      values.dimension = static_cast<size_t>(dimension - mapping_.dimensions.data());
      column_index_[column] = columns_.size();
      columns_.push_back(std::move(values));
    }
    // One query per dimension for all of its columns.
    std::map<size_t, std::vector<size_t>> by_dimension;
    for (size_t c = 0; c < columns_.size(); ++c) by_dimension[columns_[c].dimension].push_back(c);
    for (const auto& [d, columns] : by_dimension) {
      const DimensionSpec& dimension = mapping_.dimensions[d];
      std::string sql = "SELECT " + QuoteIdentifier(dimension.id_column());
      for (size_t c : columns) sql += ", " + QuoteIdentifier(columns_[c].column);
      sql += " FROM " + QuoteIdentifier(schema) + "." + QuoteIdentifier(dimension.table());
      std::vector<std::unordered_map<std::string, uint32_t>> interned(columns.size());
      CB_RETURN_IF_ERROR(warehouse.QueryEach(
          sql, {},
          [&](std::span<const Value> row) -> Status {
            const int64_t id = ValueToInt(row[0]);
            if (id < 0 || id > 100'000'000)
              return Fail(ErrorCode::kDataError, dimension.table() + " holds member id " +
                                                     std::to_string(id) + ", out of range");
            for (size_t i = 0; i < columns.size(); ++i) {
              ColumnValues& values = columns_[columns[i]];
              std::string value = ValueToString(row[i + 1]);
              auto [it, added] = interned[i].try_emplace(value, values.values.size());
              if (added) values.values.push_back(std::move(value));
              if (values.by_member.size() <= static_cast<size_t>(id))
                values.by_member.resize(static_cast<size_t>(id) + 1, kNoValue);
              values.by_member[static_cast<size_t>(id)] = it->second;
            }
            return Ok();
          },
          nullptr));
    }
    Prepare();
    return Ok();
  }

  // The one SELECT over the fact table; AddFact reads its rows.
  std::string FactQuery(const std::string& schema) {
    std::vector<std::string> fields = {"fact_id", mapping_.fiscal_year_column};
    if (mapping_.has_date()) fields.push_back("fiscal_month");
    if (models_.duplicates) {
      date_field_ = fields.size();
      fields.push_back(mapping_.date_column);
    }
    std::set<size_t> dimensions;
    for (const ColumnValues& values : columns_) dimensions.insert(values.dimension);
    dimension_field_.assign(mapping_.dimensions.size(), 0);
    for (size_t d : dimensions) {
      dimension_field_[d] = fields.size();
      fields.push_back(mapping_.dimensions[d].id_column());
    }
    cents_field_ = fields.size();
    fields.push_back("amount_cents");
    std::string sql;
    for (const std::string& field : fields)
      sql += (sql.empty() ? "SELECT " : ", ") + QuoteIdentifier(field);
    return sql + " FROM " + QuoteIdentifier(schema) + "." + QuoteIdentifier(mapping_.fact_table);
  }

  Status AddFact(std::span<const Value> row) {
    ++facts_;
    const int64_t fact_id = ValueToInt(row[0]);
    const auto fiscal_year = static_cast<int32_t>(ValueToInt(row[1]));
    const int fiscal_month = mapping_.has_date() ? static_cast<int>(ValueToInt(row[2])) : 0;
    const int64_t cents = ValueToInt(row[cents_field_]);
    auto value_of = [&](const ColumnValues* values) {
      return values == nullptr ? kNoValue
                               : values->Of(ValueToInt(row[dimension_field_[values->dimension]]));
    };

    if (dataset_benford_) dataset_counter_.Add(cents);
    for (size_t g = 0; g < benford_columns_.size(); ++g) {
      const uint32_t value = value_of(benford_columns_[g]);
      if (value != kNoValue) benford_counters_[g][value].Add(cents);
    }

    if (!peer_parts_.empty()) {
      peer_key_.clear();
      for (const PeerPart& part : peer_parts_) {
        const uint32_t value =
            part.values == nullptr ? static_cast<uint32_t>(fiscal_year) : value_of(part.values);
        peer_key_.append(reinterpret_cast<const char*>(&value), sizeof value);
      }
      auto [it, added] = peer_groups_.try_emplace(peer_key_, peer_group_keys_.size());
      if (added) peer_group_keys_.push_back(peer_key_);
      amounts_.push_back(PeerAmount{it->second, fiscal_year, cents, fact_id});
    }

    if (models_.duplicates) {
      auto day = DayOf(ValueToString(row[date_field_]));
      if (!day)
        return Fail(ErrorCode::kDataError, mapping_.fact_table + " holds the date '" +
                                               ValueToString(row[date_field_]) + "' of fact " +
                                               std::to_string(fact_id) + "; reload the dataset");
      const uint32_t vendor = value_of(vendor_);
      if (vendor != kNoValue) {
        const uint32_t department = value_of(department_);
        const uint32_t detail = value_of(detail_);
        payments_.push_back(Payment{vendor, *day, cents, fact_id, department, detail});
      }
    }

    if (models_.forecast != ForecastKind::kNone) {
      latest_month_ = std::max(latest_month_, fiscal_year * 100 + fiscal_month);
      first_year_ = std::min(first_year_, fiscal_year);
      const uint32_t filter = value_of(filter_);
      if (filter_ == nullptr || (filter != kNoValue && counted_[filter])) {
        const uint32_t department = value_of(department_);
        if (department != kNoValue) {
          auto& months = spending_[department][fiscal_year];
          const bool monthly = models_.forecast == ForecastKind::kMonthly;
          months[monthly ? static_cast<size_t>(fiscal_month - 1) : 0] += cents;
        }
      }
    }
    return Ok();
  }

  int64_t facts() const { return facts_; }

  // Writes every model_* table (cleared first) and returns one line per model.
  Result<std::vector<std::string>> Write(LoadTransaction& load, int64_t run_id,
                                         int64_t* rows_written) {
    std::vector<std::string> lines;
    for (const TableDef& table : ModelTables())
      CB_RETURN_IF_ERROR(load.Execute("DELETE FROM " + load.Qualify(table.name)));
    CB_ASSIGN_OR_RETURN(std::string benford, WriteBenford(load, run_id, rows_written));
    lines.push_back(std::move(benford));
    CB_ASSIGN_OR_RETURN(std::string duplicates, WriteDuplicates(load, run_id, rows_written));
    lines.push_back(std::move(duplicates));
    CB_ASSIGN_OR_RETURN(std::string outliers, WriteOutliers(load, run_id, rows_written));
    lines.push_back(std::move(outliers));
    CB_ASSIGN_OR_RETURN(std::string forecast, WriteForecast(load, run_id, rows_written));
    lines.push_back(std::move(forecast));
    return lines;
  }

 private:
  // One component of a peer-group key: a column's value, or the fiscal year
  // when `values` is null.
  struct PeerPart {
    const ColumnValues* values = nullptr;
  };

  const ColumnValues* Column(const std::string& name) const {
    auto it = column_index_.find(name);
    return it == column_index_.end() ? nullptr : &columns_[it->second];
  }

  void Prepare() {
    for (const std::string& group : models_.benford_groups) {
      if (group == "dataset") {
        dataset_benford_ = true;
        continue;
      }
      benford_columns_.push_back(Column(group));
      benford_counters_.emplace_back(benford_columns_.back()->values.size());
    }
    for (const std::string& column : models_.outlier_peer_group)
      peer_parts_.push_back(
          PeerPart{column == mapping_.fiscal_year_column ? nullptr : Column(column)});
    department_ = models_.department.empty() ? nullptr : Column(models_.department);
    vendor_ = models_.duplicate_vendor.empty() ? nullptr : Column(models_.duplicate_vendor);
    detail_ = models_.duplicate_detail.empty() ? nullptr : Column(models_.duplicate_detail);
    filter_ =
        models_.forecast_filter_column.empty() ? nullptr : Column(models_.forecast_filter_column);
    if (filter_ != nullptr) {
      counted_.assign(filter_->values.size(), false);
      for (size_t v = 0; v < filter_->values.size(); ++v)
        counted_[v] =
            std::find(models_.forecast_filter_equals.begin(), models_.forecast_filter_equals.end(),
                      filter_->values[v]) != models_.forecast_filter_equals.end();
    }
    if (department_ != nullptr) spending_.resize(department_->values.size());
  }

  Result<std::string> WriteBenford(LoadTransaction& load, int64_t run_id, int64_t* rows_written) {
    if (models_.benford_groups.empty())
      return std::string("model_benford: not declared in the mapping's [models]");
    CB_ASSIGN_OR_RETURN(
        auto groups, load.Appender("model_benford", {"run_id", "group_kind", "group_name", "test",
                                                     "amounts", "mad", "conformity"}));
    CB_ASSIGN_OR_RETURN(auto digits, load.Appender("model_benford_digits",
                                                   {"run_id", "group_kind", "group_name", "test",
                                                    "digit", "count", "observed", "expected"}));
    int64_t group_count = 0;
    int64_t small = 0;
    std::vector<std::string> nonconforming;
    auto write = [&](const std::string& kind, const std::string& name,
                     const BenfordCounter& counter) -> Status {
      ++group_count;
      for (BenfordTest test : {BenfordTest::kFirstDigit, BenfordTest::kFirstTwo}) {
        const BenfordResult result = counter.Test(test, params_.benford_min_amounts);
        if (test == BenfordTest::kFirstDigit) {
          if (result.conformity == Conformity::kSmallSample) ++small;
          if (result.conformity == Conformity::kNonconformity) nonconforming.push_back(name);
        }
        const std::string test_name(BenfordTestName(test));
        const std::string conformity(ConformityName(result.conformity));
        Cell cells[] = {
            Cell::Int(run_id),         Cell::Text(kind),
            Cell::Text(name),          Cell::Text(test_name),
            Cell::Int(result.amounts), result.amounts == 0 ? Cell::Null() : Cell::Real(result.mad),
            Cell::Text(conformity)};
        CB_RETURN_IF_ERROR(groups->Append(cells));
        ++*rows_written;
        for (const BenfordDigit& digit : result.digits) {
          Cell digit_cells[] = {Cell::Int(run_id),          Cell::Text(kind),
                                Cell::Text(name),           Cell::Text(test_name),
                                Cell::Int(digit.digits),    Cell::Int(digit.count),
                                Cell::Real(digit.observed), Cell::Real(digit.expected)};
          CB_RETURN_IF_ERROR(digits->Append(digit_cells));
          ++*rows_written;
        }
      }
      return Ok();
    };
    if (dataset_benford_) CB_RETURN_IF_ERROR(write("dataset", dataset_, dataset_counter_));
    for (size_t g = 0; g < benford_columns_.size(); ++g) {
      const ColumnValues& column = *benford_columns_[g];
      std::vector<uint32_t> order;
      for (uint32_t v = 0; v < column.values.size(); ++v)
        if (benford_counters_[g][v].amounts(BenfordTest::kFirstDigit) > 0) order.push_back(v);
      std::sort(order.begin(), order.end(),
                [&](uint32_t a, uint32_t b) { return column.values[a] < column.values[b]; });
      for (uint32_t v : order)
        CB_RETURN_IF_ERROR(write(column.column, column.values[v], benford_counters_[g][v]));
    }
    std::string line = "model_benford: " + FormatCount(group_count) + " groups, " +
                       FormatCount(static_cast<int64_t>(nonconforming.size())) +
                       " nonconforming in the first-digit test";
    if (!nonconforming.empty()) {
      line += " (";
      for (size_t i = 0; i < nonconforming.size() && i < 3; ++i)
        line += (i ? ", " : "") + nonconforming[i];
      line += nonconforming.size() > 3 ? ", ...)" : ")";
    }
    return line + ", " + FormatCount(small) + " under " + FormatCount(params_.benford_min_amounts) +
           " amounts (small_sample)";
  }

  Result<std::string> WriteDuplicates(LoadTransaction& load, int64_t run_id,
                                      int64_t* rows_written) {
    if (!models_.duplicates)
      return std::string("model_duplicate_payments: not declared in the mapping's [models]");
    std::vector<std::string> keys;
    keys.reserve(vendor_->values.size());
    for (const std::string& name : vendor_->values) keys.push_back(NormalizeVendorName(name));
    DuplicateOptions options;
    options.window_days = static_cast<int>(params_.duplicate_window_days);
    options.min_score = params_.duplicate_min_score;
    const DuplicateReport report = FindDuplicatePayments(std::move(payments_), keys, options);
    payments_ = {};
    CB_ASSIGN_OR_RETURN(auto appender,
                        load.Appender("model_duplicate_payments",
                                      {"run_id", "pair", "vendor_key", "vendor", "department",
                                       "amount_cents", "amount", "payment_id_a", "payment_date_a",
                                       "payment_id_b", "payment_date_b", "days_apart", "score"}));
    int64_t pair_number = 0;
    for (const DuplicatePair& pair : report.pairs) {
      const std::string date_a = CivilFromDays(pair.first.day);
      const std::string date_b = CivilFromDays(pair.second.day);
      const std::string department =
          department_ == nullptr ? std::string() : department_->Name(pair.first.department);
      Cell cells[] = {Cell::Int(run_id),
                      Cell::Int(++pair_number),
                      Cell::Text(keys[pair.first.vendor]),
                      Cell::Text(vendor_->Name(pair.first.vendor)),
                      Cell::Text(department),
                      Cell::Int(pair.first.cents),
                      Cell::Real(static_cast<double>(pair.first.cents) / 100.0),
                      Cell::Int(pair.first.fact_id),
                      Cell::Text(date_a),
                      Cell::Int(pair.second.fact_id),
                      Cell::Text(date_b),
                      Cell::Int(pair.days_apart),
                      Cell::Real(pair.score)};
      CB_RETURN_IF_ERROR(appender->Append(cells));
      ++*rows_written;
    }
    char score[16];
    std::snprintf(score, sizeof score, "%.2f", params_.duplicate_min_score);
    return "model_duplicate_payments: " + FormatCount(static_cast<int64_t>(report.pairs.size())) +
           " candidate pairs scoring " + score + " or more, of " + FormatCount(report.candidates) +
           " same-vendor same-amount pairs within " + FormatCount(params_.duplicate_window_days) +
           " days among " + FormatCount(report.payments_compared) + " payments";
  }

  Result<std::string> WriteOutliers(LoadTransaction& load, int64_t run_id, int64_t* rows_written) {
    if (models_.outlier_peer_group.empty())
      return std::string("model_outliers: not declared in the mapping's [models]");
    OutlierOptions options;
    options.threshold = params_.outlier_threshold;
    options.min_group_size = static_cast<size_t>(params_.outlier_min_group_size);
    options.max_outliers = static_cast<size_t>(params_.outlier_max_rows);
    const OutlierReport report = FindOutliers(std::move(amounts_), options);
    amounts_ = {};
    // The department and detail are read from the peer group's columns.
    int department_part = -1;
    int detail_part = -1;
    for (size_t i = 0; i < peer_parts_.size(); ++i) {
      if (peer_parts_[i].values == nullptr) continue;
      if (peer_parts_[i].values == department_) {
        department_part = static_cast<int>(i);
      } else {
        detail_part = static_cast<int>(i);
      }
    }
    CB_ASSIGN_OR_RETURN(
        auto appender,
        load.Appender("model_outliers",
                      {"run_id", "peer_group", "fiscal_year", "department", "detail", "fact_id",
                       "amount_cents", "amount", "median", "mad", "robust_z", "rank"}));
    for (const Outlier& outlier : report.outliers) {
      const std::string& key = peer_group_keys_[outlier.group];
      std::vector<std::string> parts;
      for (size_t i = 0; i < peer_parts_.size(); ++i) {
        uint32_t value = 0;
        std::memcpy(&value, key.data() + i * sizeof value, sizeof value);
        parts.push_back(peer_parts_[i].values == nullptr ? "FY" + std::to_string(value)
                                                         : peer_parts_[i].values->Name(value));
      }
      std::string label;
      for (const std::string& part : parts) label += (label.empty() ? "" : " / ") + part;
      const std::string department =
          department_part >= 0 ? parts[static_cast<size_t>(department_part)] : std::string();
      const std::string detail =
          detail_part >= 0 ? parts[static_cast<size_t>(detail_part)] : std::string();
      Cell cells[] = {Cell::Int(run_id),
                      Cell::Text(label),
                      Cell::Int(outlier.fiscal_year),
                      Cell::Text(department),
                      Cell::Text(detail),
                      Cell::Int(outlier.fact_id),
                      Cell::Int(outlier.cents),
                      Cell::Real(static_cast<double>(outlier.cents) / 100.0),
                      Cell::Real(outlier.median),
                      Cell::Real(outlier.mad),
                      Cell::Real(outlier.robust_z),
                      Cell::Int(outlier.rank)};
      CB_RETURN_IF_ERROR(appender->Append(cells));
      ++*rows_written;
    }
    char threshold[16];
    std::snprintf(threshold, sizeof threshold, "%g", params_.outlier_threshold);
    std::string line =
        "model_outliers: " + FormatCount(static_cast<int64_t>(report.outliers_found)) +
        " amounts with |robust z| >= " + threshold + " in " +
        FormatCount(static_cast<int64_t>(report.groups_scored)) + " peer groups";
    if (report.outliers.size() < report.outliers_found)
      line +=
          " (the " + FormatCount(static_cast<int64_t>(report.outliers.size())) + " strongest kept)";
    return line + "; " + FormatCount(static_cast<int64_t>(report.groups_skipped)) +
           " groups under " + FormatCount(params_.outlier_min_group_size) + " amounts skipped";
  }

  Result<std::string> WriteForecast(LoadTransaction& load, int64_t run_id, int64_t* rows_written) {
    if (models_.forecast == ForecastKind::kNone)
      return std::string("model_forecast: not declared in the mapping's [models]");
    const bool monthly = models_.forecast == ForecastKind::kMonthly;
    const int latest_year = latest_month_ / 100;
    const int months_observed = monthly ? latest_month_ % 100 : 12;
    CB_ASSIGN_OR_RETURN(
        auto forecasts,
        load.Appender("model_forecast", {"run_id", "department", "fiscal_year", "method",
                                         "actual_to_date", "forecast", "periods_observed",
                                         "backtest_error", "baseline_error", "error_measure"}));
    CB_ASSIGN_OR_RETURN(auto series,
                        load.Appender("model_forecast_series",
                                      {"run_id", "department", "period", "actual", "forecast"}));
    ForecastOptions options;
    options.backtest_years = static_cast<int>(params_.forecast_backtest_years);
    const std::string method(monthly ? kMonthlySeasonalMethod : kYearlyTrendMethod);
    const std::string measure(kErrorMeasure);
    int64_t departments = 0;
    int projected_year = 0;
    double weighted_model = 0;
    double weighted_baseline = 0;
    double weights = 0;
    auto optional_real = [](const std::optional<double>& value) {
      return value ? Cell::Real(*value) : Cell::Null();
    };
    std::vector<uint32_t> order;
    for (uint32_t d = 0; d < spending_.size(); ++d)
      if (!spending_[d].empty()) order.push_back(d);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      return department_->values[a] < department_->values[b];
    });
    for (uint32_t d : order) {
      const auto& by_year = spending_[d];
      // Departments with nothing in the last two fiscal years are history.
      if (by_year.rbegin()->first < latest_year - 1) continue;
      Forecast forecast;
      // The department's last complete fiscal year weighs its errors in the
      // summary line.
      double last_total = 0;
      if (monthly) {
        MonthlyHistory history;
        history.first_fiscal_year = first_year_;
        history.months_observed = months_observed;
        for (int year = first_year_; year <= latest_year; ++year) {
          FiscalMonths months{};
          auto it = by_year.find(year);
          if (it != by_year.end())
            for (size_t m = 0; m < 12; ++m) months[m] = static_cast<double>(it->second[m]) / 100.0;
          history.years.push_back(months);
        }
        const size_t last_complete = history.years.size() - (months_observed == 12 ? 1 : 2);
        if (last_complete < history.years.size())
          for (double month : history.years[last_complete]) last_total += month;
        forecast = ForecastMonthly(history, options);
      } else {
        YearlyHistory history;
        history.first_fiscal_year = first_year_;
        for (int year = first_year_; year <= latest_year; ++year) {
          auto it = by_year.find(year);
          history.totals.push_back(
              it == by_year.end() ? 0.0 : static_cast<double>(it->second[0]) / 100.0);
        }
        last_total = history.totals.back();
        forecast = ForecastYearly(history, options);
      }
      ++departments;
      projected_year = forecast.fiscal_year;
      if (forecast.backtest_error && forecast.baseline_error) {
        const double weight = std::fabs(last_total);
        weighted_model += weight * *forecast.backtest_error;
        weighted_baseline += weight * *forecast.baseline_error;
        weights += weight;
      }
      const std::string& name = department_->values[d];
      Cell cells[] = {Cell::Int(run_id),
                      Cell::Text(name),
                      Cell::Int(forecast.fiscal_year),
                      Cell::Text(method),
                      Cell::Real(forecast.actual_to_date),
                      Cell::Real(forecast.forecast),
                      Cell::Int(forecast.periods_observed),
                      optional_real(forecast.backtest_error),
                      optional_real(forecast.baseline_error),
                      Cell::Text(measure)};
      CB_RETURN_IF_ERROR(forecasts->Append(cells));
      ++*rows_written;
      for (const ForecastPoint& point : forecast.series) {
        const std::string period = point.fiscal_month == 0
                                       ? std::to_string(point.fiscal_year)
                                       : CalendarMonth(point.fiscal_year, point.fiscal_month,
                                                       mapping_.fiscal_year_start_month);
        Cell point_cells[] = {Cell::Int(run_id), Cell::Text(name), Cell::Text(period),
                              optional_real(point.actual), optional_real(point.forecast)};
        CB_RETURN_IF_ERROR(series->Append(point_cells));
        ++*rows_written;
      }
    }
    std::string line = "model_forecast: " + FormatCount(departments) +
                       " departments projected to the end of fiscal year " +
                       std::to_string(projected_year);
    if (weights > 0)
      line += "; backtest MAPE " + Percent(weighted_model / weights) + " vs " +
              Percent(weighted_baseline / weights) +
              " for last year's total (departments weighted by their spending)";
    return line;
  }

  const Mapping& mapping_;
  const ModelsSpec& models_;
  const ModelParams& params_;
  const std::string dataset_;

  std::vector<ColumnValues> columns_;
  std::map<std::string, size_t> column_index_;
  std::vector<size_t> dimension_field_;  // dimension -> position of its id in a fact row
  size_t date_field_ = 0;
  size_t cents_field_ = 0;
  int64_t facts_ = 0;

  bool dataset_benford_ = false;
  BenfordCounter dataset_counter_;
  std::vector<const ColumnValues*> benford_columns_;
  std::vector<std::vector<BenfordCounter>> benford_counters_;  // [group kind][value]

  std::vector<PeerPart> peer_parts_;
  std::string peer_key_;
  std::unordered_map<std::string, uint32_t> peer_groups_;
  std::vector<std::string> peer_group_keys_;
  std::vector<PeerAmount> amounts_;

  const ColumnValues* department_ = nullptr;
  const ColumnValues* vendor_ = nullptr;
  const ColumnValues* detail_ = nullptr;
  std::vector<Payment> payments_;

  const ColumnValues* filter_ = nullptr;
  std::vector<bool> counted_;  // per filter value
  // [department][fiscal year] -> cents per fiscal month (index 0 for yearly).
  std::vector<std::map<int, std::array<int64_t, 12>>> spending_;
  int latest_month_ = 0;  // fiscal_year * 100 + fiscal_month of the latest fact
  int first_year_ = INT32_MAX;
};

// True when no load succeeded after the last successful model run.
Result<bool> ModelsAreCurrent(LoadTransaction& load) {
  CB_ASSIGN_OR_RETURN(
      QueryResult runs,
      load.Query("SELECT COALESCE(MAX(CASE WHEN command = 'load' THEN run_id END), 0), "
                 "COALESCE(MAX(CASE WHEN command = 'model' THEN run_id END), 0) FROM " +
                 load.Qualify("cb_runs") + " WHERE status = 'succeeded'"));
  const int64_t last_load = runs.IntAt(0, 0);
  const int64_t last_model = runs.IntAt(0, 1);
  return last_model > 0 && last_model > last_load;
}

}  // namespace

Result<ModelSummary> RunModels(const PipelineContext& context, const std::string& dataset,
                               const ModelParams& params, const ModelOptions& options) {
  ModelSummary summary;
  CB_ASSIGN_OR_RETURN(const DatasetConfig* config, context.config->Dataset(dataset));
  const std::string schema = SchemaName(dataset);
  CB_ASSIGN_OR_RETURN(bool exists, context.warehouse->HasSchema(schema));
  if (!exists) return summary;
  CB_ASSIGN_OR_RETURN(Mapping mapping, LoadMapping(config->mapping));
  // Warehouses initialised before the model tables existed gain them here.
  CB_RETURN_IF_ERROR(context.warehouse->EnsureSchema(schema, DatasetTables(mapping)));

  const std::string started_at = FormatIsoTime(context.clock->Now());
  const double start = MonotonicSeconds();
  // The load lock keeps a load of this dataset from changing the facts
  // while they are read.
  CB_ASSIGN_OR_RETURN(auto load, context.warehouse->BeginLoad(schema));
  if (options.only_if_stale) {
    CB_ASSIGN_OR_RETURN(bool current, ModelsAreCurrent(*load));
    if (current) {
      summary.had_facts = true;
      summary.up_to_date = true;
      return summary;
    }
  }
  CB_ASSIGN_OR_RETURN(QueryResult next, load->Query("SELECT COALESCE(MAX(run_id), 0) + 1 FROM " +
                                                    load->Qualify("cb_runs")));
  summary.run_id = next.IntAt();

  ModelComputation computation(mapping, params, dataset);
  auto compute = [&]() -> Status {
    CB_RETURN_IF_ERROR(computation.ReadDimensions(*context.warehouse, schema));
    const std::string sql = computation.FactQuery(schema);
    Status read = context.warehouse->QueryEach(
        sql, {}, [&](std::span<const Value> row) { return computation.AddFact(row); }, nullptr);
    if (!read)
      return Fail(read.error().WithContext("reading the facts of " + dataset +
                                           " (if a column is missing, the dataset was loaded by "
                                           "an older citybooks: run `citybooks load " +
                                           dataset + " --reload`)"));
    if (computation.facts() == 0) return Ok();
    CB_ASSIGN_OR_RETURN(summary.lines,
                        computation.Write(*load, summary.run_id, &summary.rows_written));
    return Ok();
  };
  Status computed = compute();
  summary.facts_read = computation.facts();
  LoadSummary record;
  record.run_id = summary.run_id;
  record.accounting.rows_read = summary.facts_read;
  record.accounting.rows_loaded = summary.rows_written;
  if (!computed) {
    load.reset();  // rolls back
    RecordFailure(context, schema, dataset, "model", record, started_at,
                  computed.error().message());
    return Fail(
        computed.error().code(),
        "the models of " + dataset + " failed and were rolled back: " + computed.error().message());
  }
  if (summary.facts_read == 0) return summary;  // nothing loaded yet; nothing written
  summary.had_facts = true;
  std::string message;
  for (const std::string& line : summary.lines) message += (message.empty() ? "" : "; ") + line;
  CB_RETURN_IF_ERROR(RecordRun(*load, dataset, "model", record, "succeeded", started_at,
                               FormatIsoTime(context.clock->Now()), message));
  CB_RETURN_IF_ERROR(load->Commit());
  summary.seconds = MonotonicSeconds() - start;
  return summary;
}

}  // namespace citybooks
