#include "net/sftp_client.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "common/sha256.h"
#include "common/text.h"

namespace citybooks {

namespace {

// OpenSSH's sftp-server accepts messages up to 256 KiB; 32 KiB writes are
// what every server takes. Reads ask for more and accept short answers.
constexpr size_t kWriteChunk = 32 * 1024;
constexpr size_t kReadChunk = 64 * 1024;

std::string HomeFolder() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
  if (const passwd* entry = getpwuid(geteuid()); entry != nullptr && entry->pw_dir != nullptr)
    return entry->pw_dir;
  return "";
}

std::string LocalUserName() {
  if (const passwd* entry = getpwuid(geteuid()); entry != nullptr && entry->pw_name != nullptr)
    return entry->pw_name;
  for (const char* name : {"USER", "LOGNAME"})
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return value;
  return "";
}

std::string ExpandHome(const std::string& path) {
  if (path == "~") return HomeFolder();
  if (path.rfind("~/", 0) == 0) return HomeFolder() + path.substr(1);
  return path;
}

bool FileExists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `text`; false on a malformed escape or a decoded NUL.
bool PercentDecode(std::string_view text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out->push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return false;
    int high = HexValue(text[i + 1]), low = HexValue(text[i + 2]);
    if (high < 0 || low < 0 || (high == 0 && low == 0)) return false;
    out->push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return true;
}

std::string RandomHex(size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::string out;
  while (out.size() < digits) {
    unsigned value = device();
    for (int i = 0; i < 8 && out.size() < digits; ++i, value >>= 4) out.push_back(kHex[value & 15]);
  }
  return out;
}

}  // namespace

// --- Locations ------------------------------------------------------------------------

std::string SftpLocation::KnownHostsName() const {
  std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port == 22) return name;
  if (name.front() != '[') name = "[" + name + "]";
  return name + ":" + std::to_string(port);
}

std::string SftpLocation::UrlOf(std::string_view remote_path) const {
  std::string url = "sftp://" + PercentEncode(user, "") + "@" +
                    (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                    std::to_string(port);
  if (remote_path.empty() || remote_path == ".") return url + "/~";
  if (remote_path.front() == '/') return url + PercentEncode(remote_path, "/");
  if (remote_path.rfind("./", 0) == 0) remote_path.remove_prefix(2);
  return url + "/~/" + PercentEncode(remote_path, "/");
}

std::string JoinRemotePath(std::string_view folder, std::string_view name) {
  std::string path(folder);
  if (path.empty()) return std::string(name);
  if (path.back() != '/') path.push_back('/');
  return path + std::string(name);
}

Result<SftpLocation> ParseSftpUrl(std::string_view url) {
  auto invalid = [&](const std::string& problem) {
    return Fail(ErrorCode::kInvalidArgument, "'" + std::string(url) +
                                                 "' is not a usable sftp URL: " + problem +
                                                 " (expected sftp://USER@HOST[:PORT]/FOLDER)");
  };
  for (unsigned char c : url)
    if (c < 0x20 || c == 0x7F)
      return Fail(
          ErrorCode::kInvalidArgument,
          "the sftp URL holds a control character; expected sftp://USER@HOST[:PORT]/FOLDER");
  SftpLocation location;
  location.url = std::string(url);
  if (AsciiLower(url.substr(0, 7)) != "sftp://") return invalid("it does not start with sftp://");
  std::string_view rest = url.substr(7);
  if (rest.find_first_of("?#") != std::string_view::npos)
    return invalid("a query or fragment has no meaning here");
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);

  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view user = authority.substr(0, at);
    if (user.find(':') != std::string_view::npos)
      // Never echo the URL here: it holds a password.
      return Fail(ErrorCode::kInvalidArgument,
                  "the sftp URL names a password; citybooks authenticates with keys only, so "
                  "remove the password from the URL and give a key file");
    if (!PercentDecode(user, &location.user)) return invalid("the user name has a bad % escape");
    authority.remove_prefix(at + 1);
  }
  if (location.user.empty()) location.user = LocalUserName();
  if (location.user.empty()) return invalid("it names no user and the local user is unknown");

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid("the IPv6 address has no closing ']'");
    location.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid("unexpected text after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return invalid("the port is empty");
    }
  } else {
    size_t colon = authority.find(':');
    location.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return invalid("the port is empty");
    }
  }
  if (location.host.empty()) return invalid("it names no host");
  for (char c : location.host)
    if (c == ' ' || c == '%' || c == '@' || c == '[' || c == ']' || c == '/')
      return invalid("the host name holds '" + std::string(1, c) + "'");
  if (!port_text.empty()) {
    std::optional<int64_t> port;
    if (port_text.find_first_not_of("0123456789") == std::string_view::npos)
      port = ParseInt(port_text);
    if (!port || *port < 1 || *port > 65535)
      return invalid("the port '" + std::string(port_text) + "' is not a number from 1 to 65535");
    location.port = static_cast<int>(*port);
  }

  std::string decoded;
  if (!PercentDecode(path, &decoded)) return invalid("the folder has a bad % escape");
  if (decoded == "/~" || decoded == "/~/") {
    decoded = ".";
  } else if (decoded.rfind("/~/", 0) == 0) {
    decoded = decoded.substr(3);
  } else if (decoded.empty()) {
    decoded = "/";
  }
  while (decoded.size() > 1 && decoded.back() == '/') decoded.pop_back();
  location.path = decoded;
  return location;
}

