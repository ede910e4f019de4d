// Small text helpers shared by every stage: trimming, ASCII case folding,
// strict number parsing, and money amounts as exact cents.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citybooks {

// Removes ASCII white space (space, tab, CR, LF) from both ends.
std::string_view Trim(std::string_view text);

// ASCII lower-casing; bytes >= 0x80 are kept as they are.
std::string AsciiLower(std::string_view text);
void AppendAsciiLower(std::string* out, std::string_view text);

std::string AsciiUpper(std::string_view text);
// Each space-separated word upper-case first, lower-case after ("21ST
// CENTURY" -> "21st Century").
std::string AsciiTitle(std::string_view text);

// ASCII case-insensitive equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

std::vector<std::string_view> Split(std::string_view text, char separator);
std::string Join(const std::vector<std::string>& parts, std::string_view separator);

// RFC 3986 percent-encoding: every byte but the unreserved characters
// (A-Z a-z 0-9 - . _ ~) and those in `also_plain` becomes %XX (upper-case hex).
std::string PercentEncode(std::string_view text, std::string_view also_plain = {});

// Parses a whole string as a base-10 integer (optional leading '-' or '+').
// Returns nullopt on anything else, including empty input and overflow.
std::optional<int64_t> ParseInt(std::string_view text);

// How an amount is written in a source.
enum class AmountFormat {
  kPlain,       // -1234.5, 1e3 is refused
  kAccounting,  // also "27,678.75", "(1,234.00)", "$12.00", "-$5.00"
};

// Parses a money amount to exact cents, rounding half away from zero past the
// second decimal. Returns nullopt if the text is not an amount in `format`.
std::optional<int64_t> ParseCents(std::string_view text, AmountFormat format);

// `text` made safe to store or print: cut to `max_bytes` (with "..." after),
// NUL and other control bytes replaced by '?' (line breaks and tabs too when
// `single_line`), and, if the text is not valid UTF-8, every byte >= 0x80
// replaced by '?'.
std::string SanitizeText(std::string_view text, size_t max_bytes, bool single_line);

// Formats cents as a decimal string with two decimals, e.g. -123 -> "-1.23".
std::string FormatCents(int64_t cents);

// Formats n with thousands separators, e.g. 1234567 -> "1,234,567".
std::string FormatCount(int64_t n);

}  // namespace citybooks
