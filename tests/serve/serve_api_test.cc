// `citybooks serve` end to end: the real binary serving a warehouse that
// `gen`, `ingest` and `load` built in a temp folder, asked over HTTP on
// 127.0.0.1 and checked against SQL run straight on the SQLite files: babbage
// aggregates equal the facts on both cities, the overview views equal their
// fact-table versions (also under `citybooks demo`), hostile parameters are
// refused with the parameter named and change nothing, SQL is read-only and
// capped, CSV variants hold the JSON's rows, the token guards the API, and
// /metrics counts what it answered.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "e2e_support.h"
#include "serve_support.h"

namespace citybooks_e2e {
namespace {

using nlohmann::json;

constexpr char kPhoenix[] = "phoenix-checkbook";
constexpr int64_t kSfRows = 12000;
constexpr int64_t kPhoenixRows = 4000;

// Rows of `sql` run on the SQLite file `db` (read-only), as JSON arrays.
json SqlRows(const fs::path& db, const std::string& sql) {
  json rows = json::array();
  sqlite3* handle = nullptr;
  std::string uri = "file:" + db.string() + "?mode=ro";
  if (sqlite3_open_v2(uri.c_str(), &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) !=
      SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << db;
    sqlite3_close(handle);
    return rows;
  }
  sqlite3_busy_timeout(handle, 10000);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(handle);
    sqlite3_close(handle);
    return rows;
  }
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    json row = json::array();
    for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER:
          row.push_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
          break;
        case SQLITE_FLOAT:
          row.push_back(sqlite3_column_double(stmt, c));
          break;
        case SQLITE_NULL:
          row.push_back(nullptr);
          break;
        default:
          row.push_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, c))));
      }
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(handle);
  return rows;
}

// A value as a key part: strings as they are, numbers as integers.
std::string KeyPart(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return std::to_string(value.get<int64_t>());
  return value.dump();
}

int64_t Cents(const json& dollars) {
  return static_cast<int64_t>(std::llround(dollars.get<double>() * 100));
}

// (sum in cents, count) per cell, keyed by the drilldown values joined by '|'.
using CellTotals = std::map<std::string, std::pair<int64_t, int64_t>>;

CellTotals ApiCells(const json& answer, const std::vector<std::string>& refs) {
  CellTotals cells;
  for (const json& cell : answer["cells"]) {
    std::string key;
    for (const std::string& ref : refs) key += KeyPart(cell[ref]) + "|";
    cells[key] = {Cents(cell["amount.sum"]), cell["_count"].get<int64_t>()};
  }
  return cells;
}

// The same from SQL whose rows are the drilldown values, SUM(amount_cents), COUNT(*).
CellTotals SqlCells(const json& rows, size_t refs) {
  CellTotals cells;
  for (const json& row : rows) {
    std::string key;
    for (size_t i = 0; i < refs; ++i) key += KeyPart(row[i]) + "|";
    cells[key] = {row[refs].get<int64_t>(), row[refs + 1].get<int64_t>()};
  }
  return cells;
}

// A workspace with both cities generated, ingested and loaded, and
// `citybooks serve` on a port it picked.
class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_.Generate(workspace_.dir() / "sf.csv", kSfRows, 7, 0.05, 0.0);
    workspace_.IngestAndLoad(workspace_.dir() / "sf.csv");
    fs::path phoenix = workspace_.dir() / "phoenix.csv";
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"gen", "phoenix", "--rows", std::to_string(kPhoenixRows),
                                   "--out", phoenix.string(), "--seed", "5"},
          std::vector<std::string>{"ingest", kPhoenix, phoenix.string()},
          std::vector<std::string>{"load", kPhoenix}}) {
      ProcessResult result = workspace_.Citybooks(args);
      ASSERT_TRUE(result.exited && result.exit_status == 0) << result.Describe();
    }
  }

  std::vector<std::string> Args(const std::vector<std::string>& command) const {
    std::vector<std::string> argv = {CitybooksPath(), "--raw",
                                     "file://" + workspace_.raw_dir().string(), "--warehouse",
                                     "sqlite://" + workspace_.warehouse_file().string()};
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }

  void StartServer(const std::vector<std::pair<std::string, std::string>>& env = {}) {
    ASSERT_TRUE(server_.Start(Args({"serve", "--port", "0"}), workspace_.dir(), env));
  }

  fs::path Db(const std::string& schema) const {
    return workspace_.warehouse_file().parent_path() / (schema + ".db");
  }
  fs::path SfDb() const { return Db(kSchema); }
  fs::path PhoenixDb() const { return Db("phoenix_checkbook"); }

  json GetJson(const std::string& target, int status = 200) {
    HttpReply reply = server_.Get(target);
    EXPECT_EQ(reply.status, status) << target << "\n" << reply.body.substr(0, 1000);
    return reply.Json();
  }

  Workspace workspace_;
  ServeProcess server_;
};

