// The SQLite backend of Warehouse: the URL names the main file; each dataset
// schema is its own file beside it ("<schema>.db"), attached under the
// schema's name and kept in WAL mode, so a load commits inside one file.
// A lock file per schema keeps two loads of one dataset apart.
#pragma once

#include <memory>
#include <string>

#include "warehouse/warehouse.h"

namespace citybooks {

// `path` is the main database file.
Result<std::unique_ptr<Warehouse>> OpenSqliteWarehouse(const std::string& path,
                                                       const WarehouseOptions& options);

}  // namespace citybooks
