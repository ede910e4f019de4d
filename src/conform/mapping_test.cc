#include "conform/mapping.h"

#include <gtest/gtest.h>

namespace citybooks {
namespace {

TEST(Mapping, BuiltInSanFranciscoMappingParses) {
  auto mapping = LoadMapping("sf-spending-revenue");
  ASSERT_TRUE(mapping) << mapping.error().message();
  EXPECT_EQ(mapping->fact_table, "fact_transaction");
  ASSERT_EQ(mapping->dimensions.size(), 4u);
  EXPECT_EQ(mapping->dimensions[0].table(), "dim_program");
  EXPECT_EQ(mapping->dimensions[0].id_column(), "program_id");
  EXPECT_EQ(mapping->dimensions[0].columns(),
            (std::vector<std::string>{"organization_group", "organization_group_code", "department",
                                      "department_code", "program", "program_code",
                                      "related_govt_units"}));
  EXPECT_EQ(mapping->null_placeholders.at("sub_object_code"), "NKEY");
  EXPECT_EQ(mapping->value_maps.at("related_govt_units").at("NO"), "No");
  EXPECT_EQ(mapping->fiscal_year_start_month, 7);
  EXPECT_EQ(mapping->RequiredColumns().size(), 22u);
}

TEST(Mapping, UnknownMappingNamesTheBuiltIns) {
  auto mapping = LoadMapping("no-such-city");
  ASSERT_FALSE(mapping);
  EXPECT_NE(mapping.error().message().find("sf-spending-revenue"), std::string::npos);
}

TEST(Mapping, ColumnUsedTwiceIsAnError) {
  auto mapping = ParseMapping(R"(
name = "x"
fact_table = "fact_x"
fiscal_year = "year"
[[dimensions]]
name = "a"
levels = [{ name = "dept", code = "dept_code" }]
[[dimensions]]
name = "b"
levels = [{ name = "dept" }]
)",
                              "x.toml");
  ASSERT_FALSE(mapping);
  EXPECT_NE(mapping.error().message().find("'dept' twice"), std::string::npos)
      << mapping.error().message();
}

TEST(Mapping, IdentifiersMustBeSqlSafe) {
  auto mapping = ParseMapping(R"(
name = "x"
fact_table = "fact; DROP TABLE y"
fiscal_year = "year"
[[dimensions]]
name = "a"
levels = [{ name = "dept" }]
)",
                              "x.toml");
  ASSERT_FALSE(mapping);
  EXPECT_NE(mapping.error().message().find("fact_table"), std::string::npos);
}

TEST(Mapping, SourceColumnsRenameHeaders) {
  auto mapping = ParseMapping(R"(
name = "x"
fact_table = "fact_x"
fiscal_year = "year"
[columns]
dept = "Dept. Descrptn"
[[dimensions]]
name = "a"
levels = [{ name = "dept" }]
)",
                              "x.toml");
  ASSERT_TRUE(mapping) << mapping.error().message();
  EXPECT_EQ(mapping->SourceColumn("dept"), "Dept. Descrptn");
  EXPECT_EQ(mapping->SourceColumn("year"), "year");
}

}  // namespace
}  // namespace citybooks

namespace citybooks {
namespace {

TEST(Mapping, BuiltInPhoenixMappingDerivesTimeFromThePaymentDate) {
  auto mapping = LoadMapping("phoenix-checkbook");
  ASSERT_TRUE(mapping) << mapping.error().message();
  EXPECT_EQ(mapping->fact_table, "fact_payment");
  EXPECT_EQ(mapping->TimeColumns(),
            (std::vector<std::string>{"payment_date", "fiscal_year", "fiscal_month"}));
  EXPECT_EQ(mapping->partition, Partition::kFiscalMonth);
  EXPECT_EQ(mapping->PartitionExpression("f"), "(f.\"fiscal_year\" * 100 + f.\"fiscal_month\")");
  EXPECT_EQ(mapping->SourceColumn("department"), "Dept. Descrptn");
  EXPECT_EQ(mapping->amount_format, AmountFormat::kAccounting);
  ASSERT_EQ(mapping->dimensions.size(), 3u);
  EXPECT_EQ(mapping->dimensions[1].key_rule, KeyRule::kVendorName);
}

TEST(Mapping, DateMappingsCannotAlsoNameAFiscalYearColumn) {
  auto mapping = ParseMapping(R"(
name = "x"
fact_table = "fact_x"
fiscal_year = "year"
[date]
column = "paid"
[[dimensions]]
name = "a"
levels = [{ name = "dept" }]
)",
                              "x.toml");
  ASSERT_FALSE(mapping);
  EXPECT_NE(mapping.error().message().find("derived"), std::string::npos)
      << mapping.error().message();
}

TEST(Mapping, BuiltInMappingsDeclareTheirModels) {
  auto sf = LoadMapping("sf-spending-revenue");
  ASSERT_TRUE(sf) << sf.error().message();
  EXPECT_EQ(sf->models.benford_groups, (std::vector<std::string>{"dataset", "department"}));
  EXPECT_EQ(sf->models.outlier_peer_group,
            (std::vector<std::string>{"fiscal_year", "department", "object"}));
  EXPECT_EQ(sf->models.department, "department");
  EXPECT_FALSE(sf->models.duplicates);
  EXPECT_EQ(sf->models.forecast, ForecastKind::kYearly);
  EXPECT_EQ(sf->models.forecast_filter_column, "revenue_or_spending");
  EXPECT_EQ(sf->models.forecast_filter_equals, (std::vector<std::string>{"Spending"}));

  auto phoenix = LoadMapping("phoenix-checkbook");
  ASSERT_TRUE(phoenix) << phoenix.error().message();
  EXPECT_EQ(phoenix->models.benford_groups,
            (std::vector<std::string>{"dataset", "department", "vendor"}));
  EXPECT_EQ(phoenix->models.outlier_peer_group, (std::vector<std::string>{"department", "item"}));
  EXPECT_TRUE(phoenix->models.duplicates);
  EXPECT_EQ(phoenix->models.duplicate_vendor, "vendor");
  EXPECT_EQ(phoenix->models.duplicate_date, "payment_date");
  EXPECT_EQ(phoenix->models.duplicate_detail, "item");
  EXPECT_EQ(phoenix->models.forecast, ForecastKind::kMonthly);
}

constexpr char kCityWithoutDates[] = R"(
name = "x"
fact_table = "fact_x"
fiscal_year = "year"
[[dimensions]]
name = "agency"
levels = [{ name = "agency" }]
[[dimensions]]
name = "payee"
levels = [{ name = "payee" }]
)";

