// Printing query results as an aligned table, CSV or JSON.
#pragma once

#include <ostream>
#include <string>

#include "warehouse/warehouse.h"

namespace citybooks {

enum class OutputFormat { kTable, kCsv, kJson };

// Parses "table", "csv" or "json".
Result<OutputFormat> ParseOutputFormat(const std::string& text);

void PrintResult(const QueryResult& result, OutputFormat format, std::ostream& out);

}  // namespace citybooks
