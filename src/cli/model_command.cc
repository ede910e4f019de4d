// `citybooks model [DATASET...]`: computes the forensic models of each
// dataset from its loaded facts and prints one line per model.
#include <cstdio>
#include <functional>
#include <iostream>

#include "cli/commands.h"
#include "common/text.h"
#include "pipeline/pipeline.h"
#include "warehouse/warehouse.h"

namespace citybooks {

Status ModelOneDataset(const PipelineContext& context, const DatasetConfig& dataset,
                       bool only_if_stale) {
  ModelOptions options;
  options.only_if_stale = only_if_stale;
  CB_ASSIGN_OR_RETURN(ModelSummary summary,
                      RunModels(context, dataset.name, dataset.models, options));
  if (!summary.had_facts) {
    std::cout << dataset.name << ": no facts loaded yet, so no models; run `citybooks load "
              << dataset.name << "` first\n";
    return Ok();
  }
  if (summary.up_to_date) {
    std::cout << dataset.name << ": models are up to date (nothing loaded since they ran)\n";
    return Ok();
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", summary.seconds);
  std::cout << "modelled " << dataset.name << " from " << FormatCount(summary.facts_read)
            << " facts as run #" << summary.run_id << " in " << seconds << " s\n";
  for (const std::string& line : summary.lines) std::cout << "  " << line << "\n";
  return Ok();
}

Status RunModel(const GlobalOptions& global, const std::vector<std::string>& names) {
  ConfigOverrides overrides;
  overrides.config_path = global.config_path;
  overrides.warehouse_url = global.warehouse_url;
  overrides.raw_url = global.raw_url;
  CB_ASSIGN_OR_RETURN(Config config, LoadConfig(overrides, ProcessEnvironment()));
  CB_ASSIGN_OR_RETURN(auto datasets, config.Select(names));
  // Models read the warehouse only: no raw zone is opened.
  CB_ASSIGN_OR_RETURN(auto warehouse, OpenWarehouse(config.warehouse_url, {}));
  PipelineContext context;
  context.config = &config;
  context.warehouse = warehouse.get();
  return ForEachDataset(datasets, [&](const DatasetConfig& dataset) {
    return ModelOneDataset(context, dataset, /*only_if_stale=*/false);
  });
}

}  // namespace citybooks
