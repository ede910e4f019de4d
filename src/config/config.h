// Configuration: SPEC's TOML keys, their defaults, and the precedence
// command-line flag > environment > config file > default. Unknown keys and
// wrong types are errors naming the key and its line.
//
//   ConfigOverrides overrides{.warehouse_url = flag_value};
//   CB_ASSIGN_OR_RETURN(Config config, LoadConfig(overrides, GetEnvironment()));
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace citybooks {

// A data-quality check declared in a mapping or a config (dbt-style).
struct CheckSpec {
  std::string type;   // not_null unique accepted_values relationships many_to_one
                      // row_count_min reconcile freshness
  std::string table;  // e.g. "fact_transaction"; empty for reconcile
  std::vector<std::string> columns;
  std::vector<std::string> values;  // accepted_values
  std::string to;                   // relationships: "dim_program.program_id"
  int64_t min = 0;                  // row_count_min
  int64_t max_age_days = 0;         // freshness
  std::string severity = "error";   // or "warn"
  std::string name;                 // stable name shown in cb_quality; derived if empty
};

// Numeric parameters of the forensic models (`citybooks model`): the
// [models] table of the config, overridden per dataset by
// [datasets.NAME.models]. Which models apply to a dataset and how groups are
// formed is the mapping's [models] section.
struct ModelParams {
  int64_t benford_min_amounts = 1000;   // smaller groups are marked small_sample
  int64_t duplicate_window_days = 30;   // the second payment at most this many days later
  double duplicate_min_score = 0.8;     // weaker duplicate candidates are not kept
  double outlier_threshold = 3.5;       // |robust z| at or above this is an outlier
  int64_t outlier_min_group_size = 30;  // smaller peer groups are skipped
  int64_t outlier_max_rows = 1000;      // the strongest outliers kept per dataset
  int64_t forecast_backtest_years = 2;  // complete fiscal years the backtest forecasts
};

struct DatasetConfig {
  std::string name;
  std::string source;  // socrata ckan http sftp file
  std::string base_url;
  std::string dataset_id;         // socrata
  std::string package;            // ckan
  std::string url;                // http, sftp
  std::string key;                // sftp private key file
  std::string known_hosts;        // sftp
  std::string mapping;            // built-in mapping name or a path to a mapping TOML file
  std::vector<CheckSpec> checks;  // added to the mapping's built-in checks
  ModelParams models;             // [models], then [datasets.NAME.models]
  bool built_in = false;
};

struct Config {
  std::string path;  // the config file read, empty if none
  std::string raw_url = "file://./citybooks-data/raw";
  std::string raw_endpoint;
  std::string raw_region = "us-east-1";
  std::string warehouse_url = "sqlite://./citybooks-data/warehouse.db";
  ModelParams models;  // [models]; each dataset starts from these
  std::map<std::string, DatasetConfig> datasets;

  // The dataset named `name`, or kInvalidArgument listing the known ones.
  Result<const DatasetConfig*> Dataset(const std::string& name) const;
  // Names of the datasets asked for; all configured ones when `names` is empty.
  Result<std::vector<const DatasetConfig*>> Select(const std::vector<std::string>& names) const;
};

struct ConfigOverrides {
  std::optional<std::string> config_path;
  std::optional<std::string> warehouse_url;
  std::optional<std::string> raw_url;
};

using Environment = std::function<std::optional<std::string>(const std::string&)>;
// The process environment.
Environment ProcessEnvironment();

// Builds the configuration: defaults, then the config file (from overrides,
// else CITYBOOKS_CONFIG, else none), then environment, then overrides.
Result<Config> LoadConfig(const ConfigOverrides& overrides, const Environment& environment);

// Parses config text; `path` is used in messages and to resolve relative
// mapping paths.
Result<Config> ParseConfig(const std::string& text, const std::string& path);

// Schema name of a dataset: '-' becomes '_' ("sf-spending-revenue" ->
// "sf_spending_revenue").
std::string SchemaName(const std::string& dataset);

}  // namespace citybooks
