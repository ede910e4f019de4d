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

}  // namespace
}  // namespace citybooks
