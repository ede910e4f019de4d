// San Francisco end to end through the real `citybooks` executable: generate
// raw data, ingest, load, and check what a user would check: every row and
// every cent accounted for, one code per name, dashboard views that agree
// with the facts, idempotent loads, fiscal-year replacement, a load killed
// half-way, and the exit statuses of bad usage.
#include <gtest/gtest.h>
#include <signal.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "e2e_support.h"

namespace citybooks_e2e {
namespace {

using nlohmann::json;

std::string Table(const std::string& name) { return std::string(kSchema) + "." + name; }

// ---------------------------------------------------------------------------
// What the mapping declares, read from its TOML file.

struct View {
  std::string name;
  std::string sql;             // over the aggregates
  std::string sql_from_facts;  // the same answer from the facts
};

struct Level {
  std::string dimension;          // "program"
  std::vector<std::string> path;  // name columns from the top down to this level
  std::string code;               // the level's code column
};

const toml::table& MappingToml() {
  static const toml::table mapping = toml::parse_file(
      std::string(CITYBOOKS_SOURCE_DIR) + "/src/conform/mappings/sf-spending-revenue.toml");
  return mapping;
}

std::string WithSchema(std::string sql) {
  for (size_t at; (at = sql.find("{schema}")) != std::string::npos;) sql.replace(at, 8, kSchema);
  return sql;
}

std::vector<View> MappingViews() {
  std::vector<View> views;
  if (const toml::array* array = MappingToml()["views"].as_array())
    for (const toml::node& node : *array) {
      const toml::table& view = *node.as_table();
      views.push_back({view["name"].value_or(std::string()),
                       WithSchema(view["sql"].value_or(std::string())),
                       WithSchema(view["sql_from_facts"].value_or(std::string()))});
    }
  return views;
}

// Every level that has a code column, e.g. program/department with path
// (organization_group, department) and code department_code.
std::vector<Level> CodedLevels() {
  std::vector<Level> levels;
  if (const toml::array* dimensions = MappingToml()["dimensions"].as_array())
    for (const toml::node& node : *dimensions) {
      const toml::table& dimension = *node.as_table();
      std::vector<std::string> path;
      if (const toml::array* list = dimension["levels"].as_array())
        for (const toml::node& level_node : *list) {
          const toml::table& level = *level_node.as_table();
          path.push_back(level["name"].value_or(std::string()));
          std::string code = level["code"].value_or(std::string());
          if (!code.empty())
            levels.push_back({dimension["name"].value_or(std::string()), path, code});
        }
    }
  return levels;
}

std::string Quote(const std::string& identifier) { return "\"" + identifier + "\""; }

// ---------------------------------------------------------------------------
// Inputs.

constexpr int64_t kRows = 50'000;

// Generates `rows` San Francisco rows into `dir`/name and returns the path.
fs::path Generated(const Workspace& workspace, const std::string& name, int64_t rows, int64_t seed,
                   double dirt_rate, double bad_rate) {
  fs::path file = workspace.dir() / name;
  fs::create_directories(file.parent_path());
  workspace.Generate(file, rows, seed, dirt_rate, bad_rate);
  return file;
}

std::string FormatCents(int64_t cents) {
  char text[40];
  int64_t magnitude = cents < 0 ? -cents : cents;
  std::snprintf(text, sizeof text, "%s%" PRId64 ".%02" PRId64, cents < 0 ? "-" : "",
                magnitude / 100, magnitude % 100);
  return text;
}

// A new amount for the i-th rewritten row: varied, some negative.
int64_t NewCents(size_t i) {
  int64_t cents = static_cast<int64_t>((i * 7919) % 50'000'000) + 1;
  return i % 13 == 0 ? -cents : cents;
}

struct YearTotals {
  int64_t facts = 0;
  int64_t cents = 0;
  bool operator==(const YearTotals&) const = default;
};

std::map<int64_t, YearTotals> FactsByYear(const Workspace& workspace) {
  std::map<int64_t, YearTotals> years;
  for (const json& row : workspace.Query("SELECT fiscal_year, COUNT(*) AS facts, "
                                         "SUM(amount_cents) AS cents FROM " +
                                         Table("fact_transaction") + " GROUP BY fiscal_year"))
    years[row["fiscal_year"].get<int64_t>()] = {row["facts"].get<int64_t>(),
                                                row["cents"].get<int64_t>()};
  return years;
}

std::string Describe(const std::map<int64_t, YearTotals>& years) {
  std::string text;
  for (const auto& [year, totals] : years)
    text += std::to_string(year) + ": " + std::to_string(totals.facts) + " facts, " +
            FormatCents(totals.cents) + "\n";
  return text;
}

// The rows of the dataset's tables that a load decides: facts (without the
// run that wrote them), dimensions and aggregates.
std::map<std::string, std::vector<std::string>> StarTables(const Workspace& workspace) {
  std::map<std::string, std::vector<std::string>> tables;
  for (const std::string& table : TableNames(workspace.dataset_file())) {
    if (table == "fact_transaction") {
      tables[table] = DumpTable(workspace.dataset_file(), table, {"run_id"});
    } else if (table.rfind("dim_", 0) == 0 || table.rfind("agg_", 0) == 0) {
      tables[table] = DumpTable(workspace.dataset_file(), table);
    }
  }
  return tables;
}

void ExpectViewsAgree(const Workspace& workspace) {
  std::vector<View> views = MappingViews();
  ASSERT_EQ(views.size(), 4u) << "the mapping declares the four views of the city's dashboard";
  for (const View& view : views) {
    SCOPED_TRACE("view " + view.name);
    json from_aggregates = workspace.Query(view.sql);
    json from_facts = workspace.Query(view.sql_from_facts);
    EXPECT_FALSE(from_facts.empty()) << "the test data should give the view rows";
    EXPECT_EQ(from_aggregates, from_facts)
        << "from aggregates:\n"
        << from_aggregates.dump(1).substr(0, 3000) << "\nfrom facts:\n"
        << from_facts.dump(1).substr(0, 3000);
  }
}

// Asserts that no name path of any coded level has two codes in the dims.
void ExpectOneCodePerNamePath(const Workspace& workspace) {
  std::vector<Level> levels = CodedLevels();
  ASSERT_EQ(levels.size(), 9u) << "three coded levels each in program, type and fund";
  for (const Level& level : levels) {
    SCOPED_TRACE("dim_" + level.dimension + " level " + level.code);
    std::string path;
    for (const std::string& name : level.path)
      path += (path.empty() ? "" : ", ") + std::string("LOWER(TRIM(") + Quote(name) + "))";
    json duplicated = workspace.Query(
        "SELECT " + path + ", COUNT(DISTINCT " + Quote(level.code) + ") AS codes, GROUP_CONCAT(" +
        "DISTINCT " + Quote(level.code) + ") AS code_list FROM " + Table("dim_" + level.dimension) +
        " GROUP BY " + path + " HAVING COUNT(DISTINCT " + Quote(level.code) + ") > 1");
    EXPECT_TRUE(duplicated.empty())
        << duplicated.size() << " name paths hold more than one " << level.code << ", e.g.\n"
        << duplicated.dump(1).substr(0, 2000);
  }
}

// ---------------------------------------------------------------------------
// One load: accounting, checks, dimensions, views.

TEST(EndToEnd, LoadAccountsForEveryRowAndEveryCent) {
  Workspace workspace;
  fs::path file = workspace.dir() / "sf.csv";
  ProcessResult gen_log =
      workspace.Citybooks({"gen", "sf", "--rows", std::to_string(kRows), "--out", file.string(),
                           "--seed", "1", "--dirt-rate", "0.05", "--bad-rate", "0.01"});
  ASSERT_TRUE(gen_log.exited && gen_log.exit_status == 0) << gen_log.Describe();
  // gen reports how many rows it malformed on purpose.
  std::smatch match;
  ASSERT_TRUE(std::regex_search(gen_log.err, match, std::regex(R"(\(([0-9,]+) malformed)")))
      << gen_log.Describe();
  std::string malformed_text = match[1];
  std::erase(malformed_text, ',');
  const int64_t malformed = std::stoll(malformed_text);
  ASSERT_GT(malformed, 0);
  workspace.IngestAndLoad(file);

  json runs = workspace.Query("SELECT * FROM " + Table("cb_runs"));
  ASSERT_EQ(runs.size(), 1u) << runs.dump(1);
  const json& run = runs[0];
  EXPECT_EQ(run["status"], "succeeded") << run.dump(1);
  const int64_t rows_read = run["rows_read"].get<int64_t>();
  const int64_t rows_loaded = run["rows_loaded"].get<int64_t>();
  const int64_t rows_quarantined = run["rows_quarantined"].get<int64_t>();
  EXPECT_EQ(rows_read, kRows);
  EXPECT_EQ(rows_read, rows_loaded + rows_quarantined);
  EXPECT_EQ(rows_quarantined, malformed) << "exactly the rows malformed on purpose";
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("fact_transaction")), rows_loaded);
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("cb_quarantine")), rows_quarantined);

  const int64_t read_cents = run["amount_read_cents"].get<int64_t>();
  const int64_t loaded_cents = run["amount_loaded_cents"].get<int64_t>();
  const int64_t quarantined_cents = run["amount_quarantined_cents"].get<int64_t>();
  EXPECT_EQ(read_cents, loaded_cents + quarantined_cents);
  EXPECT_EQ(workspace.QueryInt("SELECT SUM(amount_cents) FROM " + Table("fact_transaction")),
            loaded_cents);
  EXPECT_NE(quarantined_cents, 0) << "some quarantined rows have parseable amounts";
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("fact_transaction") +
                               " WHERE ABS(amount * 100 - amount_cents) > 0.001"),
            0)
      << "amount and amount_cents agree on every fact";
  // Every quarantined row keeps where it came from and why.
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("cb_quarantine") +
                               " WHERE file <> 'sf.csv' OR line < 2 OR raw_line IS NULL OR "
                               "reason IS NULL OR reason = '' OR snapshot_id IS NULL"),
            0);
}