// --- The session ----------------------------------------------------------------------

namespace sftp_internal {

// libssh 0.10's SFTP calls ignore SSH_OPTIONS_TIMEOUT (a read that times out
// is retried forever), so a stalled server would hang citybooks. While a
// call is armed, a watchdog thread shuts the socket down once the call has
// made no progress for `timeout`; the blocked call then fails at once.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  ~Watchdog() { Stop(); }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Starts watching the connected socket `fd`.
  void Watch(int fd) {
    fd_ = fd;
    thread_ = std::thread([this] { Run(); });
  }
  // (Re)starts the clock: the current call has `timeout` to make progress.
  void Arm() {
    {
      std::lock_guard lock(mutex_);
      deadline_ = std::chrono::steady_clock::now() + timeout_;
    }
    wake_.notify_all();
  }
  void Disarm() {
    std::lock_guard lock(mutex_);
    deadline_.reset();
  }
  // Ends the watch; call before the socket is closed.
  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() const {
    std::lock_guard lock(mutex_);
    return fired_;
  }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  void Run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (!deadline_) {
        wake_.wait(lock);
        continue;
      }
      auto deadline = *deadline_;
      if (std::chrono::steady_clock::now() < deadline) {
        wake_.wait_until(lock, deadline);
        continue;
      }
      fired_ = true;
      deadline_.reset();
      ::shutdown(fd_, SHUT_RDWR);
    }
  }

  const std::chrono::milliseconds timeout_;
  int fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  bool stopping_ = false;
  bool fired_ = false;
  std::thread thread_;
};

struct Session {
  explicit Session(std::chrono::milliseconds timeout) : watchdog(timeout) {}
  ~Session() {
    // Closing politely sends requests too: bounded like every other call.
    watchdog.Arm();
    if (sftp != nullptr) sftp_free(sftp);
    // Stopped while the socket is still open, so it never shuts down a
    // descriptor number that has been reused.
    watchdog.Stop();
    if (ssh != nullptr) {
      if (ssh_is_connected(ssh)) ssh_disconnect(ssh);
      ssh_free(ssh);
    }
  }

  ssh_session ssh = nullptr;
  sftp_session sftp = nullptr;
  bool has_fsync = false;
  Watchdog watchdog;
};

// Arms the session's watchdog for one public operation; Progress() restarts
// the clock between the calls of a long transfer.
class Armed {
 public:
  explicit Armed(Session& session) : watchdog_(session.watchdog) { watchdog_.Arm(); }
  ~Armed() { watchdog_.Disarm(); }
  void Progress() { watchdog_.Arm(); }

 private:
  Watchdog& watchdog_;
};

}  // namespace sftp_internal

using sftp_internal::Armed;
using sftp_internal::Session;

