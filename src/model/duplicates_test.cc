#include "model/duplicates.h"

#include <gtest/gtest.h>

#include <map>

#include "conform/conformer.h"

namespace citybooks {
namespace {

constexpr int32_t kJuly14 = 18822;  // 2021-07-14

Payment Pay(uint32_t vendor, int32_t day, int64_t cents, int64_t fact_id, uint32_t department = 1,
            uint32_t detail = 1) {
  return Payment{vendor, day, cents, fact_id, department, detail};
}

TEST(Duplicates, DaysAreCivilDates) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2021, 7, 14), kJuly14);
  EXPECT_EQ(CivilFromDays(kJuly14), "2021-07-14");
  EXPECT_EQ(DaysFromCivil(2024, 3, 1) - DaysFromCivil(2024, 2, 28), 2);  // a leap year
}

TEST(Duplicates, CoincidenceChanceByHand) {
  // 730 payments over two years: 30 of them in a 30-day window. Half of all
  // payments lie within 20% of $100.01, a band of 0.3667 * 10001 = 3667.0
  // cent values: 30 * 0.5 / 3667.0.
  EXPECT_NEAR(CoincidenceChance(730, 730, 30, 0.5, 100'01), 30 * 0.5 / 3667.0333, 1e-9);
  // $100.00: whole-dollar payments share the band's 36.67 whole-dollar values.
  EXPECT_NEAR(CoincidenceChance(730, 730, 30, 0.5, 100'00), 30 * 0.5 / 36.666667, 1e-6);
  // A vendor seen for a month is assumed to be paid over a year.
  EXPECT_DOUBLE_EQ(CoincidenceChance(10, 30, 30, 1, 100'01),
                   CoincidenceChance(10, 365, 30, 1, 100'01));
  EXPECT_EQ(CoincidenceChance(1, 365, 30, 1, 100'01), 0);
  EXPECT_EQ(CoincidenceChance(100'000, 365, 30, 1, 1'00), 1.0);  // a certainty at most
}

TEST(Duplicates, ScoreByHand) {
  const Payment a = Pay(0, kJuly14, 1'234'56, 1, 7, 3);
  const Payment b = Pay(0, kJuly14 + 10, 1'234'56, 2, 7, 3);
  PairEvidence evidence{.days_apart = 10, .window_days = 30, .repeats = 2, .coincidence = 0.001};
  // 0.25 (cents) + 0.3 / (1 + 1000 * 0.001) + 0.15 * (1 - 10/31) + 0.15 + 0.15
  // = 0.801613
  EXPECT_DOUBLE_EQ(DuplicateScore(a, b, evidence), 0.8016);
  // Another department and item, and an amount paid eight times:
  // (0.25 + 0.15 + 0.101613) * sqrt(2/8) = 0.250806
  const Payment elsewhere = Pay(0, kJuly14 + 10, 1'234'56, 2, 8, 4);
  evidence.repeats = 8;
  EXPECT_DOUBLE_EQ(DuplicateScore(a, elsewhere, evidence), 0.2508);
  evidence.repeats = 2;
  // Same day is the closest.
  evidence.days_apart = 0;
  EXPECT_GT(DuplicateScore(a, b, evidence), 0.8016);
}

TEST(Duplicates, VendorsMatchByTheirNormalisedName) {
  // Three spellings in the vendor dimension; the first two are one vendor.
  std::vector<std::string> keys = {NormalizeVendorName("ACME SUPPLY INC"),
                                   NormalizeVendorName("Acme Supply, Inc."),
                                   NormalizeVendorName("ACME SUPPLIES LLC")};
  ASSERT_EQ(keys[0], keys[1]);
  ASSERT_NE(keys[0], keys[2]);
  std::vector<Payment> payments = {
      Pay(0, kJuly14, 1'234'56, 11),
      Pay(1, kJuly14 + 3, 1'234'56, 12),  // the same invoice paid again, spelled otherwise
      Pay(2, kJuly14 + 3, 1'234'56, 13),  // another vendor, same amount
      Pay(0, kJuly14 + 5, 1'234'57, 14),  // a cent apart
  };
  DuplicateReport report = FindDuplicatePayments(payments, keys, {});
  EXPECT_EQ(report.payments_compared, 4);
  ASSERT_EQ(report.pairs.size(), 1u);
  const DuplicatePair& pair = report.pairs[0];
  EXPECT_EQ(pair.first.fact_id, 11);
  EXPECT_EQ(pair.second.fact_id, 12);
  EXPECT_EQ(pair.days_apart, 3);
  // The vendor's three payments all lie within 20% of the amount.
  const double chance = CoincidenceChance(3, 6, 30, 1.0, 1'234'56);
  EXPECT_DOUBLE_EQ(
      pair.score,
      DuplicateScore(pair.first, pair.second,
                     {.days_apart = 3, .window_days = 30, .repeats = 2, .coincidence = chance}));
  EXPECT_GT(pair.score, 0.95);
}

TEST(Duplicates, WindowEdgesAreInclusive) {
  std::vector<std::string> keys = {"ACME"};
  std::vector<Payment> payments = {
      Pay(0, kJuly14, 500'01, 1), Pay(0, kJuly14 + 30, 500'01, 2),  // 30 days: in
      Pay(0, kJuly14, 700'01, 3), Pay(0, kJuly14 + 31, 700'01, 4),  // 31 days: out
  };
  DuplicateReport report = FindDuplicatePayments(payments, keys, {.window_days = 30});
  ASSERT_EQ(report.pairs.size(), 1u);
  EXPECT_EQ(report.pairs[0].first.fact_id, 1);
  EXPECT_EQ(report.pairs[0].days_apart, 30);
  EXPECT_EQ(report.candidates, 1);
  // A wider window takes the second pair in, at a lower closeness.
  DuplicateReport wide = FindDuplicatePayments(payments, keys, {.window_days = 31});
  ASSERT_EQ(wide.pairs.size(), 2u);
  EXPECT_EQ(wide.pairs[0].first.fact_id, 1);  // 30 days apart scores above 31
  EXPECT_EQ(wide.pairs[1].first.fact_id, 3);
  EXPECT_GT(wide.pairs[0].score, wide.pairs[1].score);
}

TEST(Duplicates, RoundRecurringAndSmallEverydayAmountsScoreLow) {
  std::vector<std::string> keys = {"ACME", "OFFICE DEPOT"};
  std::vector<Payment> payments = {
      // $500.00 twice on one day, one department, one item: round hundreds.
      Pay(0, kJuly14, 500'00, 1), Pay(0, kJuly14, 500'00, 2),
      // $99.99 every week: a run of five gives four consecutive pairs.
      Pay(0, kJuly14, 99'99, 5), Pay(0, kJuly14 + 7, 99'99, 6), Pay(0, kJuly14 + 14, 99'99, 7),
      Pay(0, kJuly14 + 21, 99'99, 8), Pay(0, kJuly14 + 28, 99'99, 9),
      // Credits (a void and its repeat) are not payments to compare.
      Pay(0, kJuly14, -250'55, 10), Pay(0, kJuly14, -250'55, 11),
      // An invoice paid twice, a week apart.
      Pay(0, kJuly14, 8'812'34, 12), Pay(0, kJuly14 + 7, 8'812'34, 13)};
  // A vendor paid small amounts every day: $12.14 twice is a coincidence.
  for (int day = 0; day < 730; ++day)
    payments.push_back(Pay(1, kJuly14 + day, 10'00 + day % 500, 100 + day));
  payments.push_back(Pay(1, kJuly14 + 3, 10'00 + 3, 99));
  DuplicateReport report = FindDuplicatePayments(payments, keys, {});
  std::map<int64_t, double> scores;
  for (const DuplicatePair& pair : report.pairs) scores[pair.first.fact_id] = pair.score;
  EXPECT_FALSE(scores.count(1)) << "round hundreds";
  EXPECT_FALSE(scores.count(5)) << "a weekly charge";
  EXPECT_FALSE(scores.count(99) || scores.count(103)) << "small everyday amounts";
  ASSERT_TRUE(scores.count(12));
  EXPECT_GT(scores[12], 0.9);
  EXPECT_EQ(report.pairs.size(), 1u);
  // Lowering the bar shows the weaker candidates, strongest first.
  DuplicateReport all = FindDuplicatePayments(payments, keys, {.min_score = 0});
  EXPECT_EQ(all.candidates, 1 + 4 + 1 + 1);
  EXPECT_EQ(static_cast<int64_t>(all.pairs.size()), all.candidates);
  EXPECT_EQ(all.pairs[0].first.fact_id, 12);
  for (size_t i = 1; i < all.pairs.size(); ++i)
    EXPECT_GE(all.pairs[i - 1].score, all.pairs[i].score);
  EXPECT_EQ(all.payments_compared, static_cast<int64_t>(payments.size()) - 2);
}

TEST(Duplicates, AmountEvidenceFallsWithRoundness) {
  EXPECT_EQ(AmountEvidence(1'234'56), 1.0);
  EXPECT_EQ(AmountEvidence(1'234'00), 0.4);
  EXPECT_EQ(AmountEvidence(1'230'00), 0.2);
  EXPECT_EQ(AmountEvidence(1'200'00), 0.0);
  EXPECT_EQ(AmountEvidence(-1'234'56), 1.0);
}

}  // namespace
}  // namespace citybooks
