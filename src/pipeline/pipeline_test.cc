// Pipeline invariants checked through the library API on a memory raw zone and
// a temporary SQLite warehouse.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "conform/mapping.h"
#include "pipeline/star_schema.h"
#include "store/object_store.h"

namespace citybooks {
namespace {

namespace fs = std::filesystem;

const char kHeader[] =
    "fiscal_year,revenue_or_spending,related_govt_units,organization_group_code,"
    "organization_group,department_code,department,program_code,program,character_code,"
    "character,object_code,object,sub_object_code,sub_object,fund_type_code,fund_type,"
    "fund_code,fund,fund_category_code,fund_category,amount,data_as_of,data_loaded_at\n";

std::string Row(int year, const std::string& finance, const std::string& department,
                const std::string& department_code, const std::string& character,
                const std::string& amount) {
  return std::to_string(year) + "," + finance + ",No,1,Public Protection," + department_code + "," +
         department + ",P1,Patrol," + "410," + character +
         ",411,Taxes Obj,411100,Taxes Sub,1G,General Fund,1GAGF,General Fund,0.0,Operating," +
         amount + ",2023/01/01,2023/01/02\n";
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cb-pipeline-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = NewMemoryObjectStore();
    raw_ = std::make_unique<RawZone>(store_.get());
    auto warehouse = OpenWarehouse("sqlite://" + (dir_ / "wh.db").string(), {});
    ASSERT_TRUE(warehouse) << warehouse.error().message();
    warehouse_ = std::move(*warehouse);
    auto config = LoadConfig({}, [](const std::string&) { return std::nullopt; });
    ASSERT_TRUE(config);
    config_ = *config;
    context_.config = &config_;
    context_.raw = raw_.get();
    context_.warehouse = warehouse_.get();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void IngestAndLoad(const std::string& name, const std::string& csv) {
    IngestAndLoadDataset("sf-spending-revenue", name, csv);
  }

  void IngestAndLoadDataset(const std::string& dataset, const std::string& name,
                            const std::string& csv) {
    fs::path file = dir_ / name;
    {
      std::ofstream out(file, std::ios::binary);
      out << csv;
    }
    auto ingested = Ingest(context_, dataset, {file.string()});
    ASSERT_TRUE(ingested) << ingested.error().message();
    auto loaded = Load(context_, dataset);
    ASSERT_TRUE(loaded) << loaded.error().message();
  }

  std::vector<std::vector<std::string>> Rows(const std::string& sql) {
    auto result = warehouse_->Query(sql);
    EXPECT_TRUE(result) << result.error().message() << "\n" << sql;
    std::vector<std::vector<std::string>> rows;
    if (!result) return rows;
    for (const auto& row : result->rows) {
      std::vector<std::string> text;
      for (const Value& value : row) text.push_back(ValueToString(value));
      rows.push_back(std::move(text));
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  // Every aggregate table equals the same aggregate computed from the facts.
  void ExpectAggregatesMatchFacts() {
    auto mapping = LoadMapping(config_.datasets.at("sf-spending-revenue").mapping);
    ASSERT_TRUE(mapping);
    auto qualify = [](const std::string& table) { return "sf_spending_revenue." + table; };
    for (const AggregateSpec& aggregate : mapping->aggregates) {
      SqlWithParams select = AggregateSelectSql(*mapping, aggregate, "", qualify);
      std::string sql = select.sql;
      for (const std::string& param : select.params) {
        size_t at = sql.find('?');
        sql.replace(at, 1, "'" + param + "'");
      }
      std::string columns;
      for (const std::string& column : aggregate.group_by) columns += "\"" + column + "\", ";
      if (aggregate.histogram)
        columns += "bucket, bucket_label, bucket_lower_cents, bucket_upper_cents, ";
      columns += "transactions, amount, amount_cents, max_amount_cents, min_amount_cents";
      EXPECT_EQ(Rows("SELECT " + columns + " FROM " + qualify(aggregate.table())), Rows(sql))
          << aggregate.name;
    }
  }

  fs::path dir_;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<RawZone> raw_;
  std::unique_ptr<Warehouse> warehouse_;
  Config config_;
  PipelineContext context_;
};

TEST_F(PipelineTest, AggregatesFromStreamingEqualAggregatesFromFacts) {
  IngestAndLoad("a.csv",
                std::string(kHeader) +
                    Row(2020, "Revenue", "POL Police", "POL", "Property Taxes", "100.25") +
                    Row(2020, "Spending", "POL Police", "POL", "Salaries", "-5.00") +
                    Row(2021, "Revenue", "FIR Fire", "FIR", "Property Taxes", "123456789.99"));
  ExpectAggregatesMatchFacts();
}

TEST_F(PipelineTest, LaterLoadsKeepDecidedSpellingsAndCodesAndAggregatesFollowFacts) {
  IngestAndLoad("a.csv", std::string(kHeader) +
                             Row(2019, "Revenue", "POL Police", "POL", "Property Taxes", "1.00") +
                             Row(2020, "Revenue", "POL Police", "POL", "Property Taxes", "2.00"));
  // 2020 again, spelled in capitals and with another code: the department
  // keeps the spelling and code the first load decided, the other code is
  // recorded as a remap, and 2019 is untouched.
  IngestAndLoad("b.csv", std::string(kHeader) +
                             Row(2020, "Revenue", "POL POLICE", "PD", "Property Taxes", "3.00") +
                             Row(2020, "Revenue", "POL POLICE", "PD", "Property Taxes", "4.00"));
  EXPECT_EQ(Rows("SELECT DISTINCT department, department_code FROM "
                 "sf_spending_revenue.dim_program"),
            (std::vector<std::vector<std::string>>{{"POL Police", "POL"}}));
  EXPECT_EQ(Rows("SELECT level, from_code, to_code, rows FROM sf_spending_revenue.cb_code_remaps"),
            (std::vector<std::vector<std::string>>{{"department", "PD", "POL", "2"}}));
  ExpectAggregatesMatchFacts();
  auto years = Rows(
      "SELECT fiscal_year, COUNT(*), SUM(amount_cents) FROM sf_spending_revenue.fact_transaction "
      "GROUP BY 1");
  EXPECT_EQ(years,
            (std::vector<std::vector<std::string>>{{"2019", "1", "100"}, {"2020", "2", "700"}}));
}

TEST_F(PipelineTest, ChangedAttributeOfAnExistingMemberRebuildsTheAggregatesReadingIt) {
  // The SF mapping plus an aggregate grouped by the program's attribute.
  auto text = [] {
    std::ifstream in(std::string(CITYBOOKS_SOURCE_DIR) +
                     "/src/conform/mappings/sf-spending-revenue.toml");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  }();
  text +=
      "\n[[aggregates]]\nname = \"related\"\n"
      "group_by = [\"fiscal_year\", \"related_govt_units\"]\n";
  fs::path mapping = dir_ / "mapping.toml";
  {
    std::ofstream out(mapping, std::ios::binary);
    out << text;
  }
  config_.datasets.at("sf-spending-revenue").mapping = mapping.string();

  IngestAndLoad("a.csv", std::string(kHeader) +
                             Row(2019, "Revenue", "POL Police", "POL", "Property Taxes", "1.00"));
  std::string b =
      std::string(kHeader) + Row(2020, "Revenue", "POL Police", "POL", "Property Taxes", "2.00");
  // related_govt_units is the third field: No -> Yes for the same member, so
  // 2019's row of agg_related must change although 2019 was not loaded.
  b.replace(b.find(",No,"), 4, ",Yes,");
  IngestAndLoad("b.csv", b);
  EXPECT_EQ(Rows("SELECT related_govt_units FROM sf_spending_revenue.dim_program"),
            (std::vector<std::vector<std::string>>{{"Yes"}}));
  EXPECT_EQ(Rows("SELECT fiscal_year, related_govt_units FROM sf_spending_revenue.agg_related"),
            (std::vector<std::vector<std::string>>{{"2019", "Yes"}, {"2020", "Yes"}}));
  ExpectAggregatesMatchFacts();
}

TEST_F(PipelineTest, ANewSnapshotReplacesOnlyThePartitionsThatChanged) {
  std::string y2019 = Row(2019, "Revenue", "POL Police", "POL", "Property Taxes", "1.00");
  IngestAndLoad("a.csv", std::string(kHeader) + y2019 +
                             Row(2020, "Revenue", "POL Police", "POL", "Property Taxes", "2.00"));
  // The same 2019, a changed 2020: only 2020 is replaced; 2019 keeps the
  // facts (and run id) of the first load.
  fs::path file = dir_ / "b.csv";
  {
    std::ofstream out(file, std::ios::binary);
    out << kHeader << y2019 << Row(2020, "Revenue", "POL Police", "POL", "Property Taxes", "7.00");
  }
  ASSERT_TRUE(Ingest(context_, "sf-spending-revenue", {file.string()}));
  auto loaded = Load(context_, "sf-spending-revenue");
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].partitions, (std::vector<int64_t>{2019, 2020}));
  EXPECT_EQ((*loaded)[0].unchanged_partitions, (std::vector<int64_t>{2019}));
  EXPECT_EQ(Rows("SELECT fiscal_year, amount_cents, run_id FROM "
                 "sf_spending_revenue.fact_transaction"),
            (std::vector<std::vector<std::string>>{{"2019", "100", "1"}, {"2020", "700", "2"}}));
  ExpectAggregatesMatchFacts();
  for (const CheckResult& check : (*loaded)[0].checks) EXPECT_TRUE(check.passed) << check.name;
}

TEST_F(PipelineTest, AFailedCheckRollsTheLoadBackAndRecordsAFailedRun) {
  // A finance value outside the accepted ones fails an error-severity check.
  IngestAndLoad("a.csv", std::string(kHeader) +
                             Row(2020, "Revenue", "POL Police", "POL", "Property Taxes", "1.00"));
  fs::path file = dir_ / "b.csv";
  {
    std::ofstream out(file, std::ios::binary);
    out << kHeader << Row(2020, "Refund", "POL Police", "POL", "Property Taxes", "9.00");
  }
  ASSERT_TRUE(Ingest(context_, "sf-spending-revenue", {file.string()}));
  auto loaded = Load(context_, "sf-spending-revenue");
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), ErrorCode::kCheckFailed);
  EXPECT_NE(loaded.error().message().find("accepted_values"), std::string::npos)
      << loaded.error().message();
  EXPECT_EQ(Rows("SELECT SUM(amount_cents) FROM sf_spending_revenue.fact_transaction"),
            (std::vector<std::vector<std::string>>{{"100"}}));
  EXPECT_EQ(Rows("SELECT status FROM sf_spending_revenue.cb_runs ORDER BY run_id"),
            (std::vector<std::vector<std::string>>{{"failed"}, {"succeeded"}}));
  EXPECT_EQ(Rows("SELECT COUNT(*) FROM sf_spending_revenue.cb_quality WHERE status = 'fail'"),
            (std::vector<std::vector<std::string>>{{"1"}}));
}