namespace {

// Refuses to prompt for a passphrase: citybooks runs unattended.
int NoPassphrase(const char*, char*, size_t, int, int, void*) { return -1; }

struct KeyHolder {
  ssh_key key = nullptr;
  ~KeyHolder() {
    if (key != nullptr) ssh_key_free(key);
  }
};

// The temporary file of an upload: closed, and removed unless renamed, on
// every way out.
struct TemporaryUpload {
  Session& session;
  std::string path;
  sftp_file file;
  bool renamed = false;
  ~TemporaryUpload() {
    Armed armed(session);
    if (file != nullptr) sftp_close(file);
    if (!renamed) sftp_unlink(session.sftp, path.c_str());
  }
};

// The reason the server or libssh gave for the last failed SFTP call on
// `session`, as "URL: cannot ACTION: cause".
Error SftpFailure(Session& session, const std::string& url, const std::string& action) {
  if (session.watchdog.fired())
    return Error(ErrorCode::kUnavailable,
                 url + ": cannot " + action + ": the server did not answer for " +
                     std::to_string(session.watchdog.timeout().count() / 1000) +
                     " s, so the connection was closed");
  int code = session.sftp != nullptr ? sftp_get_error(session.sftp) : SSH_FX_OK;
  ErrorCode error_code = ErrorCode::kIoError;
  std::string cause;
  switch (code) {
    case SSH_FX_NO_SUCH_FILE:
    case SSH_FX_NO_SUCH_PATH:
      error_code = ErrorCode::kNotFound;
      cause = "no such file or folder";
      break;
    case SSH_FX_PERMISSION_DENIED:
    case SSH_FX_WRITE_PROTECT:
      error_code = ErrorCode::kFailedPrecondition;
      cause = "permission denied";
      break;
    case SSH_FX_FILE_ALREADY_EXISTS:
      error_code = ErrorCode::kAlreadyExists;
      cause = "it already exists";
      break;
    case SSH_FX_OP_UNSUPPORTED:
      error_code = ErrorCode::kFailedPrecondition;
      cause = "the server does not support that operation";
      break;
    case SSH_FX_FAILURE: {
      // OpenSSH answers most errno values (EIO, ENOSPC, EISDIR...) with this
      // one code and the message "Failure"; other servers may say more.
      std::string text = ssh_get_error(session.ssh);
      bool plain = text.empty() || text.ends_with(": Failure");
      cause =
          "the server reported a failure (" +
          (plain ? std::string("a read error, a full disk, or a folder where a file was expected")
                 : text) +
          ")";
      break;
    }
    default: {
      // The connection itself failed (reset, timeout): worth a retry.
      error_code = ErrorCode::kUnavailable;
      std::string text = ssh_get_error(session.ssh);
      cause = text.empty() ? "the connection failed" : "the connection failed: " + text;
      break;
    }
  }
  return Error(error_code, url + ": cannot " + action + ": " + cause);
}

}  // namespace

SftpClient::SftpClient(SftpLocation location, std::unique_ptr<Session> session)
    : location_(std::move(location)), session_(std::move(session)) {}

SftpClient::~SftpClient() = default;

