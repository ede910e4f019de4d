// End-to-end tests of `citybooks model`: the real binary generates Phoenix
// data with planted anomalies (a fabricated department, duplicate payments,
// extreme amounts) and the models must find exactly those; a seasonal series
// must be forecast better than last year's total; San Francisco gets its
// yearly models; `run` models after loading.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "e2e_support.h"

namespace citybooks_e2e {
namespace {

using nlohmann::json;

constexpr char kPhoenix[] = "phoenix-checkbook";
constexpr char kFabricated[] = "Parks and Recreation";
constexpr int kPlantedDuplicates = 100;
constexpr int kPlantedExtremes = 20;

std::string Phoenix(const std::string& table) { return std::string("phoenix_checkbook.") + table; }
std::string Sf(const std::string& table) { return std::string("sf_spending_revenue.") + table; }

void ExpectSuccess(const ProcessResult& result) {
  EXPECT_TRUE(result.exited && result.exit_status == 0) << result.Describe();
}

// The fact id the loader gives each line of a Phoenix file whose rows all
// load: fiscal year * 100 + fiscal month (July first), times 10^8, plus the
// row's ordinal within its fiscal month in the file (star_schema.h).
std::map<int64_t, int64_t> PhoenixFactIdsByLine(const fs::path& file) {
  std::vector<std::vector<std::string>> records = ParseCsv(ReadFile(file));
  std::map<int64_t, int64_t> ordinals;
  std::map<int64_t, int64_t> ids;
  for (size_t i = 1; i < records.size(); ++i) {
    int month = 0, day = 0, year = 0;
    if (std::sscanf(records[i].at(0).c_str(), "%d/%d/%d", &month, &day, &year) != 3) {
      ADD_FAILURE() << "line " << i + 1 << " has no M/D/YYYY date: " << records[i][0];
      continue;
    }
    const int64_t fiscal_year = month >= 7 ? year + 1 : year;
    const int64_t fiscal_month = month >= 7 ? month - 6 : month + 6;
    const int64_t partition = fiscal_year * 100 + fiscal_month;
    ids[static_cast<int64_t>(i) + 1] = partition * 100'000'000 + ++ordinals[partition];
  }
  return ids;
}

struct Plant {
  std::string kind;
  int64_t line = 0;
  std::string department;
  std::string vendor;
  std::string amount;
  int64_t of_line = 0;
};

std::vector<Plant> ReadPlants(const fs::path& log) {
  std::vector<std::vector<std::string>> records = ParseCsv(ReadFile(log));
  EXPECT_FALSE(records.empty());
  if (records.empty()) return {};
  EXPECT_EQ(records[0], (std::vector<std::string>{"kind", "line", "date", "department", "vendor",
                                                  "amount", "of_line"}));
  std::vector<Plant> plants;
  for (size_t i = 1; i < records.size(); ++i) {
    const auto& r = records[i];
    plants.push_back(Plant{r.at(0), std::stoll(r.at(1)), r.at(3), r.at(4), r.at(5),
                           r.at(6).empty() ? 0 : std::stoll(r.at(6))});
  }
  return plants;
}

// One Phoenix warehouse with planted anomalies, shared by the tests that
// only read it.
class PlantedPhoenix : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workspace_ = new Workspace();
    csv_ = workspace_->dir() / "phoenix.csv";
    plant_log_ = workspace_->dir() / "plants.csv";
    ProcessResult gen = workspace_->Citybooks(
        {"gen", "phoenix", "--rows", "200000", "--seed", "7", "--out", csv_.string(),
         "--fabricate-department", kFabricated, "--duplicates", std::to_string(kPlantedDuplicates),
         "--extremes", std::to_string(kPlantedExtremes), "--plant-log", plant_log_.string()});
    ExpectSuccess(gen);
    ExpectSuccess(workspace_->Citybooks({"ingest", kPhoenix, csv_.string()}));
    ExpectSuccess(workspace_->Citybooks({"load", kPhoenix}));
    model_ = new ProcessResult(workspace_->Citybooks({"model", kPhoenix}));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete workspace_;
  }

