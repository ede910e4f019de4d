#include "check/checks.h"

#include <gtest/gtest.h>

namespace citybooks {
namespace {

using namespace std::chrono;

sys_days Day(int y, unsigned m, unsigned d) {
  return sys_days(year_month_day(year(y), month(m), day(d)));
}

TEST(DaysSince, CountsFromAnIsoDateOrTimestamp) {
  auto now = Day(2024, 7, 10);
  EXPECT_DOUBLE_EQ(*DaysSince("2024-06-30", 7, now), 10.0);
  EXPECT_DOUBLE_EQ(*DaysSince("2024-07-10T00:00:00Z", 7, now), 0.0);
}

TEST(DaysSince, CountsABareFiscalYearFromItsLastDay) {
  // FY2024 with a July start ends on 2024-06-30.
  EXPECT_DOUBLE_EQ(*DaysSince("2024", 7, Day(2024, 7, 10)), 10.0);
  EXPECT_DOUBLE_EQ(*DaysSince("2024", 1, Day(2025, 1, 1)), 1.0);
}

TEST(DaysSince, RefusesWhatIsNotADate) {
  auto now = Day(2024, 7, 10);
  EXPECT_FALSE(DaysSince("", 7, now));
  EXPECT_FALSE(DaysSince("yesterday", 7, now));
  EXPECT_FALSE(DaysSince("2024-13-40", 7, now));
}

TEST(BuiltInChecks, CoverKeysEveryCodedLevelAndReconcile) {
  auto mapping = LoadMapping("sf-spending-revenue");
  ASSERT_TRUE(mapping);
  std::vector<std::string> names;
  for (const CheckSpec& check : BuiltInChecks(*mapping, {})) names.push_back(check.name);
  for (const char* expected :
       {"not_null:fact_transaction:keys", "many_to_one:dim_program:organization_group",
        "many_to_one:dim_program:department", "many_to_one:dim_program:program",
        "many_to_one:dim_type:character", "many_to_one:dim_type:object",
        "many_to_one:dim_type:sub_object", "many_to_one:dim_fund:fund_type",
        "many_to_one:dim_fund:fund", "many_to_one:dim_fund:fund_category",
        "accepted_values:dim_finance:revenue_or_spending", "reconcile"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
}

}  // namespace
}  // namespace citybooks
