// The tables a mapping implies — its star (dimensions, facts), its aggregates
// and the cb_* records every dataset schema holds — and the SQL that rebuilds
// aggregates. Only portable SQL is generated here; backend specifics stay in
// warehouse/.
#pragma once

#include <string>
#include <vector>

#include "conform/mapping.h"
#include "warehouse/warehouse.h"

namespace citybooks {

// Every table of a dataset schema for `mapping`.
std::vector<TableDef> DatasetTables(const Mapping& mapping);

// Columns appended to the fact table, in order: the time columns
// (Mapping::TimeColumns), one id per dimension, amount, amount_cents, run_id,
// fact_id. A fact's id is its partition value * kFactIdsPerPartition + its
// ordinal (from 1) among the partition's facts in the snapshot, so loading
// the same snapshot again gives the same ids.
std::vector<std::string> FactColumns(const Mapping& mapping);
inline constexpr int64_t kFactIdsPerPartition = 100'000'000;

// The forensic models' result tables (model_benford, model_benford_digits,
// model_duplicate_payments, model_outliers, model_forecast,
// model_forecast_series); part of DatasetTables.
std::vector<TableDef> ModelTables();

// Columns of a dimension table, in order: its id, DimensionSpec::columns(),
// "<level>_key" for a vendor-name key rule, member_key.
std::vector<std::string> DimensionTableColumns(const DimensionSpec& dimension);

// True for the integer time columns: the fiscal year, and the fiscal month of
// a mapping with a date.
bool IsIntegerTimeColumn(const Mapping& mapping, const std::string& column);

// Histogram buckets of the amount's order of magnitude.
struct AmountBucket {
  int bucket;
  std::string label;
  int64_t lower_cents;  // inclusive
  int64_t upper_cents;  // exclusive; INT64_MAX for the last
};
const std::vector<AmountBucket>& AmountBuckets();
// A CASE expression giving the bucket number of `cents_column`.
std::string BucketExpression(const std::string& cents_column);

// SQL (with '?' parameters in `params`) that inserts the aggregate rows of
// `aggregate` computed from facts matching `fact_filter` (a condition on the
// fact table aliased f, may be empty). `qualify` turns table names into
// schema-qualified ones.
struct SqlWithParams {
  std::string sql;
  std::vector<std::string> params;
};
SqlWithParams AggregateInsertSql(const Mapping& mapping, const AggregateSpec& aggregate,
                                 const std::string& fact_filter,
                                 const std::function<std::string(const std::string&)>& qualify);

// SQL that computes the same rows straight from the fact table (no insert),
// with the same column order: used to prove aggregates equal the facts.
SqlWithParams AggregateSelectSql(const Mapping& mapping, const AggregateSpec& aggregate,
                                 const std::string& fact_filter,
                                 const std::function<std::string(const std::string&)>& qualify);

}  // namespace citybooks