  static Workspace* workspace_;
  static fs::path csv_;
  static fs::path plant_log_;
  static ProcessResult* model_;
};
Workspace* PlantedPhoenix::workspace_ = nullptr;
fs::path PlantedPhoenix::csv_;
fs::path PlantedPhoenix::plant_log_;
ProcessResult* PlantedPhoenix::model_ = nullptr;

TEST_F(PlantedPhoenix, ModelPrintsOneLinePerModelAndRecordsTheRun) {
  ExpectSuccess(*model_);
  for (const char* model :
       {"model_benford: ", "model_duplicate_payments: ", "model_outliers: ", "model_forecast: "})
    EXPECT_NE(model_->out.find(std::string("  ") + model), std::string::npos) << model << "\n"
                                                                              << model_->Describe();
  const int64_t facts = workspace_->QueryInt("SELECT COUNT(*) FROM " + Phoenix("fact_payment"));
  EXPECT_EQ(facts, 200'000 + kPlantedDuplicates);
  json runs = workspace_->Query("SELECT status, rows_read, rows_loaded, message FROM " +
                                Phoenix("cb_runs") + " WHERE command = 'model'");
  ASSERT_EQ(runs.size(), 1u) << runs.dump(1);
  EXPECT_EQ(runs[0]["status"], "succeeded");
  EXPECT_EQ(runs[0]["rows_read"], facts);
  EXPECT_GT(runs[0]["rows_loaded"].get<int64_t>(), 0);
  EXPECT_NE(runs[0]["message"].get<std::string>().find("model_benford: "), std::string::npos);
}

TEST_F(PlantedPhoenix, FabricatedDepartmentFailsBenfordAndUntouchedDepartmentsConform) {
  json rows = workspace_->Query("SELECT group_name, amounts, mad, conformity FROM " +
                                Phoenix("model_benford") +
                                " WHERE group_kind = 'department' AND test = 'first_digit'");
  ASSERT_GE(rows.size(), 25u) << rows.dump(1);
  int judged = 0;
  for (const json& row : rows) {
    const std::string department = row["group_name"];
    SCOPED_TRACE(row.dump());
    if (department == kFabricated) {
      EXPECT_EQ(row["conformity"], "nonconformity");
      EXPECT_GT(row["mad"].get<double>(), 0.015);
    } else if (row["amounts"].get<int64_t>() >= 1000) {
      ++judged;
      EXPECT_TRUE(row["conformity"] == "close" || row["conformity"] == "acceptable");
    } else {
      EXPECT_EQ(row["conformity"], "small_sample");
    }
  }
  EXPECT_GE(judged, 20);
  // The digits of every group: 9 for the first digit, 90 for the first two,
  // observed shares summing to 1.
  json digits = workspace_->Query(
      "SELECT test, COUNT(*) AS digits, SUM(observed) AS observed, SUM(expected) AS expected "
      "FROM " +
      Phoenix("model_benford_digits") +
      " WHERE group_kind = 'dataset' GROUP BY test ORDER BY test");
  ASSERT_EQ(digits.size(), 2u) << digits.dump(1);
  EXPECT_EQ(digits[0]["digits"], 9);
  EXPECT_EQ(digits[1]["digits"], 90);
  for (const json& test : digits) {
    EXPECT_NEAR(test["observed"].get<double>(), 1.0, 1e-9);
    EXPECT_NEAR(test["expected"].get<double>(), 1.0, 1e-9);
  }
  // Vendors are groups too.
  EXPECT_GT(workspace_->QueryInt("SELECT COUNT(*) FROM " + Phoenix("model_benford") +
                                 " WHERE group_kind = 'vendor'"),
            100);
}

TEST_F(PlantedPhoenix, EveryPlantedDuplicateIsFoundAndFewFlaggedPairsAreNot) {
  std::map<int64_t, int64_t> ids = PhoenixFactIdsByLine(csv_);
  std::set<std::pair<int64_t, int64_t>> planted;
  for (const Plant& plant : ReadPlants(plant_log_))
    if (plant.kind == "duplicate") planted.emplace(ids.at(plant.of_line), ids.at(plant.line));
  ASSERT_EQ(planted.size(), static_cast<size_t>(kPlantedDuplicates));

  json pairs = workspace_->Query(
      "SELECT pair, payment_id_a, payment_id_b, vendor_key, days_apart, score, payment_date_a, "
      "payment_date_b FROM " +
      Phoenix("model_duplicate_payments") + " ORDER BY pair");
  std::set<std::pair<int64_t, int64_t>> flagged;
  int not_planted = 0;
  for (const json& pair : pairs) {
    auto ids_of =
        std::make_pair(pair["payment_id_a"].get<int64_t>(), pair["payment_id_b"].get<int64_t>());
    flagged.insert(ids_of);
    if (!planted.count(ids_of)) ++not_planted;
    EXPECT_LE(pair["days_apart"].get<int64_t>(), 30) << pair.dump();
    EXPECT_GE(pair["score"].get<double>(), 0.8) << pair.dump();
    EXPECT_LE(pair["payment_date_a"].get<std::string>(), pair["payment_date_b"].get<std::string>());
  }
  for (const auto& pair : planted)
    EXPECT_TRUE(flagged.count(pair))
        << "planted duplicate " << pair.first << " / " << pair.second << " was not flagged";
  EXPECT_LE(not_planted * 20, static_cast<int>(pairs.size()))
      << not_planted << " of " << pairs.size() << " flagged pairs were not planted";
  // Pairs are numbered by score, strongest first.
  for (size_t i = 1; i < pairs.size(); ++i)
    EXPECT_GE(pairs[i - 1]["score"].get<double>(), pairs[i]["score"].get<double>());
}

TEST_F(PlantedPhoenix, PlantedExtremesRankAtTheTopOfTheOutliers) {
  std::map<int64_t, int64_t> ids = PhoenixFactIdsByLine(csv_);
  std::set<int64_t> planted;
  for (const Plant& plant : ReadPlants(plant_log_))
    if (plant.kind == "extreme") planted.insert(ids.at(plant.line));
  ASSERT_EQ(planted.size(), static_cast<size_t>(kPlantedExtremes));
  json top = workspace_->Query(
      "SELECT rank, fact_id, peer_group, department, detail, amount_cents, median, robust_z FROM " +
      Phoenix("model_outliers") + " WHERE rank <= " + std::to_string(kPlantedExtremes) +
      " ORDER BY rank");
  ASSERT_EQ(top.size(), static_cast<size_t>(kPlantedExtremes));
  for (const json& row : top) {
    EXPECT_TRUE(planted.count(row["fact_id"].get<int64_t>())) << row.dump();
    EXPECT_EQ(row["peer_group"].get<std::string>(),
              row["department"].get<std::string>() + " / " + row["detail"].get<std::string>());
    EXPECT_GT(row["robust_z"].get<double>(), 3.5);
  }
  // Ranks are 1..n without gaps, by |z|.
  json all = workspace_->Query("SELECT rank, ABS(robust_z) AS z FROM " + Phoenix("model_outliers") +
                               " ORDER BY rank");
  ASSERT_EQ(all.size(), 1000u);  // outlier_max_rows
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i]["rank"], static_cast<int64_t>(i + 1));
    if (i > 0) {
      EXPECT_GE(all[i - 1]["z"].get<double>(), all[i]["z"].get<double>());
    }
  }
}