TEST_F(PipelineTest, RealPhoenixRowsLoadWithExactDatesCentsAndVendorKeys) {
  std::ifstream in(std::string(CITYBOOKS_SOURCE_DIR) + "/data/reference/phoenix/sample_rows.csv",
                   std::ios::binary);
  std::stringstream csv;
  csv << in.rdbuf();
  fs::path file = dir_ / "jul-2021.csv";
  {
    std::ofstream out(file, std::ios::binary);
    out << csv.str();
  }
  auto ingested = Ingest(context_, "phoenix-checkbook", {file.string()});
  ASSERT_TRUE(ingested) << ingested.error().message();
  auto loaded = Load(context_, "phoenix-checkbook");
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].accounting.rows_read, 7);
  EXPECT_EQ((*loaded)[0].accounting.rows_loaded, 7);
  EXPECT_EQ((*loaded)[0].partitions, (std::vector<int64_t>{202201}));
  for (const CheckResult& check : (*loaded)[0].checks) EXPECT_TRUE(check.passed) << check.name;
  EXPECT_EQ(Rows("SELECT f.payment_date, f.fiscal_year, f.fiscal_month, d.department, "
                 "v.vendor, v.vendor_key, i.item, f.amount_cents "
                 "FROM phoenix_checkbook.fact_payment f "
                 "JOIN phoenix_checkbook.dim_department d ON d.department_id = f.department_id "
                 "JOIN phoenix_checkbook.dim_vendor v ON v.vendor_id = f.vendor_id "
                 "JOIN phoenix_checkbook.dim_item i ON i.item_id = f.item_id"),
            (std::vector<std::vector<std::string>>{
                {"2021-07-14", "2022", "1", "Police", "21ST CENTURY POLICING LLC",
                 "21ST CENTURY POLICING", "Cons/Other Prof Svcs", "1104125"},
                {"2021-07-14", "2022", "1", "Police", "21ST CENTURY POLICING LLC",
                 "21ST CENTURY POLICING", "Cons/Other Prof Svcs", "25499"},
                {"2021-07-14", "2022", "1", "Police", "21ST CENTURY POLICING LLC",
                 "21ST CENTURY POLICING", "Cons/Other Prof Svcs", "2767875"},
                {"2021-07-27", "2022", "1", "Aviation", "22ND CENTURY TECHNOLOGIES INC",
                 "22ND CENTURY TECHNOLOGIES", "Tech Supp Maint/Rep", "1360800"},
                {"2021-07-27", "2022", "1", "Aviation", "22ND CENTURY TECHNOLOGIES INC",
                 "22ND CENTURY TECHNOLOGIES", "Tech Supp Maint/Rep", "1379856"},
                {"2021-07-27", "2022", "1", "Aviation", "22ND CENTURY TECHNOLOGIES INC",
                 "22ND CENTURY TECHNOLOGIES", "Tech Supp Maint/Rep", "607200"},
                {"2021-07-27", "2022", "1", "Aviation", "22ND CENTURY TECHNOLOGIES INC",
                 "22ND CENTURY TECHNOLOGIES", "Tech Supp Maint/Rep", "754800"},
            }));
  // Every view answers the same from aggregates as from facts.
  auto mapping = LoadMapping("phoenix-checkbook");
  ASSERT_TRUE(mapping);
  ASSERT_EQ(mapping->views.size(), 3u);
  for (const ViewSpec& view : mapping->views)
    EXPECT_EQ(Rows(view.Sql("phoenix_checkbook")), Rows(view.SqlFromFacts("phoenix_checkbook")))
        << view.name;
}

