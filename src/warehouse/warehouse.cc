#include "warehouse/warehouse.h"

#include <cstdio>

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

}  // namespace citybooks
