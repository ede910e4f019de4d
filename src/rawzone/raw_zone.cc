// The raw zone on top of an ObjectStore. A snapshot is a folder of files and
// a manifest.json written last; readers only ever look for manifests, so a
// snapshot whose manifest is missing (still being written, abandoned, or cut
// short by a crash) does not exist for them.
#include "rawzone/raw_zone.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/background_observer.h"
#include "common/csv_reader.h"
#include "common/log.h"
#include "common/sha256.h"

namespace citybooks {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kManifestName = "manifest.json";

// --- Snapshot ids -------------------------------------------------------------

// "20261122T124450.123456Z" (UTC, microseconds): fixed width, so string
// order is time order.
std::string CompactUtcTime(std::chrono::system_clock::time_point time) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch());
  std::time_t seconds = static_cast<std::time_t>(micros.count() / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[40];
  size_t n = std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%S", &utc);
  std::snprintf(buffer + n, sizeof buffer - n, ".%06lldZ",
                static_cast<long long>(micros.count() % 1'000'000));
  return buffer;
}

// Returns "<time>-<6 random hex digits>" with a time after `after` (the
// newest id already in the dataset, or empty), so snapshots sort in the order
// they were begun even when the clock is coarse or steps back. The random
// suffix keeps two processes starting in the same microsecond apart.
std::string NextSnapshotId(std::chrono::system_clock::time_point now, std::string_view after) {
  static std::mutex mutex;
  static std::mt19937 engine{std::random_device{}()};
  std::string time = CompactUtcTime(now);
  std::string_view after_time = after.substr(0, after.find('-'));
  if (!after.empty() && time <= after_time) {
    // Parse the newest id's time and step one microsecond past it.
    std::tm utc{};
    std::string text(after_time);
    long long micros = 0;
    if (strptime(text.c_str(), "%Y%m%dT%H%M%S", &utc) != nullptr && text.size() >= 22)
      micros = std::atoll(text.substr(16, 6).c_str());
    auto base = std::chrono::system_clock::from_time_t(timegm(&utc)) +
                std::chrono::microseconds(micros + 1);
    time = CompactUtcTime(base);
  }
  std::lock_guard lock(mutex);
  char hex[8];
  std::snprintf(hex, sizeof hex, "%06x", static_cast<unsigned>(engine() % 0x1000000));
  return time + "-" + hex;
}

// --- Names ----------------------------------------------------------------------

// A dataset is one key segment.
Status ValidateDatasetName(std::string_view dataset) {
  std::string_view cause;
  if (dataset.empty()) {
    cause = "it is empty";
  } else if (dataset.find('/') != std::string_view::npos) {
    cause = "it holds '/'";
  } else if (dataset == "." || dataset == "..") {
    cause = "it is '.' or '..'";
  } else {
    return Ok();
  }
  return Fail(ErrorCode::kInvalidArgument, "The dataset name '" + std::string(dataset) +
                                               "' is invalid: " + std::string(cause) + ".");
}

Status ValidateFileName(std::string_view name, const std::string& prefix) {
  std::string_view cause;
  if (name.empty()) {
    cause = "it is empty";
  } else if (name.find('/') != std::string_view::npos) {
    cause = "it holds '/'";
  } else if (name == "." || name == "..") {
    cause = "it is '.' or '..'";
  } else if (name == kManifestName) {
    cause = "manifest.json is the snapshot's own manifest";
  } else {
    return Ok();
  }
  return Fail(ErrorCode::kInvalidArgument, "The file name '" + std::string(name) +
                                               "' cannot be used in snapshot '" + prefix +
                                               "': " + std::string(cause) + ".");
}

// --- Manifest JSON --------------------------------------------------------------

Json FileToJson(const ManifestFile& file) {
  Json json;
  json["name"] = file.name;
  json["source_item"] = file.source_item;
  json["source_url"] = file.source_url;
  json["bytes"] = file.bytes;
  json["sha256"] = file.sha256;
  json["rows"] = file.rows;
  json["etag"] = file.etag;
  json["last_modified"] = file.last_modified;
  json["rows_updated_at"] = file.rows_updated_at;
  return json;
}

