#include "pipeline/status.h"

#include <sstream>

#include "common/text.h"
#include "warehouse/result_json.h"

namespace citybooks {

namespace {}  // namespace

Result<nlohmann::json> CollectStatus(const PipelineContext& context,
                                     const std::vector<std::string>& names) {
  CB_ASSIGN_OR_RETURN(auto datasets, context.config->Select(names));
  nlohmann::json out = nlohmann::json::array();
  for (const DatasetConfig* dataset : datasets) {
    nlohmann::json entry;
    std::string schema = SchemaName(dataset->name);
    entry["dataset"] = dataset->name;
    entry["source"] = dataset->source;
    entry["mapping"] = dataset->mapping;
    CB_ASSIGN_OR_RETURN(std::vector<Manifest> snapshots, context.raw->ListSnapshots(dataset->name));
    entry["raw_snapshots"] = snapshots.size();
    if (!snapshots.empty()) {
      const Manifest& latest = snapshots.back();
      entry["latest_snapshot"] = {{"snapshot_id", latest.snapshot_id},
                                  {"fetched_at", latest.fetched_at},
                                  {"kind", latest.kind},
                                  {"files", latest.files.size()}};
      entry["watermark"] = latest.watermark;
    }
    CB_ASSIGN_OR_RETURN(bool has_schema, context.warehouse->HasSchema(schema));
    entry["in_warehouse"] = has_schema;
    if (!has_schema) {
      out.push_back(entry);
      continue;
    }
    std::string q = "\"" + schema + "\".";
    CB_ASSIGN_OR_RETURN(QueryResult loaded,
                        context.warehouse->Query("SELECT COUNT(*) FROM " + q + "cb_snapshots"));
    int64_t loaded_count = std::get<int64_t>(loaded.rows[0][0]);
    entry["loaded_snapshots"] = loaded_count;
    entry["pending_snapshots"] = static_cast<int64_t>(snapshots.size()) - loaded_count;
    CB_ASSIGN_OR_RETURN(
        QueryResult runs,
        context.warehouse->Query(
            "SELECT run_id, command, snapshot_id, status, started_at, finished_at, rows_read, "
            "rows_loaded, rows_quarantined, amount_read_cents, amount_loaded_cents, "
            "amount_quarantined_cents, partitions, message FROM " +
            q + "cb_runs ORDER BY run_id DESC LIMIT 1"));
    if (!runs.rows.empty()) {
      entry["last_run"] = RowToJson(runs, 0);
      CB_ASSIGN_OR_RETURN(
          QueryResult checks,
          context.warehouse->Query(
              "SELECT status, COUNT(*) FROM " + q + "cb_quality WHERE run_id = ? GROUP BY status",
              std::vector<Cell>{Cell::Int(std::get<int64_t>(runs.rows[0][0]))}));
      nlohmann::json check_counts = nlohmann::json::object();
      for (const auto& row : checks.rows)
        check_counts[ValueToString(row[0])] = std::get<int64_t>(row[1]);
      entry["last_checks"] = check_counts;
    }
    CB_ASSIGN_OR_RETURN(QueryResult quarantined,
                        context.warehouse->Query("SELECT COUNT(*) FROM " + q + "cb_quarantine"));
    entry["quarantined_rows"] = std::get<int64_t>(quarantined.rows[0][0]);
    CB_ASSIGN_OR_RETURN(QueryResult remaps,
                        context.warehouse->Query("SELECT COUNT(*) FROM " + q + "cb_code_remaps"));
    entry["code_remaps"] = std::get<int64_t>(remaps.rows[0][0]);
    out.push_back(entry);
  }
  return out;
}

std::string FormatStatus(const nlohmann::json& status) {
  std::ostringstream text;
  for (const auto& entry : status) {
    text << entry["dataset"].get<std::string>() << " (" << entry["source"].get<std::string>()
         << ", mapping " << entry["mapping"].get<std::string>() << ")\n";
    text << "  raw snapshots      " << entry["raw_snapshots"].get<int64_t>();
    if (entry.contains("latest_snapshot"))
      text << ", latest " << entry["latest_snapshot"]["snapshot_id"].get<std::string>();
    text << "\n";
    if (entry.contains("watermark") && !entry["watermark"].get<std::string>().empty())
      text << "  watermark          " << entry["watermark"].get<std::string>() << "\n";
    if (!entry["in_warehouse"].get<bool>()) {
      text << "  warehouse          not loaded yet\n";
      continue;
    }
    text << "  loaded snapshots   " << entry["loaded_snapshots"].get<int64_t>() << " ("
         << entry["pending_snapshots"].get<int64_t>() << " waiting for load)\n";
    if (entry.contains("last_run")) {
      const auto& run = entry["last_run"];
      auto text_of = [&](const char* key) {
        return run[key].is_string() ? run[key].get<std::string>() : std::string();
      };
      auto int_of = [&](const char* key) {
        return run[key].is_number() ? run[key].get<int64_t>() : int64_t{0};
      };
      text << "  last run           #" << int_of("run_id") << " " << text_of("status") << " at "
           << text_of("finished_at") << "\n";
      text << "  rows               read " << FormatCount(int_of("rows_read")) << " = loaded "
           << FormatCount(int_of("rows_loaded")) << " + quarantined "
           << FormatCount(int_of("rows_quarantined")) << "\n";
      text << "  amount             read " << FormatCents(int_of("amount_read_cents"))
           << " = loaded " << FormatCents(int_of("amount_loaded_cents")) << " + quarantined "
           << FormatCents(int_of("amount_quarantined_cents")) << "\n";
      if (!text_of("message").empty())
        text << "  message            " << text_of("message") << "\n";
    }
    if (entry.contains("last_checks")) {
      text << "  checks             ";
      bool first = true;
      for (const auto& [status_name, count] : entry["last_checks"].items()) {
        text << (first ? "" : ", ") << count.get<int64_t>() << " " << status_name;
        first = false;
      }
      text << "\n";
    }
    text << "  quarantined rows   " << FormatCount(entry["quarantined_rows"].get<int64_t>())
         << "\n";
    text << "  code remaps        " << FormatCount(entry["code_remaps"].get<int64_t>()) << "\n";
  }
  return text.str();
}

}  // namespace citybooks
