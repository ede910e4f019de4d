// Benford's law tests of amounts (Nigrini): the first-digit and first-two-
// digit distributions of a group of amounts against log10(1 + 1/d), scored by
// the mean absolute deviation (MAD) and Nigrini's conformity bands. Counting
// needs 99 counters per group, never the amounts themselves.
//
//   BenfordCounter police;
//   for (int64_t cents : amounts) police.Add(cents);
//   BenfordResult first = police.Test(BenfordTest::kFirstDigit, 1000);
//   if (first.conformity == Conformity::kNonconformity) ...
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace citybooks {

enum class BenfordTest {
  kFirstDigit,  // digits 1..9 of amounts of at least 1 dollar
  kFirstTwo,    // digits 10..99 of amounts of at least 10 dollars
};

// "first_digit" or "first_two", as stored in model_benford.test.
std::string_view BenfordTestName(BenfordTest test);

// The smallest and largest leading-digit value of `test`: 1..9 or 10..99.
int FirstDigitsMin(BenfordTest test);
int FirstDigitsMax(BenfordTest test);

// Benford's expected proportion of amounts whose leading digits are
// `digits`: log10(1 + 1 / digits). 0 outside the test's range.
double BenfordExpected(BenfordTest test, int digits);

// The leading digit(s) of |cents| read as dollars (the digits of a number do
// not depend on where its decimal point is), or 0 when the amount is too
// small for the test (under 1 dollar for the first digit, under 10 dollars
// for the first two).
int LeadingDigits(int64_t cents, BenfordTest test);

// Nigrini's conformity of a MAD; kSmallSample when a group has fewer amounts
// than the minimum the caller asks for.
enum class Conformity { kClose, kAcceptable, kMarginal, kNonconformity, kSmallSample };
// "close", "acceptable", "marginal", "nonconformity", "small_sample".
std::string_view ConformityName(Conformity conformity);

// The band of `mad` for `test`: first digit close <= 0.006, acceptable
// <= 0.012, marginal <= 0.015; first two <= 0.0012, <= 0.0018, <= 0.0022;
// anything above is nonconformity.
Conformity ClassifyMad(BenfordTest test, double mad);

struct BenfordDigit {
  int digits = 0;       // 1..9 or 10..99
  int64_t count = 0;    // amounts with these leading digits
  double observed = 0;  // count / amounts tested
  double expected = 0;  // Benford's proportion
};

struct BenfordResult {
  BenfordTest test = BenfordTest::kFirstDigit;
  int64_t amounts = 0;  // amounts large enough for the test
  double mad = 0;       // mean over the digits of |observed - expected|; 0 without amounts
  Conformity conformity = Conformity::kSmallSample;
  std::vector<BenfordDigit> digits;  // every digit value of the test, in order
};

// The mean absolute deviation of `counts` (one per digit value of `test`,
// in order) from Benford's proportions; 0 when every count is 0.
double BenfordMad(BenfordTest test, const std::vector<int64_t>& counts);

// Leading-digit counts of one group of amounts.
class BenfordCounter {
 public:
  // Counts |cents| in both tests where it is large enough; smaller amounts
  // (and zero) are left out of the tests.
  void Add(int64_t cents);

  // Amounts counted in `test`.
  int64_t amounts(BenfordTest test) const;

  // The test's digits, MAD and conformity; kSmallSample when fewer than
  // `min_amounts` amounts were counted in it.
  BenfordResult Test(BenfordTest test, int64_t min_amounts) const;

 private:
  std::array<int64_t, 10> first_{};       // index = first digit
  std::array<int64_t, 100> first_two_{};  // index = first two digits
};

}  // namespace citybooks
