// The Warehouse contract: every backend must pass these tests unchanged.
// PostgreSQL runs as a throwaway cluster (tests/postgres/pg_server.h),
// started once per test process on first use.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "pg_server.h"
#include "warehouse/warehouse.h"

namespace citybooks {
namespace {

namespace fs = std::filesystem;

struct Backend {
  std::string name;
  // Returns a URL for a fresh, empty warehouse.
  std::function<std::string()> fresh_url;
  // True when Provision creates roles (PostgreSQL) rather than nothing.
  bool has_roles = false;
};

std::string FreshSqliteUrl() {
  static int counter = 0;
  fs::path dir = fs::temp_directory_path() /
                 ("cb-wh-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(dir);
  return "sqlite://" + (dir / "warehouse.db").string();
}

std::unique_ptr<citybooks_test::PgServer>& SharedPostgres() {
  static std::unique_ptr<citybooks_test::PgServer> server;
  return server;
}

// Stops the cluster after the last test.
class StopPostgres : public ::testing::Environment {
 public:
  void TearDown() override { SharedPostgres().reset(); }
};
const ::testing::Environment* const kStopPostgres =
    ::testing::AddGlobalTestEnvironment(new StopPostgres);

// A new database of the shared cluster per test; the databases of earlier
// tests are dropped first, so Deprovision finds no schema elsewhere. Roles
// belong to the cluster and outlive the databases.
std::string FreshPostgresUrl() {
  static bool tried = false;
  static std::string error;
  if (!tried) {
    tried = true;
    SharedPostgres() = citybooks_test::PgServer::Start(&error);
  }
  citybooks_test::PgServer* server = SharedPostgres().get();
  if (server == nullptr) {
    ADD_FAILURE() << "cannot start PostgreSQL: " << error;
    return "";
  }
  static int counter = 0;
  static std::vector<std::string> databases;
  std::string failure;
  for (const std::string& name : databases)
    EXPECT_TRUE(server->DropDatabase(name, &failure)) << failure;
  databases.clear();
  std::string name = "cb_contract_" + std::to_string(counter++);
  if (!server->CreateDatabase(name, &failure)) {
    ADD_FAILURE() << failure;
    return "";
  }
  databases.push_back(name);
  return server->Url(name);
}

class WarehouseContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    url_ = GetParam().fresh_url();
    auto warehouse = OpenWarehouse(url_, {});
    ASSERT_TRUE(warehouse) << warehouse.error().message();
    warehouse_ = std::move(*warehouse);
    ASSERT_TRUE(warehouse_->EnsureSchema("ds", {Table()}));
  }

  static TableDef Table() {
    return TableDef{"facts",
                    {{"year", ColumnType::kInteger, true},
                     {"name", ColumnType::kText, false},
                     {"amount", ColumnType::kReal, false}},
                    {},
                    {{"year"}}};
  }

  int64_t Count() {
    auto result = warehouse_->Query("SELECT COUNT(*) FROM ds.facts");
    EXPECT_TRUE(result) << result.error().message();
    return result ? std::get<int64_t>(result->rows[0][0]) : -1;
  }

  Status LoadRows(int n) {
    CB_ASSIGN_OR_RETURN(auto load, warehouse_->BeginLoad("ds"));
    CB_ASSIGN_OR_RETURN(auto appender, load->Appender("facts", {"year", "name", "amount"}));
    for (int i = 0; i < n; ++i) {
      std::string name = "n" + std::to_string(i);  // the cell borrows it
      Cell row[] = {Cell::Int(2000 + i % 3), Cell::Text(name), Cell::Real(i)};
      CB_RETURN_IF_ERROR(appender->Append(row));
    }
    return load->Commit();
  }

  // Runs `sql` on `warehouse` and returns the integer it answers.
  static int64_t QueryInt(Warehouse& warehouse, const std::string& sql) {
    auto result = warehouse.Query(sql);
    EXPECT_TRUE(result) << sql << ": " << result.error().message();
    return result ? result->IntAt() : -1;
  }

