// Realistic synthetic San Francisco "Spending and Revenue" raw data, drawn
// from the city's real dimension members (data/reference/sf, embedded in the
// binary) with the dirt of the real extract injected at a configurable rate.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "common/error.h"

namespace citybooks {

struct SfGenOptions {
  uint64_t rows = 1000;
  uint64_t seed = 1;
  int first_fiscal_year = 1999;
  int last_fiscal_year = 2023;
  // Share of rows carrying the real extract's dirt (casing, YES/NO, null
  // placeholders, alternate codes for a name); 0 gives clean rows.
  double dirt_rate = 0.05;
  // Share of rows that are malformed (short/long rows, bad amounts or years),
  // which a load must quarantine; 0 by default.
  double bad_rate = 0.0;
};

struct SfGenStats {
  uint64_t rows = 0;              // data records written (header excluded)
  uint64_t bad_rows = 0;          // of which malformed on purpose
  int64_t good_amount_cents = 0;  // sum of the amounts of the well-formed rows
};

// Writes a CSV with the real Socrata header (map columns by name) to `out`.
Result<SfGenStats> GenerateSf(const SfGenOptions& options, std::ostream& out);

}  // namespace citybooks
