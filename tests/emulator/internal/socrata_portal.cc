#include "emulator/internal/socrata_portal.h"

#include <algorithm>
#include <cctype>
#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string_view>

#include "emulator/csv_text.h"
#include "emulator/time_text.h"

namespace citybooks::emulator::internal {
namespace {

using Microseconds = std::chrono::sys_time<std::chrono::microseconds>;

// --- Row ids -----------------------------------------------------------------

// Real :id values look like "row-2x9u~qq8p.kj5f": twelve characters of a
// 32-letter alphabet. Ours are a bijective scramble of the row's sequence
// number (salted by the dataset id), so they look random yet never collide.
std::string MakeRowId(const std::string& dataset_id, uint64_t sequence) {
  static constexpr char kAlphabet[] = "23456789abcdefghijkmnpqrstuvwxyz";
  constexpr uint64_t kMask = (uint64_t{1} << 60) - 1;
  // Each step is a bijection on 60-bit values: add, xor-shift right, multiply
  // by an odd number modulo 2^60.
  uint64_t x = (sequence + Fnv1a(dataset_id)) & kMask;
  x ^= x >> 29;
  x = (x * 0xbf58476d1ce4e5b9ULL) & kMask;
  x ^= x >> 32;
  x = (x * 0x94d049bb133111ebULL) & kMask;
  x ^= x >> 29;
  std::string id = "row-";
  for (int i = 0; i < 12; ++i) {
    if (i == 4) id.push_back('.');
    if (i == 8) id.push_back('~');
    id.push_back(kAlphabet[(x >> (5 * i)) & 31]);
  }
  return id;
}

SocrataRow NewRow(SocrataTable* table, std::vector<std::string> fields,
                  std::chrono::sys_seconds at) {
  SocrataRow row;
  row.sequence = table->next_sequence++;
  row.id = MakeRowId(table->id, row.sequence);
  row.created_at = at;
  row.updated_at = at;
  row.fields = std::move(fields);
  return row;
}

void CheckFieldCount(const SocrataTable& table, const std::vector<std::string>& fields,
                     std::string_view what) {
  if (fields.size() != table.columns.size()) {
    throw std::invalid_argument("Socrata dataset " + table.id + ": " + std::string(what) + " has " +
                                std::to_string(fields.size()) + " fields but the " +
                                "dataset has " + std::to_string(table.columns.size()) +
                                " columns; give every row one value per column");
  }
}

// --- Query parsing -------------------------------------------------------------

enum class FieldKind { kId, kCreatedAt, kUpdatedAt, kColumn };

struct OutputField {
  std::string name;
  std::string type;
  FieldKind kind = FieldKind::kColumn;
  size_t column = 0;
};

struct RowFilter {
  FieldKind kind = FieldKind::kUpdatedAt;
  std::string op;
  Microseconds value;
};

enum class Order { kUnordered, kIdAscending, kIdDescending };

struct Query {
  uint64_t limit = 0;
  uint64_t offset = 0;
  Order order = Order::kUnordered;
  std::optional<std::string> count_alias;  // set for $select=count(*)
  std::vector<OutputField> fields;
  std::optional<RowFilter> where;
};

using ParseResult = std::expected<Query, std::string>;

std::string Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::optional<uint64_t> ParseCount(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + uint64_t(c - '0');
  }
  return value;
}

std::vector<OutputField> SystemFields() {
  return {{":id", "meta_data", FieldKind::kId, 0},
          {":created_at", "meta_data", FieldKind::kCreatedAt, 0},
          {":updated_at", "meta_data", FieldKind::kUpdatedAt, 0}};
}

std::vector<OutputField> UserFields(const SocrataTable& table) {
  std::vector<OutputField> fields;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    fields.push_back({table.columns[i], table.types[i], FieldKind::kColumn, i});
  }
  return fields;
}