  std::string url_;
  std::unique_ptr<Warehouse> warehouse_;
};

TEST_P(WarehouseContract, EnsureSchemaIsIdempotent) {
  EXPECT_TRUE(warehouse_->EnsureSchema("ds", {Table()}));
  auto has = warehouse_->HasSchema("ds");
  ASSERT_TRUE(has);
  EXPECT_TRUE(*has);
  EXPECT_FALSE(*warehouse_->HasSchema("other"));
}

TEST_P(WarehouseContract, CommittedLoadIsVisible) {
  ASSERT_TRUE(LoadRows(10));
  EXPECT_EQ(Count(), 10);
  auto reopened = OpenWarehouse(url_, {.read_only = true});
  ASSERT_TRUE(reopened) << reopened.error().message();
  auto result = (*reopened)->Query("SELECT name FROM ds.facts WHERE year = ? ORDER BY amount",
                                   std::vector<Cell>{Cell::Int(2001)});
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->rows.size(), 3u);
  EXPECT_EQ(ValueToString(result->rows[0][0]), "n1");
}

TEST_P(WarehouseContract, LoadWithoutCommitRollsBack) {
  ASSERT_TRUE(LoadRows(5));
  {
    auto load = warehouse_->BeginLoad("ds");
    ASSERT_TRUE(load);
    ASSERT_TRUE((*load)->Execute("DELETE FROM " + (*load)->Qualify("facts")));
    auto appender = (*load)->Appender("facts", {"year", "name", "amount"});
    ASSERT_TRUE(appender);
    Cell row[] = {Cell::Int(1), Cell::Text("x"), Cell::Null()};
    ASSERT_TRUE((*appender)->Append(row));
  }
  EXPECT_EQ(Count(), 5);
}

TEST_P(WarehouseContract, SecondLoadOfSameSchemaIsRefused) {
  auto first = warehouse_->BeginLoad("ds");
  ASSERT_TRUE(first);
  auto other = OpenWarehouse(url_, {});
  ASSERT_TRUE(other);
  auto second = (*other)->BeginLoad("ds");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(second.error().message().find("another load"), std::string::npos);
}

TEST_P(WarehouseContract, ReadOnlyRefusesWrites) {
  ASSERT_TRUE(LoadRows(3));
  auto reader = OpenWarehouse(url_, {.read_only = true});
  ASSERT_TRUE(reader) << reader.error().message();
  for (const char* sql :
       {"INSERT INTO ds.facts (year) VALUES (1)", "DROP TABLE ds.facts", "DELETE FROM ds.facts",
        "UPDATE ds.facts SET year = 0", "CREATE TABLE x (a)", "ATTACH DATABASE '/tmp/x.db' AS x",
        "PRAGMA ds.journal_mode=DELETE", "SELECT 1; DROP TABLE ds.facts",
        "SELECT 1; INSERT INTO ds.facts (year) VALUES (1)"}) {
    auto result = (*reader)->Query(sql);
    EXPECT_FALSE(result) << sql;  // NOLINT
    if (!result) {
      EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument) << sql;
    }
  }
  EXPECT_EQ(Count(), 3);
  EXPECT_FALSE((*reader)->BeginLoad("ds"));
}

TEST_P(WarehouseContract, QueryCapsRowsAndTime) {
  ASSERT_TRUE(LoadRows(50));
  auto capped = warehouse_->Query("SELECT * FROM ds.facts", {}, {.max_rows = 10});
  ASSERT_TRUE(capped);
  EXPECT_EQ(capped->rows.size(), 10u);
  EXPECT_TRUE(capped->truncated);
  auto slow = warehouse_->Query(
      "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT COUNT(*) FROM r", {},
      {.time_limit = std::chrono::milliseconds(200)});
  ASSERT_FALSE(slow);
  EXPECT_NE(slow.error().message().find("time limit"), std::string::npos);
}

