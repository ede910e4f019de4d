// The raw zone: every file exactly as received, grouped into immutable
// snapshots under {dataset}/{YYYY-MM-DD}/{snapshot-id}/ with manifest.json
// written last, so a snapshot without a manifest does not exist for readers.
//
//   RawZone zone(store.get());
//   CB_ASSIGN_OR_RETURN(auto writer, zone.BeginSnapshot("sf-spending-revenue", options));
//   CB_RETURN_IF_ERROR(writer.AddFile("sf.csv", *source, file_meta));
//   CB_ASSIGN_OR_RETURN(Manifest manifest, writer.Commit());
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_source.h"
#include "common/error.h"
#include "common/time.h"
#include "store/object_store.h"

namespace citybooks {

struct ManifestFile {
  std::string name;         // file name inside the snapshot
  std::string source_item;  // what it was fetched as: a URL, a resource id, a local path's basename
  std::string source_url;   // where it came from ("file://..." for ingest)
  uint64_t bytes = 0;
  std::string sha256;
  uint64_t rows = 0;  // CSV data records (header excluded)
  // Change markers from the source, empty when the source has none.
  std::string etag;
  std::string last_modified;
  std::string rows_updated_at;
};

struct Manifest {
  std::string dataset;
  std::string snapshot_id;    // sortable: creation order equals string order
  std::string date;           // YYYY-MM-DD of fetched_at
  std::string kind = "full";  // "full" replaces covered partitions; "delta" upserts by row id
  std::string fetched_at;     // ISO 8601 UTC
  std::vector<std::string> source_urls;
  std::vector<ManifestFile> files;
  std::string watermark;  // e.g. max :updated_at reached; empty if none
  // Where the snapshot lives: "{dataset}/{date}/{snapshot_id}/".
  std::string prefix() const;
};

std::string ManifestToJson(const Manifest& manifest);
Result<Manifest> ManifestFromJson(std::string_view json);

struct SnapshotOptions {
  std::string kind = "full";
  std::vector<std::string> source_urls;
  std::string watermark;
};

class RawZone;

// Writes one snapshot. Files are streamed to the store while their sha256,
// size and CSV record count are computed in the same pass. Nothing is visible
// until Commit() writes the manifest; a writer destroyed without Commit()
// removes what it wrote (a crash leaves only unlisted files, never a snapshot).
class SnapshotWriter {
 public:
  SnapshotWriter(SnapshotWriter&&) noexcept;
  SnapshotWriter& operator=(SnapshotWriter&&) noexcept;
  ~SnapshotWriter();

  // Streams `source` into the snapshot as `name`. `meta` supplies source_item,
  // source_url and change markers; bytes, sha256 and rows are computed here.
  // Returns the completed entry. A name that is empty, holds '/', or is
  // "manifest.json" is kInvalidArgument; a name used twice, kAlreadyExists.
  Result<ManifestFile> AddFile(std::string_view name, ByteSource& source, ManifestFile meta);

  // Writes manifest.json and returns the manifest. After a failed Commit the
  // snapshot is not visible. A snapshot without files is kFailedPrecondition.
  Result<Manifest> Commit();

  // Discards everything written so far.
  void Abandon();

 private:
  friend class RawZone;
  struct State;
  explicit SnapshotWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class RawZone {
 public:
  // `store` must outlive the RawZone. `clock` decides snapshot dates and ids.
  explicit RawZone(ObjectStore* store, const Clock& clock = SystemClock());

  Result<SnapshotWriter> BeginSnapshot(std::string_view dataset, SnapshotOptions options);

  // Committed snapshots of `dataset`, oldest first. A manifest that cannot be
  // parsed is kDataError naming its key.
  Result<std::vector<Manifest>> ListSnapshots(std::string_view dataset);

  // The most recently landed entry for `source_item` in `dataset`, if any;
  // used to skip a file whose sha256 has not changed.
  Result<std::optional<ManifestFile>> LatestFile(std::string_view dataset,
                                                 std::string_view source_item);

  // Opens one file of a committed snapshot.
  Result<std::unique_ptr<ByteSource>> OpenFile(const Manifest& manifest, std::string_view name);

  // Removes every object under `dataset`/ (destroy).
  Status DeleteDataset(std::string_view dataset);

  ObjectStore* store() const { return store_; }

 private:
  ObjectStore* store_;
  const Clock& clock_;
};

}  // namespace citybooks
