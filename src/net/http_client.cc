// The parts of the HttpClient contract that need no transport: header lookup
// and the retry schedule.
#include "net/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "common/text.h"

namespace citybooks {

namespace {

// Longest wait a Retry-After can ask for (a day). Larger values are clamped
// so the arithmetic cannot overflow; the total timeout refuses them anyway.
constexpr std::chrono::milliseconds kMaxRetryAfter{24LL * 3600 * 1000};

// Parses Retry-After: delay-seconds or an HTTP-date (IMF-fixdate, and the
// obsolete RFC 850 and asctime forms, which curl_getdate also reads). Returns
// a negative duration when the value is neither.
std::chrono::milliseconds ParseRetryAfter(std::string_view value) {
  value = Trim(value);
  if (value.empty()) return std::chrono::milliseconds{-1};
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return kMaxRetryAfter;  // more than 31 years of seconds
    std::optional<int64_t> seconds = ParseInt(value);
    if (!seconds) return std::chrono::milliseconds{-1};
    return std::min<std::chrono::milliseconds>(std::chrono::seconds{*seconds}, kMaxRetryAfter);
  }
  // An HTTP-date holds letters (day and month names); a bare number with a
  // sign or a fraction is not a valid Retry-After and must not reach getdate.
  if (!std::any_of(value.begin(), value.end(),
                   [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }))
    return std::chrono::milliseconds{-1};
  std::string text(value);
  time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == -1) return std::chrono::milliseconds{-1};
  auto now = std::chrono::system_clock::now();
  auto target = std::chrono::system_clock::from_time_t(when);
  if (target <= now) return std::chrono::milliseconds{0};
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(target - now);
  return std::min(wait, kMaxRetryAfter);
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

std::chrono::milliseconds RetryDelay(const HttpOptions& options, int attempt,
                                     std::string_view retry_after, double random01) {
  // The server's word wins over our schedule, even past max_backoff: waiting
  // less than it asked only earns another 429. The caller's total timeout
  // decides whether a long wait is worth it.
  std::chrono::milliseconds asked = ParseRetryAfter(retry_after);
  if (asked.count() >= 0) return asked;

  // Full jitter (a uniform draw below the exponential bound) spreads clients
  // that failed together instead of having them retry in lock-step.
  double initial = static_cast<double>(std::max<int64_t>(options.initial_backoff.count(), 0));
  double cap = static_cast<double>(std::max<int64_t>(options.max_backoff.count(), 0));
  int exponent = std::clamp(attempt, 1, 63) - 1;
  double bound = std::min(cap, std::ldexp(initial, exponent));
  if (!(random01 >= 0.0)) random01 = 0.0;  // also catches NaN
  if (random01 >= 1.0) random01 = std::nextafter(1.0, 0.0);
  auto delay = static_cast<int64_t>(std::floor(bound * random01));
  return std::chrono::milliseconds{std::max<int64_t>(delay, 0)};
}

}  // namespace citybooks
