// Deterministic randomness and libm-free arithmetic for the generators, so
// the bytes generated for a seed are the same on every machine and library.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace citybooks::gen_internal {

// A small deterministic generator: xoshiro256** seeded through splitmix64, so
// the bytes for a seed do not depend on the standard library's distributions.

class Random {
 public:
  explicit Random(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix64(&seed);
  }

  uint64_t Next() {
    const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = RotateLeft(state_[3], 45);
    return result;
  }

  // Uniform in [0, n); n > 0. The modulo bias (n / 2^64) is immaterial here.
  uint64_t Below(uint64_t n) { return Next() % n; }

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  bool Chance(double probability) { return Uniform() < probability; }

  // Roughly standard normal (Irwin-Hall with four terms, scaled to unit
  // variance), bounded to +-3.46: enough for amounts and free of libm.
  double Normalish() {
    double sum = Uniform() + Uniform() + Uniform() + Uniform();
    return (sum - 2.0) * 1.7320508075688772;
  }

  template <typename T>
  const T& Pick(const std::vector<T>& values) {
    return values[Below(values.size())];
  }

 private:
  static uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix64(uint64_t* state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::array<uint64_t, 4> state_;
};

// A well-mixed hash of a few words (splitmix64 finalisers), to derive
// decisions that must be the same every time a member appears.
inline uint64_t MixHash(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t h = 0x243F6A8885A308D3ULL;
  for (uint64_t word : {a, b, c, d}) {
    h ^= word + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
  }
  return h;
}

// The cube root of x in [0, 1] by Newton's method: IEEE arithmetic only, so
// the result (and the bytes generated from it) does not depend on libm.
inline double CubeRoot(double x) {
  if (x <= 0) return 0;
  double y = 1.0;
  for (int i = 0; i < 100; ++i) y = (2.0 * y + x / (y * y)) / 3.0;
  return y;
}

// 10^x using only IEEE addition, multiplication and division (a Taylor series
// for the fractional part), so amounts are the same bytes on every libm.
inline double Pow10(double x) {
  double whole = std::floor(x);
  double y = (x - whole) * 2.302585092994046;  // ln 10
  double term = 1.0;
  double sum = 1.0;
  for (int i = 1; i < 30; ++i) {
    term = term * y / i;
    sum += term;
  }
  int exponent = static_cast<int>(whole);
  for (; exponent > 0; --exponent) sum *= 10.0;
  for (; exponent < 0; ++exponent) sum /= 10.0;
  return sum;
}

}  // namespace citybooks::gen_internal
