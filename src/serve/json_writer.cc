#include "serve/json_writer.h"

#include <charconv>
#include <cmath>

namespace citybooks {

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 if invalid.
size_t Utf8Length(std::string_view text, size_t i) {
  unsigned char c = static_cast<unsigned char>(text[i]);
  size_t length;
  uint32_t code;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
    code = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    code = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    code = c & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    unsigned char next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3F);
  }
  if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10FFFF)) ||
      (code >= 0xD800 && code <= 0xDFFF))
    return 0;
  return length;
}

std::string CsvField(const Value& value) {
  if (std::holds_alternative<std::monostate>(value)) return "";
  if (std::holds_alternative<std::string>(value)) return std::get<std::string>(value);
  std::string text;
  AppendJsonValue(&text, value);
  return text;
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    // Copy the longest run that needs no escaping in one go.
    size_t run = i;
    while (run < text.size()) {
      unsigned char c = static_cast<unsigned char>(text[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out->append(text.data() + i, run - i);
    i = run;
    if (i >= text.size()) break;
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t length = Utf8Length(text, i);
      if (length == 0) {
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
    ++i;
  }
  out->push_back('"');
}

void AppendJsonValue(std::string* out, const Value& value) {
  char buffer[64];
  if (std::holds_alternative<int64_t>(value)) {
    auto result = std::to_chars(buffer, buffer + sizeof buffer, std::get<int64_t>(value));
    out->append(buffer, result.ptr);
  } else if (std::holds_alternative<double>(value)) {
    double number = std::get<double>(value);
    if (!std::isfinite(number)) {
      out->append("null");
      return;
    }
    auto result = std::to_chars(buffer, buffer + sizeof buffer, number);
    std::string_view text(buffer, static_cast<size_t>(result.ptr - buffer));
    out->append(text);
    if (text.find_first_of(".e") == std::string_view::npos) out->append(".0");
  } else if (std::holds_alternative<std::string>(value)) {
    AppendJsonString(out, std::get<std::string>(value));
  } else {
    out->append("null");
  }
}

void AppendRowsJson(std::string* out, const Table& table, bool objects) {
  std::vector<std::string> keys;
  if (objects) {
    for (const std::string& column : table.columns) {
      std::string key;
      AppendJsonString(&key, column);
      key.push_back(':');
      keys.push_back(std::move(key));
    }
  }
  out->push_back('[');
  for (size_t r = 0; r < table.rows.size(); ++r) {
    if (r) out->push_back(',');
    out->push_back(objects ? '{' : '[');
    const std::vector<Value>& row = table.rows[r];
    for (size_t c = 0; c < row.size(); ++c) {
      if (c) out->push_back(',');
      if (objects) out->append(keys[c]);
      AppendJsonValue(out, row[c]);
    }
    out->push_back(objects ? '}' : ']');
  }
  out->push_back(']');
}

std::string TableToCsv(const Table& table) {
  std::string csv;
  auto field = [&csv](const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) {
      csv += text;
      return;
    }
    csv += '"';
    for (char c : text) {
      if (c == '"') csv += '"';
      csv += c;
    }
    csv += '"';
  };
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (c) csv += ',';
    field(table.columns[c]);
  }
  csv += "\r\n";
  for (const auto& row : table.rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c) csv += ',';
      field(CsvField(row[c]));
    }
    csv += "\r\n";
  }
  return csv;
}

}  // namespace citybooks