Result<std::unique_ptr<SftpClient>> SftpClient::Connect(const SftpLocation& location,
                                                        const SftpOptions& options) {
  const std::string& url = location.url;
  // The key is read before any network traffic, so a missing key costs nothing.
  std::string key_file = ExpandHome(options.private_key);
  if (key_file.empty()) {
    std::string home = HomeFolder();
    for (const char* name : {"/.ssh/id_ed25519", "/.ssh/id_rsa"}) {
      if (!home.empty() && FileExists(home + name)) {
        key_file = home + name;
        break;
      }
    }
    if (key_file.empty())
      return Fail(ErrorCode::kInvalidArgument,
                  url +
                      ": no private key was given and neither ~/.ssh/id_ed25519 nor "
                      "~/.ssh/id_rsa exists; name the key file to authenticate with");
  }
  if (!FileExists(key_file))
    return Fail(ErrorCode::kInvalidArgument,
                url + ": the private key file " + key_file + " does not exist");
  KeyHolder key;
  if (ssh_pki_import_privkey_file(key_file.c_str(), nullptr, NoPassphrase, nullptr, &key.key) !=
      SSH_OK)
    return Fail(ErrorCode::kInvalidArgument,
                url + ": cannot use the private key file " + key_file +
                    ": it is unreadable, not a private key, or protected by a passphrase "
                    "(citybooks runs unattended and needs a key without one)");
  std::string known_hosts = ExpandHome(options.known_hosts);
  if (known_hosts.empty()) {
    std::string home = HomeFolder();
    if (home.empty())
      return Fail(ErrorCode::kInvalidArgument,
                  url +
                      ": the home folder is unknown, so ~/.ssh/known_hosts cannot be found; "
                      "name the known_hosts file");
    known_hosts = home + "/.ssh/known_hosts";
  }

  auto session = std::make_unique<Session>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout));
  session->ssh = ssh_new();
  if (session->ssh == nullptr)
    return Fail(ErrorCode::kInternal, url + ": libssh could not create a session");
  ssh_session ssh = session->ssh;
  long timeout_seconds = std::max<long>(1, static_cast<long>(options.timeout.count()));
  unsigned int port = static_cast<unsigned int>(location.port);
  bool process_config = false;  // ~/.ssh/config must not change what is checked
  int log_level = SSH_LOG_NOLOG;
  // Each SFTP request waits for its answer: without TCP_NODELAY, Nagle and
  // delayed ACKs add tens of milliseconds to every 32 KiB written.
  int no_delay = 1;
  if (ssh_options_set(ssh, SSH_OPTIONS_HOST, location.host.c_str()) != SSH_OK ||
      ssh_options_set(ssh, SSH_OPTIONS_PORT, &port) != SSH_OK ||
      ssh_options_set(ssh, SSH_OPTIONS_USER, location.user.c_str()) != SSH_OK ||
      ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT, &timeout_seconds) != SSH_OK ||
      ssh_options_set(ssh, SSH_OPTIONS_PROCESS_CONFIG, &process_config) != SSH_OK ||
      ssh_options_set(ssh, SSH_OPTIONS_LOG_VERBOSITY, &log_level) != SSH_OK ||
      ssh_options_set(ssh, SSH_OPTIONS_NODELAY, &no_delay) != SSH_OK ||
      ssh_options_set(ssh, SSH_OPTIONS_KNOWNHOSTS, known_hosts.c_str()) != SSH_OK ||
      // Only the file named counts: the system-wide list is not consulted.
      ssh_options_set(ssh, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") != SSH_OK)
    return Fail(ErrorCode::kInvalidArgument,
                url + ": libssh refused the connection settings (" + ssh_get_error(ssh) + ")");

  if (ssh_connect(ssh) != SSH_OK)
    return Fail(ErrorCode::kUnavailable, url + ": cannot connect to " + location.host + " port " +
                                             std::to_string(location.port) + " (" +
                                             ssh_get_error(ssh) + ")");

  session->watchdog.Watch(ssh_get_fd(ssh));
  Armed armed(*session);

  // Strict host key checking: only a key recorded in the known_hosts file
  // is accepted, and nothing is ever added to it.
  KeyHolder server_key;
  std::string fingerprint = "an unreadable key";
  if (ssh_get_server_publickey(ssh, &server_key.key) == SSH_OK) {
    unsigned char* hash = nullptr;
    size_t hash_length = 0;
    if (ssh_get_publickey_hash(server_key.key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hash_length) ==
        SSH_OK) {
      char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_length);
      if (text != nullptr) {
        fingerprint =
            std::string(ssh_key_type_to_char(ssh_key_type(server_key.key))) + " key " + text;
        ssh_string_free_char(text);
      }
      ssh_clean_pubkey_hash(&hash);
    }
  }
  std::string host_name = location.KnownHostsName();
  std::string keyscan = "ssh-keyscan -p " + std::to_string(location.port) + " " + location.host +
                        " >> " + known_hosts;
  switch (ssh_session_is_known_server(ssh)) {
    case SSH_KNOWN_HOSTS_OK:
      break;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
      return Fail(ErrorCode::kFailedPrecondition,
                  url + ": refused, the host key of " + host_name + " (" + fingerprint +
                      ") differs from the one recorded in the known_hosts file " + known_hosts +
                      ", so the server may have been reinstalled or someone may be intercepting "
                      "the connection; only if the server's administrator confirms that "
                      "fingerprint, remove the old entry with `ssh-keygen -R '" +
                      host_name + "' -f " + known_hosts + "` and add the new one with `" + keyscan +
                      "`");
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      return Fail(ErrorCode::kFailedPrecondition,
                  url + ": refused, the host key of " + host_name + " (" + fingerprint +
                      ") is not in the known_hosts file " + known_hosts +
                      (FileExists(known_hosts) ? "" : " (the file does not exist)") +
                      "; verify that fingerprint with the server's administrator, then add "
                      "the key with `" +
                      keyscan + "`");
    case SSH_KNOWN_HOSTS_ERROR:
    default:
      return Fail(ErrorCode::kFailedPrecondition, url + ": cannot check the host key of " +
                                                      host_name + " against the known_hosts file " +
                                                      known_hosts + " (" + ssh_get_error(ssh) +
                                                      ")");
  }

  switch (ssh_userauth_publickey(ssh, nullptr, key.key)) {
    case SSH_AUTH_SUCCESS:
      break;
    case SSH_AUTH_DENIED:
    case SSH_AUTH_PARTIAL:
      return Fail(ErrorCode::kFailedPrecondition,
                  url + ": authentication failed, the server refused the key " + key_file +
                      " for user " + location.user +
                      "; add its public key to that user's authorized_keys on the server or "
                      "name the right key");
    default:
      return Fail(ErrorCode::kUnavailable, url + ": authentication as " + location.user +
                                               " did not complete (" + ssh_get_error(ssh) + ")");
  }

  session->sftp = sftp_new(ssh);
  if (session->sftp == nullptr || sftp_init(session->sftp) != SSH_OK)
    return Fail(ErrorCode::kUnavailable,
                url + ": the server did not start its SFTP subsystem (" + ssh_get_error(ssh) + ")");
  session->has_fsync = sftp_extension_supported(session->sftp, "fsync@openssh.com", "1") != 0;
  return std::unique_ptr<SftpClient>(new SftpClient(location, std::move(session)));
}

