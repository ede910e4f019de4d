// Support for the end-to-end tests: run the real `citybooks` executable the
// way a user does (in a fresh folder of its own, stdout and stderr captured
// apart), read its answers back through `citybooks query --format json`, and
// dump the SQLite files read-only to compare whole warehouses.
//
//   Workspace workspace;
//   ProcessResult result = workspace.Citybooks({"ingest", "sf-spending-revenue", "sf.csv"});
//   EXPECT_EQ(result.exit_status, 0) << result.Describe();
//   int64_t facts = workspace.QueryInt("SELECT COUNT(*) FROM
//   sf_spending_revenue.fact_transaction");
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace citybooks_e2e {

namespace fs = std::filesystem;

// The dataset every San Francisco test uses, and its schema.
inline constexpr char kDataset[] = "sf-spending-revenue";
inline constexpr char kSchema[] = "sf_spending_revenue";

// The real Socrata header of the San Francisco extract (24 columns).
inline constexpr char kSfHeader[] =
    "fiscal_year,revenue_or_spending,related_govt_units,organization_group_code,"
    "organization_group,department_code,department,program_code,program,character_code,"
    "character,object_code,object,sub_object_code,sub_object,fund_type_code,fund_type,"
    "fund_code,fund,fund_category_code,fund_category,amount,data_as_of,data_loaded_at";
inline constexpr int kSfColumns = 24;
inline constexpr int kSfYearColumn = 0;
inline constexpr int kSfAmountColumn = 21;

// How a child process ended and what it printed.
struct ProcessResult {
  bool exited = false;  // ended by exit(); false when a signal ended it
  int exit_status = -1;
  int term_signal = 0;  // the signal that ended it, when !exited
  std::string out;
  std::string err;
  int64_t max_rss_kib = 0;  // peak resident set size of the child
  double seconds = 0;
  std::string command;

  // "exit 0" / "killed by signal 9", the command and its stderr, for
  // assertion messages.
  std::string Describe() const;
};

struct RunOptions {
  fs::path cwd;                                          // empty: the test's cwd
  std::vector<std::pair<std::string, std::string>> env;  // added to the environment
};

// Runs `argv` (argv[0] is a path) and waits for it. Fails the test (and
// returns exited = false, term_signal = 0) if the process cannot be started.
ProcessResult RunProcess(const std::vector<std::string>& argv, const RunOptions& options = {});

// Starts `argv` in `options.cwd` without waiting: stdin from /dev/null,
// stdout and stderr into the files `out` and `err`. Returns its pid, or -1
// after failing the test if it cannot fork.
pid_t SpawnToFiles(const std::vector<std::string>& argv, const RunOptions& options,
                   const fs::path& out, const fs::path& err);

// Path of the citybooks executable under test.
std::string CitybooksPath();

// A fresh folder under $TMPDIR, removed with everything in it on
// destruction (unless CITYBOOKS_KEEP_TEST_DIRS is set, for debugging).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A temp folder holding one raw zone and one SQLite warehouse; every
// command runs in it with explicit --raw and --warehouse URLs.
class Workspace {
 public:
  Workspace() = default;
  const fs::path& dir() const { return dir_.path(); }
  fs::path raw_dir() const { return dir() / "raw"; }
  fs::path warehouse_file() const { return dir() / "warehouse" / "warehouse.db"; }
  // The dataset's own SQLite file beside the warehouse file.
  fs::path dataset_file() const { return dir() / "warehouse" / "sf_spending_revenue.db"; }

  // citybooks --raw file://... --warehouse sqlite://... ARGS, run in dir().
  ProcessResult Citybooks(const std::vector<std::string>& args,
                          const RunOptions& options = {}) const;
  // `citybooks gen sf` into `out`; fails the test if it does not succeed.
  void Generate(const fs::path& out, int64_t rows, int64_t seed, double dirt_rate,
                double bad_rate) const;
  // `ingest sf-spending-revenue FILE` then `load sf-spending-revenue`;
  // fails the test unless both succeed. Returns the load's result.
  ProcessResult IngestAndLoad(const fs::path& file) const;
  // `citybooks query SQL --format json`, parsed; fails the test (and returns
  // an empty array) if the query fails.
  nlohmann::json Query(const std::string& sql) const;
  // The first column of the first row as an integer (0 when NULL or absent).
  int64_t QueryInt(const std::string& sql) const;
  // `status --format json`'s entry for the San Francisco dataset.
  nlohmann::json Status() const;

 private:
  TempDir dir_;
};

// Every row of `table` in the SQLite file `db` (opened read-only), each as
// one text line of type-tagged values, ordered by every column. Columns
// named in `exclude` are left out.
std::vector<std::string> DumpTable(const fs::path& db, const std::string& table,
                                   const std::set<std::string>& exclude = {});
// Names of the tables in the SQLite file `db`.
std::vector<std::string> TableNames(const fs::path& db);
// Names of the columns of `table` in the SQLite file `db`.
std::vector<std::string> ColumnNames(const fs::path& db, const std::string& table);
// Every table of `db` (DumpTable each), keyed by table name. `exclude` maps
// a table name to columns left out.
std::map<std::string, std::vector<std::string>> DumpDatabase(
    const fs::path& db, const std::map<std::string, std::set<std::string>>& exclude = {});

// Adds a failure naming the first difference when `actual` and `expected`
// differ (row counts, then the first differing row). Returns true if equal.
bool SameRows(const std::vector<std::string>& expected, const std::vector<std::string>& actual,
              const std::string& what);
bool SameTables(const std::map<std::string, std::vector<std::string>>& expected,
                const std::map<std::string, std::vector<std::string>>& actual,
                const std::string& what);

// A minimal RFC 4180 reader and writer for building inputs in tests: quoted
// fields, doubled quotes, quoted line breaks, CRLF or LF.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text);
std::string CsvLine(const std::vector<std::string>& fields);  // with a trailing '\n'

std::string ReadFile(const fs::path& path);
void WriteFile(const fs::path& path, const std::string& bytes);

// Expects `result` to have ended by exit() (no signal) with status 1 or 2 and
// stderr to be exactly one line that starts "citybooks: error: ", holds
// `needle` and is printable UTF-8 text (no control bytes).
void ExpectOneErrorLine(const ProcessResult& result, const std::string& needle);

// Non-empty lines of `text`.
std::vector<std::string> Lines(const std::string& text);
// True when `text` is well-formed UTF-8.
bool IsValidUtf8(const std::string& text);

}  // namespace citybooks_e2e