TEST_P(WarehouseContract, DropSchemaRemovesEverything) {
  ASSERT_TRUE(LoadRows(3));
  ASSERT_TRUE(warehouse_->DropSchema("ds"));
  EXPECT_FALSE(*warehouse_->HasSchema("ds"));
  EXPECT_FALSE(warehouse_->Query("SELECT COUNT(*) FROM ds.facts"));
  EXPECT_TRUE(warehouse_->DropSchema("ds"));  // idempotent
}

TEST_P(WarehouseContract, BadSchemaNamesAreRefused) {
  EXPECT_FALSE(warehouse_->EnsureSchema("x\"; DROP", {Table()}));
  EXPECT_FALSE(warehouse_->BeginLoad("../etc"));
}

TEST_P(WarehouseContract, QueryEachStreamsRowsAndStopsAtTheCallbacksError) {
  // The query never ends: only an implementation that hands rows over as
  // they are read can return from it.
  std::vector<std::string> columns;
  int64_t seen = 0;
  std::promise<Status> done;
  std::future<Status> finished = done.get_future();
  std::thread worker([&] {
    done.set_value(warehouse_->QueryEach(
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
        "SELECT i AS n, 'x' AS label FROM r",
        {},
        [&](std::span<const Value> row) -> Status {
          if (row.size() != 2 || ValueToInt(row[0]) != seen + 1)
            return Fail(ErrorCode::kInternal, "row " + std::to_string(seen + 1) + " is wrong");
          if (++seen == 1000) return Fail(ErrorCode::kAborted, "enough rows");
          return Ok();
        },
        &columns));
  });
  if (finished.wait_for(std::chrono::seconds(120)) != std::future_status::ready) {
    std::fprintf(stderr,
                 "FAILED: QueryEach did not return from an endless query within 120 s, "
                 "so it does not stream rows\n");
    std::_Exit(1);  // the worker cannot be stopped
  }
  worker.join();
  Status status = finished.get();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), ErrorCode::kAborted);
  EXPECT_EQ(status.error().message(), "enough rows");
  EXPECT_EQ(seen, 1000);
  EXPECT_EQ(columns, (std::vector<std::string>{"n", "label"}));
  // The connection is usable after the stopped query.
  EXPECT_EQ(Count(), 0);
}

TEST_P(WarehouseContract, QueryEachGivesValuesAndColumnNames) {
  ASSERT_TRUE(LoadRows(6));
  std::vector<std::string> columns;
  std::vector<std::string> seen;
  ASSERT_TRUE(warehouse_->QueryEach(
      "SELECT year, name, amount FROM ds.facts WHERE year = ? ORDER BY amount",
      std::vector<Cell>{Cell::Int(2002)},
      [&](std::span<const Value> row) {
        seen.push_back(ValueToString(row[0]) + " " + ValueToString(row[1]) + " " +
                       ValueToString(row[2]));
        EXPECT_TRUE(std::holds_alternative<int64_t>(row[0]));
        EXPECT_TRUE(std::holds_alternative<std::string>(row[1]));
        EXPECT_TRUE(std::holds_alternative<double>(row[2]));
        return Ok();
      },
      &columns));
  EXPECT_EQ(columns, (std::vector<std::string>{"year", "name", "amount"}));
  EXPECT_EQ(seen, (std::vector<std::string>{"2002 n2 2", "2002 n5 5"}));
  columns.clear();
  int rows = 0;
  ASSERT_TRUE(warehouse_->QueryEach(
      "SELECT name, year FROM ds.facts WHERE year < 0", {},
      [&](std::span<const Value>) {
        ++rows;
        return Ok();
      },
      &columns));
  EXPECT_EQ(rows, 0);
  EXPECT_EQ(columns, (std::vector<std::string>{"name", "year"}));
}