// Errors of the manifest parser carry only the cause, e.g. "its field
// 'files[0].sha256' is missing"; the caller names the manifest.
std::unexpected<Error> BadField(const std::string& field, std::string_view cause) {
  return Fail(ErrorCode::kDataError, "its field '" + field + "' " + std::string(cause));
}

// Reads the string `json[key]` into *out. A missing optional field leaves
// *out as it is.
Status ReadString(const Json& json, const std::string& path, const char* key, bool required,
                  std::string* out) {
  std::string field = path + key;
  auto it = json.find(key);
  if (it == json.end()) {
    if (required) return BadField(field, "is missing");
    return Ok();
  }
  if (!it->is_string()) return BadField(field, "must be a string");
  *out = it->get<std::string>();
  return Ok();
}

Status ReadCount(const Json& json, const std::string& path, const char* key, uint64_t* out) {
  std::string field = path + key;
  auto it = json.find(key);
  if (it == json.end()) return BadField(field, "is missing");
  if (!it->is_number_unsigned()) return BadField(field, "must be a non-negative integer");
  *out = it->get<uint64_t>();
  return Ok();
}

Result<ManifestFile> FileFromJson(const Json& json, const std::string& path) {
  if (!json.is_object()) return BadField(path.substr(0, path.size() - 1), "must be an object");
  ManifestFile file;
  CB_RETURN_IF_ERROR(ReadString(json, path, "name", true, &file.name));
  CB_RETURN_IF_ERROR(ReadString(json, path, "source_item", false, &file.source_item));
  CB_RETURN_IF_ERROR(ReadString(json, path, "source_url", false, &file.source_url));
  CB_RETURN_IF_ERROR(ReadCount(json, path, "bytes", &file.bytes));
  CB_RETURN_IF_ERROR(ReadString(json, path, "sha256", true, &file.sha256));
  CB_RETURN_IF_ERROR(ReadCount(json, path, "rows", &file.rows));
  CB_RETURN_IF_ERROR(ReadString(json, path, "etag", false, &file.etag));
  CB_RETURN_IF_ERROR(ReadString(json, path, "last_modified", false, &file.last_modified));
  CB_RETURN_IF_ERROR(ReadString(json, path, "rows_updated_at", false, &file.rows_updated_at));
  return file;
}

Result<Manifest> ManifestFromParsedJson(const Json& json) {
  if (!json.is_object()) {
    return Fail(ErrorCode::kDataError, "it is not a JSON object");
  }
  Manifest manifest;
  CB_RETURN_IF_ERROR(ReadString(json, "", "dataset", true, &manifest.dataset));
  CB_RETURN_IF_ERROR(ReadString(json, "", "snapshot_id", true, &manifest.snapshot_id));
  CB_RETURN_IF_ERROR(ReadString(json, "", "date", true, &manifest.date));
  CB_RETURN_IF_ERROR(ReadString(json, "", "kind", false, &manifest.kind));
  if (manifest.kind != "full" && manifest.kind != "delta") {
    return BadField("kind", "must be \"full\" or \"delta\", not \"" + manifest.kind + "\"");
  }
  CB_RETURN_IF_ERROR(ReadString(json, "", "fetched_at", true, &manifest.fetched_at));
  CB_RETURN_IF_ERROR(ReadString(json, "", "watermark", false, &manifest.watermark));

  if (auto urls = json.find("source_urls"); urls != json.end()) {
    if (!urls->is_array()) return BadField("source_urls", "must be an array of strings");
    for (size_t i = 0; i < urls->size(); ++i) {
      const Json& url = (*urls)[i];
      if (!url.is_string()) {
        return BadField("source_urls[" + std::to_string(i) + "]", "must be a string");
      }
      manifest.source_urls.push_back(url.get<std::string>());
    }
  }

  auto files = json.find("files");
  if (files == json.end()) return BadField("files", "is missing");
  if (!files->is_array()) return BadField("files", "must be an array");
  for (size_t i = 0; i < files->size(); ++i) {
    CB_ASSIGN_OR_RETURN(ManifestFile file,
                        FileFromJson((*files)[i], "files[" + std::to_string(i) + "]."));
    manifest.files.push_back(std::move(file));
  }
  return manifest;
}

