// Collecting from the portals, end to end: the real `citybooks` binary
// against the portal emulator (tests/emulator), which behaves like Socrata
// and CKAN and injects the faults the real services produce.
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "e2e_support.h"
#include "emulator/portal_emulator.h"

namespace citybooks_e2e {
namespace {

using citybooks::emulator::CkanResource;
using citybooks::emulator::Fault;
using citybooks::emulator::FaultRule;
using citybooks::emulator::PortalEmulator;
using namespace std::chrono_literals;

const char kSf[] = "sf-spending-revenue";
const char kPhoenix[] = "phoenix-checkbook";
const char kPhoenixHeader[] =
    "Check/Payment Date,Dept. Descrptn,Vendor Name,Commitmt Item Name,Invoice Net Amt\n";

class ExtractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = PortalEmulator::Start();
    ASSERT_TRUE(started) << started.error();
    portal_ = std::move(*started);
    WriteFile(workspace_.dir() / "citybooks.toml",
              "[datasets.sf-spending-revenue]\nbase_url = \"" + portal_->base_url() +
                  "\"\n\n[datasets.phoenix-checkbook]\nbase_url = \"" + portal_->base_url() +
                  "\"\n");
  }

  // citybooks with the emulator's config; retries wait at most 50 ms so the
  // fault tests stay fast (the backoff itself is tested in net_test).
  ProcessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", (workspace_.dir() / "citybooks.toml").string()});
    RunOptions options;
    options.env = {{"CITYBOOKS_HTTP_INITIAL_BACKOFF_MS", "10"},
                   {"CITYBOOKS_HTTP_MAX_BACKOFF_MS", "50"}};
    return workspace_.Citybooks(args, options);
  }

  // Rows of a generated SF file: its header and data rows.
  std::vector<std::vector<std::string>> GeneratedSf(int64_t rows, int64_t seed) {
    fs::path file = workspace_.dir() / ("gen-" + std::to_string(seed) + ".csv");
    workspace_.Generate(file, rows, seed, 0.05, 0.0);
    return ParseCsv(ReadFile(file));
  }

  void ServeSf(const std::vector<std::vector<std::string>>& csv, std::chrono::sys_seconds at) {
    std::vector<std::vector<std::string>> rows(csv.begin() + 1, csv.end());
    portal_->SetSocrataDataset("bpnb-jwfb", csv[0], rows, at);
  }

  int64_t RawSnapshots(const std::string& dataset) {
    ProcessResult status = Run({"status", dataset, "--format", "json"});
    EXPECT_EQ(status.exit_status, 0) << status.Describe();
    auto parsed = nlohmann::json::parse(status.out, nullptr, false);
    if (!parsed.is_array() || parsed.empty()) return -1;
    return parsed[0]["raw_snapshots"].get<int64_t>();
  }

  // Every data row of every file landed for `dataset`, sorted.
  std::vector<std::string> LandedRows(const std::string& dataset) {
    std::vector<std::string> rows;
    for (const auto& entry : fs::recursive_directory_iterator(workspace_.raw_dir() / dataset)) {
      if (entry.path().extension() != ".csv") continue;
      auto parsed = ParseCsv(ReadFile(entry.path()));
      for (size_t i = 1; i < parsed.size(); ++i) rows.push_back(CsvLine(parsed[i]));
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  Workspace workspace_;
  std::unique_ptr<PortalEmulator> portal_;
};

TEST_F(ExtractTest, MultiPageSocrataPullSurvivesEveryFaultAndLandsEachRowOnce) {
  auto csv = GeneratedSf(120'000, 3);  // three pages of at most 50,000
  ServeSf(csv, std::chrono::sys_seconds{1'700'000'000s});
  // Every kind of fault, spread over the count and page requests, and the
  // throttling anonymous clients get (no SOCRATA_APP_TOKEN here).
  portal_->SetThrottle(4);
  portal_->AddFault({.path_prefix = "/resource/", .fault = Fault::TooManyRequests(1), .times = 1});
  portal_->AddFault(
      {.path_prefix = "/resource/", .fault = Fault::Status(500), .times = 2, .every = 3});
  portal_->AddFault(
      {.path_prefix = "/resource/", .fault = Fault::NotReady(), .times = 1, .every = 4});
  portal_->AddFault(
      {.path_prefix = "/resource/", .fault = Fault::ResetMidBody(), .times = 1, .every = 5});
  portal_->AddFault(
      {.path_prefix = "/resource/", .fault = Fault::TruncatedGzip(), .times = 1, .every = 2});
  portal_->AddFault({.path_prefix = "/resource/", .fault = Fault::Delay(200ms), .times = 2});
  portal_->AddFault({.path_prefix = "/api/views/", .fault = Fault::Status(503), .times = 1});

  ProcessResult extract = Run({"extract", kSf});
  ASSERT_EQ(extract.exit_status, 0) << extract.Describe();
  EXPECT_NE(extract.out.find("120,000 rows"), std::string::npos) << extract.Describe();
  std::string faults;
  for (const auto& request : portal_->Requests()) faults += request.fault + ";";
  for (const char* kind : {"status 429", "status 500", "status 202", "status 503", "reset mid-body",
                           "truncated gzip", "delay"})
    EXPECT_NE(faults.find(kind), std::string::npos) << kind << " never fired: " << faults;

  std::vector<std::string> expected;
  for (size_t i = 1; i < csv.size(); ++i) expected.push_back(CsvLine(csv[i]));
  std::sort(expected.begin(), expected.end());
  EXPECT_TRUE(LandedRows(kSf) == expected) << "the landed rows differ from the portal's";

  ProcessResult load = Run({"load", kSf});
  ASSERT_EQ(load.exit_status, 0) << load.Describe();
  EXPECT_NE(load.out.find("rows read 120,000"), std::string::npos) << load.Describe();
}

TEST_F(ExtractTest, UnchangedSocrataDatasetCostsOneRequestAndLandsNothing) {
  auto first = GeneratedSf(2'000, 4);
  ServeSf(first, std::chrono::sys_seconds{1'700'000'000s});
  ASSERT_EQ(Run({"run", kSf}).exit_status, 0);
  portal_->ClearRequests();
  ProcessResult again = Run({"extract", kSf});
  ASSERT_EQ(again.exit_status, 0) << again.Describe();
  EXPECT_LE(portal_->CountRequests("/"), 2u);
  EXPECT_NE(again.out.find("nothing landed"), std::string::npos) << again.Describe();
  EXPECT_EQ(RawSnapshots(kSf), 1);

  // New data: a new snapshot lands and the load replaces what it covers.
  auto second = GeneratedSf(1'500, 5);
  ServeSf(second, std::chrono::sys_seconds{1'700'100'000s});
  ProcessResult run = Run({"run", kSf});
  ASSERT_EQ(run.exit_status, 0) << run.Describe();
  EXPECT_EQ(RawSnapshots(kSf), 2);
  int64_t second_years_facts = workspace_.QueryInt(
      "SELECT COUNT(*) FROM sf_spending_revenue.fact_transaction WHERE run_id = "
      "(SELECT MAX(run_id) FROM sf_spending_revenue.cb_runs WHERE command = 'load')");
  EXPECT_EQ(second_years_facts, 1'500);
}

TEST_F(ExtractTest, RunEveryRepeatsCyclesOneAfterAnother) {
  ServeSf(GeneratedSf(1'000, 8), std::chrono::sys_seconds{1'700'000'000s});
  // Six seconds of `run --every 1s`, then SIGTERM. Only "more than one
  // cycle, one after another" is asserted, so a slow machine cannot fail it.
  std::vector<std::string> argv = {"/usr/bin/timeout",
                                   "6",
                                   CitybooksPath(),
                                   "--config",
                                   (workspace_.dir() / "citybooks.toml").string(),
                                   "--raw",
                                   "file://" + workspace_.raw_dir().string(),
                                   "--warehouse",
                                   "sqlite://" + workspace_.warehouse_file().string(),
                                   "run",
                                   kSf,
                                   "--every",
                                   "1s"};
  RunOptions options;
  options.cwd = workspace_.dir();
  ProcessResult run = RunProcess(argv, options);
  EXPECT_EQ(run.exit_status, 124) << run.Describe();  // ended by timeout, not by an error
  // The first cycle lands and loads; the later ones find nothing new, and
  // since cycles never overlap there is one snapshot and one load.
  size_t cycles = 0;
  for (const std::string& line : Lines(run.out))
    if (line.rfind("sf-spending-revenue: ", 0) == 0 &&
        (line.find("landed snapshot") != std::string::npos ||
         line.find("unchanged since") != std::string::npos))
      ++cycles;
  EXPECT_GE(cycles, 2u) << run.Describe();
  EXPECT_LE(cycles, 7u) << run.Describe();  // at most one a second
  EXPECT_EQ(RawSnapshots(kSf), 1);
  EXPECT_EQ(workspace_.QueryInt(
                "SELECT COUNT(*) FROM sf_spending_revenue.cb_runs WHERE command = 'load'"),
            1);
}

TEST_F(ExtractTest, CkanFetchesOnlyNewAndChangedResources) {
  auto month = [](int m, const std::string& amount) {
    return std::string(kPhoenixHeader) + std::to_string(m) +
           "/14/2021,Police,21ST CENTURY POLICING LLC,Cons/Other Prof Svcs,\"" + amount + "\"\n";
  };
  portal_->SetCkanPackage(
      "city-checkbook",
      {CkanResource{.id = "r7", .name = "July 2021", .bytes = month(7, "1.00")},
       CkanResource{.id = "r8", .name = "August 2021", .bytes = month(8, "2.00")},
       CkanResource{.id = "r9", .name = "September 2021", .bytes = month(9, "3.00")}});
  ProcessResult first = Run({"extract", kPhoenix});
  ASSERT_EQ(first.exit_status, 0) << first.Describe();
  EXPECT_NE(first.out.find("3 files"), std::string::npos) << first.Describe();

  portal_->UpsertCkanResource(
      "city-checkbook",
      CkanResource{.id = "r10", .name = "October 2021", .bytes = month(10, "4.00")});
  portal_->ClearRequests();
  ProcessResult second = Run({"extract", kPhoenix});
  ASSERT_EQ(second.exit_status, 0) << second.Describe();
  EXPECT_NE(second.out.find("1 file,"), std::string::npos) << second.Describe();
  EXPECT_EQ(portal_->CountRequests("/dataset/"), 1u);

  portal_->UpsertCkanResource(
      "city-checkbook",
      CkanResource{.id = "r8", .name = "August 2021", .bytes = month(8, "20,000.00")});
  portal_->ClearRequests();
  ProcessResult third = Run({"extract", kPhoenix});
  ASSERT_EQ(third.exit_status, 0) << third.Describe();
  EXPECT_EQ(portal_->CountRequests("/dataset/"), 1u);

  ProcessResult load = Run({"load", kPhoenix});
  ASSERT_EQ(load.exit_status, 0) << load.Describe();
  EXPECT_EQ(workspace_.QueryInt("SELECT SUM(amount_cents) FROM phoenix_checkbook.fact_payment"),
            100 + 2'000'000 + 300 + 400);
}

TEST_F(ExtractTest, RunLoadsBothCitiesFromThePortals) {
  ServeSf(GeneratedSf(3'000, 6), std::chrono::sys_seconds{1'700'000'000s});
  std::string sample =
      ReadFile(fs::path(CITYBOOKS_SOURCE_DIR) / "data/reference/phoenix/sample_rows.csv");
  portal_->SetCkanPackage("city-checkbook",
                          {CkanResource{.id = "jul", .name = "July 2021", .bytes = sample},
                           CkanResource{.id = "bad",
                                        .name = "August 2021",
                                        .bytes = std::string(kPhoenixHeader) +
                                                 "8/2/2021,Fire,ACME INC,Fuel,\"1,000.00\"\n"
                                                 "8/45/2021,Fire,ACME INC,Fuel,5.00\n"}});
  ProcessResult run = Run({"run"});
  ASSERT_EQ(run.exit_status, 0) << run.Describe();
  EXPECT_EQ(workspace_.QueryInt("SELECT COUNT(*) FROM sf_spending_revenue.fact_transaction") +
                workspace_.QueryInt("SELECT COUNT(*) FROM sf_spending_revenue.cb_quarantine"),
            3'000);
  nlohmann::json phoenix = workspace_.Query(
      "SELECT rows_read, rows_loaded, rows_quarantined, amount_read_cents, amount_loaded_cents, "
      "amount_quarantined_cents FROM phoenix_checkbook.cb_runs WHERE status = 'succeeded' AND "
      "command = 'load'");
  ASSERT_EQ(phoenix.size(), 1u);
  EXPECT_EQ(phoenix[0]["rows_read"], 9);
  EXPECT_EQ(phoenix[0]["rows_loaded"], 8);
  EXPECT_EQ(phoenix[0]["rows_quarantined"], 1);
  EXPECT_EQ(phoenix[0]["amount_read_cents"].get<int64_t>(),
            phoenix[0]["amount_loaded_cents"].get<int64_t>() +
                phoenix[0]["amount_quarantined_cents"].get<int64_t>());
  EXPECT_EQ(workspace_.QueryInt("SELECT SUM(amount_cents) FROM phoenix_checkbook.fact_payment"),
            25499 + 2767875 + 1104125 + 754800 + 1379856 + 607200 + 1360800 + 100000);
}

TEST_F(ExtractTest, OneBrokenPortalDoesNotHoldTheOtherDatasetBack) {
  ServeSf(GeneratedSf(800, 9), std::chrono::sys_seconds{1'700'000'000s});
  // No Phoenix package on the portal: package_show answers 404.
  ProcessResult run = Run({"--quiet", "run"});
  EXPECT_EQ(run.exit_status, 1) << run.Describe();
  EXPECT_NE(run.err.find("package_show"), std::string::npos) << run.Describe();
  EXPECT_NE(run.err.find("phoenix-checkbook failed (errors above); the other datasets succeeded"),
            std::string::npos)
      << run.Describe();
  EXPECT_EQ(workspace_.QueryInt("SELECT COUNT(*) FROM sf_spending_revenue.fact_transaction") +
                workspace_.QueryInt("SELECT COUNT(*) FROM sf_spending_revenue.cb_quarantine"),
            800);
}

TEST_F(ExtractTest, FailuresEndTheExtractWithOneSentenceAndNoSnapshot) {
  ServeSf(GeneratedSf(500, 7), std::chrono::sys_seconds{1'700'000'000s});
  struct Case {
    std::string name;
    std::function<void()> arrange;
    std::string cause;
  };
  std::vector<Case> cases = {
      {"html page",
       [&] {
         portal_->AddFault({.path_prefix = "/resource/",
                            .fault = Fault::HtmlErrorPage(),
                            .times = FaultRule::kForever});
       },
       "HTML page"},
      {"truncated gzip",
       [&] {
         portal_->AddFault({.path_prefix = "/resource/",
                            .fault = Fault::TruncatedGzip(),
                            .times = FaultRule::kForever});
       },
       "gzip"},
      {"not found",
       [&] {
         portal_->AddFault({.path_prefix = "/api/views/",
                            .fault = Fault::Status(404),
                            .times = FaultRule::kForever});
       },
       "404"},
      {"server down", [&] { portal_->Stop(); }, "connection refused"},
  };
  for (const Case& c : cases) {
    portal_->ClearFaults();
    if (!portal_->running()) {
      ASSERT_TRUE(portal_->Resume());
    }
    c.arrange();
    // --quiet leaves out the retry progress lines: only the error remains.
    ProcessResult extract = Run({"--quiet", "extract", kSf});
    EXPECT_EQ(extract.exit_status, 1) << c.name << "\n" << extract.Describe();
    ExpectOneErrorLine(extract, "127.0.0.1:" + std::to_string(portal_->port()));
    EXPECT_NE(extract.err.find(c.cause), std::string::npos) << c.name << "\n" << extract.Describe();
    EXPECT_EQ(RawSnapshots(kSf), 0) << c.name;
  }
}

}  // namespace
}  // namespace citybooks_e2e