std::string Cube(const std::string& dataset) { return "/api/cubes/" + dataset; }

TEST_F(ServeTest, SanFranciscoAggregatesEqualTheFacts) {
  StartServer();
  const std::string facts =
      " FROM fact_transaction f JOIN dim_program p ON p.program_id = f.program_id"
      " JOIN dim_type t ON t.type_id = f.type_id JOIN dim_fund u ON u.fund_id = f.fund_id ";
  json top = SqlRows(SfDb(), "SELECT t.\"character\"" + facts +
                                 "GROUP BY 1 ORDER BY COUNT(*) DESC "
                                 "LIMIT 1");
  ASSERT_EQ(top.size(), 1u);
  std::string character = top[0][0];
  struct Case {
    std::string query;
    std::vector<std::string> refs;
    std::string sql;  // drilldown values, SUM(amount_cents), COUNT(*)
    bool from_aggregate;
  };
  std::vector<Case> cases = {
      {"drilldown=program.organization_group",
       {"program.organization_group"},
       "SELECT p.organization_group, SUM(f.amount_cents), COUNT(*)" + facts + "GROUP BY 1",
       true},
      {"drilldown=program.department|fiscal_year",
       {"program.department", "fiscal_year"},
       "SELECT p.department, f.fiscal_year, SUM(f.amount_cents), COUNT(*)" + facts +
           "GROUP BY 1, 2",
       true},
      {"drilldown=type.character|type.object&cut=" +
           UrlEncode("type.character:\"" + character + "\"|fiscal_year:2015-2020"),
       {"type.character", "type.object"},
       "SELECT t.\"character\", t.object, SUM(f.amount_cents), COUNT(*)" + facts +
           "WHERE t.\"character\" = '" + character +
           "' AND f.fiscal_year BETWEEN 2015 AND 2020 GROUP BY 1, 2",
       true},
      // No aggregate holds codes: answered from the facts.
      {"drilldown=program.department_code&cut=" +
           UrlEncode("fiscal_year:2016;2018|finance.revenue_or_spending:\"Spending\""),
       {"program.department_code"},
       "SELECT p.department_code, SUM(f.amount_cents), COUNT(*)" + facts +
           "JOIN dim_finance r ON r.finance_id = f.finance_id WHERE f.fiscal_year IN (2016, "
           "2018) AND r.revenue_or_spending = 'Spending' GROUP BY 1",
       false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    json answer = GetJson(Cube(kDataset) + "/aggregate?pagesize=10000&" + c.query);
    json rows = SqlRows(SfDb(), c.sql);
    ASSERT_FALSE(rows.empty()) << c.sql;
    EXPECT_EQ(ApiCells(answer, c.refs), SqlCells(rows, c.refs.size()));
    EXPECT_EQ(answer["total_cell_count"], rows.size());
    int64_t cents = 0, count = 0;
    for (const json& row : rows) {
      cents += row[c.refs.size()].get<int64_t>();
      count += row[c.refs.size() + 1].get<int64_t>();
    }
    EXPECT_EQ(Cents(answer["summary"]["amount.sum"]), cents);
    EXPECT_EQ(answer["summary"]["_count"], count);
    std::string source = answer["source"];
    EXPECT_EQ(source.rfind("agg_", 0) == 0, c.from_aggregate) << source;
  }
}

TEST_F(ServeTest, PagesFollowTheOrderAndCoverEveryCell) {
  StartServer();
  std::string base = Cube(kDataset) + "/aggregate?drilldown=program.department|fiscal_year";
  json all = GetJson(base + "&order=amount.sum:desc&pagesize=10000");
  int64_t total = all["total_cell_count"];
  ASSERT_GT(total, 20);
  ASSERT_EQ(all["cells"].size(), static_cast<size_t>(total));
  for (size_t i = 1; i < all["cells"].size(); ++i)
    EXPECT_GE(all["cells"][i - 1]["amount.sum"].get<double>(),
              all["cells"][i]["amount.sum"].get<double>());
  json paged = json::array();
  for (int page = 0;; ++page) {
    json answer = GetJson(base + "&order=amount.sum:desc&pagesize=7&page=" + std::to_string(page));
    EXPECT_EQ(answer["total_cell_count"], total);
    EXPECT_EQ(answer["page"], page);
    EXPECT_EQ(answer["pagesize"], 7);
    if (answer["cells"].empty()) break;
    EXPECT_LE(answer["cells"].size(), 7u);
    for (const json& cell : answer["cells"]) paged.push_back(cell);
    ASSERT_LT(page, 1000);
  }
  EXPECT_EQ(paged, all["cells"]);
  EXPECT_EQ(all["order"], json::parse(R"([["amount.sum","desc"]])"));

  json by_year =
      GetJson(Cube(kDataset) + "/aggregate?drilldown=fiscal_year&order=fiscal_year:desc");
  for (size_t i = 1; i < by_year["cells"].size(); ++i)
    EXPECT_GT(by_year["cells"][i - 1]["fiscal_year"], by_year["cells"][i]["fiscal_year"]);
  json aggregates =
      GetJson(Cube(kDataset) + "/aggregate?drilldown=fiscal_year&aggregates=_count&pagesize=1");
  EXPECT_EQ(aggregates["aggregates"], json::parse(R"(["_count"])"));
  EXPECT_FALSE(aggregates["cells"][0].contains("amount.sum"));
  EXPECT_EQ(aggregates["summary"]["_count"], kSfRows);
}

TEST_F(ServeTest, PhoenixDepartmentsByMonthAndVendorSearchEqualTheFacts) {
  StartServer();
  json answer = GetJson(Cube(kPhoenix) +
                        "/aggregate?drilldown=department.department|fiscal_month&pagesize=10000");
  json rows = SqlRows(PhoenixDb(),
                      "SELECT d.department, f.fiscal_month, SUM(f.amount_cents), COUNT(*) FROM "
                      "fact_payment f JOIN dim_department d ON d.department_id = f.department_id "
                      "GROUP BY 1, 2");
  EXPECT_EQ(ApiCells(answer, {"department.department", "fiscal_month"}), SqlCells(rows, 2));
  EXPECT_EQ(answer["total_cell_count"], rows.size());
  EXPECT_EQ(answer["summary"]["_count"], kPhoenixRows);
  EXPECT_EQ(answer["source"], "agg_department_month");

  // Vendor search: a case-insensitive substring, '%' and '_' literal.
  for (const std::string& q : {std::string("inc"), std::string("CoNsTr"), std::string("%"),
                               std::string("_"), std::string("zzzz-no-such-vendor")}) {
    SCOPED_TRACE(q);
    json members = GetJson(Cube(kPhoenix) + "/members/vendor?pagesize=10000&q=" + UrlEncode(q));
    std::string like;
    for (char c : q)
      like += (c == '%' || c == '_' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    std::string lower = like;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    json expected = SqlRows(PhoenixDb(),
                            "SELECT v.vendor, SUM(f.amount_cents), COUNT(*) FROM fact_payment f "
                            "JOIN dim_vendor v ON v.vendor_id = f.vendor_id WHERE LOWER(v.vendor) "
                            "LIKE '%" +
                                lower + "%' ESCAPE '\\' GROUP BY 1");
    CellTotals got;
    for (const json& member : members["data"]) {
      got[member["vendor.vendor"].get<std::string>() + "|"] = {Cents(member["amount.sum"]),
                                                               member["_count"].get<int64_t>()};
      EXPECT_TRUE(member["vendor.vendor_key"].is_string()) << member.dump();
    }
    EXPECT_EQ(got, SqlCells(expected, 1));
    EXPECT_EQ(members["total_member_count"], expected.size());
  }
  json inc = GetJson(Cube(kPhoenix) + "/members/vendor?q=inc");
  EXPECT_GT(inc["total_member_count"].get<int>(), 0) << "the generated vendors include INC ones";
}

// Must-show 1: each view of the San Francisco overview equals `citybooks
// query` of the same view computed from the fact table.
void ExpectViewsEqualFacts(const ServeProcess& server, const Workspace* workspace,
                           const std::vector<std::string>& query_prefix, const fs::path& cwd) {
  const toml::table mapping = toml::parse_file(std::string(CITYBOOKS_SOURCE_DIR) +
                                               "/src/conform/mappings/sf-spending-revenue.toml");
  json listed = server.Get(Cube(kDataset) + "/views").Json();
  ASSERT_EQ(listed["views"].size(), mapping["views"].as_array()->size());
  for (const toml::node& node : *mapping["views"].as_array()) {
    const toml::table& view = *node.as_table();
    std::string name = view["name"].value_or(std::string());
    SCOPED_TRACE(name);
    std::string sql = view["sql_from_facts"].value_or(std::string());
    for (size_t at; (at = sql.find("{schema}")) != std::string::npos;) sql.replace(at, 8, kSchema);
    HttpReply reply = server.Get(Cube(kDataset) + "/views/" + name);
    ASSERT_EQ(reply.status, 200) << reply.body;
    json answer = reply.Json();
    EXPECT_EQ(answer["title"], view["title"].value_or(std::string()));
    EXPECT_EQ(answer["chart"], view["chart"].value_or(std::string()));
    std::vector<std::string> argv = query_prefix;
    argv.insert(argv.end(), {"query", sql, "--format", "json"});
    ProcessResult query =
        workspace ? workspace->Citybooks(std::vector<std::string>(argv.begin() + 1, argv.end()))
                  : RunProcess(argv, {cwd, {}});
    ASSERT_TRUE(query.exited && query.exit_status == 0) << query.Describe();
    json from_facts = json::parse(query.out);
    ASSERT_FALSE(from_facts.empty());
    ASSERT_EQ(answer["rows"].size(), from_facts.size());
    for (size_t r = 0; r < from_facts.size(); ++r) {
      json row = json::array();
      for (const json& column : answer["columns"])
        row.push_back(from_facts[r][column.get<std::string>()]);
      EXPECT_EQ(answer["rows"][r], row) << "row " << r;
    }
  }
}

TEST_F(ServeTest, OverviewViewsEqualTheFactTableVersions) {
  StartServer();
  ExpectViewsEqualFacts(server_, &workspace_, {CitybooksPath()}, {});
}

TEST(ServeDemo, ServesTheOverviewOfTheBundledSample) {
  TempDir dir;
  ServeProcess demo;
  ASSERT_TRUE(demo.Start({CitybooksPath(), "demo", "--port", "0"}, dir.path()));
  ExpectViewsEqualFacts(
      demo, nullptr,
      {CitybooksPath(), "--warehouse", "sqlite://./citybooks-data/demo/warehouse.db"}, dir.path());
  HttpReply page = demo.Get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.content_type.find("text/html"), std::string::npos);
  json datasets = demo.Get("/api/datasets").Json();
  ASSERT_EQ(datasets["datasets"].size(), 1u) << datasets.dump();
  EXPECT_EQ(datasets["datasets"][0]["name"], kDataset);
  json facts = SqlRows(dir.path() / "citybooks-data" / "demo" / (std::string(kSchema) + ".db"),
                       "SELECT COUNT(*) FROM fact_transaction");
  EXPECT_EQ(datasets["datasets"][0]["facts"], facts[0][0]);
  ProcessResult stopped = demo.Stop();
  EXPECT_TRUE(stopped.exited && stopped.exit_status == 0) << stopped.Describe();
}

TEST_F(ServeTest, HostileParametersAreRefusedNamingTheParameterAndChangeNothing) {
  StartServer();
  auto before = WarehouseDump(workspace_.warehouse_file().parent_path());
  std::string aggregate = Cube(kDataset) + "/aggregate?";
  struct Case {
    std::string target;
    int status;
    std::string parameter;
  };
  std::vector<Case> cases = {
      {aggregate + "cut=" + UrlEncode("program.department:\"x' OR 1=1 --\""), 400, "cut"},
      {aggregate + "drilldown=" + UrlEncode("program.department;DROP TABLE x"), 400, "drilldown"},
      {aggregate + "order=" + UrlEncode("amount.sum desc; DELETE"), 400, "order"},
      {aggregate + "drilldown=nope.department", 400, "drilldown"},
      {aggregate + "drilldown=program.nope", 400, "drilldown"},
      {aggregate + "cut=" + UrlEncode("nope.nope:1"), 400, "cut"},
      {aggregate + "pagesize=100000000", 400, "pagesize"},
      {aggregate + "page=-1", 400, "page"},
      {aggregate + "page=abc", 400, "page"},
      {aggregate + "cut=amount:5", 400, "cut"},
      {aggregate + "cut=" + UrlEncode("amount.sum:5"), 400, "cut"},
      {aggregate + "cut=fiscal_year:2021-2019", 400, "cut"},
      {aggregate + "cut=fiscal_year:20x1", 400, "cut"},
      {aggregate + "cut=" + UrlEncode("program.department:\"" + std::string(5000, 'x') + "\""), 400,
       "cut"},
      {aggregate + "cut=" + UrlEncode("program.department:\"" + std::string(300, 'x') + "\""), 400,
       "cut"},
      {aggregate + "aggregates=" + UrlEncode("amount.sum|drop"), 400, "aggregates"},
      {aggregate + "drilldown=program.department&order=type.object", 400, "order"},
      {Cube(kDataset) + "/facts?fields=" + UrlEncode("program.department,1;DELETE"), 400, "fields"},
      {Cube(kDataset) + "/members/program?attribute=nope", 400, "attribute"},
      {Cube(kDataset) + "/members/nope", 404, "dimension"},
      {Cube("nope") + "/aggregate", 404, "dataset"},
      {Cube(kDataset) + "/views/nope", 404, "view"},
      {"/api/models/../../etc?dataset=" + std::string(kDataset), 400, "model"},
      {"/api/models/nope?dataset=" + std::string(kDataset), 404, "model"},
      {"/api/models/benford?dataset=" + std::string(kDataset) +
           "&order=" + UrlEncode("conformity; DROP TABLE x"),
       400, "order"},
      {"/api/models/benford?dataset=" + std::string(kDataset) +
           "&cut=" + UrlEncode("group_name' OR '1'='1:x"),
       400, "cut"},
      {"/api/quality?dataset=nope", 404, "dataset"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target.substr(0, 200));
    HttpReply reply = server_.Get(c.target);
    EXPECT_EQ(reply.status, c.status) << reply.body.substr(0, 500);
    json body = reply.Json();
    ASSERT_TRUE(body.is_object());
    ASSERT_TRUE(body.contains("error")) << reply.body.substr(0, 500);
    EXPECT_EQ(body["error"]["parameter"], c.parameter) << reply.body.substr(0, 500);
    EXPECT_TRUE(body["error"]["message"].is_string());
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  }
  for (const char* sql :
       {"INSERT INTO sf_spending_revenue.cb_runs (run_id) VALUES (999)",
        "UPDATE sf_spending_revenue.fact_transaction SET amount_cents = 0",
        "DELETE FROM sf_spending_revenue.fact_transaction",
        "DROP TABLE sf_spending_revenue.cb_runs", "ATTACH DATABASE 'evil.db' AS evil",
        "PRAGMA sf_spending_revenue.user_version = 7",
        "PRAGMA sf_spending_revenue.journal_mode = DELETE",
        "SELECT 1; DELETE FROM sf_spending_revenue.fact_transaction",
        "CREATE TABLE sf_spending_revenue.x (a)", "VACUUM INTO 'copy.db'"}) {
    SCOPED_TRACE(sql);
    HttpReply reply = server_.Post("/api/sql", json{{"sql", sql}}.dump(), "application/json");
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_EQ(reply.Json()["error"]["parameter"], "sql") << reply.body;
  }
  EXPECT_FALSE(fs::exists(workspace_.dir() / "evil.db"));
  EXPECT_FALSE(fs::exists(workspace_.dir() / "copy.db"));
  SameTables(before, WarehouseDump(workspace_.warehouse_file().parent_path()),
             "the warehouse after the hostile requests");
  EXPECT_EQ(server_.Get("/api/datasets").status, 200) << "the server still answers";
}

TEST_F(ServeTest, SqlReadsWithARowCapAndAcceptsJsonFormAndText) {
  StartServer();
  std::string count = "SELECT COUNT(*) AS n FROM sf_spending_revenue.fact_transaction";
  for (const auto& [body, type] : std::vector<std::pair<std::string, std::string>>{
           {json{{"sql", count}}.dump(), "application/json"},
           {"sql=" + UrlEncode(count), "application/x-www-form-urlencoded"},
           {count, "text/plain"}}) {
    SCOPED_TRACE(type);
    HttpReply reply = server_.Post("/api/sql", body, type);
    ASSERT_EQ(reply.status, 200) << reply.body;
    json answer = reply.Json();
    EXPECT_EQ(answer["columns"], json::parse(R"(["n"])"));
    EXPECT_EQ(answer["rows"], json::parse("[[" + std::to_string(kSfRows) + "]]"));
    EXPECT_EQ(answer["truncated"], false);
    EXPECT_EQ(answer["row_cap"], 10000);
    EXPECT_TRUE(answer["elapsed_ms"].is_number());
  }
  HttpReply capped = server_.Post(
      "/api/sql", "SELECT * FROM sf_spending_revenue.fact_transaction ORDER BY 1", "text/plain");
  ASSERT_EQ(capped.status, 200) << capped.body.substr(0, 500);
  json answer = capped.Json();
  EXPECT_EQ(answer["rows"].size(), 10000u);
  EXPECT_EQ(answer["truncated"], true);
  HttpReply broken = server_.Post("/api/sql", "SELEKT 1", "text/plain");
  EXPECT_EQ(broken.status, 400);
  EXPECT_EQ(broken.Json()["error"]["parameter"], "sql");
}

// Every .csv variant parses (RFC 4180) to the rows of its JSON answer.
TEST_F(ServeTest, CsvVariantsHoldTheSameRowsAsTheJson) {
  StartServer();
  auto as_text = [](const json& value) -> std::string {
    if (value.is_null()) return "";
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number_float()) {
      double number = value.get<double>();
      if (number == std::floor(number) && std::fabs(number) < 1e15)
        return std::to_string(static_cast<int64_t>(number)) + ".0";
    }
    return value.dump();
  };
  struct Case {
    std::string path;   // without .csv
    std::string query;  // with the leading '?'
    std::string rows;   // where the JSON keeps its rows
    bool arrays;        // rows are arrays in `columns` order
    std::string filename;
  };
  std::string sf = kDataset;
  std::vector<Case> cases = {
      {Cube(sf) + "/aggregate",
       "?drilldown=program.organization_group|fiscal_year&order=amount.sum:desc&pagesize=40&page=1",
       "cells", false, sf + "-aggregate.csv"},
      {Cube(sf) + "/facts", "?cut=fiscal_year:2019&pagesize=25&order=amount:desc", "data", false,
       sf + "-facts.csv"},
      {Cube(kPhoenix) + "/members/vendor", "?q=inc&pagesize=30", "data", false,
       std::string(kPhoenix) + "-members-vendor.csv"},
      {Cube(sf) + "/views/net_by_organization_group", "", "rows", true,
       sf + "-net_by_organization_group.csv"},
      {"/api/quality", "?dataset=" + sf + "&pagesize=50", "data", false, sf + "-quality.csv"},
      {"/api/runs", "", "data", false, "runs.csv"},
      {"/api/models/benford", "?dataset=" + sf, "data", false, sf + "-model-benford.csv"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path + c.query);
    HttpReply json_reply = server_.Get(c.path + c.query);
    HttpReply csv_reply = server_.Get(c.path + ".csv" + c.query);
    ASSERT_EQ(json_reply.status, 200) << json_reply.body.substr(0, 300);
    ASSERT_EQ(csv_reply.status, 200) << csv_reply.body.substr(0, 300);
    EXPECT_NE(csv_reply.content_type.find("text/csv"), std::string::npos);
    EXPECT_EQ(csv_reply.content_disposition, "attachment; filename=\"" + c.filename + "\"");
    EXPECT_NE(csv_reply.body.find("\r\n"), std::string::npos) << "RFC 4180 lines end in CRLF";
    json answer = json_reply.Json();
    auto records = ParseCsv(csv_reply.body);
    ASSERT_FALSE(records.empty());
    std::vector<std::string> header = records.front();
    ASSERT_EQ(records.size() - 1, answer[c.rows].size());
    if (answer.contains("columns") && !answer["columns"].empty()) {
      EXPECT_EQ(json(header), answer["columns"]);
    }
    for (size_t r = 0; r < answer[c.rows].size(); ++r) {
      const json& row = answer[c.rows][r];
      std::vector<std::string> expected;
      for (size_t col = 0; col < header.size(); ++col)
        expected.push_back(as_text(c.arrays ? row[col] : row[header[col]]));
      EXPECT_EQ(records[r + 1], expected) << "row " << r;
    }
  }
  HttpReply sql_csv = server_.Post(
      "/api/sql.csv", "SELECT 'a,\"b\"' AS odd, 2 AS n UNION ALL SELECT 'line\nbreak', NULL",
      "text/plain");
  ASSERT_EQ(sql_csv.status, 200) << sql_csv.body;
  EXPECT_EQ(sql_csv.body, "odd,n\r\n\"a,\"\"b\"\"\",2\r\n\"line\nbreak\",\r\n");
}

