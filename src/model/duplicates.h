// Duplicate-payment candidates: two payments to the same vendor (by
// normalised vendor key) of the same amount within a window of days, scored
// by how unlikely a coincidence is — an invoice-like amount (with cents)
// rather than a round one, an amount this vendor is seldom paid, a short
// gap, the same department and detail (e.g. commitment item), and an amount
// paid to the vendor no other time.
//
//   std::vector<std::string> keys = {NormalizeVendorName("Acme, Inc."), ...};
//   std::vector<Payment> payments = ...;  // vendor = index into keys
//   DuplicateReport report = FindDuplicatePayments(std::move(payments), keys, {});
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace citybooks {

// One payment, 32 bytes: a million payments hold in 32 MB.
struct Payment {
  uint32_t vendor = 0;      // index into the vendor keys
  int32_t day = 0;          // days since 1970-01-01
  int64_t cents = 0;        // the amount; only positive amounts are compared
  int64_t fact_id = 0;      // the payment's id in the fact table
  uint32_t department = 0;  // caller's department index
  uint32_t detail = 0;      // caller's detail (e.g. commitment item) index
};

struct DuplicateOptions {
  int window_days = 30;    // the second payment at most this many days after the first
  double min_score = 0.8;  // pairs scoring less are not reported
};

struct DuplicatePair {
  Payment first;   // the earlier payment (ties by fact id)
  Payment second;  // the later one
  int days_apart = 0;
  double score = 0;  // 0..1, rounded to 4 decimals
};

struct DuplicateReport {
  std::vector<DuplicatePair> pairs;  // by score descending, then first payment's fact id
  int64_t payments_compared = 0;     // positive amounts
  int64_t candidates = 0;            // pairs within the window before the score cut
};

// How invoice-like an amount is: 1 with cents, 0.4 whole dollars, 0.2 whole
// tens, 0 whole hundreds (round amounts recur by coincidence).
double AmountEvidence(int64_t cents);

// The chance that a payment of `cents` meets, by coincidence, another
// payment of exactly that amount to the same vendor within the window: the
// vendor pays `payments` times over `span_days` (at least a year is
// assumed), so (payments / span_days) * window_days payments fall within a
// window, each of exactly this amount with chance `near_share` (the share of
// the vendor's payments within 20% of the amount) spread over the cent
// values of that band (its whole-dollar values when the amount is whole
// dollars, `near_share` then counting whole-dollar payments only). Near 1
// for a vendor paid small amounts every day, tiny for a rare invoice of
// thousands.
double CoincidenceChance(int64_t payments, int64_t span_days, int window_days, double near_share,
                         int64_t cents);

// What is known about a pair beside the two payments.
struct PairEvidence {
  int days_apart = 0;
  int window_days = 30;
  int64_t repeats = 2;     // payments of this amount to the vendor in all
  double coincidence = 0;  // CoincidenceChance of the amount
};

// The score of a pair, 0..1 rounded to 4 decimals:
//   (0.25 * AmountEvidence + 0.3 / (1 + 1000 * coincidence chance)
//    + 0.15 * closeness (1 on the same day, falling linearly to 0 a day past
//      the window) + 0.15 same department + 0.15 same detail)
//   * sqrt(2 / repeats) when the amount was paid more than twice (a
//     recurring charge rather than one invoice paid again).
double DuplicateScore(const Payment& first, const Payment& second, const PairEvidence& evidence);

// Pairs payments whose vendors have equal keys (`vendor_keys[payment.vendor]`)
// and whose amounts are equal, each with the next such payment when it
// follows within the window (a run of equal payments gives consecutive pairs,
// not every pair). Sorts `payments` by (key, amount, day): memory is the
// payments themselves.
DuplicateReport FindDuplicatePayments(std::vector<Payment> payments,
                                      std::span<const std::string> vendor_keys,
                                      const DuplicateOptions& options);

// Days since 1970-01-01 of a proleptic Gregorian date.
int32_t DaysFromCivil(int year, int month, int day);
// The date of a day number as "YYYY-MM-DD".
std::string CivilFromDays(int32_t days);

}  // namespace citybooks
