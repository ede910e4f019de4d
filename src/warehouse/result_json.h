// Query results as JSON (nlohmann::json), for status, check samples, the CLI
// and the API: one object per row keyed by column name.
#pragma once

#include <nlohmann/json.hpp>

#include "warehouse/warehouse.h"

namespace citybooks {

inline nlohmann::json ValueToJson(const Value& value) {
  if (std::holds_alternative<int64_t>(value)) return std::get<int64_t>(value);
  if (std::holds_alternative<double>(value)) return std::get<double>(value);
  if (std::holds_alternative<std::string>(value)) return std::get<std::string>(value);
  return nullptr;
}

// Row `row` of `result` as {"column": value, ...}.
inline nlohmann::json RowToJson(const QueryResult& result, size_t row) {
  nlohmann::json object = nlohmann::json::object();
  for (size_t c = 0; c < result.columns.size(); ++c)
    object[result.columns[c]] = ValueToJson(result.rows[row][c]);
  return object;
}

// The first `limit` rows (all when 0) as an array of row objects.
inline nlohmann::json RowsToJson(const QueryResult& result, size_t limit = 0) {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t r = 0; r < result.rows.size() && (limit == 0 || r < limit); ++r)
    rows.push_back(RowToJson(result, r));
  return rows;
}

}  // namespace citybooks
