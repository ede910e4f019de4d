// Realistic synthetic City of Phoenix "City Checkbook" raw data: vendor
// payments with the portal's own header, M/D/YYYY dates and accounting-style
// amounts ("27,678.75" in quotes, (1,234.00) credits), drawn from the real
// departments and a fixed population of vendors (the two of the embedded real
// sample rows plus a few hundred synthetic legal names), with the real
// extract's dirt injected at a configurable rate.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "common/error.h"

namespace citybooks {

struct PhoenixGenOptions {
  uint64_t rows = 1000;
  uint64_t seed = 1;
  // Fiscal years run July 1 to June 30 and are named for the year they end in;
  // both must lie in 2000..2100 (the range the phoenix-checkbook mapping loads).
  int first_fiscal_year = 2019;
  int last_fiscal_year = 2023;
  // Share of rows carrying dirt (a vendor name spelled another way, padded
  // names, department casing); 0 gives clean rows. Dirt is a property of a
  // vendor in a fiscal year or of a department in a fiscal month, never of a
  // single row, so the distinct spellings stay few however many rows are
  // written. Every dirty row still loads.
  double dirt_rate = 0.05;
  // Share of rows that are malformed (wrong field counts, bad dates or
  // amounts), which a load must quarantine; 0 by default.
  double bad_rate = 0.0;

  // Anomalies planted for the forensic models' tests and demos. They draw
  // from a random stream of their own: every row they do not touch is the
  // row a run without them writes, and without them the bytes are the same.
  //
  // A department (a name of the real file, any case) whose amounts are
  // invented by a person rather than arising from trade: spread evenly over
  // $100-$9,999.99, so their leading digits do not follow Benford's law.
  std::string fabricate_department;
  // Payments paid twice: a copy of a well-formed invoice (an amount with
  // cents, at least $1,000, outside the fabricated department) 1 to 7 days
  // later (the next day with payments), its vendor respelled half the time.
  // The copies are extra rows.
  uint64_t duplicates = 0;
  // Amounts far outside their department x item peers: 10^4 to 10^4.3 times
  // the item's usual payment (capped at $500 million), planted on payments
  // of the big vendors' main department and item, outside the fabricated
  // department.
  uint64_t extremes = 0;
  // Where to write a CSV of every planted anomaly (none when null):
  // kind,line,date,department,vendor,amount,of_line — kind is fabricated,
  // duplicate or extreme; line the 1-based line in the output (the header is
  // line 1); department and vendor as written; amount in dollars; of_line
  // the copied payment's line for a duplicate.
  std::ostream* plant_log = nullptr;
};

struct PhoenixGenStats {
  uint64_t rows = 0;              // data records written (header excluded), copies included
  uint64_t bad_rows = 0;          // of which malformed on purpose
  int64_t good_amount_cents = 0;  // sum of the amounts of the well-formed rows
  uint64_t fabricated_rows = 0;   // planted anomalies
  uint64_t duplicates = 0;
  uint64_t extremes = 0;
};

// The real file's header line, without its line end.
std::string_view PhoenixHeader();

// Writes a CSV with the real header and LF line ends to `out`, rows in date
// order spread over the fiscal years asked, with the city's seasons (a slow
// July, a holiday dip, the June year-end push) and spending growing 6% a
// year. Fails with kInvalidArgument for
// nonsense options (nothing is written) and kIoError when `out` fails.
Result<PhoenixGenStats> GeneratePhoenix(const PhoenixGenOptions& options, std::ostream& out);

}  // namespace citybooks
