// The sftp source: the CSV files of a remote drop folder that were not landed
// before, as one snapshot. A file counts as landed when the newest snapshot
// holding its remote path recorded the same size and mtime; a file whose size
// or mtime changed is downloaded and compared by sha256, so a re-upload of
// identical bytes lands nothing.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "common/log.h"
#include "common/progress.h"
#include "common/sha256.h"
#include "common/text.h"
#include "extract/source.h"
#include "net/sftp_client.h"

namespace citybooks {

namespace {

namespace fs = std::filesystem;

// Only finished CSV files are taken: uploads under way carry a temporary
// name that is hidden (".jan.csv.part-1a2b", how `citybooks push` writes) or
// ends in something else (".part", ".filepart", ".tmp").
bool IsLandable(const SftpEntry& entry) {
  const std::string& name = entry.name;
  if (!entry.regular_file || name.empty() || name.front() == '.') return false;
  return name.size() > 4 && AsciiLower(name).ends_with(".csv");
}

std::string MtimeText(int64_t mtime) {
  return FormatIsoTime(std::chrono::system_clock::time_point(std::chrono::seconds(mtime)));
}

// A local temporary file, removed on destruction.
class TemporaryFile {
 public:
  TemporaryFile() = default;
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (file_ != nullptr) std::fclose(file_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  // Copies `source` into a new temporary file and returns its sha256.
  Result<std::string> Fill(ByteSource& source) {
    std::error_code error;
    fs::path folder = fs::temp_directory_path(error);
    std::string pattern = (error ? fs::path("/tmp") : folder) / "citybooks-sftp-XXXXXX";
    int fd = ::mkstemp(pattern.data());
    if (fd < 0)
      return Fail(ErrorCode::kIoError,
                  "cannot create a temporary file in " + pattern + " to compare a download");
    path_ = pattern;
    file_ = ::fdopen(fd, "wb");
    if (file_ == nullptr) {
      ::close(fd);
      return Fail(ErrorCode::kIoError, "cannot write the temporary file " + path_);
    }
    Sha256 hash;
    std::vector<char> buffer(1 << 16);
    while (true) {
      CB_ASSIGN_OR_RETURN(size_t n, source.Read(buffer.data(), buffer.size()));
      if (n == 0) break;
      hash.Update(std::string_view(buffer.data(), n));
      if (std::fwrite(buffer.data(), 1, n, file_) != n)
        return Fail(ErrorCode::kIoError,
                    "cannot write the temporary file " + path_ + " (is the disk full?)");
    }
    int closed = std::fclose(file_);
    file_ = nullptr;
    if (closed != 0)
      return Fail(ErrorCode::kIoError,
                  "cannot write the temporary file " + path_ + " (is the disk full?)");
    return hash.HexDigest();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  FILE* file_ = nullptr;
};

class SftpSource : public Source {
 public:
  SftpSource(const DatasetConfig& dataset, SftpLocation location)
      : dataset_(dataset), location_(std::move(location)) {}

  Result<ExtractResult> Extract(RawZone& raw) override {
    ExtractResult result;
    SftpOptions options;
    options.private_key = dataset_.key;
    options.known_hosts = dataset_.known_hosts;
    CB_ASSIGN_OR_RETURN(auto client, SftpClient::Connect(location_, options));
    std::string folder_url = location_.UrlOf(location_.path);
    ++result.requests;
    CB_ASSIGN_OR_RETURN(std::vector<SftpEntry> entries, client->List(location_.path));

    std::optional<SnapshotWriter> writer;
    int64_t landed_rows = 0;
    auto add = [&](std::string_view name, ByteSource& source, const ManifestFile& meta,
                   uint64_t listed_bytes) -> Status {
      if (!writer) {
        SnapshotOptions snapshot;
        snapshot.kind = "full";
        snapshot.source_urls = {folder_url};
        CB_ASSIGN_OR_RETURN(SnapshotWriter begun, raw.BeginSnapshot(dataset_.name, snapshot));
        writer.emplace(std::move(begun));
      }
      CB_ASSIGN_OR_RETURN(ManifestFile entry, writer->AddFile(name, source, meta));
      // A file still being written in place (by an uploader that does not use
      // temporary names) changes size under us: take it next time, whole.
      if (entry.bytes != listed_bytes)
        return Fail(ErrorCode::kUnavailable,
                    meta.source_url + " changed while it was read (listed " +
                        FormatCount(static_cast<int64_t>(listed_bytes)) + " bytes, read " +
                        FormatCount(static_cast<int64_t>(entry.bytes)) +
                        "); nothing landed, extract again once the upload is complete");
      landed_rows += static_cast<int64_t>(entry.rows);
      return Ok();
    };

    int candidates = 0, unchanged = 0, same_bytes = 0;
    for (const SftpEntry& entry : entries) {
      if (!IsLandable(entry)) continue;
      ++candidates;
      std::string remote = JoinRemotePath(location_.path, entry.name);
      ManifestFile meta;
      meta.source_item = remote;
      meta.source_url = location_.UrlOf(remote);
      meta.last_modified = MtimeText(entry.mtime);
      CB_ASSIGN_OR_RETURN(auto latest, raw.LatestFile(dataset_.name, remote));
      if (latest && latest->bytes == entry.bytes && latest->last_modified == meta.last_modified) {
        ++unchanged;
        continue;
      }
      ++result.requests;
      CB_ASSIGN_OR_RETURN(auto remote_file, client->OpenForRead(remote));
      ProgressMeter meter("pulling " + meta.source_url, entry.bytes);
      MeteredByteSource metered(*remote_file, meter);
      if (!latest) {
        // Nothing to compare with: stream straight into the snapshot.
        CB_RETURN_IF_ERROR(add(entry.name, metered, meta, entry.bytes));
        meter.Finish();
        continue;
      }
      // Size or mtime changed: land it only if the bytes did.
      TemporaryFile copy;
      CB_ASSIGN_OR_RETURN(std::string sha256, copy.Fill(metered));
      meter.Finish();
      if (sha256 == latest->sha256) {
        ++same_bytes;
        continue;
      }
      CB_ASSIGN_OR_RETURN(auto local, OpenFileSource(copy.path()));
      CB_RETURN_IF_ERROR(add(entry.name, *local, meta, entry.bytes));
    }

    std::string skipped;
    if (unchanged > 0) skipped += FormatCount(unchanged) + " already landed";
    if (same_bytes > 0)
      skipped += (skipped.empty() ? "" : ", ") + FormatCount(same_bytes) +
                 " re-uploaded with identical bytes (same sha256)";
    if (!writer) {
      result.summary = dataset_.name + ": no new CSV file in " + folder_url + " (" +
                       FormatCount(candidates) + " CSV file" + (candidates == 1 ? "" : "s") +
                       (skipped.empty() ? "" : ": " + skipped) + "); nothing landed";
      return result;
    }
    CB_ASSIGN_OR_RETURN(result.manifest, writer->Commit());
    result.landed = true;
    size_t files = result.manifest.files.size();
    std::string names;
    for (const ManifestFile& file : result.manifest.files)
      names += (names.empty() ? "" : ", ") + file.name;
    result.summary = dataset_.name + ": landed snapshot " + result.manifest.snapshot_id + ", " +
                     FormatCount(static_cast<int64_t>(files)) + " file" + (files == 1 ? "" : "s") +
                     " (" + names + "), " + FormatCount(landed_rows) + " rows from " + folder_url +
                     (skipped.empty() ? "" : "; " + skipped);
    return result;
  }

 private:
  const DatasetConfig& dataset_;
  SftpLocation location_;
};

}  // namespace

Result<std::unique_ptr<Source>> MakeSftpSource(const DatasetConfig& dataset) {
  if (dataset.url.empty())
    return Fail(ErrorCode::kInvalidArgument,
                "dataset " + dataset.name + " (sftp) needs url, e.g. sftp://user@host:22/outgoing");
  Result<SftpLocation> location = ParseSftpUrl(dataset.url);
  if (!location) return Fail(location.error().WithContext("dataset " + dataset.name));
  return std::unique_ptr<Source>(std::make_unique<SftpSource>(dataset, std::move(*location)));
}

}  // namespace citybooks
