#include "warehouse/sqlite_warehouse.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/text.h"
#include "warehouse/internal/ddl.h"

namespace citybooks {

namespace {

namespace fs = std::filesystem;

bool ValidSchema(const std::string& schema) {
  if (schema.empty() || schema.size() > 63) return false;
  for (char c : schema)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

const char* TypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kInteger:
      return "INTEGER";
    case ColumnType::kReal:
      return "REAL";
    case ColumnType::kText:
      return "TEXT";
  }
  return "TEXT";
}

// Owns a sqlite3 connection.
struct Connection {
  sqlite3* db = nullptr;
  ~Connection() {
    if (db != nullptr) sqlite3_close_v2(db);
  }
  std::string error() const { return db ? sqlite3_errmsg(db) : "out of memory"; }
};

// Owns a prepared statement.
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept {
    std::swap(stmt_, other.stmt_);
    return *this;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

Status Bind(sqlite3* db, sqlite3_stmt* stmt, std::span<const Cell> params) {
  for (size_t i = 0; i < params.size(); ++i) {
    int index = static_cast<int>(i + 1);
    int rc = SQLITE_OK;
    const Cell& cell = params[i];
    switch (cell.kind) {
      case Cell::Kind::kNull:
        rc = sqlite3_bind_null(stmt, index);
        break;
      case Cell::Kind::kInteger:
        rc = sqlite3_bind_int64(stmt, index, cell.integer);
        break;
      case Cell::Kind::kReal:
        rc = sqlite3_bind_double(stmt, index, cell.real);
        break;
      case Cell::Kind::kText:
        rc = sqlite3_bind_text(stmt, index, cell.text.data(), static_cast<int>(cell.text.size()),
                               SQLITE_STATIC);
        break;
    }
    if (rc != SQLITE_OK)
      return Fail(ErrorCode::kInvalidArgument,
                  "cannot bind parameter " + std::to_string(index) + ": " + sqlite3_errmsg(db));
  }
  return Ok();
}

Value ColumnValue(sqlite3_stmt* stmt, int column) {
  switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_INTEGER:
      return Value(static_cast<int64_t>(sqlite3_column_int64(stmt, column)));
    case SQLITE_FLOAT:
      return Value(sqlite3_column_double(stmt, column));
    case SQLITE_NULL:
      return Value();
    default: {
      const char* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
      int bytes = sqlite3_column_bytes(stmt, column);
      return Value(std::string(text == nullptr ? "" : text, static_cast<size_t>(bytes)));
    }
  }
}

// Refuses everything but reading, for read-only warehouses.
int ReadOnlyAuthorizer(void*, int action, const char*, const char*, const char*, const char*) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    default:
      return SQLITE_DENY;
  }
}

struct Deadline {
  double limit_seconds = 0;
  std::chrono::steady_clock::time_point end;
};

int ProgressHandler(void* data) {
  auto* deadline = static_cast<Deadline*>(data);
  return std::chrono::steady_clock::now() > deadline->end ? 1 : 0;
}

bool OnlyWhiteSpace(const char* tail) {
  if (tail == nullptr) return true;
  for (; *tail; ++tail)
    if (!(*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';'))
      return false;
  return true;
}

Status Exec(sqlite3* db, const std::string& sql, std::string_view context) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    return Fail(ErrorCode::kIoError, std::string(context) + ": " + text);
  }
  return Ok();
}