TEST_F(PlantedPhoenix, AnomaliesChangeOnlyTheirOwnRowsOfTheFile) {
  // The same seed without anomalies: every line but the planted ones is the
  // same, and planted amounts change nothing but the amount.
  const fs::path plain = workspace_->dir() / "plain.csv";
  ExpectSuccess(workspace_->Citybooks(
      {"gen", "phoenix", "--rows", "200000", "--seed", "7", "--out", plain.string()}));
  std::vector<std::string> with = Lines(ReadFile(csv_));
  std::vector<std::string> without = Lines(ReadFile(plain));
  std::map<int64_t, std::string> kinds;
  for (const Plant& plant : ReadPlants(plant_log_)) kinds[plant.line] = plant.kind;
  EXPECT_EQ(with.size(), without.size() + kPlantedDuplicates);
  size_t p = 0;
  int fabricated = 0;
  for (size_t w = 0; w < with.size(); ++w) {
    auto kind = kinds.find(static_cast<int64_t>(w) + 1);
    if (kind != kinds.end() && kind->second == "duplicate") continue;
    ASSERT_LT(p, without.size());
    if (kind == kinds.end()) {
      ASSERT_EQ(with[w], without[p]) << "line " << w + 1;
    } else {
      fabricated += kind->second == "fabricated";
      std::vector<std::string> a = ParseCsv(with[w]).at(0);
      std::vector<std::string> b = ParseCsv(without[p]).at(0);
      ASSERT_EQ(a.size(), 5u);
      EXPECT_EQ(std::vector<std::string>(a.begin(), a.begin() + 4),
                std::vector<std::string>(b.begin(), b.begin() + 4))
          << "line " << w + 1;
    }
    ++p;
  }
  EXPECT_EQ(p, without.size());
  EXPECT_GT(fabricated, 5000);  // every row of a department with ~6% of the payments
}

