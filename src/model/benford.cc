#include "model/benford.h"

#include <cmath>

namespace citybooks {

namespace {

uint64_t Magnitude(int64_t cents) {
  return cents < 0 ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
}

}  // namespace

std::string_view BenfordTestName(BenfordTest test) {
  return test == BenfordTest::kFirstDigit ? "first_digit" : "first_two";
}

int FirstDigitsMin(BenfordTest test) { return test == BenfordTest::kFirstDigit ? 1 : 10; }
int FirstDigitsMax(BenfordTest test) { return test == BenfordTest::kFirstDigit ? 9 : 99; }

double BenfordExpected(BenfordTest test, int digits) {
  if (digits < FirstDigitsMin(test) || digits > FirstDigitsMax(test)) return 0;
  return std::log10(1.0 + 1.0 / digits);
}

int LeadingDigits(int64_t cents, BenfordTest test) {
  // Cents have the digits of the dollar amount: 1 dollar is 100 cents, 10
  // dollars 1000.
  uint64_t value = Magnitude(cents);
  const uint64_t floor = test == BenfordTest::kFirstDigit ? 100 : 1000;
  if (value < floor) return 0;
  const uint64_t limit = test == BenfordTest::kFirstDigit ? 10 : 100;
  while (value >= limit) value /= 10;
  return static_cast<int>(value);
}

std::string_view ConformityName(Conformity conformity) {
  switch (conformity) {
    case Conformity::kClose:
      return "close";
    case Conformity::kAcceptable:
      return "acceptable";
    case Conformity::kMarginal:
      return "marginal";
    case Conformity::kNonconformity:
      return "nonconformity";
    case Conformity::kSmallSample:
      return "small_sample";
  }
  return "small_sample";
}

Conformity ClassifyMad(BenfordTest test, double mad) {
  const bool first = test == BenfordTest::kFirstDigit;
  if (mad <= (first ? 0.006 : 0.0012)) return Conformity::kClose;
  if (mad <= (first ? 0.012 : 0.0018)) return Conformity::kAcceptable;
  if (mad <= (first ? 0.015 : 0.0022)) return Conformity::kMarginal;
  return Conformity::kNonconformity;
}

double BenfordMad(BenfordTest test, const std::vector<int64_t>& counts) {
  int64_t total = 0;
  for (int64_t count : counts) total += count;
  if (total == 0 || counts.empty()) return 0;
  double sum = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const int digits = FirstDigitsMin(test) + static_cast<int>(i);
    sum += std::fabs(static_cast<double>(counts[i]) / static_cast<double>(total) -
                     BenfordExpected(test, digits));
  }
  return sum / static_cast<double>(counts.size());
}

void BenfordCounter::Add(int64_t cents) {
  if (int digit = LeadingDigits(cents, BenfordTest::kFirstDigit); digit != 0) ++first_[digit];
  if (int digits = LeadingDigits(cents, BenfordTest::kFirstTwo); digits != 0) ++first_two_[digits];
}

int64_t BenfordCounter::amounts(BenfordTest test) const {
  int64_t total = 0;
  for (int d = FirstDigitsMin(test); d <= FirstDigitsMax(test); ++d)
    total += test == BenfordTest::kFirstDigit ? first_[d] : first_two_[d];
  return total;
}

BenfordResult BenfordCounter::Test(BenfordTest test, int64_t min_amounts) const {
  BenfordResult result;
  result.test = test;
  result.amounts = amounts(test);
  std::vector<int64_t> counts;
  for (int d = FirstDigitsMin(test); d <= FirstDigitsMax(test); ++d) {
    BenfordDigit digit;
    digit.digits = d;
    digit.count = test == BenfordTest::kFirstDigit ? first_[d] : first_two_[d];
    digit.observed = result.amounts == 0
                         ? 0.0
                         : static_cast<double>(digit.count) / static_cast<double>(result.amounts);
    digit.expected = BenfordExpected(test, d);
    counts.push_back(digit.count);
    result.digits.push_back(digit);
  }
  result.mad = BenfordMad(test, counts);
  result.conformity = result.amounts < min_amounts || result.amounts == 0
                          ? Conformity::kSmallSample
                          : ClassifyMad(test, result.mad);
  return result;
}

}  // namespace citybooks
