#include "conform/aggregate_builder.h"

#include <gtest/gtest.h>

namespace citybooks {
namespace {

Mapping TestMapping() {
  auto mapping = ParseMapping(R"(
name = "test"
fact_table = "fact_t"
fiscal_year = "year"
[[dimensions]]
name = "org"
levels = [{ name = "group", code = "group_code" }, { name = "dept", code = "dept_code" }]
[[dimensions]]
name = "kind"
levels = [{ name = "kind" }]
[[aggregates]]
name = "by_group"
group_by = ["year", "group", "kind"]
[[aggregates]]
name = "revenue_histogram"
group_by = ["year"]
filter_column = "kind"
filter_equals = ["Revenue"]
contains_column = "dept"
filter_contains = "TAX"
histogram = true
[[aggregates]]
name = "by_dept"
group_by = ["year", "group", "dept", "kind"]
)",
                              "test.toml");
  EXPECT_TRUE(mapping) << mapping.error().message();
  return *mapping;
}

class AggregateBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const DimensionSpec& dimension : mapping_.dimensions)
      builders_.emplace_back(mapping_, dimension);
  }

  ConformedFact Fact(int year, std::vector<std::string_view> org, std::string_view kind,
                     int64_t cents) {
    ConformedFact fact;
    fact.fiscal_year = year;
    fact.cents = cents;
    fact.member_ids[0] = builders_[0].Observe(org, &fact.member_indexes[0]);
    fact.member_ids[1] = builders_[1].Observe({kind}, &fact.member_indexes[1]);
    return fact;
  }

  std::vector<AggregateRow> Finish(const AggregateBuilder& builder) {
    for (DimensionBuilder& dimension : builders_) {
      std::vector<DimensionBuilder::Member> members;
      std::vector<DimensionBuilder::Remap> remaps;
      dimension.Resolve(&members, &remaps);
      std::vector<std::vector<std::string>> values;
      for (auto& member : members) values.push_back(member.values);
      resolved_.push_back(values);
    }
    return builder.Finish([&](size_t d, uint32_t index) -> const std::vector<std::string>& {
      return resolved_[d][index];
    });
  }

  Mapping mapping_ = TestMapping();
  std::vector<DimensionBuilder> builders_;
  std::vector<std::vector<std::vector<std::string>>> resolved_;
};

TEST_F(AggregateBuilderTest, RollsMembersUpToTheirGroupsWithExactStats) {
  AggregateBuilder builder(mapping_, mapping_.aggregates[0], &builders_);
  builder.Add(Fact(2020, {"Safety", "S", "Police", "POL"}, "Spending", 1000));
  builder.Add(Fact(2020, {"safety", "S", "Fire", "FIR"}, "Spending", -250));
  builder.Add(Fact(2020, {"Safety", "S", "Fire", "FIR"}, "Spending", 5000));
  builder.Add(Fact(2021, {"Safety", "S", "Fire", "FIR"}, "Spending", 7));
  builder.Add(Fact(2020, {"Culture", "C", "Library", "LIB"}, "Revenue", 300));
  std::vector<AggregateRow> rows = Finish(builder);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].groups, (std::vector<std::string>{"2020", "Culture", "Revenue"}));
  EXPECT_EQ(rows[1].groups, (std::vector<std::string>{"2020", "Safety", "Spending"}));
  EXPECT_EQ(rows[1].stats.transactions, 3);
  EXPECT_EQ(rows[1].stats.cents, 5750);
  EXPECT_EQ(rows[1].stats.max_cents, 5000);
  EXPECT_EQ(rows[1].stats.min_cents, -250);
  EXPECT_EQ(rows[2].groups, (std::vector<std::string>{"2021", "Safety", "Spending"}));
  EXPECT_EQ(rows[2].stats.cents, 7);
}

