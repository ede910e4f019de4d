#include "emulator/time_text.h"

#include <array>
#include <cstdio>

namespace citybooks::emulator {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::hh_mm_ss;
using std::chrono::microseconds;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::year_month_day;

constexpr std::array<const char*, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Civil {
  int year;
  unsigned month;
  unsigned day;
  long hours;
  long minutes;
  long long seconds;
  long long microseconds;
  unsigned weekday;
};

Civil ToCivil(PortalTime time) {
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{time - day};
  return {int(date.year()),
          unsigned(date.month()),
          unsigned(date.day()),
          long(clock.hours().count()),
          long(clock.minutes().count()),
          static_cast<long long>(clock.seconds().count()),
          static_cast<long long>(clock.subseconds().count()),
          std::chrono::weekday{day}.c_encoding()};
}

// Reads exactly `width` digits at *pos into *value.
bool ReadDigits(std::string_view text, size_t* pos, size_t width, int* value) {
  if (*pos + width > text.size()) return false;
  int result = 0;
  for (size_t i = 0; i < width; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    result = result * 10 + (c - '0');
  }
  *pos += width;
  *value = result;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

std::optional<sys_days> MakeDate(int year, int month, int day) {
  const year_month_day date{std::chrono::year{year}, std::chrono::month{unsigned(month)},
                            std::chrono::day{unsigned(day)}};
  if (!date.ok()) return std::nullopt;
  return sys_days{date};
}

}  // namespace

std::string FormatSocrataTimestamp(std::chrono::sys_seconds time) {
  const Civil c = ToCivil(time);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02ld:%02ld:%02lld.000Z", c.year, c.month,
                c.day, c.hours, c.minutes, c.seconds);
  return buffer;
}

std::string FormatCkanTimestamp(PortalTime time) {
  const Civil c = ToCivil(time);
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02ld:%02ld:%02lld.%06lld", c.year, c.month,
                c.day, c.hours, c.minutes, c.seconds, c.microseconds);
  return buffer;
}

std::string FormatHttpDate(std::chrono::sys_seconds time) {
  const Civil c = ToCivil(time);
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%s, %02u %s %04d %02ld:%02ld:%02lld GMT",
                kWeekdays[c.weekday], c.day, kMonths[c.month - 1], c.year, c.hours, c.minutes,
                c.seconds);
  return buffer;
}

std::optional<std::chrono::sys_time<microseconds>> ParseIsoTimestamp(std::string_view text) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0;
  if (!ReadDigits(text, &pos, 4, &year) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &month) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &day)) {
    return std::nullopt;
  }
  const std::optional<sys_days> date = MakeDate(year, month, day);
  if (!date) return std::nullopt;
  if (pos == text.size()) return *date;

  int hour = 0, minute = 0, second = 0;
  if (!Expect(text, &pos, 'T') || !ReadDigits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &second) || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  long long fraction_us = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    long long scale = 100000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits >= 9) return std::nullopt;
      fraction_us += (text[pos] - '0') * scale;
      scale /= 10;
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
  }
  if (pos < text.size() && text[pos] == 'Z') ++pos;
  if (pos != text.size()) return std::nullopt;
  return *date + std::chrono::hours{hour} + std::chrono::minutes{minute} + seconds{second} +
         microseconds{fraction_us};
}

std::optional<std::chrono::sys_seconds> ParseHttpDate(std::string_view text) {
  // "Tue, 02 Jan 2024 10:00:00 GMT"
  if (text.size() != 29 || text.substr(3, 2) != ", " || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  size_t pos = 5;
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &pos, 2, &day) || !Expect(text, &pos, ' ')) return std::nullopt;
  int month = 0;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (text.substr(pos, 3) == kMonths[i]) month = int(i) + 1;
  }
  pos += 3;
  if (month == 0 || !Expect(text, &pos, ' ') || !ReadDigits(text, &pos, 4, &year) ||
      !Expect(text, &pos, ' ') || !ReadDigits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &second) || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  const std::optional<sys_days> date = MakeDate(year, month, day);
  if (!date) return std::nullopt;
  return *date + std::chrono::hours{hour} + std::chrono::minutes{minute} + seconds{second};
}

}  // namespace citybooks::emulator