Result<Manifest> ParseManifest(std::string_view text) {
  try {
    return ManifestFromParsedJson(Json::parse(text));
  } catch (const Json::exception& e) {
    return Fail(ErrorCode::kDataError, std::string("it is not valid JSON (") + e.what() + ")");
  }
}

// --- Streaming a file in ----------------------------------------------------------

// Passes bytes through to the store while hashing, counting and counting CSV
// records, so a file is read exactly once.
class MeasuringSource : public ByteSource {
 public:
  explicit MeasuringSource(ByteSource& inner) : inner_(inner) {}

  Result<size_t> Read(char* buffer, size_t size) override {
    CB_ASSIGN_OR_RETURN(size_t n, inner_.Read(buffer, size));
    digest_.Feed(std::string_view(buffer, n));
    bytes_ += n;
    return n;
  }

  std::string_view name() const override { return inner_.name(); }

  uint64_t bytes() const { return bytes_; }
  std::string HexDigest() {
    digest_.Finish();
    return sha256_.HexDigest();
  }
  uint64_t Records() {
    digest_.Finish();
    return records_.Finish();
  }

 private:
  ByteSource& inner_;
  Sha256 sha256_;
  CsvRecordCounter records_;
  uint64_t bytes_ = 0;
  // Hashing and counting take a thread of their own, so reading and writing
  // the copy do not wait for them.
  BackgroundObserver digest_{[this](std::string_view chunk) {
    sha256_.Update(chunk);
    records_.Feed(chunk);
  }};
};

}  // namespace

std::string Manifest::prefix() const { return dataset + "/" + date + "/" + snapshot_id + "/"; }