TEST_F(ServeTest, DatasetsModelAndMissingModelResultsFollowTheContract) {
  StartServer();
  json datasets = GetJson("/api/datasets");
  ASSERT_EQ(datasets["datasets"].size(), 2u);
  for (const json& dataset : datasets["datasets"]) {
    SCOPED_TRACE(dataset.dump().substr(0, 300));
    std::string name = dataset["name"];
    EXPECT_TRUE(name == kDataset || name == kPhoenix);
    EXPECT_EQ(dataset["facts"], name == kDataset ? kSfRows : kPhoenixRows);
    EXPECT_TRUE(dataset["amount"].is_number());
    EXPECT_TRUE(dataset["partitions"].is_string());
    EXPECT_EQ(dataset["last_run"]["status"], "succeeded");
    EXPECT_FALSE(dataset["views"].empty());
    EXPECT_EQ(dataset["pages"][0], "overview");
  }
  json sf = datasets["datasets"][datasets["datasets"][0]["name"] == kDataset ? 0 : 1];
  EXPECT_EQ(sf["schema"], kSchema);
  EXPECT_EQ(sf["fact_table"], "fact_transaction");
  json amount = SqlRows(SfDb(), "SELECT SUM(amount_cents) FROM fact_transaction");
  EXPECT_EQ(Cents(sf["amount"]), amount[0][0].get<int64_t>());

  json model = GetJson(Cube(kDataset) + "/model");
  EXPECT_EQ(model["name"], kDataset);
  const json& program = model["model"]["dimensions"]["program"];
  EXPECT_EQ(program["hierarchy"], json::parse(R"(["organization_group","department","program"])"));
  EXPECT_EQ(program["attributes"]["organization_group"]["ref"], "program.organization_group");
  EXPECT_EQ(model["model"]["dimensions"]["fiscal_year"]["attributes"]["fiscal_year"]["ref"],
            "fiscal_year");
  EXPECT_EQ(model["model"]["aggregates"]["amount.sum"]["function"], "sum");
  EXPECT_EQ(model["model"]["aggregates"]["_count"]["function"], "count");
  json phoenix = GetJson(Cube(kPhoenix) + "/model");
  EXPECT_EQ(phoenix["model"]["dimensions"]["fiscal_month"]["attributes"]["fiscal_month"]["ref"],
            "fiscal_month");

  // No `citybooks model` has run in this workspace.
  for (std::string name : {"benford", "benford_digits", "duplicate_payments", "outliers",
                           "forecast", "forecast_series"}) {
    json results = GetJson("/api/models/" + name + "?dataset=" + kPhoenix);
    EXPECT_EQ(results["data"], json::array()) << name;
    EXPECT_EQ(results["note"], "no model results yet; run citybooks model") << name;
  }
  json runs = GetJson("/api/runs");
  EXPECT_EQ(runs["total"], 2);
  json quality = GetJson("/api/quality?dataset=" + std::string(kDataset) + "&pagesize=3");
  EXPECT_EQ(quality["data"].size(), 3u);
  EXPECT_GT(quality["total"].get<int>(), 3);
  EXPECT_EQ(quality["data"][0]["dataset"], kDataset);
}