TEST_F(PipelineTest, AMonthlyFileReplacesOnlyItsFiscalMonth) {
  const std::string header =
      "Check/Payment Date,Dept. Descrptn,Vendor Name,Commitmt Item Name,Invoice Net Amt\n";
  IngestAndLoadDataset("phoenix-checkbook", "jul.csv",
                       header + "7/1/2021,Police,ACME INC,Supplies,\"1,000.00\"\n");
  IngestAndLoadDataset("phoenix-checkbook", "aug.csv",
                       header + "8/2/2021,Police,\"Acme, Inc.\",Supplies,$5.00\n");
  EXPECT_EQ(Rows("SELECT COUNT(*), SUM(amount_cents) FROM phoenix_checkbook.fact_payment"),
            (std::vector<std::vector<std::string>>{{"2", "100500"}}));
  // August again, corrected: July stays, August is replaced.
  IngestAndLoadDataset("phoenix-checkbook", "aug.csv",
                       header + "8/3/2021,Fire,\"Acme, Inc.\",Supplies,(2.50)\n");
  EXPECT_EQ(
      Rows("SELECT payment_date, amount_cents FROM phoenix_checkbook.fact_payment"),
      (std::vector<std::vector<std::string>>{{"2021-07-01", "100000"}, {"2021-08-03", "-250"}}));
  EXPECT_EQ(Rows("SELECT vendor_key FROM phoenix_checkbook.dim_vendor"),
            (std::vector<std::vector<std::string>>{{"ACME"}}));
}

}  // namespace
}  // namespace citybooks
