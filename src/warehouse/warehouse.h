// Warehouse: the one interface to where conformed data lives — SQLite files by
// default, PostgreSQL later — chosen from a URL. Each dataset is a schema
// (SQLite: a database file attached under the schema's name) so qualified
// names like sf_spending_revenue.fact_transaction work in every backend.
// SQL given to these calls uses '?' placeholders and the common subset of
// SQL; whatever differs between engines (DDL types, bulk loading, locking,
// read-only enforcement) stays inside the backend.
//
//   CB_ASSIGN_OR_RETURN(auto warehouse, OpenWarehouse("sqlite://./wh.db", {}));
//   CB_ASSIGN_OR_RETURN(auto load, warehouse->BeginLoad("sf_spending_revenue"));
//   ... load->Appender(...), load->Execute(...) ...
//   CB_RETURN_IF_ERROR(load->Commit());  // or destroy it to roll back
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.h"

namespace citybooks {

// One SQL value. Text is owned so results outlive the statement.
using Value = std::variant<std::monostate, int64_t, double, std::string>;

// A parameter or appended cell: like Value but text is borrowed for the call.
struct Cell {
  enum class Kind { kNull, kInteger, kReal, kText };
  Kind kind = Kind::kNull;
  int64_t integer = 0;
  double real = 0;
  std::string_view text;

  static Cell Null() { return Cell{}; }
  static Cell Int(int64_t v) { return Cell{Kind::kInteger, v, 0, {}}; }
  static Cell Real(double v) { return Cell{Kind::kReal, 0, v, {}}; }
  static Cell Text(std::string_view v) { return Cell{Kind::kText, 0, 0, v}; }
};

std::string ValueToString(const Value& value);  // NULL -> ""
int64_t ValueToInt(const Value& value);         // REAL truncated; NULL and text -> 0

// `identifier` as a quoted SQL name ("name"), standard SQL that every
// backend accepts. Callers pass only names checked to be [a-z0-9_].
std::string QuoteIdentifier(std::string_view identifier);

enum class ColumnType { kInteger, kReal, kText };

struct ColumnDef {
  std::string name;
  ColumnType type = ColumnType::kText;
  bool not_null = false;
};

struct TableDef {
  std::string name;
  std::vector<ColumnDef> columns;
  std::vector<std::string> primary_key;
  std::vector<std::vector<std::string>> indexes;
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
  bool truncated = false;  // more rows existed than QueryOptions::max_rows

  // The integer at (row, column); 0 when there is no such row.
  int64_t IntAt(size_t row = 0, size_t column = 0) const {
    return row < rows.size() && column < rows[row].size() ? ValueToInt(rows[row][column]) : 0;
  }
};

struct QueryOptions {
  size_t max_rows = 0;                      // 0: no cap
  std::chrono::milliseconds time_limit{0};  // 0: none
};

// Appends rows to one table inside a load; may buffer. Rows become visible
// to the transaction no later than the next Execute/Query/Commit.
class BulkAppender {
 public:
  virtual ~BulkAppender() = default;
  // `row` holds one cell per column given to LoadTransaction::Appender. Text
  // is copied; the caller's buffers may change after the call.
  virtual Status Append(std::span<const Cell> row) = 0;
  // Writes buffered rows. The transaction also flushes every live appender
  // before it runs another statement or commits.
  virtual Status Flush() = 0;
};

// One atomic load of one dataset schema: everything done through it commits
// together or not at all. Only one load of a schema runs at a time. Destroying
// it without Commit() rolls back.
class LoadTransaction {
 public:
  virtual ~LoadTransaction() = default;
  virtual Status Execute(const std::string& sql, std::span<const Cell> params = {}) = 0;
  virtual Result<QueryResult> Query(const std::string& sql, std::span<const Cell> params = {}) = 0;
  virtual Result<std::unique_ptr<BulkAppender>> Appender(
      const std::string& table, const std::vector<std::string>& columns) = 0;
  virtual Status Commit() = 0;
  // "schema.table" as this backend writes it.
  virtual std::string Qualify(const std::string& table) const = 0;
};

struct WarehouseOptions {
  // Open for reading only: every statement is checked to be a single
  // read-only query (the reader role of SPEC).
  bool read_only = false;
};

class Warehouse {
 public:
  virtual ~Warehouse() = default;

  // Creates the schema and any of `tables` that do not exist yet (idempotent).
  virtual Status EnsureSchema(const std::string& schema, const std::vector<TableDef>& tables) = 0;

  // True if the schema exists (SQLite: its file is registered).
  virtual Result<bool> HasSchema(const std::string& schema) = 0;

  // Starts the one load of `schema`; kFailedPrecondition when another load of
  // the same schema holds the lock.
  virtual Result<std::unique_ptr<LoadTransaction>> BeginLoad(const std::string& schema) = 0;

  // Runs one read-only statement. In a read-only warehouse anything that
  // would write, and more than one statement, is refused with
  // kInvalidArgument.
  virtual Result<QueryResult> Query(const std::string& sql, std::span<const Cell> params = {},
                                    QueryOptions options = {}) = 0;

  // Like Query, but hands each row to `row` as it is read, so memory does not
  // grow with the result (models read whole fact tables this way). The
  // column names go to `columns` first when it is not null. Stops at the
  // first error `row` returns and returns that error.
  using RowCallback = std::function<Status(std::span<const Value> row)>;
  virtual Status QueryEach(const std::string& sql, std::span<const Cell> params,
                           const RowCallback& row, std::vector<std::string>* columns) = 0;

  // Removes the schema and everything in it (destroy); missing is fine.
  virtual Status DropSchema(const std::string& schema) = 0;

  // Creates what the backend needs beside dataset schemas (PostgreSQL: the
  // roles citybooks_loader and citybooks_reader); idempotent. Appends one
  // line to `report` per thing it created.
  virtual Status Provision(std::vector<std::string>& report) = 0;

  // Removes what Provision and opening created (PostgreSQL: the roles;
  // SQLite: the main file), once no dataset schema is left; missing is
  // fine. Appends one line to `report` per thing it removed. The warehouse
  // must not be used afterwards.
  virtual Status Deprovision(std::vector<std::string>& report) = 0;

  virtual std::string url() const = 0;
};

// Opens the warehouse named by `url`: "sqlite:///abs/wh.db", "sqlite://./rel.db",
// "postgresql://USER@HOST:PORT/DATABASE" (or postgres://). Other schemes are
// kInvalidArgument, naming the URL.
Result<std::unique_ptr<Warehouse>> OpenWarehouse(const std::string& url,
                                                 const WarehouseOptions& options);

}  // namespace citybooks
