// The Socrata half of the emulator as pure functions: a dataset is an
// immutable SocrataTable (the server swaps whole snapshots), and each endpoint
// turns a table and the query parameters into a Reply.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "emulator/internal/reply.h"
#include "emulator/portal_emulator.h"

namespace citybooks::emulator::internal {

struct SocrataRow {
  uint64_t sequence = 0;  // the :id order
  std::string id;         // ":id", e.g. "row-7fbd.kq3m~x2ta"
  std::chrono::sys_seconds created_at;
  std::chrono::sys_seconds updated_at;
  std::vector<std::string> fields;
};

struct SocrataTable {
  std::string id;
  std::vector<std::string> columns;
  std::vector<std::string> types;  // one per column
  std::vector<SocrataRow> rows;    // ascending sequence
  std::chrono::sys_seconds created_at;
  std::chrono::sys_seconds rows_updated_at;
  uint64_t version = 0;  // changes with every upload or edit; part of each ETag
  uint64_t next_sequence = 1;
  bool quote_all_fields = true;
  bool crlf_line_ends = false;
};

struct SocrataLimits {
  int default_limit = 1000;
  int max_limit = 50000;
};

// The table after uploading `dataset` as `id` over `previous` (nullptr for a
// new dataset), with the row identity rules of
// PortalEmulator::SetSocrataDataset(). Throws std::invalid_argument when
// `dataset` is malformed.
SocrataTable UploadSocrataTable(const SocrataTable* previous, const std::string& id,
                                SocrataDataset dataset);

// The table after PortalEmulator::UpdateSocrataRows(). Throws
// std::invalid_argument on an index out of range, an index given twice, or a
// row with the wrong number of fields.
SocrataTable EditSocrataTable(const SocrataTable& previous,
                              const std::vector<SocrataRowChange>& changes,
                              std::vector<std::vector<std::string>> appended,
                              std::chrono::sys_seconds updated_at);

// GET /resource/{id}.csv
Reply SocrataResourceReply(const SocrataTable& table, const QueryParams& params,
                           const SocrataLimits& limits);
// GET /api/views/{id}.json
Reply SocrataViewReply(const SocrataTable& table);
// A SODA error body: {"code": code, "error": true, "message": message}.
Reply SocrataErrorReply(int status, const std::string& code, const std::string& message);

}  // namespace citybooks::emulator::internal
