// The Warehouse contract: every backend must pass these tests unchanged.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "warehouse/warehouse.h"

namespace citybooks {
namespace {

namespace fs = std::filesystem;

struct Backend {
  std::string name;
  // Returns a URL for a fresh, empty warehouse.
  std::function<std::string()> fresh_url;
};

std::string FreshSqliteUrl() {
  static int counter = 0;
  fs::path dir = fs::temp_directory_path() /
                 ("cb-wh-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(dir);
  return "sqlite://" + (dir / "warehouse.db").string();
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

INSTANTIATE_TEST_SUITE_P(Backends, WarehouseContract,
                         ::testing::Values(Backend{"sqlite", FreshSqliteUrl}),
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