TEST_F(ServeTest, TokenGuardsTheApiButNotHealthz) {
  StartServer({{"CITYBOOKS_SERVE_TOKEN", "s3cret-token"}});
  HttpReply anonymous = server_.Get("/api/datasets");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.Json()["error"]["parameter"], "Authorization");
  EXPECT_EQ(server_.Get("/api/datasets", {{"Authorization", "Bearer wrong-token"}}).status, 401);
  EXPECT_EQ(server_.Get("/api/datasets", {{"Authorization", "Bearer s3cret-token"}}).status, 200);
  EXPECT_EQ(server_
                .Get(Cube(kDataset) + "/aggregate?drilldown=fiscal_year",
                     {{"Authorization", "Bearer s3cret-token"}})
                .status,
            200);
  EXPECT_EQ(server_.Get("/healthz").status, 200);
  ProcessResult stopped = server_.Stop();
  EXPECT_EQ(stopped.err.find("s3cret-token"), std::string::npos) << "the token is never printed";
  EXPECT_EQ(stopped.out.find("s3cret-token"), std::string::npos);
  EXPECT_EQ(stopped.err.find("WITHOUT A TOKEN"), std::string::npos);
}

TEST_F(ServeTest, WarnsLoudlyWhenBoundBeyondLoopbackWithoutAToken) {
  // Bound to every interface only for this check; no request is sent to it.
  ServeProcess exposed;
  ASSERT_TRUE(exposed.Start(Args({"serve", "--bind", "0.0.0.0", "--port", "0"}), workspace_.dir(),
                            {}, false));
  bool warned = ServeProcess::WaitFor(
      [&] { return exposed.Stderr().find("WITHOUT A TOKEN") != std::string::npos; },
      std::chrono::seconds(60));
  ProcessResult stopped = exposed.Stop();
  EXPECT_TRUE(warned) << stopped.Describe();
  EXPECT_NE(stopped.err.find("CITYBOOKS_SERVE_TOKEN"), std::string::npos) << stopped.Describe();
  EXPECT_TRUE(stopped.exited && stopped.exit_status == 0) << stopped.Describe();

  StartServer();
  ProcessResult loopback = server_.Stop();
  EXPECT_EQ(loopback.err.find("WITHOUT A TOKEN"), std::string::npos) << loopback.Describe();
}

