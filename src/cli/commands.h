// The commands of SPEC's command line, one function each. main.cc parses
// arguments with CLI11 and calls these; they return an error whose message is
// the one sentence printed and whose code decides the exit status.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "config/config.h"

namespace citybooks {

struct GlobalOptions {
  std::optional<std::string> config_path;
  std::optional<std::string> warehouse_url;
  std::optional<std::string> raw_url;
  bool quiet = false;
};

Status RunInit(const GlobalOptions& global, const std::vector<std::string>& datasets);
Status RunIngest(const GlobalOptions& global, const std::string& dataset,
                 const std::vector<std::string>& files);
Status RunLoad(const GlobalOptions& global, const std::vector<std::string>& datasets, bool reload);
Status RunExtract(const GlobalOptions& global, const std::vector<std::string>& datasets);
// extract + load + model for each dataset; with `every` (e.g. "1h"), again every
// DURATION until interrupted, each cycle retried up to 5 times on transient
// failures.
Status RunRun(const GlobalOptions& global, const std::vector<std::string>& datasets,
              const std::string& every);
Status RunQuery(const GlobalOptions& global, const std::string& sql, const std::string& format);
Status RunStatus(const GlobalOptions& global, const std::vector<std::string>& datasets,
                 const std::string& format);

struct GenOptions {
  std::string city;
  uint64_t rows = 0;
  std::string out;
  uint64_t seed = 1;
  double dirt_rate = 0.05;
  double bad_rate = 0.0;
  // Planted anomalies for the models' tests and demos (Phoenix only; see
  // PhoenixGenOptions): none by default, and then the bytes do not change.
  std::string fabricate_department;
  uint64_t duplicates = 0;
  uint64_t extremes = 0;
  std::string plant_log;  // CSV of every planted anomaly; empty: none
};
Status RunGen(const GenOptions& options);

// Computes the forensic models of each dataset (model_command.cc).
Status RunModel(const GlobalOptions& global, const std::vector<std::string>& datasets);
// The models of one dataset, printed as `model` prints them; with
// `only_if_stale`, a dataset with nothing loaded since its last model run is
// left alone (what `run` does after loading).
struct PipelineContext;
Status ModelOneDataset(const PipelineContext& context, const DatasetConfig& dataset,
                       bool only_if_stale);

struct ServeOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;
  std::string every;  // also run the pipeline every DURATION; empty: never
};
// Serves the dashboard, JSON API and read-only SQL until interrupted
// (serve_command.cc).
Status RunServe(const GlobalOptions& global, const ServeOptions& options);

struct PushOptions {
  std::vector<std::string> files;
  std::string to;           // sftp://USER@HOST[:PORT]/DIR
  std::string key;          // private key file; empty: ~/.ssh/id_ed25519 or id_rsa
  std::string known_hosts;  // empty: ~/.ssh/known_hosts
};
// Uploads files over SFTP, each under a temporary name then renamed
// (push_command.cc).
Status RunPush(const GlobalOptions& global, const PushOptions& options);

Status RunDemo(const GlobalOptions& global, int port);
Status RunDestroy(const GlobalOptions& global, bool yes);

// Shared by the command files.
// The configuration the global options select (flag > environment > file).
Result<Config> ReadConfig(const GlobalOptions& global);
// Runs `work` for every dataset, going on past a failure, and says how many
// failed (commands.cc).
Status ForEachDataset(const std::vector<const DatasetConfig*>& datasets,
                      const std::function<Status(const DatasetConfig&)>& work);
// Parses "90s", "15m", "1h", "24h", "1d" (a bare number is seconds).
Result<std::chrono::seconds> ParseDuration(const std::string& text);

}  // namespace citybooks
