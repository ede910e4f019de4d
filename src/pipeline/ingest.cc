#include <filesystem>
#include <set>

#include "common/log.h"
#include "common/progress.h"
#include "common/sha256.h"
#include "common/text.h"
#include "pipeline/pipeline.h"

namespace citybooks {

namespace {

namespace fs = std::filesystem;

Result<std::string> HashFile(const std::string& path) {
  CB_ASSIGN_OR_RETURN(auto source, OpenFileSource(path));
  Sha256 hash;
  std::string buffer(1 << 20, '\0');
  while (true) {
    CB_ASSIGN_OR_RETURN(size_t n, source->Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    hash.Update(std::string_view(buffer.data(), n));
  }
  return hash.HexDigest();
}

}  // namespace

Result<IngestResult> Ingest(const PipelineContext& context, const std::string& dataset,
                            const std::vector<std::string>& files) {
  CB_RETURN_IF_ERROR(context.config->Dataset(dataset));
  if (files.empty()) return Fail(ErrorCode::kInvalidArgument, "ingest needs at least one file");

  // Validate every argument before anything lands.
  std::set<std::string> names;
  std::vector<std::string> absolute;
  for (const std::string& file : files) {
    std::error_code error;
    fs::file_status status = fs::status(file, error);
    if (error || !fs::exists(status))
      return Fail(ErrorCode::kInvalidArgument, "cannot ingest " + file + ": no such file");
    if (!fs::is_regular_file(status))
      return Fail(ErrorCode::kInvalidArgument, "cannot ingest " + file + ": not a regular file");
    std::string name = fs::path(file).filename().string();
    if (!names.insert(name).second)
      return Fail(ErrorCode::kInvalidArgument,
                  "cannot ingest two files named " + name + " into one snapshot; rename one");
    absolute.push_back(fs::absolute(file).lexically_normal().string());
  }

  SnapshotOptions options;
  options.kind = "full";
  for (const std::string& path : absolute) options.source_urls.push_back("file://" + path);
  CB_ASSIGN_OR_RETURN(SnapshotWriter writer, context.raw->BeginSnapshot(dataset, options));

  IngestResult result;
  size_t added = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string& file = files[i];
    std::string name = fs::path(file).filename().string();
    // Same name, same size: hash before landing to skip an unchanged file.
    // A different size is a change, so the common case reads the file once.
    CB_ASSIGN_OR_RETURN(auto latest, context.raw->LatestFile(dataset, name));
    if (latest && latest->bytes == fs::file_size(file)) {
      CB_ASSIGN_OR_RETURN(std::string sha, HashFile(file));
      if (sha == latest->sha256) {
        result.skipped.push_back(file);
        LogInfo(file + " is unchanged since it was last landed (sha256 " + sha.substr(0, 12) +
                "); skipped");
        continue;
      }
    }
    CB_ASSIGN_OR_RETURN(auto source, OpenFileSource(file));
    ManifestFile meta;
    meta.source_item = name;
    meta.source_url = "file://" + absolute[i];
    ProgressMeter meter("landing " + name, fs::file_size(file));
    MeteredByteSource progress(*source, meter);
    CB_ASSIGN_OR_RETURN(ManifestFile entry, writer.AddFile(name, progress, meta));
    meter.Finish();
    if (entry.bytes == 0) {
      writer.Abandon();
      return Fail(ErrorCode::kDataError, file + " is empty; nothing was ingested");
    }
    if (entry.rows == 0) {
      writer.Abandon();
      return Fail(ErrorCode::kDataError,
                  file + " has a header but no data rows; nothing was ingested");
    }
    ++added;
  }
  if (added == 0) {
    writer.Abandon();
    return result;
  }
  CB_ASSIGN_OR_RETURN(result.manifest, writer.Commit());
  result.landed = true;
  return result;
}

}  // namespace citybooks
