#include "common/time.h"

#include <ctime>

namespace citybooks {

namespace {
class RealClock : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

std::string Format(std::chrono::system_clock::time_point time, const char* pattern) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  size_t n = std::strftime(buffer, sizeof buffer, pattern, &utc);
  return std::string(buffer, n);
}
}  // namespace

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

std::string FormatIsoTime(std::chrono::system_clock::time_point time) {
  return Format(time, "%Y-%m-%dT%H:%M:%SZ");
}

std::string FormatIsoDate(std::chrono::system_clock::time_point time) {
  return Format(time, "%Y-%m-%d");
}

double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace citybooks
