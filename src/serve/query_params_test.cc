// Parsing the babbage query parameters: cuts, refs, order and paging, and
// every malformed or hostile form refused with the parameter named.
#include "serve/query_params.h"

#include <gtest/gtest.h>

namespace citybooks {
namespace {

Cube SanFrancisco() {
  auto mapping = LoadMapping("sf-spending-revenue");
  return *Cube::Make("sf-spending-revenue", *mapping);
}

TEST(ParseCuts, QuotedTextIntegersRangesAndLists) {
  auto cuts = ParseCuts(R"(program.organization_group:"Public Protection"|fiscal_year:2019-2021)"
                        R"(|fiscal_year:2019;2020|program.department:"A|B;C\"D")");
  ASSERT_TRUE(cuts.has_value()) << cuts.error().message;
  ASSERT_EQ(cuts->size(), 4u);
  EXPECT_EQ((*cuts)[0].ref, "program.organization_group");
  EXPECT_EQ((*cuts)[0].values[0].text, "Public Protection");
  EXPECT_TRUE((*cuts)[0].values[0].quoted);
  EXPECT_EQ((*cuts)[1].values[0].text, "2019-2021");
  ASSERT_EQ((*cuts)[2].values.size(), 2u);
  EXPECT_EQ((*cuts)[2].values[1].text, "2020");
  EXPECT_EQ((*cuts)[3].values[0].text, "A|B;C\"D");
}

TEST(ParseCuts, RefusesMalformedCutsNamingTheParameter) {
  for (const char* text :
       {"program.department", "program.department:\"open", "program.department:\"x\"y",
        "program.department:", "a b:1", "program.department:x|", "x;DROP TABLE t:1"}) {
    auto cuts = ParseCuts(text);
    ASSERT_FALSE(cuts.has_value()) << text;
    EXPECT_EQ(cuts.error().parameter, "cut") << text;
    EXPECT_EQ(cuts.error().status, 400) << text;
  }
  std::string overlong = "program.department:\"" + std::string(kMaxValueBytes + 1, 'x') + "\"";
  EXPECT_FALSE(ParseCuts(overlong).has_value());
}

TEST(ResolveCuts, TypesValuesForTheirColumns) {
  Cube cube = SanFrancisco();
  auto raw = ParseCuts("fiscal_year:2019-2021;2023|program.department:\"Police\"");
  ASSERT_TRUE(raw.has_value());
  auto cuts = ResolveCuts(cube, *raw);
  ASSERT_TRUE(cuts.has_value()) << cuts.error().message;
  EXPECT_EQ((*cuts)[0].values[0].kind, CutValue::Kind::kRange);
  EXPECT_EQ((*cuts)[0].values[0].integer, 2019);
  EXPECT_EQ((*cuts)[0].values[0].upper, 2021);
  EXPECT_EQ((*cuts)[0].values[1].kind, CutValue::Kind::kInteger);
  EXPECT_EQ((*cuts)[1].values[0].kind, CutValue::Kind::kText);
}

TEST(ResolveCuts, RefusesMeasuresUnknownRefsAndBadRanges) {
  Cube cube = SanFrancisco();
  for (const char* text : {"amount:5", "amount.sum:5", "program.nope:\"x\"", "nope.nope:1",
                           "fiscal_year:2021-2019", "fiscal_year:abc", "fiscal_year:20x1-2022"}) {
    auto raw = ParseCuts(text);
    ASSERT_TRUE(raw.has_value()) << text;
    auto cuts = ResolveCuts(cube, *raw);
    ASSERT_FALSE(cuts.has_value()) << text;
    EXPECT_EQ(cuts.error().parameter, "cut") << text;
  }
}

TEST(ParseRefList, RefusesInjectedText) {
  EXPECT_FALSE(ParseRefList("program.department;DROP TABLE x", "drilldown").has_value());
  EXPECT_FALSE(ParseRefList("a|a", "drilldown").has_value());
  auto refs = ParseRefList("program.department|fiscal_year", "drilldown");
  ASSERT_TRUE(refs.has_value());
  EXPECT_EQ(refs->size(), 2u);
}

TEST(ParseOrder, DirectionsAndHostileKeys) {
  auto order = ParseOrder("amount.sum:desc,program.department");
  ASSERT_TRUE(order.has_value());
  EXPECT_TRUE((*order)[0].descending);
  EXPECT_FALSE((*order)[1].descending);
  auto hostile = ParseOrder("amount.sum desc; DELETE");
  ASSERT_FALSE(hostile.has_value());
  EXPECT_EQ(hostile.error().parameter, "order");
  EXPECT_FALSE(ParseOrder("amount.sum:sideways").has_value());
}

TEST(ParsePaging, DefaultsLimitsAndGarbage) {
  auto defaults = ParsePaging(*QueryParams::Make({}));
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->page, 0);
  EXPECT_EQ(defaults->pagesize, 100);
  for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"page", "-1"}, {"page", "abc"}, {"pagesize", "100000000"}, {"pagesize", "1e3"}}) {
    auto params = QueryParams::Make({{name, value}});
    ASSERT_TRUE(params.has_value());
    auto paging = ParsePaging(*params);
    ASSERT_FALSE(paging.has_value()) << name << "=" << value;
    EXPECT_EQ(paging.error().parameter, name);
  }
  auto params = QueryParams::Make({{"page", "3"}, {"pagesize", "10000"}});
  EXPECT_EQ(ParsePaging(*params)->offset(), 30000);
}

TEST(QueryParams, RefusesRepeatsOverlongAndInvalidUtf8) {
  EXPECT_FALSE(QueryParams::Make({{"cut", "a:1"}, {"cut", "b:2"}}).has_value());
  EXPECT_FALSE(QueryParams::Make({{"cut", std::string(kMaxParameterBytes + 1, 'x')}}).has_value());
  EXPECT_FALSE(QueryParams::Make({{"cut", "\xff\xfe"}}).has_value());
}

}  // namespace
}  // namespace citybooks