TEST(EndToEnd, EveryQualityCheckOfTheRunPasses) {
  Workspace workspace;
  workspace.IngestAndLoad(Generated(workspace, "sf.csv", kRows, 1, 0.05, 0.01));
  json checks =
      workspace.Query("SELECT check_name, status, failing, details FROM " + Table("cb_quality") +
                      " WHERE run_id = (SELECT MAX(run_id) FROM " + Table("cb_runs") + ")");
  ASSERT_GE(checks.size(), 10u) << "many_to_one per level, not_null, reconcile and the "
                                   "mapping's own checks:\n"
                                << checks.dump(1);
  std::set<std::string> types;
  for (const json& check : checks) {
    EXPECT_EQ(check["status"], "pass") << check.dump();
    EXPECT_EQ(check["failing"], 0) << check.dump();
    std::string name = check["check_name"].get<std::string>();
    types.insert(name.substr(0, name.find(':')));
  }
  for (const char* type :
       {"many_to_one", "not_null", "reconcile", "accepted_values", "row_count_min"})
    EXPECT_TRUE(types.count(type)) << "no " << type << " check ran:\n" << checks.dump(1);
}

TEST(EndToEnd, EveryNamePathHasExactlyOneCode) {
  Workspace workspace;
  workspace.IngestAndLoad(Generated(workspace, "sf.csv", kRows, 1, 0.05, 0.01));
  for (const char* dimension : {"dim_program", "dim_type", "dim_fund", "dim_finance"})
    EXPECT_GT(workspace.QueryInt("SELECT COUNT(*) FROM " + Table(dimension)), 0) << dimension;
  ExpectOneCodePerNamePath(workspace);
}