TEST_P(WarehouseContract, SumsOfIntegersAreIntegersAndFractionsAreReal) {
  ASSERT_TRUE(LoadRows(10));
  auto result = warehouse_->Query(
      "SELECT SUM(year), COUNT(*), SUM(amount), SUM(year) / 2.0, MAX(name), '?' AS mark, ? AS "
      "value, ? AS label FROM ds.facts",
      std::vector<Cell>{Cell::Int(7), Cell::Text("it's")});
  ASSERT_TRUE(result) << result.error().message();
  const auto& row = result->rows.at(0);
  ASSERT_EQ(row.size(), 8u);
  EXPECT_EQ(row[0], Value(int64_t{20009}));  // 4 x 2000 + 3 x 2001 + 3 x 2002
  EXPECT_EQ(row[1], Value(int64_t{10}));
  EXPECT_EQ(row[2], Value(45.0));
  EXPECT_EQ(row[3], Value(10004.5));
  EXPECT_EQ(row[4], Value(std::string("n9")));
  EXPECT_EQ(row[5], Value(std::string("?")));
  EXPECT_EQ(row[6], Value(int64_t{7}));
  EXPECT_EQ(row[7], Value(std::string("it's")));
}

TEST_P(WarehouseContract, AppendedValuesSurviveEveryByte) {
  const std::vector<std::string> texts = {"",
                                          "tab\there",
                                          "new\nline",
                                          "cr\rand crlf\r\n",
                                          "back\\slash\\",
                                          "\\N",
                                          "quotes ' \" and ;?",
                                          "\xc3\xbc"
                                          "n"
                                          "\xc3\xaf"
                                          "c"
                                          "\xc3\xb8"
                                          "d"
                                          "\xc3\xa9 \xe2\x82\xac",
                                          std::string(100'000, 'x')};
  const std::vector<double> reals = {0.1, -2.5e-300, 1e300, 123456789.12345678, -0.0, 1.0 / 3};
  {
    auto load = warehouse_->BeginLoad("ds");
    ASSERT_TRUE(load) << load.error().message();
    auto appender = (*load)->Appender("facts", {"year", "name", "amount"});
    ASSERT_TRUE(appender);
    for (size_t i = 0; i < texts.size(); ++i) {
      Cell row[] = {Cell::Int(static_cast<int64_t>(i)), Cell::Text(texts[i]),
                    Cell::Real(reals[i % reals.size()])};
      ASSERT_TRUE((*appender)->Append(row));
    }
    Cell nulls[] = {Cell::Int(INT64_MAX), Cell::Null(), Cell::Null()};
    ASSERT_TRUE((*appender)->Append(nulls));
    Cell smallest[] = {Cell::Int(INT64_MIN), Cell::Text("min"), Cell::Real(0)};
    ASSERT_TRUE((*appender)->Append(smallest));
    ASSERT_TRUE((*load)->Commit());
  }
  auto result = warehouse_->Query("SELECT year, name, amount FROM ds.facts ORDER BY year");
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->rows.size(), texts.size() + 2);
  EXPECT_EQ(result->rows[0][0], Value(INT64_MIN));
  EXPECT_EQ(result->rows[0][1], Value(std::string("min")));
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& row = result->rows[i + 1];
    EXPECT_EQ(row[0], Value(static_cast<int64_t>(i)));
    EXPECT_EQ(row[1], Value(texts[i])) << "text " << i;
    EXPECT_EQ(row[2], Value(reals[i % reals.size()])) << "real " << i;
  }
  const auto& last = result->rows.back();
  EXPECT_EQ(last[0], Value(INT64_MAX));
  EXPECT_EQ(last[1], Value()) << "NULL stays NULL, not empty text";
  EXPECT_EQ(last[2], Value());
}