TEST(ModelEndToEnd, SeasonalForecastBeatsLastYearsTotalAndStoresBothErrors) {
  Workspace workspace;
  const fs::path csv = workspace.dir() / "phoenix.csv";
  ExpectSuccess(workspace.Citybooks(
      {"gen", "phoenix", "--rows", "200000", "--seed", "11", "--out", csv.string()}));
  ExpectSuccess(workspace.Citybooks({"ingest", kPhoenix, csv.string()}));
  ExpectSuccess(workspace.Citybooks({"load", kPhoenix}));
  ProcessResult model = workspace.Citybooks({"model", kPhoenix});
  ExpectSuccess(model);
  json rows = workspace.Query(
      "SELECT department, fiscal_year, method, actual_to_date, forecast, periods_observed, "
      "backtest_error, baseline_error, error_measure FROM " +
      Phoenix("model_forecast"));
  ASSERT_EQ(rows.size(), 31u) << rows.dump(1);
  double model_error = 0, baseline_error = 0, weights = 0;
  int better = 0;
  for (const json& row : rows) {
    SCOPED_TRACE(row.dump());
    EXPECT_EQ(row["fiscal_year"], 2024);  // FY2019-FY2023 are complete: the next is projected
    EXPECT_EQ(row["method"], "monthly_seasonal");
    EXPECT_EQ(row["periods_observed"], 0);
    EXPECT_EQ(row["error_measure"], "MAPE %");
    ASSERT_TRUE(row["backtest_error"].is_number());
    ASSERT_TRUE(row["baseline_error"].is_number());
    const double weight = std::fabs(row["forecast"].get<double>());
    model_error += weight * row["backtest_error"].get<double>();
    baseline_error += weight * row["baseline_error"].get<double>();
    weights += weight;
    better += row["backtest_error"].get<double>() < row["baseline_error"].get<double>();
  }
  EXPECT_LT(model_error / weights, baseline_error / weights);
  EXPECT_GT(better * 2, static_cast<int>(rows.size()));
  // The series: five years of actual months, and the projected year's
  // months forecast; June (the year-end push) above July.
  json series =
      workspace.Query("SELECT period, actual, forecast FROM " + Phoenix("model_forecast_series") +
                      " WHERE department = 'Police' ORDER BY period");
  ASSERT_EQ(series.size(), 6u * 12) << series.dump(1);
  EXPECT_EQ(series.front()["period"], "2018-07");
  EXPECT_EQ(series.back()["period"], "2024-06");
  EXPECT_TRUE(series[59]["actual"].is_number());
  EXPECT_TRUE(series[60]["actual"].is_null());
  EXPECT_GT(series[71]["forecast"].get<double>(), series[60]["forecast"].get<double>());
  EXPECT_NE(model.out.find("departments projected to the end of fiscal year 2024"),
            std::string::npos)
      << model.Describe();
}

