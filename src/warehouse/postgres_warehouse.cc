#include "warehouse/postgres_warehouse.h"

#include <libpq-fe.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "warehouse/internal/ddl.h"

namespace citybooks {

namespace {

// SQL written here stays within what Redshift also accepts where that costs
// nothing; what it does not accept (COPY FROM STDIN, advisory locks, SET
// ROLE, role options, DROP OWNED, CREATE INDEX) is PostgreSQL's own and is
// listed in ARCHITECTURE.md.

constexpr char kLoaderRole[] = "citybooks_loader";
constexpr char kReaderRole[] = "citybooks_reader";
constexpr char kReaderPasswordVariable[] = "CITYBOOKS_READER_PASSWORD";

// Built-in type OIDs (catalog/pg_type.dat); they never change.
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

constexpr char kQueryCanceled[] = "57014";
constexpr char kReadOnlyTransaction[] = "25006";
constexpr char kInsufficientPrivilege[] = "42501";

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnectionDeleter {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using PgConnection = std::unique_ptr<PGconn, ConnectionDeleter>;

bool ValidSchema(const std::string& schema) {
  if (schema.empty() || schema.size() > 63) return false;
  for (char c : schema)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

Status CheckSchema(const std::string& schema) {
  if (!ValidSchema(schema))
    return Fail(ErrorCode::kInvalidArgument,
                "'" + schema + "' is not a valid schema name (lower-case letters, digits, '_')");
  return Ok();
}

const char* TypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kInteger:
      return "BIGINT";
    case ColumnType::kReal:
      return "DOUBLE PRECISION";
    case ColumnType::kText:
      return "TEXT";
  }
  return "TEXT";
}

uint64_t Fnv1a(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// The advisory lock key of `purpose` ("load", "ddl") for `name`: the same in
// every process, so two citybooks processes agree on it.
int64_t LockKey(std::string_view purpose, std::string_view name) {
  return static_cast<int64_t>(Fnv1a("citybooks:" + std::string(purpose) + ":" + std::string(name)));
}

// libpq's messages end with a line break and may span lines ("...
// failed: Connection refused\n\tIs the server running ..."): one line here.
std::string OneLine(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string Sqlstate(const PGresult* result) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  return state ? state : "";
}

// The server's error for `result` (or the connection's when there is none):
// its primary message, then detail and where it happened (a COPY's line).
std::string ServerMessage(PGconn* connection, const PGresult* result) {
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  if (primary == nullptr) {
    const char* message = result ? PQresultErrorMessage(result) : "";
    if (message == nullptr || *message == '\0') message = PQerrorMessage(connection);
    std::string text = OneLine(message);
    return text.empty() ? "the server gave no reason" : text;
  }
  std::string text = primary;
  if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL))
    text += std::string(text.ends_with('.') ? " " : ". ") + detail;
  if (const char* context = PQresultErrorField(result, PG_DIAG_CONTEXT))
    if (std::string_view(context).starts_with("COPY ")) text += " (" + std::string(context) + ")";
  return OneLine(text);
}

bool ConnectionLost(PGconn* connection) { return PQstatus(connection) == CONNECTION_BAD; }

// ---------------------------------------------------------------------------
// SQL text: '?' placeholders, statements, the leading keyword.

bool IsIdentifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || static_cast<unsigned char>(c) >= 0x80;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// SQL as the interface writes it, scanned the way PostgreSQL's lexer would:
// string literals ('...', E'...'), quoted identifiers, dollar-quoted bodies
// and comments are skipped, so a '?' or ';' inside them counts for nothing.
struct ScannedSql {
  std::string text;  // with each '?' replaced by $1, $2, ...
  size_t placeholders = 0;
  bool has_statement = false;
  bool several_statements = false;  // anything but blanks and comments after a ';'
  std::string first_word;           // upper-cased; "(" for a parenthesised query
};

ScannedSql ScanSql(std::string_view sql) {
  ScannedSql out;
  out.text.reserve(sql.size() + 16);
  const size_t n = sql.size();
  bool after_semicolon = false;
  size_t i = 0;
  auto copy_to = [&](size_t end) {
    end = std::min(end, n);
    out.text.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < n) {
    char c = sql[i];
    if (IsSpace(c)) {
      copy_to(i + 1);
      continue;
    }
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      copy_to(end == std::string_view::npos ? n : end);
      continue;
    }
    if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      size_t j = i + 2;
      int depth = 1;
      while (j < n && depth > 0) {
        if (sql[j] == '/' && j + 1 < n && sql[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (sql[j] == '*' && j + 1 < n && sql[j + 1] == '/') {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      }
      copy_to(j);
      continue;
    }
    if (c == ';') {
      after_semicolon = true;
      copy_to(i + 1);
      continue;
    }
    if (after_semicolon) out.several_statements = true;
    if (!out.has_statement) {
      out.has_statement = true;
      if (c == '(') out.first_word = "(";
      for (size_t j = i; j < n && IsIdentifierChar(sql[j]); ++j)
        out.first_word +=
            static_cast<char>(sql[j] >= 'a' && sql[j] <= 'z' ? sql[j] - 'a' + 'A' : sql[j]);
    }
    if (c == '\'') {
      // E'...' strings take backslash escapes; all take doubled quotes.
      bool escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                     (i < 2 || !IsIdentifierChar(sql[i - 2]));
      size_t j = i + 1;
      while (j < n) {
        if (escapes && sql[j] == '\\') {
          j += 2;
        } else if (sql[j] == '\'') {
          if (j + 1 < n && sql[j + 1] == '\'') {
            j += 2;
          } else {
            ++j;
            break;
          }
        } else {
          ++j;
        }
      }
      copy_to(j);
      continue;
    }
    if (c == '"') {
      size_t j = i + 1;
      while (j < n) {
        if (sql[j] == '"') {
          if (j + 1 < n && sql[j + 1] == '"') {
            j += 2;
            continue;
          }
          ++j;
          break;
        }
        ++j;
      }
      copy_to(j);
      continue;
    }
    if (c == '$' && (i == 0 || !IsIdentifierChar(sql[i - 1]))) {
      // $tag$ ... $tag$ (the tag may be empty); $1 is a parameter.
      size_t j = i + 1;
      if (j < n && !(sql[j] >= '0' && sql[j] <= '9')) {
        while (j < n && IsIdentifierChar(sql[j]) && sql[j] != '$') ++j;
        if (j < n && sql[j] == '$') {
          std::string_view tag = sql.substr(i, j - i + 1);
          size_t end = sql.find(tag, j + 1);
          copy_to(end == std::string_view::npos ? n : end + tag.size());
          continue;
        }
      }
    }
    if (c == '?') {
      out.text += "$" + std::to_string(++out.placeholders);
      ++i;
      continue;
    }
    if (IsIdentifierChar(c)) {
      size_t j = i;
      while (j < n && IsIdentifierChar(sql[j])) ++j;
      copy_to(j);
      continue;
    }
    copy_to(i + 1);
  }
  return out;
}

// What a reader may run: queries, nothing else. Everything that writes or
// changes the session (INSERT, COPY, SET ROLE, BEGIN, ...) starts otherwise.
bool ReadsOnly(const std::string& first_word) {
  return first_word == "SELECT" || first_word == "WITH" || first_word == "VALUES" ||
         first_word == "TABLE" || first_word == "(";
}

// `reason`: the server's refusal, when it was the server that refused.
Status ReadOnlyRefusal(const std::string& reason) {
  return Fail(ErrorCode::kInvalidArgument,
              "the statement was refused: this connection may only read (SELECT)" +
                  (reason.empty() ? std::string() : "; the server says: " + reason));
}

Status CheckStatement(const ScannedSql& scanned, size_t params, bool read_only) {
  if (!scanned.has_statement)
    return Fail(ErrorCode::kInvalidArgument, "the SQL text holds no statement");
  if (scanned.several_statements)
    return Fail(ErrorCode::kInvalidArgument, "only one SQL statement may be run at a time");
  if (read_only && !ReadsOnly(scanned.first_word))
    return Fail(ErrorCode::kInvalidArgument,
                "the statement was refused: this connection may only read, so a statement must "
                "start with SELECT, WITH, VALUES or TABLE" +
                    (scanned.first_word.empty() || scanned.first_word.size() > 20
                         ? std::string()
                         : ", not " + scanned.first_word));
  if (scanned.placeholders != params)
    return Fail(ErrorCode::kInvalidArgument,
                "the SQL holds " + std::to_string(scanned.placeholders) + " '?' placeholders but " +
                    std::to_string(params) + " values were given");
  return Ok();
}

// ---------------------------------------------------------------------------
// Values in and out.

void AppendReal(std::string* out, double value) {
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "Infinity" : "-Infinity");
  } else {
    char buffer[32];
    auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out->append(buffer, error == std::errc() ? end : buffer);
  }
}

