// The pipeline's stages as functions the CLI calls: ingest (files -> raw
// zone), load (raw zone -> warehouse, conform + check, one transaction per
// snapshot) and status. Each reads only what the stage before it wrote.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "check/checks.h"
#include "common/error.h"
#include "common/time.h"
#include "config/config.h"
#include "rawzone/raw_zone.h"
#include "warehouse/warehouse.h"

namespace citybooks {

struct PipelineContext {
  const Config* config = nullptr;
  RawZone* raw = nullptr;
  Warehouse* warehouse = nullptr;
  const Clock* clock = &SystemClock();
};

struct IngestResult {
  bool landed = false;               // false: every file was already landed unchanged
  Manifest manifest;                 // the new snapshot when landed
  std::vector<std::string> skipped;  // files identical to their latest landed copy
};

// Lands `files` (local paths) as one new snapshot of `dataset`. A file whose
// sha256 equals the latest landed copy of the same file name is skipped; if
// all are, nothing lands. An empty file, a file with a header but no rows, or
// a missing file fail the whole ingest (nothing lands).
Result<IngestResult> Ingest(const PipelineContext& context, const std::string& dataset,
                            const std::vector<std::string>& files);

struct LoadSummary {
  std::string snapshot_id;
  int64_t run_id = 0;
  LoadAccounting accounting;
  // Partitions the snapshot covers: fiscal years, or fiscal_year * 100 +
  // fiscal_month.
  std::vector<int64_t> partitions;
  // Those of them whose facts were already the same, kept as they were; the
  // others were replaced.
  std::vector<int64_t> unchanged_partitions;
  std::vector<CheckResult> checks;
  int64_t remaps = 0;
  double seconds = 0;
  // Wall time of each phase, in order, for the summary and benchmarks.
  std::vector<std::pair<std::string, double>> phases;
};

struct LoadOptions {
  // Reload snapshots already loaded (same result: loads are idempotent).
  bool reload = false;
};

// Loads every committed snapshot of `dataset` not loaded yet, oldest first,
// each in one transaction. Stops at the first failure; snapshots loaded
// before it stay loaded.
Result<std::vector<LoadSummary>> Load(const PipelineContext& context, const std::string& dataset,
                                      const LoadOptions& options = {});

// Creates the raw zone root and the dataset's schema and tables (idempotent).
Status InitDataset(const PipelineContext& context, const std::string& dataset);

}  // namespace citybooks