Result<std::vector<SftpEntry>> SftpClient::List(std::string_view folder) {
  std::string path(folder);
  std::string url = location_.UrlOf(path);
  Armed armed(*session_);
  sftp_dir dir = sftp_opendir(session_->sftp, path.c_str());
  if (dir == nullptr) return Fail(SftpFailure(*session_, url, "list the folder"));
  std::vector<SftpEntry> entries;
  std::vector<std::string> links;
  while (sftp_attributes attributes = sftp_readdir(session_->sftp, dir)) {
    armed.Progress();
    SftpEntry entry;
    entry.name = attributes->name != nullptr ? attributes->name : "";
    entry.bytes = attributes->size;
    entry.mtime = attributes->mtime64 != 0 ? static_cast<int64_t>(attributes->mtime64)
                                           : static_cast<int64_t>(attributes->mtime);
    entry.regular_file = attributes->type == SSH_FILEXFER_TYPE_REGULAR;
    entry.folder = attributes->type == SSH_FILEXFER_TYPE_DIRECTORY;
    bool link = attributes->type == SSH_FILEXFER_TYPE_SYMLINK;
    sftp_attributes_free(attributes);
    if (entry.name.empty() || entry.name == "." || entry.name == "..") continue;
    if (link) links.push_back(entry.name);
    entries.push_back(std::move(entry));
  }
  bool complete = sftp_dir_eof(dir) != 0;
  sftp_closedir(dir);
  if (!complete) return Fail(SftpFailure(*session_, url, "list the folder"));
  // A link counts as what it points to; a dangling one is not a file.
  for (SftpEntry& entry : entries) {
    if (std::find(links.begin(), links.end(), entry.name) == links.end()) continue;
    armed.Progress();
    sftp_attributes target = sftp_stat(session_->sftp, JoinRemotePath(path, entry.name).c_str());
    if (target == nullptr) continue;
    entry.bytes = target->size;
    entry.mtime = target->mtime64 != 0 ? static_cast<int64_t>(target->mtime64)
                                       : static_cast<int64_t>(target->mtime);
    entry.regular_file = target->type == SSH_FILEXFER_TYPE_REGULAR;
    entry.folder = target->type == SSH_FILEXFER_TYPE_DIRECTORY;
    sftp_attributes_free(target);
  }
  std::sort(entries.begin(), entries.end(),
            [](const SftpEntry& a, const SftpEntry& b) { return a.name < b.name; });
  return entries;
}

Result<SftpEntry> SftpClient::Stat(std::string_view path) {
  std::string remote(path);
  Armed armed(*session_);
  sftp_attributes attributes = sftp_stat(session_->sftp, remote.c_str());
  if (attributes == nullptr)
    return Fail(SftpFailure(*session_, location_.UrlOf(remote), "read its attributes"));
  SftpEntry entry;
  size_t slash = remote.find_last_of('/');
  entry.name = slash == std::string::npos ? remote : remote.substr(slash + 1);
  entry.bytes = attributes->size;
  entry.mtime = attributes->mtime64 != 0 ? static_cast<int64_t>(attributes->mtime64)
                                         : static_cast<int64_t>(attributes->mtime);
  entry.regular_file = attributes->type == SSH_FILEXFER_TYPE_REGULAR;
  entry.folder = attributes->type == SSH_FILEXFER_TYPE_DIRECTORY;
  sftp_attributes_free(attributes);
  return entry;
}