void AppendInteger(std::string* out, int64_t value) {
  char buffer[24];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out->append(buffer, error == std::errc() ? end : buffer);
}

// Parameters as libpq takes them, in text form. Numbers are typed (bigint,
// double precision) so "year = $1" compares numbers; text is left untyped
// so the server takes the type the context wants, as SQLite's loose typing
// would.
class Params {
 public:
  static Result<Params> Make(std::span<const Cell> cells) {
    Params params;
    params.storage_.resize(cells.size());
    params.values_.resize(cells.size(), nullptr);
    params.types_.resize(cells.size(), 0);
    for (size_t i = 0; i < cells.size(); ++i) {
      const Cell& cell = cells[i];
      std::string& text = params.storage_[i];
      switch (cell.kind) {
        case Cell::Kind::kNull:
          continue;
        case Cell::Kind::kInteger:
          AppendInteger(&text, cell.integer);
          params.types_[i] = kInt8Oid;
          break;
        case Cell::Kind::kReal:
          AppendReal(&text, cell.real);
          params.types_[i] = kFloat8Oid;
          break;
        case Cell::Kind::kText:
          if (cell.text.find('\0') != std::string_view::npos)
            return Fail(ErrorCode::kInvalidArgument,
                        "parameter " + std::to_string(i + 1) +
                            " holds a NUL byte, which PostgreSQL text cannot store");
          text.assign(cell.text);
          break;
      }
    }
    for (size_t i = 0; i < cells.size(); ++i)
      if (cells[i].kind != Cell::Kind::kNull) params.values_[i] = params.storage_[i].c_str();
    return params;
  }

  int count() const { return static_cast<int>(values_.size()); }
  const Oid* types() const { return types_.empty() ? nullptr : types_.data(); }
  const char* const* values() const { return values_.empty() ? nullptr : values_.data(); }

 private:
  std::vector<std::string> storage_;
  std::vector<const char*> values_;
  std::vector<Oid> types_;
};

// A result cell as a Value: integers (and booleans) as int64, floating
// point as double, numeric as int64 when written without a fraction and in
// range (SUM(bigint) is numeric) and as double otherwise, the rest as text.
Value CellValue(const PGresult* result, int row, int column, Oid type) {
  if (PQgetisnull(result, row, column)) return Value();
  const char* text = PQgetvalue(result, row, column);
  const size_t length = static_cast<size_t>(PQgetlength(result, row, column));
  const char* end = text + length;
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid: {
      int64_t value = 0;
      if (std::from_chars(text, end, value).ec == std::errc()) return Value(value);
      break;
    }
    case kBoolOid:
      return Value(static_cast<int64_t>(length > 0 && text[0] == 't'));
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid: {
      if (type == kNumericOid && std::memchr(text, '.', length) == nullptr) {
        int64_t value = 0;
        auto [at, error] = std::from_chars(text, end, value);
        if (error == std::errc() && at == end) return Value(value);
      }
      double value = 0;
      std::string_view view(text, length);
      if (view == "Infinity") return Value(HUGE_VAL);
      if (view == "-Infinity") return Value(-HUGE_VAL);
      if (std::from_chars(text, end, value).ec == std::errc()) return Value(value);
      break;
    }
    default:
      break;
  }
  return Value(std::string(text, length));
}

// ---------------------------------------------------------------------------
// Connections.

// The parsed connection URI: libpq's keywords with the values the URL gave.
struct ConnectionSpec {
  std::vector<std::pair<std::string, std::string>> options;
  std::string shown;  // the URL without its password
};

Result<ConnectionSpec> ParseUrl(const std::string& url) {
  ConnectionSpec spec;
  spec.shown = RedactPostgresUrl(url);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string reason = error ? OneLine(error) : "out of memory";
    PQfreemem(error);
    return Fail(ErrorCode::kInvalidArgument, "warehouse URL " + spec.shown +
                                                 " is not a PostgreSQL connection URI (" + reason +
                                                 "); use postgresql://USER@HOST:PORT/DATABASE");
  }
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option)
    if (option->val != nullptr && *option->val != '\0')
      spec.options.emplace_back(option->keyword, option->val);
  PQconninfoFree(options);
  return spec;
}

void IgnoreNotice(void*, const char*) {}

// Connects as the URL says, or as citybooks_reader (same host, port and
// database) when `as_reader`.
Result<PgConnection> Connect(const ConnectionSpec& spec, bool as_reader) {
  std::vector<std::pair<std::string, std::string>> options;
  bool has_timeout = false;
  for (const auto& [key, value] : spec.options) {
    if (as_reader && (key == "user" || key == "password")) continue;
    if (key == "client_encoding") continue;
    has_timeout = has_timeout || key == "connect_timeout";
    options.emplace_back(key, value);
  }
  if (!has_timeout) options.emplace_back("connect_timeout", "10");
  options.emplace_back("client_encoding", "UTF8");
  options.emplace_back("fallback_application_name", "citybooks");
  if (as_reader) {
    options.emplace_back("user", kReaderRole);
    if (const char* password = std::getenv(kReaderPasswordVariable); password && *password)
      options.emplace_back("password", password);
  }
  std::vector<const char*> keys, values;
  for (const auto& [key, value] : options) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PgConnection connection(PQconnectdbParams(keys.data(), values.data(), 0));
  if (connection == nullptr)
    return Fail(ErrorCode::kInternal, "out of memory connecting to " + spec.shown);
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    std::string reason = OneLine(PQerrorMessage(connection.get()));
    std::string who = as_reader ? std::string(" as ") + kReaderRole : std::string();
    if (as_reader && reason.find(kReaderRole) != std::string::npos &&
        reason.find("does not exist") != std::string::npos)
      return Fail(ErrorCode::kNotFound, "the warehouse at " + spec.shown + " has no role " +
                                            kReaderRole + " yet; run `citybooks init` first");
    if (reason.find("password") != std::string::npos)
      return Fail(ErrorCode::kFailedPrecondition,
                  "cannot connect to the warehouse at " + spec.shown + who + ": " + reason +
                      (as_reader ? "; set CITYBOOKS_READER_PASSWORD or add the reader's password "
                                   "to ~/.pgpass"
                                 : "; set PGPASSWORD or add the password to ~/.pgpass"));
    if (reason.find("does not exist") != std::string::npos)
      return Fail(ErrorCode::kNotFound,
                  "cannot connect to the warehouse at " + spec.shown + who + ": " + reason);
    return Fail(ErrorCode::kUnavailable,
                "cannot connect to the warehouse at " + spec.shown + who + ": " + reason);
  }
  // Notices ("schema already exists, skipping") are not for the user.
  PQsetNoticeProcessor(connection.get(), IgnoreNotice, nullptr);
  return connection;
}

// Runs `sql` (one or more statements, no parameters) and returns the last
// result; any error becomes `code` with "<context>: <server message>".
Result<PgResult> Command(PGconn* connection, const std::string& sql, ErrorCode code,
                         const std::string& context) {
  PgResult result(PQexec(connection, sql.c_str()));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  if (ConnectionLost(connection)) code = ErrorCode::kUnavailable;
  return Fail(code, context + ": " + ServerMessage(connection, result.get()));
}

