// SFTP over SSH (libssh) for the drop folders cities exchange files through:
// key authentication only, strict known_hosts checking (an unknown or changed
// host key is refused, never added), uploads that appear under their final
// name only when complete, folder listings with sizes and mtimes, and
// streaming downloads.
//
//   CB_ASSIGN_OR_RETURN(SftpLocation drop, ParseSftpUrl("sftp://drop@host:2222/outgoing"));
//   CB_ASSIGN_OR_RETURN(auto sftp, SftpClient::Connect(drop, SftpOptions{}));
//   CB_ASSIGN_OR_RETURN(std::vector<SftpEntry> entries, sftp->List(drop.path));
//   CB_ASSIGN_OR_RETURN(SftpUpload sent, sftp->Upload(*local_file, drop.path, "jan.csv"));
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_source.h"
#include "common/error.h"

namespace citybooks {

// Where an sftp:// URL points. `path` is the remote path as the server reads
// it: "/outgoing" for sftp://u@h/outgoing (absolute, as curl and OpenSSH's
// sftp read URLs), "outgoing" for sftp://u@h/~/outgoing (relative to the
// login folder), "." for sftp://u@h/~.
struct SftpLocation {
  std::string url;   // the URL as given, for messages
  std::string user;  // the local user name when the URL names none
  std::string host;  // without IPv6 brackets
  int port = 22;
  std::string path;  // percent-decoded, no trailing '/' (except "/")

  // "[host]:port" when the port is not 22, else "host": how known_hosts and
  // ssh-keygen -R name this server.
  std::string KnownHostsName() const;
  // The sftp:// URL of `remote_path` on this server (percent-encoded).
  std::string UrlOf(std::string_view remote_path) const;
};

// Parses sftp://[USER@]HOST[:PORT]/PATH. Anything else (another scheme, no
// host, a bad port, a query or fragment, a NUL) is kInvalidArgument naming
// the URL and what is wrong.
Result<SftpLocation> ParseSftpUrl(std::string_view url);

// `folder` + "/" + `name`, without doubling the '/' after "/".
std::string JoinRemotePath(std::string_view folder, std::string_view name);

struct SftpOptions {
  // The private key file (OpenSSH or PEM format, without a passphrase).
  // Empty: ~/.ssh/id_ed25519, else ~/.ssh/id_rsa. A leading "~/" is the
  // home folder ($HOME, else the password database's).
  std::string private_key;
  // Empty: ~/.ssh/known_hosts. Only this file is consulted.
  std::string known_hosts;
  // Bounds connecting, and each single SFTP operation (not a whole transfer).
  std::chrono::seconds timeout{30};
};

struct SftpEntry {
  std::string name;
  uint64_t bytes = 0;
  int64_t mtime = 0;          // seconds since 1970-01-01 UTC
  bool regular_file = false;  // symbolic links count as what they point to
  bool folder = false;
};

struct SftpUpload {
  std::string path;  // the final remote path
  uint64_t bytes = 0;
  std::string sha256;  // of the bytes sent, lower-case hex
};

namespace sftp_internal {
struct Session;  // the libssh handles
}  // namespace sftp_internal

// One authenticated SFTP session. Not thread-safe; one operation at a time.
class SftpClient {
 public:
  // Connects, checks the server's host key against the known_hosts file and
  // authenticates with the private key. Fails with one sentence naming the
  // URL: kFailedPrecondition for a host key not in known_hosts or different
  // from it (naming the host, the file and the ssh-keyscan line to add after
  // verifying the fingerprint) and for a refused key; kInvalidArgument for a
  // missing or unreadable key or known_hosts file; kUnavailable when the
  // server cannot be reached or does not answer in time.
  static Result<std::unique_ptr<SftpClient>> Connect(const SftpLocation& location,
                                                     const SftpOptions& options);
  ~SftpClient();
  SftpClient(const SftpClient&) = delete;
  SftpClient& operator=(const SftpClient&) = delete;

  // The entries of `folder` except "." and "..", sorted by name. A folder
  // that does not exist is kNotFound naming its URL.
  Result<std::vector<SftpEntry>> List(std::string_view folder);

  // What `path` is (links followed). kNotFound naming its URL if nothing is.
  Result<SftpEntry> Stat(std::string_view path);

  // Streams `source` to `folder`/.`name`.part-<random>, flushes it (fsync
  // where the server offers it) and renames it to `folder`/`name`, so a
  // reader never sees a partial file under the final name. An existing
  // `name` is replaced: OpenSSH's SFTP rename refuses to overwrite, and the
  // atomic posix-rename extension is out of libssh 0.10's reach, so the old
  // file is removed just before the rename (a reader may briefly find no
  // file, never a partial one). On failure the temporary file is removed.
  Result<SftpUpload> Upload(ByteSource& source, std::string_view folder, std::string_view name);

  // Opens `path` for streaming. The client must outlive the source; a
  // failed read names the file's URL.
  Result<std::unique_ptr<ByteSource>> OpenForRead(std::string_view path);

  const SftpLocation& location() const { return location_; }

 private:
  SftpClient(SftpLocation location, std::unique_ptr<sftp_internal::Session> session);
  SftpLocation location_;
  std::unique_ptr<sftp_internal::Session> session_;
};

}  // namespace citybooks