Result<SftpUpload> SftpClient::Upload(ByteSource& source, std::string_view folder,
                                      std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos)
    return Fail(ErrorCode::kInvalidArgument,
                "'" + std::string(name) + "' cannot be a remote file name");
  sftp_session sftp = session_->sftp;
  SftpUpload upload;
  upload.path = JoinRemotePath(folder, name);
  std::string url = location_.UrlOf(upload.path);
  std::string temporary =
      JoinRemotePath(folder, "." + std::string(name) + ".part-" + RandomHex(12));

  Armed armed(*session_);
  TemporaryUpload part{*session_, temporary,
                       sftp_open(sftp, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644)};
  if (part.file == nullptr)
    return Fail(SftpFailure(*session_, location_.UrlOf(folder), "create a file in the folder"));

  Sha256 hash;
  std::vector<char> buffer(kWriteChunk);
  while (true) {
    CB_ASSIGN_OR_RETURN(size_t n, source.Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    hash.Update(std::string_view(buffer.data(), n));
    armed.Progress();
    ssize_t written = sftp_write(part.file, buffer.data(), n);
    if (written < 0 || static_cast<size_t>(written) != n)
      return Fail(SftpFailure(*session_, url, "upload"));
    upload.bytes += n;
  }
  if (session_->has_fsync && sftp_fsync(part.file) != SSH_OK)
    return Fail(SftpFailure(*session_, url, "flush the upload to disk"));
  int closed = sftp_close(part.file);
  part.file = nullptr;
  if (closed != SSH_OK) return Fail(SftpFailure(*session_, url, "finish the upload"));

  if (sftp_rename(sftp, temporary.c_str(), upload.path.c_str()) != SSH_OK) {
    // OpenSSH refuses to rename onto an existing file: remove it first.
    sftp_attributes existing = sftp_lstat(sftp, upload.path.c_str());
    if (existing == nullptr) return Fail(SftpFailure(*session_, url, "rename the upload"));
    bool is_folder = existing->type == SSH_FILEXFER_TYPE_DIRECTORY;
    sftp_attributes_free(existing);
    if (is_folder)
      return Fail(ErrorCode::kFailedPrecondition,
                  url + ": cannot replace it with the upload: it is a folder");
    if (sftp_unlink(sftp, upload.path.c_str()) != SSH_OK)
      return Fail(SftpFailure(*session_, url, "replace the existing file"));
    if (sftp_rename(sftp, temporary.c_str(), upload.path.c_str()) != SSH_OK)
      return Fail(SftpFailure(*session_, url, "rename the upload"));
  }
  part.renamed = true;
  upload.sha256 = hash.HexDigest();
  return upload;
}

namespace {

class RemoteFileSource : public ByteSource {
 public:
  RemoteFileSource(Session* session, sftp_file file, std::string url)
      : session_(session), file_(file), url_(std::move(url)) {}
  ~RemoteFileSource() override {
    Armed armed(*session_);
    sftp_close(file_);
  }

  Result<size_t> Read(char* buffer, size_t size) override {
    Armed armed(*session_);
    ssize_t n = sftp_read(file_, buffer, std::min(size, kReadChunk));
    if (n < 0) return Fail(SftpFailure(*session_, url_, "read the file"));
    return static_cast<size_t>(n);
  }
  std::string_view name() const override { return url_; }

 private:
  Session* session_;
  sftp_file file_;
  std::string url_;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> SftpClient::OpenForRead(std::string_view path) {
  std::string remote(path);
  std::string url = location_.UrlOf(remote);
  Armed armed(*session_);
  sftp_file file = sftp_open(session_->sftp, remote.c_str(), O_RDONLY, 0);
  if (file == nullptr) return Fail(SftpFailure(*session_, url, "open the file"));
  return std::unique_ptr<ByteSource>(std::make_unique<RemoteFileSource>(session_.get(), file, url));
}

}  // namespace citybooks