Status CommandStatus(PGconn* connection, const std::string& sql, ErrorCode code,
                     const std::string& context) {
  auto result = Command(connection, sql, code, context);
  if (!result) return Fail(result.error());
  return Ok();
}

// Ends a transaction left open by an error, so the connection can be reused.
void RollBackIfOpen(PGconn* connection) {
  if (PQtransactionStatus(connection) != PQTRANS_IDLE &&
      PQtransactionStatus(connection) != PQTRANS_UNKNOWN)
    PgResult(PQexec(connection, "ROLLBACK"));
}

// Asks the server to stop the statement `connection` is running.
void Cancel(PGconn* connection) {
  PGcancel* cancel = PQgetCancel(connection);
  if (cancel == nullptr) return;
  char error[256];
  PQcancel(cancel, error, sizeof error);
  PQfreeCancel(cancel);
}

// Drains a COPY the server started for a statement that should not have
// been a COPY, leaving the connection ready.
void AbandonCopy(PGconn* connection, ExecStatusType status) {
  if (status == PGRES_COPY_IN) {
    PQputCopyEnd(connection, "COPY is not supported here");
  } else if (status == PGRES_COPY_OUT) {
    char* buffer = nullptr;
    while (PQgetCopyData(connection, &buffer, 0) > 0) PQfreemem(buffer);
  }
}

struct StreamOptions {
  size_t max_rows = 0;
  std::chrono::milliseconds time_limit{0};
  bool read_only = false;
};

// Runs the one statement of `scanned` in single-row mode: rows reach
// `on_row` as the server sends them, so memory does not grow with the
// result. Stops (cancelling the statement) after `max_rows` rows, setting
// *truncated, or at the first error `on_row` returns.
Status Stream(PGconn* connection, const ScannedSql& scanned, std::span<const Cell> cells,
              const StreamOptions& options, const Warehouse::RowCallback& on_row,
              std::vector<std::string>* columns, bool* truncated) {
  CB_ASSIGN_OR_RETURN(Params params, Params::Make(cells));
  if (!PQsendQueryParams(connection, scanned.text.c_str(), params.count(), params.types(),
                         params.values(), nullptr, nullptr, 0))
    return Fail(ConnectionLost(connection) ? ErrorCode::kUnavailable : ErrorCode::kInvalidArgument,
                "cannot send the query: " + ServerMessage(connection, nullptr));
  PQsetSingleRowMode(connection);
  std::optional<Error> error;
  bool stopped = false;
  bool described = false;
  size_t rows = 0;
  std::vector<Oid> types;
  std::vector<Value> row;
  auto describe = [&](const PGresult* result) {
    described = true;
    int count = PQnfields(result);
    types.resize(count);
    row.resize(count);
    for (int c = 0; c < count; ++c) {
      types[c] = PQftype(result, c);
      if (columns != nullptr) columns->emplace_back(PQfname(result, c));
    }
  };
  while (PGresult* raw = PQgetResult(connection)) {
    PgResult result(raw);
    ExecStatusType status = PQresultStatus(raw);
    switch (status) {
      case PGRES_SINGLE_TUPLE: {
        if (stopped) break;
        if (!described) describe(raw);
        if (options.max_rows > 0 && rows >= options.max_rows) {
          if (truncated != nullptr) *truncated = true;
          stopped = true;
          Cancel(connection);
          break;
        }
        for (size_t c = 0; c < row.size(); ++c)
          row[c] = CellValue(raw, 0, static_cast<int>(c), types[c]);
        Status delivered = on_row(row);
        if (!delivered) {
          error = delivered.error();
          stopped = true;
          Cancel(connection);
          break;
        }
        ++rows;
        break;
      }
      case PGRES_TUPLES_OK:
        if (!described && !stopped) describe(raw);
        break;
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        break;
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        AbandonCopy(connection, status);
        if (!error)
          error = options.read_only
                      ? ReadOnlyRefusal("COPY cannot run here").error()
                      : Error(ErrorCode::kInvalidArgument,
                              "COPY cannot run through a query; use a SELECT statement");
        if (status == PGRES_COPY_BOTH) return Fail(*error);
        break;
      default: {
        std::string state = Sqlstate(raw);
        if (stopped && state == kQueryCanceled) break;  // our own cancel
        if (error) break;
        std::string message = ServerMessage(connection, raw);
        if (state == kQueryCanceled && options.time_limit.count() > 0) {
          error = Error(ErrorCode::kAborted, "the query ran past its time limit of " +
                                                 std::to_string(options.time_limit.count()) +
                                                 " ms and was cancelled");
        } else if (options.read_only &&
                   (state == kReadOnlyTransaction || state == kInsufficientPrivilege)) {
          error = ReadOnlyRefusal(message).error();
        } else if (ConnectionLost(connection)) {
          error =
              Error(ErrorCode::kUnavailable, "lost the connection to the warehouse: " + message);
        } else {
          error = Error(ErrorCode::kInvalidArgument, "SQL error: " + message);
        }
        break;
      }
    }
  }
  if (error) return Fail(*error);
  return Ok();
}

