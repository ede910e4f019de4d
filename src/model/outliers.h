// Outlying amounts within peer groups by the robust z-score
// z = 0.6745 * (x - median) / MAD, where MAD is the median absolute deviation
// from the median: a few extreme amounts cannot hide themselves by inflating
// the spread, as they would with a mean and standard deviation.
//
//   std::vector<PeerAmount> amounts = ...;  // (peer group, cents, fact id)
//   OutlierOptions options{.threshold = 3.5, .min_group_size = 30};
//   OutlierReport report = FindOutliers(std::move(amounts), options);
//   for (const Outlier& outlier : report.outliers) ...  // ranked by |z|
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace citybooks {

// The centre and spread of one group of values.
struct RobustStats {
  double median = 0;
  double mad = 0;  // median of |x - median|
  // Used when MAD is 0 (more than half the values are equal): the mean of
  // |x - median|, which is 0 only when every value equals the median.
  double mean_absolute_deviation = 0;
};

// The median of `sorted` (ascending; the mean of the two middle values of an
// even count); 0 for an empty span.
double Median(std::span<const double> sorted);

// Median, MAD and mean absolute deviation of `values` (any order; copied).
RobustStats ComputeRobustStats(std::span<const double> values);

// The robust z-score of `x`: 0.6745 * (x - median) / MAD. When MAD is 0 the
// mean absolute deviation stands in, scaled to estimate the same standard
// deviation ((x - median) / (1.2533 * mean absolute deviation)); when that
// is 0 too every value is the median and the score is 0.
double RobustZ(double x, const RobustStats& stats);

// One amount and the peer group it is compared within.
struct PeerAmount {
  uint32_t group = 0;       // caller's peer-group index
  int32_t fiscal_year = 0;  // carried to the outlier (it fits in the padding)
  int64_t cents = 0;
  int64_t fact_id = 0;
};

struct OutlierOptions {
  double threshold = 3.5;      // |z| at or above this is an outlier
  size_t min_group_size = 30;  // smaller groups are skipped (too few to judge)
  size_t max_outliers = 1000;  // only the highest |z| are kept; 0: all
};

struct Outlier {
  uint32_t group = 0;
  int32_t fiscal_year = 0;
  int64_t cents = 0;
  int64_t fact_id = 0;
  double median = 0;  // of the group, in dollars
  double mad = 0;     // of the group, in dollars
  double robust_z = 0;
  int64_t rank = 0;  // 1 = the largest |z| of all groups
};

struct OutlierReport {
  std::vector<Outlier> outliers;  // by |z| descending, ties by fact id
  size_t groups_scored = 0;       // groups with at least min_group_size amounts
  size_t groups_skipped = 0;      // smaller groups
  size_t outliers_found = 0;      // before max_outliers cut the list
};

// Scores every amount within its group (in dollars) and returns those with
// |z| >= threshold, ranked. Memory: `amounts` itself (24 bytes an amount),
// sorted in place by group.
OutlierReport FindOutliers(std::vector<PeerAmount> amounts, const OutlierOptions& options);

}  // namespace citybooks
