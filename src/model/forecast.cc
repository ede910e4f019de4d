#include "model/forecast.h"

#include <algorithm>
#include <cmath>

namespace citybooks {

namespace {

constexpr size_t kSeasonYears = 3;
constexpr size_t kGrowthYears = 3;
constexpr size_t kTrendYears = 5;

double Total(const FiscalMonths& months) {
  double total = 0;
  for (double value : months) total += value;
  return total;
}

double SumFirst(const FiscalMonths& months, int count) {
  double total = 0;
  for (int i = 0; i < count && i < 12; ++i) total += months[static_cast<size_t>(i)];
  return total;
}

// |forecast - actual| / |actual| in percent; none when the actual is 0.
std::optional<double> PercentError(double forecast, double actual) {
  if (actual == 0) return std::nullopt;
  return std::fabs(forecast - actual) / std::fabs(actual) * 100.0;
}

struct ErrorSums {
  double model = 0;
  double baseline = 0;
  int model_cases = 0;
  int baseline_cases = 0;
  int years = 0;
};

void SetErrors(const ErrorSums& sums, Forecast* forecast) {
  forecast->backtest_years_used = sums.years;
  if (sums.model_cases > 0) forecast->backtest_error = sums.model / sums.model_cases;
  if (sums.baseline_cases > 0) forecast->baseline_error = sums.baseline / sums.baseline_cases;
}

}  // namespace

FiscalMonths SeasonalShares(std::span<const FiscalMonths> complete_years) {
  FiscalMonths shares{};
  size_t used = 0;
  for (size_t i = complete_years.size(); i-- > 0 && used < kSeasonYears;) {
    const double total = Total(complete_years[i]);
    if (total <= 0) continue;
    for (size_t m = 0; m < 12; ++m) shares[m] += complete_years[i][m] / total;
    ++used;
  }
  if (used == 0) {
    shares.fill(1.0 / 12.0);
    return shares;
  }
  for (double& share : shares) share /= static_cast<double>(used);
  return shares;
}

double TrendGrowth(std::span<const double> totals) {
  double log_sum = 0;
  size_t used = 0;
  for (size_t i = totals.size(); i-- > 1 && used < kGrowthYears;) {
    if (totals[i] <= 0 || totals[i - 1] <= 0) continue;
    log_sum += std::log(totals[i] / totals[i - 1]);
    ++used;
  }
  if (used == 0) return 1.0;
  return std::clamp(std::exp(log_sum / static_cast<double>(used)), 0.5, 2.0);
}

double PriorTotal(std::span<const double> totals) {
  if (totals.empty()) return 0;
  const double growth = TrendGrowth(totals);
  double sum = 0;
  int used = 0;
  for (size_t back = 1; back <= kSeasonYears && back <= totals.size(); ++back) {
    const double total = totals[totals.size() - back];
    if (total <= 0) continue;
    sum += total * std::pow(growth, static_cast<double>(back));
    ++used;
  }
  return used > 0 ? sum / used : totals.back();
}

double ProjectFiscalYear(std::span<const FiscalMonths> complete_years, const FiscalMonths& current,
                         int months_observed, double* level) {
  months_observed = std::clamp(months_observed, 0, 12);
  const FiscalMonths shares = SeasonalShares(complete_years);
  double seen_share = 0;
  for (int m = 0; m < months_observed; ++m) seen_share += shares[static_cast<size_t>(m)];
  seen_share = std::clamp(seen_share, 0.0, 1.0);
  const double to_date = SumFirst(current, months_observed);
  double annual = 0;
  if (complete_years.empty()) {
    annual = seen_share > 0 ? to_date / seen_share : 0;
  } else {
    std::vector<double> totals;
    for (const FiscalMonths& year : complete_years) totals.push_back(Total(year));
    const double prior = PriorTotal(totals);
    // seen_share * run rate is to_date itself.
    annual = seen_share > 0 ? to_date + (1 - seen_share) * prior : prior;
  }
  if (level != nullptr) *level = annual;
  return to_date + (1 - seen_share) * annual;
}

double LinearTrendForecast(std::span<const double> totals) {
  if (totals.empty()) return 0;
  if (totals.size() == 1) return totals.front();
  const size_t count = std::min(totals.size(), kTrendYears);
  const auto last = totals.subspan(totals.size() - count);
  const double n = static_cast<double>(count);
  double mean_x = (n - 1) / 2.0;
  double mean_y = 0;
  for (double value : last) mean_y += value;
  mean_y /= n;
  double sxy = 0;
  double sxx = 0;
  for (size_t i = 0; i < count; ++i) {
    const double dx = static_cast<double>(i) - mean_x;
    sxy += dx * (last[i] - mean_y);
    sxx += dx * dx;
  }
  const double slope = sxy / sxx;
  return mean_y + slope * (n - mean_x);
}

Forecast ForecastMonthly(const MonthlyHistory& history, const ForecastOptions& options) {
  Forecast forecast;
  const int years = static_cast<int>(history.years.size());
  if (years == 0) return forecast;
  const int months_observed = std::clamp(history.months_observed, 1, 12);
  const int latest = history.first_fiscal_year + years - 1;
  // Complete years: all but a partial latest one.
  const int complete = months_observed == 12 ? years : years - 1;
  std::span<const FiscalMonths> all(history.years);

  // The projected year: the latest if it is under way, else the next.
  FiscalMonths current{};
  int observed = 0;
  if (complete < years) {
    current = history.years.back();
    observed = months_observed;
    forecast.fiscal_year = latest;
  } else {
    forecast.fiscal_year = latest + 1;
  }
  double level = 0;
  forecast.forecast =
      ProjectFiscalYear(all.first(static_cast<size_t>(complete)), current, observed, &level);
  forecast.actual_to_date = SumFirst(current, observed);
  forecast.periods_observed = observed;
  const FiscalMonths shares = SeasonalShares(all.first(static_cast<size_t>(complete)));

  // Backtest: the last complete years, each after at least one complete year,
  // forecast after each of its first 11 months.
  ErrorSums sums;
  int latest_backtest = -1;
  for (int y = complete - 1; y >= 1 && sums.years < options.backtest_years; --y) {
    const FiscalMonths& year = history.years[static_cast<size_t>(y)];
    const double actual = Total(year);
    if (actual == 0) continue;
    ++sums.years;
    if (latest_backtest < 0) latest_backtest = y;
    for (int cut = 1; cut <= 11; ++cut) {
      const double projected = ProjectFiscalYear(all.first(static_cast<size_t>(y)), year, cut);
      if (auto error = PercentError(projected, actual)) {
        sums.model += *error;
        ++sums.model_cases;
      }
    }
    if (auto error = PercentError(Total(history.years[static_cast<size_t>(y - 1)]), actual)) {
      sums.baseline += *error;
      ++sums.baseline_cases;
    }
  }
  SetErrors(sums, &forecast);

  // The series: actuals, the latest backtest year as forecast before it
  // began, and the projected year.
  FiscalMonths backtest_shares{};
  double backtest_prior = 0;
  if (latest_backtest >= 0) {
    auto before = all.first(static_cast<size_t>(latest_backtest));
    backtest_shares = SeasonalShares(before);
    backtest_prior = ProjectFiscalYear(before, FiscalMonths{}, 0);
  }
  for (int y = 0; y < years; ++y) {
    const int fiscal_year = history.first_fiscal_year + y;
    for (int m = 1; m <= 12; ++m) {
      ForecastPoint point;
      point.fiscal_year = fiscal_year;
      point.fiscal_month = m;
      const bool known = y < complete || m <= observed;
      if (known) point.actual = history.years[static_cast<size_t>(y)][static_cast<size_t>(m - 1)];
      if (y == latest_backtest)
        point.forecast = backtest_prior * backtest_shares[static_cast<size_t>(m - 1)];
      if (fiscal_year == forecast.fiscal_year)
        point.forecast = level * shares[static_cast<size_t>(m - 1)];
      forecast.series.push_back(point);
    }
  }
  if (forecast.fiscal_year > latest) {
    for (int m = 1; m <= 12; ++m)
      forecast.series.push_back(
          ForecastPoint{forecast.fiscal_year, m, std::nullopt, level * shares[m - 1]});
  }
  return forecast;
}

Forecast ForecastYearly(const YearlyHistory& history, const ForecastOptions& options) {
  Forecast forecast;
  const int years = static_cast<int>(history.totals.size());
  if (years == 0) return forecast;
  std::span<const double> all(history.totals);
  forecast.fiscal_year = history.first_fiscal_year + years;
  forecast.forecast = LinearTrendForecast(all);
  forecast.actual_to_date = 0;
  forecast.periods_observed = 0;

  // Backtest: the last years, each forecast from at least two years before it.
  ErrorSums sums;
  std::vector<std::optional<double>> backtest(history.totals.size());
  for (int y = years - 1; y >= 2 && sums.years < options.backtest_years; --y) {
    const double actual = history.totals[static_cast<size_t>(y)];
    if (actual == 0) continue;
    ++sums.years;
    const double projected = LinearTrendForecast(all.first(static_cast<size_t>(y)));
    backtest[static_cast<size_t>(y)] = projected;
    if (auto error = PercentError(projected, actual)) {
      sums.model += *error;
      ++sums.model_cases;
    }
    if (auto error = PercentError(history.totals[static_cast<size_t>(y - 1)], actual)) {
      sums.baseline += *error;
      ++sums.baseline_cases;
    }
  }
  SetErrors(sums, &forecast);
  for (int y = 0; y < years; ++y)
    forecast.series.push_back(ForecastPoint{history.first_fiscal_year + y, 0,
                                            history.totals[static_cast<size_t>(y)],
                                            backtest[static_cast<size_t>(y)]});
  forecast.series.push_back(
      ForecastPoint{forecast.fiscal_year, 0, std::nullopt, forecast.forecast});
  return forecast;
}

}  // namespace citybooks
