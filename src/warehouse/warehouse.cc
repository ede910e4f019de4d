#include "warehouse/warehouse.h"

#include <cstdio>

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

}  // namespace citybooks
