// Table DDL the backends write the same way; only column type names differ.
//
//   sql += CreateTableStatement(schema, table, TypeName);  // then indexes
#pragma once

#include <string>

#include "warehouse/warehouse.h"

namespace citybooks::internal {

// "CREATE TABLE IF NOT EXISTS "schema"."table" (... , PRIMARY KEY (...))"
// without a terminating ';', each column's type spelled by `type_name`.
std::string CreateTableStatement(const std::string& schema, const TableDef& table,
                                 const char* (*type_name)(ColumnType));

}  // namespace citybooks::internal