std::expected<void, std::string> ParseSelect(const SocrataTable& table, std::string_view text,
                                             Query* query) {
  static const std::regex kCount(
      R"(\s*count\s*\(\s*\*\s*\)(?:\s+as\s+([A-Za-z_][A-Za-z0-9_]*))?\s*)", std::regex::icase);
  std::match_results<std::string_view::const_iterator> match;
  if (std::regex_match(text.begin(), text.end(), match, kCount)) {
    query->count_alias = match[1].matched ? match[1].str() : "count";
    return {};
  }
  query->fields.clear();
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string item = Trim(text.substr(start, comma - start));
    start = comma + 1;
    if (item == "*") {
      for (auto& field : UserFields(table)) query->fields.push_back(field);
    } else if (item == ":*") {
      for (auto& field : SystemFields()) query->fields.push_back(field);
    } else {
      bool found = false;
      for (auto& field : SystemFields()) {
        if (field.name == item) query->fields.push_back(field), found = true;
      }
      for (auto& field : UserFields(table)) {
        if (field.name == item) query->fields.push_back(field), found = true;
      }
      if (!found) {
        return std::unexpected("No such column: " + item +
                               " (the emulator selects *, :*, column names or count(*))");
      }
    }
  }
  return {};
}

std::expected<void, std::string> ParseWhere(std::string_view text, Query* query) {
  static const std::regex kComparison(
      R"(\s*(:updated_at|:created_at)\s*(>=|<=|>|<|=)\s*'([^']*)'\s*)", std::regex::icase);
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_match(text.begin(), text.end(), match, kComparison)) {
    return std::unexpected(
        "Unsupported $where: " + std::string(text) +
        " (the emulator filters only :updated_at or :created_at against a quoted timestamp)");
  }
  const std::optional<Microseconds> value = ParseIsoTimestamp(match[3].str());
  if (!value) return std::unexpected("Could not parse '" + match[3].str() + "' as a timestamp");
  query->where = RowFilter{
      Lower(match[1].str()) == ":created_at" ? FieldKind::kCreatedAt : FieldKind::kUpdatedAt,
      match[2].str(), *value};
  return {};
}

ParseResult ParseQuery(const SocrataTable& table, const QueryParams& params,
                       const SocrataLimits& limits) {
  static const std::set<std::string> kKnown = {"$limit",  "$offset", "$order",
                                               "$select", "$where",  "$$app_token"};
  for (const auto& [key, value] : params) {
    if (!kKnown.contains(key)) {
      return std::unexpected("Unrecognized arguments [" + key +
                             "] (the emulator supports $limit, $offset, $order, $select, "
                             "$where and $$app_token)");
    }
    if (params.count(key) > 1) return std::unexpected("Argument " + key + " given twice");
  }
  auto param = [&](const std::string& key) -> std::optional<std::string> {
    auto it = params.find(key);
    if (it == params.end()) return std::nullopt;
    return it->second;
  };

  Query query;
  query.limit = uint64_t(limits.default_limit);
  if (auto text = param("$limit")) {
    const std::optional<uint64_t> limit = ParseCount(Trim(*text));
    if (!limit) return std::unexpected("Invalid $limit: " + *text);
    query.limit = std::min(*limit, uint64_t(limits.max_limit));
  }
  if (auto text = param("$offset")) {
    const std::optional<uint64_t> offset = ParseCount(Trim(*text));
    if (!offset) return std::unexpected("Invalid $offset: " + *text);
    query.offset = *offset;
  }
  if (auto text = param("$order")) {
    const std::string order = Lower(Trim(*text));
    static const std::regex kIdOrder(R"(:id(\s+(asc|desc))?)");
    std::smatch match;
    if (!std::regex_match(order, match, kIdOrder)) {
      return std::unexpected("Unsupported $order: " + *text + " (the emulator orders by :id only)");
    }
    query.order = match[2] == "desc" ? Order::kIdDescending : Order::kIdAscending;
  }
  query.fields = UserFields(table);
  if (auto text = param("$select")) {
    if (auto parsed = ParseSelect(table, *text, &query); !parsed) {
      return std::unexpected(parsed.error());
    }
  }
  if (auto text = param("$where")) {
    if (auto parsed = ParseWhere(*text, &query); !parsed) return std::unexpected(parsed.error());
  }
  return query;
}

// --- Answering -------------------------------------------------------------------

bool Matches(const RowFilter& filter, const SocrataRow& row) {
  const Microseconds value = filter.kind == FieldKind::kCreatedAt ? row.created_at : row.updated_at;
  if (filter.op == ">") return value > filter.value;
  if (filter.op == ">=") return value >= filter.value;
  if (filter.op == "<") return value < filter.value;
  if (filter.op == "<=") return value <= filter.value;
  return value == filter.value;
}