TEST_P(WarehouseContract, InterleavedAppendersLandEveryRowAndAreVisibleInsideTheLoad) {
  TableDef notes{
      "notes", {{"id", ColumnType::kInteger, true}, {"note", ColumnType::kText}}, {"id"}, {}};
  ASSERT_TRUE(warehouse_->EnsureSchema("ds", {Table(), notes}));
  // More than any one buffer holds, so rows of both tables reach the
  // warehouse while the other table is being appended to.
  constexpr int kRows = 300'000;
  const std::string filler(80, 'n');
  {
    auto load = warehouse_->BeginLoad("ds");
    ASSERT_TRUE(load) << load.error().message();
    auto facts = (*load)->Appender("facts", {"year", "name", "amount"});
    auto more = (*load)->Appender("notes", {"id", "note"});
    ASSERT_TRUE(facts && more);
    for (int i = 0; i < kRows; ++i) {
      std::string name = "f" + std::to_string(i);
      Cell fact[] = {Cell::Int(i % 7), Cell::Text(name), Cell::Real(i)};
      ASSERT_TRUE((*facts)->Append(fact));
      Cell note[] = {Cell::Int(i), Cell::Text(filler)};
      ASSERT_TRUE((*more)->Append(note));
    }
    auto inside = (*load)->Query("SELECT COUNT(*), SUM(year) FROM " + (*load)->Qualify("facts"));
    ASSERT_TRUE(inside) << inside.error().message();
    EXPECT_EQ(inside->IntAt(0, 0), kRows);
    auto notes_inside = (*load)->Query("SELECT COUNT(*) FROM " + (*load)->Qualify("notes"));
    ASSERT_TRUE(notes_inside) << notes_inside.error().message();
    EXPECT_EQ(notes_inside->IntAt(), kRows);
    Cell late[] = {Cell::Int(kRows), Cell::Text("last")};
    ASSERT_TRUE((*more)->Append(late));
    ASSERT_TRUE((*more)->Flush());
    auto flushed = (*load)->Query("SELECT note FROM " + (*load)->Qualify("notes") + " WHERE id = ?",
                                  std::vector<Cell>{Cell::Int(kRows)});
    ASSERT_TRUE(flushed) << flushed.error().message();
    ASSERT_EQ(flushed->rows.size(), 1u);
    ASSERT_TRUE((*load)->Commit());
  }
  EXPECT_EQ(Count(), kRows);
  EXPECT_EQ(QueryInt(*warehouse_, "SELECT COUNT(*) FROM ds.notes"), kRows + 1);
  EXPECT_EQ(QueryInt(*warehouse_, "SELECT SUM(year) FROM ds.facts"), [] {
    int64_t sum = 0;
    for (int i = 0; i < kRows; ++i) sum += i % 7;
    return sum;
  }());
}

TEST_P(WarehouseContract, AppenderWritesIntoATableOfOtherColumnTypes) {
  {
    auto load = warehouse_->BeginLoad("ds");
    ASSERT_TRUE(load) << load.error().message();
    ASSERT_TRUE((*load)->Execute("CREATE TABLE " + (*load)->Qualify("extra") +
                                 " (id INTEGER, day DATE, note VARCHAR(20), share REAL)"));
    auto appender = (*load)->Appender("extra", {"id", "day", "note", "share"});
    ASSERT_TRUE(appender) << appender.error().message();
    Cell first[] = {Cell::Int(1), Cell::Text("2024-01-31"), Cell::Text("tab\there"),
                    Cell::Real(0.5)};
    Cell second[] = {Cell::Int(2), Cell::Null(), Cell::Text("\\N"), Cell::Int(3)};
    ASSERT_TRUE((*appender)->Append(first));
    ASSERT_TRUE((*appender)->Append(second));
    appender->reset();
    ASSERT_TRUE((*load)->Commit());
  }
  auto result = warehouse_->Query("SELECT id, day, note, share FROM ds.extra ORDER BY id");
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->rows.size(), 2u);
  EXPECT_EQ(result->rows[0][0], Value(int64_t{1}));
  EXPECT_EQ(result->rows[0][1], Value(std::string("2024-01-31")));
  EXPECT_EQ(result->rows[0][2], Value(std::string("tab\there")));
  EXPECT_EQ(result->rows[0][3], Value(0.5));
  EXPECT_EQ(result->rows[1][1], Value());
  EXPECT_EQ(result->rows[1][2], Value(std::string("\\N")));
  EXPECT_EQ(result->rows[1][3], Value(3.0));
}

