#include "model/forecast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace citybooks {
namespace {

FiscalMonths Flat(double value) {
  FiscalMonths months;
  months.fill(value);
  return months;
}

TEST(Forecast, SeasonalSharesAverageTheLastYears) {
  FiscalMonths first = Flat(10);  // 1/12 each
  FiscalMonths second = Flat(0);
  second[0] = 30;  // half the year in its first month
  second[11] = 30;
  std::vector<FiscalMonths> years = {first, second};
  FiscalMonths shares = SeasonalShares(years);
  EXPECT_DOUBLE_EQ(shares[0], (1.0 / 12 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(shares[5], (1.0 / 12) / 2);
  double total = 0;
  for (double share : shares) total += share;
  EXPECT_NEAR(total, 1.0, 1e-12);
  // No year with a positive total: uniform.
  std::vector<FiscalMonths> empty = {Flat(0)};
  EXPECT_DOUBLE_EQ(SeasonalShares(empty)[3], 1.0 / 12);
}

TEST(Forecast, TrendGrowthAndLinearTrendByHand) {
  std::vector<double> growing = {100, 110, 121};
  EXPECT_NEAR(TrendGrowth(growing), 1.1, 1e-12);
  std::vector<double> doubling = {1, 10, 100};
  EXPECT_EQ(TrendGrowth(doubling), 2.0);  // clamped
  std::vector<double> one = {50};
  EXPECT_EQ(TrendGrowth(one), 1.0);
  // 100 110 121 grow 10% a year: each grown to the next year is 133.1.
  EXPECT_NEAR(PriorTotal(growing), 133.1, 1e-9);
  // A noisy year is averaged with the others: 100, 150, 121 grow 10% a year
  // (geometric mean of 1.5 and 0.8067); each is grown to next year.
  std::vector<double> noisy_years = {100, 150, 121};
  const double g = std::sqrt(1.21);
  EXPECT_NEAR(PriorTotal(noisy_years), (100 * g * g * g + 150 * g * g + 121 * g) / 3, 1e-9);
  EXPECT_EQ(PriorTotal(std::vector<double>{}), 0);

  std::vector<double> line = {1, 2, 3};
  EXPECT_DOUBLE_EQ(LinearTrendForecast(line), 4);
  // The last five of six: 12 11 13 12 14, mean 12.4, slope 0.5 -> 12.4 + 0.5 * 3.
  std::vector<double> noisy = {10, 12, 11, 13, 12, 14};
  EXPECT_DOUBLE_EQ(LinearTrendForecast(noisy), 13.9);
  EXPECT_EQ(LinearTrendForecast(one), 50);
  EXPECT_EQ(LinearTrendForecast({}), 0);
}

TEST(Forecast, ProjectionBlendsRunRateAndPriorByHand) {
  // Two flat years of 120 and 132 (growth 1.1, prior 145.2); six months of
  // 12 seen: S = 0.5, level L = 72 + 0.5 * 145.2 = 144.6, projection
  // 72 + 0.5 * 144.6 = 144.3.
  std::vector<FiscalMonths> complete = {Flat(10), Flat(11)};
  FiscalMonths current{};
  for (int m = 0; m < 6; ++m) current[static_cast<size_t>(m)] = 12;
  double level = 0;
  EXPECT_NEAR(ProjectFiscalYear(complete, current, 6, &level), 144.3, 1e-9);
  EXPECT_NEAR(level, 144.6, 1e-9);
  // Nothing seen yet: the prior. Everything seen: what was spent.
  EXPECT_NEAR(ProjectFiscalYear(complete, FiscalMonths{}, 0), 145.2, 1e-9);
  EXPECT_NEAR(ProjectFiscalYear(complete, Flat(12), 12), 144, 1e-9);
  // No history: the run rate.
  EXPECT_NEAR(ProjectFiscalYear({}, current, 6), 144, 1e-9);
}

// A department's spending: a year-end push in June, a slow July and
// December, 8% growth a year, and +-4% noise from a fixed generator.
std::vector<FiscalMonths> SeasonalSeries(int years) {
  static constexpr std::array<double, 12> kSeason = {0.75, 0.9, 0.95, 1.0,  0.9, 0.8,
                                                     0.95, 1.0, 1.05, 1.05, 1.1, 1.5};
  uint64_t state = 12345;
  auto noise = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (static_cast<double>(state >> 11) * 0x1.0p-53 - 0.5) * 0.08;
  };
  std::vector<FiscalMonths> series;
  for (int y = 0; y < years; ++y) {
    FiscalMonths months;
    for (int m = 0; m < 12; ++m)
      months[static_cast<size_t>(m)] = 1'000'000 * std::pow(1.08, y + m / 12.0) *
                                       kSeason[static_cast<size_t>(m)] * (1 + noise());
    series.push_back(months);
  }
  return series;
}

double Total(const FiscalMonths& months) {
  double total = 0;
  for (double value : months) total += value;
  return total;
}

TEST(Forecast, SeasonalModelBeatsTheNaiveBaselineOnASeasonalSeries) {
  MonthlyHistory history;
  history.first_fiscal_year = 2018;
  history.years = SeasonalSeries(6);  // FY2018..FY2023, all complete
  Forecast forecast = ForecastMonthly(history, {});
  EXPECT_EQ(forecast.fiscal_year, 2024);  // the next year is projected
  EXPECT_EQ(forecast.periods_observed, 0);
  EXPECT_EQ(forecast.actual_to_date, 0);
  EXPECT_EQ(forecast.backtest_years_used, 2);
  ASSERT_TRUE(forecast.backtest_error.has_value());
  ASSERT_TRUE(forecast.baseline_error.has_value());
  // Naive is off by about the growth (8%); the model by the noise.
  EXPECT_GT(*forecast.baseline_error, 5.0);
  EXPECT_LT(*forecast.backtest_error, *forecast.baseline_error / 2);
  EXPECT_NEAR(forecast.forecast, Total(history.years.back()) * 1.08,
              Total(history.years.back()) * 0.05);
  // Six years of actuals and twelve projected months.
  ASSERT_EQ(forecast.series.size(), 7u * 12);
  EXPECT_EQ(forecast.series.front().fiscal_year, 2018);
  EXPECT_TRUE(forecast.series.front().actual.has_value());
  EXPECT_FALSE(forecast.series.front().forecast.has_value());
  const ForecastPoint& june = forecast.series.back();
  EXPECT_EQ(june.fiscal_year, 2024);
  EXPECT_EQ(june.fiscal_month, 12);
  EXPECT_FALSE(june.actual.has_value());
  ASSERT_TRUE(june.forecast.has_value());
  EXPECT_GT(*june.forecast, *forecast.series[forecast.series.size() - 12].forecast);  // June > July
  // The latest backtest year carries the forecast made before it began.
  EXPECT_TRUE(forecast.series[5 * 12].forecast.has_value());
  EXPECT_FALSE(forecast.series[4 * 12].forecast.has_value());
}

TEST(Forecast, PartialYearIsProjectedToItsEnd) {
  std::vector<FiscalMonths> series = SeasonalSeries(5);
  MonthlyHistory history;
  history.first_fiscal_year = 2019;
  history.years = series;
  history.months_observed = 5;  // FY2023 through November
  Forecast forecast = ForecastMonthly(history, {});
  EXPECT_EQ(forecast.fiscal_year, 2023);
  EXPECT_EQ(forecast.periods_observed, 5);
  double to_date = 0;
  for (int m = 0; m < 5; ++m) to_date += series.back()[static_cast<size_t>(m)];
  EXPECT_DOUBLE_EQ(forecast.actual_to_date, to_date);
  const double actual = Total(series.back());
  EXPECT_NEAR(forecast.forecast, actual, actual * 0.05);
  // The backtest uses the complete years only (FY2022 and FY2021).
  EXPECT_EQ(forecast.backtest_years_used, 2);
  ASSERT_EQ(forecast.series.size(), 5u * 12);
  EXPECT_TRUE(forecast.series[4 * 12 + 4].actual.has_value());   // November seen
  EXPECT_FALSE(forecast.series[4 * 12 + 5].actual.has_value());  // December not yet
  EXPECT_TRUE(forecast.series[4 * 12 + 5].forecast.has_value());
}

TEST(Forecast, YearlyTrendExtrapolatesAndBacktests) {
  YearlyHistory history;
  history.first_fiscal_year = 2016;
  history.totals = {100, 110, 120, 130, 140, 150, 160, 170};  // FY2016..FY2023
  Forecast forecast = ForecastYearly(history, {.backtest_years = 3});
  EXPECT_EQ(forecast.fiscal_year, 2024);
  EXPECT_NEAR(forecast.forecast, 180, 1e-9);
  EXPECT_EQ(forecast.backtest_years_used, 3);
  ASSERT_TRUE(forecast.backtest_error.has_value());
  EXPECT_NEAR(*forecast.backtest_error, 0, 1e-9);
  // Naive misses by 10 each year: (10/170 + 10/160 + 10/150) / 3.
  ASSERT_TRUE(forecast.baseline_error.has_value());
  EXPECT_NEAR(*forecast.baseline_error, (10.0 / 170 + 10.0 / 160 + 10.0 / 150) / 3 * 100, 1e-9);
  ASSERT_EQ(forecast.series.size(), 9u);
  EXPECT_EQ(forecast.series.back().fiscal_year, 2024);
  EXPECT_FALSE(forecast.series.back().actual.has_value());
  EXPECT_TRUE(forecast.series[7].forecast.has_value());   // FY2023, backtested
  EXPECT_FALSE(forecast.series[4].forecast.has_value());  // FY2020, not

  // One year of history: no backtest, no error to store.
  YearlyHistory short_history{2023, {42}};
  Forecast lone = ForecastYearly(short_history, {});
  EXPECT_EQ(lone.forecast, 42);
  EXPECT_FALSE(lone.backtest_error.has_value());
  EXPECT_FALSE(lone.baseline_error.has_value());
}

}  // namespace
}  // namespace citybooks