TEST(ModelEndToEnd, AYearUnderWayIsProjectedToItsEnd) {
  Workspace workspace;
  const fs::path full = workspace.dir() / "full.csv";
  ExpectSuccess(workspace.Citybooks(
      {"gen", "phoenix", "--rows", "200000", "--seed", "11", "--out", full.string()}));
  // The city's files through November 2022: FY2023 five months in.
  std::vector<std::string> lines = Lines(ReadFile(full));
  std::string partial = lines[0] + "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    int month = 0, day = 0, year = 0;
    ASSERT_EQ(std::sscanf(lines[i].c_str(), "%d/%d/%d", &month, &day, &year), 3);
    if (year * 100 + month < 202212) partial += lines[i] + "\n";
  }
  const fs::path csv = workspace.dir() / "partial.csv";
  WriteFile(csv, partial);
  ExpectSuccess(workspace.Citybooks({"ingest", kPhoenix, csv.string()}));
  ExpectSuccess(workspace.Citybooks({"load", kPhoenix}));
  ExpectSuccess(workspace.Citybooks({"model", kPhoenix}));
  json rows = workspace.Query(
      "SELECT SUM(actual_to_date) AS to_date, SUM(forecast) AS forecast, "
      "MIN(fiscal_year) AS first, MAX(fiscal_year) AS last, "
      "MIN(periods_observed) AS fewest, MAX(periods_observed) AS most "
      "FROM " +
      Phoenix("model_forecast"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["first"], 2023);
  EXPECT_EQ(rows[0]["last"], 2023);
  EXPECT_EQ(rows[0]["fewest"], 5);
  EXPECT_EQ(rows[0]["most"], 5);
  // The city's whole FY2023, from the full file, against the projections.
  Workspace full_workspace;
  ExpectSuccess(full_workspace.Citybooks({"ingest", kPhoenix, full.string()}));
  ExpectSuccess(full_workspace.Citybooks({"load", kPhoenix}));
  const double actual = static_cast<double>(full_workspace.QueryInt(
                            "SELECT SUM(amount_cents) FROM " + Phoenix("fact_payment") +
                            " WHERE fiscal_year = 2023")) /
                        100.0;
  const double to_date = rows[0]["to_date"].get<double>();
  const double forecast = rows[0]["forecast"].get<double>();
  EXPECT_LT(to_date, actual * 0.6);
  EXPECT_NEAR(forecast, actual, actual * 0.15) << "to date " << to_date;
  // Months not yet seen have forecasts but no actuals.
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Phoenix("model_forecast_series") +
                               " WHERE period = '2022-12' AND actual IS NULL AND forecast IS NOT "
                               "NULL"),
            workspace.QueryInt("SELECT COUNT(*) FROM " + Phoenix("model_forecast")));
}

// San Francisco's rows are fiscal year x program x type x fund: a fiscal
// year x department x object peer group holds few of them, fewer than the
// default minimum of 30 in a small sample.
fs::path SmallPeerGroupsConfig(const Workspace& workspace) {
  const fs::path config = workspace.dir() / "citybooks.toml";
  WriteFile(config, "[datasets.sf-spending-revenue.models]\noutlier_min_group_size = 5\n");
  return config;
}