TEST_P(WarehouseContract, FailedAppendFailsTheCommitAndChangesNothing) {
  ASSERT_TRUE(LoadRows(4));
  {
    auto load = warehouse_->BeginLoad("ds");
    ASSERT_TRUE(load);
    ASSERT_TRUE((*load)->Execute("DELETE FROM " + (*load)->Qualify("facts")));
    auto appender = (*load)->Appender("facts", {"year", "name", "amount"});
    ASSERT_TRUE(appender);
    Cell bad[] = {Cell::Null(), Cell::Text("year is NOT NULL"), Cell::Real(1)};
    (void)(*appender)->Append(bad);  // may fail now or later
    appender->reset();
    EXPECT_FALSE((*load)->Commit());
  }
  EXPECT_EQ(Count(), 4);
  ASSERT_TRUE(LoadRows(2));  // the lock and the connection were given back
  EXPECT_EQ(Count(), 6);
}

TEST_P(WarehouseContract, LoadLockIsFreedWhenTheLoadEnds) {
  auto other = OpenWarehouse(url_, {});
  ASSERT_TRUE(other) << other.error().message();
  {
    auto first = warehouse_->BeginLoad("ds");
    ASSERT_TRUE(first) << first.error().message();
    auto second = (*other)->BeginLoad("ds");
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(second.error().message().find("ds"), std::string::npos) << second.error().message();
  }
  // Rolled back: free at once.
  auto third = (*other)->BeginLoad("ds");
  ASSERT_TRUE(third) << third.error().message();
  ASSERT_TRUE((*third)->Commit());
  third->reset();
  // Committed: free too.
  auto fourth = warehouse_->BeginLoad("ds");
  ASSERT_TRUE(fourth) << fourth.error().message();
}

TEST_P(WarehouseContract, ReaderRefusesSessionTricksAndCopy) {
  ASSERT_TRUE(LoadRows(3));
  auto reader = OpenWarehouse(url_, {.read_only = true});
  ASSERT_TRUE(reader) << reader.error().message();
  const fs::path marker = fs::temp_directory_path() / ("cb-copy-" + std::to_string(getpid()));
  fs::remove(marker);
  for (const std::string& sql : std::vector<std::string>{
           "COPY (SELECT 1) TO PROGRAM 'touch " + marker.string() + "'",
           "COPY ds.facts FROM '/etc/hostname'",
           "SET ROLE citybooks_loader",
           "RESET ROLE",
           "SET default_transaction_read_only = off",
           "BEGIN",
           "COMMIT",
           "SELECT 1; COMMIT",
           "SELECT 1 /* ; */; DELETE FROM ds.facts",
           "WITH gone AS (DELETE FROM ds.facts RETURNING year) SELECT COUNT(*) FROM gone",
           "SELECT * INTO ds.copied FROM ds.facts",
           "CREATE TEMP TABLE scratch AS SELECT 1",
       }) {
    auto result = (*reader)->Query(sql);
    EXPECT_FALSE(result) << sql;  // NOLINT
    if (!result) {
      EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument) << sql;
    }
  }
  EXPECT_FALSE(fs::exists(marker));
  // Turning read-only off from inside a query lasts no longer than the query.
  (void)(*reader)->Query("SELECT set_config('default_transaction_read_only', 'off', false)");
  for (const char* sql : {"DELETE FROM ds.facts", "INSERT INTO ds.facts (year) VALUES (1)"}) {
    auto result = (*reader)->Query(sql);
    ASSERT_FALSE(result) << sql;
    EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument) << sql;
  }
  auto each = (*reader)->QueryEach(
      "DELETE FROM ds.facts", {}, [](std::span<const Value>) { return Ok(); }, nullptr);
  ASSERT_FALSE(each);
  EXPECT_EQ(each.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Count(), 3);
  auto still = (*reader)->Query("SELECT COUNT(*) FROM ds.facts");
  ASSERT_TRUE(still) << still.error().message();
  EXPECT_EQ(still->IntAt(), 3);
  EXPECT_FALSE((*reader)->DropSchema("ds"));
  std::vector<std::string> report;
  EXPECT_FALSE((*reader)->Deprovision(report));
}

