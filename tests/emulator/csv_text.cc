#include "emulator/csv_text.h"

namespace citybooks::emulator {

void AppendCsvRecord(const CsvFields& fields, const CsvStyle& style, std::string* out) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(',');
    const std::string& field = fields[i];
    const bool quote = style.quote_all || field.find_first_of(",\"\r\n") != std::string::npos;
    if (!quote) {
      out->append(field);
      continue;
    }
    out->push_back('"');
    for (char c : field) {
      if (c == '"') out->push_back('"');
      out->push_back(c);
    }
    out->push_back('"');
  }
  out->append(style.crlf ? "\r\n" : "\n");
}

std::vector<CsvFields> ParseCsv(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);

  std::vector<CsvFields> records;
  CsvFields record;
  std::string field;
  bool at_field_start = true;
  bool in_quotes = false;

  auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
    at_field_start = true;
  };

  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c != '"') {
        field.push_back(c);
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else {
        in_quotes = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (at_field_start) {
          in_quotes = true;
          at_field_start = false;
        } else {
          field.push_back(c);
        }
        break;
      case ',':
        end_field();
        break;
      case '\r':
      case '\n':
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        end_field();
        records.push_back(std::move(record));
        record.clear();
        break;
      default:
        field.push_back(c);
        at_field_start = false;
    }
  }
  if (!at_field_start || !record.empty()) {
    end_field();
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace citybooks::emulator
