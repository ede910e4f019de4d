// The PostgreSQL warehouse end to end: the real `citybooks` executable
// against a real throwaway cluster (pg_server.h). The same raw snapshot is
// loaded into PostgreSQL and into SQLite and every table must come out the
// same; the reader role refuses every write; loads are idempotent and a
// killed load leaves nothing; init and destroy leave no schema or role, and
// with the raw zone on S3 (s3rver) no bucket either.
// citybooks connects as a database owner with CREATEROLE, not as a
// superuser, the way a city's DBA would set it up.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "e2e_support.h"
#include "pg_server.h"
#include "s3/s3_server.h"

namespace citybooks_e2e {
namespace {

using citybooks_test::PgServer;
using nlohmann::json;

constexpr char kOwner[] = "cb_owner";  // owns the test databases, may create roles
const std::string kFacts = std::string(kSchema) + ".fact_transaction";

std::unique_ptr<PgServer>& SharedServer() {
  static std::unique_ptr<PgServer> server;
  return server;
}

class StopServer : public ::testing::Environment {
 public:
  void TearDown() override { SharedServer().reset(); }
};
const ::testing::Environment* const kStopServer =
    ::testing::AddGlobalTestEnvironment(new StopServer);

// The cluster of this test process, started on first use; fails the test
// (and returns nullptr) when PostgreSQL cannot run here.
PgServer* Server() {
  static bool tried = false;
  static std::string error;
  if (!tried) {
    tried = true;
    SharedServer() = PgServer::Start(&error);
    if (SharedServer()) {
      std::string failure;
      SharedServer()->Sql("postgres", std::string("CREATE ROLE ") + kOwner + " LOGIN CREATEROLE",
                          &failure);
      if (!failure.empty()) {
        error = failure;
        SharedServer().reset();
      }
    }
  }
  if (!SharedServer()) ADD_FAILURE() << "cannot start PostgreSQL: " << error;
  return SharedServer().get();
}

// A database of its own for one test, owned by cb_owner; dropped at the end
// so the roles depend on nothing once a test is over.
class Database {
 public:
  explicit Database(const std::string& name) : name_(name) {
    server_ = Server();
    if (server_ == nullptr) return;
    std::string error;
    if (!server_->CreateDatabase(name_, &error, kOwner)) {
      ADD_FAILURE() << error;
      server_ = nullptr;
    }
  }
  ~Database() {
    std::string error;
    if (server_ != nullptr && !server_->DropDatabase(name_, &error)) ADD_FAILURE() << error;
  }
  bool ok() const { return server_ != nullptr; }
  std::string url() const { return server_ ? server_->Url(name_, kOwner) : ""; }
  // As the superuser.
  std::vector<std::vector<std::string>> Sql(const std::string& sql) const {
    std::string error;
    auto rows = server_->Sql(name_, sql, &error);
    EXPECT_TRUE(error.empty()) << error;
    return rows;
  }
  std::string Value(const std::string& sql) const {
    auto rows = Sql(sql);
    return rows.empty() || rows[0].empty() ? "" : rows[0][0];
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  PgServer* server_ = nullptr;
};

// citybooks with the workspace's raw zone and the warehouse `url`.
ProcessResult Citybooks(const Workspace& workspace, const std::string& url,
                        const std::vector<std::string>& args, const RunOptions& options = {}) {
  std::vector<std::string> argv = {CitybooksPath(), "--raw",
                                   "file://" + workspace.raw_dir().string(), "--warehouse", url};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions run = options;
  if (run.cwd.empty()) run.cwd = workspace.dir();
  return RunProcess(argv, run);
}

void ExpectSuccess(const ProcessResult& result) {
  EXPECT_TRUE(result.exited && result.exit_status == 0) << result.Describe();
}

// `query SQL --format json` through the reader, parsed.
json Query(const Workspace& workspace, const std::string& url, const std::string& sql) {
  ProcessResult result = Citybooks(workspace, url, {"query", sql, "--format", "json"});
  if (!result.exited || result.exit_status != 0) {
    ADD_FAILURE() << result.Describe();
    return json::array();
  }
  json rows = json::parse(result.out, nullptr, false);
  if (rows.is_discarded()) ADD_FAILURE() << "not JSON:\n" << result.Describe();
  return rows;
}

fs::path Generate(const Workspace& workspace, const std::string& name, int64_t rows, int64_t seed,
                  double bad_rate) {
  fs::path file = workspace.dir() / name;
  workspace.Generate(file, rows, seed, 0.05, bad_rate);
  return file;
}

// Every row of `schema`.`table` in PostgreSQL, each one line in DumpTable's
// type-tagged format (i:, r:, t:'...', null), sorted.
std::vector<std::string> DumpPgTable(const Database& database, const std::string& table,
                                     const std::set<std::string>& exclude = {}) {
  auto columns = database.Sql(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '" +
      std::string(kSchema) + "' AND table_name = '" + table + "' ORDER BY ordinal_position");
  std::string select;
  std::vector<std::string> types;
  for (const auto& column : columns) {
    if (exclude.count(column[0])) continue;
    std::string quoted = "\"" + column[0] + "\"";
    select += std::string(select.empty() ? "" : ", ") + "(" + quoted + " IS NULL)::int, " + quoted;
    types.push_back(column[1]);
  }
  std::vector<std::string> lines;
  if (types.empty()) return lines;
  for (const auto& row :
       database.Sql("SELECT " + select + " FROM " + kSchema + ".\"" + table + "\"")) {
    std::string line;
    for (size_t c = 0; c < types.size(); ++c) {
      if (c) line += " | ";
      const std::string& text = row[2 * c + 1];
      if (row[2 * c] == "1") {
        line += "null";
      } else if (types[c] == "bigint") {
        line += "i:" + text;
      } else if (types[c] == "double precision") {
        char formatted[40];
        std::snprintf(formatted, sizeof formatted, "r:%.17g", std::strtod(text.c_str(), nullptr));
        line += formatted;
      } else {
        line += "t:'" + text + "'";
      }
    }
    lines.push_back(std::move(line));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

using Tables = std::map<std::string, std::vector<std::string>>;
using Exclusions = std::map<std::string, std::set<std::string>>;

// What differs between two loads of the same snapshot: when they ran.
const Exclusions kTimes = {{"cb_runs", {"started_at", "finished_at"}},
                           {"cb_quality", {"checked_at"}},
                           {"cb_snapshots", {"loaded_at"}}};

Tables DumpPgSchema(const Database& database, const Exclusions& exclude = kTimes) {
  Tables tables;
  for (const auto& row : database.Sql("SELECT table_name FROM information_schema.tables WHERE "
                                      "table_schema = '" +
                                      std::string(kSchema) + "' AND table_type = 'BASE TABLE'")) {
    auto it = exclude.find(row[0]);
    tables[row[0]] =
        DumpPgTable(database, row[0], it == exclude.end() ? std::set<std::string>() : it->second);
  }
  return tables;
}

Tables DumpSqliteDataset(const Workspace& workspace, const Exclusions& exclude = kTimes) {
  Tables tables = DumpDatabase(workspace.dataset_file(), exclude);
  for (auto& [name, rows] : tables) std::sort(rows.begin(), rows.end());
  return tables;
}

// Facts, dimensions and aggregates, without the run that wrote each fact.
Tables Star(const Tables& all, const Database& database) {
  Tables star;
  for (const auto& [name, rows] : all)
    if (name.starts_with("dim_") || name.starts_with("agg_")) star[name] = rows;
  star["fact_transaction"] = DumpPgTable(database, "fact_transaction", {"run_id"});
  return star;
}

// JSON rows equal, numbers compared as numbers: integers exactly, reals to
// 1e-9 relative (percentages rounded to 2 places to 0.01, since SQLite
// rounds binary doubles and PostgreSQL exact decimals).
void ExpectSameRows(const json& expected, const json& actual, const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size())
      << what << "\nexpected " << expected.dump(1).substr(0, 2000) << "\nactual "
      << actual.dump(1).substr(0, 2000);
  for (size_t r = 0; r < expected.size(); ++r) {
    ASSERT_EQ(expected[r].size(), actual[r].size()) << what << " row " << r;
    for (const auto& [key, want] : expected[r].items()) {
      ASSERT_TRUE(actual[r].contains(key)) << what << " row " << r << " has no " << key;
      const json& got = actual[r][key];
      if (want.is_number() && got.is_number()) {
        if (want.is_number_integer() && got.is_number_integer()) {
          EXPECT_EQ(want.get<int64_t>(), got.get<int64_t>()) << what << " row " << r << " " << key;
        } else {
          double a = want.get<double>(), b = got.get<double>();
          double tolerance = key.ends_with("_pct") ? 0.0100001 : 1e-9 * std::max(1.0, std::fabs(a));
          EXPECT_NEAR(a, b, tolerance) << what << " row " << r << " " << key;
        }
      } else {
        EXPECT_EQ(want, got) << what << " row " << r << " " << key;
      }
    }
  }
}

std::vector<std::pair<std::string, std::string>> MappingViews() {
  // The views' SQL as the mapping declares it (the TOML is the source).
  std::ifstream in(std::string(CITYBOOKS_SOURCE_DIR) +
                   "/src/conform/mappings/sf-spending-revenue.toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string toml = text.str();
  std::vector<std::pair<std::string, std::string>> views;
  const std::regex block(R"re((sql|sql_from_facts) = """([\s\S]*?)""")re");
  for (auto it = std::sregex_iterator(toml.begin(), toml.end(), block);
       it != std::sregex_iterator(); ++it) {
    std::string sql = (*it)[2].str();
    for (size_t at; (at = sql.find("{schema}")) != std::string::npos;) sql.replace(at, 8, kSchema);
    views.emplace_back((*it)[1].str(), sql);
  }
  return views;
}

// Waits (60 s at most) until no citybooks session is left in `database`: a
// killed client's server process ends as soon as it reads the closed socket.
void WaitForSessionsToEnd(const Database& database) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string sessions;
  while (std::chrono::steady_clock::now() < deadline) {
    sessions = database.Value(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        "application_name = 'citybooks'");
    if (sessions == "0") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << sessions << " citybooks sessions still open 60 s after the client died";
}

// ---------------------------------------------------------------------------

TEST(PostgresEndToEnd, LoadGivesTheSameTablesAsSqlite) {
  Workspace workspace;
  Database database("cb_same_tables");
  ASSERT_TRUE(database.ok());
  fs::path file = Generate(workspace, "sf.csv", 100'000, 7, 0.001);
  ExpectSuccess(Citybooks(workspace, database.url(), {"init"}));
  ExpectSuccess(workspace.Citybooks({"init"}));
  ProcessResult ingest = workspace.Citybooks({"ingest", kDataset, file.string()});
  ExpectSuccess(ingest);
  ProcessResult sqlite_load = workspace.Citybooks({"load", kDataset});
  ExpectSuccess(sqlite_load);
  ProcessResult pg_load = Citybooks(workspace, database.url(), {"load", kDataset});
  ExpectSuccess(pg_load);
  EXPECT_NE(pg_load.out.find("rows read 100,000"), std::string::npos) << pg_load.Describe();

  Tables sqlite = DumpSqliteDataset(workspace);
  Tables postgres = DumpPgSchema(database);
  ASSERT_GT(sqlite["fact_transaction"].size(), 90'000u);
  ASSERT_GT(sqlite["cb_quarantine"].size(), 10u) << "--bad-rate 0.001 quarantines rows";
  for (const char* table : {"dim_program", "dim_type", "dim_fund", "dim_finance", "cb_quarantine",
                            "cb_code_remaps", "cb_quality", "cb_runs", "cb_snapshots"})
    EXPECT_FALSE(sqlite[table].empty()) << table;
  SameTables(sqlite, postgres, "PostgreSQL schema against the SQLite dataset file");

  // Through each backend's reader: counts and sums per fiscal year, the
  // quarantine, and the dashboard's views.
  const std::string by_year =
      "SELECT fiscal_year, COUNT(*) AS facts, SUM(amount_cents) AS cents "
      "FROM " +
      kFacts + " GROUP BY fiscal_year ORDER BY fiscal_year";
  json sqlite_years = workspace.Query(by_year);
  ASSERT_GE(sqlite_years.size(), 20u);
  EXPECT_EQ(Query(workspace, database.url(), by_year), sqlite_years);
  const std::string quarantined =
      "SELECT COUNT(*) AS n FROM " + std::string(kSchema) + ".cb_quarantine";
  EXPECT_EQ(Query(workspace, database.url(), quarantined), workspace.Query(quarantined));
  auto views = MappingViews();
  ASSERT_EQ(views.size(), 8u) << "four views, each from aggregates and from facts";
  for (const auto& [kind, sql] : views) {
    json expected = workspace.Query(sql);
    EXPECT_FALSE(expected.empty()) << sql;
    ExpectSameRows(expected, Query(workspace, database.url(), sql), kind + ": " + sql);
  }
  json status = json::parse(
      Citybooks(workspace, database.url(), {"status", kDataset, "--format", "json"}).out, nullptr,
      false);
  ASSERT_TRUE(status.is_array() && status.size() == 1) << status.dump();
  EXPECT_EQ(status[0]["quarantined_rows"], workspace.Status()["quarantined_rows"]);
  EXPECT_EQ(status[0]["last_run"]["rows_loaded"], workspace.Status()["last_run"]["rows_loaded"]);
}

TEST(PostgresEndToEnd, ReaderRefusesEveryWriteAndChangesNothing) {
  Workspace workspace;
  Database database("cb_reader");
  ASSERT_TRUE(database.ok());
  fs::path file = Generate(workspace, "sf.csv", 20'000, 8, 0.0);
  ExpectSuccess(Citybooks(workspace, database.url(), {"init"}));
  ExpectSuccess(Citybooks(workspace, database.url(), {"ingest", kDataset, file.string()}));
  ExpectSuccess(Citybooks(workspace, database.url(), {"load", kDataset}));
  Tables before = DumpPgSchema(database, {});
  ASSERT_EQ(before["fact_transaction"].size(), 20'000u);

  const std::string marker = "/tmp/cb-e2e-copy-" + std::to_string(getpid());
  fs::remove(marker);
  const std::regex refusal("only read|one (SQL )?statement", std::regex::icase);
  for (const std::string& sql : std::vector<std::string>{
           "INSERT INTO " + std::string(kSchema) + ".cb_runs (run_id) VALUES (99)",
           "DROP TABLE " + kFacts,
           "COPY (SELECT 1) TO PROGRAM 'touch " + marker + "'",
           "SELECT 1; DROP SCHEMA " + std::string(kSchema) + " CASCADE",
           "UPDATE " + kFacts + " SET amount_cents = 0",
           "DELETE FROM " + kFacts,
           "WITH gone AS (DELETE FROM " + kFacts + " RETURNING 1) SELECT COUNT(*) FROM gone",
           "SET ROLE citybooks_loader",
           "SELECT set_config('role', 'citybooks_loader', false)",
           "SELECT * INTO " + std::string(kSchema) + ".copied FROM " + kFacts,
       }) {
    SCOPED_TRACE(sql);
    ProcessResult result = Citybooks(workspace, database.url(), {"query", sql});
    ExpectOneErrorLine(result, "");
    EXPECT_EQ(result.exit_status, 2) << "a refused statement is bad usage\n" << result.Describe();
    EXPECT_TRUE(std::regex_search(result.err, refusal)) << result.Describe();
  }
  EXPECT_FALSE(fs::exists(marker)) << "COPY TO PROGRAM ran";
  SameTables(before, DumpPgSchema(database, {}), "the schema after refused statements");

  // What the reader is, as the server sees it.
  EXPECT_EQ(database.Value("SELECT array_to_string(rolconfig, ',') FROM pg_roles WHERE rolname = "
                           "'citybooks_reader'"),
            "default_transaction_read_only=on");
  EXPECT_EQ(
      database.Value("SELECT has_table_privilege('citybooks_reader', '" + kFacts +
                     "', 'SELECT')::text || has_table_privilege('citybooks_reader', '" + kFacts +
                     "', 'INSERT,UPDATE,DELETE,TRUNCATE')::text || "
                     "has_schema_privilege('citybooks_reader', '" +
                     kSchema +
                     "', 'CREATE')::text || "
                     "has_schema_privilege('citybooks_reader', 'public', "
                     "'CREATE')::text"),
      "truefalsefalsefalse");
  EXPECT_EQ(database.Value("SELECT rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = "
                           "n.nspowner WHERE nspname = '" +
                           std::string(kSchema) + "'"),
            "citybooks_loader");
  // And it reads.
  json count = Query(workspace, database.url(), "SELECT COUNT(*) AS n FROM " + kFacts);
  ASSERT_EQ(count.size(), 1u);
  EXPECT_EQ(count[0]["n"], 20'000);
}

TEST(PostgresEndToEnd, SecondLoadIsANoOpAndReloadGivesTheSameTables) {
  Workspace workspace;
  Database database("cb_reload");
  ASSERT_TRUE(database.ok());
  fs::path file = Generate(workspace, "sf.csv", 50'000, 9, 0.001);
  ExpectSuccess(Citybooks(workspace, database.url(), {"ingest", kDataset, file.string()}));
  ExpectSuccess(Citybooks(workspace, database.url(), {"load", kDataset}));  // without init
  Tables first = DumpPgSchema(database);
  ASSERT_GT(first["fact_transaction"].size(), 45'000u);

  ProcessResult again = Citybooks(workspace, database.url(), {"load", kDataset});
  ExpectSuccess(again);
  EXPECT_NE(again.out.find("nothing new"), std::string::npos) << again.Describe();
  SameTables(first, DumpPgSchema(database), "the schema after a second load");

  ProcessResult reload = Citybooks(workspace, database.url(), {"load", kDataset, "--reload"});
  ExpectSuccess(reload);
  EXPECT_NE(reload.out.find("as run #2"), std::string::npos) << reload.Describe();
  SameTables(Star(first, database), Star(DumpPgSchema(database), database),
             "facts, dimensions and aggregates after load --reload");
  EXPECT_EQ(database.Value("SELECT string_agg(status, ',' ORDER BY run_id) FROM " +
                           std::string(kSchema) + ".cb_runs"),
            "succeeded,succeeded");
  EXPECT_EQ(database.Value("SELECT COUNT(*) FROM " + std::string(kSchema) + ".cb_snapshots"), "1");
}

TEST(PostgresEndToEnd, KilledLoadLeavesTheTablesAsTheyWereAndARerunFinishesIt) {
  Workspace workspace;
  Database killed("cb_killed");
  Database undisturbed("cb_undisturbed");
  ASSERT_TRUE(killed.ok() && undisturbed.ok());
  fs::path file_a = Generate(workspace, "a.csv", 50'000, 21, 0.001);
  fs::path file_b = Generate(workspace, "b.csv", 50'000, 22, 0.001);
  ExpectSuccess(Citybooks(workspace, killed.url(), {"ingest", kDataset, file_a.string()}));
  ExpectSuccess(Citybooks(workspace, killed.url(), {"load", kDataset}));
  ExpectSuccess(Citybooks(workspace, killed.url(), {"ingest", kDataset, file_b.string()}));
  Tables before = DumpPgSchema(killed, {});
  ASSERT_GT(before["fact_transaction"].size(), 45'000u);

  // Killed after 20,000 facts: COPY data has reached the server by then.
  ProcessResult crash = Citybooks(workspace, killed.url(), {"load", kDataset},
                                  RunOptions{{}, {{"CITYBOOKS_FAULT_KILL_AFTER_ROWS", "20000"}}});
  ASSERT_FALSE(crash.exited) << crash.Describe();
  ASSERT_EQ(crash.term_signal, SIGKILL) << crash.Describe();
  WaitForSessionsToEnd(killed);
  SameTables(before, DumpPgSchema(killed, {}), "the schema after a load killed half-way");

  ProcessResult rerun = Citybooks(workspace, killed.url(), {"load", kDataset});
  ExpectSuccess(rerun);
  EXPECT_NE(rerun.out.find("as run #2"), std::string::npos) << rerun.Describe();
  // Both snapshots in one undisturbed load, from the same raw zone.
  ExpectSuccess(Citybooks(workspace, undisturbed.url(), {"load", kDataset}));
  Tables expected = DumpPgSchema(undisturbed);
  ASSERT_EQ(expected["cb_runs"].size(), 2u);
  SameTables(expected, DumpPgSchema(killed), "the rerun after a kill against an undisturbed load");
}

TEST(PostgresEndToEnd, InitAndDestroyTwiceLeaveNoSchemaAndNoRole) {
  Workspace workspace;
  Database database("cb_init_destroy");
  ASSERT_TRUE(database.ok());
  // Roles are the cluster's: start from none, whatever ran before.
  database.Sql("DROP ROLE IF EXISTS citybooks_reader");
  database.Sql("DROP ROLE IF EXISTS citybooks_loader");
  // A password in the URL (trust ignores it) and one for the reader: neither
  // may be printed.
  std::string url = database.url();
  url.replace(url.find(kOwner), std::strlen(kOwner), std::string(kOwner) + ":hunter2-url");
  const RunOptions secret{{}, {{"CITYBOOKS_READER_PASSWORD", "s3cret-reader"}}};
  auto expect_quiet = [](const ProcessResult& result) {
    ExpectSuccess(result);
    for (const std::string* text : {&result.out, &result.err}) {
      EXPECT_EQ(text->find("hunter2"), std::string::npos) << result.Describe();
      EXPECT_EQ(text->find("s3cret"), std::string::npos) << result.Describe();
    }
  };

  ProcessResult init = Citybooks(workspace, url, {"init"}, secret);
  expect_quiet(init);
  for (const char* line :
       {"created role citybooks_loader", "created role citybooks_reader",
        "set the password of citybooks_reader", "granted citybooks_loader to cb_owner",
        "schema sf_spending_revenue created", "schema phoenix_checkbook created"})
    EXPECT_NE(init.out.find(line), std::string::npos) << line << "\n" << init.Describe();
  EXPECT_NE(init.out.find(std::string(kOwner) + "@127.0.0.1"), std::string::npos)
      << init.Describe();
  EXPECT_EQ(database.Value("SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = "
                           "'citybooks_reader'"),
            "SCRAM-SHA-256$");

  ProcessResult again = Citybooks(workspace, url, {"init"}, secret);
  expect_quiet(again);
  EXPECT_EQ(again.out.find("created role"), std::string::npos) << again.Describe();
  EXPECT_NE(again.out.find("schema sf_spending_revenue was already there"), std::string::npos)
      << again.Describe();

  ProcessResult destroy = Citybooks(workspace, url, {"destroy", "--yes"});
  expect_quiet(destroy);
  for (const char* line : {"dropped schema sf_spending_revenue", "dropped schema phoenix_checkbook",
                           "dropped role citybooks_reader", "dropped role citybooks_loader"})
    EXPECT_NE(destroy.out.find(line), std::string::npos) << line << "\n" << destroy.Describe();
  ProcessResult destroy_again = Citybooks(workspace, url, {"destroy", "--yes"});
  expect_quiet(destroy_again);
  EXPECT_EQ(destroy_again.out.find("dropped"), std::string::npos) << destroy_again.Describe();

  EXPECT_EQ(database.Value("SELECT COUNT(*) FROM pg_namespace WHERE nspname IN "
                           "('sf_spending_revenue', 'phoenix_checkbook')"),
            "0");
  EXPECT_EQ(database.Value("SELECT COUNT(*) FROM pg_roles WHERE rolname LIKE 'citybooks\\_%'"),
            "0");
  ProcessResult query = Citybooks(workspace, url, {"query", "SELECT 1"});
  ExpectOneErrorLine(query, "citybooks init");
}

// Issue 4's whole setup: PostgreSQL for the warehouse and an S3 bucket for
// the raw zone. init twice, a pipeline run, destroy twice: no errors, and
// afterwards no schema, no role and no bucket that citybooks made remains.
TEST(PostgresEndToEnd, InitAndDestroyTwiceWithAnS3RawZoneLeaveNothingBehind) {
  Workspace workspace;
  Database database("cb_init_destroy_s3");
  ASSERT_TRUE(database.ok());
  database.Sql("DROP ROLE IF EXISTS citybooks_reader");
  database.Sql("DROP ROLE IF EXISTS citybooks_loader");
  auto s3 = citybooks::s3test::SharedS3Server();
  ASSERT_TRUE(s3.has_value()) << s3.error();
  const std::string bucket = "infra-" + std::to_string(getpid());
  WriteFile(workspace.dir() / "citybooks.toml", "[raw]\nurl = \"s3://" + bucket +
                                                    "/raw\"\nendpoint = \"" + (*s3)->endpoint() +
                                                    "\"\nregion = \"us-east-1\"\n");
  RunOptions options;
  options.cwd = workspace.dir();
  options.env = {{"AWS_ACCESS_KEY_ID", citybooks::s3test::S3Server::kAccessKeyId},
                 {"AWS_SECRET_ACCESS_KEY", citybooks::s3test::S3Server::kSecretAccessKey},
                 {"AWS_SESSION_TOKEN", ""},
                 {"AWS_REGION", ""}};
  auto run = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {CitybooksPath(), "--config",
                                     (workspace.dir() / "citybooks.toml").string(), "--warehouse",
                                     database.url()};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult result = RunProcess(argv, options);
    ExpectSuccess(result);
    EXPECT_EQ(result.err.find("error"), std::string::npos) << result.Describe();
    return result;
  };

  ProcessResult init = run({"init"});
  EXPECT_NE(init.out.find("created bucket '" + bucket + "'"), std::string::npos) << init.Describe();
  EXPECT_NE(init.out.find("created role citybooks_reader"), std::string::npos) << init.Describe();
  ProcessResult again = run({"init"});
  EXPECT_EQ(again.out.find("created"), std::string::npos) << again.Describe();

  fs::path file = workspace.dir() / "sf.csv";
  workspace.Generate(file, 2'000, 7, 0.05, 0.0);
  run({"ingest", kDataset, file.string()});
  run({"load", kDataset});
  EXPECT_EQ(database.Value("SELECT COUNT(*) FROM " + kFacts), "2000");
  EXPECT_TRUE(fs::is_directory((*s3)->data_dir() / bucket));

  ProcessResult destroy = run({"destroy", "--yes"});
  for (const std::string& line :
       {std::string("dropped schema sf_spending_revenue"), std::string("removed 1 raw snapshot"),
        "removed bucket '" + bucket + "'", std::string("dropped role citybooks_reader"),
        std::string("dropped role citybooks_loader")})
    EXPECT_NE(destroy.out.find(line), std::string::npos) << line << "\n" << destroy.Describe();
  ProcessResult destroy_again = run({"destroy", "--yes"});
  EXPECT_EQ(destroy_again.out.find("dropped"), std::string::npos) << destroy_again.Describe();
  EXPECT_EQ(destroy_again.out.find("removed bucket"), std::string::npos)
      << destroy_again.Describe();

  EXPECT_EQ(database.Value("SELECT COUNT(*) FROM pg_namespace WHERE nspname IN "
                           "('sf_spending_revenue', 'phoenix_checkbook')"),
            "0");
  EXPECT_EQ(database.Value("SELECT COUNT(*) FROM pg_roles WHERE rolname LIKE 'citybooks\\_%'"),
            "0");
  EXPECT_FALSE(fs::exists((*s3)->data_dir() / bucket));
}

}  // namespace
}  // namespace citybooks_e2e
