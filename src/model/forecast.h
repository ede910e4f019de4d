// Spending projected to the end of a fiscal year, per department, with a
// backtest against a naive baseline (last year's total).
//
// Monthly (a city with payment dates): seasonal shares of each fiscal month
// from the last complete years, a prior for the year's total (the recent
// years' totals grown by the recent year-on-year growth), and the run rate of the
// months seen so far; the more of the year is seen, the more the run rate
// counts (see ProjectFiscalYear). Yearly (a city with fiscal years only): a
// linear trend over the last five years, extrapolated one year.
//
// Errors are MAPE in percent: the mean over the backtest cases of
// |forecast - actual| / |actual| * 100, where a case is a cut-off month
// (1..11) of one of the last complete fiscal years (monthly) or one of the
// last years (yearly); the baseline's cases are the same years.
//
//   MonthlyHistory history{.first_fiscal_year = 2019, .years = months, .months_observed = 5};
//   Forecast forecast = ForecastMonthly(history, {});
//   // forecast.forecast: the projected total of fiscal year 2023
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace citybooks {

// Amounts of one department per fiscal month (index 0 = the fiscal year's
// first month) of consecutive fiscal years.
using FiscalMonths = std::array<double, 12>;

struct MonthlyHistory {
  int first_fiscal_year = 0;
  std::vector<FiscalMonths> years;  // first_fiscal_year, the next, ... the latest
  // Months of the latest year with data so far (1..12); 12: it is complete
  // and the next fiscal year is projected.
  int months_observed = 12;
};

struct YearlyHistory {
  int first_fiscal_year = 0;
  std::vector<double> totals;  // first_fiscal_year, the next, ... the latest (all complete)
};

struct ForecastOptions {
  int backtest_years = 2;  // the last complete fiscal years the backtest forecasts
};

// One period of a department's series: what happened and what was forecast.
struct ForecastPoint {
  int fiscal_year = 0;
  int fiscal_month = 0;  // 1..12; 0 for a yearly series
  std::optional<double> actual;
  std::optional<double> forecast;
};

struct Forecast {
  int fiscal_year = 0;                   // the fiscal year projected to its end
  double actual_to_date = 0;             // spent in it so far
  double forecast = 0;                   // its projected total
  int periods_observed = 0;              // months of it seen (monthly); 0 for a year not begun
  std::optional<double> backtest_error;  // MAPE %, none without a year to test on
  std::optional<double> baseline_error;  // the naive baseline's MAPE % on the same years
  int backtest_years_used = 0;
  // Every period with data, then the projected ones. Forecasts are given for
  // the projected year and for the latest backtest year (as forecast before
  // it began).
  std::vector<ForecastPoint> series;
};

// The method names stored in model_forecast.method and the error measure.
inline constexpr std::string_view kMonthlySeasonalMethod = "monthly_seasonal";
inline constexpr std::string_view kYearlyTrendMethod = "yearly_trend";
inline constexpr std::string_view kErrorMeasure = "MAPE %";

// Each fiscal month's average share of its year's total over the last (up to
// three) of `complete_years` whose total is positive; 1/12 each when none is.
FiscalMonths SeasonalShares(std::span<const FiscalMonths> complete_years);

// The geometric mean of the last (up to three) year-on-year ratios of
// `totals` between positive years, clamped to [0.5, 2]; 1 when there is none.
double TrendGrowth(std::span<const double> totals);

// The expected total of the year after `totals` before any of it is seen:
// each of the last (up to three) positive totals grown by TrendGrowth for
// every year until then, averaged (averaging tames a single year's large
// payments); the last total when none is positive.
double PriorTotal(std::span<const double> totals);

// The projected total of a fiscal year of which `months_observed` months
// (0..12) are known in `current`, after `complete_years`:
// with S the seasonal share of the observed months, the run rate
// R = to_date / S and the prior P = PriorTotal of the years' totals, the year's
// level is L = S * R + (1 - S) * P (L = R without a complete year) and the
// projection to_date + (1 - S) * L. `level` receives L when not null.
double ProjectFiscalYear(std::span<const FiscalMonths> complete_years, const FiscalMonths& current,
                         int months_observed, double* level = nullptr);

// Least squares line through the last (up to five) `totals` at x = 0, 1, ...,
// evaluated one step past the last; the last total when there is only one,
// 0 when there is none.
double LinearTrendForecast(std::span<const double> totals);

Forecast ForecastMonthly(const MonthlyHistory& history, const ForecastOptions& options);
Forecast ForecastYearly(const YearlyHistory& history, const ForecastOptions& options);

}  // namespace citybooks
