#include "common/text.h"

#include <charconv>
#include <cstdlib>
#include <limits>

#include "common/csv_reader.h"

namespace citybooks {

namespace {
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

std::string_view Trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && IsSpace(text[begin])) ++begin;
  while (end > begin && IsSpace(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

std::string AsciiLower(std::string_view text) {
  std::string out;
  AppendAsciiLower(&out, text);
  return out;
}

void AppendAsciiLower(std::string* out, std::string_view text) {
  size_t start = out->size();
  out->append(text);
  for (size_t i = start; i < out->size(); ++i) (*out)[i] = Lower((*out)[i]);
}

std::string AsciiUpper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return out;
}

std::string AsciiTitle(std::string_view text) {
  std::string out(text);
  bool word_start = true;
  for (char& c : out) {
    if (c >= 'a' && c <= 'z' && word_start) c = static_cast<char>(c - 32);
    if (c >= 'A' && c <= 'Z' && !word_start) c = static_cast<char>(c + 32);
    word_start = c == ' ';
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += separator;
    out += parts[i];
  }
  return out;
}

std::optional<int64_t> ParseInt(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<int64_t> ParseCents(std::string_view text, AmountFormat format) {
  text = Trim(text);
  bool negative = false;
  bool parenthesised = false;
  if (format == AmountFormat::kAccounting && text.size() >= 2 && text.front() == '(' &&
      text.back() == ')') {
    parenthesised = true;
    text = Trim(text.substr(1, text.size() - 2));
  }
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (format == AmountFormat::kAccounting && !text.empty() && text.front() == '$') {
    text.remove_prefix(1);
    if (!parenthesised && !negative && !text.empty() && text.front() == '-') {
      negative = true;
      text.remove_prefix(1);
    }
  }
  if (text.empty()) return std::nullopt;

  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 100 - 1;
  int64_t whole = 0;
  size_t i = 0;
  size_t digits = 0;
  size_t group = 0;  // digits since the last thousands separator
  bool separators = false;
  for (; i < text.size() && text[i] != '.'; ++i) {
    char c = text[i];
    if (IsDigit(c)) {
      if (whole > kMax / 10) return std::nullopt;
      whole = whole * 10 + (c - '0');
      ++digits;
      ++group;
    } else if (c == ',' && format == AmountFormat::kAccounting && digits > 0 &&
               (!separators ? group <= 3 : group == 3)) {
      separators = true;
      group = 0;
    } else {
      return std::nullopt;
    }
  }
  if (separators && group != 3) return std::nullopt;
  int64_t fraction = 0;
  size_t fraction_digits = 0;
  bool round_up = false;
  if (i < text.size()) {  // at '.'
    ++i;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (!IsDigit(c)) return std::nullopt;
      if (fraction_digits < 2) {
        fraction = fraction * 10 + (c - '0');
      } else if (fraction_digits == 2) {
        round_up = c >= '5';
      }
      ++fraction_digits;
    }
  }
  if (digits == 0 && fraction_digits == 0) return std::nullopt;
  if (fraction_digits == 1) fraction *= 10;
  int64_t cents = whole * 100 + fraction + (round_up ? 1 : 0);
  if (negative != parenthesised) cents = -cents;
  return cents;
}

std::string SanitizeText(std::string_view text, size_t max_bytes, bool single_line) {
  std::string out(text.substr(0, max_bytes));
  bool valid = IsValidUtf8(out);
  for (char& c : out) {
    auto byte = static_cast<unsigned char>(c);
    bool line_break = c == '\n' || c == '\r' || c == '\t';
    if ((byte < 0x20 && (single_line || !line_break)) || byte == 0x7f || (!valid && byte >= 0x80))
      c = '?';
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

std::string FormatCents(int64_t cents) {
  std::string out;
  uint64_t magnitude = cents < 0 ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  if (cents < 0) out.push_back('-');
  out += std::to_string(magnitude / 100);
  out.push_back('.');
  uint64_t rest = magnitude % 100;
  out.push_back(static_cast<char>('0' + rest / 10));
  out.push_back(static_cast<char>('0' + rest % 10));
  return out;
}

std::string FormatCount(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count && count % 3 == 0) out.push_back(',');
    out.push_back(*it);
    ++count;
  }
  if (n < 0) out.push_back('-');
  return std::string(out.rbegin(), out.rend());
}

std::string PercentEncode(std::string_view text, std::string_view also_plain) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == '~' ||
                 also_plain.find(static_cast<char>(c)) != std::string_view::npos;
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace citybooks
