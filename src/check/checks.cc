#include "check/checks.h"

#include "common/text.h"
#include "warehouse/result_json.h"

namespace citybooks {

namespace {

std::string Sample(const QueryResult& result, size_t limit = 5) {
  return RowsToJson(result, limit).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool IsFactTable(const Mapping& mapping, const std::string& table) {
  return table == mapping.fact_table;
}

std::string Where(const Mapping& mapping, const std::string& table, const std::string& filter,
                  const std::string& condition) {
  std::string clause = condition;
  if (IsFactTable(mapping, table) && !filter.empty())
    clause = clause.empty() ? filter : "(" + clause + ") AND " + filter;
  return clause.empty() ? "" : " WHERE " + clause;
}

// "a IS NULL OR b IS NULL ...": the rows a not_null check fails.
std::string NullCondition(const std::vector<std::string>& columns) {
  std::string condition;
  for (size_t i = 0; i < columns.size(); ++i)
    condition += (i ? " OR " : "") + QuoteIdentifier(columns[i]) + " IS NULL";
  return condition;
}

}  // namespace

Result<FactCensus> TakeFactCensus(LoadTransaction& load, const Mapping& mapping,
                                  const std::vector<CheckSpec>& checks,
                                  const std::string& partition_filter) {
  std::string sql = "SELECT COUNT(*), COALESCE(SUM(amount_cents), 0)";
  std::vector<const CheckSpec*> counted;
  for (const CheckSpec& check : checks) {
    if (check.type != "not_null" || !IsFactTable(mapping, check.table)) continue;
    sql += ", COALESCE(SUM(CASE WHEN " + NullCondition(check.columns) + " THEN 1 ELSE 0 END), 0)";
    counted.push_back(&check);
  }
  sql += " FROM " + load.Qualify(mapping.fact_table) +
         (partition_filter.empty() ? "" : " WHERE " + partition_filter);
  CB_ASSIGN_OR_RETURN(QueryResult held, load.Query(sql));
  FactCensus census;
  census.facts = held.IntAt(0, 0);
  census.cents = held.IntAt(0, 1);
  for (size_t i = 0; i < counted.size(); ++i)
    census.null_rows[counted[i]->name] = held.IntAt(0, 2 + i);
  return census;
}

std::vector<CheckSpec> BuiltInChecks(const Mapping& mapping, const std::vector<CheckSpec>& extra) {
  std::vector<CheckSpec> checks;
  CheckSpec keys;
  keys.type = "not_null";
  keys.table = mapping.fact_table;
  for (const std::string& column : mapping.TimeColumns()) keys.columns.push_back(column);
  for (const DimensionSpec& dimension : mapping.dimensions)
    keys.columns.push_back(dimension.id_column());
  keys.columns.push_back("amount_cents");
  keys.name = "not_null:" + mapping.fact_table + ":keys";
  checks.push_back(keys);

  for (const DimensionSpec& dimension : mapping.dimensions) {
    CheckSpec unique;
    unique.type = "unique";
    unique.table = dimension.table();
    unique.columns = {dimension.id_column()};
    unique.name = "unique:" + unique.table + ":" + dimension.id_column();
    checks.push_back(unique);
    std::vector<std::string> path;
    for (const LevelSpec& level : dimension.levels) {
      path.push_back(level.name);
      if (level.code.empty()) continue;
      CheckSpec many_to_one;
      many_to_one.type = "many_to_one";
      many_to_one.table = dimension.table();
      many_to_one.columns = path;
      many_to_one.columns.push_back(level.code);
      many_to_one.name = "many_to_one:" + dimension.table() + ":" + level.name;
      checks.push_back(many_to_one);
    }
  }
  checks.insert(checks.end(), mapping.checks.begin(), mapping.checks.end());
  CheckSpec reconcile;
  reconcile.type = "reconcile";
  reconcile.name = "reconcile";
  checks.push_back(reconcile);
  checks.insert(checks.end(), extra.begin(), extra.end());
  return checks;
}

std::optional<double> DaysSince(const std::string& value, int fiscal_year_start_month,
                                std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  auto number = [&](size_t at, size_t length) -> std::optional<int> {
    if (value.size() < at + length) return std::nullopt;
    auto parsed = ParseInt(std::string_view(value).substr(at, length));
    if (!parsed) return std::nullopt;
    return static_cast<int>(*parsed);
  };
  year_month_day day;
  if (value.size() == 4 && number(0, 4)) {
    // A fiscal year ends the day before its successor starts.
    int year = *number(0, 4);
    day = fiscal_year_start_month == 1
              ? year_month_day(std::chrono::year(year), month(12), std::chrono::day(31))
              : year_month_day(
                    sys_days(year_month_day(std::chrono::year(year),
                                            month(static_cast<unsigned>(fiscal_year_start_month)),
                                            std::chrono::day(1))) -
                    days(1));
  } else if (value.size() >= 10 && value[4] == '-' && value[7] == '-' && number(0, 4) &&
             number(5, 2) && number(8, 2)) {
    day = year_month_day(std::chrono::year(*number(0, 4)),
                         month(static_cast<unsigned>(*number(5, 2))),
                         std::chrono::day(static_cast<unsigned>(*number(8, 2))));
    if (!day.ok()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return duration<double, days::period>(now - sys_days(day)).count();
}

Result<CheckResult> RunCheck(LoadTransaction& load, const Mapping& mapping, const CheckSpec& check,
                             const CheckContext& context) {
  const LoadAccounting& accounting = context.accounting;
  const int64_t warehouse_facts = context.census.facts;
  const int64_t warehouse_cents = context.census.cents;
  const std::string& partition_filter = context.partition_filter;
  CheckResult result;
  result.name = check.name;
  result.type = check.type;
  result.table = check.table;
  result.severity = check.severity;
  std::string table = check.table.empty() ? "" : load.Qualify(check.table);
  const auto& columns = check.columns;

  if (check.type == "not_null") {
    std::string where = Where(mapping, check.table, partition_filter, NullCondition(columns));
    if (auto counted = context.census.null_rows.find(check.name);
        IsFactTable(mapping, check.table) && counted != context.census.null_rows.end()) {
      result.failing = counted->second;
    } else {
      CB_ASSIGN_OR_RETURN(QueryResult count, load.Query("SELECT COUNT(*) FROM " + table + where));
      result.failing = count.IntAt();
    }
    // A sample costs another scan, so it is taken only of failing rows.
    if (result.failing > 0) {
      CB_ASSIGN_OR_RETURN(QueryResult sample,
                          load.Query("SELECT * FROM " + table + where + " LIMIT 5"));
      result.sample = Sample(sample);
    } else {
      result.sample = "[]";
    }
  } else if (check.type == "unique") {
    std::string list;
    for (size_t i = 0; i < columns.size(); ++i)
      list += (i ? ", " : "") + QuoteIdentifier(columns[i]);
    CB_ASSIGN_OR_RETURN(QueryResult groups,
                        load.Query("SELECT " + list + ", COUNT(*) AS copies FROM " + table +
                                   Where(mapping, check.table, partition_filter, "") +
                                   " GROUP BY " + list + " HAVING COUNT(*) > 1"));
    result.failing = static_cast<int64_t>(groups.rows.size());
    result.sample = Sample(groups);
    result.details = result.failing == 0 ? Join(columns, ", ") + " is unique"
                                         : FormatCount(result.failing) + " values of " +
                                               Join(columns, ", ") + " appear more than once";
  } else if (check.type == "accepted_values") {
    std::vector<Cell> params;
    std::string in;
    for (size_t i = 0; i < check.values.size(); ++i) {
      in += i ? ", ?" : "?";
      params.push_back(Cell::Text(check.values[i]));
    }
    std::string column = QuoteIdentifier(columns[0]);
    CB_ASSIGN_OR_RETURN(
        QueryResult groups,
        load.Query("SELECT " + column + ", COUNT(*) AS n FROM " + table +
                       Where(mapping, check.table, partition_filter,
                             column + " IS NULL OR " + column + " NOT IN (" + in + ")") +
                       " GROUP BY " + column + " ORDER BY n DESC",
                   params));
    for (size_t r = 0; r < groups.rows.size(); ++r) result.failing += groups.IntAt(r, 1);
    result.sample = Sample(groups);
    result.details = result.failing == 0 ? columns[0] + " holds only accepted values"
                                         : FormatCount(result.failing) + " rows hold a value of " +
                                               columns[0] + " outside the accepted ones";
  } else if (check.type == "relationships") {
    auto dot = check.to.find('.');
    std::string to_table = load.Qualify(check.to.substr(0, dot));
    std::string to_column = QuoteIdentifier(check.to.substr(dot + 1));
    std::string column = QuoteIdentifier(columns[0]);
    std::string condition = column + " IS NOT NULL AND " + column + " NOT IN (SELECT " + to_column +
                            " FROM " + to_table + ")";
    std::string where = Where(mapping, check.table, partition_filter, condition);
    CB_ASSIGN_OR_RETURN(QueryResult count, load.Query("SELECT COUNT(*) FROM " + table + where));
    result.failing = count.IntAt();
    result.sample = "[]";
    if (result.failing > 0) {
      CB_ASSIGN_OR_RETURN(QueryResult sample,
                          load.Query("SELECT * FROM " + table + where + " LIMIT 5"));
      result.sample = Sample(sample);
    }
    result.details = result.failing == 0 ? "every " + columns[0] + " is found in " + check.to
                                         : FormatCount(result.failing) + " rows have a " +
                                               columns[0] + " missing from " + check.to;
  } else if (check.type == "many_to_one") {
    std::string names;
    for (size_t i = 0; i + 1 < columns.size(); ++i)
      names += (i ? ", " : "") + QuoteIdentifier(columns[i]);
    std::string code = QuoteIdentifier(columns.back());
    CB_ASSIGN_OR_RETURN(
        QueryResult groups,
        load.Query("SELECT " + names + ", COUNT(DISTINCT " + code + ") AS codes FROM " + table +
                   " GROUP BY " + names + " HAVING COUNT(DISTINCT " + code + ") > 1"));
    result.failing = static_cast<int64_t>(groups.rows.size());
    result.sample = Sample(groups);
    result.details =
        result.failing == 0
            ? "every " + columns[columns.size() - 2] + " name path has one " + columns.back()
            : FormatCount(result.failing) + " name paths have more than one " + columns.back();
  } else if (check.type == "row_count_min") {
    // Counting stops at the minimum: a large table passes without a scan.
    CB_ASSIGN_OR_RETURN(QueryResult count,
                        load.Query("SELECT COUNT(*) FROM (SELECT 1 FROM " + table + " LIMIT " +
                                   std::to_string(std::max<int64_t>(check.min, 0)) + ") AS head"));
    int64_t rows = count.IntAt();
    result.failing = rows >= check.min ? 0 : 1;
    result.details =
        result.failing == 0
            ? "at least " + FormatCount(check.min) + " rows, as required"
            : FormatCount(rows) + " rows, at least " + FormatCount(check.min) + " required";
    result.sample = "[]";
  } else if (check.type == "reconcile") {
    bool rows_ok = accounting.rows_read == accounting.rows_loaded + accounting.rows_quarantined &&
                   warehouse_facts == accounting.rows_loaded;
    bool cents_ok = accounting.amount_read_cents ==
                        accounting.amount_loaded_cents + accounting.amount_quarantined_cents &&
                    warehouse_cents == accounting.amount_loaded_cents;
    result.failing = (rows_ok ? 0 : 1) + (cents_ok ? 0 : 1);
    result.details = "rows read " + FormatCount(accounting.rows_read) + " = loaded " +
                     FormatCount(accounting.rows_loaded) + " + quarantined " +
                     FormatCount(accounting.rows_quarantined) + " (warehouse holds " +
                     FormatCount(warehouse_facts) + "); amount read " +
                     FormatCents(accounting.amount_read_cents) + " = loaded " +
                     FormatCents(accounting.amount_loaded_cents) + " + quarantined " +
                     FormatCents(accounting.amount_quarantined_cents) + " (warehouse holds " +
                     FormatCents(warehouse_cents) + ")";
    result.sample = "[]";
  } else if (check.type == "freshness") {
    CB_ASSIGN_OR_RETURN(QueryResult latest, load.Query("SELECT MAX(" + QuoteIdentifier(columns[0]) +
                                                       ") FROM " + table));
    std::string value = latest.rows.empty() ? "" : ValueToString(latest.rows[0][0]);
    std::optional<double> age = DaysSince(value, mapping.fiscal_year_start_month, context.now);
    double days = age.value_or(1e9);  // missing or not a date: stale
    result.failing = days <= static_cast<double>(check.max_age_days) ? 0 : 1;
    result.details = "newest " + columns[0] + " is " + (value.empty() ? "missing" : value) +
                     ", at most " + std::to_string(check.max_age_days) + " days old allowed";
    result.sample = "[]";
  } else {
    return Fail(ErrorCode::kInvalidArgument, "unknown check type " + check.type);
  }
  result.passed = result.failing == 0;
  return result;
}

}  // namespace citybooks
