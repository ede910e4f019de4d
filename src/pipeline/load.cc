#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "check/checks.h"
#include "common/csv_reader.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/text.h"
#include "common/threaded_csv_reader.h"
#include "conform/aggregate_builder.h"
#include "conform/conformer.h"
#include "conform/mapping.h"
#include "pipeline/pipeline.h"
#include "pipeline/star_schema.h"

namespace citybooks {

namespace {

constexpr size_t kMaxQuarantinedLineBytes = 4096;

// Test hook (tests/load_crash_test): kill the process after N facts, the way
// a power cut or OOM kill would, to prove a half-done load leaves nothing.
int64_t KillAfterRows() {
  const char* value = std::getenv("CITYBOOKS_FAULT_KILL_AFTER_ROWS");
  if (value == nullptr) return -1;
  return std::atoll(value);
}

// Rows, cents and an order-independent digest of a partition's facts.
struct PartitionTotals {
  int64_t rows = 0;
  int64_t cents = 0;
  uint64_t digest = 0;  // wrapping sum of FactDigest over the partition's facts
};

// A well-mixed hash of everything a fact stores; summed over a partition it
// tells whether a reloaded partition holds the same multiset of facts.
uint64_t FactDigest(const ConformedFact& fact, size_t dimensions, uint64_t seed) {
  auto mix = [](uint64_t h, uint64_t value) {
    h ^= value + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 27);
  };
  uint64_t h = mix(seed, static_cast<uint64_t>(fact.fiscal_year));
  h = mix(h, static_cast<uint64_t>(fact.fiscal_month));
  h = mix(h, static_cast<uint64_t>(fact.date));
  h = mix(h, static_cast<uint64_t>(fact.cents));
  for (size_t d = 0; d < dimensions; ++d) h = mix(h, static_cast<uint64_t>(fact.member_ids[d]));
  return h * 0x94d049bb133111ebull;
}

std::string PartitionList(const std::set<int64_t>& partitions) {
  std::string list;
  for (int64_t value : partitions) list += (list.empty() ? "" : ", ") + std::to_string(value);
  return list;
}

struct SnapshotLoad {
  const PipelineContext& context;
  const DatasetConfig& dataset;
  const Mapping& mapping;
  const std::string& schema;
  const Manifest& manifest;
};

Result<LoadSummary> LoadSnapshot(const SnapshotLoad& job, LoadTransaction& load, int64_t run_id) {
  const Mapping& mapping = job.mapping;
  const Manifest& manifest = job.manifest;
  auto qualify = [&](const std::string& table) { return load.Qualify(table); };
  LoadSummary summary;
  double phase_start = MonotonicSeconds();
  auto phase_done = [&](const char* name) {
    double now = MonotonicSeconds();
    summary.phases.emplace_back(name, now - phase_start);
    phase_start = now;
  };
  summary.snapshot_id = manifest.snapshot_id;
  summary.run_id = run_id;
  Cell snapshot_param = Cell::Text(manifest.snapshot_id);
  std::span<const Cell> by_snapshot(&snapshot_param, 1);

  // A reload replaces what the snapshot's earlier load recorded.
  for (const char* table : {"cb_quarantine", "cb_code_remaps", "cb_snapshots"})
    CB_RETURN_IF_ERROR(
        load.Execute("DELETE FROM " + qualify(table) + " WHERE snapshot_id = ?", by_snapshot));

  // Members already in the warehouse keep their ids and their levels' codes
  // and spellings; if an attribute of one changes, aggregates are rebuilt
  // whole rather than only for this load's fiscal years.
  std::vector<DimensionBuilder> builders;
  builders.reserve(mapping.dimensions.size());
  std::vector<std::unordered_map<int64_t, std::vector<std::string>>> old_values(
      mapping.dimensions.size());
  for (size_t d = 0; d < mapping.dimensions.size(); ++d) {
    const DimensionSpec& dimension = mapping.dimensions[d];
    builders.emplace_back(mapping, dimension);
    std::string columns;
    for (const std::string& column : dimension.columns()) columns += ", " + QuoteIdentifier(column);
    CB_ASSIGN_OR_RETURN(
        QueryResult existing,
        load.Query("SELECT " + QuoteIdentifier(dimension.id_column()) + ", member_key" + columns +
                   " FROM " + qualify(dimension.table())));
    for (size_t r = 0; r < existing.rows.size(); ++r) {
      int64_t id = existing.IntAt(r, 0);
      auto& values = old_values[d][id];
      for (size_t c = 2; c < existing.rows[r].size(); ++c)
        values.push_back(ValueToString(existing.rows[r][c]));
      builders.back().SeedExisting(ValueToString(existing.rows[r][1]), id, values);
    }
  }
  std::vector<AggregateBuilder> aggregates;
  aggregates.reserve(mapping.aggregates.size());
  for (const AggregateSpec& aggregate : mapping.aggregates)
    aggregates.emplace_back(mapping, aggregate, &builders);
  // An aggregate that another one's keys decide (by group under by
  // department) is rolled up from it at the end instead of counted per fact.
  for (AggregateBuilder& aggregate : aggregates)
    for (AggregateBuilder& source : aggregates)
      if (aggregate.DeriveFrom(source)) break;
  std::vector<AggregateBuilder*> counted;
  for (AggregateBuilder& aggregate : aggregates)
    if (!aggregate.derived()) counted.push_back(&aggregate);
  std::vector<AggregateBuilder::Prepared> prepared(counted.size());

  std::vector<std::string> fact_columns = FactColumns(mapping);
  CB_ASSIGN_OR_RETURN(auto facts, load.Appender(mapping.fact_table, fact_columns));
  CB_ASSIGN_OR_RETURN(auto quarantine,
                      load.Appender("cb_quarantine", {"run_id", "dataset", "snapshot_id", "file",
                                                      "line", "raw_line", "reason"}));
  LoadAccounting& accounting = summary.accounting;
  // Rows and cents per partition, as counters over the mapping's fiscal
  // years and months (a map update per row would cost more than the rest of
  // the bookkeeping): index (year - first year) * 13 + fiscal month (0 for
  // yearly partitions).
  std::vector<PartitionTotals> per_partition(
      static_cast<size_t>(mapping.max_fiscal_year - mapping.min_fiscal_year + 1) * 13);
  const uint64_t digest_seed = std::hash<std::string>()(mapping.fingerprint);
  std::string date_text = "YYYY-MM-DD";
  std::vector<Cell> row(fact_columns.size());
  const size_t dimension_count = mapping.dimensions.size();
  const int64_t kill_after = KillAfterRows();
  ConformedFact fact;
  RowProblem problem;

  for (const ManifestFile& file : manifest.files) {
    std::string where = "snapshot " + manifest.snapshot_id + " file " + file.name;
    CB_ASSIGN_OR_RETURN(auto source, job.context.raw->OpenFile(manifest, file.name));
    // Parsing runs on a thread of its own, ahead of conforming and writing.
    const ThreadedCsvOptions csv;
    ThreadedCsvReader reader(std::move(source), csv);
    CsvRecord record;
    auto first = reader.Next(&record);
    if (!first) return Fail(first.error().WithContext("reading " + where));
    if (!*first) return Fail(ErrorCode::kDataError, where + " is empty; it has no header");
    if (record.problem != CsvProblem::kNone)
      return Fail(ErrorCode::kDataError, where + ": the header line cannot be read as CSV");
    std::vector<std::string> header(record.fields.begin(), record.fields.end());
    std::vector<std::string_view> header_views(header.begin(), header.end());
    CB_ASSIGN_OR_RETURN(RowConformer conformer, RowConformer::Make(mapping, &builders, header_views,
                                                                   file.name, csv.csv.delimiter));

    ProgressMeter meter("loading " + file.name, file.bytes);
    int64_t file_rows = 0;
    while (true) {
      auto more = reader.Next(&record);
      if (!more) return Fail(more.error().WithContext("reading " + where));
      if (!*more) break;
      ++accounting.rows_read;
      ++file_rows;
      if (conformer.Conform(record, &fact, &problem)) {
        auto& totals =
            per_partition[static_cast<size_t>(fact.fiscal_year - mapping.min_fiscal_year) * 13 +
                          (mapping.partition == Partition::kFiscalMonth ? fact.fiscal_month : 0)];
        ++totals.rows;
        if (totals.rows >= kFactIdsPerPartition)
          return Fail(ErrorCode::kDataError, "snapshot " + manifest.snapshot_id + " holds " +
                                                 std::to_string(totals.rows) +
                                                 " or more facts of one partition, more than "
                                                 "fact ids can number");
        totals.cents += fact.cents;
        totals.digest += FactDigest(fact, dimension_count, digest_seed);
        size_t c = 0;
        if (mapping.has_date()) {
          std::snprintf(date_text.data(), date_text.size() + 1, "%04d-%02d-%02d", fact.date / 10000,
                        fact.date / 100 % 100, fact.date % 100);
          row[c++] = Cell::Text(date_text);
          row[c++] = Cell::Int(fact.fiscal_year);
          row[c++] = Cell::Int(fact.fiscal_month);
        } else {
          row[c++] = Cell::Int(fact.fiscal_year);
        }
        for (size_t d = 0; d < dimension_count; ++d) row[c++] = Cell::Int(fact.member_ids[d]);
        row[c++] = Cell::Real(static_cast<double>(fact.cents) / 100.0);
        row[c++] = Cell::Int(fact.cents);
        row[c++] = Cell::Int(run_id);
        row[c++] = Cell::Int(fact.partition * kFactIdsPerPartition + totals.rows);
        CB_RETURN_IF_ERROR(facts->Append(row));
        for (size_t a = 0; a < counted.size(); ++a) prepared[a] = counted[a]->Prepare(fact);
        for (size_t a = 0; a < counted.size(); ++a) counted[a]->Commit(fact, prepared[a]);
        ++accounting.rows_loaded;
        accounting.amount_loaded_cents += fact.cents;
        accounting.amount_read_cents += fact.cents;
        if (accounting.rows_loaded == kill_after) std::raise(SIGKILL);
      } else {
        ++accounting.rows_quarantined;
        if (problem.amount_parsed) {
          accounting.amount_quarantined_cents += problem.cents;
          accounting.amount_read_cents += problem.cents;
        }
        std::string raw = SanitizeText(record.raw, kMaxQuarantinedLineBytes, false);
        Cell cells[] = {Cell::Int(run_id),
                        Cell::Text(job.dataset.name),
                        Cell::Text(manifest.snapshot_id),
                        Cell::Text(file.name),
                        Cell::Int(static_cast<int64_t>(record.first_line)),
                        Cell::Text(raw),
                        Cell::Text(problem.reason)};
        CB_RETURN_IF_ERROR(quarantine->Append(cells));
      }
      if ((file_rows & 0xffff) == 0) meter.Update(reader.bytes_read(), file_rows);
    }
    meter.Finish();
  }
  phase_done("read and conform");
  if (accounting.rows_read == 0)
    return Fail(ErrorCode::kDataError,
                "snapshot " + manifest.snapshot_id + " holds no data rows; nothing was loaded");
  facts.reset();
  quarantine.reset();
  std::set<int64_t> partitions;
  std::map<int64_t, PartitionTotals> partition_stats;
  for (size_t i = 0; i < per_partition.size(); ++i)
    if (per_partition[i].rows > 0) {
      int64_t year = mapping.min_fiscal_year + static_cast<int64_t>(i / 13);
      int64_t value = mapping.partition == Partition::kFiscalMonth ? year * 100 + i % 13 : year;
      partitions.insert(value);
      partition_stats[value] = per_partition[i];
    }

  // Dimension members: decided codes and spellings replace earlier versions.
  CB_ASSIGN_OR_RETURN(
      auto remap_appender,
      load.Appender("cb_code_remaps", {"run_id", "snapshot_id", "dimension", "level", "name_path",
                                       "from_code", "to_code", "rows"}));
  // Columns whose value changed for a member that existed before this load:
  // aggregates reading one of them are rebuilt from the fact table, since
  // their rows for other fiscal years would be stale.
  std::set<std::string> changed_columns;
  std::vector<std::vector<std::vector<std::string>>> new_values(builders.size());
  for (size_t d = 0; d < builders.size(); ++d) {
    const DimensionSpec& dimension = builders[d].spec();
    std::vector<DimensionBuilder::Member> members;
    std::vector<DimensionBuilder::Remap> remaps;
    builders[d].Resolve(&members, &remaps);
    std::vector<std::string> columns = DimensionTableColumns(dimension);
    const bool has_key_column = dimension.key_rule == KeyRule::kVendorName;
    // Replace the members this load decided, in batches of ids.
    for (size_t start = 0; start < members.size(); start += 500) {
      std::string ids;
      for (size_t i = start; i < members.size() && i < start + 500; ++i)
        ids += (ids.empty() ? "" : ", ") + std::to_string(members[i].id);
      CB_RETURN_IF_ERROR(load.Execute("DELETE FROM " + qualify(dimension.table()) + " WHERE " +
                                      QuoteIdentifier(dimension.id_column()) + " IN (" + ids +
                                      ")"));
    }
    CB_ASSIGN_OR_RETURN(auto appender, load.Appender(dimension.table(), columns));
    std::vector<Cell> cells(columns.size());
    for (auto& member : members) {
      cells[0] = Cell::Int(member.id);
      for (size_t i = 0; i < member.values.size(); ++i) cells[1 + i] = Cell::Text(member.values[i]);
      // The member key ends each level with a separator; the key column
      // holds the last level's key without it.
      std::string_view key(member.key);
      if (has_key_column) {
        std::string_view last = key.substr(0, key.size() - 1);
        last =
            last.substr(last.rfind('\x1f') == std::string_view::npos ? 0 : last.rfind('\x1f') + 1);
        cells[cells.size() - 2] = Cell::Text(last);
      }
      cells.back() = Cell::Text(key);
      CB_RETURN_IF_ERROR(appender->Append(cells));
      auto old = old_values[d].find(member.id);
      if (old != old_values[d].end() && old->second != member.values) {
        std::vector<std::string> columns_of = dimension.columns();
        for (size_t i = 0; i < member.values.size() && i < old->second.size(); ++i)
          if (old->second[i] != member.values[i]) changed_columns.insert(columns_of[i]);
      }
      new_values[d].push_back(std::move(member.values));
    }
    for (const auto& remap : remaps) {
      Cell remap_cells[] = {Cell::Int(run_id),           Cell::Text(manifest.snapshot_id),
                            Cell::Text(dimension.name),  Cell::Text(remap.level),
                            Cell::Text(remap.name_path), Cell::Text(remap.from_code),
                            Cell::Text(remap.to_code),   Cell::Int(remap.rows)};
      CB_RETURN_IF_ERROR(remap_appender->Append(remap_cells));
      ++summary.remaps;
    }
  }
  remap_appender.reset();
  phase_done("dimensions");

  // Replace the partitions this snapshot covers: earlier facts of those
  // fiscal years (or months) go, in the same transaction that added the new
  // ones. A partition whose rows are the same as before (same count, cents
  // and digest of every fact) keeps its earlier facts and drops this run's
  // copy, so a new snapshot replaces only what changed. cb_partitions knows
  // which partitions hold facts, so one loaded for the first time costs no
  // scan of the fact table.
  std::string partition_filter;
  std::set<int64_t> changed = partitions;
  std::set<int64_t> unchanged;
  if (!partitions.empty()) {
    partition_filter = mapping.PartitionExpression() + " IN (" + PartitionList(partitions) + ")";
    CB_ASSIGN_OR_RETURN(QueryResult held,
                        load.Query("SELECT partition_value, rows, amount_cents, digest FROM " +
                                   qualify("cb_partitions") + " WHERE partition_value IN (" +
                                   PartitionList(partitions) + ")"));
    std::set<int64_t> replaced;
    for (size_t r = 0; r < held.rows.size(); ++r) {
      int64_t value = held.IntAt(r, 0);
      const PartitionTotals& now = partition_stats[value];
      if (held.IntAt(r, 1) == now.rows && held.IntAt(r, 2) == now.cents &&
          held.IntAt(r, 3) == static_cast<int64_t>(now.digest)) {
        unchanged.insert(value);
        changed.erase(value);
      } else {
        replaced.insert(value);
      }
    }
    Cell run = Cell::Int(run_id);
    auto run_param = std::span<const Cell>(&run, 1);
    if (!replaced.empty())
      CB_RETURN_IF_ERROR(load.Execute("DELETE FROM " + qualify(mapping.fact_table) + " WHERE " +
                                          mapping.PartitionExpression() + " IN (" +
                                          PartitionList(replaced) + ") AND run_id <> ?",
                                      run_param));
    if (!unchanged.empty())
      CB_RETURN_IF_ERROR(load.Execute("DELETE FROM " + qualify(mapping.fact_table) + " WHERE " +
                                          mapping.PartitionExpression() + " IN (" +
                                          PartitionList(unchanged) + ") AND run_id = ?",
                                      run_param));
  }
  phase_done("replace partitions");
  // Aggregates: this load's rows replace its fiscal years. When a member
  // seen before changed its code or spelling, rows of other years would be
  // stale, so the aggregate is rebuilt from the fact table instead.
  auto member_values = [&](size_t d, uint32_t index) -> const std::vector<std::string>& {
    return new_values[d][index];
  };
  int rebuilt_aggregates = 0;
  for (const AggregateBuilder& aggregate : aggregates) {
    const AggregateSpec& spec = aggregate.spec();
    bool stale = false;
    for (const std::string* column : {&spec.filter_column, &spec.contains_column})
      stale = stale || changed_columns.count(*column);
    for (const std::string& column : spec.group_by) stale = stale || changed_columns.count(column);
    if (stale || !aggregate.covers_partition()) {
      ++rebuilt_aggregates;
      CB_RETURN_IF_ERROR(load.Execute("DELETE FROM " + qualify(spec.table())));
      SqlWithParams insert = AggregateInsertSql(mapping, spec, "", qualify);
      std::vector<Cell> params;
      for (const std::string& param : insert.params) params.push_back(Cell::Text(param));
      CB_RETURN_IF_ERROR(load.Execute(insert.sql, params));
      continue;
    }
    if (!partition_filter.empty())
      CB_RETURN_IF_ERROR(
          load.Execute("DELETE FROM " + qualify(spec.table()) + " WHERE " + partition_filter));
    std::vector<std::string> columns = spec.group_by;
    if (spec.histogram)
      columns.insert(columns.end(),
                     {"bucket", "bucket_label", "bucket_lower_cents", "bucket_upper_cents"});
    columns.insert(columns.end(), {"transactions", "amount", "amount_cents", "max_amount_cents",
                                   "min_amount_cents"});
    CB_ASSIGN_OR_RETURN(auto appender, load.Appender(spec.table(), columns));
    std::vector<Cell> cells(columns.size());
    for (const AggregateRow& row : aggregate.Finish(member_values)) {
      size_t c = 0;
      for (size_t g = 0; g < row.groups.size(); ++g) {
        if (IsIntegerTimeColumn(mapping, spec.group_by[g])) {
          cells[c++] = Cell::Int(ParseInt(row.groups[g]).value_or(0));
        } else {
          cells[c++] = Cell::Text(row.groups[g]);
        }
      }
      if (spec.histogram) {
        const AmountBucket& bucket = AmountBuckets()[row.bucket];
        cells[c++] = Cell::Int(bucket.bucket);
        cells[c++] = Cell::Text(bucket.label);
        cells[c++] = row.bucket == 0 ? Cell::Null() : Cell::Int(bucket.lower_cents);
        cells[c++] = row.bucket + 1 == static_cast<int>(AmountBuckets().size())
                         ? Cell::Null()
                         : Cell::Int(bucket.upper_cents);
      }
      cells[c++] = Cell::Int(row.stats.transactions);
      cells[c++] = Cell::Real(static_cast<double>(row.stats.cents) / 100.0);
      cells[c++] = Cell::Int(row.stats.cents);
      cells[c++] = Cell::Int(row.stats.max_cents);
      cells[c++] = Cell::Int(row.stats.min_cents);
      CB_RETURN_IF_ERROR(appender->Append(cells));
    }
  }

  phase_done(rebuilt_aggregates > 0 ? "aggregates (some rebuilt from facts)" : "aggregates");
  // Checks, with what the warehouse now holds for the replaced partitions.
  std::vector<CheckSpec> checks = BuiltInChecks(mapping, job.dataset.checks);
  FactCensus census;
  if (!partition_filter.empty()) {
    // When the table holds no other partition (a first load, a full reload),
    // the census reads it whole instead of testing every row against the list.
    CB_ASSIGN_OR_RETURN(
        QueryResult others,
        load.Query("SELECT COUNT(*) FROM " + qualify("cb_partitions") +
                   " WHERE partition_value NOT IN (" + PartitionList(partitions) + ")"));
    CB_ASSIGN_OR_RETURN(census, TakeFactCensus(load, mapping, checks,
                                               others.IntAt(0, 0) == 0 ? "" : partition_filter));
  }
  if (!changed.empty()) {
    CB_RETURN_IF_ERROR(load.Execute("DELETE FROM " + qualify("cb_partitions") +
                                    " WHERE partition_value IN (" + PartitionList(changed) + ")"));
    CB_ASSIGN_OR_RETURN(auto appender,
                        load.Appender("cb_partitions", {"partition_value", "rows", "amount_cents",
                                                        "digest", "run_id", "snapshot_id"}));
    for (int64_t value : changed) {
      const PartitionTotals& stats = partition_stats[value];
      Cell cells[] = {Cell::Int(value),       Cell::Int(stats.rows),
                      Cell::Int(stats.cents), Cell::Int(static_cast<int64_t>(stats.digest)),
                      Cell::Int(run_id),      Cell::Text(manifest.snapshot_id)};
      CB_RETURN_IF_ERROR(appender->Append(cells));
    }
  }
  CheckContext check_context{accounting, std::move(census), partition_filter,
                             job.context.clock->Now()};
  for (const CheckSpec& check : checks) {
    CB_ASSIGN_OR_RETURN(CheckResult result, RunCheck(load, mapping, check, check_context));
    summary.checks.push_back(std::move(result));
  }
  summary.partitions.assign(partitions.begin(), partitions.end());
  summary.unchanged_partitions.assign(unchanged.begin(), unchanged.end());
  phase_done("checks");
  return summary;
}

Status RecordChecks(LoadTransaction& load, const LoadSummary& summary, const std::string& at) {
  CB_ASSIGN_OR_RETURN(auto appender,
                      load.Appender("cb_quality", {"run_id", "snapshot_id", "check_name",
                                                   "check_type", "table_name", "severity", "status",
                                                   "failing", "details", "sample", "checked_at"}));
  for (const CheckResult& check : summary.checks) {
    std::string status = check.passed ? "pass" : (check.severity == "warn" ? "warn" : "fail");
    Cell cells[] = {Cell::Int(summary.run_id),
                    Cell::Text(summary.snapshot_id),
                    Cell::Text(check.name),
                    Cell::Text(check.type),
                    Cell::Text(check.table),
                    Cell::Text(check.severity),
                    Cell::Text(status),
                    Cell::Int(check.failing),
                    Cell::Text(check.details),
                    Cell::Text(check.sample),
                    Cell::Text(at)};
    CB_RETURN_IF_ERROR(appender->Append(cells));
  }
  return Ok();
}

}  // namespace

