// Data-quality checks (dbt-style) run inside a load's transaction, so a failed
// check of severity "error" rolls the whole load back. Each check is SQL over
// the dataset's tables; its result (passes too) goes to cb_quality.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/config.h"
#include "conform/mapping.h"
#include "warehouse/warehouse.h"

namespace citybooks {

struct CheckResult {
  std::string name;
  std::string type;
  std::string table;
  std::string severity;  // "error" or "warn"
  bool passed = false;
  int64_t failing = 0;  // failing rows or groups
  std::string details;  // one sentence
  std::string sample;   // JSON array of up to 5 failing rows
};

// The counts a load keeps for the reconcile check.
struct LoadAccounting {
  int64_t rows_read = 0;
  int64_t rows_loaded = 0;
  int64_t rows_quarantined = 0;
  int64_t amount_read_cents = 0;         // every amount that parsed
  int64_t amount_loaded_cents = 0;       // of the rows loaded
  int64_t amount_quarantined_cents = 0;  // of quarantined rows whose amount parsed
};

// The checks every dataset gets from its mapping: not_null on the fact
// table's keys, many_to_one at every coded level, the mapping's own checks,
// and `extra` (from the config).
std::vector<CheckSpec> BuiltInChecks(const Mapping& mapping, const std::vector<CheckSpec>& extra);

// What the fact table holds for the partitions a load replaced, taken in
// one scan: the facts and their cents (for reconcile) and the failing rows of
// every not_null check on the fact table, so those checks share that pass
// instead of each reading every fact again.
struct FactCensus {
  int64_t facts = 0;
  int64_t cents = 0;
  std::map<std::string, int64_t> null_rows;  // not_null check name -> rows with a NULL
};

// Takes the census of the fact table rows that `partition_filter` selects
// (the whole table when it is empty) for `checks`.
Result<FactCensus> TakeFactCensus(LoadTransaction& load, const Mapping& mapping,
                                  const std::vector<CheckSpec>& checks,
                                  const std::string& partition_filter);

// What a check may compare against besides the tables.
struct CheckContext {
  LoadAccounting accounting;
  FactCensus census;
  // Restricts fact-table checks to those partitions, e.g.
  // "fiscal_year IN (2020, 2021)"; empty means the whole table.
  std::string partition_filter;
  // "Now" for freshness.
  std::chrono::system_clock::time_point now;
};

// Runs one check inside `load`. Only portable SQL is sent; date arithmetic
// (freshness) is done here.
Result<CheckResult> RunCheck(LoadTransaction& load, const Mapping& mapping, const CheckSpec& check,
                             const CheckContext& context);

// Days from the value of a date-like column to `now`: an ISO date or
// timestamp ("2024-06-30", "2024-06-30T12:00:00Z") counts from that day, a
// bare year (a fiscal year) from the end of that fiscal year. nullopt when
// the value is neither.
std::optional<double> DaysSince(const std::string& value, int fiscal_year_start_month,
                                std::chrono::system_clock::time_point now);

}  // namespace citybooks