TEST_F(ServeTest, MetricsCountRequestsByRouteAndStatus) {
  StartServer();
  HttpReply health = server_.Get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Json(), json::parse(R"({"status":"ok"})"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(server_.Get("/api/datasets").status, 200);
  EXPECT_EQ(server_.Get(Cube(kDataset) + "/aggregate?page=-1").status, 400);
  HttpReply metrics = server_.Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.content_type.find("text/plain"), std::string::npos);
  EXPECT_NE(metrics.body.find(
                "citybooks_http_requests_total{route=\"/api/datasets\",status=\"200\"} 3\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("citybooks_http_requests_total{route=\"/api/cubes/{dataset}/"
                              "aggregate\",status=\"400\"} 1\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("citybooks_http_request_duration_seconds_bucket{route=\"/api/"
                              "datasets\",le=\"+Inf\"} 3\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("citybooks_http_requests_in_flight 1\n"), std::string::npos)
      << "only the /metrics request itself is in flight:\n"
      << metrics.body;
}

TEST_F(ServeTest, AnswersAreTheSameFromTheCacheAndAfterANewLoad) {
  StartServer();
  std::string target = Cube(kDataset) + "/aggregate?drilldown=fiscal_year";
  json first = GetJson(target);
  json again = GetJson(target);
  EXPECT_EQ(first, again);
  // A second snapshot replaces fiscal years: the next answer must see it.
  fs::path more = workspace_.dir() / "more.csv";
  workspace_.Generate(more, 3000, 11, 0.0, 0.0);
  workspace_.IngestAndLoad(more);
  json after = GetJson(target);
  json rows = SqlRows(SfDb(),
                      "SELECT fiscal_year, SUM(amount_cents), COUNT(*) FROM "
                      "fact_transaction GROUP BY 1");
  EXPECT_EQ(ApiCells(after, {"fiscal_year"}), SqlCells(rows, 1));
  EXPECT_NE(after, first);
}

// `serve --every` runs extract + load in the background; what it loads is
// answered without a restart, even when the warehouse did not exist when
// the server started.
TEST(ServeEvery, AnswersWhatTheBackgroundPipelineLoads) {
  Workspace workspace;
  fs::path config = workspace.dir() / "citybooks.toml";
  WriteFile(config,
            "[datasets.sf-spending-revenue]\nsource = \"file\"\n\n"
            "[datasets.phoenix-checkbook]\nsource = \"file\"\n");
  std::vector<std::string> argv = {CitybooksPath(),
                                   "--config",
                                   config.string(),
                                   "--raw",
                                   "file://" + workspace.raw_dir().string(),
                                   "--warehouse",
                                   "sqlite://" + workspace.warehouse_file().string(),
                                   "serve",
                                   "--port",
                                   "0",
                                   "--every",
                                   "1s"};
  ServeProcess server;
  ASSERT_TRUE(server.Start(argv, workspace.dir()));
  EXPECT_EQ(server.Get("/api/datasets").Json()["datasets"], json::array());
  workspace.Generate(workspace.dir() / "sf.csv", 2000, 3, 0.0, 0.0);
  ProcessResult ingest = workspace.Citybooks(
      {"--config", config.string(), "ingest", kDataset, (workspace.dir() / "sf.csv").string()});
  ASSERT_TRUE(ingest.exited && ingest.exit_status == 0) << ingest.Describe();
  json datasets;
  bool loaded = ServeProcess::WaitFor(
      [&] {
        datasets = server.Get("/api/datasets").Json();
        return datasets.is_object() && datasets["datasets"].size() == 1 &&
               datasets["datasets"][0]["facts"] == 2000;
      },
      std::chrono::seconds(120));
  EXPECT_TRUE(loaded) << datasets.dump() << "\n" << server.Stderr();
  json cells = server.Get(Cube(kDataset) + "/aggregate").Json();
  EXPECT_EQ(cells["summary"]["_count"], 2000);
  ProcessResult stopped = server.Stop();
  EXPECT_TRUE(stopped.exited && stopped.exit_status == 0) << stopped.Describe();
}

// A dataset loaded by another process while the server runs is answered
// without a restart.
TEST(ServeLoad, AnswersADatasetLoadedWhileServing) {
  Workspace workspace;
  workspace.Generate(workspace.dir() / "sf.csv", 2000, 3, 0.0, 0.0);
  workspace.IngestAndLoad(workspace.dir() / "sf.csv");
  ServeProcess server;
  ASSERT_TRUE(server.Start(
      {CitybooksPath(), "--raw", "file://" + workspace.raw_dir().string(), "--warehouse",
       "sqlite://" + workspace.warehouse_file().string(), "serve", "--port", "0"},
      workspace.dir()));
  EXPECT_EQ(server.Get(Cube(kPhoenix) + "/aggregate").status, 404);
  fs::path phoenix = workspace.dir() / "phoenix.csv";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"gen", "phoenix", "--rows", "500", "--out", phoenix.string()},
        std::vector<std::string>{"ingest", kPhoenix, phoenix.string()},
        std::vector<std::string>{"load", kPhoenix}}) {
    ProcessResult result = workspace.Citybooks(args);
    ASSERT_TRUE(result.exited && result.exit_status == 0) << result.Describe();
  }
  json answer;
  bool seen = ServeProcess::WaitFor(
      [&] {
        HttpReply reply = server.Get(Cube(kPhoenix) + "/aggregate");
        if (reply.status != 200) return false;
        answer = reply.Json();
        return true;
      },
      std::chrono::seconds(60));
  ASSERT_TRUE(seen) << server.Stderr();
  EXPECT_EQ(answer["summary"]["_count"], 500);
  EXPECT_EQ(server.Get("/api/datasets").Json()["datasets"].size(), 2u);
}

}  // namespace
}  // namespace citybooks_e2e
