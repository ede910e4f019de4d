// Data-quality checks (dbt-style) run inside a load's transaction, so a failed
// check of severity "error" rolls the whole load back. Each check is SQL over
// the dataset's tables; its result (passes too) goes to cb_quality.
#pragma once

#include <cstdint>
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

// Runs one check. `partition_filter` restricts fact-table checks to the
// partitions this load replaced, e.g. "fiscal_year IN (2020, 2021)"; empty
// means the whole table. `warehouse_facts`/`warehouse_cents` are what the
// fact table holds for those partitions (for reconcile).
Result<CheckResult> RunCheck(LoadTransaction& load, const Mapping& mapping, const CheckSpec& check,
                             const LoadAccounting& accounting, int64_t warehouse_facts,
                             int64_t warehouse_cents, const std::string& partition_filter);

}  // namespace citybooks
