#include "e2e_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace citybooks_e2e {

namespace {

std::string ShellQuote(const std::string& arg) {
  bool plain = !arg.empty();
  for (char c : arg)
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_./:=,+@", c));
  if (plain) return arg;
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Shortens long text for assertion messages.
std::string Clip(const std::string& text, size_t limit = 2000) {
  if (text.size() <= limit) return text;
  return text.substr(0, limit) + "... (" + std::to_string(text.size()) + " bytes)";
}

// Closes an sqlite3 handle on scope exit.
struct Database {
  sqlite3* db = nullptr;
  ~Database() { sqlite3_close(db); }
};
struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

bool OpenReadOnly(const fs::path& path, Database* database) {
  std::string uri = "file:" + path.string() + "?mode=ro";
  if (sqlite3_open_v2(uri.c_str(), &database->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                      nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path << " read-only: "
                  << (database->db ? sqlite3_errmsg(database->db) : "out of memory");
    return false;
  }
  sqlite3_busy_timeout(database->db, 10000);
  return true;
}

std::string QuoteIdentifier(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

std::string ProcessResult::Describe() const {
  std::string text = "$ " + command + "\n";
  text += exited ? "exit status " + std::to_string(exit_status)
                 : "killed by signal " + std::to_string(term_signal);
  text += "\n--- stderr:\n" + Clip(err) + "\n--- stdout:\n" + Clip(out);
  return text;
}

namespace {

// A command ready for execve, built before fork(): the child of a threaded
// test may only call async-signal-safe functions.
class ExecCommand {
 public:
  ExecCommand(const std::vector<std::string>& argv, const RunOptions& options)
      : args_(argv), cwd_(options.cwd.string()) {
    for (char** entry = environ; *entry != nullptr; ++entry) {
      std::string text = *entry;
      std::string key = text.substr(0, text.find('='));
      bool overridden = false;
      for (const auto& [name, value] : options.env) overridden = overridden || name == key;
      if (!overridden) env_.push_back(text);
    }
    for (const auto& [name, value] : options.env) env_.push_back(name + "=" + value);
    for (std::string& text : env_) envp_.push_back(text.data());
    envp_.push_back(nullptr);
    for (std::string& arg : args_) argv_.push_back(arg.data());
    argv_.push_back(nullptr);
  }

  // In the child: changes to the folder and executes; never returns.
  [[noreturn]] void Exec() const {
    if (!cwd_.empty() && chdir(cwd_.c_str()) != 0) _exit(126);
    execve(argv_[0], argv_.data(), envp_.data());
    static const char kMessage[] = "exec failed\n";
    (void)!write(2, kMessage, sizeof kMessage - 1);
    _exit(127);
  }

 private:
  std::vector<std::string> args_;
  std::vector<std::string> env_;
  std::string cwd_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;
};

}  // namespace

pid_t SpawnToFiles(const std::vector<std::string>& argv, const RunOptions& options,
                   const fs::path& out, const fs::path& err) {
  const ExecCommand command(argv, options);
  const std::string out_text = out.string(), err_text = err.string();
  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork failed: " << std::strerror(errno);
    return -1;
  }
  if (pid == 0) {
    int in_fd = open("/dev/null", O_RDONLY);
    int out_fd = open(out_text.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err_fd = open(err_text.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(126);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    command.Exec();
  }
  return pid;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const RunOptions& options) {
  ProcessResult result;
  for (const std::string& arg : argv)
    result.command += (result.command.empty() ? "" : " ") + ShellQuote(arg);
  if (!options.cwd.empty())
    result.command = "(cd " + options.cwd.string() + " && " + result.command + ")";

  const ExecCommand command(argv, options);

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed: " << std::strerror(errno);
    return result;
  }
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork failed: " << std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    command.Exec();
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  char buffer[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "poll failed: " << std::strerror(errno);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& fd : fds)
    if (fd.fd >= 0) close(fd.fd);
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      ADD_FAILURE() << "wait4 failed: " << std::strerror(errno);
      return result;
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.max_rss_kib = usage.ru_maxrss;
  if (WIFEXITED(status)) {
    result.exited = true;
    result.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  return result;
}

std::string CitybooksPath() { return std::string(CITYBOOKS_BINARY_DIR) + "/citybooks"; }

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/citybooks-e2e-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << ": " << std::strerror(errno);
    return;
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  if (path_.empty() || std::getenv("CITYBOOKS_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code error;
  fs::remove_all(path_, error);
}

ProcessResult Workspace::Citybooks(const std::vector<std::string>& args,
                                   const RunOptions& options) const {
  std::vector<std::string> argv = {CitybooksPath(), "--raw", "file://" + raw_dir().string(),
                                   "--warehouse", "sqlite://" + warehouse_file().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions run = options;
  if (run.cwd.empty()) run.cwd = dir();
  return RunProcess(argv, run);
}

void Workspace::Generate(const fs::path& out, int64_t rows, int64_t seed, double dirt_rate,
                         double bad_rate) const {
  ProcessResult result =
      Citybooks({"gen", "sf", "--rows", std::to_string(rows), "--out", out.string(), "--seed",
                 std::to_string(seed), "--dirt-rate", std::to_string(dirt_rate), "--bad-rate",
                 std::to_string(bad_rate)});
  EXPECT_TRUE(result.exited && result.exit_status == 0) << result.Describe();
}

ProcessResult Workspace::IngestAndLoad(const fs::path& file) const {
  ProcessResult ingest = Citybooks({"ingest", kDataset, file.string()});
  EXPECT_TRUE(ingest.exited && ingest.exit_status == 0) << ingest.Describe();
  EXPECT_NE(ingest.out.find("landed snapshot"), std::string::npos) << ingest.Describe();
  ProcessResult load = Citybooks({"load", kDataset});
  EXPECT_TRUE(load.exited && load.exit_status == 0) << load.Describe();
  return load;
}

nlohmann::json Workspace::Query(const std::string& sql) const {
  ProcessResult result = Citybooks({"query", sql, "--format", "json"});
  if (!result.exited || result.exit_status != 0) {
    ADD_FAILURE() << result.Describe();
    return nlohmann::json::array();
  }
  nlohmann::json rows = nlohmann::json::parse(result.out, nullptr, false);
  if (rows.is_discarded() || !rows.is_array()) {
    ADD_FAILURE() << "query output is not a JSON array:\n" << result.Describe();
    return nlohmann::json::array();
  }
  return rows;
}

int64_t Workspace::QueryInt(const std::string& sql) const {
  nlohmann::json rows = Query(sql);
  if (rows.empty() || rows[0].empty()) return 0;
  const nlohmann::json& value = rows[0].begin().value();
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number()) return static_cast<int64_t>(value.get<double>());
  if (!value.is_null()) ADD_FAILURE() << "not a number: " << value.dump() << " from " << sql;
  return 0;
}

nlohmann::json Workspace::Status() const {
  ProcessResult result = Citybooks({"status", "--format", "json"});
  if (!result.exited || result.exit_status != 0) {
    ADD_FAILURE() << result.Describe();
    return nlohmann::json::object();
  }
  nlohmann::json status = nlohmann::json::parse(result.out, nullptr, false);
  if (status.is_array())
    for (const nlohmann::json& entry : status)
      if (entry.value("dataset", "") == kDataset) return entry;
  ADD_FAILURE() << "status names no " << kDataset << ":\n" << result.Describe();
  return nlohmann::json::object();
}

std::vector<std::string> DumpTable(const fs::path& db, const std::string& table,
                                   const std::set<std::string>& exclude) {
  std::vector<std::string> rows;
  Database database;
  if (!OpenReadOnly(db, &database)) return rows;
  std::vector<std::string> columns;
  std::set<std::string> all_columns;
  {
    Statement probe;
    std::string sql = "SELECT * FROM " + QuoteIdentifier(table);
    if (sqlite3_prepare_v2(database.db, sql.c_str(), -1, &probe.stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << db << ": " << sql << ": " << sqlite3_errmsg(database.db);
      return rows;
    }
    for (int c = 0; c < sqlite3_column_count(probe.stmt); ++c) {
      std::string name = sqlite3_column_name(probe.stmt, c);
      all_columns.insert(name);
      if (!exclude.count(name)) columns.push_back(name);
    }
  }
  for (const std::string& name : exclude)
    if (!all_columns.count(name))
      ADD_FAILURE() << table << " has no column " << name << " to leave out";
  if (columns.empty()) return rows;
  std::string select, order;
  for (size_t c = 0; c < columns.size(); ++c) {
    select += (c ? ", " : "") + QuoteIdentifier(columns[c]);
    order += (c ? ", " : "") + std::to_string(c + 1);
  }
  std::string sql = "SELECT " + select + " FROM " + QuoteIdentifier(table) + " ORDER BY " + order;
  Statement statement;
  if (sqlite3_prepare_v2(database.db, sql.c_str(), -1, &statement.stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << db << ": " << sql << ": " << sqlite3_errmsg(database.db);
    return rows;
  }
  int rc;
  while ((rc = sqlite3_step(statement.stmt)) == SQLITE_ROW) {
    std::string line;
    for (int c = 0; c < static_cast<int>(columns.size()); ++c) {
      if (c) line += " | ";
      switch (sqlite3_column_type(statement.stmt, c)) {
        case SQLITE_INTEGER:
          line += "i:" + std::to_string(sqlite3_column_int64(statement.stmt, c));
          break;
        case SQLITE_FLOAT: {
          char text[40];
          std::snprintf(text, sizeof text, "r:%.17g", sqlite3_column_double(statement.stmt, c));
          line += text;
          break;
        }
        case SQLITE_NULL:
          line += "null";
          break;
        default: {
          const char* text = reinterpret_cast<const char*>(sqlite3_column_text(statement.stmt, c));
          int bytes = sqlite3_column_bytes(statement.stmt, c);
          line += "t:'" + std::string(text ? text : "", static_cast<size_t>(bytes)) + "'";
        }
      }
    }
    rows.push_back(std::move(line));
  }
  if (rc != SQLITE_DONE) ADD_FAILURE() << db << ": " << sql << ": " << sqlite3_errmsg(database.db);
  return rows;
}

std::vector<std::string> TableNames(const fs::path& db) {
  std::vector<std::string> names;
  Database database;
  if (!OpenReadOnly(db, &database)) return names;
  Statement statement;
  const char* sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
  if (sqlite3_prepare_v2(database.db, sql, -1, &statement.stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << db << ": " << sqlite3_errmsg(database.db);
    return names;
  }
  while (sqlite3_step(statement.stmt) == SQLITE_ROW)
    names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(statement.stmt, 0)));
  return names;
}

std::vector<std::string> ColumnNames(const fs::path& db, const std::string& table) {
  std::vector<std::string> names;
  Database database;
  if (!OpenReadOnly(db, &database)) return names;
  Statement statement;
  std::string sql = "SELECT * FROM " + QuoteIdentifier(table);
  if (sqlite3_prepare_v2(database.db, sql.c_str(), -1, &statement.stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << db << ": " << sql << ": " << sqlite3_errmsg(database.db);
    return names;
  }
  for (int c = 0; c < sqlite3_column_count(statement.stmt); ++c)
    names.emplace_back(sqlite3_column_name(statement.stmt, c));
  return names;
}

std::map<std::string, std::vector<std::string>> DumpDatabase(
    const fs::path& db, const std::map<std::string, std::set<std::string>>& exclude) {
  std::map<std::string, std::vector<std::string>> tables;
  for (const std::string& table : TableNames(db)) {
    auto it = exclude.find(table);
    tables[table] =
        DumpTable(db, table, it == exclude.end() ? std::set<std::string>() : it->second);
  }
  return tables;
}

bool SameRows(const std::vector<std::string>& expected, const std::vector<std::string>& actual,
              const std::string& what) {
  if (expected == actual) return true;
  std::ostringstream message;
  message << what << " differs: expected " << expected.size() << " rows, got " << actual.size();
  int shown = 0;
  size_t i = 0, j = 0;
  // Both are sorted: walk them like a merge and show the first differences.
  while ((i < expected.size() || j < actual.size()) && shown < 5) {
    if (j >= actual.size() || (i < expected.size() && expected[i] < actual[j])) {
      message << "\n  only expected: " << Clip(expected[i++], 400);
      ++shown;
    } else if (i >= expected.size() || actual[j] < expected[i]) {
      message << "\n  only actual:   " << Clip(actual[j++], 400);
      ++shown;
    } else {
      ++i;
      ++j;
    }
  }
  ADD_FAILURE() << message.str();
  return false;
}

bool SameTables(const std::map<std::string, std::vector<std::string>>& expected,
                const std::map<std::string, std::vector<std::string>>& actual,
                const std::string& what) {
  bool same = true;
  for (const auto& [table, rows] : expected) {
    auto it = actual.find(table);
    if (it == actual.end()) {
      ADD_FAILURE() << what << ": table " << table << " is missing";
      same = false;
      continue;
    }
    same = SameRows(rows, it->second, what + ": table " + table) && same;
  }
  for (const auto& [table, rows] : actual)
    if (!expected.count(table)) {
      ADD_FAILURE() << what << ": unexpected table " << table << " with " << rows.size() << " rows";
      same = false;
    }
  return same;
}

std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  bool field_started = false;
  size_t i = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;
  auto end_record = [&] {
    record.push_back(std::move(field));
    field.clear();
    records.push_back(std::move(record));
    record.clear();
    field_started = false;
  };
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty() && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n') {
      end_record();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      // CRLF: the '\n' ends the record.
    } else {
      field += c;
      field_started = true;
    }
  }
  if (field_started || !field.empty() || !record.empty()) end_record();
  return records;
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    const std::string& value = fields[i];
    if (value.find_first_of(",\"\r\n") == std::string::npos) {
      line += value;
      continue;
    }
    line += '"';
    for (char c : value) line += c == '"' ? std::string("\"\"") : std::string(1, c);
    line += '"';
  }
  return line + "\n";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  EXPECT_TRUE(out.good()) << "cannot write " << path;
}

void ExpectOneErrorLine(const ProcessResult& result, const std::string& needle) {
  EXPECT_TRUE(result.exited) << "the process died by a signal:\n" << result.Describe();
  EXPECT_TRUE(result.exit_status == 1 || result.exit_status == 2) << result.Describe();
  std::vector<std::string> lines = Lines(result.err);
  ASSERT_EQ(lines.size(), 1u) << "stderr should be one error line:\n" << result.Describe();
  const std::string& line = lines[0];
  EXPECT_EQ(line.rfind("citybooks: error: ", 0), 0u) << result.Describe();
  EXPECT_NE(line.find(needle), std::string::npos) << "the error should name '" << needle << "':\n"
                                                  << result.Describe();
  bool printable = IsValidUtf8(line);
  for (unsigned char c : line) printable = printable && c >= 0x20 && c != 0x7F;
  EXPECT_TRUE(printable) << "the error line holds control bytes or invalid UTF-8 (it would "
                            "garble or drive the user's terminal):\n"
                         << result.Describe();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  return lines;
}

bool IsValidUtf8(const std::string& text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t extra;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= n) return false;
    for (size_t k = 1; k <= extra; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if ((extra == 2 && code < 0x800) || (extra == 3 && (code < 0x10000 || code > 0x10FFFF)) ||
        (code >= 0xD800 && code <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace citybooks_e2e
