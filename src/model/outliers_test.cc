#include "model/outliers.h"

#include <gtest/gtest.h>

#include <cmath>

namespace citybooks {
namespace {

TEST(Outliers, MedianAndMadByHand) {
  // 1 2 3 4 100: median 3; |x - 3| = 2 1 0 1 97, whose median is 1.
  std::vector<double> values = {100, 3, 1, 4, 2};
  RobustStats stats = ComputeRobustStats(values);
  EXPECT_EQ(stats.median, 3);
  EXPECT_EQ(stats.mad, 1);
  EXPECT_DOUBLE_EQ(stats.mean_absolute_deviation, 101.0 / 5);
  EXPECT_DOUBLE_EQ(RobustZ(100, stats), 0.6745 * 97);  // 65.43
  EXPECT_DOUBLE_EQ(RobustZ(1, stats), -0.6745 * 2);
  EXPECT_DOUBLE_EQ(RobustZ(3, stats), 0);

  // An even count: the mean of the middle two, for the median and the MAD.
  std::vector<double> even = {1, 2, 3, 10};  // median 2.5; |x - 2.5| = 1.5 .5 .5 7.5
  RobustStats even_stats = ComputeRobustStats(even);
  EXPECT_EQ(even_stats.median, 2.5);
  EXPECT_EQ(even_stats.mad, 1.0);
  EXPECT_EQ(Median(std::vector<double>{}), 0);
}

TEST(Outliers, ZeroMadFallsBackToTheMeanAbsoluteDeviation) {
  // Most payments are the same fee: MAD is 0, but 9 still stands out.
  std::vector<double> fees = {5, 5, 5, 5, 9};
  RobustStats stats = ComputeRobustStats(fees);
  EXPECT_EQ(stats.mad, 0);
  EXPECT_DOUBLE_EQ(stats.mean_absolute_deviation, 0.8);
  EXPECT_NEAR(RobustZ(9, stats), 4 / (1.2533141373155 * 0.8), 1e-9);  // 3.99
  EXPECT_EQ(RobustZ(5, stats), 0);
  // All equal: nothing stands out and nothing divides by zero.
  std::vector<double> same = {7, 7, 7};
  RobustStats flat = ComputeRobustStats(same);
  EXPECT_EQ(RobustZ(7, flat), 0);
  EXPECT_EQ(RobustZ(1000, flat), 0);
  EXPECT_FALSE(std::isnan(RobustZ(1000, flat)));
}

std::vector<PeerAmount> GroupOf(uint32_t group, int count, int64_t first_fact_id) {
  std::vector<PeerAmount> amounts;
  for (int i = 0; i < count; ++i)
    amounts.push_back(PeerAmount{group, 2020, (100 + i) * 100, first_fact_id + i});
  return amounts;
}

TEST(Outliers, RanksExtremesOfEveryGroupAndSkipsSmallGroups) {
  // Group 1: $100..$129 and one $10,000; group 2 the same shape with
  // $1,000; group 3 has only five amounts, one of them absurd.
  std::vector<PeerAmount> amounts = GroupOf(1, 30, 1000);
  amounts.push_back(PeerAmount{1, 2020, 10'000'00, 1999});
  std::vector<PeerAmount> second = GroupOf(2, 30, 2000);
  amounts.insert(amounts.end(), second.begin(), second.end());
  amounts.push_back(PeerAmount{2, 2020, 1'000'00, 2999});
  std::vector<PeerAmount> small = GroupOf(3, 4, 3000);
  amounts.insert(amounts.end(), small.begin(), small.end());
  amounts.push_back(PeerAmount{3, 2021, 999'999'00, 3999});

  OutlierOptions options;
  options.threshold = 3.5;
  options.min_group_size = 30;
  OutlierReport report = FindOutliers(amounts, options);
  EXPECT_EQ(report.groups_scored, 2u);
  EXPECT_EQ(report.groups_skipped, 1u);
  ASSERT_EQ(report.outliers.size(), 2u);
  // 31 amounts: median $115, |x - 115| sorted 0 1 1 2 2 ... 15 15 9885: MAD 8.
  const Outlier& top = report.outliers[0];
  EXPECT_EQ(top.fact_id, 1999);
  EXPECT_EQ(top.group, 1u);
  EXPECT_EQ(top.rank, 1);
  EXPECT_EQ(top.median, 115);
  EXPECT_EQ(top.mad, 8);
  EXPECT_DOUBLE_EQ(top.robust_z, 0.6745 * (10'000 - 115) / 8);
  EXPECT_EQ(report.outliers[1].fact_id, 2999);
  EXPECT_EQ(report.outliers[1].rank, 2);
  EXPECT_DOUBLE_EQ(report.outliers[1].robust_z, 0.6745 * (1'000 - 115) / 8);

  // The list keeps only the strongest when capped; the count says how many.
  options.max_outliers = 1;
  OutlierReport capped = FindOutliers(amounts, options);
  ASSERT_EQ(capped.outliers.size(), 1u);
  EXPECT_EQ(capped.outliers[0].fact_id, 1999);
  EXPECT_EQ(capped.outliers_found, 2u);

  // A smaller minimum scores the third group too, and its amount ranks first.
  options.min_group_size = 5;
  options.max_outliers = 0;
  OutlierReport all = FindOutliers(amounts, options);
  EXPECT_EQ(all.groups_skipped, 0u);
  ASSERT_EQ(all.outliers.size(), 3u);
  EXPECT_EQ(all.outliers[0].fact_id, 3999);
  EXPECT_EQ(all.outliers[0].fiscal_year, 2021);
}

TEST(Outliers, LowAmountsCountByTheirMagnitude) {
  std::vector<PeerAmount> amounts = GroupOf(1, 40, 1);
  amounts.push_back(PeerAmount{1, 2020, -5'000'00, 99});  // a large credit
  OutlierReport report = FindOutliers(amounts, {});
  ASSERT_EQ(report.outliers.size(), 1u);
  EXPECT_EQ(report.outliers[0].fact_id, 99);
  EXPECT_LT(report.outliers[0].robust_z, -3.5);
}

}  // namespace
}  // namespace citybooks