std::string FieldValue(const OutputField& field, const SocrataRow& row) {
  switch (field.kind) {
    case FieldKind::kId:
      return row.id;
    case FieldKind::kCreatedAt:
      return FormatSocrataTimestamp(row.created_at);
    case FieldKind::kUpdatedAt:
      return FormatSocrataTimestamp(row.updated_at);
    case FieldKind::kColumn:
      return row.fields[field.column];
  }
  return {};
}

// The rows of one page. Without $order the real service answers from
// whichever shard and plan it picks, so consecutive pages are not slices of
// one order. Emulated: each offset sorts the rows by its own deterministic
// scramble, so naive paging repeats some rows and never returns others.
std::vector<const SocrataRow*> Page(std::vector<const SocrataRow*> rows, const Query& query) {
  switch (query.order) {
    case Order::kIdAscending:
      break;
    case Order::kIdDescending:
      std::reverse(rows.begin(), rows.end());
      break;
    case Order::kUnordered: {
      const uint64_t salt = Mix64(query.offset + 1);
      auto key = [salt](const SocrataRow* row) { return Mix64(row->sequence ^ salt); };
      std::sort(rows.begin(), rows.end(),
                [&](const SocrataRow* a, const SocrataRow* b) { return key(a) < key(b); });
      break;
    }
  }
  if (query.offset >= rows.size()) return {};
  const auto first = rows.begin() + std::ptrdiff_t(query.offset);
  const auto last =
      rows.begin() + std::ptrdiff_t(std::min<uint64_t>(rows.size(), query.offset + query.limit));
  return {first, last};
}

std::string QueryEtag(const SocrataTable& table, const QueryParams& params) {
  uint64_t hash = Fnv1a(table.id);
  hash = Fnv1a(std::to_string(table.version), hash);
  for (const auto& [key, value] : params) {
    if (key == "$$app_token") continue;
    hash = Fnv1a(key + "=" + value + "&", hash);
  }
  return "\"" + Hex64(hash) + "\"";
}

}  // namespace

SocrataTable UploadSocrataTable(const SocrataTable* previous, const std::string& id,
                                SocrataDataset dataset) {
  SocrataTable table;
  table.id = id;
  if (dataset.columns.empty()) {
    throw std::invalid_argument("Socrata dataset " + id + " needs at least one column");
  }
  std::set<std::string> seen;
  for (const std::string& column : dataset.columns) {
    if (column.empty() || column.starts_with(':') || !seen.insert(column).second) {
      throw std::invalid_argument("Socrata dataset " + id + ": column name '" + column +
                                  "' is empty, starts with ':' or appears twice");
    }
  }
  if (!dataset.types.empty() && dataset.types.size() != dataset.columns.size()) {
    throw std::invalid_argument("Socrata dataset " + id +
                                ": give one type per column or none at all");
  }
  table.columns = std::move(dataset.columns);
  table.types = dataset.types.empty() ? std::vector<std::string>(table.columns.size(), "text")
                                      : std::move(dataset.types);
  table.rows_updated_at = dataset.rows_updated_at;
  table.quote_all_fields = dataset.quote_all_fields;
  table.crlf_line_ends = dataset.crlf_line_ends;
  table.created_at = previous ? previous->created_at : dataset.rows_updated_at;
  table.version = previous ? previous->version + 1 : 1;
  table.next_sequence = previous ? previous->next_sequence : 1;

  for (size_t i = 0; i < dataset.rows.size(); ++i) {
    CheckFieldCount(table, dataset.rows[i], "row " + std::to_string(i));
    std::vector<std::string>& fields = dataset.rows[i];
    if (previous && i < previous->rows.size()) {
      SocrataRow row = previous->rows[i];
      if (row.fields != fields) {
        row.fields = std::move(fields);
        row.updated_at = dataset.rows_updated_at;
      }
      table.rows.push_back(std::move(row));
    } else {
      table.rows.push_back(NewRow(&table, std::move(fields), dataset.rows_updated_at));
    }
  }
  return table;
}

