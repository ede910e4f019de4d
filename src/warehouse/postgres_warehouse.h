// The PostgreSQL backend of Warehouse, on libpq: each dataset is a schema
// owned by the role citybooks_loader; loads are one transaction holding an
// advisory lock per schema and append with COPY; read-only warehouses connect
// as citybooks_reader and run every query in its own READ ONLY transaction.
//
//   CB_ASSIGN_OR_RETURN(auto warehouse,
//                       OpenPostgresWarehouse("postgresql://me@127.0.0.1:5432/city", {}));
//
// The URL is a libpq connection URI; the password comes from PGPASSWORD,
// ~/.pgpass or libpq's other means (a password written in the URL works but
// is never printed). The reader's password comes from
// CITYBOOKS_READER_PASSWORD when set. A warehouse is one connection (each
// load opens its own): use it from one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "warehouse/warehouse.h"

namespace citybooks {

// `url` starts with postgresql:// or postgres://.
Result<std::unique_ptr<Warehouse>> OpenPostgresWarehouse(const std::string& url,
                                                         const WarehouseOptions& options);

// `url` without its password (in the user part or a password= parameter),
// for messages and Warehouse::url().
std::string RedactPostgresUrl(const std::string& url);

}  // namespace citybooks
