// Fast JSON and CSV text for result rows, written straight from warehouse
// values without building a JSON tree: the rows are most of every answer,
// so this is where the server's time per request goes.
//
//   std::string json;
//   AppendRowsJson(&json, table, /*objects=*/true);  // [{"a":1,"b":"x"},...]
//   std::string csv = TableToCsv(table);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "warehouse/warehouse.h"

namespace citybooks {

// Rows with named columns: what a tabular answer holds.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
};

// `text` as a JSON string (quoted and escaped); invalid UTF-8 becomes U+FFFD.
void AppendJsonString(std::string* out, std::string_view text);
// NULL -> null; doubles in their shortest form that reads back the same
// (integral ones with ".0"), NaN and infinities -> null.
void AppendJsonValue(std::string* out, const Value& value);
// The rows as a JSON array of objects keyed by column, or of arrays.
void AppendRowsJson(std::string* out, const Table& table, bool objects);

// `table` as RFC 4180 CSV: a header line, CRLF line ends, fields quoted when
// they hold a comma, quote or line break; NULL is an empty field.
std::string TableToCsv(const Table& table);

}  // namespace citybooks
