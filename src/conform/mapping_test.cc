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
