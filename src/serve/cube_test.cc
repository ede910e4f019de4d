// The cube model derived from the built-in mappings: refs, columns, time
// dimensions and the babbage model JSON.
#include "serve/cube.h"

#include <gtest/gtest.h>

namespace citybooks {
namespace {

Cube BuiltIn(const std::string& name) {
  auto mapping = LoadMapping(name);
  EXPECT_TRUE(mapping.has_value()) << (mapping ? "" : mapping.error().message());
  auto cube = Cube::Make(name, *mapping);
  EXPECT_TRUE(cube.has_value()) << (cube ? "" : cube.error().message());
  return *cube;
}

TEST(Cube, SanFranciscoRefsNameDimensionAndAttribute) {
  Cube cube = BuiltIn("sf-spending-revenue");
  EXPECT_EQ(cube.schema(), "sf_spending_revenue");
  const CubeAttribute* department = cube.FindAttribute("program.department");
  ASSERT_NE(department, nullptr);
  EXPECT_EQ(department->column, "department");
  EXPECT_EQ(department->code_column, "department_code");
  EXPECT_TRUE(department->level);
  EXPECT_FALSE(department->is_time());
  const CubeAttribute* code = cube.FindAttribute("program.department_code");
  ASSERT_NE(code, nullptr);
  EXPECT_FALSE(code->level);
  ASSERT_NE(cube.FindAttribute("program.related_govt_units"), nullptr);
  EXPECT_EQ(cube.FindAttribute("department"), nullptr);
  EXPECT_EQ(cube.FindAttribute("program.nonsense"), nullptr);
}

TEST(Cube, TimeColumnsAreTheirOwnDimension) {
  Cube cube = BuiltIn("sf-spending-revenue");
  const CubeAttribute* year = cube.FindAttribute("fiscal_year");
  ASSERT_NE(year, nullptr);
  EXPECT_TRUE(year->is_time());
  EXPECT_TRUE(year->integer);
  EXPECT_EQ(cube.FindAttribute("fiscal_year.fiscal_year"), year);
  Cube phoenix = BuiltIn("phoenix-checkbook");
  ASSERT_NE(phoenix.FindAttribute("fiscal_month"), nullptr);
  EXPECT_TRUE(phoenix.FindAttribute("fiscal_month")->integer);
  ASSERT_NE(phoenix.FindAttribute("payment_date"), nullptr);
  EXPECT_FALSE(phoenix.FindAttribute("payment_date")->integer);
}

TEST(Cube, VendorNameKeyIsAnAttribute) {
  Cube cube = BuiltIn("phoenix-checkbook");
  const CubeAttribute* vendor = cube.FindAttribute("vendor.vendor");
  ASSERT_NE(vendor, nullptr);
  EXPECT_EQ(vendor->key_column, "vendor_key");
  ASSERT_NE(cube.FindAttribute("vendor.vendor_key"), nullptr);
}

TEST(Cube, ModelJsonHasBabbageShape) {
  Cube cube = BuiltIn("sf-spending-revenue");
  nlohmann::ordered_json model = cube.ModelJson();
  const auto& program = model["dimensions"]["program"];
  EXPECT_EQ(program["label"], "Program");
  EXPECT_EQ(program["hierarchy"],
            nlohmann::ordered_json({"organization_group", "department", "program"}));
  EXPECT_EQ(program["attributes"]["organization_group"]["ref"], "program.organization_group");
  EXPECT_EQ(program["attributes"]["organization_group"]["label"], "Organization Group");
  EXPECT_EQ(program["attributes"]["organization_group"]["column"], "organization_group");
  EXPECT_EQ(model["dimensions"]["fiscal_year"]["attributes"]["fiscal_year"]["ref"], "fiscal_year");
  EXPECT_EQ(model["measures"]["amount"]["label"], "Amount");
  EXPECT_EQ(model["aggregates"]["amount.sum"]["function"], "sum");
  EXPECT_EQ(model["aggregates"]["amount.sum"]["measure"], "amount");
  EXPECT_EQ(model["aggregates"]["_count"]["function"], "count");
}

TEST(Cube, MeasuresAreNotAttributes) {
  Cube cube = BuiltIn("sf-spending-revenue");
  EXPECT_TRUE(cube.IsMeasure("amount"));
  EXPECT_TRUE(cube.IsMeasure("amount.sum"));
  EXPECT_TRUE(cube.IsMeasure("_count"));
  EXPECT_FALSE(cube.IsMeasure("program.department"));
}

}  // namespace
}  // namespace citybooks
