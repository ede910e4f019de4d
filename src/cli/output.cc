#include "cli/output.h"

#include <algorithm>
#include <cmath>

#include "common/csv_reader.h"
#include "warehouse/result_json.h"

namespace citybooks {

namespace {

bool IsNumber(const Value& value) {
  return std::holds_alternative<int64_t>(value) || std::holds_alternative<double>(value);
}

std::string Display(const Value& value) {
  if (std::holds_alternative<double>(value)) {
    char buffer[64];
    double number = std::get<double>(value);
    // Money-like values print with cents; others keep their precision.
    double cents = number * 100;
    if (std::abs(number) < 1e13 && std::abs(cents - std::round(cents)) < 1e-4) {
      std::snprintf(buffer, sizeof buffer, "%.2f", number);
    } else {
      std::snprintf(buffer, sizeof buffer, "%.10g", number);
    }
    return buffer;
  }
  return ValueToString(value);
}

// Width in characters of UTF-8 text (continuation bytes do not count).
size_t Width(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++width;
  return width;
}

}  // namespace

Result<OutputFormat> ParseOutputFormat(const std::string& text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "csv") return OutputFormat::kCsv;
  if (text == "json") return OutputFormat::kJson;
  return Fail(ErrorCode::kInvalidArgument,
              "--format " + text + " is not known; use table, csv or json");
}

void PrintResult(const QueryResult& result, OutputFormat format, std::ostream& out) {
  switch (format) {
    case OutputFormat::kCsv: {
      std::string line;
      for (size_t c = 0; c < result.columns.size(); ++c) {
        if (c) line.push_back(',');
        AppendCsvField(&line, result.columns[c]);
      }
      out << line << "\n";
      for (const auto& row : result.rows) {
        line.clear();
        for (size_t c = 0; c < row.size(); ++c) {
          if (c) line.push_back(',');
          AppendCsvField(&line, Display(row[c]));
        }
        out << line << "\n";
      }
      break;
    }
    case OutputFormat::kJson: {
      nlohmann::json rows = RowsToJson(result);
      out << rows.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      break;
    }
    case OutputFormat::kTable: {
      std::vector<size_t> widths;
      for (const auto& column : result.columns) widths.push_back(Width(column));
      std::vector<std::vector<std::string>> cells;
      std::vector<bool> numeric(result.columns.size(), true);
      for (const auto& row : result.rows) {
        std::vector<std::string> texts;
        for (size_t c = 0; c < row.size(); ++c) {
          texts.push_back(Display(row[c]));
          widths[c] = std::max(widths[c], Width(texts.back()));
          if (!IsNumber(row[c]) && !std::holds_alternative<std::monostate>(row[c]))
            numeric[c] = false;
        }
        cells.push_back(std::move(texts));
      }
      auto pad = [&](const std::string& text, size_t c) {
        std::string padding(widths[c] - Width(text), ' ');
        return numeric[c] ? padding + text : text + padding;
      };
      std::string line;
      for (size_t c = 0; c < result.columns.size(); ++c)
        line += (c ? "  " : "") + pad(result.columns[c], c);
      out << line << "\n";
      line.clear();
      for (size_t c = 0; c < result.columns.size(); ++c)
        line += (c ? "  " : "") + std::string(widths[c], '-');
      out << line << "\n";
      for (const auto& row : cells) {
        line.clear();
        for (size_t c = 0; c < row.size(); ++c) line += (c ? "  " : "") + pad(row[c], c);
        out << line << "\n";
      }
      out << "(" << result.rows.size() << " row" << (result.rows.size() == 1 ? "" : "s")
          << (result.truncated ? ", more were cut off" : "") << ")\n";
      break;
    }
  }
}

}  // namespace citybooks