// Runs one statement and returns every row (statements inside a load).
Result<QueryResult> Collect(PGconn* connection, const ScannedSql& scanned,
                            std::span<const Cell> cells) {
  CB_ASSIGN_OR_RETURN(Params params, Params::Make(cells));
  PgResult result(PQexecParams(connection, scanned.text.c_str(), params.count(), params.types(),
                               params.values(), nullptr, nullptr, 0));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    std::string message = ServerMessage(connection, result.get());
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT) {
      AbandonCopy(connection, status);
      while (PGresult* rest = PQgetResult(connection)) PQclear(rest);
      message = "COPY cannot run as a statement here; append rows with an appender";
    }
    std::string text = scanned.text.substr(0, 80);
    return Fail(ConnectionLost(connection) ? ErrorCode::kUnavailable : ErrorCode::kInternal,
                "SQL error in \"" + OneLine(text) + "\": " + message);
  }
  QueryResult out;
  PGresult* raw = result.get();
  int columns = PQnfields(raw);
  std::vector<Oid> types(columns);
  for (int c = 0; c < columns; ++c) {
    types[c] = PQftype(raw, c);
    out.columns.emplace_back(PQfname(raw, c));
  }
  int rows = PQntuples(raw);
  out.rows.reserve(rows);
  for (int r = 0; r < rows; ++r) {
    std::vector<Value>& row = out.rows.emplace_back(columns);
    for (int c = 0; c < columns; ++c) row[c] = CellValue(raw, r, c, types[c]);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Loads.

class PostgresLoad;

// What an appender writes into: the table and, per column, its name and
// type. Types all bigint, double precision or text (every table EnsureSchema
// creates) make COPY's binary format possible, which the server reads with
// less work than text; any other table is written in the text format.
struct CopyTarget {
  std::string table;  // qualified
  std::vector<std::string> columns;
  std::vector<Oid> types;  // empty: text format
  std::string sql;         // the COPY statement
  bool binary() const { return !types.empty(); }
};

// Rows of one table in COPY format, sent to the server in chunks while the
// load's COPY of this table is open. Only one COPY can be open on a
// connection: another appender's rows wait in their buffer (up to
// kMaxWaitingBytes) until that COPY ends.
class PostgresAppender : public BulkAppender {
 public:
  static constexpr size_t kChunkBytes = 512 * 1024;
  static constexpr size_t kMaxWaitingBytes = 16 * 1024 * 1024;

  PostgresAppender(PostgresLoad* load, CopyTarget target)
      : load_(load), target_(std::move(target)) {
    buffer_.reserve(kChunkBytes + 4096);
  }
  ~PostgresAppender() override;
  PostgresAppender(const PostgresAppender&) = delete;
  PostgresAppender& operator=(const PostgresAppender&) = delete;

  Status Append(std::span<const Cell> row) override;
  Status Flush() override;

  // Sends the buffered rows (opening this table's COPY, which ends any other).
  Status Send();
  // The load ended first: later rows have nowhere to go.
  void Detach() { load_ = nullptr; }
  const CopyTarget& target() const { return target_; }

 private:
  Status AppendBinary(std::span<const Cell> row);
  void AppendText(std::span<const Cell> row);

  PostgresLoad* load_;
  CopyTarget target_;
  std::string buffer_;
};

class PostgresLoad : public LoadTransaction {
 public:
  PostgresLoad(PgConnection connection, std::string schema)
      : connection_(std::move(connection)), schema_(std::move(schema)) {}

  ~PostgresLoad() override {
    for (PostgresAppender* appender : appenders_) appender->Detach();
    PGconn* connection = connection_.get();
    if (copying_ != nullptr) {
      PQputCopyEnd(connection, "the load was rolled back");
      while (PGresult* result = PQgetResult(connection)) {
        bool still_copying = PQresultStatus(result) == PGRES_COPY_IN;
        PQclear(result);
        if (still_copying) break;
      }
    }
    // Roll back here rather than by disconnecting, so the advisory lock is
    // free when this returns (a retry right after must not find it held).
    if (!committed_) PgResult(PQexec(connection, "ROLLBACK"));
  }

  Status Execute(const std::string& sql, std::span<const Cell> params) override {
    CB_RETURN_IF_ERROR(Ready());
    ScannedSql scanned = ScanSql(sql);
    CB_RETURN_IF_ERROR(CheckStatement(scanned, params.size(), false));
    auto result = Collect(connection_.get(), scanned, params);
    if (!result) return Remember(Fail(result.error()));
    return Ok();
  }

  Result<QueryResult> Query(const std::string& sql, std::span<const Cell> params) override {
    CB_RETURN_IF_ERROR(Ready());
    ScannedSql scanned = ScanSql(sql);
    CB_RETURN_IF_ERROR(CheckStatement(scanned, params.size(), false));
    auto result = Collect(connection_.get(), scanned, params);
    if (!result) CB_RETURN_IF_ERROR(Remember(Fail(result.error())));
    return result;
  }

  Result<std::unique_ptr<BulkAppender>> Appender(const std::string& table,
                                                 const std::vector<std::string>& columns) override {
    CB_RETURN_IF_ERROR(Ready());
    CopyTarget target{Qualify(table), columns, {}, {}};
    Cell name = Cell::Text(target.table);
    auto described =
        Collect(connection_.get(),
                ScanSql("SELECT attname, atttypid::bigint FROM pg_catalog.pg_attribute "
                        "WHERE attrelid = ?::regclass AND attnum > 0 AND NOT "
                        "attisdropped"),
                std::span<const Cell>(&name, 1));
    if (!described) return Fail(Remember(Fail(described.error())).error());
    std::map<std::string, Oid> types;
    for (const auto& row : described->rows)
      types[ValueToString(row[0])] = static_cast<Oid>(ValueToInt(row[1]));
    bool binary = true;
    for (const std::string& column : columns) {
      auto type = types.find(column);
      if (type == types.end())
        return Fail(ErrorCode::kInternal, "the table " + target.table + " has no column " + column);
      binary = binary &&
               (type->second == kInt8Oid || type->second == kFloat8Oid || type->second == kTextOid);
      target.types.push_back(type->second);
    }
    if (!binary) target.types.clear();
    target.sql = "COPY " + target.table + " (";
    for (size_t i = 0; i < columns.size(); ++i)
      target.sql += (i ? ", " : "") + QuoteIdentifier(columns[i]);
    target.sql += binary ? ") FROM STDIN (FORMAT binary)" : ") FROM STDIN";
    auto appender = std::make_unique<PostgresAppender>(this, std::move(target));
    appenders_.insert(appender.get());
    return std::unique_ptr<BulkAppender>(std::move(appender));
  }

  Status Commit() override {
    CB_RETURN_IF_ERROR(Ready());
    auto result = Command(connection_.get(), "COMMIT", ErrorCode::kIoError,
                          "cannot commit the load of " + schema_);
    if (!result) return Remember(Fail(result.error()));
    // A transaction that failed earlier answers COMMIT with ROLLBACK.
    if (std::strcmp(PQcmdStatus(result->get()), "COMMIT") != 0)
      return Remember(Fail(ErrorCode::kInternal, "the load of " + schema_ +
                                                     " was rolled back by the server instead of "
                                                     "committed"));
    committed_ = true;
    return Ok();
  }

  std::string Qualify(const std::string& table) const override {
    return QuoteIdentifier(schema_) + "." + QuoteIdentifier(table);
  }

  // Sends `rows` (COPY text) for `appender`, opening its COPY first.
  Status SendRows(PostgresAppender* appender, std::string_view rows) {
    if (error_) return Fail(*error_);
    PGconn* connection = connection_.get();
    if (copying_ != appender) {
      CB_RETURN_IF_ERROR(EndCopy());
      const CopyTarget& target = appender->target();
      PgResult result(PQexec(connection, target.sql.c_str()));
      if (!result || PQresultStatus(result.get()) != PGRES_COPY_IN)
        return Remember(
            Fail(ConnectionLost(connection) ? ErrorCode::kUnavailable : ErrorCode::kInternal,
                 "cannot start appending to " + target.table + ": " +
                     ServerMessage(connection, result.get())));
      copying_ = appender;
      // The binary format's header: signature, flags, header extension length.
      static constexpr char kHeader[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
      if (target.binary() && PQputCopyData(connection, kHeader, sizeof kHeader - 1) != 1)
        return FinishCopy();
    }
    if (PQputCopyData(connection, rows.data(), static_cast<int>(rows.size())) != 1)
      return FinishCopy();  // reports the server's error
    return Ok();
  }

  // Ends the open COPY, if any; its rows are then part of the transaction.
  Status EndCopy() {
    if (copying_ == nullptr) return Ok();
    return FinishCopy();
  }

  bool IsCopying(const PostgresAppender* appender) const { return copying_ == appender; }
  bool IsCopyingOther(const PostgresAppender* appender) const {
    return copying_ != nullptr && copying_ != appender;
  }
  void Forget(PostgresAppender* appender) {
    appenders_.erase(appender);
    if (copying_ == appender) (void)EndCopy();
  }
  Status Remember(Status status) {
    if (!status && !error_) error_ = status.error();
    return status;
  }

 private:
  // Every appender's rows reach the server and no COPY stays open: the
  // contract before any other statement and before the commit. After a
  // failure the transaction is lost: the first error is returned again.
  Status Ready() {
    if (error_) return Fail(*error_);
    for (PostgresAppender* appender : appenders_) CB_RETURN_IF_ERROR(appender->Send());
    return EndCopy();
  }

  Status FinishCopy() {
    PGconn* connection = connection_.get();
    std::string table = copying_ ? copying_->target().table : std::string();
    bool binary = copying_ && copying_->target().binary();
    copying_ = nullptr;
    static constexpr char kTrailer[] = "\377\377";  // a row of -1 columns ends binary data
    if (binary) PQputCopyData(connection, kTrailer, 2);
    PQputCopyEnd(connection, nullptr);
    std::optional<Error> error;
    while (PGresult* raw = PQgetResult(connection)) {
      PgResult result(raw);
      ExecStatusType status = PQresultStatus(raw);
      if (status == PGRES_COMMAND_OK) continue;
      if (!error)
        error = Error(ConnectionLost(connection) ? ErrorCode::kUnavailable : ErrorCode::kInternal,
                      "cannot append rows to " + table + ": " + ServerMessage(connection, raw));
      if (status == PGRES_COPY_IN) break;  // libpq could not end it: the connection is gone
    }
    if (!error && ConnectionLost(connection))
      error = Error(ErrorCode::kUnavailable,
                    "lost the connection to the warehouse while appending "
                    "rows to " +
                        table + ": " + ServerMessage(connection, nullptr));
    if (error) return Remember(Fail(*error));
    return Ok();
  }

  PgConnection connection_;
  std::string schema_;
  bool committed_ = false;
  std::set<PostgresAppender*> appenders_;
  PostgresAppender* copying_ = nullptr;
  std::optional<Error> error_;
};

PostgresAppender::~PostgresAppender() {
  if (load_ == nullptr) return;
  (void)load_->Remember(Flush());
  load_->Forget(this);
}

// COPY's text format: tab-separated, \N for NULL, and backslash escapes for
// the bytes that would end a field or a row.
void AppendCopyText(std::string* out, std::string_view text) {
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char* escaped;
    switch (text[i]) {
      case '\\':
        escaped = "\\\\";
        break;
      case '\t':
        escaped = "\\t";
        break;
      case '\n':
        escaped = "\\n";
        break;
      case '\r':
        escaped = "\\r";
        break;
      default:
        continue;
    }
    out->append(text.data() + start, i - start);
    out->append(escaped);
    start = i + 1;
  }
  out->append(text.data() + start, text.size() - start);
}

Status PostgresAppender::Append(std::span<const Cell> row) {
  if (load_ == nullptr)
    return Fail(ErrorCode::kFailedPrecondition, "the load this appender belonged to has ended");
  if (row.size() != target_.columns.size())
    return Fail(ErrorCode::kInternal, "appender got " + std::to_string(row.size()) + " cells for " +
                                          std::to_string(target_.columns.size()) + " columns");
  if (target_.binary()) {
    CB_RETURN_IF_ERROR(AppendBinary(row));
  } else {
    AppendText(row);
  }
  if (buffer_.size() < kChunkBytes) return Ok();
  if (load_->IsCopyingOther(this) && buffer_.size() < kMaxWaitingBytes) return Ok();
  return Send();
}

void PutBigEndian(std::string* out, uint64_t value, int bytes) {
  char data[8];
  for (int i = bytes - 1; i >= 0; --i, value >>= 8) data[i] = static_cast<char>(value & 0xff);
  out->append(data, static_cast<size_t>(bytes));
}

// An 8-byte field (bigint, double precision): its length, 8, then the value,
// both big-endian, written at `out`; returns the end. The hot path of a fact
// load.
char* PutEightByteField(char* out, uint64_t value) {
  const uint32_t length = std::byteswap(uint32_t{8});
  const uint64_t big = std::byteswap(value);
  std::memcpy(out, &length, 4);
  std::memcpy(out + 4, &big, 8);
  return out + 12;
}

void PutEightByteField(std::string* out, uint64_t value) {
  char field[12];
  PutEightByteField(field, value);
  out->append(field, sizeof field);
}

// A row of only NULLs and numbers stored as they are (integers into bigint
// columns, reals or integers into double precision ones), written in place
// with no per-field append; false, leaving `out` as it was, for any other row.
bool PutFixedWidthRow(std::string* out, std::span<const Cell> row, const std::vector<Oid>& types) {
  const size_t start = out->size();
  bool fixed = true;
  out->resize_and_overwrite(start + 2 + 12 * row.size(), [&](char* data, size_t) {
    char* at = data + start;
    const uint16_t count = std::byteswap(static_cast<uint16_t>(row.size()));
    std::memcpy(at, &count, 2);
    at += 2;
    for (size_t c = 0; c < row.size(); ++c) {
      const Cell& cell = row[c];
      if (cell.kind == Cell::Kind::kNull) {
        std::memset(at, 0xff, 4);  // length -1
        at += 4;
      } else if (types[c] == kInt8Oid && cell.kind == Cell::Kind::kInteger) {
        at = PutEightByteField(at, static_cast<uint64_t>(cell.integer));
      } else if (types[c] == kFloat8Oid && cell.kind == Cell::Kind::kReal) {
        at = PutEightByteField(at, std::bit_cast<uint64_t>(cell.real));
      } else if (types[c] == kFloat8Oid && cell.kind == Cell::Kind::kInteger) {
        at = PutEightByteField(at, std::bit_cast<uint64_t>(static_cast<double>(cell.integer)));
      } else {
        fixed = false;
        return start;
      }
    }
    return static_cast<size_t>(at - data);
  });
  return fixed;
}

// COPY's binary format: a 16-bit field count, then per field a 32-bit
// length (-1 for NULL) and the value as the type's send function writes it
// (bigint and double precision: 8 bytes, big-endian; text: its bytes). A
// cell of another kind than its column is converted as SQLite would store
// it, or refused when it cannot be.
Status PostgresAppender::AppendBinary(std::span<const Cell> row) {
  if (PutFixedWidthRow(&buffer_, row, target_.types)) return Ok();
  PutBigEndian(&buffer_, row.size(), 2);
  for (size_t c = 0; c < row.size(); ++c) {
    const Cell& cell = row[c];
    const Oid type = target_.types[c];
    if (cell.kind == Cell::Kind::kNull) {
      PutBigEndian(&buffer_, 0xffffffffu, 4);
      continue;
    }
    auto mismatch = [&](const std::string& value) {
      return Fail(ErrorCode::kInternal, "cannot store " + value + " in the " +
                                            (type == kInt8Oid ? "bigint" : "double precision") +
                                            " column " + target_.columns[c] + " of " +
                                            target_.table);
    };
    if (type == kInt8Oid) {
      int64_t value = cell.integer;
      if (cell.kind == Cell::Kind::kReal) {
        if (!(cell.real >= -9.2233720368547758e18 && cell.real < 9.2233720368547758e18) ||
            cell.real != std::trunc(cell.real)) {
          std::string text;
          AppendReal(&text, cell.real);
          return mismatch(text);
        }
        value = static_cast<int64_t>(cell.real);
      } else if (cell.kind == Cell::Kind::kText) {
        const char* end = cell.text.data() + cell.text.size();
        auto parsed = std::from_chars(cell.text.data(), end, value);
        if (parsed.ec != std::errc() || parsed.ptr != end)
          return mismatch("'" + std::string(cell.text.substr(0, 40)) + "'");
      }
      PutEightByteField(&buffer_, static_cast<uint64_t>(value));
    } else if (type == kFloat8Oid) {
      double value = cell.real;
      if (cell.kind == Cell::Kind::kInteger) {
        value = static_cast<double>(cell.integer);
      } else if (cell.kind == Cell::Kind::kText) {
        const char* end = cell.text.data() + cell.text.size();
        auto parsed = std::from_chars(cell.text.data(), end, value);
        if (parsed.ec != std::errc() || parsed.ptr != end)
          return mismatch("'" + std::string(cell.text.substr(0, 40)) + "'");
      }
      PutEightByteField(&buffer_, std::bit_cast<uint64_t>(value));
    } else {
      std::string_view text = cell.text;
      std::string number;
      if (cell.kind == Cell::Kind::kInteger) {
        AppendInteger(&number, cell.integer);
        text = number;
      } else if (cell.kind == Cell::Kind::kReal) {
        AppendReal(&number, cell.real);
        text = number;
      }
      if (text.size() > 0x3fffffff)
        return Fail(ErrorCode::kInvalidArgument, "a value for " + target_.columns[c] + " of " +
                                                     target_.table + " is larger than 1 GB");
      PutBigEndian(&buffer_, text.size(), 4);
      buffer_.append(text);
    }
  }
  return Ok();
}

void PostgresAppender::AppendText(std::span<const Cell> row) {
  for (size_t c = 0; c < row.size(); ++c) {
    if (c > 0) buffer_ += '\t';
    const Cell& cell = row[c];
    switch (cell.kind) {
      case Cell::Kind::kNull:
        buffer_.append("\\N");
        break;
      case Cell::Kind::kInteger:
        AppendInteger(&buffer_, cell.integer);
        break;
      case Cell::Kind::kReal:
        AppendReal(&buffer_, cell.real);
        break;
      case Cell::Kind::kText:
        AppendCopyText(&buffer_, cell.text);
        break;
    }
  }
  buffer_ += '\n';
}

Status PostgresAppender::Send() {
  if (load_ == nullptr)
    return Fail(ErrorCode::kFailedPrecondition, "the load this appender belonged to has ended");
  if (buffer_.empty()) return Ok();
  Status status = load_->SendRows(this, buffer_);
  buffer_.clear();
  return status;
}

Status PostgresAppender::Flush() {
  CB_RETURN_IF_ERROR(Send());
  if (load_->IsCopying(this)) return load_->EndCopy();
  return Ok();
}

// ---------------------------------------------------------------------------
// The warehouse.

std::string QuoteLiteral(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

// Index names are at most 63 bytes in PostgreSQL; longer ones get a hash
// suffix instead of being cut (two cut names could collide).
std::string IndexName(const std::string& table, const std::vector<std::string>& columns) {
  std::string name = "ix_" + table;
  for (const std::string& column : columns) name += "_" + column;
  if (name.size() <= 63) return name;
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "_%016llx", static_cast<unsigned long long>(Fnv1a(name)));
  return name.substr(0, 63 - std::strlen(suffix)) + suffix;
}

std::string CreateTableSql(const std::string& schema, const TableDef& table) {
  std::string qualified = QuoteIdentifier(schema) + "." + QuoteIdentifier(table.name);
  std::string sql = internal::CreateTableStatement(schema, table, TypeName) + ";\n";
  for (const auto& index : table.indexes) {
    sql += "CREATE INDEX IF NOT EXISTS " + QuoteIdentifier(IndexName(table.name, index)) + " ON " +
           qualified + " (";
    for (size_t i = 0; i < index.size(); ++i) sql += (i ? ", " : "") + QuoteIdentifier(index[i]);
    sql += ");\n";
  }
  return sql;
}

class PostgresWarehouse : public Warehouse {
 public:
  PostgresWarehouse(ConnectionSpec spec, WarehouseOptions options)
      : spec_(std::move(spec)), options_(options) {}

  Status Open() {
    CB_ASSIGN_OR_RETURN(connection_, Connect(spec_, options_.read_only));
    if (options_.read_only) {
      // The role says so already (Provision); the session says it again.
      CB_RETURN_IF_ERROR(CommandStatus(connection_.get(), "SET default_transaction_read_only = on",
                                       ErrorCode::kUnavailable,
                                       "cannot open a read-only session at " + spec_.shown));
    }
    return Ok();
  }

  Status EnsureSchema(const std::string& schema, const std::vector<TableDef>& tables) override {
    if (options_.read_only) return WarehouseIsReadOnly();
    CB_RETURN_IF_ERROR(CheckSchema(schema));
    CB_RETURN_IF_ERROR(Reconnect());
    PGconn* connection = connection_.get();
    // Already complete: nothing to change (loads call this every time).
    Cell schema_param = Cell::Text(schema);
    ScannedSql existing_sql = ScanSql(
        "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
        "c.relnamespace WHERE n.nspname = ? AND c.relkind IN ('r', 'p')");
    CB_ASSIGN_OR_RETURN(QueryResult existing,
                        Collect(connection, existing_sql, std::span<const Cell>(&schema_param, 1)));
    std::set<std::string> present;
    for (const auto& row : existing.rows) present.insert(ValueToString(row[0]));
    bool complete = !present.empty();
    for (const TableDef& table : tables) complete = complete && present.count(table.name) > 0;
    CB_ASSIGN_OR_RETURN(bool roles, RolesExist());
    if (complete && roles) return Ok();

    if (!roles) {
      std::vector<std::string> ignored;
      CB_RETURN_IF_ERROR(Provision(ignored));
    }
    std::string sql = "BEGIN;\nSELECT pg_advisory_xact_lock(" +
                      std::to_string(LockKey("ddl", schema)) + ");\nCREATE SCHEMA IF NOT EXISTS " +
                      QuoteIdentifier(schema) + " AUTHORIZATION " + kLoaderRole +
                      ";\nSET LOCAL ROLE " + kLoaderRole + ";\n";
    for (const TableDef& table : tables) sql += CreateTableSql(schema, table);
    sql += std::string("GRANT USAGE ON SCHEMA ") + QuoteIdentifier(schema) + " TO " + kReaderRole +
           ";\nGRANT SELECT ON ALL TABLES IN SCHEMA " + QuoteIdentifier(schema) + " TO " +
           kReaderRole + ";\nALTER DEFAULT PRIVILEGES IN SCHEMA " + QuoteIdentifier(schema) +
           " GRANT SELECT ON TABLES TO " + kReaderRole + ";\nCOMMIT";
    auto result = Command(connection, sql, ErrorCode::kFailedPrecondition,
                          "cannot create the tables of " + schema + " at " + spec_.shown);
    if (!result) {
      RollBackIfOpen(connection);
      return Fail(result.error());
    }
    return Ok();
  }

  Result<bool> HasSchema(const std::string& schema) override {
    CB_RETURN_IF_ERROR(CheckSchema(schema));
    CB_RETURN_IF_ERROR(Reconnect());
    Cell param = Cell::Text(schema);
    CB_ASSIGN_OR_RETURN(
        QueryResult result,
        Collect(connection_.get(),
                ScanSql("SELECT COUNT(*) FROM pg_catalog.pg_namespace WHERE nspname = ?"),
                std::span<const Cell>(&param, 1)));
    return result.IntAt() > 0;
  }

  Result<std::unique_ptr<LoadTransaction>> BeginLoad(const std::string& schema) override {
    if (options_.read_only) return Fail(WarehouseIsReadOnly().error());
    CB_RETURN_IF_ERROR(CheckSchema(schema));
    CB_ASSIGN_OR_RETURN(PgConnection connection, Connect(spec_, false));
    PGconn* raw = connection.get();
    const int64_t key = LockKey("load", schema);
    CB_ASSIGN_OR_RETURN(
        PgResult locked,
        Command(raw,
                "BEGIN; SELECT pg_try_advisory_xact_lock(" + std::to_string(key) +
                    "), EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '" + kLoaderRole +
                    "')",
                ErrorCode::kUnavailable, "cannot start the load of " + schema));
    if (std::strcmp(PQgetvalue(locked.get(), 0, 0), "t") != 0) {
      RollBackIfOpen(raw);
      return Fail(ErrorCode::kFailedPrecondition,
                  "another load of " + schema + " is running at " + spec_.shown +
                      " (it holds PostgreSQL advisory lock " + std::to_string(key) +
                      "); wait for it to finish");
    }
    // Writes happen as the loader, the owner of the dataset's tables.
    if (std::strcmp(PQgetvalue(locked.get(), 0, 1), "t") == 0) {
      auto role =
          Command(raw, std::string("SET LOCAL ROLE ") + kLoaderRole, ErrorCode::kFailedPrecondition,
                  std::string("cannot load as ") + kLoaderRole + " at " + spec_.shown);
      if (!role) {
        RollBackIfOpen(raw);
        return Fail(role.error().code(),
                    role.error().message() +
                        "; run `citybooks init` as a user who can create roles, or grant " +
                        kLoaderRole + " to the URL's user");
      }
    }
    return std::unique_ptr<LoadTransaction>(
        std::make_unique<PostgresLoad>(std::move(connection), schema));
  }

  Result<QueryResult> Query(const std::string& sql, std::span<const Cell> params,
                            QueryOptions options) override {
    QueryResult result;
    CB_RETURN_IF_ERROR(Run(
        sql, params, options,
        [&result](std::span<const Value> row) {
          result.rows.emplace_back(row.begin(), row.end());
          return Ok();
        },
        &result.columns, &result.truncated));
    return result;
  }

  Status QueryEach(const std::string& sql, std::span<const Cell> params, const RowCallback& row,
                   std::vector<std::string>* columns) override {
    return Run(sql, params, {}, row, columns, nullptr);
  }

  Status DropSchema(const std::string& schema) override {
    if (options_.read_only) return WarehouseIsReadOnly();
    CB_RETURN_IF_ERROR(CheckSchema(schema));
    CB_RETURN_IF_ERROR(Reconnect());
    PGconn* connection = connection_.get();
    CB_ASSIGN_OR_RETURN(PgResult locked, Command(connection,
                                                 "BEGIN; SELECT pg_try_advisory_xact_lock(" +
                                                     std::to_string(LockKey("load", schema)) + ")",
                                                 ErrorCode::kUnavailable, "cannot drop " + schema));
    if (std::strcmp(PQgetvalue(locked.get(), 0, 0), "t") != 0) {
      RollBackIfOpen(connection);
      return Fail(ErrorCode::kFailedPrecondition, "a load of " + schema + " is running at " +
                                                      spec_.shown +
                                                      "; wait for it to finish before dropping it");
    }
    auto dropped = Command(
        connection, "DROP SCHEMA IF EXISTS " + QuoteIdentifier(schema) + " CASCADE; COMMIT",
        ErrorCode::kFailedPrecondition, "cannot drop the schema " + schema + " at " + spec_.shown);
    if (!dropped) {
      RollBackIfOpen(connection);
      return Fail(dropped.error());
    }
    return Ok();
  }

  Status Provision(std::vector<std::string>& report) override {
    if (options_.read_only) return WarehouseIsReadOnly();
    CB_RETURN_IF_ERROR(Reconnect());
    // Roles belong to the whole cluster: two databases provisioning at once
    // may both try to create one; the loser tries again and finds it.
    Status status = ProvisionOnce(report);
    RollBackIfOpen(connection_.get());
    if (!status && status.error().message().find("already exists") != std::string::npos) {
      status = ProvisionOnce(report);
      RollBackIfOpen(connection_.get());
    }
    return status;
  }

  Status Deprovision(std::vector<std::string>& report) override {
    if (options_.read_only) return WarehouseIsReadOnly();
    CB_RETURN_IF_ERROR(Reconnect());
    PGconn* connection = connection_.get();
    std::string context = "cannot remove the citybooks roles at " + spec_.shown;
    CB_RETURN_IF_ERROR(CommandStatus(connection, "BEGIN", ErrorCode::kUnavailable, context));
    std::vector<std::string> lines;  // reported once the transaction committed
    Status status = DeprovisionInTransaction(lines);
    if (!status) {
      RollBackIfOpen(connection);
      return status;
    }
    CB_RETURN_IF_ERROR(
        CommandStatus(connection, "COMMIT", ErrorCode::kFailedPrecondition, context));
    report.insert(report.end(), lines.begin(), lines.end());
    return Ok();
  }

  std::string url() const override { return spec_.shown; }

 private:
  static Status WarehouseIsReadOnly() {
    return Fail(ErrorCode::kInvalidArgument, "this warehouse connection is read-only");
  }

  // A server restart or a dropped connection should not end a long-lived
  // process (serve): reconnect once before giving up.
  Status Reconnect() {
    PGconn* connection = connection_.get();
    if (!ConnectionLost(connection)) {
      RollBackIfOpen(connection);
      return Ok();
    }
    PQreset(connection);
    if (ConnectionLost(connection))
      return Fail(ErrorCode::kUnavailable, "lost the connection to the warehouse at " +
                                               spec_.shown + ": " +
                                               OneLine(PQerrorMessage(connection)));
    PQsetNoticeProcessor(connection, IgnoreNotice, nullptr);
    if (options_.read_only)
      CB_RETURN_IF_ERROR(CommandStatus(connection, "SET default_transaction_read_only = on",
                                       ErrorCode::kUnavailable, "cannot reopen " + spec_.shown));
    return Ok();
  }

  // One read-only statement: in a read-only warehouse it runs in a READ
  // ONLY transaction that is always rolled back, so nothing it does to the
  // session (set_config, ...) outlives it, and session advisory locks it took
  // are released after it.
  Status Run(const std::string& sql, std::span<const Cell> params, const QueryOptions& options,
             const RowCallback& on_row, std::vector<std::string>* columns, bool* truncated) {
    ScannedSql scanned = ScanSql(sql);
    CB_RETURN_IF_ERROR(CheckStatement(scanned, params.size(), options_.read_only));
    CB_RETURN_IF_ERROR(Reconnect());
    PGconn* connection = connection_.get();
    const bool limited = options.time_limit.count() > 0;
    const bool transaction = options_.read_only || limited;
    if (transaction) {
      std::string begin = options_.read_only ? "BEGIN TRANSACTION READ ONLY" : "BEGIN";
      if (limited)
        begin += "; SET LOCAL statement_timeout = " + std::to_string(options.time_limit.count());
      CB_RETURN_IF_ERROR(CommandStatus(connection, begin, ErrorCode::kUnavailable,
                                       "cannot start a query at " + spec_.shown));
    }
    StreamOptions stream{options.max_rows, options.time_limit, options_.read_only};
    Status status = Stream(connection, scanned, params, stream, on_row, columns, truncated);
    if (!transaction) return status;
    std::string end = options_.read_only || !status ? "ROLLBACK" : "COMMIT";
    if (options_.read_only) end += "; SELECT pg_advisory_unlock_all()";
    auto ended = Command(connection, end, ErrorCode::kUnavailable, "cannot end the query");
    // A cancel that arrived late hits this statement instead: say it again.
    if (!ended && !ConnectionLost(connection))
      ended = Command(connection, end, ErrorCode::kUnavailable, "cannot end the query");
    if (status && !ended) return Fail(ended.error());
    if (status && !options_.read_only && std::strcmp(PQcmdStatus(ended->get()), "COMMIT") != 0)
      return Fail(ErrorCode::kInternal, "the statement's transaction was rolled back");
    return status;
  }

  Result<bool> RolesExist() {
    CB_ASSIGN_OR_RETURN(
        QueryResult roles,
        Collect(
            connection_.get(),
            ScanSql(std::string("SELECT COUNT(*) FROM pg_catalog.pg_roles WHERE rolname IN ('") +
                    kLoaderRole + "', '" + kReaderRole + "')"),
            {}));
    return roles.IntAt() == 2;
  }

  Result<std::string> QuotedDatabase() {
    PGconn* connection = connection_.get();
    const char* name = PQdb(connection);
    char* quoted = PQescapeIdentifier(connection, name, std::strlen(name));
    if (quoted == nullptr)
      return Fail(ErrorCode::kInternal,
                  "cannot quote the database name: " + OneLine(PQerrorMessage(connection)));
    std::string out = quoted;
    PQfreemem(quoted);
    return out;
  }

  Status ProvisionOnce(std::vector<std::string>& report) {
    PGconn* connection = connection_.get();
    std::vector<std::string> lines;
    std::string context = "cannot create the citybooks roles at " + spec_.shown;
    auto run = [&](const std::string& sql) -> Status {
      auto result = Command(connection, sql, ErrorCode::kFailedPrecondition, context);
      if (!result) {
        RollBackIfOpen(connection);
        std::string hint =
            result.error().message().find("permission denied") != std::string::npos
                ? "; connect as a user with CREATEROLE (or a superuser) to run `citybooks init`"
                : "";
        return Fail(result.error().code(), result.error().message() + hint);
      }
      return Ok();
    };
    CB_RETURN_IF_ERROR(run("BEGIN; SELECT pg_advisory_xact_lock(" +
                           std::to_string(LockKey("ddl", "roles")) + ")"));
    CB_ASSIGN_OR_RETURN(
        QueryResult state,
        Collect(connection,
                ScanSql(std::string("SELECT (SELECT COUNT(*) FROM pg_catalog.pg_roles WHERE "
                                    "rolname = '") +
                        kLoaderRole +
                        "'), (SELECT COUNT(*) FROM pg_catalog.pg_roles WHERE rolname = '" +
                        kReaderRole +
                        "'), (SELECT COUNT(*) FROM pg_catalog.pg_auth_members m JOIN "
                        "pg_catalog.pg_roles r ON r.oid = m.roleid WHERE r.rolname = '" +
                        kLoaderRole + "' AND m.member = (SELECT oid FROM pg_catalog.pg_roles " +
                        "WHERE rolname = CURRENT_USER)), CURRENT_USER, (SELECT COUNT(*) FROM " +
                        "pg_catalog.pg_roles WHERE rolname = '" + kReaderRole +
                        "' AND 'default_transaction_read_only=on' = ANY (rolconfig))"),
                {}));
    const bool has_loader = state.IntAt(0, 0) > 0;
    const bool has_reader = state.IntAt(0, 1) > 0;
    const bool is_member = state.IntAt(0, 2) > 0;
    const std::string user = ValueToString(state.rows[0][3]);
    const bool reader_is_read_only = state.IntAt(0, 4) > 0;
    if (!has_loader) {
      CB_RETURN_IF_ERROR(run(std::string("CREATE ROLE ") + kLoaderRole + " NOLOGIN"));
      lines.push_back(std::string("created role ") + kLoaderRole +
                      " (owns the dataset schemas, writes loads)");
    }
    if (!has_reader) {
      CB_RETURN_IF_ERROR(run(std::string("CREATE ROLE ") + kReaderRole + " LOGIN"));
      lines.push_back(std::string("created role ") + kReaderRole +
                      " (LOGIN, SELECT only, read-only sessions; used by serve and query)");
    }
    // Every session of the reader starts read-only; it owns nothing and may
    // create nothing. (Checked first: roles a DBA created need no CREATEROLE
    // from whoever runs init later.)
    if (!reader_is_read_only)
      CB_RETURN_IF_ERROR(run(std::string("ALTER ROLE ") + kReaderRole +
                             " SET default_transaction_read_only = on"));
    // PUBLIC may connect by default; a database that revoked that gets an
    // explicit grant (which needs the database's owner).
    CB_ASSIGN_OR_RETURN(
        QueryResult can_connect,
        Collect(connection,
                ScanSql(std::string("SELECT COUNT(*) WHERE has_database_privilege('") +
                        kReaderRole + "', current_database(), 'CONNECT')"),
                {}));
    if (can_connect.IntAt() == 0) {
      CB_ASSIGN_OR_RETURN(std::string database, QuotedDatabase());
      CB_RETURN_IF_ERROR(run("GRANT CONNECT ON DATABASE " + database + " TO " + kReaderRole));
      lines.push_back(std::string("granted CONNECT on the database to ") + kReaderRole);
    }
    if (const char* password = std::getenv(kReaderPasswordVariable); password && *password) {
      // Sent as a SCRAM verifier computed here: the password itself never
      // reaches the server's logs.
      char* verifier = PQencryptPasswordConn(connection, password, kReaderRole, nullptr);
      if (verifier == nullptr) {
        RollBackIfOpen(connection);
        return Fail(ErrorCode::kFailedPrecondition, "cannot set the password of " +
                                                        std::string(kReaderRole) + ": " +
                                                        OneLine(PQerrorMessage(connection)));
      }
      std::string sql =
          std::string("ALTER ROLE ") + kReaderRole + " PASSWORD " + QuoteLiteral(verifier);
      PQfreemem(verifier);
      PgResult result(PQexec(connection, sql.c_str()));
      if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
        std::string reason = ServerMessage(connection, result.get());
        RollBackIfOpen(connection);
        return Fail(ErrorCode::kFailedPrecondition,
                    "cannot set the password of " + std::string(kReaderRole) + ": " + reason);
      }
      lines.push_back(std::string("set the password of ") + kReaderRole + " from " +
                      kReaderPasswordVariable);
    }
    if (!is_member) {
      CB_RETURN_IF_ERROR(run(std::string("GRANT ") + kLoaderRole + " TO CURRENT_USER"));
      lines.push_back(std::string("granted ") + kLoaderRole + " to " + user);
    }
    CB_RETURN_IF_ERROR(run("COMMIT"));
    report.insert(report.end(), lines.begin(), lines.end());
    return Ok();
  }

  Status DeprovisionInTransaction(std::vector<std::string>& report) {
    PGconn* connection = connection_.get();
    std::string context = "cannot remove the citybooks roles at " + spec_.shown;
    CB_RETURN_IF_ERROR(CommandStatus(
        connection, "SELECT pg_advisory_xact_lock(" + std::to_string(LockKey("ddl", "roles")) + ")",
        ErrorCode::kUnavailable, context));
    CB_ASSIGN_OR_RETURN(
        QueryResult roles,
        Collect(connection,
                ScanSql(std::string("SELECT rolname FROM pg_catalog.pg_roles WHERE rolname IN ('") +
                        kLoaderRole + "', '" + kReaderRole + "') ORDER BY rolname DESC"),
                {}));
    if (roles.rows.empty()) return Ok();
    CB_ASSIGN_OR_RETURN(
        QueryResult schemas,
        Collect(connection,
                ScanSql(std::string("SELECT n.nspname FROM pg_catalog.pg_namespace n JOIN "
                                    "pg_catalog.pg_roles r ON r.oid = n.nspowner WHERE "
                                    "r.rolname = '") +
                        kLoaderRole + "' ORDER BY 1"),
                {}));
    if (!schemas.rows.empty())
      return Fail(ErrorCode::kFailedPrecondition,
                  "the warehouse " + spec_.shown + " still holds the dataset schema " +
                      ValueToString(schemas.rows[0][0]) + " (owned by " + kLoaderRole +
                      "); drop it first (`citybooks destroy --yes` drops the schemas of the "
                      "configured datasets)");
    CB_ASSIGN_OR_RETURN(std::string database, QuotedDatabase());
    for (const auto& row : roles.rows) {
      std::string role = ValueToString(row[0]);
      // What the role owns or was granted in this database goes first;
      // DROP ROLE then fails only for what other databases still hold.
      std::string sql = role == kReaderRole ? "REVOKE ALL ON DATABASE " + database + " FROM " + role
                                            : "DROP OWNED BY " + role;
      sql += "; DROP ROLE " + role;
      CB_RETURN_IF_ERROR(CommandStatus(connection, sql, ErrorCode::kFailedPrecondition,
                                       context + " (" + role + ")"));
      report.push_back("dropped role " + role);
    }
    return Ok();
  }

  ConnectionSpec spec_;
  WarehouseOptions options_;
  PgConnection connection_;
};

}  // namespace

