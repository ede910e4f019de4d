// Wall-clock time behind an interface so tests can fix "now".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace citybooks {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

// The real clock.
const Clock& SystemClock();

// "2026-11-22T12:44:50Z" (UTC, seconds).
std::string FormatIsoTime(std::chrono::system_clock::time_point time);
// "2026-11-22" (UTC).
std::string FormatIsoDate(std::chrono::system_clock::time_point time);

// Seconds since an arbitrary start, for measuring durations.
double MonotonicSeconds();

}  // namespace citybooks
