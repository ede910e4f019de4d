#include "model/benford.h"

#include <gtest/gtest.h>

#include <cmath>

namespace citybooks {
namespace {

TEST(Benford, ExpectedProportionsAreLog10OfOnePlusOneOverD) {
  EXPECT_NEAR(BenfordExpected(BenfordTest::kFirstDigit, 1), 0.30103, 1e-5);
  EXPECT_NEAR(BenfordExpected(BenfordTest::kFirstDigit, 2), 0.17609, 1e-5);
  EXPECT_NEAR(BenfordExpected(BenfordTest::kFirstDigit, 9), 0.04576, 1e-5);
  EXPECT_NEAR(BenfordExpected(BenfordTest::kFirstTwo, 10), 0.04139, 1e-5);
  EXPECT_NEAR(BenfordExpected(BenfordTest::kFirstTwo, 99), 0.00436, 1e-5);
  EXPECT_EQ(BenfordExpected(BenfordTest::kFirstDigit, 0), 0);
  EXPECT_EQ(BenfordExpected(BenfordTest::kFirstDigit, 10), 0);
  EXPECT_EQ(BenfordExpected(BenfordTest::kFirstTwo, 9), 0);
  for (BenfordTest test : {BenfordTest::kFirstDigit, BenfordTest::kFirstTwo}) {
    double total = 0;
    for (int d = FirstDigitsMin(test); d <= FirstDigitsMax(test); ++d)
      total += BenfordExpected(test, d);
    EXPECT_NEAR(total, 1.0, 1e-12) << BenfordTestName(test);
  }
}

TEST(Benford, LeadingDigitsReadCentsAsDollarsAndSkipSmallAmounts) {
  EXPECT_EQ(LeadingDigits(27'678'75, BenfordTest::kFirstDigit), 2);
  EXPECT_EQ(LeadingDigits(27'678'75, BenfordTest::kFirstTwo), 27);
  EXPECT_EQ(LeadingDigits(-123'400, BenfordTest::kFirstDigit), 1);  // credits by magnitude
  EXPECT_EQ(LeadingDigits(-123'400, BenfordTest::kFirstTwo), 12);
  EXPECT_EQ(LeadingDigits(100, BenfordTest::kFirstDigit), 1);  // $1.00
  EXPECT_EQ(LeadingDigits(99, BenfordTest::kFirstDigit), 0);   // $0.99
  EXPECT_EQ(LeadingDigits(999, BenfordTest::kFirstTwo), 0);    // $9.99
  EXPECT_EQ(LeadingDigits(1000, BenfordTest::kFirstTwo), 10);  // $10.00
  EXPECT_EQ(LeadingDigits(0, BenfordTest::kFirstDigit), 0);
  EXPECT_EQ(LeadingDigits(INT64_MIN, BenfordTest::kFirstDigit), 9);
}

TEST(Benford, MadOfASmallMadeUpDistributionByHand) {
  // 10 amounts: four start with 1, two with 2, one each with 3, 5, 7, 9.
  BenfordCounter counter;
  for (int64_t cents : {1'00, 15'00, 180'00, 1'999'99, 2'00, 25'50, 3'10, 5'00, 7'77, 9'99})
    counter.Add(cents);
  counter.Add(50);  // under a dollar: in neither test
  const double observed[10] = {0, 0.4, 0.2, 0.1, 0, 0.1, 0, 0.1, 0, 0.1};
  double by_hand = 0;
  for (int d = 1; d <= 9; ++d) by_hand += std::fabs(observed[d] - std::log10(1.0 + 1.0 / d));
  by_hand /= 9;
  // |.4-.30103| + |.2-.17609| + |.1-.12494| + .09691 + |.1-.07918| + .06695
  // + |.1-.05799| + .05115 + |.1-.04576| = 0.47990 / 9 = 0.053322
  EXPECT_NEAR(by_hand, 0.053322, 1e-5);
  BenfordResult first = counter.Test(BenfordTest::kFirstDigit, 5);
  EXPECT_EQ(first.amounts, 10);
  EXPECT_NEAR(first.mad, by_hand, 1e-12);
  EXPECT_EQ(first.conformity, Conformity::kNonconformity);
  ASSERT_EQ(first.digits.size(), 9u);
  EXPECT_EQ(first.digits[0].digits, 1);
  EXPECT_EQ(first.digits[0].count, 4);
  EXPECT_DOUBLE_EQ(first.digits[0].observed, 0.4);
  EXPECT_NEAR(first.digits[0].expected, 0.30103, 1e-5);

  // First two: only the four amounts of at least $10 count.
  BenfordResult two = counter.Test(BenfordTest::kFirstTwo, 1);
  EXPECT_EQ(two.amounts, 4);
  ASSERT_EQ(two.digits.size(), 90u);
  EXPECT_EQ(two.digits[15 - 10].count, 1);
  EXPECT_EQ(two.digits[18 - 10].count, 1);
  EXPECT_EQ(two.digits[19 - 10].count, 1);
  EXPECT_EQ(two.digits[25 - 10].count, 1);
}

TEST(Benford, ConformityBandsAreNigrinis) {
  EXPECT_EQ(ClassifyMad(BenfordTest::kFirstDigit, 0.006), Conformity::kClose);
  EXPECT_EQ(ClassifyMad(BenfordTest::kFirstDigit, 0.0061), Conformity::kAcceptable);
  EXPECT_EQ(ClassifyMad(BenfordTest::kFirstDigit, 0.012), Conformity::kAcceptable);
  EXPECT_EQ(ClassifyMad(BenfordTest::kFirstDigit, 0.015), Conformity::kMarginal);
  EXPECT_EQ(ClassifyMad(BenfordTest::kFirstDigit, 0.0151), Conformity::kNonconformity);
  EXPECT_EQ(ClassifyMad(BenfordTest::kFirstTwo, 0.0012), Conformity::kClose);
  EXPECT_EQ(ClassifyMad(BenfordTest::kFirstTwo, 0.0018), Conformity::kAcceptable);
  EXPECT_EQ(ClassifyMad(BenfordTest::kFirstTwo, 0.0022), Conformity::kMarginal);
  EXPECT_EQ(ClassifyMad(BenfordTest::kFirstTwo, 0.0023), Conformity::kNonconformity);
  EXPECT_EQ(ConformityName(Conformity::kSmallSample), "small_sample");
  EXPECT_EQ(BenfordTestName(BenfordTest::kFirstTwo), "first_two");
}

TEST(Benford, GroupsUnderTheMinimumAreSmallSample) {
  BenfordCounter counter;
  for (int i = 0; i < 999; ++i) counter.Add(100 + i);
  EXPECT_EQ(counter.Test(BenfordTest::kFirstDigit, 1000).conformity, Conformity::kSmallSample);
  counter.Add(1'000'00);
  EXPECT_NE(counter.Test(BenfordTest::kFirstDigit, 1000).conformity, Conformity::kSmallSample);
  BenfordCounter empty;
  BenfordResult none = empty.Test(BenfordTest::kFirstDigit, 0);
  EXPECT_EQ(none.amounts, 0);
  EXPECT_EQ(none.mad, 0);
  EXPECT_EQ(none.conformity, Conformity::kSmallSample);
}

TEST(Benford, ScaleInvariantAmountsConformAndUniformOnesDoNot) {
  // Amounts spread evenly over six decades in log scale follow Benford's law;
  // amounts spread evenly between $100 and $999 (invented numbers) do not.
  BenfordCounter benford;
  BenfordCounter uniform;
  const int n = 60'000;
  for (int i = 0; i < n; ++i) {
    benford.Add(static_cast<int64_t>(std::pow(10.0, 2.0 + 6.0 * (i + 0.5) / n)));
    uniform.Add(10'000 + static_cast<int64_t>(90'000.0 * (i + 0.5) / n));
  }
  EXPECT_EQ(benford.Test(BenfordTest::kFirstDigit, 1000).conformity, Conformity::kClose);
  EXPECT_EQ(benford.Test(BenfordTest::kFirstTwo, 1000).conformity, Conformity::kClose);
  EXPECT_EQ(uniform.Test(BenfordTest::kFirstDigit, 1000).conformity, Conformity::kNonconformity);
}

}  // namespace
}  // namespace citybooks
