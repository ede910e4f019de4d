#include "pipeline/star_schema.h"

#include <limits>
#include <set>

namespace citybooks {

namespace {

ColumnDef Int(const std::string& name, bool not_null = false) {
  return {name, ColumnType::kInteger, not_null};
}
ColumnDef Text(const std::string& name, bool not_null = false) {
  return {name, ColumnType::kText, not_null};
}
ColumnDef Real(const std::string& name) { return {name, ColumnType::kReal, false}; }

// The dimension index and alias of each column an aggregate touches.
std::string ColumnRef(const Mapping& mapping, const std::string& column) {
  for (const std::string& time : mapping.TimeColumns())
    if (column == time) return "f." + QuoteIdentifier(column);
  for (size_t d = 0; d < mapping.dimensions.size(); ++d)
    for (const std::string& owned : mapping.dimensions[d].columns())
      if (owned == column) return "d" + std::to_string(d) + "." + QuoteIdentifier(column);
  return QuoteIdentifier(column);
}

}  // namespace

bool IsIntegerTimeColumn(const Mapping& mapping, const std::string& column) {
  return column == mapping.fiscal_year_column || (mapping.has_date() && column == "fiscal_month");
}

std::vector<std::string> DimensionTableColumns(const DimensionSpec& dimension) {
  std::vector<std::string> columns = {dimension.id_column()};
  for (const std::string& column : dimension.columns()) columns.push_back(column);
  if (dimension.key_rule == KeyRule::kVendorName)
    columns.push_back(dimension.levels.back().name + "_key");
  columns.push_back("member_key");
  return columns;
}

std::vector<std::string> FactColumns(const Mapping& mapping) {
  std::vector<std::string> columns = mapping.TimeColumns();
  for (const DimensionSpec& dimension : mapping.dimensions)
    columns.push_back(dimension.id_column());
  columns.push_back("amount");
  columns.push_back("amount_cents");
  columns.push_back("run_id");
  columns.push_back("fact_id");
  return columns;
}

std::vector<TableDef> ModelTables() {
  return {
      TableDef{"model_benford",
               {Int("run_id"), Text("group_kind"), Text("group_name"), Text("test"), Int("amounts"),
                Real("mad"), Text("conformity")},
               {},
               {}},
      TableDef{"model_benford_digits",
               {Int("run_id"), Text("group_kind"), Text("group_name"), Text("test"), Int("digit"),
                Int("count"), Real("observed"), Real("expected")},
               {},
               {}},
      TableDef{"model_duplicate_payments",
               {Int("run_id"), Int("pair"), Text("vendor_key"), Text("vendor"), Text("department"),
                Int("amount_cents"), Real("amount"), Int("payment_id_a"), Text("payment_date_a"),
                Int("payment_id_b"), Text("payment_date_b"), Int("days_apart"), Real("score")},
               {},
               {}},
      TableDef{"model_outliers",
               {Int("run_id"), Text("peer_group"), Int("fiscal_year"), Text("department"),
                Text("detail"), Int("fact_id"), Int("amount_cents"), Real("amount"), Real("median"),
                Real("mad"), Real("robust_z"), Int("rank")},
               {},
               {}},
      TableDef{"model_forecast",
               {Int("run_id"), Text("department"), Int("fiscal_year"), Text("method"),
                Real("actual_to_date"), Real("forecast"), Int("periods_observed"),
                Real("backtest_error"), Real("baseline_error"), Text("error_measure")},
               {},
               {}},
      TableDef{
          "model_forecast_series",
          {Int("run_id"), Text("department"), Text("period"), Real("actual"), Real("forecast")},
          {},
          {}},
  };
}

std::vector<TableDef> DatasetTables(const Mapping& mapping) {
  std::vector<TableDef> tables;
  for (const DimensionSpec& dimension : mapping.dimensions) {
    TableDef table{dimension.table(), {}, {dimension.id_column()}, {}};
    for (const std::string& column : DimensionTableColumns(dimension))
      table.columns.push_back(column == dimension.id_column()
                                  ? Int(column, true)
                                  : Text(column, column == "member_key"));
    tables.push_back(table);
  }
  TableDef fact{mapping.fact_table, {}, {}, {}};
  for (const std::string& column : mapping.TimeColumns())
    fact.columns.push_back(IsIntegerTimeColumn(mapping, column) ? Int(column, true)
                                                                : Text(column, true));
  for (const DimensionSpec& dimension : mapping.dimensions)
    fact.columns.push_back(Int(dimension.id_column(), true));
  fact.columns.push_back(Real("amount"));
  fact.columns.push_back(Int("amount_cents", true));
  fact.columns.push_back(Int("run_id", true));
  fact.columns.push_back(Int("fact_id", true));
  tables.push_back(fact);

  for (const AggregateSpec& aggregate : mapping.aggregates) {
    TableDef table{aggregate.table(), {}, {}, {}};
    for (const std::string& column : aggregate.group_by)
      table.columns.push_back(IsIntegerTimeColumn(mapping, column) ? Int(column) : Text(column));
    if (aggregate.histogram) {
      table.columns.push_back(Int("bucket"));
      table.columns.push_back(Text("bucket_label"));
      table.columns.push_back(Int("bucket_lower_cents"));
      table.columns.push_back(Int("bucket_upper_cents"));
    }
    for (const ColumnDef& column : {Int("transactions"), Real("amount"), Int("amount_cents"),
                                    Int("max_amount_cents"), Int("min_amount_cents")})
      table.columns.push_back(column);
    tables.push_back(table);
  }

  tables.push_back(TableDef{
      "cb_runs",
      {Int("run_id", true), Text("dataset"), Text("command"), Text("snapshot_id"), Text("status"),
       Text("started_at"), Text("finished_at"), Int("rows_read"), Int("rows_loaded"),
       Int("rows_quarantined"), Int("amount_read_cents"), Int("amount_loaded_cents"),
       Int("amount_quarantined_cents"), Text("partitions"), Text("message")},
      {"run_id"},
      {}});
  tables.push_back(TableDef{"cb_partitions",
                            {Int("partition_value", true), Int("rows"), Int("amount_cents"),
                             Int("digest"), Int("run_id"), Text("snapshot_id")},
                            {"partition_value"},
                            {}});
  tables.push_back(
      TableDef{"cb_snapshots",
               {Text("snapshot_id", true), Text("dataset"), Text("kind"), Text("fetched_at"),
                Int("files"), Int("rows"), Int("bytes"), Text("source_urls"), Text("watermark"),
                Text("loaded_at"), Int("run_id")},
               {"snapshot_id"},
               {}});
  tables.push_back(
      TableDef{"cb_quality",
               {Int("run_id"), Text("snapshot_id"), Text("check_name"), Text("check_type"),
                Text("table_name"), Text("severity"), Text("status"), Int("failing"),
                Text("details"), Text("sample"), Text("checked_at")},
               {},
               {}});
  tables.push_back(TableDef{"cb_quarantine",
                            {Int("run_id"), Text("dataset"), Text("snapshot_id"), Text("file"),
                             Int("line"), Text("raw_line"), Text("reason")},
                            {},
                            {}});
  tables.push_back(TableDef{"cb_code_remaps",
                            {Int("run_id"), Text("snapshot_id"), Text("dimension"), Text("level"),
                             Text("name_path"), Text("from_code"), Text("to_code"), Int("rows")},
                            {},
                            {}});
  for (TableDef& table : ModelTables()) tables.push_back(std::move(table));
  return tables;
}

const std::vector<AmountBucket>& AmountBuckets() {
  static const std::vector<AmountBucket> buckets = {
      {0, "below 0", std::numeric_limits<int64_t>::min(), 0},
      {1, "0 to 1K", 0, 100'000},
      {2, "1K to 10K", 100'000, 1'000'000},
      {3, "10K to 100K", 1'000'000, 10'000'000},
      {4, "100K to 1M", 10'000'000, 100'000'000},
      {5, "1M to 10M", 100'000'000, 1'000'000'000},
      {6, "10M to 100M", 1'000'000'000, 10'000'000'000},
      {7, "100M and over", 10'000'000'000, std::numeric_limits<int64_t>::max()},
  };
  return buckets;
}

std::string BucketExpression(const std::string& cents_column) {
  std::string sql = "CASE";
  const auto& buckets = AmountBuckets();
  for (size_t i = 0; i + 1 < buckets.size(); ++i)
    sql += " WHEN " + cents_column + " < " + std::to_string(buckets[i].upper_cents) + " THEN " +
           std::to_string(buckets[i].bucket);
  sql += " ELSE " + std::to_string(buckets.back().bucket) + " END";
  return sql;
}

SqlWithParams AggregateSelectSql(const Mapping& mapping, const AggregateSpec& aggregate,
                                 const std::string& fact_filter,
                                 const std::function<std::string(const std::string&)>& qualify) {
  SqlWithParams out;
  std::string select;
  std::string group;
  for (const std::string& column : aggregate.group_by) {
    std::string ref = ColumnRef(mapping, column);
    select += (select.empty() ? "" : ", ") + ref;
    group += (group.empty() ? "" : ", ") + ref;
  }
  if (aggregate.histogram) {
    std::string bucket = BucketExpression("f.amount_cents");
    std::string label = "CASE";
    std::string lower = "CASE";
    std::string upper = "CASE";
    for (const AmountBucket& b : AmountBuckets()) {
      std::string when = " WHEN " + bucket + " = " + std::to_string(b.bucket) + " THEN ";
      label += when + "'" + b.label + "'";
      // Open ends are NULL: the extreme int64 values are not portable SQL literals.
      lower += when + (b.lower_cents == std::numeric_limits<int64_t>::min()
                           ? std::string("NULL")
                           : std::to_string(b.lower_cents));
      upper += when + (b.upper_cents == std::numeric_limits<int64_t>::max()
                           ? std::string("NULL")
                           : std::to_string(b.upper_cents));
    }
    select += (select.empty() ? "" : ", ") + bucket + ", " + label + " END, " + lower + " END, " +
              upper + " END";
    group += (group.empty() ? "" : ", ") + bucket;
  }
  select += std::string(select.empty() ? "" : ", ") +
            "COUNT(*), SUM(f.amount_cents) / 100.0, SUM(f.amount_cents), MAX(f.amount_cents), "
            "MIN(f.amount_cents)";
  // Join only the dimensions the aggregate reads.
  std::set<std::string> used(aggregate.group_by.begin(), aggregate.group_by.end());
  used.insert(aggregate.filter_column);
  used.insert(aggregate.contains_column);
  std::string from = qualify(mapping.fact_table) + " f";
  for (size_t d = 0; d < mapping.dimensions.size(); ++d) {
    const DimensionSpec& dimension = mapping.dimensions[d];
    bool needed = false;
    for (const std::string& column : dimension.columns()) needed = needed || used.count(column);
    if (!needed) continue;
    std::string alias = "d" + std::to_string(d);
    from += " JOIN " + qualify(dimension.table()) + " " + alias + " ON " + alias + "." +
            QuoteIdentifier(dimension.id_column()) + " = f." +
            QuoteIdentifier(dimension.id_column());
  }
  std::vector<std::string> conditions;
  if (!fact_filter.empty()) conditions.push_back(fact_filter);
  if (!aggregate.filter_column.empty() && !aggregate.filter_equals.empty()) {
    std::string in;
    for (const std::string& value : aggregate.filter_equals) {
      in += in.empty() ? "?" : ", ?";
      out.params.push_back(value);
    }
    conditions.push_back(ColumnRef(mapping, aggregate.filter_column) + " IN (" + in + ")");
  }
  if (!aggregate.contains_column.empty() && !aggregate.filter_contains.empty()) {
    conditions.push_back("LOWER(" + ColumnRef(mapping, aggregate.contains_column) + ") LIKE ?");
    out.params.push_back("%" + aggregate.filter_contains + "%");
  }
  out.sql = "SELECT " + select + " FROM " + from;
  for (size_t i = 0; i < conditions.size(); ++i)
    out.sql += (i ? " AND " : " WHERE ") + conditions[i];
  if (!group.empty()) out.sql += " GROUP BY " + group;
  return out;
}

SqlWithParams AggregateInsertSql(const Mapping& mapping, const AggregateSpec& aggregate,
                                 const std::string& fact_filter,
                                 const std::function<std::string(const std::string&)>& qualify) {
  SqlWithParams select = AggregateSelectSql(mapping, aggregate, fact_filter, qualify);
  std::string columns;
  for (const std::string& column : aggregate.group_by)
    columns += (columns.empty() ? "" : ", ") + QuoteIdentifier(column);
  if (aggregate.histogram)
    columns += std::string(columns.empty() ? "" : ", ") +
               "bucket, bucket_label, bucket_lower_cents, bucket_upper_cents";
  columns += std::string(columns.empty() ? "" : ", ") +
             "transactions, amount, amount_cents, max_amount_cents, min_amount_cents";
  select.sql = "INSERT INTO " + qualify(aggregate.table()) + " (" + columns + ") " + select.sql;
  return select;
}

}  // namespace citybooks
