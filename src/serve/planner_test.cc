// The planner picks the smallest aggregate table holding every column a
// request reads, falls back to the facts otherwise, and binds every value.
#include "serve/planner.h"

#include <gtest/gtest.h>

namespace citybooks {
namespace {

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mapping = LoadMapping("sf-spending-revenue");
    ASSERT_TRUE(mapping.has_value());
    cube_ = std::make_unique<Cube>(*Cube::Make("sf-spending-revenue", *mapping));
    int64_t rows = 100;
    for (const AggregateSpec& spec : cube_->mapping().aggregates)
      tables_.push_back({&spec, rows++});
  }
  const CubeAttribute* Attribute(const std::string& ref) { return cube_->FindAttribute(ref); }
  std::unique_ptr<Cube> cube_;
  std::vector<AggregateTable> tables_;
};

TEST_F(PlannerTest, AnswersFromTheSmallestCoveringAggregate) {
  AggregateQuery query;
  query.drilldowns = {Attribute("program.organization_group"), Attribute("fiscal_year")};
  query.aggregates = {cube_->FindAggregate("amount.sum"), cube_->FindAggregate("_count")};
  AggregatePlan plan = PlanAggregate(*cube_, query, tables_);
  EXPECT_EQ(plan.source, "agg_organization_group");
  EXPECT_NE(plan.cells.sql.find("SUM(a.transactions)"), std::string::npos) << plan.cells.sql;
  // Both the page and the summary read the same table.
  EXPECT_NE(plan.summary.sql.find("agg_organization_group"), std::string::npos);
}

TEST_F(PlannerTest, PrefersTheTableWithFewerRows) {
  std::vector<AggregateTable> tables = tables_;
  for (AggregateTable& table : tables)
    if (table.spec->name == "department") table.rows = 1;
  AggregateQuery query;
  query.drilldowns = {Attribute("program.organization_group")};
  query.aggregates = {cube_->FindAggregate("_count")};
  EXPECT_EQ(PlanAggregate(*cube_, query, tables).source, "agg_department");
}

TEST_F(PlannerTest, FallsBackToFactsJoinedWithTheirDimensions) {
  AggregateQuery query;
  query.drilldowns = {Attribute("program.department_code")};
  query.aggregates = {cube_->FindAggregate("amount.sum")};
  AggregatePlan plan = PlanAggregate(*cube_, query, tables_);
  EXPECT_EQ(plan.source, "fact_transaction");
  EXPECT_NE(plan.cells.sql.find("JOIN \"sf_spending_revenue\".\"dim_program\" d0"),
            std::string::npos)
      << plan.cells.sql;
  EXPECT_EQ(plan.cells.sql.find("dim_type"), std::string::npos) << plan.cells.sql;
}

TEST_F(PlannerTest, CutsAreBoundParametersNeverText) {
  AggregateQuery query;
  query.drilldowns = {Attribute("program.department")};
  Cut cut;
  cut.attribute = Attribute("program.organization_group");
  cut.values = {{CutValue::Kind::kText, "x' OR 1=1 --", 0, 0}};
  Cut years;
  years.attribute = Attribute("fiscal_year");
  years.values = {{CutValue::Kind::kRange, "2019-2021", 2019, 2021},
                  {CutValue::Kind::kInteger, "2023", 2023, 0}};
  query.cuts = {cut, years};
  query.aggregates = {cube_->FindAggregate("amount.sum")};
  query.order = {{"amount.sum", true}};
  AggregatePlan plan = PlanAggregate(*cube_, query, tables_);
  EXPECT_EQ(plan.source, "agg_department");
  EXPECT_EQ(plan.cells.sql.find("OR 1=1"), std::string::npos);
  EXPECT_NE(plan.cells.sql.find("(a.\"fiscal_year\" = ? OR a.\"fiscal_year\" BETWEEN ? AND ?)"),
            std::string::npos)
      << plan.cells.sql;
  EXPECT_NE(plan.cells.sql.find("ORDER BY x0 DESC, c0 ASC LIMIT ? OFFSET ?"), std::string::npos)
      << plan.cells.sql;
  ASSERT_EQ(plan.cells.params.size(), 6u);
  EXPECT_EQ(std::get<std::string>(plan.cells.params[0]), "x' OR 1=1 --");
  EXPECT_EQ(plan.summary.params.size(), 4u);
}

TEST_F(PlannerTest, FactsJoinOnlyWhatFieldsAndCutsRead) {
  FactsQuery query;
  query.fields = {Attribute("fiscal_year"), Attribute("type.object")};
  Cut cut;
  cut.attribute = Attribute("fund.fund_type");
  cut.values = {{CutValue::Kind::kText, "General Fund", 0, 0}};
  query.cuts = {cut};
  FactsPlan plan = PlanFacts(*cube_, query);
  EXPECT_NE(plan.rows.sql.find("dim_type"), std::string::npos);
  EXPECT_NE(plan.rows.sql.find("dim_fund"), std::string::npos);
  EXPECT_EQ(plan.rows.sql.find("dim_program"), std::string::npos);
  EXPECT_EQ(plan.count.sql.find("dim_type"), std::string::npos) << plan.count.sql;
  EXPECT_NE(plan.count.sql.find("dim_fund"), std::string::npos) << plan.count.sql;
}

TEST(ContainsPattern, EscapesLikeWildcards) {
  EXPECT_EQ(ContainsPattern("Acme_100%"), "%acme\\_100\\%%");
  EXPECT_EQ(ContainsPattern("a\\b"), "%a\\\\b%");
}

}  // namespace
}  // namespace citybooks
