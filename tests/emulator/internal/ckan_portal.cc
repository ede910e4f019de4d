#include "emulator/internal/ckan_portal.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>

namespace citybooks::emulator::internal {
namespace {

using nlohmann::ordered_json;

// A UUID-shaped id that is stable for a name, like the ids CKAN gives packages.
std::string UuidFor(std::string_view name) {
  const std::string hex = Hex64(Mix64(Fnv1a(name))) + Hex64(Mix64(Fnv1a(name, 0x1234567)));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

// "July 2021" → "july-2021.csv": a file name that needs no escaping in a URL.
std::string SafeFileName(const CkanResource& resource) {
  std::string name;
  for (char c : resource.file_name.empty() ? resource.name : resource.file_name) {
    const bool safe =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    name.push_back(safe ? (resource.file_name.empty() ? char(std::tolower(c)) : c) : '-');
  }
  if (name.empty()) name = resource.id;
  if (resource.file_name.empty() && !resource.format.empty()) {
    std::string extension = "." + resource.format;
    for (char& c : extension) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (!name.ends_with(extension)) name += extension;
  }
  return name;
}

std::string Help(std::string_view base_url, std::string_view action) {
  return std::string(base_url) + "/api/3/action/help_show?name=" + std::string(action);
}

std::string Envelope(std::string_view base_url, std::string_view action, ordered_json result) {
  ordered_json envelope;
  envelope["help"] = Help(base_url, action);
  envelope["success"] = true;
  envelope["result"] = std::move(result);
  return envelope.dump();
}

std::string Failure(std::string_view base_url, std::string_view action, ordered_json error) {
  ordered_json envelope;
  envelope["help"] = Help(base_url, action);
  envelope["success"] = false;
  envelope["error"] = std::move(error);
  return envelope.dump();
}

// Appends `text` as a JSON string. Bytes that do not form UTF-8 sequences become
// U+FFFD, as a portal that decoded the file leniently would show them.
void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(char(c));
    } else if (c < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out->append(escape);
    } else if (c < 0x80) {
      out->push_back(char(c));
    } else {
      // A UTF-8 sequence: lead byte, then continuation bytes 10xxxxxx.
      const size_t length = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
      bool valid = length > 0 && i + length <= text.size();
      for (size_t k = 1; valid && k < length; ++k) {
        valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
      }
      if (valid) {
        out->append(text.substr(i, length));
        i += length;
        continue;
      }
      out->append("\xEF\xBF\xBD");
    }
    ++i;
  }
  out->push_back('"');
}

// CKAN validates integers strictly: digits only, no sign.
std::optional<uint64_t> ParseCount(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + uint64_t(c - '0');
  }
  return value;
}

bool SameResource(const CkanResourceState& a, const CkanResourceState& b) {
  return a.id == b.id && a.name == b.name && a.format == b.format && a.file_name == b.file_name &&
         a.hash == b.hash && a.sha256 == b.sha256 && a.last_modified == b.last_modified;
}

}  // namespace

CkanPackageState UploadCkanPackage(const CkanPackageState* previous, const std::string& name,
                                   std::vector<CkanResource> resources, PortalTime at) {
  CkanPackageState package;
  package.id = previous ? previous->id : UuidFor(name);
  package.name = name;
  package.metadata_created = previous ? previous->metadata_created : at;

  std::set<std::string> ids;
  for (CkanResource& resource : resources) {
    if (resource.id.empty() || !ids.insert(resource.id).second) {
      throw std::invalid_argument("CKAN package " + name + ": resource id '" + resource.id +
                                  "' is empty or used twice; give each resource its own id");
    }
    const CkanResourceState* before = nullptr;
    if (previous) {
      for (const CkanResourceState& old : previous->resources) {
        if (old.id == resource.id) before = &old;
      }
    }
    const bool bytes_changed = before == nullptr || *before->bytes != resource.bytes;

    CkanResourceState state;
    state.id = resource.id;
    state.name = resource.name;
    state.format = resource.format;
    state.file_name = SafeFileName(resource);
    state.created = before ? before->created : at;
    if (bytes_changed) {
      state.sha256 = Sha256Hex(resource.bytes);
      state.records = std::make_shared<const std::vector<CsvFields>>(ParseCsv(resource.bytes));
      state.bytes = std::make_shared<const std::string>(std::move(resource.bytes));
      state.last_modified = at;
    } else {
      state.sha256 = before->sha256;
      state.records = before->records;
      state.bytes = before->bytes;
      state.last_modified = before->last_modified;
    }
    if (resource.last_modified) state.last_modified = *resource.last_modified;
    state.hash = resource.hash.value_or(state.sha256);
    package.resources.push_back(std::move(state));
  }

  bool changed = previous == nullptr || previous->resources.size() != package.resources.size();
  for (size_t i = 0; !changed && i < package.resources.size(); ++i) {
    changed = !SameResource(previous->resources[i], package.resources[i]);
  }
  package.metadata_modified = changed ? at : previous->metadata_modified;
  return package;
}

