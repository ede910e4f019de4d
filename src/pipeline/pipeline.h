// The pipeline's stages as functions the CLI calls: ingest (files -> raw
// zone), load (raw zone -> warehouse, conform + check, one transaction per
// snapshot), model (facts -> model_* tables) and status. Each reads only what
// the stage before it wrote.
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

// What the forensic models found in one dataset (models.cc).
struct ModelSummary {
  // False when the dataset has no facts loaded yet: nothing was computed.
  bool had_facts = false;
  // True when ModelOptions::only_if_stale found the results current.
  bool up_to_date = false;
  int64_t run_id = 0;
  int64_t facts_read = 0;
  int64_t rows_written = 0;  // rows of the model_* tables
  // One line per model, e.g. "model_benford: 40 groups, 2 nonconforming".
  std::vector<std::string> lines;
  double seconds = 0;
};

struct ModelOptions {
  // Compute only when a load succeeded after the last successful model run
  // (what `run` wants); otherwise always.
  bool only_if_stale = false;
};

// Computes the models the dataset's mapping declares ([models]) with
// `params`, streaming its facts once, and replaces every model_* table's rows
// in one transaction recorded in cb_runs (command "model"). A failure rolls
// the results back and is recorded as a failed run.
Result<ModelSummary> RunModels(const PipelineContext& context, const std::string& dataset,
                               const ModelParams& params, const ModelOptions& options = {});

// The cb_runs record every stage writes: appends the row of `summary` (its
// run id, snapshot and accounting) for `command` ("load", "model").
Status RecordRun(LoadTransaction& load, const std::string& dataset, const std::string& command,
                 const LoadSummary& summary, const std::string& status,
                 const std::string& started_at, const std::string& finished_at,
                 const std::string& message);

// After a failed run rolled back: keeps the failure (and any check results of
// `summary`) in the history, in a transaction of its own; best effort.
void RecordFailure(const PipelineContext& context, const std::string& schema,
                   const std::string& dataset, const std::string& command, LoadSummary summary,
                   const std::string& started_at, const std::string& message);

}  // namespace citybooks