TEST_F(AggregateBuilderTest, HistogramFiltersAndBucketsByMagnitude) {
  AggregateBuilder builder(mapping_, mapping_.aggregates[1], &builders_);
  builder.Add(Fact(2020, {"Fin", "F", "Property Tax", "PT"}, "Revenue", 50'000));    // 0-1K
  builder.Add(Fact(2020, {"Fin", "F", "Property Tax", "PT"}, "Revenue", 150'000));   // 1K-10K
  builder.Add(Fact(2020, {"Fin", "F", "Business tax", "BT"}, "Revenue", 250'000));   // 1K-10K
  builder.Add(Fact(2020, {"Fin", "F", "Business tax", "BT"}, "Revenue", -1));        // below 0
  builder.Add(Fact(2020, {"Fin", "F", "Property Tax", "PT"}, "Spending", 150'000));  // not revenue
  builder.Add(Fact(2020, {"Fin", "F", "Fees", "FE"}, "Revenue", 150'000));           // not tax
  std::vector<AggregateRow> rows = Finish(builder);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].bucket, 0);
  EXPECT_EQ(rows[0].stats.transactions, 1);
  EXPECT_EQ(rows[1].bucket, 1);
  EXPECT_EQ(rows[2].bucket, 2);
  EXPECT_EQ(rows[2].stats.transactions, 2);
  EXPECT_EQ(rows[2].stats.cents, 400'000);
}

TEST(AmountBucket, BoundariesFollowOrdersOfMagnitude) {
  EXPECT_EQ(AmountBucketOf(-1), 0);
  EXPECT_EQ(AmountBucketOf(0), 1);
  EXPECT_EQ(AmountBucketOf(99'999), 1);
  EXPECT_EQ(AmountBucketOf(100'000), 2);
  EXPECT_EQ(AmountBucketOf(9'999'999'999), 6);
  EXPECT_EQ(AmountBucketOf(10'000'000'000), 7);
  EXPECT_EQ(AmountBucketOf(INT64_MAX), 7);
}

TEST_F(AggregateBuilderTest, AnAggregateDecidedByAFinerOneIsRolledUpFromIt) {
  AggregateBuilder counted(mapping_, mapping_.aggregates[0], &builders_);
  AggregateBuilder derived(mapping_, mapping_.aggregates[0], &builders_);
  AggregateBuilder histogram(mapping_, mapping_.aggregates[1], &builders_);
  AggregateBuilder by_dept(mapping_, mapping_.aggregates[2], &builders_);
  EXPECT_FALSE(by_dept.DeriveFrom(counted)) << "the group does not decide the department";
  EXPECT_FALSE(histogram.DeriveFrom(by_dept)) << "a histogram with filters is counted";
  EXPECT_FALSE(derived.DeriveFrom(histogram)) << "a filtered aggregate is no source";
  ASSERT_TRUE(derived.DeriveFrom(by_dept));
  EXPECT_TRUE(derived.derived());
  EXPECT_FALSE(counted.DeriveFrom(derived)) << "a derived aggregate is no source";
  EXPECT_FALSE(by_dept.DeriveFrom(histogram)) << "a source is never derived";

  for (const ConformedFact& fact :
       {Fact(2020, {"Safety", "S", "Police", "POL"}, "Spending", 1000),
        Fact(2020, {"safety", "S", "Fire", "FIR"}, "Spending", -250),
        Fact(2020, {"Safety", "S", "Fire", "FIR"}, "Spending", 5000),
        Fact(2020, {"Safety", "S2", "Police", "POL"}, "Spending", 40),
        Fact(2021, {"Safety", "S", "Fire", "FIR"}, "Spending", 7),
        Fact(2020, {"Safety", "S", "Fire", "FIR"}, "Revenue", 11),
        Fact(2020, {"Culture", "C", "Library", "LIB"}, "Revenue", 300)}) {
    counted.Add(fact);
    by_dept.Add(fact);
  }
  std::vector<AggregateRow> expected = Finish(counted);
  std::vector<AggregateRow> rolled_up = Finish(derived);
  ASSERT_EQ(expected.size(), 4u);
  ASSERT_EQ(rolled_up.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(rolled_up[i].groups, expected[i].groups);
    EXPECT_EQ(rolled_up[i].bucket, expected[i].bucket);
    EXPECT_EQ(rolled_up[i].stats.transactions, expected[i].stats.transactions);
    EXPECT_EQ(rolled_up[i].stats.cents, expected[i].stats.cents);
    EXPECT_EQ(rolled_up[i].stats.max_cents, expected[i].stats.max_cents);
    EXPECT_EQ(rolled_up[i].stats.min_cents, expected[i].stats.min_cents);
  }
  EXPECT_EQ(expected[1].groups, (std::vector<std::string>{"2020", "Safety", "Revenue"}));
  EXPECT_EQ(expected[2].groups, (std::vector<std::string>{"2020", "Safety", "Spending"}));
  EXPECT_EQ(expected[2].stats.transactions, 4);
  EXPECT_EQ(expected[2].stats.min_cents, -250);
}

}  // namespace
}  // namespace citybooks