// Runs the one statement `sql` with `params`, handing the column names to
// `columns` (when not null) and each row to `on_row`; stops after
// `options.max_rows` rows, setting *truncated when more existed.
Status RunQueryEach(sqlite3* db, const std::string& sql, std::span<const Cell> params,
                    const QueryOptions& options, bool read_only,
                    const Warehouse::RowCallback& on_row, std::vector<std::string>* columns,
                    bool* truncated) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &raw, &tail);
  Statement stmt(raw);
  if (rc != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db);
    if (rc == SQLITE_AUTH || message.find("not authorized") != std::string::npos)
      return Fail(ErrorCode::kInvalidArgument,
                  "the statement was refused: this connection may only read (SELECT)");
    return Fail(ErrorCode::kInvalidArgument, "SQL error: " + message);
  }
  if (raw == nullptr) return Fail(ErrorCode::kInvalidArgument, "the SQL text holds no statement");
  if (!OnlyWhiteSpace(tail)) {
    // A comment-only tail prepares to no statement; anything else is a second one.
    sqlite3_stmt* next = nullptr;
    int next_rc = sqlite3_prepare_v2(db, tail, -1, &next, nullptr);
    Statement next_stmt(next);
    if (next_rc != SQLITE_OK || next != nullptr)
      return Fail(ErrorCode::kInvalidArgument, "only one SQL statement may be run at a time");
  }
  if (read_only && !sqlite3_stmt_readonly(raw))
    return Fail(ErrorCode::kInvalidArgument,
                "the statement was refused: this connection may only read (SELECT)");
  CB_RETURN_IF_ERROR(Bind(db, raw, params));

  Deadline deadline;
  if (options.time_limit.count() > 0) {
    deadline.end = std::chrono::steady_clock::now() + options.time_limit;
    sqlite3_progress_handler(db, 10000, ProgressHandler, &deadline);
  }
  struct ClearHandler {
    sqlite3* db;
    ~ClearHandler() { sqlite3_progress_handler(db, 0, nullptr, nullptr); }
  } clear_handler{db};
  int column_count = sqlite3_column_count(raw);
  if (columns != nullptr)
    for (int c = 0; c < column_count; ++c) columns->emplace_back(sqlite3_column_name(raw, c));
  std::vector<Value> row(column_count);
  size_t rows = 0;
  while (true) {
    rc = sqlite3_step(raw);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      if (rc == SQLITE_INTERRUPT)
        return Fail(ErrorCode::kAborted, "the query ran past its time limit of " +
                                             std::to_string(options.time_limit.count()) + " ms");
      return Fail(ErrorCode::kInvalidArgument, std::string("SQL error: ") + sqlite3_errmsg(db));
    }
    if (options.max_rows > 0 && rows >= options.max_rows) {
      if (truncated != nullptr) *truncated = true;
      break;
    }
    for (int c = 0; c < column_count; ++c) row[c] = ColumnValue(raw, c);
    CB_RETURN_IF_ERROR(on_row(row));
    ++rows;
  }
  return Ok();
}

// Runs `sql` as RunQueryEach does and collects the rows.
Result<QueryResult> RunQuery(sqlite3* db, const std::string& sql, std::span<const Cell> params,
                             const QueryOptions& options, bool read_only) {
  QueryResult result;
  CB_RETURN_IF_ERROR(RunQueryEach(
      db, sql, params, options, read_only,
      [&result](std::span<const Value> row) {
        result.rows.emplace_back(row.begin(), row.end());
        return Ok();
      },
      &result.columns, &result.truncated));
  return result;
}

Status ExecuteStatement(sqlite3* db, const std::string& sql, std::span<const Cell> params) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK)
    return Fail(ErrorCode::kInternal,
                "SQL error in \"" + sql.substr(0, 80) + "\": " + sqlite3_errmsg(db));
  Statement stmt(raw);
  CB_RETURN_IF_ERROR(Bind(db, raw, params));
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE)
    return Fail(
        rc == SQLITE_FULL || rc == SQLITE_IOERR ? ErrorCode::kIoError : ErrorCode::kInternal,
        "SQL error in \"" + sql.substr(0, 80) + "\": " + sqlite3_errmsg(db));
  return Ok();
}