Reply CkanPackageShowReply(const CkanPackageState& package, std::string_view base_url) {
  ordered_json resources = ordered_json::array();
  for (size_t i = 0; i < package.resources.size(); ++i) {
    const CkanResourceState& resource = package.resources[i];
    ordered_json entry;
    entry["id"] = resource.id;
    entry["package_id"] = package.id;
    entry["name"] = resource.name;
    entry["format"] = resource.format;
    entry["url"] = std::string(base_url) + "/dataset/" + package.name + "/resource/" + resource.id +
                   "/download/" + resource.file_name;
    entry["url_type"] = "upload";
    entry["mimetype"] = resource.format == "CSV" ? "text/csv" : "application/octet-stream";
    entry["size"] = resource.bytes->size();
    entry["hash"] = resource.hash;
    entry["created"] = FormatCkanTimestamp(resource.created);
    entry["last_modified"] = FormatCkanTimestamp(resource.last_modified);
    entry["datastore_active"] = true;
    entry["position"] = i;
    entry["state"] = "active";
    resources.push_back(std::move(entry));
  }
  ordered_json result;
  result["id"] = package.id;
  result["name"] = package.name;
  result["title"] = package.name;
  result["type"] = "dataset";
  result["state"] = "active";
  result["metadata_created"] = FormatCkanTimestamp(package.metadata_created);
  result["metadata_modified"] = FormatCkanTimestamp(package.metadata_modified);
  result["num_resources"] = package.resources.size();
  result["resources"] = std::move(resources);
  return JsonReply(200, Envelope(base_url, "package_show", std::move(result)));
}

Reply CkanDatastoreSearchReply(const CkanResourceState& resource, const QueryParams& params,
                               const CkanLimits& limits, std::string_view base_url) {
  constexpr std::string_view kAction = "datastore_search";
  uint64_t limit = uint64_t(limits.default_limit);
  uint64_t offset = 0;
  if (auto it = params.find("limit"); it != params.end()) {
    const std::optional<uint64_t> value = ParseCount(it->second);
    if (!value) return CkanValidationErrorReply(kAction, "limit", "Invalid integer", base_url);
    limit = *value;
  }
  if (auto it = params.find("offset"); it != params.end()) {
    const std::optional<uint64_t> value = ParseCount(it->second);
    if (!value) return CkanValidationErrorReply(kAction, "offset", "Invalid integer", base_url);
    offset = *value;
  }
  // ckan.datastore.search.rows_max: silently lowered, and the applied value echoed.
  limit = std::min(limit, uint64_t(limits.max_limit));

  const std::vector<CsvFields>& records = *resource.records;
  const CsvFields header = records.empty() ? CsvFields{} : records.front();
  const uint64_t total = records.empty() ? 0 : records.size() - 1;

  ordered_json fields = ordered_json::array();
  fields.push_back({{"id", "_id"}, {"type", "int"}});
  for (const std::string& name : header) fields.push_back({{"id", name}, {"type", "text"}});

  // The records are written by hand: tens of thousands of small JSON objects
  // cost seconds through a DOM in a sanitizer build, and bytes that are not
  // UTF-8 must not end the answer.
  std::string rows = "[";
  for (uint64_t i = offset; i < total && i < offset + limit; ++i) {
    const CsvFields& record = records[i + 1];
    if (rows.size() > 1) rows += ", ";
    rows += "{\"_id\": " + std::to_string(i + 1);
    for (size_t column = 0; column < header.size(); ++column) {
      rows += ", ";
      AppendJsonString(header[column], &rows);
      rows += ": ";
      // Loaded like xloader does: an empty cell is NULL; fields past the
      // header are dropped, missing ones are NULL.
      if (column < record.size() && !record[column].empty()) {
        AppendJsonString(record[column], &rows);
      } else {
        rows += "null";
      }
    }
    rows += "}";
  }
  rows += "]";

  const std::string search = "/api/3/action/datastore_search";
  const ordered_json links = {{"start", search + "?resource_id=" + resource.id},
                              {"next", search + "?offset=" + std::to_string(offset + limit) +
                                           "&resource_id=" + resource.id}};
  std::string result = "{\"include_total\": true, \"resource_id\": ";
  AppendJsonString(resource.id, &result);
  result += ", \"fields\": " + fields.dump();
  result += ", \"records_format\": \"objects\", \"records\": " + rows;
  result += ", \"limit\": " + std::to_string(limit);
  result += ", \"offset\": " + std::to_string(offset);
  result += ", \"_links\": " + links.dump();
  result += ", \"total\": " + std::to_string(total);
  result += ", \"total_was_estimated\": false}";

  std::string envelope = "{\"help\": ";
  AppendJsonString(Help(base_url, kAction), &envelope);
  envelope += ", \"success\": true, \"result\": " + result + "}";
  return JsonReply(200, std::move(envelope));
}

Reply CkanDownloadReply(const CkanResourceState& resource) {
  Reply reply;
  reply.content_type = resource.format == "CSV" ? "text/csv" : "application/octet-stream";
  reply.body = *resource.bytes;
  reply.etag = "\"" + resource.sha256.substr(0, 32) + "\"";
  reply.last_modified = std::chrono::floor<std::chrono::seconds>(resource.last_modified);
  reply.headers = {{"Content-Disposition", "attachment; filename=\"" + resource.file_name + "\""}};
  return reply;
}

Reply CkanNotFoundReply(std::string_view action, const std::string& message,
                        std::string_view base_url) {
  return JsonReply(
      404, Failure(base_url, action, {{"message", message}, {"__type", "Not Found Error"}}));
}

Reply CkanValidationErrorReply(std::string_view action, const std::string& field,
                               const std::string& message, std::string_view base_url) {
  ordered_json error;
  error[field] = ordered_json::array({message});
  error["__type"] = "Validation Error";
  return JsonReply(409, Failure(base_url, action, std::move(error)));
}

Reply CkanUnknownActionReply(std::string_view action, std::string_view base_url) {
  return JsonReply(
      400, Failure(base_url, action,
                   {{"message", "Bad request - Action name not known: " + std::string(action)},
                    {"__type", "Bad Request"}}));
}

}  // namespace citybooks::emulator::internal