SocrataTable EditSocrataTable(const SocrataTable& previous,
                              const std::vector<SocrataRowChange>& changes,
                              std::vector<std::vector<std::string>> appended,
                              std::chrono::sys_seconds updated_at) {
  SocrataTable table = previous;
  table.rows.clear();
  table.version = previous.version + 1;
  table.rows_updated_at = updated_at;

  std::vector<const SocrataRowChange*> change_at(previous.rows.size(), nullptr);
  for (const SocrataRowChange& change : changes) {
    if (change.index >= previous.rows.size() || change_at[change.index] != nullptr) {
      throw std::invalid_argument("Socrata dataset " + previous.id + ": row index " +
                                  std::to_string(change.index) +
                                  " is past the last row or changed twice in one call");
    }
    if (change.fields)
      CheckFieldCount(previous, *change.fields,
                      "the change of row " + std::to_string(change.index));
    change_at[change.index] = &change;
  }
  for (size_t i = 0; i < previous.rows.size(); ++i) {
    SocrataRow row = previous.rows[i];
    if (const SocrataRowChange* change = change_at[i]) {
      if (!change->fields) continue;  // deleted
      if (row.fields != *change->fields) {
        row.fields = *change->fields;
        row.updated_at = updated_at;
      }
    }
    table.rows.push_back(std::move(row));
  }
  for (size_t i = 0; i < appended.size(); ++i) {
    CheckFieldCount(table, appended[i], "appended row " + std::to_string(i));
    table.rows.push_back(NewRow(&table, std::move(appended[i]), updated_at));
  }
  return table;
}

Reply SocrataResourceReply(const SocrataTable& table, const QueryParams& params,
                           const SocrataLimits& limits) {
  ParseResult query = ParseQuery(table, params, limits);
  if (!query) return SocrataErrorReply(400, "query.compiler.malformed", query.error());

  std::vector<const SocrataRow*> rows;
  rows.reserve(table.rows.size());
  for (const SocrataRow& row : table.rows) {
    if (!query->where || Matches(*query->where, row)) rows.push_back(&row);
  }

  std::vector<std::string> names;
  std::vector<std::string> types;
  std::string body;
  const CsvStyle style{.quote_all = table.quote_all_fields, .crlf = table.crlf_line_ends};
  if (query->count_alias) {
    names = {*query->count_alias};
    types = {"number"};
    // An aggregate is one row: $offset past it leaves only the header.
    AppendCsvRecord(names, style, &body);
    if (query->offset == 0 && query->limit > 0) {
      AppendCsvRecord({std::to_string(rows.size())}, style, &body);
    }
  } else {
    for (const OutputField& field : query->fields) {
      names.push_back(field.name);
      types.push_back(field.type);
    }
    AppendCsvRecord(names, style, &body);
    std::vector<std::string> values;
    for (const SocrataRow* row : Page(std::move(rows), *query)) {
      values.clear();
      for (const OutputField& field : query->fields) values.push_back(FieldValue(field, *row));
      AppendCsvRecord(values, style, &body);
    }
  }

  Reply reply;
  reply.content_type = "text/csv; charset=utf-8";
  reply.body = std::move(body);
  reply.etag = QueryEtag(table, params);
  reply.last_modified = table.rows_updated_at;
  reply.headers = {
      {"X-SODA2-Fields", nlohmann::json(names).dump()},
      {"X-SODA2-Types", nlohmann::json(types).dump()},
      {"X-SODA2-Truth-Last-Modified", FormatHttpDate(table.rows_updated_at)},
  };
  return reply;
}

Reply SocrataViewReply(const SocrataTable& table) {
  nlohmann::ordered_json view;
  view["id"] = table.id;
  view["name"] = table.id;
  view["assetType"] = "dataset";
  view["createdAt"] = table.created_at.time_since_epoch().count();
  view["rowsUpdatedAt"] = table.rows_updated_at.time_since_epoch().count();
  view["viewLastModified"] = table.rows_updated_at.time_since_epoch().count();
  nlohmann::ordered_json columns = nlohmann::ordered_json::array();
  for (size_t i = 0; i < table.columns.size(); ++i) {
    columns.push_back({{"id", 1000 + i},
                       {"name", table.columns[i]},
                       {"dataTypeName", table.types[i]},
                       {"fieldName", table.columns[i]},
                       {"position", i + 1}});
  }
  view["columns"] = std::move(columns);
  return JsonReply(200, view.dump());
}

Reply SocrataErrorReply(int status, const std::string& code, const std::string& message) {
  nlohmann::ordered_json error = {{"code", code}, {"error", true}, {"message", message}};
  return JsonReply(status, error.dump());
}

}  // namespace citybooks::emulator::internal
