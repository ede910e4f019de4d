#include "model/outliers.h"

#include <algorithm>
#include <cmath>

namespace citybooks {

namespace {

// 0.6745 is the 75th percentile of the standard normal: MAD / 0.6745
// estimates the standard deviation of normal data. The mean absolute
// deviation of normal data is sqrt(2 / pi) sigma, hence 1.2533.
constexpr double kMadScale = 0.6745;
constexpr double kMeanDeviationScale = 1.2533141373155;

}  // namespace

double Median(std::span<const double> sorted) {
  if (sorted.empty()) return 0;
  const size_t middle = sorted.size() / 2;
  if (sorted.size() % 2 == 1) return sorted[middle];
  return (sorted[middle - 1] + sorted[middle]) / 2.0;
}

RobustStats ComputeRobustStats(std::span<const double> values) {
  RobustStats stats;
  if (values.empty()) return stats;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  stats.median = Median(sorted);
  double total = 0;
  for (double& value : sorted) {
    value = std::fabs(value - stats.median);
    total += value;
  }
  std::sort(sorted.begin(), sorted.end());
  stats.mad = Median(sorted);
  stats.mean_absolute_deviation = total / static_cast<double>(sorted.size());
  return stats;
}

double RobustZ(double x, const RobustStats& stats) {
  if (stats.mad > 0) return kMadScale * (x - stats.median) / stats.mad;
  if (stats.mean_absolute_deviation > 0)
    return (x - stats.median) / (kMeanDeviationScale * stats.mean_absolute_deviation);
  return 0;
}

OutlierReport FindOutliers(std::vector<PeerAmount> amounts, const OutlierOptions& options) {
  OutlierReport report;
  std::sort(amounts.begin(), amounts.end(), [](const PeerAmount& a, const PeerAmount& b) {
    if (a.group != b.group) return a.group < b.group;
    if (a.cents != b.cents) return a.cents < b.cents;
    return a.fact_id < b.fact_id;
  });
  std::vector<double> dollars;
  for (size_t start = 0; start < amounts.size();) {
    size_t end = start;
    while (end < amounts.size() && amounts[end].group == amounts[start].group) ++end;
    const size_t size = end - start;
    if (size < options.min_group_size || size == 0) {
      ++report.groups_skipped;
      start = end;
      continue;
    }
    ++report.groups_scored;
    dollars.clear();
    for (size_t i = start; i < end; ++i)
      dollars.push_back(static_cast<double>(amounts[i].cents) / 100.0);
    const RobustStats stats = ComputeRobustStats(dollars);
    for (size_t i = start; i < end; ++i) {
      const double z = RobustZ(dollars[i - start], stats);
      if (std::fabs(z) < options.threshold) continue;
      Outlier outlier;
      outlier.group = amounts[i].group;
      outlier.fiscal_year = amounts[i].fiscal_year;
      outlier.cents = amounts[i].cents;
      outlier.fact_id = amounts[i].fact_id;
      outlier.median = stats.median;
      outlier.mad = stats.mad;
      outlier.robust_z = z;
      report.outliers.push_back(outlier);
    }
    start = end;
  }
  report.outliers_found = report.outliers.size();
  auto by_strength = [](const Outlier& a, const Outlier& b) {
    const double za = std::fabs(a.robust_z);
    const double zb = std::fabs(b.robust_z);
    if (za != zb) return za > zb;
    return a.fact_id < b.fact_id;
  };
  if (options.max_outliers > 0 && report.outliers.size() > options.max_outliers) {
    std::partial_sort(report.outliers.begin(),
                      report.outliers.begin() + static_cast<std::ptrdiff_t>(options.max_outliers),
                      report.outliers.end(), by_strength);
    report.outliers.resize(options.max_outliers);
  } else {
    std::sort(report.outliers.begin(), report.outliers.end(), by_strength);
  }
  for (size_t i = 0; i < report.outliers.size(); ++i)
    report.outliers[i].rank = static_cast<int64_t>(i + 1);
  return report;
}

}  // namespace citybooks