TEST(EndToEnd, CodeRemapsNameTheCodeTheDimensionHolds) {
  Workspace workspace;
  workspace.IngestAndLoad(Generated(workspace, "sf.csv", kRows, 1, 0.05, 0.01));
  json remaps =
      workspace.Query("SELECT dimension, level, name_path, from_code, to_code, rows FROM " +
                      Table("cb_code_remaps"));
  ASSERT_FALSE(remaps.empty()) << "dirty data has names with several codes";

  // (dimension, level, "name > name > ...") -> codes the dimension holds.
  std::map<std::tuple<std::string, std::string, std::string>, std::set<std::string>> held;
  for (const Level& level : CodedLevels()) {
    std::string columns;
    for (const std::string& name : level.path) columns += Quote(name) + ", ";
    for (const json& row : workspace.Query("SELECT DISTINCT " + columns + Quote(level.code) +
                                           " FROM " + Table("dim_" + level.dimension))) {
      std::string path;
      for (const std::string& name : level.path)
        path += (path.empty() ? "" : " > ") + row[name].get<std::string>();
      held[{level.dimension, level.path.back(), path}].insert(row[level.code].get<std::string>());
    }
  }
  for (const json& remap : remaps) {
    SCOPED_TRACE(remap.dump());
    auto it = held.find({remap["dimension"].get<std::string>(), remap["level"].get<std::string>(),
                         remap["name_path"].get<std::string>()});
    ASSERT_NE(it, held.end()) << "the remapped name path is not in the dimension";
    EXPECT_EQ(it->second, std::set<std::string>{remap["to_code"].get<std::string>()});
    EXPECT_NE(remap["from_code"], remap["to_code"]);
    EXPECT_GT(remap["rows"].get<int64_t>(), 0);
  }
}