TEST(Mapping, WithoutAModelsSectionOnlyTheWholeDatasetIsTested) {
  auto mapping = ParseMapping(kCityWithoutDates, "x.toml");
  ASSERT_TRUE(mapping) << mapping.error().message();
  EXPECT_EQ(mapping->models.benford_groups, (std::vector<std::string>{"dataset"}));
  EXPECT_TRUE(mapping->models.outlier_peer_group.empty());
  EXPECT_FALSE(mapping->models.duplicates);
  EXPECT_EQ(mapping->models.forecast, ForecastKind::kNone);
}

TEST(Mapping, ModelsNameColumnsOfTheMappingAndSayWhatIsWrongWhere) {
  struct Case {
    std::string models;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"benford_groups = [\"agency\", \"vendor\"]",
       "models.benford_groups (line 13) names 'vendor'"},
      {"outlier_peer_group = [\"year\", \"color\"]", "models.outlier_peer_group (line 13)"},
      {"duplicates = true\nduplicate_vendor = \"payee\"",
       "models.duplicates (line 13) needs payment dates"},
      {"forecast = \"monthly\"\ndepartment = \"agency\"", "models.forecast (line 13) must be"},
      {"forecast = \"yearly\"", "needs department"},
      {"forecast = \"weekly\"", "models.forecast (line 13)"},
      {"forecast_filter_column = \"agency\"", "needs forecast_filter_equals"},
      {"outlier_treshold = 3", "unknown key models.outlier_treshold (line 13)"},
      {"duplicates = \"yes\"", "models.duplicates (line 13) must be"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.models);
    auto mapping =
        ParseMapping(std::string(kCityWithoutDates) + "\n[models]\n" + c.models + "\n", "x.toml");
    ASSERT_FALSE(mapping);
    EXPECT_EQ(mapping.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(mapping.error().message().find(c.needle), std::string::npos)
        << mapping.error().message();
  }
  auto good =
      ParseMapping(std::string(kCityWithoutDates) +
                       "\n[models]\nbenford_groups = [\"payee\"]\noutlier_peer_group = "
                       "[\"year\", \"agency\"]\ndepartment = \"agency\"\nforecast = \"yearly\"\n",
                   "x.toml");
  ASSERT_TRUE(good) << good.error().message();
  EXPECT_EQ(good->models.benford_groups, (std::vector<std::string>{"payee"}));
}

TEST(PartitionsText, NamesYearsAsRangesOrListsAndMonthsUpToTheListedCount) {
  EXPECT_EQ(PartitionsText({}, 4), "");
  EXPECT_EQ(PartitionsText({2020}, 4), "fiscal year 2020");
  EXPECT_EQ(PartitionsText({2015, 2016, 2017}, 1), "fiscal years 2015-2017");
  EXPECT_EQ(PartitionsText({2015, 2018}, 1), "fiscal years 2015, 2018");
  EXPECT_EQ(PartitionsText({202201}, 1), "fiscal month FY2022/01");
  EXPECT_EQ(PartitionsText({202201, 202202}, 4), "fiscal months FY2022/01, FY2022/02");
  EXPECT_EQ(PartitionsText({202201, 202202}, 1), "2 fiscal months, FY2022/01 to FY2022/02");
}

}  // namespace
}  // namespace citybooks
