// citybooks: city finance open data, from the portal to a checked warehouse.
// Parses the command line of SPEC and runs one command.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <iostream>

#include "cli/commands.h"
#include "common/log.h"

using namespace citybooks;

int main(int argc, char** argv) {
  CLI::App app{
      "citybooks: city finance open data, from the portal to a checked warehouse, "
      "models and a dashboard.",
      "citybooks"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  GlobalOptions global;
  std::string config_path, warehouse_url, raw_url;
  app.add_option("--config", config_path, "Configuration file (TOML); also CITYBOOKS_CONFIG");
  app.add_option("--warehouse", warehouse_url,
                 "Warehouse URL, e.g. sqlite://./citybooks-data/warehouse.db; also "
                 "CITYBOOKS_WAREHOUSE");
  app.add_option("--raw", raw_url,
                 "Raw zone URL, e.g. file://./citybooks-data/raw; also "
                 "CITYBOOKS_RAW");
  app.add_flag("--quiet", global.quiet, "Print only errors");

  std::function<Status()> action;
  std::vector<std::string> datasets;

  auto* init = app.add_subcommand("init",
                                  "Create the raw zone, warehouse schemas and roles "
                                  "(idempotent)");
  init->add_option("DATASET", datasets, "Datasets (default: all configured)");
  init->callback([&] { action = [&] { return RunInit(global, datasets); }; });

  auto* extract = app.add_subcommand("extract", "Pull new source data into the raw zone");
  extract->add_option("DATASET", datasets, "Datasets (default: all configured)");
  extract->callback([&] { action = [&] { return RunExtract(global, datasets); }; });

  std::string ingest_dataset;
  std::vector<std::string> ingest_files;
  auto* ingest = app.add_subcommand("ingest",
                                    "Land local files in the raw zone as a new "
                                    "snapshot");
  ingest->add_option("DATASET", ingest_dataset, "Dataset the files belong to")->required();
  ingest->add_option("FILE", ingest_files, "CSV files to land")->required();
  ingest->callback(
      [&] { action = [&] { return RunIngest(global, ingest_dataset, ingest_files); }; });

  bool reload = false;
  auto* load = app.add_subcommand("load",
                                  "Conform raw snapshots not yet loaded; load each "
                                  "atomically");
  load->add_option("DATASET", datasets, "Datasets (default: all configured)");
  load->add_flag("--reload", reload, "Load every snapshot again (the result is the same)");
  load->callback([&] { action = [&] { return RunLoad(global, datasets, reload); }; });

  auto* model = app.add_subcommand("model", "Compute the forensic models");
  model->add_option("DATASET", datasets, "Datasets (default: all configured)");
  model->callback([&] { action = [&] { return RunModel(global, datasets); }; });

  std::string every;
  auto* run = app.add_subcommand("run", "extract + load + model (repeat every DURATION)");
  run->add_option("DATASET", datasets, "Datasets (default: all configured)");
  run->add_option("--every", every, "Repeat every DURATION, e.g. 1h or 24h");
  run->callback([&] { action = [&] { return RunRun(global, datasets, every); }; });

  ServeOptions serve_options;
  auto* serve = app.add_subcommand("serve", "Serve the dashboard, JSON API and read-only SQL");
  serve->add_option("--bind", serve_options.bind, "Address to bind")->capture_default_str();
  serve->add_option("--port", serve_options.port, "Port")->capture_default_str();
  serve->add_option("--every", serve_options.every, "Also run the pipeline every DURATION");
  serve->callback([&] { action = [&] { return RunServe(global, serve_options); }; });

  std::string sql, format = "table";
  auto* query = app.add_subcommand("query", "Read-only SQL against the warehouse");
  query->add_option("SQL", sql, "One SELECT statement")->required();
  query->add_option("--format", format, "table, csv or json")->capture_default_str();
  query->callback([&] { action = [&] { return RunQuery(global, sql, format); }; });

  auto* status = app.add_subcommand("status", "Datasets, snapshots, runs, watermarks, last checks");
  status->add_option("DATASET", datasets, "Datasets (default: all configured)");
  status->add_option("--format", format, "table or json")->capture_default_str();
  status->callback([&] { action = [&] { return RunStatus(global, datasets, format); }; });

  PushOptions push_options;
  auto* push = app.add_subcommand("push", "Upload files over SFTP");
  push->add_option("FILE", push_options.files, "Files to upload")->required();
  push->add_option("--to", push_options.to, "sftp://USER@HOST[:PORT]/DIR")->required();
  push->add_option("--key", push_options.key, "Private key file");
  push->add_option("--known-hosts", push_options.known_hosts,
                   "known_hosts file (default "
                   "~/.ssh/known_hosts)");
  push->callback([&] { action = [&] { return RunPush(global, push_options); }; });

  GenOptions gen_options;
  auto* gen = app.add_subcommand("gen", "Write realistic synthetic raw data");
  gen->add_option("CITY", gen_options.city, "sf or phoenix")
      ->required()
      ->check(CLI::IsMember({"sf", "phoenix"}));
  gen->add_option("--rows", gen_options.rows, "Data rows to write")->required();
  gen->add_option("--out", gen_options.out, "Output CSV file")->required();
  gen->add_option("--seed", gen_options.seed, "Random seed (same seed, same bytes)")
      ->capture_default_str();
  gen->add_option("--dirt-rate", gen_options.dirt_rate,
                  "Share of rows with the real extract's dirt (0 to 1)")
      ->capture_default_str();
  gen->add_option("--bad-rate", gen_options.bad_rate,
                  "Share of malformed rows a load must quarantine (0 to 1)")
      ->capture_default_str();
  gen->add_option("--fabricate-department", gen_options.fabricate_department,
                  "Phoenix: invent this department's amounts (not Benford)");
  gen->add_option("--duplicates", gen_options.duplicates,
                  "Phoenix: pay N payments twice, a few days apart");
  gen->add_option("--extremes", gen_options.extremes,
                  "Phoenix: make N amounts far outside their department x item peers");
  gen->add_option("--plant-log", gen_options.plant_log,
                  "Write a CSV of every planted anomaly (kind, line, date, ...) to FILE");
  gen->callback([&] { action = [&] { return RunGen(gen_options); }; });

  int demo_port = 8080;
  auto* demo = app.add_subcommand("demo", "Bundled sample -> full pipeline -> results");
  demo->add_option("--port", demo_port, "Port for the dashboard")->capture_default_str();
  demo->callback([&] { action = [&] { return RunDemo(global, demo_port); }; });

  bool yes = false;
  auto* destroy = app.add_subcommand("destroy",
                                     "Remove what init created (schemas, roles, raw "
                                     "objects)");
  destroy->add_flag("--yes", yes, "Confirm the removal");
  destroy->callback([&] { action = [&] { return RunDestroy(global, yes); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    LogError(message + " (see citybooks --help)");
    return 2;
  }
  if (!config_path.empty()) global.config_path = config_path;
  if (!warehouse_url.empty()) global.warehouse_url = warehouse_url;
  if (!raw_url.empty()) global.raw_url = raw_url;
  SetQuiet(global.quiet);

  Status result = action();
  if (!result) {
    LogError(result.error().message());
    return result.error().exit_status();
  }
  return 0;
}