Result<std::unique_ptr<Connection>> OpenConnection(const std::string& path, bool read_only) {
  auto connection = std::make_unique<Connection>();
  int flags = SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX |
              (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  std::string target = read_only ? "file:" + path + "?mode=ro" : path;
  if (sqlite3_open_v2(target.c_str(), &connection->db, flags, nullptr) != SQLITE_OK)
    return Fail(ErrorCode::kIoError,
                "cannot open the warehouse file " + path + ": " + connection->error());
  sqlite3_busy_timeout(connection->db, 10000);
  sqlite3_extended_result_codes(connection->db, 0);
  return connection;
}

class SqliteLoad;

// Rows buffered by an appender, written as one multi-row INSERT.
struct SqliteBatch {
  class SqliteAppender* appender = nullptr;
  std::vector<Cell> cells;  // text cells hold offsets into `text` until written
  std::string text;
  size_t rows = 0;
};

// Buffers rows and hands full batches to the load's writer thread, which
// writes each with one multi-row INSERT: the per-statement cost of SQLite
// (step, reset, halt) is paid once per batch, and conforming the next rows
// overlaps with writing these.
class SqliteAppender : public BulkAppender {
 public:
  static constexpr size_t kMaxParameters = 32000;  // below SQLite's default limit of 32766

  SqliteAppender(SqliteLoad* load, std::string insert_prefix, size_t columns)
      : load_(load),
        prefix_(std::move(insert_prefix)),
        columns_(columns),
        batch_rows_(std::max<size_t>(1, std::min<size_t>(256, kMaxParameters / columns))) {
    NewBatch();
  }
  ~SqliteAppender() override;
  SqliteAppender(const SqliteAppender&) = delete;
  SqliteAppender& operator=(const SqliteAppender&) = delete;

  Status Append(std::span<const Cell> row) override;
  Status Flush() override;

  // Hands the current batch to the writer without waiting for it.
  Status Submit();
  // The transaction ended first: later rows have nowhere to go.
  void Detach() { load_ = nullptr; }
  // Runs on the writer thread.
  Status Write(sqlite3* db, SqliteBatch& batch);

 private:
  void NewBatch() {
    batch_ = SqliteBatch();
    batch_.appender = this;
    batch_.cells.reserve(batch_rows_ * columns_);
  }

  SqliteLoad* load_;
  std::string prefix_;
  size_t columns_;
  size_t batch_rows_;
  SqliteBatch batch_;
  // Used only by the writer thread.
  Statement full_;
  Statement partial_;
  size_t partial_rows_ = 0;
};

class SqliteLoad : public LoadTransaction {
 public:
  static constexpr size_t kMaxQueuedBatches = 16;

  SqliteLoad(std::unique_ptr<Connection> connection, std::string schema, int lock_fd)
      : connection_(std::move(connection)), schema_(std::move(schema)), lock_fd_(lock_fd) {}

  ~SqliteLoad() override {
    StopWriter();
    // Appenders still alive must not write into a rolled-back transaction.
    for (SqliteAppender* appender : appenders_) appender->Detach();
    if (!committed_) sqlite3_exec(connection_->db, "ROLLBACK", nullptr, nullptr, nullptr);
    connection_.reset();
    if (lock_fd_ >= 0) close(lock_fd_);  // releases the flock
  }

  Status Execute(const std::string& sql, std::span<const Cell> params) override {
    CB_RETURN_IF_ERROR(FlushAppenders());
    return ExecuteStatement(connection_->db, sql, params);
  }

  Result<QueryResult> Query(const std::string& sql, std::span<const Cell> params) override {
    CB_RETURN_IF_ERROR(FlushAppenders());
    return RunQuery(connection_->db, sql, params, {}, false);
  }

  Result<std::unique_ptr<BulkAppender>> Appender(const std::string& table,
                                                 const std::vector<std::string>& columns) override {
    std::string sql = "INSERT INTO " + Qualify(table) + " (";
    for (size_t i = 0; i < columns.size(); ++i)
      sql += (i ? ", " : "") + QuoteIdentifier(columns[i]);
    sql += ") VALUES";
    auto appender = std::make_unique<SqliteAppender>(this, sql, columns.size());
    appenders_.insert(appender.get());
    return std::unique_ptr<BulkAppender>(std::move(appender));
  }

  Status Commit() override {
    CB_RETURN_IF_ERROR(FlushAppenders());
    CB_RETURN_IF_ERROR(Exec(connection_->db, "COMMIT", "cannot commit the load of " + schema_));
    committed_ = true;
    return Ok();
  }

  std::string Qualify(const std::string& table) const override {
    return QuoteIdentifier(schema_) + "." + QuoteIdentifier(table);
  }

  // Queues a batch for the writer thread (started on first use); waits while
  // the queue is full. Returns the writer's first error, if any.
  Status Enqueue(SqliteBatch batch) {
    std::unique_lock lock(mutex_);
    if (!writer_.joinable()) writer_ = std::thread([this] { WriterLoop(); });
    space_.wait(lock, [&] { return queue_.size() < kMaxQueuedBatches || !error_.empty(); });
    if (!error_.empty()) return Fail(error_code_, error_);
    queue_.push_back(std::move(batch));
    work_.notify_one();
    return Ok();
  }

  // Waits until the writer has written everything queued.
  Status WaitIdle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return (queue_.empty() && !busy_) || !error_.empty(); });
    if (!error_.empty()) return Fail(error_code_, error_);
    return Ok();
  }

  void Forget(SqliteAppender* appender) { appenders_.erase(appender); }

 private:
  Status FlushAppenders() {
    for (SqliteAppender* appender : appenders_) CB_RETURN_IF_ERROR(appender->Submit());
    return WaitIdle();
  }

  void WriterLoop() {
    std::unique_lock lock(mutex_);
    while (true) {
      work_.wait(lock, [&] { return !queue_.empty() || stop_; });
      if (queue_.empty()) return;  // stop_ and nothing left
      SqliteBatch batch = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      space_.notify_one();
      lock.unlock();
      Status status = error_.empty() ? batch.appender->Write(connection_->db, batch) : Ok();
      lock.lock();
      busy_ = false;
      if (!status && error_.empty()) {
        error_ = status.error().message();
        error_code_ = status.error().code();
        space_.notify_all();
      }
      if (queue_.empty()) idle_.notify_all();
    }
  }

  void StopWriter() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
      if (!committed_) queue_.clear();  // rolling back: nothing queued matters
    }
    work_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  std::unique_ptr<Connection> connection_;
  std::string schema_;
  int lock_fd_;
  bool committed_ = false;
  std::set<SqliteAppender*> appenders_;

  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable space_;
  std::condition_variable idle_;
  std::deque<SqliteBatch> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::string error_;
  ErrorCode error_code_ = ErrorCode::kIoError;
  std::thread writer_;
};