std::string ManifestToJson(const Manifest& manifest) {
  Json json;
  json["dataset"] = manifest.dataset;
  json["snapshot_id"] = manifest.snapshot_id;
  json["date"] = manifest.date;
  json["kind"] = manifest.kind;
  json["fetched_at"] = manifest.fetched_at;
  json["source_urls"] = manifest.source_urls;
  json["watermark"] = manifest.watermark;
  json["files"] = Json::array();
  for (const ManifestFile& file : manifest.files) json["files"].push_back(FileToJson(file));
  // Replace invalid UTF-8 (a name from a source) rather than throw.
  return json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Result<Manifest> ManifestFromJson(std::string_view text) {
  Result<Manifest> manifest = ParseManifest(text);
  if (!manifest) {
    return Fail(ErrorCode::kDataError,
                "The manifest cannot be used: " + manifest.error().message() + ".");
  }
  return manifest;
}

// --- SnapshotWriter ----------------------------------------------------------------

struct SnapshotWriter::State {
  ObjectStore* store = nullptr;
  Manifest manifest;
  std::set<std::string, std::less<>> names;
  // Every key this writer may have created, for Abandon.
  std::vector<std::string> written_keys;
  bool committed = false;
  bool abandoned = false;

  Status CheckOpen(std::string_view action) const {
    if (!committed && !abandoned) return Ok();
    return Fail(ErrorCode::kFailedPrecondition, "Cannot " + std::string(action) + " snapshot '" +
                                                    manifest.prefix() + "': it was already " +
                                                    (committed ? "committed" : "abandoned") + ".");
  }
};

SnapshotWriter::SnapshotWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
SnapshotWriter::SnapshotWriter(SnapshotWriter&&) noexcept = default;

SnapshotWriter& SnapshotWriter::operator=(SnapshotWriter&& other) noexcept {
  if (this != &other) {
    Abandon();
    state_ = std::move(other.state_);
  }
  return *this;
}

SnapshotWriter::~SnapshotWriter() { Abandon(); }

Result<ManifestFile> SnapshotWriter::AddFile(std::string_view name, ByteSource& source,
                                             ManifestFile meta) {
  if (!state_) {
    return Fail(ErrorCode::kFailedPrecondition,
                "Cannot add a file to a moved-from snapshot writer.");
  }
  State& state = *state_;
  CB_RETURN_IF_ERROR(state.CheckOpen("add a file to"));
  const std::string prefix = state.manifest.prefix();
  CB_RETURN_IF_ERROR(ValidateFileName(name, prefix));
  if (state.names.contains(name)) {
    return Fail(
        ErrorCode::kAlreadyExists,
        "The snapshot '" + prefix + "' already has a file named '" + std::string(name) + "'.");
  }

  std::string key = prefix + std::string(name);
  state.written_keys.push_back(key);
  MeasuringSource measuring(source);
  Status put = state.store->Put(key, measuring);
  if (!put) return Fail(put.error());

  meta.name = std::string(name);
  meta.bytes = measuring.bytes();
  meta.sha256 = measuring.HexDigest();
  uint64_t records = measuring.Records();
  meta.rows = records == 0 ? 0 : records - 1;  // the header is not a row
  state.names.insert(meta.name);
  state.manifest.files.push_back(meta);
  return meta;
}

Result<Manifest> SnapshotWriter::Commit() {
  if (!state_) {
    return Fail(ErrorCode::kFailedPrecondition, "Cannot commit a moved-from snapshot writer.");
  }
  State& state = *state_;
  CB_RETURN_IF_ERROR(state.CheckOpen("commit"));
  const std::string prefix = state.manifest.prefix();
  if (state.manifest.files.empty()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "Cannot commit snapshot '" + prefix + "': it has no files.");
  }
  std::string key = prefix + std::string(kManifestName);
  state.written_keys.push_back(key);
  Status put = state.store->PutBytes(key, ManifestToJson(state.manifest));
  if (!put) return Fail(put.error());
  state.committed = true;
  return state.manifest;
}

void SnapshotWriter::Abandon() {
  if (!state_ || state_->committed || state_->abandoned) return;
  state_->abandoned = true;
  for (const std::string& key : state_->written_keys) {
    Status deleted = state_->store->Delete(key);
    if (!deleted) {
      LogWarning("Could not remove '" + key +
                 "' of an abandoned snapshot: " + deleted.error().message());
    }
  }
  state_->written_keys.clear();
}

// --- RawZone --------------------------------------------------------------------------

RawZone::RawZone(ObjectStore* store, const Clock& clock) : store_(store), clock_(clock) {}

Result<SnapshotWriter> RawZone::BeginSnapshot(std::string_view dataset, SnapshotOptions options) {
  CB_RETURN_IF_ERROR(ValidateDatasetName(dataset));
  if (options.kind != "full" && options.kind != "delta") {
    return Fail(ErrorCode::kInvalidArgument, "The snapshot kind '" + options.kind +
                                                 "' of dataset '" + std::string(dataset) +
                                                 "' is invalid: use \"full\" or \"delta\".");
  }
  auto now = clock_.Now();
  auto state = std::make_unique<SnapshotWriter::State>();
  state->store = store_;
  Manifest& manifest = state->manifest;
  manifest.dataset = std::string(dataset);
  // The newest snapshot id under the dataset, committed or being written.
  CB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, store_->List(manifest.dataset + "/"));
  std::string newest;
  for (const ObjectInfo& object : objects) {
    std::vector<std::string_view> parts;
    std::string_view key = object.key;
    for (size_t at = 0; at != std::string_view::npos;) {
      size_t slash = key.find('/', at);
      parts.push_back(key.substr(at, slash == std::string_view::npos ? slash : slash - at));
      at = slash == std::string_view::npos ? slash : slash + 1;
    }
    if (parts.size() >= 3 && parts[2] > newest) newest = std::string(parts[2]);
  }
  manifest.snapshot_id = NextSnapshotId(now, newest);
  manifest.date = FormatIsoDate(now);
  manifest.kind = std::move(options.kind);
  manifest.fetched_at = FormatIsoTime(now);
  manifest.source_urls = std::move(options.source_urls);
  manifest.watermark = std::move(options.watermark);
  return SnapshotWriter(std::move(state));
}

