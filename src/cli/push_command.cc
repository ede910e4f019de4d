// `citybooks push FILE... --to sftp://USER@HOST[:PORT]/DIR`: uploads local
// files to an SFTP drop folder over one connection, each under a temporary
// name and then renamed, so the receiving side never reads half a file.
#include <filesystem>
#include <iostream>
#include <set>

#include "cli/commands.h"
#include "common/byte_source.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/text.h"
#include "net/sftp_client.h"

namespace citybooks {

namespace {

namespace fs = std::filesystem;

std::string Plural(int64_t n, const std::string& word) {
  return FormatCount(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

Status RunPush(const GlobalOptions&, const PushOptions& options) {
  CB_ASSIGN_OR_RETURN(SftpLocation location, ParseSftpUrl(options.to));

  // Every local file is checked before connecting: a typo in the list is a
  // usage error that sends nothing (as `ingest` treats a missing file).
  std::set<std::string> names;
  for (const std::string& file : options.files) {
    std::error_code error;
    fs::file_status status = fs::status(file, error);
    if (!fs::exists(status))
      return Fail(ErrorCode::kInvalidArgument,
                  "cannot push " + file + ": no such file; nothing was pushed");
    if (!fs::is_regular_file(status))
      return Fail(ErrorCode::kInvalidArgument,
                  "cannot push " + file + ": not a regular file; nothing was pushed");
    std::string name = fs::path(file).filename().string();
    if (!names.insert(name).second)
      return Fail(ErrorCode::kInvalidArgument,
                  "cannot push two files named " + name +
                      " into one folder; rename one of them; nothing was pushed");
  }

  SftpOptions sftp_options;
  sftp_options.private_key = options.key;
  sftp_options.known_hosts = options.known_hosts;
  CB_ASSIGN_OR_RETURN(auto client, SftpClient::Connect(location, sftp_options));
  // A wrong folder is one error, not one per file.
  std::string where = location.UrlOf(location.path);
  Result<SftpEntry> folder = client->Stat(location.path);
  if (!folder && folder.error().code() == ErrorCode::kNotFound)
    return Fail(ErrorCode::kNotFound,
                where + ": no such folder on the server; create it there or correct --to");
  if (!folder) return Fail(folder.error());
  if (!folder->folder)
    return Fail(ErrorCode::kInvalidArgument,
                where + " is not a folder; --to names the folder the files go into");

  std::vector<std::string> failed;
  std::optional<Error> first_failure;
  int64_t total_bytes = 0;
  int pushed = 0;
  for (const std::string& file : options.files) {
    std::string name = fs::path(file).filename().string();
    auto upload = [&]() -> Result<SftpUpload> {
      CB_ASSIGN_OR_RETURN(auto source, OpenFileSource(file));
      std::error_code error;
      uintmax_t size = fs::file_size(file, error);
      ProgressMeter meter("pushing " + name, error ? 0 : static_cast<uint64_t>(size));
      MeteredByteSource metered(*source, meter);
      auto sent = client->Upload(metered, location.path, name);
      meter.Finish();
      return sent;
    }();
    if (!upload) {
      LogError(upload.error().message());
      if (!first_failure) first_failure = upload.error();
      failed.push_back(file);
      continue;
    }
    ++pushed;
    total_bytes += static_cast<int64_t>(upload->bytes);
    std::cout << "pushed " << name << ": " << Plural(static_cast<int64_t>(upload->bytes), "byte")
              << ", sha256 " << upload->sha256.substr(0, 12) << "\n";
  }
  if (failed.empty()) {
    std::cout << "pushed " << Plural(pushed, "file") << " (" << Plural(total_bytes, "byte")
              << ") to " << where << "\n";
    return Ok();
  }
  std::string list;
  for (const std::string& file : failed) list += (list.empty() ? "" : ", ") + file;
  std::cout << "pushed " << pushed << " of "
            << Plural(static_cast<int64_t>(options.files.size()), "file") << " to " << where
            << "\n";
  return Fail(first_failure->code() == ErrorCode::kInvalidArgument ? ErrorCode::kIoError
                                                                   : first_failure->code(),
              "push to " + where + " failed for " + list + " (errors above); " +
                  (pushed == 0 ? "nothing was pushed"
                               : "the other " + Plural(pushed, "file") + " arrived"));
}

}  // namespace citybooks