SqliteAppender::~SqliteAppender() {
  if (load_ != nullptr) {
    (void)Flush();
    load_->Forget(this);
  }
}

Status SqliteAppender::Append(std::span<const Cell> row) {
  if (row.size() != columns_)
    return Fail(ErrorCode::kInternal, "appender got " + std::to_string(row.size()) + " cells for " +
                                          std::to_string(columns_) + " columns");
  for (const Cell& cell : row) {
    batch_.cells.push_back(cell);
    if (cell.kind == Cell::Kind::kText) {
      batch_.cells.back().integer = static_cast<int64_t>(batch_.text.size());
      batch_.text.append(cell.text);
    }
  }
  if (++batch_.rows >= batch_rows_) return Submit();
  return Ok();
}

Status SqliteAppender::Submit() {
  if (load_ == nullptr)
    return Fail(ErrorCode::kFailedPrecondition, "the load this appender belonged to has ended");
  if (batch_.rows == 0) return Ok();
  SqliteBatch full = std::move(batch_);
  NewBatch();
  return load_->Enqueue(std::move(full));
}

Status SqliteAppender::Flush() {
  CB_RETURN_IF_ERROR(Submit());
  return load_->WaitIdle();
}

Status SqliteAppender::Write(sqlite3* db, SqliteBatch& batch) {
  for (Cell& cell : batch.cells)
    if (cell.kind == Cell::Kind::kText)
      cell.text = std::string_view(batch.text.data() + cell.integer, cell.text.size());
  bool full = batch.rows == batch_rows_;
  Statement& stmt = full ? full_ : partial_;
  if (stmt.get() == nullptr || (!full && partial_rows_ != batch.rows)) {
    std::string tuple = "(";
    for (size_t c = 0; c < columns_; ++c) tuple += c ? ", ?" : "?";
    tuple += ")";
    std::string sql = prefix_;
    for (size_t r = 0; r < batch.rows; ++r) sql += (r ? ", " : " ") + tuple;
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
        SQLITE_OK)
      return Fail(ErrorCode::kInternal,
                  "cannot prepare \"" + prefix_ + "\": " + sqlite3_errmsg(db));
    stmt = Statement(raw);
    if (!full) partial_rows_ = batch.rows;
  }
  Status status = Bind(db, stmt.get(), batch.cells);
  if (status && sqlite3_step(stmt.get()) != SQLITE_DONE)
    status = Fail(ErrorCode::kIoError,
                  "cannot append rows (" + prefix_.substr(0, 60) + "): " + sqlite3_errmsg(db));
  sqlite3_reset(stmt.get());
  return status;
}

class SqliteWarehouse : public Warehouse {
 public:
  SqliteWarehouse(std::string path, WarehouseOptions options)
      : path_(std::move(path)), options_(options) {
    fs::path main(path_);
    directory_ = main.parent_path().empty() ? fs::path(".") : main.parent_path();
  }