Status RecordRun(LoadTransaction& load, const std::string& dataset, const std::string& command,
                 const LoadSummary& summary, const std::string& status,
                 const std::string& started_at, const std::string& finished_at,
                 const std::string& message) {
  std::string partitions;
  for (int year : summary.partitions)
    partitions += (partitions.empty() ? "" : ",") + std::to_string(year);
  const LoadAccounting& a = summary.accounting;
  CB_ASSIGN_OR_RETURN(
      auto appender,
      load.Appender("cb_runs", {"run_id", "dataset", "command", "snapshot_id", "status",
                                "started_at", "finished_at", "rows_read", "rows_loaded",
                                "rows_quarantined", "amount_read_cents", "amount_loaded_cents",
                                "amount_quarantined_cents", "partitions", "message"}));
  Cell cells[] = {Cell::Int(summary.run_id),
                  Cell::Text(dataset),
                  Cell::Text(command),
                  Cell::Text(summary.snapshot_id),
                  Cell::Text(status),
                  Cell::Text(started_at),
                  Cell::Text(finished_at),
                  Cell::Int(a.rows_read),
                  Cell::Int(a.rows_loaded),
                  Cell::Int(a.rows_quarantined),
                  Cell::Int(a.amount_read_cents),
                  Cell::Int(a.amount_loaded_cents),
                  Cell::Int(a.amount_quarantined_cents),
                  Cell::Text(partitions),
                  Cell::Text(message)};
  return appender->Append(cells);
}

