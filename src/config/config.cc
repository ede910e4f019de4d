#include "config/config.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "common/text.h"
#include "config/toml_reader.h"

namespace citybooks {

namespace {

Config Defaults() {
  Config config;
  DatasetConfig sf;
  sf.name = "sf-spending-revenue";
  sf.source = "socrata";
  sf.base_url = "https://data.sfgov.org";
  sf.dataset_id = "bpnb-jwfb";
  sf.mapping = "sf-spending-revenue";
  sf.built_in = true;
  config.datasets[sf.name] = sf;

  DatasetConfig phoenix;
  phoenix.name = "phoenix-checkbook";
  phoenix.source = "ckan";
  phoenix.base_url = "https://www.phoenixopendata.com";
  phoenix.package = "city-checkbook";
  phoenix.mapping = "phoenix-checkbook";
  phoenix.built_in = true;
  config.datasets[phoenix.name] = phoenix;
  return config;
}

bool ValidDatasetName(const std::string& name) {
  if (name.empty() || name.size() > 60) return false;
  if (!(name[0] >= 'a' && name[0] <= 'z')) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

// Reads a [models] table over `params` (keys absent keep their values).
Status ReadModelParams(TomlTable& table, ModelParams* params) {
  auto integer = [&](const char* key, int64_t* value, int64_t min, int64_t max) -> Status {
    CB_ASSIGN_OR_RETURN(*value, table.Integer(key, *value));
    if (*value < min || *value > max)
      return Fail(table.KeyError(
          key, "must be from " + std::to_string(min) + " to " + std::to_string(max)));
    return Ok();
  };
  auto number = [&](const char* key, double* value, double min, double max,
                    const char* range) -> Status {
    CB_ASSIGN_OR_RETURN(*value, table.Float(key, *value));
    if (!(*value >= min && *value <= max)) return Fail(table.KeyError(key, range));
    return Ok();
  };
  CB_RETURN_IF_ERROR(
      integer("benford_min_amounts", &params->benford_min_amounts, 1, 1'000'000'000));
  CB_RETURN_IF_ERROR(integer("duplicate_window_days", &params->duplicate_window_days, 0, 3660));
  CB_RETURN_IF_ERROR(number("duplicate_min_score", &params->duplicate_min_score, 0, 1,
                            "must be a score from 0 to 1"));
  CB_RETURN_IF_ERROR(number("outlier_threshold", &params->outlier_threshold, 0.1, 1e9,
                            "must be a positive |z|, e.g. 3.5"));
  CB_RETURN_IF_ERROR(
      integer("outlier_min_group_size", &params->outlier_min_group_size, 3, 1'000'000'000));
  CB_RETURN_IF_ERROR(integer("outlier_max_rows", &params->outlier_max_rows, 0, 100'000'000));
  CB_RETURN_IF_ERROR(integer("forecast_backtest_years", &params->forecast_backtest_years, 1, 50));
  return table.Finish();
}

Status ReadDataset(TomlTable& table, DatasetConfig* dataset) {
  static const std::set<std::string> kSources = {"socrata", "ckan", "http", "sftp", "file"};
  CB_ASSIGN_OR_RETURN(dataset->source, table.String("source", dataset->source));
  if (dataset->source.empty())
    return Fail(Error(ErrorCode::kInvalidArgument, table.file() + ": " + table.path() +
                                                       ".source is required for a new dataset"));
  if (kSources.count(dataset->source) == 0)
    return Fail(table.KeyError(
        "source", "is '" + dataset->source + "'; use socrata, ckan, http, sftp or file"));
  CB_ASSIGN_OR_RETURN(dataset->base_url, table.String("base_url", dataset->base_url));
  CB_ASSIGN_OR_RETURN(dataset->dataset_id, table.String("dataset_id", dataset->dataset_id));
  CB_ASSIGN_OR_RETURN(dataset->package, table.String("package", dataset->package));
  CB_ASSIGN_OR_RETURN(dataset->url, table.String("url", dataset->url));
  CB_ASSIGN_OR_RETURN(dataset->key, table.String("key", dataset->key));
  CB_ASSIGN_OR_RETURN(dataset->known_hosts, table.String("known_hosts", dataset->known_hosts));
  CB_ASSIGN_OR_RETURN(dataset->mapping, table.String("mapping", dataset->mapping));
  if (dataset->mapping.empty())
    return Fail(Error(ErrorCode::kInvalidArgument, table.file() + ": " + table.path() +
                                                       ".mapping is required for a new dataset"));
  if (dataset->source == "sftp" && AsciiLower(dataset->url.substr(0, 7)) != "sftp://")
    return Fail(table.KeyError("url", dataset->url.empty()
                                          ? "is required for source \"sftp\", e.g. "
                                            "\"sftp://user@host:22/outgoing\""
                                          : "is not an sftp:// URL, which source \"sftp\" "
                                            "needs"));
  CB_ASSIGN_OR_RETURN(std::vector<CheckSpec> checks, ReadChecks(table));
  dataset->checks.insert(dataset->checks.end(), checks.begin(), checks.end());
  CB_ASSIGN_OR_RETURN(auto models, table.Table("models"));
  if (models) CB_RETURN_IF_ERROR(ReadModelParams(*models, &dataset->models));
  return table.Finish();
}

std::string ResolveRelative(const std::string& config_path, const std::string& path) {
  if (path.empty() || path[0] == '/' || path.find(".toml") == std::string::npos) return path;
  auto slash = config_path.rfind('/');
  if (slash == std::string::npos) return path;
  return config_path.substr(0, slash + 1) + path;
}

}  // namespace

std::string SchemaName(const std::string& dataset) {
  std::string schema = dataset;
  for (char& c : schema)
    if (c == '-') c = '_';
  return schema;
}

Result<const DatasetConfig*> Config::Dataset(const std::string& name) const {
  auto it = datasets.find(name);
  if (it != datasets.end()) return &it->second;
  std::string known;
  for (const auto& [key, value] : datasets) known += (known.empty() ? "" : ", ") + key;
  return Fail(ErrorCode::kInvalidArgument,
              "unknown dataset '" + name + "'; configured datasets are " + known);
}

Result<std::vector<const DatasetConfig*>> Config::Select(
    const std::vector<std::string>& names) const {
  std::vector<const DatasetConfig*> selected;
  if (names.empty()) {
    for (const auto& [key, value] : datasets) selected.push_back(&value);
    return selected;
  }
  for (const std::string& name : names) {
    CB_ASSIGN_OR_RETURN(const DatasetConfig* dataset, Dataset(name));
    selected.push_back(dataset);
  }
  return selected;
}

Environment ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

Result<Config> ParseConfig(const std::string& text, const std::string& path) {
  Config config = Defaults();
  config.path = path;
  CB_ASSIGN_OR_RETURN(auto document, ParseToml(text, path));
  TomlTable root(&document->root, path, "");

  CB_ASSIGN_OR_RETURN(auto raw, root.Table("raw"));
  if (raw) {
    CB_ASSIGN_OR_RETURN(config.raw_url, raw->String("url", config.raw_url));
    CB_ASSIGN_OR_RETURN(config.raw_endpoint, raw->String("endpoint", config.raw_endpoint));
    CB_ASSIGN_OR_RETURN(config.raw_region, raw->String("region", config.raw_region));
    CB_RETURN_IF_ERROR(raw->Finish());
  }
  CB_ASSIGN_OR_RETURN(auto warehouse, root.Table("warehouse"));
  if (warehouse) {
    CB_ASSIGN_OR_RETURN(config.warehouse_url, warehouse->String("url", config.warehouse_url));
    CB_RETURN_IF_ERROR(warehouse->Finish());
  }
  CB_ASSIGN_OR_RETURN(auto models, root.Table("models"));
  if (models) CB_RETURN_IF_ERROR(ReadModelParams(*models, &config.models));
  for (auto& [name, dataset] : config.datasets) dataset.models = config.models;
  CB_ASSIGN_OR_RETURN(auto datasets, root.Table("datasets"));
  if (datasets) {
    for (const std::string& name : datasets->Keys()) {
      if (!ValidDatasetName(name))
        return Fail(datasets->KeyError(
            name, "is not a valid dataset name; use lower-case letters, digits and '-'"));
      CB_ASSIGN_OR_RETURN(auto table, datasets->Table(name));
      DatasetConfig& dataset = config.datasets[name];
      if (!dataset.built_in) dataset.models = config.models;
      dataset.name = name;
      CB_RETURN_IF_ERROR(ReadDataset(*table, &dataset));
      dataset.mapping = ResolveRelative(path, dataset.mapping);
    }
    CB_RETURN_IF_ERROR(datasets->Finish());
  }
  CB_RETURN_IF_ERROR(root.Finish());
  return config;
}

Result<Config> LoadConfig(const ConfigOverrides& overrides, const Environment& environment) {
  std::optional<std::string> path = overrides.config_path;
  if (!path) path = environment("CITYBOOKS_CONFIG");
  Config config = Defaults();
  if (path) {
    std::ifstream file(*path, std::ios::binary);
    if (!file)
      return Fail(ErrorCode::kInvalidArgument, "cannot read the config file " + *path +
                                                   "; check the path given by --config or "
                                                   "CITYBOOKS_CONFIG");
    std::stringstream text;
    text << file.rdbuf();
    CB_ASSIGN_OR_RETURN(config, ParseConfig(text.str(), *path));
  }
  if (auto value = environment("CITYBOOKS_WAREHOUSE")) config.warehouse_url = *value;
  if (auto value = environment("CITYBOOKS_RAW")) config.raw_url = *value;
  if (overrides.warehouse_url) config.warehouse_url = *overrides.warehouse_url;
  if (overrides.raw_url) config.raw_url = *overrides.raw_url;
  return config;
}

}  // namespace citybooks