TEST(ModelEndToEnd, SanFranciscoGetsBenfordOutliersAndAYearlyTrend) {
  Workspace workspace;
  const fs::path csv = workspace.dir() / "sf.csv";
  workspace.Generate(csv, 50'000, 3, 0.05, 0.0);
  workspace.IngestAndLoad(csv);
  ProcessResult model = workspace.Citybooks(
      {"--config", SmallPeerGroupsConfig(workspace).string(), "model", kDataset});
  ExpectSuccess(model);
  EXPECT_NE(model.out.find("model_duplicate_payments: not declared"), std::string::npos)
      << model.Describe();
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Sf("model_duplicate_payments")), 0);
  json groups = workspace.Query("SELECT group_kind, COUNT(*) AS n FROM " + Sf("model_benford") +
                                " WHERE test = 'first_digit' GROUP BY group_kind ORDER BY 1");
  ASSERT_EQ(groups.size(), 2u) << groups.dump();
  EXPECT_EQ(groups[0]["group_kind"], "dataset");
  EXPECT_EQ(groups[0]["n"], 1);
  EXPECT_EQ(groups[1]["group_kind"], "department");
  EXPECT_GT(groups[1]["n"].get<int64_t>(), 20);
  EXPECT_EQ(
      workspace.Query("SELECT conformity FROM " + Sf("model_benford") +
                      " WHERE group_kind = 'dataset' AND test = 'first_digit'")[0]["conformity"],
      "close");
  // Peer groups are fiscal year x department x object.
  json outliers = workspace.Query("SELECT peer_group, fiscal_year, department, detail FROM " +
                                  Sf("model_outliers") + " WHERE rank <= 5");
  ASSERT_FALSE(outliers.empty());
  for (const json& row : outliers)
    EXPECT_EQ(row["peer_group"].get<std::string>(),
              "FY" + std::to_string(row["fiscal_year"].get<int64_t>()) + " / " +
                  row["department"].get<std::string>() + " / " + row["detail"].get<std::string>());
  // Spending per department, trended to the year after the last.
  json forecasts = workspace.Query("SELECT DISTINCT fiscal_year, method, periods_observed FROM " +
                                   Sf("model_forecast"));
  ASSERT_EQ(forecasts.size(), 1u) << forecasts.dump();
  EXPECT_EQ(forecasts[0]["fiscal_year"], 2024);
  EXPECT_EQ(forecasts[0]["method"], "yearly_trend");
  EXPECT_EQ(forecasts[0]["periods_observed"], 0);
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Sf("model_forecast") +
                               " WHERE backtest_error IS NULL OR baseline_error IS NULL"),
            0);
  json series = workspace.Query("SELECT MIN(period) AS first, MAX(period) AS last FROM " +
                                Sf("model_forecast_series"));
  EXPECT_EQ(series[0]["first"], "1999");
  EXPECT_EQ(series[0]["last"], "2024");
}

TEST(ModelEndToEnd, ModellingAgainReplacesTheResults) {
  Workspace workspace;
  const fs::path csv = workspace.dir() / "sf.csv";
  workspace.Generate(csv, 20'000, 4, 0.05, 0.0);
  workspace.IngestAndLoad(csv);
  const std::string config = SmallPeerGroupsConfig(workspace).string();
  ExpectSuccess(workspace.Citybooks({"--config", config, "model", kDataset}));
  const std::set<std::string> run_id = {"run_id"};
  std::map<std::string, std::vector<std::string>> first;
  for (const char* table : {"model_benford", "model_benford_digits", "model_outliers",
                            "model_forecast", "model_forecast_series"})
    first[table] = DumpTable(workspace.dataset_file(), table, run_id);
  ExpectSuccess(workspace.Citybooks({"--config", config, "model", kDataset}));
  for (const auto& [table, rows] : first) {
    EXPECT_FALSE(rows.empty()) << table;
    SameRows(rows, DumpTable(workspace.dataset_file(), table, run_id), table + " modelled again");
    EXPECT_EQ(workspace.QueryInt("SELECT COUNT(DISTINCT run_id) FROM " + Sf(table)), 1) << table;
  }
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Sf("cb_runs") +
                               " WHERE command = 'model' AND status = 'succeeded'"),
            2);
}

TEST(ModelEndToEnd, DatasetsWithoutFactsSaySo) {
  Workspace workspace;
  ProcessResult model = workspace.Citybooks({"model"});
  ExpectSuccess(model);
  for (const char* dataset : {kDataset, kPhoenix})
    EXPECT_NE(model.out.find(std::string(dataset) + ": no facts loaded yet"), std::string::npos)
        << model.Describe();
}