  Status Open() {
    if (options_.read_only && !fs::exists(path_))
      return Fail(ErrorCode::kNotFound,
                  "there is no warehouse at " + path_ + " yet; run `citybooks load` first");
    if (!options_.read_only) {
      std::error_code error;
      fs::create_directories(directory_, error);
      if (error)
        return Fail(ErrorCode::kIoError,
                    "cannot create " + directory_.string() + ": " + error.message());
    }
    CB_ASSIGN_OR_RETURN(main_, OpenConnection(path_, options_.read_only));
    if (!options_.read_only) {
      CB_RETURN_IF_ERROR(Exec(main_->db,
                              "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS cb_datasets ("
                              "schema_name TEXT PRIMARY KEY, file TEXT NOT NULL)",
                              "cannot prepare the warehouse " + path_));
    }
    // Attach every registered dataset file so qualified names resolve.
    auto registered =
        RunQuery(main_->db, "SELECT schema_name FROM cb_datasets ORDER BY 1", {}, {}, false);
    if (registered) {
      for (const auto& row : registered->rows) {
        std::string schema = ValueToString(row[0]);
        if (ValidSchema(schema) && fs::exists(SchemaFile(schema)))
          CB_RETURN_IF_ERROR(Attach(main_->db, schema, options_.read_only));
      }
    }
    if (options_.read_only) sqlite3_set_authorizer(main_->db, ReadOnlyAuthorizer, nullptr);
    return Ok();
  }

  Status EnsureSchema(const std::string& schema, const std::vector<TableDef>& tables) override {
    if (options_.read_only) return ReadOnlyRefusal();
    CB_RETURN_IF_ERROR(CheckSchema(schema));
    if (attached_.count(schema) == 0) CB_RETURN_IF_ERROR(Attach(main_->db, schema, false));
    std::string sql = "BEGIN;";
    for (const TableDef& table : tables) {
      sql += internal::CreateTableStatement(schema, table, TypeName) + ";";
      for (const auto& index : table.indexes) {
        std::string name = table.name;
        for (const auto& column : index) name += "_" + column;
        sql += "CREATE INDEX IF NOT EXISTS " + QuoteIdentifier(schema) + "." +
               QuoteIdentifier("ix_" + name) + " ON " + QuoteIdentifier(table.name) + " (";
        for (size_t i = 0; i < index.size(); ++i)
          sql += (i ? ", " : "") + QuoteIdentifier(index[i]);
        sql += ");";
      }
    }
    sql += "INSERT OR IGNORE INTO main.cb_datasets (schema_name, file) VALUES ('" + schema +
           "', '" + SchemaFile(schema).filename().string() + "');COMMIT;";
    Status status = Exec(main_->db, sql, "cannot create the tables of " + schema);
    if (!status) sqlite3_exec(main_->db, "ROLLBACK", nullptr, nullptr, nullptr);
    return status;
  }

  Result<bool> HasSchema(const std::string& schema) override {
    CB_RETURN_IF_ERROR(CheckSchema(schema));
    return attached_.count(schema) > 0;
  }

  Result<std::unique_ptr<LoadTransaction>> BeginLoad(const std::string& schema) override {
    if (options_.read_only) return Fail(ReadOnlyRefusal().error());
    CB_RETURN_IF_ERROR(CheckSchema(schema));
    std::string lock_path = SchemaFile(schema).string() + ".lock";
    int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      return Fail(ErrorCode::kIoError,
                  "cannot open the lock file " + lock_path + ": " + std::strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      return Fail(ErrorCode::kFailedPrecondition, "another load of " + schema +
                                                      " is running (it holds " + lock_path +
                                                      "); wait for it to finish");
    }
    auto connection = OpenConnection(path_, false);
    if (!connection) {
      close(fd);
      return Fail(connection.error());
    }
    Status status = Attach((*connection)->db, schema, false);
    if (status) {
      status = Exec((*connection)->db, "PRAGMA cache_size=-32768; BEGIN IMMEDIATE",
                    "cannot start the load of " + schema);
    }
    if (!status) {
      close(fd);
      return Fail(status.error());
    }
    return std::unique_ptr<LoadTransaction>(
        std::make_unique<SqliteLoad>(std::move(*connection), schema, fd));
  }

