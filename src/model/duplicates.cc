#include "model/duplicates.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <unordered_map>

namespace citybooks {

double AmountEvidence(int64_t cents) {
  const int64_t magnitude = cents < 0 ? -cents : cents;
  if (magnitude % 100 != 0) return 1.0;
  if (magnitude % 1000 != 0) return 0.4;
  if (magnitude % 10000 != 0) return 0.2;
  return 0.0;
}

double CoincidenceChance(int64_t payments, int64_t span_days, int window_days, double near_share,
                         int64_t cents) {
  const double magnitude = std::fabs(static_cast<double>(cents));
  if (payments <= 1 || magnitude == 0) return 0;
  // The band [a / 1.2, a * 1.2] holds 0.3667 * a cent values; a hundredth of
  // them are whole dollars.
  double values = (1.2 - 1 / 1.2) * magnitude;
  if (cents % 100 == 0) values /= 100;
  const double days = static_cast<double>(std::max<int64_t>(span_days, 365));
  const double in_window = static_cast<double>(payments) / days * window_days;
  return std::min(1.0, in_window * near_share / std::max(values, 1.0));
}

double DuplicateScore(const Payment& first, const Payment& second, const PairEvidence& evidence) {
  const double closeness = 1.0 - static_cast<double>(evidence.days_apart) /
                                     static_cast<double>(evidence.window_days + 1);
  const double recurring =
      evidence.repeats <= 2 ? 1.0 : std::sqrt(2.0 / static_cast<double>(evidence.repeats));
  const double score =
      (0.25 * AmountEvidence(first.cents) + 0.3 / (1.0 + 1000.0 * evidence.coincidence) +
       0.15 * closeness + 0.15 * (first.department == second.department ? 1.0 : 0.0) +
       0.15 * (first.detail == second.detail ? 1.0 : 0.0)) *
      recurring;
  // Rounded so that a score equal to the threshold in decimal compares equal.
  return std::round(score * 10000.0) / 10000.0;
}

DuplicateReport FindDuplicatePayments(std::vector<Payment> payments,
                                      std::span<const std::string> vendor_keys,
                                      const DuplicateOptions& options) {
  DuplicateReport report;
  // Vendors sharing a key compare as one: number the distinct keys.
  std::unordered_map<std::string_view, uint32_t> key_numbers;
  std::vector<uint32_t> key_of(vendor_keys.size());
  for (size_t v = 0; v < vendor_keys.size(); ++v)
    key_of[v] = key_numbers.try_emplace(vendor_keys[v], key_numbers.size()).first->second;

  std::erase_if(payments, [&](const Payment& payment) {
    return payment.cents <= 0 || payment.vendor >= key_of.size();
  });
  report.payments_compared = static_cast<int64_t>(payments.size());
  auto key = [&](const Payment& payment) { return key_of[payment.vendor]; };
  std::sort(payments.begin(), payments.end(), [&](const Payment& a, const Payment& b) {
    if (key(a) != key(b)) return key(a) < key(b);
    if (a.cents != b.cents) return a.cents < b.cents;
    if (a.day != b.day) return a.day < b.day;
    return a.fact_id < b.fact_id;
  });
  // Per vendor key: its payments sorted by amount, so the payments near an
  // amount are a range.
  for (size_t vendor_start = 0; vendor_start < payments.size();) {
    size_t vendor_end = vendor_start;
    int32_t first_day = payments[vendor_start].day;
    int32_t last_day = first_day;
    while (vendor_end < payments.size() &&
           key(payments[vendor_end]) == key(payments[vendor_start])) {
      first_day = std::min(first_day, payments[vendor_end].day);
      last_day = std::max(last_day, payments[vendor_end].day);
      ++vendor_end;
    }
    const auto vendor_payments = static_cast<int64_t>(vendor_end - vendor_start);
    // whole[i]: whole-dollar payments among the vendor's first i.
    std::vector<int64_t> whole(vendor_end - vendor_start + 1, 0);
    for (size_t i = vendor_start; i < vendor_end; ++i)
      whole[i - vendor_start + 1] = whole[i - vendor_start] + (payments[i].cents % 100 == 0);
    auto by_cents = [](const Payment& payment, double cents) {
      return static_cast<double>(payment.cents) < cents;
    };
    for (size_t start = vendor_start; start < vendor_end;) {
      size_t end = start + 1;
      while (end < vendor_end && payments[end].cents == payments[start].cents) ++end;
      const auto repeats = static_cast<int64_t>(end - start);
      if (repeats > 1) {
        const int64_t cents = payments[start].cents;
        const auto begin = payments.begin() + static_cast<std::ptrdiff_t>(vendor_start);
        const auto stop = payments.begin() + static_cast<std::ptrdiff_t>(vendor_end);
        const size_t low = static_cast<size_t>(
            std::lower_bound(begin, stop, static_cast<double>(cents) / 1.2, by_cents) - begin);
        const size_t high = static_cast<size_t>(
            std::lower_bound(begin, stop, static_cast<double>(cents) * 1.2 + 1e-9, by_cents) -
            begin);
        const int64_t whole_near = whole[high] - whole[low];
        const int64_t near =
            cents % 100 == 0 ? whole_near : static_cast<int64_t>(high - low) - whole_near;
        PairEvidence evidence;
        evidence.window_days = options.window_days;
        evidence.repeats = repeats;
        evidence.coincidence = CoincidenceChance(
            vendor_payments, last_day - first_day + 1, options.window_days,
            static_cast<double>(near) / static_cast<double>(vendor_payments), cents);
        for (size_t i = start; i + 1 < end; ++i) {
          const Payment& first = payments[i];
          const Payment& second = payments[i + 1];
          evidence.days_apart = second.day - first.day;
          if (evidence.days_apart > options.window_days) continue;
          ++report.candidates;
          const double score = DuplicateScore(first, second, evidence);
          if (score < options.min_score) continue;
          report.pairs.push_back(DuplicatePair{first, second, evidence.days_apart, score});
        }
      }
      start = end;
    }
    vendor_start = vendor_end;
  }
  std::sort(report.pairs.begin(), report.pairs.end(),
            [](const DuplicatePair& a, const DuplicatePair& b) {
              if (a.score != b.score) return a.score > b.score;
              return a.first.fact_id < b.first.fact_id;
            });
  return report;
}

int32_t DaysFromCivil(int year, int month, int day) {
  const std::chrono::sys_days days{std::chrono::year(year) /
                                   std::chrono::month(static_cast<unsigned>(month)) /
                                   std::chrono::day(static_cast<unsigned>(day))};
  return static_cast<int32_t>(days.time_since_epoch().count());
}

std::string CivilFromDays(int32_t days) {
  const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{days}}};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

}  // namespace citybooks