TEST(ModelEndToEnd, ConfigParametersApplyAndBadOnesAreUsageErrors) {
  Workspace workspace;
  const fs::path csv = workspace.dir() / "phoenix.csv";
  ExpectSuccess(workspace.Citybooks({"gen", "phoenix", "--rows", "40000", "--seed", "5", "--out",
                                     csv.string(), "--duplicates", "50"}));
  ExpectSuccess(workspace.Citybooks({"ingest", kPhoenix, csv.string()}));
  ExpectSuccess(workspace.Citybooks({"load", kPhoenix}));
  const fs::path config = workspace.dir() / "citybooks.toml";
  WriteFile(config,
            "[models]\noutlier_max_rows = 7\n\n[datasets.phoenix-checkbook.models]\n"
            "duplicate_window_days = 2\n");
  ExpectSuccess(workspace.Citybooks({"--config", config.string(), "model", kPhoenix}));
  EXPECT_EQ(workspace.QueryInt("SELECT COUNT(*) FROM " + Phoenix("model_outliers")), 7);
  const int64_t pairs =
      workspace.QueryInt("SELECT COUNT(*) FROM " + Phoenix("model_duplicate_payments"));
  EXPECT_GT(pairs, 0);
  EXPECT_LT(pairs, 50);  // copies come 1 to 7 days later
  EXPECT_LE(
      workspace.QueryInt("SELECT MAX(days_apart) FROM " + Phoenix("model_duplicate_payments")), 2);

  WriteFile(config, "[models]\noutlier_threshold = \"high\"\n");
  ProcessResult bad = workspace.Citybooks({"--config", config.string(), "model", kPhoenix});
  EXPECT_EQ(bad.exit_status, 2) << bad.Describe();
  ExpectOneErrorLine(bad, "models.outlier_threshold (line 2)");

  ProcessResult sf_anomalies =
      workspace.Citybooks({"gen", "sf", "--rows", "10", "--out", "sf.csv", "--duplicates", "3"});
  EXPECT_EQ(sf_anomalies.exit_status, 2) << sf_anomalies.Describe();
  ExpectOneErrorLine(sf_anomalies, "Phoenix data only");
  ProcessResult unknown = workspace.Citybooks({"gen", "phoenix", "--rows", "10", "--out", "p.csv",
                                               "--fabricate-department", "Ministry of Magic"});
  EXPECT_EQ(unknown.exit_status, 2) << unknown.Describe();
  ExpectOneErrorLine(unknown, "Ministry of Magic");
}

TEST(ModelEndToEnd, RunModelsAfterLoadingAndOnlyWhenSomethingNewLoaded) {
  Workspace workspace;
  const fs::path config = workspace.dir() / "citybooks.toml";
  // A city fed by `ingest` (source "file"): run skips its extract.
  WriteFile(config, "[datasets.phoenix-checkbook]\nsource = \"file\"\n");
  const fs::path csv = workspace.dir() / "phoenix.csv";
  ExpectSuccess(workspace.Citybooks(
      {"gen", "phoenix", "--rows", "20000", "--seed", "3", "--out", csv.string()}));
  ExpectSuccess(
      workspace.Citybooks({"--config", config.string(), "ingest", kPhoenix, csv.string()}));
  ProcessResult run = workspace.Citybooks({"--config", config.string(), "run", kPhoenix});
  ExpectSuccess(run);
  EXPECT_NE(run.out.find("modelled phoenix-checkbook from 20,000 facts"), std::string::npos)
      << run.Describe();
  EXPECT_GT(workspace.QueryInt("SELECT COUNT(*) FROM " + Phoenix("model_benford")), 0);
  ProcessResult again = workspace.Citybooks({"--config", config.string(), "run", kPhoenix});
  ExpectSuccess(again);
  EXPECT_NE(again.out.find("phoenix-checkbook: models are up to date"), std::string::npos)
      << again.Describe();
  EXPECT_EQ(
      workspace.QueryInt("SELECT COUNT(*) FROM " + Phoenix("cb_runs") + " WHERE command = 'model'"),
      1);
}

}  // namespace
}  // namespace citybooks_e2e