TEST(EndToEnd, ViewsFromAggregatesEqualViewsFromFacts) {
  Workspace workspace;
  workspace.IngestAndLoad(Generated(workspace, "sf.csv", kRows, 1, 0.05, 0.01));
  ExpectViewsAgree(workspace);
}

// ---------------------------------------------------------------------------
// Idempotence.

TEST(EndToEnd, LoadingTwiceChangesNothing) {
  Workspace workspace;
  workspace.IngestAndLoad(Generated(workspace, "sf.csv", kRows, 2, 0.05, 0.01));
  const std::map<std::string, std::set<std::string>> timestamps = {
      {"cb_runs", {"started_at", "finished_at"}}, {"cb_quality", {"checked_at"}}};
  auto dataset_before = DumpDatabase(workspace.dataset_file(), timestamps);
  auto main_before = DumpDatabase(workspace.warehouse_file());
  ASSERT_GT(dataset_before["fact_transaction"].size(), 40'000u);

  ProcessResult again = workspace.Citybooks({"load", kDataset});
  ASSERT_TRUE(again.exited && again.exit_status == 0) << again.Describe();
  EXPECT_NE(again.out.find("nothing new"), std::string::npos) << again.Describe();
  EXPECT_EQ(again.out.find("loaded"), std::string::npos) << again.Describe();

  SameTables(dataset_before, DumpDatabase(workspace.dataset_file(), timestamps),
             "dataset file after a second load");
  SameTables(main_before, DumpDatabase(workspace.warehouse_file()),
             "warehouse file after a second load");
}

TEST(EndToEnd, ReloadGivesTheSameFactsDimensionsAndAggregates) {
  Workspace workspace;
  workspace.IngestAndLoad(Generated(workspace, "sf.csv", kRows, 3, 0.05, 0.01));
  auto star_before = StarTables(workspace);
  ASSERT_EQ(star_before.size(), 10u) << "fact_transaction, 4 dim_* and 5 agg_* tables";
  ASSERT_GT(star_before["fact_transaction"].size(), 40'000u);
  auto quarantine_before = DumpTable(workspace.dataset_file(), "cb_quarantine", {"run_id"});
  auto remaps_before = DumpTable(workspace.dataset_file(), "cb_code_remaps", {"run_id"});
  json first_run = workspace.Query(
      "SELECT rows_read, rows_loaded, rows_quarantined, "
      "amount_read_cents, amount_loaded_cents, "
      "amount_quarantined_cents, partitions FROM " +
      Table("cb_runs"));

  ProcessResult reload = workspace.Citybooks({"load", kDataset, "--reload"});
  ASSERT_TRUE(reload.exited && reload.exit_status == 0) << reload.Describe();
  EXPECT_NE(reload.out.find("loaded " + std::string(kDataset) + " snapshot"), std::string::npos)
      << reload.Describe();

  SameTables(star_before, StarTables(workspace), "after load --reload");
  SameRows(quarantine_before, DumpTable(workspace.dataset_file(), "cb_quarantine", {"run_id"}),
           "cb_quarantine after load --reload");
  SameRows(remaps_before, DumpTable(workspace.dataset_file(), "cb_code_remaps", {"run_id"}),
           "cb_code_remaps after load --reload");
  json runs = workspace.Query(
      "SELECT run_id, status, rows_read, rows_loaded, rows_quarantined, "
      "amount_read_cents, amount_loaded_cents, amount_quarantined_cents, "
      "partitions FROM " +
      Table("cb_runs") + " ORDER BY run_id");
  ASSERT_EQ(runs.size(), 2u) << runs.dump(1);
  EXPECT_EQ(runs[1]["status"], "succeeded");
  for (const char* key : {"rows_read", "rows_loaded", "rows_quarantined", "amount_read_cents",
                          "amount_loaded_cents", "amount_quarantined_cents", "partitions"})
    EXPECT_EQ(runs[1][key], first_run[0][key]) << key;
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("cb_snapshots")), 1);
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("cb_quality") +
                               " WHERE run_id = 2 AND status <> 'pass'"),
            0);
  ExpectViewsAgree(workspace);
}