std::string RedactPostgresUrl(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  size_t authority_start = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?", authority_start);
  if (authority_end == std::string::npos) authority_end = url.size();
  std::string authority = url.substr(authority_start, authority_end - authority_start);
  size_t at = authority.rfind('@');
  if (at != std::string::npos) {
    std::string user = authority.substr(0, at);
    size_t colon = user.find(':');
    if (colon != std::string::npos) authority = user.substr(0, colon) + authority.substr(at);
  }
  std::string rest = url.substr(authority_end);
  size_t query = rest.find('?');
  if (query != std::string::npos) {
    std::string kept;
    std::string_view parameters = std::string_view(rest).substr(query + 1);
    while (!parameters.empty()) {
      size_t amp = parameters.find('&');
      std::string_view parameter = parameters.substr(0, amp);
      parameters = amp == std::string_view::npos ? std::string_view() : parameters.substr(amp + 1);
      if (parameter.starts_with("password=") || parameter == "password") continue;
      kept += (kept.empty() ? "" : "&") + std::string(parameter);
    }
    rest = rest.substr(0, query) + (kept.empty() ? "" : "?" + kept);
  }
  return url.substr(0, authority_start) + authority + rest;
}

Result<std::unique_ptr<Warehouse>> OpenPostgresWarehouse(const std::string& url,
                                                         const WarehouseOptions& options) {
  CB_ASSIGN_OR_RETURN(ConnectionSpec spec, ParseUrl(url));
  auto warehouse = std::make_unique<PostgresWarehouse>(std::move(spec), options);
  CB_RETURN_IF_ERROR(warehouse->Open());
  return std::unique_ptr<Warehouse>(std::move(warehouse));
}

}  // namespace citybooks