  Result<QueryResult> Query(const std::string& sql, std::span<const Cell> params,
                            QueryOptions options) override {
    return RunQuery(main_->db, sql, params, options, options_.read_only);
  }

  Status QueryEach(const std::string& sql, std::span<const Cell> params, const RowCallback& row,
                   std::vector<std::string>* columns) override {
    return RunQueryEach(main_->db, sql, params, {}, options_.read_only, row, columns, nullptr);
  }

  // SQLite needs nothing beside the files opening creates.
  Status Provision(std::vector<std::string>&) override { return Ok(); }

  Status Deprovision(std::vector<std::string>& report) override {
    if (options_.read_only) return ReadOnlyRefusal();
    if (!attached_.empty())
      return Fail(ErrorCode::kFailedPrecondition, "the warehouse " + path_ +
                                                      " still holds dataset " + *attached_.begin() +
                                                      "; drop its schema first");
    main_.reset();
    bool removed = false;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code error;
      removed |= fs::remove(path_ + suffix, error) && *suffix == '\0';
      if (error)
        return Fail(ErrorCode::kIoError,
                    "cannot remove " + path_ + suffix + ": " + error.message());
    }
    if (removed) report.push_back("removed the warehouse file " + path_);
    return Ok();
  }

  Status DropSchema(const std::string& schema) override {
    if (options_.read_only) return ReadOnlyRefusal();
    CB_RETURN_IF_ERROR(CheckSchema(schema));
    if (attached_.count(schema)) {
      CB_RETURN_IF_ERROR(
          Exec(main_->db, "DETACH DATABASE " + QuoteIdentifier(schema), "cannot detach " + schema));
      attached_.erase(schema);
    }
    CB_RETURN_IF_ERROR(Exec(main_->db,
                            "DELETE FROM main.cb_datasets WHERE schema_name = '" + schema + "'",
                            "cannot unregister " + schema));
    std::string file = SchemaFile(schema).string();
    for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
      std::error_code error;
      fs::remove(file + suffix, error);
      if (error)
        return Fail(ErrorCode::kIoError, "cannot remove " + file + suffix + ": " + error.message());
    }
    return Ok();
  }

  std::string url() const override { return "sqlite://" + path_; }

 private:
  fs::path SchemaFile(const std::string& schema) const { return directory_ / (schema + ".db"); }

  Status CheckSchema(const std::string& schema) const {
    if (!ValidSchema(schema))
      return Fail(ErrorCode::kInvalidArgument,
                  "'" + schema + "' is not a valid schema name (lower-case letters, digits, '_')");
    return Ok();
  }

  static Status ReadOnlyRefusal() {
    return Fail(ErrorCode::kInvalidArgument, "this warehouse connection is read-only");
  }

  Status Attach(sqlite3* db, const std::string& schema, bool read_only) {
    std::string file = SchemaFile(schema).string();
    std::string target = read_only ? "file:" + file + "?mode=ro" : file;
    std::string sql = "ATTACH DATABASE ? AS " + QuoteIdentifier(schema);
    Cell param = Cell::Text(target);
    CB_RETURN_IF_ERROR(ExecuteStatement(db, sql, std::span<const Cell>(&param, 1)));
    if (!read_only)
      // WAL with synchronous=NORMAL: a commit is atomic and survives a killed
      // process; only a power cut may lose the last commit, never half of one.
      CB_RETURN_IF_ERROR(Exec(db,
                              "PRAGMA " + QuoteIdentifier(schema) + ".journal_mode=WAL; PRAGMA " +
                                  QuoteIdentifier(schema) + ".synchronous=NORMAL",
                              "cannot set WAL mode on " + file));
    if (db == main_->db) attached_.insert(schema);
    return Ok();
  }

  std::string path_;
  WarehouseOptions options_;
  fs::path directory_;
  std::unique_ptr<Connection> main_;
  std::set<std::string> attached_;
};

}  // namespace

Result<std::unique_ptr<Warehouse>> OpenSqliteWarehouse(const std::string& path,
                                                       const WarehouseOptions& options) {
  auto warehouse = std::make_unique<SqliteWarehouse>(path, options);
  CB_RETURN_IF_ERROR(warehouse->Open());
  return std::unique_ptr<Warehouse>(std::move(warehouse));
}

}  // namespace citybooks