void RecordFailure(const PipelineContext& context, const std::string& schema,
                   const std::string& dataset, const std::string& command, LoadSummary summary,
                   const std::string& started_at, const std::string& message) {
  auto load = context.warehouse->BeginLoad(schema);
  if (!load) return;
  auto next =
      (*load)->Query("SELECT COALESCE(MAX(run_id), 0) + 1 FROM " + (*load)->Qualify("cb_runs"));
  if (!next) return;
  summary.run_id = next->IntAt();
  std::string now = FormatIsoTime(context.clock->Now());
  if (!RecordChecks(**load, summary, now)) return;
  if (!RecordRun(**load, dataset, command, summary, "failed", started_at, now, message)) return;
  (void)(*load)->Commit();
}

Status InitDataset(const PipelineContext& context, const std::string& dataset) {
  CB_ASSIGN_OR_RETURN(const DatasetConfig* config, context.config->Dataset(dataset));
  CB_ASSIGN_OR_RETURN(Mapping mapping, LoadMapping(config->mapping));
  return context.warehouse->EnsureSchema(SchemaName(dataset), DatasetTables(mapping));
}

Result<std::vector<LoadSummary>> Load(const PipelineContext& context, const std::string& dataset,
                                      const LoadOptions& options) {
  CB_ASSIGN_OR_RETURN(const DatasetConfig* config, context.config->Dataset(dataset));
  CB_ASSIGN_OR_RETURN(std::vector<Manifest> snapshots, context.raw->ListSnapshots(dataset));
  if (snapshots.empty()) {
    LogInfo(dataset + ": the raw zone holds no snapshot yet; nothing to load");
    return std::vector<LoadSummary>();
  }
  CB_ASSIGN_OR_RETURN(Mapping mapping, LoadMapping(config->mapping));
  std::string schema = SchemaName(dataset);
  CB_RETURN_IF_ERROR(context.warehouse->EnsureSchema(schema, DatasetTables(mapping)));
  CB_ASSIGN_OR_RETURN(QueryResult loaded_rows,
                      context.warehouse->Query("SELECT snapshot_id FROM " +
                                               QuoteIdentifier(schema) + ".cb_snapshots"));
  std::set<std::string> loaded;
  for (const auto& row : loaded_rows.rows) loaded.insert(ValueToString(row[0]));

  std::vector<LoadSummary> summaries;
  for (const Manifest& manifest : snapshots) {
    if (!options.reload && loaded.count(manifest.snapshot_id)) continue;
    std::string started_at = FormatIsoTime(context.clock->Now());
    double start = MonotonicSeconds();
    LogInfo("loading " + dataset + " snapshot " + manifest.snapshot_id + " (" +
            std::to_string(manifest.files.size()) + " file" +
            (manifest.files.size() == 1 ? "" : "s") + ")");
    CB_ASSIGN_OR_RETURN(auto load, context.warehouse->BeginLoad(schema));
    CB_ASSIGN_OR_RETURN(QueryResult next, load->Query("SELECT COALESCE(MAX(run_id), 0) + 1 FROM " +
                                                      load->Qualify("cb_runs")));
    int64_t run_id = next.IntAt();
    SnapshotLoad job{context, *config, mapping, schema, manifest};
    Result<LoadSummary> summary = LoadSnapshot(job, *load, run_id);
    std::string failure;
    if (!summary) {
      failure = summary.error().message();
    } else {
      for (const CheckResult& check : summary->checks)
        if (!check.passed && check.severity == "error") {
          failure = "check " + check.name + " failed: " + check.details;
          break;
        }
    }
    if (!failure.empty()) {
      load.reset();  // rolls back everything this snapshot wrote
      LoadSummary partial = summary ? *summary : LoadSummary{};
      partial.snapshot_id = manifest.snapshot_id;
      RecordFailure(context, schema, dataset, "load", partial, started_at, failure);
      ErrorCode code = summary ? ErrorCode::kCheckFailed : summary.error().code();
      return Fail(code, "load of " + dataset + " snapshot " + manifest.snapshot_id +
                            " failed and was rolled back: " + failure);
    }
    std::string finished_at = FormatIsoTime(context.clock->Now());
    CB_RETURN_IF_ERROR(RecordChecks(*load, *summary, finished_at));
    CB_RETURN_IF_ERROR(
        RecordRun(*load, dataset, "load", *summary, "succeeded", started_at, finished_at, ""));
    std::string urls;
    for (const std::string& url : manifest.source_urls) urls += (urls.empty() ? "" : " ") + url;
    int64_t rows = 0;
    int64_t bytes = 0;
    for (const ManifestFile& file : manifest.files) {
      rows += static_cast<int64_t>(file.rows);
      bytes += static_cast<int64_t>(file.bytes);
    }
    CB_ASSIGN_OR_RETURN(
        auto snapshots_appender,
        load->Appender("cb_snapshots",
                       {"snapshot_id", "dataset", "kind", "fetched_at", "files", "rows", "bytes",
                        "source_urls", "watermark", "loaded_at", "run_id"}));
    Cell cells[] = {Cell::Text(manifest.snapshot_id),
                    Cell::Text(dataset),
                    Cell::Text(manifest.kind),
                    Cell::Text(manifest.fetched_at),
                    Cell::Int(static_cast<int64_t>(manifest.files.size())),
                    Cell::Int(rows),
                    Cell::Int(bytes),
                    Cell::Text(urls),
                    Cell::Text(manifest.watermark),
                    Cell::Text(finished_at),
                    Cell::Int(run_id)};
    CB_RETURN_IF_ERROR(snapshots_appender->Append(cells));
    snapshots_appender.reset();
    double commit_start = MonotonicSeconds();
    CB_RETURN_IF_ERROR(load->Commit());
    summary->phases.emplace_back("commit", MonotonicSeconds() - commit_start);
    summary->seconds = MonotonicSeconds() - start;
    summaries.push_back(std::move(*summary));
  }
  return summaries;
}

}  // namespace citybooks
