#include "warehouse/warehouse.h"

#include <cstdio>

#include "warehouse/internal/ddl.h"
#include "warehouse/postgres_warehouse.h"
#include "warehouse/sqlite_warehouse.h"

namespace citybooks {

std::string ValueToString(const Value& value) {
  switch (value.index()) {
    case 1:
      return std::to_string(std::get<int64_t>(value));
    case 2: {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%.17g", std::get<double>(value));
      return buffer;
    }
    case 3:
      return std::get<std::string>(value);
    default:
      return "";
  }
}

int64_t ValueToInt(const Value& value) {
  if (std::holds_alternative<int64_t>(value)) return std::get<int64_t>(value);
  if (std::holds_alternative<double>(value)) return static_cast<int64_t>(std::get<double>(value));
  return 0;
}

std::string QuoteIdentifier(std::string_view identifier) {
  std::string quoted = "\"";
  quoted += identifier;
  quoted += '"';
  return quoted;
}

Result<std::unique_ptr<Warehouse>> OpenWarehouse(const std::string& url,
                                                 const WarehouseOptions& options) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.starts_with(kSqlite)) {
    std::string path = url.substr(kSqlite.size());
    if (path.empty())
      return Fail(ErrorCode::kInvalidArgument, "warehouse URL " + url +
                                                   " names no file; use sqlite:///abs/path.db or "
                                                   "sqlite://./relative.db");
    return OpenSqliteWarehouse(path, options);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://"))
    return OpenPostgresWarehouse(url, options);
  return Fail(ErrorCode::kInvalidArgument,
              "warehouse URL " + RedactPostgresUrl(url) +
                  " is not understood; use sqlite:///abs/path.db, sqlite://./relative.db or "
                  "postgresql://USER@HOST:PORT/DATABASE");
}

namespace internal {

std::string CreateTableStatement(const std::string& schema, const TableDef& table,
                                 const char* (*type_name)(ColumnType)) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + QuoteIdentifier(schema) + "." +
                    QuoteIdentifier(table.name) + " (";
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const ColumnDef& column = table.columns[i];
    sql += (i ? ", " : "") + QuoteIdentifier(column.name) + " " + type_name(column.type);
    if (column.not_null) sql += " NOT NULL";
  }
  if (!table.primary_key.empty()) {
    sql += ", PRIMARY KEY (";
    for (size_t i = 0; i < table.primary_key.size(); ++i)
      sql += (i ? ", " : "") + QuoteIdentifier(table.primary_key[i]);
    sql += ")";
  }
  return sql + ")";
}

}  // namespace internal

}  // namespace citybooks