std::vector<std::string> FilesUnder(const fs::path& root) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file())
      files.push_back(fs::relative(entry.path(), root).string() + " " +
                      std::to_string(entry.file_size()));
  std::sort(files.begin(), files.end());
  return files;
}

TEST(EndToEnd, IngestingTheSameFileAgainLandsNothing) {
  Workspace workspace;
  fs::path file = Generated(workspace, "sf.csv", 20'000, 4, 0.05, 0.01);
  workspace.IngestAndLoad(file);
  ASSERT_EQ(workspace.Status()["raw_snapshots"], 1);
  std::vector<std::string> raw_before = FilesUnder(workspace.raw_dir());

  ProcessResult again = workspace.Citybooks({"ingest", kDataset, file.string()});
  ASSERT_TRUE(again.exited && again.exit_status == 0) << again.Describe();
  EXPECT_NE(again.out.find("nothing new"), std::string::npos) << again.Describe();
  EXPECT_EQ(again.out.find("landed"), std::string::npos) << again.Describe();
  EXPECT_EQ(workspace.Status()["raw_snapshots"], 1);
  EXPECT_EQ(FilesUnder(workspace.raw_dir()), raw_before);

  // The same bytes copied elsewhere under the same name are the same file.
  fs::path copy = workspace.dir() / "elsewhere" / "sf.csv";
  fs::create_directories(copy.parent_path());
  fs::copy_file(file, copy);
  ProcessResult copied = workspace.Citybooks({"ingest", kDataset, copy.string()});
  ASSERT_TRUE(copied.exited && copied.exit_status == 0) << copied.Describe();
  EXPECT_NE(copied.out.find("nothing new"), std::string::npos) << copied.Describe();
  EXPECT_EQ(workspace.Status()["raw_snapshots"], 1);

  ProcessResult load = workspace.Citybooks({"load", kDataset});
  ASSERT_TRUE(load.exited && load.exit_status == 0) << load.Describe();
  EXPECT_NE(load.out.find("nothing new"), std::string::npos) << load.Describe();
}

// ---------------------------------------------------------------------------
// Partition replacement.

// Rows of `source` (a San Francisco CSV) whose fiscal year is in `years`
// (all rows when empty), every `drop_every`-th dropped (0: none), amounts
// rewritten with NewCents. Writes them to `out`; returns the new totals.
std::map<int64_t, YearTotals> RewriteRows(const fs::path& source, const fs::path& out,
                                          const std::set<std::string>& years, size_t drop_every) {
  std::vector<std::vector<std::string>> records = ParseCsv(ReadFile(source));
  std::map<int64_t, YearTotals> totals;
  std::string text = CsvLine(records.at(0));
  for (size_t i = 1; i < records.size(); ++i) {
    std::vector<std::string>& fields = records[i];
    if (fields.size() != static_cast<size_t>(kSfColumns)) {
      ADD_FAILURE() << "row " << i << " of " << source << " has " << fields.size() << " fields";
      continue;
    }
    if (!years.empty() && !years.count(fields[kSfYearColumn])) continue;
    if (drop_every && i % drop_every == 0) continue;
    int64_t cents = NewCents(i);
    fields[kSfAmountColumn] = FormatCents(cents);
    YearTotals& year = totals[std::stoll(fields[kSfYearColumn])];
    ++year.facts;
    year.cents += cents;
    text += CsvLine(fields);
  }
  fs::create_directories(out.parent_path());
  WriteFile(out, text);
  return totals;
}

TEST(EndToEnd, ChangedFileForSomeYearsReplacesExactlyThoseYears) {
  Workspace workspace;
  fs::path file_a = Generated(workspace, "a/sf.csv", kRows, 11, 0.05, 0.0);
  workspace.IngestAndLoad(file_a);
  std::map<int64_t, YearTotals> before = FactsByYear(workspace);
  ASSERT_TRUE(before.count(2020) && before.count(2021) && before.size() > 10) << Describe(before);
  auto other_years_facts = [&] {
    std::vector<std::string> rows;
    for (std::string& row : DumpTable(workspace.dataset_file(), "fact_transaction", {"run_id"}))
      if (row.rfind("i:2020 ", 0) != 0 && row.rfind("i:2021 ", 0) != 0)
        rows.push_back(std::move(row));
    return rows;
  };
  std::vector<std::string> other_before = other_years_facts();

  // The city republishes fiscal years 2020 and 2021: some rows gone, every
  // amount changed. Same file name, new content.
  std::map<int64_t, YearTotals> changed =
      RewriteRows(file_a, workspace.dir() / "b" / "sf.csv", {"2020", "2021"}, 10);
  ASSERT_EQ(changed.size(), 2u);
  ASSERT_NE(changed[2020], before[2020]);
  ProcessResult ingest =
      workspace.Citybooks({"ingest", kDataset, (workspace.dir() / "b" / "sf.csv").string()});
  ASSERT_TRUE(ingest.exited && ingest.exit_status == 0) << ingest.Describe();
  ASSERT_NE(ingest.out.find("landed snapshot"), std::string::npos) << ingest.Describe();
  ProcessResult load = workspace.Citybooks({"load", kDataset});
  // The majority code of some names differs in 2020-2021 (the chart of
  // accounts changed in 2018); codes decided by the first load must stick.
  ASSERT_TRUE(load.exited && load.exit_status == 0)
      << "a snapshot covering some fiscal years must load over a full one\n"
      << load.Describe();
  EXPECT_NE(load.out.find("replaced fiscal years 2020-2021"), std::string::npos) << load.Describe();

  std::map<int64_t, YearTotals> after = FactsByYear(workspace);
  std::map<int64_t, YearTotals> expected = before;
  expected[2020] = changed[2020];
  expected[2021] = changed[2021];
  EXPECT_EQ(after, expected) << "after:\n"
                             << Describe(after) << "expected:\n"
                             << Describe(expected);
  SameRows(other_before, other_years_facts(), "facts of the years the new file does not cover");
  EXPECT_EQ(workspace.Query("SELECT partitions FROM " + Table("cb_runs") +
                            " ORDER BY run_id DESC LIMIT 1")[0]["partitions"],
            "2020,2021");
  ExpectOneCodePerNamePath(workspace);
  ExpectViewsAgree(workspace);
}

TEST(EndToEnd, SecondSnapshotFavouringOtherCodesKeepsOneCodePerName) {
  // Two full extracts whose dirt favours other codes for a few names, the
  // way a real city's data drifts between monthly extracts.
  Workspace workspace;
  workspace.IngestAndLoad(Generated(workspace, "a/sf.csv", kRows, 1, 0.05, 0.0));
  fs::path file_b = Generated(workspace, "b/sf.csv", 20'000, 7, 0.05, 0.0);
  ProcessResult ingest = workspace.Citybooks({"ingest", kDataset, file_b.string()});
  ASSERT_TRUE(ingest.exited && ingest.exit_status == 0) << ingest.Describe();
  ProcessResult load = workspace.Citybooks({"load", kDataset});
  // The second snapshot favours other codes for some names; the codes the
  // first load decided stick and the others become remaps.
  EXPECT_TRUE(load.exited && load.exit_status == 0)
      << "the second snapshot's load must not be rolled back by many_to_one\n"
      << load.Describe();
  ExpectOneCodePerNamePath(workspace);
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Table("fact_transaction")), 20'000);
  ExpectViewsAgree(workspace);
}

TEST(EndToEnd, SnapshotsIngestedWithinOneSecondLoadInIngestOrder) {
  // A script lands corrections of one fiscal year one after the other, then
  // loads: the last file landed is what the warehouse must hold.
  Workspace workspace;
  fs::path base = Generated(workspace, "base.csv", 200, 8, 0.0, 0.0);
  std::vector<std::vector<std::string>> records = ParseCsv(ReadFile(base));
  ASSERT_GT(records.size(), 6u);
  constexpr int kVersions = 6;
  std::vector<std::string> ids;
  std::vector<YearTotals> totals(kVersions);
  std::vector<fs::path> files;
  for (int version = 0; version < kVersions; ++version) {
    // The same five rows (so the same members) with this version's amounts.
    std::string text = CsvLine(records[0]);
    for (size_t i = 1; i <= 5; ++i) {
      std::vector<std::string> fields = records[i];
      fields[kSfYearColumn] = "2020";
      int64_t cents = 100'000 * (version + 1) + static_cast<int64_t>(i);
      fields[kSfAmountColumn] = FormatCents(cents);
      ++totals[version].facts;
      totals[version].cents += cents;
      text += CsvLine(fields);
    }
    files.push_back(workspace.dir() / ("v" + std::to_string(version)) / "sf.csv");
    fs::create_directories(files.back().parent_path());
    WriteFile(files.back(), text);
    ProcessResult ingest = workspace.Citybooks({"ingest", kDataset, files.back().string()});
    ASSERT_TRUE(ingest.exited && ingest.exit_status == 0) << ingest.Describe();
    std::smatch match;
    ASSERT_TRUE(std::regex_search(ingest.out, match, std::regex(R"(landed snapshot (\S+))")))
        << ingest.Describe();
    ids.push_back(match[1]);
  }
  std::string landed;
  for (const std::string& id : ids) landed += id + "\n";
  // Snapshots landed by separate processes within one second keep the order
  // they were landed in.
  EXPECT_EQ(workspace.Status()["latest_snapshot"]["snapshot_id"], ids.back())
      << "the latest snapshot must be the one landed last; landed in order:\n"
      << landed;

  ProcessResult load = workspace.Citybooks({"load", kDataset});
  ASSERT_TRUE(load.exited && load.exit_status == 0) << load.Describe();
  json order = workspace.Query("SELECT snapshot_id FROM " + Table("cb_runs") + " ORDER BY run_id");
  std::string loaded;
  for (const json& run : order) loaded += run["snapshot_id"].get<std::string>() + "\n";
  EXPECT_EQ(loaded, landed) << "snapshots must load in the order they landed";
  std::map<int64_t, YearTotals> years = FactsByYear(workspace);
  EXPECT_EQ(years[2020], totals.back()) << "fiscal year 2020 must hold the last file landed:\n"
                                        << Describe(years);

  ProcessResult again = workspace.Citybooks({"ingest", kDataset, files.back().string()});
  ASSERT_TRUE(again.exited && again.exit_status == 0) << again.Describe();
  EXPECT_NE(again.out.find("nothing new"), std::string::npos)
      << "the file landed last is already in the raw zone:\n"
      << again.Describe();
}

// ---------------------------------------------------------------------------
// A load killed half-way.

// Everything the loads decided, without what differs between two runs of
// the same work in two folders: snapshot ids, times, source paths (in any
// table, so new metadata tables are covered too) and the run id stamped on
// each fact.
std::map<std::string, std::vector<std::string>> Outcome(const Workspace& workspace) {
  static const std::set<std::string> kVarying = {"snapshot_id", "started_at", "finished_at",
                                                 "fetched_at",  "loaded_at",  "checked_at",
                                                 "source_urls"};
  std::map<std::string, std::set<std::string>> exclude;
  for (const std::string& table : TableNames(workspace.dataset_file())) {
    for (const std::string& column : ColumnNames(workspace.dataset_file(), table))
      if (kVarying.count(column)) exclude[table].insert(column);
  }
  exclude["fact_transaction"].insert("run_id");
  return DumpDatabase(workspace.dataset_file(), exclude);
}

TEST(EndToEnd, LoadKilledHalfWayLeavesTheWarehouseAsItWasAndARerunFinishesIt) {
  Workspace workspace;
  fs::path file_a = Generated(workspace, "a/sf.csv", kRows, 21, 0.05, 0.0);
  fs::path file_b = workspace.dir() / "b" / "sf.csv";
  RewriteRows(file_a, file_b, {}, 0);  // every amount changed
  workspace.IngestAndLoad(file_a);
  ProcessResult ingest = workspace.Citybooks({"ingest", kDataset, file_b.string()});
  ASSERT_TRUE(ingest.exited && ingest.exit_status == 0) << ingest.Describe();

  auto dataset_before = DumpDatabase(workspace.dataset_file());
  auto main_before = DumpDatabase(workspace.warehouse_file());
  ASSERT_EQ(dataset_before["fact_transaction"].size(), static_cast<size_t>(kRows));
  ProcessResult killed = workspace.Citybooks(
      {"load", kDataset}, RunOptions{{}, {{"CITYBOOKS_FAULT_KILL_AFTER_ROWS", "5000"}}});
  ASSERT_FALSE(killed.exited) << killed.Describe();
  ASSERT_EQ(killed.term_signal, SIGKILL) << killed.Describe();

  SameTables(dataset_before, DumpDatabase(workspace.dataset_file()),
             "dataset file after a load killed half-way");
  SameTables(main_before, DumpDatabase(workspace.warehouse_file()),
             "warehouse file after a load killed half-way");
  json status = workspace.Status();
  EXPECT_EQ(status["raw_snapshots"], 2) << status.dump(1);
  EXPECT_EQ(status["pending_snapshots"], 1) << status.dump(1);

  ProcessResult rerun = workspace.Citybooks({"load", kDataset});
  ASSERT_TRUE(rerun.exited && rerun.exit_status == 0) << rerun.Describe();

  Workspace undisturbed;
  undisturbed.IngestAndLoad(file_a);
  undisturbed.IngestAndLoad(file_b);
  EXPECT_EQ(FactsByYear(workspace), FactsByYear(undisturbed))
      << "after the rerun:\n"
      << Describe(FactsByYear(workspace)) << "undisturbed:\n"
      << Describe(FactsByYear(undisturbed));
  auto expected = Outcome(undisturbed);
  ASSERT_EQ(expected["fact_transaction"].size(), static_cast<size_t>(kRows));
  ASSERT_EQ(expected["cb_runs"].size(), 2u);
  SameTables(expected, Outcome(workspace), "rerun after a kill vs undisturbed run");
}

// ---------------------------------------------------------------------------
// Bad usage.

TEST(EndToEnd, UnknownDatasetIsBadUsageNamingIt) {
  Workspace workspace;
  fs::path file = Generated(workspace, "sf.csv", 100, 5, 0.0, 0.0);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"ingest", "no-such-city", file.string()},
                                             {"load", "no-such-city"},
                                             {"status", "no-such-city"}}) {
    ProcessResult result = workspace.Citybooks(args);
    EXPECT_EQ(result.exit_status, 2) << result.Describe();
    ExpectOneErrorLine(result, "no-such-city");
  }
  EXPECT_FALSE(fs::exists(workspace.raw_dir() / "no-such-city"));
}