Result<std::vector<Manifest>> RawZone::ListSnapshots(std::string_view dataset) {
  CB_RETURN_IF_ERROR(ValidateDatasetName(dataset));
  const std::string dataset_prefix = std::string(dataset) + "/";
  CB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, store_->List(dataset_prefix));

  std::vector<Manifest> manifests;
  for (const ObjectInfo& object : objects) {
    // Only "{dataset}/{date}/{snapshot_id}/manifest.json" marks a snapshot.
    std::string_view rest = std::string_view(object.key).substr(dataset_prefix.size());
    if (std::count(rest.begin(), rest.end(), '/') != 2) continue;
    if (rest.substr(rest.rfind('/') + 1) != kManifestName) continue;

    Result<std::string> text = store_->GetBytes(object.key);
    if (!text) {
      // Deleted since the listing (a concurrent destroy): no longer a snapshot.
      if (text.error().code() == ErrorCode::kNotFound) continue;
      return Fail(text.error());
    }
    Result<Manifest> manifest = ParseManifest(*text);
    if (!manifest) {
      return Fail(ErrorCode::kDataError, "The manifest '" + object.key + "' cannot be used: " +
                                             manifest.error().message() + ".");
    }
    if (manifest->prefix() + std::string(kManifestName) != object.key) {
      return Fail(ErrorCode::kDataError, "The manifest '" + object.key +
                                             "' describes a different snapshot, '" +
                                             manifest->prefix() + "'.");
    }
    manifests.push_back(std::move(manifest).value());
  }
  std::stable_sort(manifests.begin(), manifests.end(), [](const Manifest& a, const Manifest& b) {
    return a.snapshot_id < b.snapshot_id;
  });
  return manifests;
}

Result<std::optional<ManifestFile>> RawZone::LatestFile(std::string_view dataset,
                                                        std::string_view source_item) {
  CB_ASSIGN_OR_RETURN(std::vector<Manifest> manifests, ListSnapshots(dataset));
  for (auto manifest = manifests.rbegin(); manifest != manifests.rend(); ++manifest) {
    for (const ManifestFile& file : manifest->files) {
      if (file.source_item == source_item) return std::optional<ManifestFile>(file);
    }
  }
  return std::optional<ManifestFile>();
}

Result<std::unique_ptr<ByteSource>> RawZone::OpenFile(const Manifest& manifest,
                                                      std::string_view name) {
  bool listed = std::any_of(manifest.files.begin(), manifest.files.end(),
                            [&](const ManifestFile& file) { return file.name == name; });
  if (!listed) {
    return Fail(ErrorCode::kNotFound, "The snapshot '" + manifest.prefix() +
                                          "' has no file named '" + std::string(name) + "'.");
  }
  return store_->Get(manifest.prefix() + std::string(name));
}

Status RawZone::DeleteDataset(std::string_view dataset) {
  CB_RETURN_IF_ERROR(ValidateDatasetName(dataset));
  CB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, store_->List(std::string(dataset) + "/"));
  // Manifests first: if this stops part-way, what is left is unlisted files,
  // never a snapshot missing some of its files.
  std::stable_partition(objects.begin(), objects.end(), [](const ObjectInfo& object) {
    return object.key.ends_with("/" + std::string(kManifestName));
  });
  for (const ObjectInfo& object : objects) CB_RETURN_IF_ERROR(store_->Delete(object.key));
  return Ok();
}

}  // namespace citybooks
