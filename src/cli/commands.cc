#include "cli/commands.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>

#include "cli/output.h"
#include "common/log.h"
#include "common/text.h"
#include "conform/mapping.h"
#include "extract/source.h"
#include "gen/embedded_data.h"
#include "gen/phoenix_generator.h"
#include "gen/sf_generator.h"
#include "net/http_client.h"
#include "pipeline/pipeline.h"
#include "pipeline/status.h"
#include "store/object_store.h"
#include "warehouse/warehouse.h"

namespace citybooks {

namespace {

namespace fs = std::filesystem;

// Everything a command needs, opened from the configuration. Only the CLI
// picks concrete backends (from URLs).
struct Session {
  Config config;
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<RawZone> raw;
  std::unique_ptr<Warehouse> warehouse;
  PipelineContext context() const {
    PipelineContext context;
    context.config = &config;
    context.raw = raw.get();
    context.warehouse = warehouse.get();
    return context;
  }
};

}  // namespace

Result<Config> ReadConfig(const GlobalOptions& global) {
  ConfigOverrides overrides;
  overrides.config_path = global.config_path;
  overrides.warehouse_url = global.warehouse_url;
  overrides.raw_url = global.raw_url;
  return LoadConfig(overrides, ProcessEnvironment());
}

namespace {

Result<Session> OpenSession(const GlobalOptions& global, bool read_only) {
  Session session;
  CB_ASSIGN_OR_RETURN(session.config, ReadConfig(global));
  ObjectStoreOptions store_options;
  store_options.endpoint = session.config.raw_endpoint;
  store_options.region = session.config.raw_region;
  CB_ASSIGN_OR_RETURN(store_options, ObjectStoreOptionsFromEnvironment(std::move(store_options),
                                                                       ProcessEnvironment()));
  CB_ASSIGN_OR_RETURN(session.store, OpenObjectStore(session.config.raw_url, store_options));
  session.raw = std::make_unique<RawZone>(session.store.get());
  WarehouseOptions options;
  options.read_only = read_only;
  CB_ASSIGN_OR_RETURN(session.warehouse, OpenWarehouse(session.config.warehouse_url, options));
  return session;
}

std::string Plural(int64_t n, const std::string& word) {
  return FormatCount(n) + " " + word + (n == 1 ? "" : "s");
}

void PrintLoadSummary(const std::string& dataset, const LoadSummary& summary) {
  std::vector<int64_t> replaced;
  std::set_difference(summary.partitions.begin(), summary.partitions.end(),
                      summary.unchanged_partitions.begin(), summary.unchanged_partitions.end(),
                      std::back_inserter(replaced));
  const LoadAccounting& a = summary.accounting;
  int passed = 0, warned = 0;
  for (const CheckResult& check : summary.checks) (check.passed ? passed : warned)++;
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", summary.seconds);
  std::cout << "loaded " << dataset << " snapshot " << summary.snapshot_id << " as run #"
            << summary.run_id << " in " << seconds << " s\n"
            << "  rows read " << FormatCount(a.rows_read) << " = facts "
            << FormatCount(a.rows_loaded) << " + quarantined " << FormatCount(a.rows_quarantined)
            << "\n"
            << "  amount read " << FormatCents(a.amount_read_cents) << " = loaded "
            << FormatCents(a.amount_loaded_cents) << " + quarantined "
            << FormatCents(a.amount_quarantined_cents) << "\n"
            << "  replaced " << (replaced.empty() ? "no partition" : PartitionsText(replaced, 4))
            << (summary.unchanged_partitions.empty()
                    ? std::string()
                    : " (" + PartitionsText(summary.unchanged_partitions, 4) + " unchanged, kept)")
            << "; " << Plural(summary.remaps, "code remap") << " recorded\n"
            << "  checks: " << passed << " passed, " << warned << " warned\n";
  std::string phases;
  for (const auto& [name, phase_seconds] : summary.phases) {
    char text[64];
    std::snprintf(text, sizeof text, "%.2f s", phase_seconds);
    phases += (phases.empty() ? "" : ", ") + name + " " + text;
  }
  std::cout << "  time: " << phases << "\n";
  for (const CheckResult& check : summary.checks)
    if (!check.passed) std::cout << "    warning: " << check.name << ": " << check.details << "\n";
}

}  // namespace

Result<std::chrono::seconds> ParseDuration(const std::string& text) {
  std::string_view number = text;
  int64_t unit = 1;
  if (!number.empty()) {
    switch (number.back()) {
      case 's':
        unit = 1;
        number.remove_suffix(1);
        break;
      case 'm':
        unit = 60;
        number.remove_suffix(1);
        break;
      case 'h':
        unit = 3600;
        number.remove_suffix(1);
        break;
      case 'd':
        unit = 86400;
        number.remove_suffix(1);
        break;
      default:
        break;
    }
  }
  auto value = ParseInt(number);
  if (!value || *value <= 0)
    return Fail(ErrorCode::kInvalidArgument,
                "--every " + text + " is not a duration; use e.g. 90s, 15m, 1h or 1d");
  return std::chrono::seconds(*value * unit);
}

Result<std::unique_ptr<HttpClient>> MakeHttpClient() {
  // Portals throttle and fail often enough that one pull may meet several
  // transient faults; the total time still bounds every request.
  HttpOptions options;
  options.max_attempts = 10;
  // Tuning knobs (milliseconds) for slow or flaky networks, and for tests.
  Environment environment = ProcessEnvironment();
  for (auto [name, field] :
       {std::pair{"CITYBOOKS_HTTP_INITIAL_BACKOFF_MS", &options.initial_backoff},
        std::pair{"CITYBOOKS_HTTP_MAX_BACKOFF_MS", &options.max_backoff}}) {
    if (auto value = environment(name)) {
      auto parsed = ParseInt(*value);
      if (!parsed || *parsed < 0)
        return Fail(ErrorCode::kInvalidArgument,
                    std::string(name) + "=" + *value + " is not a number of milliseconds");
      *field = std::chrono::milliseconds(*parsed);
    }
  }
  return MakeCurlHttpClient(options);
}

Status ExtractOne(Session& session, HttpClient& http, const DatasetConfig& dataset) {
  if (dataset.source == "file") {
    LogInfo(dataset.name + ": source \"file\" is fed by `citybooks ingest`; skipped");
    return Ok();
  }
  CB_ASSIGN_OR_RETURN(auto source, MakeSource(dataset, &http, ProcessEnvironment()));
  CB_ASSIGN_OR_RETURN(ExtractResult result, source->Extract(*session.raw));
  std::cout << result.summary << "\n";
  return Ok();
}

// Runs `work` for every dataset, going on after a failure so one broken
// portal does not hold the others back. One dataset: its error as it is.
// Several: each failure is printed as it happens, and the result says how
// many failed (with the first failure's code, so a transient one is retried).
Status ForEachDataset(const std::vector<const DatasetConfig*>& datasets,
                      const std::function<Status(const DatasetConfig&)>& work) {
  if (datasets.size() == 1) return work(*datasets.front());
  std::optional<Error> first;
  std::string failed;
  size_t failures = 0;
  for (const DatasetConfig* dataset : datasets) {
    Status status = work(*dataset);
    if (status) continue;
    LogError(status.error().message());
    if (!first) first = status.error();
    failed += (failed.empty() ? "" : ", ") + dataset->name;
    ++failures;
  }
  if (!first) return Ok();
  if (failures == datasets.size())
    return Fail(first->code(), "every dataset failed (" + failed + "); the errors are above");
  return Fail(first->code(), failed + " failed (errors above); the other datasets succeeded");
}

Status RunInit(const GlobalOptions& global, const std::vector<std::string>& names) {
  CB_ASSIGN_OR_RETURN(Session session, OpenSession(global, false));
  CB_ASSIGN_OR_RETURN(bool created, session.store->CreateRoot());
  std::cout << "raw zone " << session.store->url()
            << (created ? ": created " + session.store->RootDescription() : " is ready") << "\n";
  std::vector<std::string> provisioned;  // PostgreSQL: the loader and reader roles
  CB_RETURN_IF_ERROR(session.warehouse->Provision(provisioned));
  for (const std::string& line : provisioned)
    std::cout << "warehouse " << session.warehouse->url() << ": " << line << "\n";
  CB_ASSIGN_OR_RETURN(auto datasets, session.config.Select(names));
  for (const DatasetConfig* dataset : datasets) {
    auto mapping = LoadMapping(dataset->mapping);
    if (!mapping) {
      LogWarning(dataset->name + ": " + mapping.error().message() + "; skipped");
      continue;
    }
    CB_ASSIGN_OR_RETURN(bool existed, session.warehouse->HasSchema(SchemaName(dataset->name)));
    CB_RETURN_IF_ERROR(InitDataset(session.context(), dataset->name));
    std::cout << "warehouse " << session.warehouse->url() << ": schema "
              << SchemaName(dataset->name) << (existed ? " was already there" : " created") << "\n";
  }
  return Ok();
}

Status RunIngest(const GlobalOptions& global, const std::string& dataset,
                 const std::vector<std::string>& files) {
  CB_ASSIGN_OR_RETURN(Session session, OpenSession(global, false));
  CB_ASSIGN_OR_RETURN(IngestResult result, Ingest(session.context(), dataset, files));
  if (!result.landed) {
    std::cout << "nothing new: every file is identical to its copy already in the raw zone\n";
    return Ok();
  }
  int64_t rows = 0, bytes = 0;
  for (const ManifestFile& file : result.manifest.files) {
    rows += static_cast<int64_t>(file.rows);
    bytes += static_cast<int64_t>(file.bytes);
  }
  std::cout << "landed snapshot " << result.manifest.snapshot_id << " of " << dataset << ": "
            << Plural(static_cast<int64_t>(result.manifest.files.size()), "file") << ", "
            << Plural(rows, "row") << ", " << FormatCount(bytes) << " bytes at "
            << session.store->url() << "/" << result.manifest.prefix() << "\n";
  return Ok();
}

Status RunLoad(const GlobalOptions& global, const std::vector<std::string>& names, bool reload) {
  CB_ASSIGN_OR_RETURN(Session session, OpenSession(global, false));
  CB_ASSIGN_OR_RETURN(auto datasets, session.config.Select(names));
  LoadOptions options;
  options.reload = reload;
  for (const DatasetConfig* dataset : datasets) {
    CB_ASSIGN_OR_RETURN(std::vector<LoadSummary> summaries,
                        Load(session.context(), dataset->name, options));
    if (summaries.empty()) std::cout << dataset->name << ": nothing new to load\n";
    for (const LoadSummary& summary : summaries) PrintLoadSummary(dataset->name, summary);
  }
  return Ok();
}

Status RunExtract(const GlobalOptions& global, const std::vector<std::string>& names) {
  CB_ASSIGN_OR_RETURN(Session session, OpenSession(global, false));
  CB_ASSIGN_OR_RETURN(auto datasets, session.config.Select(names));
  CB_ASSIGN_OR_RETURN(auto http, MakeHttpClient());
  return ForEachDataset(
      datasets, [&](const DatasetConfig& dataset) { return ExtractOne(session, *http, dataset); });
}

Status RunRun(const GlobalOptions& global, const std::vector<std::string>& names,
              const std::string& every) {
  std::optional<std::chrono::seconds> period;
  if (!every.empty()) {
    CB_ASSIGN_OR_RETURN(period, ParseDuration(every));
  }
  auto cycle = [&]() -> Status {
    CB_ASSIGN_OR_RETURN(Session session, OpenSession(global, false));
    CB_ASSIGN_OR_RETURN(auto datasets, session.config.Select(names));
    CB_ASSIGN_OR_RETURN(auto http, MakeHttpClient());
    return ForEachDataset(datasets, [&](const DatasetConfig& dataset) -> Status {
      CB_RETURN_IF_ERROR(ExtractOne(session, *http, dataset));
      CB_ASSIGN_OR_RETURN(std::vector<LoadSummary> summaries,
                          Load(session.context(), dataset.name, {}));
      if (summaries.empty()) std::cout << dataset.name << ": nothing new to load\n";
      for (const LoadSummary& summary : summaries) PrintLoadSummary(dataset.name, summary);
      return ModelOneDataset(session.context(), dataset, /*only_if_stale=*/true);
    });
  };
  if (!period) return cycle();
  // Cycles run one after another in this process, so they never overlap;
  // a cycle that fails transiently is retried (5 times, as the seeds' daily
  // job was) before the failure is reported and the next cycle waits.
  constexpr int kRetries = 5;
  while (true) {
    auto started = std::chrono::steady_clock::now();
    Status status = cycle();
    for (int retry = 1; !status && status.error().retryable() && retry <= kRetries; ++retry) {
      LogWarning(status.error().message() + "; retry " + std::to_string(retry) + " of " +
                 std::to_string(kRetries) + " in 60 s");
      std::this_thread::sleep_for(std::chrono::seconds(60));
      status = cycle();
    }
    if (!status) LogError(status.error().message() + "; next cycle in " + every);
    // A long-running loop usually writes to a log file or a pipe: make each
    // cycle's report visible as soon as the cycle ends.
    std::cout.flush();
    std::this_thread::sleep_until(started + *period);
  }
}

Status RunQuery(const GlobalOptions& global, const std::string& sql, const std::string& format) {
  CB_ASSIGN_OR_RETURN(OutputFormat output, ParseOutputFormat(format));
  CB_ASSIGN_OR_RETURN(Config config, ReadConfig(global));
  WarehouseOptions options;
  options.read_only = true;
  CB_ASSIGN_OR_RETURN(auto warehouse, OpenWarehouse(config.warehouse_url, options));
  CB_ASSIGN_OR_RETURN(QueryResult result, warehouse->Query(sql));
  PrintResult(result, output, std::cout);
  return Ok();
}

Status RunStatus(const GlobalOptions& global, const std::vector<std::string>& names,
                 const std::string& format) {
  if (format != "table" && format != "json")
    return Fail(ErrorCode::kInvalidArgument,
                "--format " + format + " is not known; use table or json");
  CB_ASSIGN_OR_RETURN(Session session, OpenSession(global, false));
  CB_ASSIGN_OR_RETURN(nlohmann::json status, CollectStatus(session.context(), names));
  if (format == "json") {
    std::cout << status.dump(2) << "\n";
  } else {
    std::cout << FormatStatus(status);
  }
  return Ok();
}

Status RunGen(const GenOptions& options) {
  if (options.city != "phoenix" &&
      (!options.fabricate_department.empty() || options.duplicates > 0 || options.extremes > 0 ||
       !options.plant_log.empty()))
    return Fail(ErrorCode::kInvalidArgument,
                "--fabricate-department, --duplicates, --extremes and --plant-log plant "
                "anomalies in Phoenix data only (gen phoenix)");
  std::ofstream out(options.out, std::ios::binary | std::ios::trunc);
  if (!out) return Fail(ErrorCode::kIoError, "cannot write " + options.out);
  uint64_t rows = 0;
  uint64_t bad_rows = 0;
  if (options.city == "phoenix") {
    PhoenixGenOptions phoenix;
    phoenix.rows = options.rows;
    phoenix.seed = options.seed;
    phoenix.dirt_rate = options.dirt_rate;
    phoenix.bad_rate = options.bad_rate;
    phoenix.fabricate_department = options.fabricate_department;
    phoenix.duplicates = options.duplicates;
    phoenix.extremes = options.extremes;
    std::ofstream plant_log;
    if (!options.plant_log.empty()) {
      plant_log.open(options.plant_log, std::ios::binary | std::ios::trunc);
      if (!plant_log) return Fail(ErrorCode::kIoError, "cannot write " + options.plant_log);
      phoenix.plant_log = &plant_log;
    }
    CB_ASSIGN_OR_RETURN(PhoenixGenStats stats, GeneratePhoenix(phoenix, out));
    rows = stats.rows;
    bad_rows = stats.bad_rows;
    if (!options.fabricate_department.empty() || options.duplicates > 0 || options.extremes > 0)
      LogInfo("planted " + FormatCount(static_cast<int64_t>(stats.fabricated_rows)) +
              " fabricated amounts, " +
              Plural(static_cast<int64_t>(stats.duplicates), "duplicate") + " and " +
              Plural(static_cast<int64_t>(stats.extremes), "extreme") +
              (options.plant_log.empty() ? std::string() : "; listed in " + options.plant_log));
    if (plant_log.is_open()) {
      plant_log.close();
      if (!plant_log)
        return Fail(ErrorCode::kIoError, "cannot finish writing " + options.plant_log);
    }
  } else {
    SfGenOptions sf;
    sf.rows = options.rows;
    sf.seed = options.seed;
    sf.dirt_rate = options.dirt_rate;
    sf.bad_rate = options.bad_rate;
    CB_ASSIGN_OR_RETURN(SfGenStats stats, GenerateSf(sf, out));
    rows = stats.rows;
    bad_rows = stats.bad_rows;
  }
  out.close();
  if (!out) return Fail(ErrorCode::kIoError, "cannot finish writing " + options.out);
  LogInfo("wrote " + Plural(static_cast<int64_t>(rows), "row") + " (" +
          FormatCount(static_cast<int64_t>(bad_rows)) + " malformed on purpose) to " + options.out);
  return Ok();
}

Status RunDemo(const GlobalOptions& global, int port) {
  GlobalOptions demo = global;
  if (!demo.raw_url) demo.raw_url = "file://./citybooks-data/demo/raw";
  if (!demo.warehouse_url) demo.warehouse_url = "sqlite://./citybooks-data/demo/warehouse.db";
  const std::string dataset = "sf-spending-revenue";
  const std::string sample_path = "citybooks-data/demo/sf-spending-revenue-sample.csv";
  CB_ASSIGN_OR_RETURN(std::string_view sample, EmbeddedFile("sample/sf-spending-revenue.csv"));
  std::error_code error;
  fs::create_directories(fs::path(sample_path).parent_path(), error);
  {
    std::ofstream out(sample_path, std::ios::binary | std::ios::trunc);
    out.write(sample.data(), static_cast<std::streamsize>(sample.size()));
    if (!out) return Fail(ErrorCode::kIoError, "cannot write the demo sample to " + sample_path);
  }
  std::cout << "== citybooks demo: the bundled San Francisco sample through the pipeline\n\n$ "
               "citybooks ingest "
            << dataset << " " << sample_path << "\n";
  CB_RETURN_IF_ERROR(RunIngest(demo, dataset, {sample_path}));
  std::cout << "\n$ citybooks load " << dataset << "\n";
  CB_RETURN_IF_ERROR(RunLoad(demo, {dataset}, false));
  std::cout << "\n$ citybooks status " << dataset << "\n";
  CB_RETURN_IF_ERROR(RunStatus(demo, {dataset}, "table"));

  CB_ASSIGN_OR_RETURN(Mapping mapping, LoadMapping(dataset));
  CB_ASSIGN_OR_RETURN(Config config, ReadConfig(demo));
  WarehouseOptions options;
  options.read_only = true;
  CB_ASSIGN_OR_RETURN(auto warehouse, OpenWarehouse(config.warehouse_url, options));
  for (const ViewSpec& view : mapping.views) {
    std::cout << "\n== " << view.title << " (" << view.chart << ")\n";
    CB_ASSIGN_OR_RETURN(QueryResult result, warehouse->Query(view.Sql(SchemaName(dataset))));
    PrintResult(result, OutputFormat::kTable, std::cout);
  }
  warehouse.reset();
  std::cout << "\n$ citybooks model " << dataset << "\n";
  Status models = RunModel(demo, {dataset});
  if (!models) LogWarning(models.error().message() + "; the dashboard shows no model results");
  std::cout << "\n$ citybooks serve --port " << port << "\n" << std::flush;
  ServeOptions serve;
  serve.port = port;
  return RunServe(demo, serve);
}

Status RunDestroy(const GlobalOptions& global, bool yes) {
  if (!yes)
    return Fail(ErrorCode::kInvalidArgument,
                "destroy removes every dataset's schema and raw files; run `citybooks destroy "
                "--yes` to confirm");
  CB_ASSIGN_OR_RETURN(Session session, OpenSession(global, false));
  for (const auto& [name, dataset] : session.config.datasets) {
    std::string schema = SchemaName(name);
    CB_ASSIGN_OR_RETURN(bool existed, session.warehouse->HasSchema(schema));
    CB_RETURN_IF_ERROR(session.warehouse->DropSchema(schema));
    // A raw zone whose bucket is gone (an earlier destroy) holds no snapshot.
    auto snapshots = session.raw->ListSnapshots(name);
    if (!snapshots && snapshots.error().code() != ErrorCode::kNotFound)
      return Fail(snapshots.error());
    if (snapshots) CB_RETURN_IF_ERROR(session.raw->DeleteDataset(name));
    std::cout << name << ": " << (existed ? "dropped schema " + schema : "no schema to drop")
              << ", removed "
              << Plural(static_cast<int64_t>(snapshots ? snapshots->size() : 0), "raw snapshot")
              << "\n";
  }
  CB_ASSIGN_OR_RETURN(bool removed_root, session.store->RemoveRootIfEmpty());
  if (removed_root)
    std::cout << "raw zone " << session.store->url() << ": removed "
              << session.store->RootDescription() << "\n";
  // What init created beside the schemas (PostgreSQL: the roles; SQLite:
  // the main file), once no dataset schema is left.
  std::string url = session.warehouse->url();
  std::vector<std::string> removed;
  CB_RETURN_IF_ERROR(session.warehouse->Deprovision(removed));
  for (const std::string& line : removed) std::cout << "warehouse " << url << ": " << line << "\n";
  return Ok();
}

}  // namespace citybooks