TEST(EndToEnd, MissingFileIsBadUsageAndLandsNothing) {
  Workspace workspace;
  fs::path file = Generated(workspace, "sf.csv", 100, 5, 0.0, 0.0);
  ProcessResult missing = workspace.Citybooks({"ingest", kDataset, "missing.csv"});
  EXPECT_EQ(missing.exit_status, 2) << missing.Describe();
  ExpectOneErrorLine(missing, "missing.csv");
  // One good file and one missing: nothing lands.
  ProcessResult mixed = workspace.Citybooks({"ingest", kDataset, file.string(), "gone.csv"});
  EXPECT_EQ(mixed.exit_status, 2) << mixed.Describe();
  ExpectOneErrorLine(mixed, "gone.csv");
  EXPECT_EQ(workspace.Status()["raw_snapshots"], 0);
}

TEST(EndToEnd, QueryRefusesWritesAndSeveralStatements) {
  Workspace workspace;
  workspace.IngestAndLoad(Generated(workspace, "sf.csv", 20'000, 6, 0.05, 0.01));
  auto dataset_before = DumpDatabase(workspace.dataset_file());
  auto main_before = DumpDatabase(workspace.warehouse_file());
  ASSERT_GT(dataset_before["fact_transaction"].size(), 15'000u);
  const std::string facts = Table("fact_transaction");
  const std::regex refusal("read-only|only read|one (SQL )?statement", std::regex::icase);
  for (const std::string& sql : std::vector<std::string>{
           "INSERT INTO " + Table("cb_runs") + " (run_id) VALUES (99)",
           "DROP TABLE " + facts,
           "DELETE FROM " + facts,
           "UPDATE " + facts + " SET amount_cents = 0",
           std::string("CREATE TABLE scratch (x)"),
           "ATTACH DATABASE 'attached.db' AS scratch",
           "PRAGMA " + std::string(kSchema) + ".journal_mode = DELETE",
           "SELECT 1; DROP TABLE " + facts,
           "SELECT COUNT(*) FROM " + facts + "; DELETE FROM " + facts,
           "SELECT 1; SELECT 2",
       }) {
    SCOPED_TRACE(sql);
    ProcessResult result = workspace.Citybooks({"query", sql, "--format", "json"});
    ASSERT_TRUE(result.exited) << result.Describe();
    EXPECT_NE(result.exit_status, 0) << result.Describe();
    ExpectOneErrorLine(result, "");
    EXPECT_TRUE(std::regex_search(result.err, refusal))
        << "the refusal should say the query is read-only or one statement:\n"
        << result.Describe();
  }
  EXPECT_FALSE(fs::exists(workspace.dir() / "attached.db"));
  SameTables(dataset_before, DumpDatabase(workspace.dataset_file()),
             "dataset file after refused queries");
  SameTables(main_before, DumpDatabase(workspace.warehouse_file()),
             "warehouse file after refused queries");
}

}  // namespace
}  // namespace citybooks_e2e