TEST_P(WarehouseContract, ReaderHonoursRowCapAndTimeLimit) {
  ASSERT_TRUE(LoadRows(50));
  auto reader = OpenWarehouse(url_, {.read_only = true});
  ASSERT_TRUE(reader) << reader.error().message();
  auto capped = (*reader)->Query("SELECT * FROM ds.facts ORDER BY amount", {}, {.max_rows = 7});
  ASSERT_TRUE(capped) << capped.error().message();
  EXPECT_EQ(capped->rows.size(), 7u);
  EXPECT_TRUE(capped->truncated);
  auto whole = (*reader)->Query("SELECT * FROM ds.facts", {}, {.max_rows = 50});
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->rows.size(), 50u);
  EXPECT_FALSE(whole->truncated);
  auto slow = (*reader)->Query(
      "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT COUNT(*) FROM r", {},
      {.time_limit = std::chrono::milliseconds(200)});
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code(), ErrorCode::kAborted);
  EXPECT_NE(slow.error().message().find("time limit"), std::string::npos);
  // The next query on the same connection runs normally.
  auto after = (*reader)->Query("SELECT COUNT(*) FROM ds.facts");
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(after->IntAt(), 50);
}

TEST_P(WarehouseContract, ProvisionAndDeprovisionAreIdempotent) {
  const bool roles = GetParam().has_roles;
  const std::string count_roles =
      "SELECT COUNT(*) FROM pg_catalog.pg_roles WHERE rolname IN ('citybooks_loader', "
      "'citybooks_reader')";
  std::vector<std::string> first, second;
  ASSERT_TRUE(warehouse_->Provision(first));
  ASSERT_TRUE(warehouse_->Provision(second));
  EXPECT_TRUE(second.empty()) << second.front();
  if (roles) {
    EXPECT_EQ(QueryInt(*warehouse_, count_roles), 2);
  }

  std::vector<std::string> report;
  auto refused = warehouse_->Deprovision(report);
  ASSERT_FALSE(refused) << "a dataset schema is left";
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("ds"), std::string::npos) << refused.error().message();

  ASSERT_TRUE(warehouse_->DropSchema("ds"));
  report.clear();
  auto removed = warehouse_->Deprovision(report);
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_FALSE(report.empty());
  warehouse_.reset();

  auto again = OpenWarehouse(url_, {});
  ASSERT_TRUE(again) << again.error().message();
  if (roles) {
    EXPECT_EQ(QueryInt(**again, count_roles), 0);
    std::vector<std::string> nothing;
    ASSERT_TRUE((*again)->Deprovision(nothing));
    EXPECT_TRUE(nothing.empty()) << nothing.front();
    again = OpenWarehouse(url_, {});
    ASSERT_TRUE(again);
    std::vector<std::string> created;
    ASSERT_TRUE((*again)->Provision(created));
    EXPECT_EQ(created.size(), 3u) << "both roles and the loader's membership";
    EXPECT_EQ(QueryInt(**again, count_roles), 2);
  } else {
    std::vector<std::string> repeat;
    ASSERT_TRUE((*again)->Deprovision(repeat));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, WarehouseContract,
                         ::testing::Values(Backend{"sqlite", FreshSqliteUrl, false},
                                           Backend{"postgresql", FreshPostgresUrl, true}),
                         [](const auto& info) { return info.param.name; });

TEST(OpenWarehouse, UnknownSchemeIsAUsageError) {
  auto warehouse = OpenWarehouse("mysql://x", {});
  ASSERT_FALSE(warehouse);
  EXPECT_EQ(warehouse.error().exit_status(), 2);
}

TEST(OpenWarehouse, ReadOnlyOnMissingWarehouseSaysWhatToDo) {
  auto warehouse = OpenWarehouse("sqlite:///nonexistent/dir/wh.db", {.read_only = true});
  ASSERT_FALSE(warehouse);
  EXPECT_NE(warehouse.error().message().find("citybooks load"), std::string::npos);
}

}  // namespace
}  // namespace citybooks
