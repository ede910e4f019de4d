#include "s3/s3_server.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

namespace citybooks::s3test {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kStartLimit = 60s;
constexpr auto kStopLimit = 10s;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The last lines of the server's stderr, for start failures.
std::string Tail(const fs::path& path) {
  std::string text = ReadText(path);
  if (text.size() > 3000) text = "..." + text.substr(text.size() - 3000);
  return text.empty() ? "(no output)" : text;
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream stream(dirs);
  for (std::string dir; std::getline(stream, dir, ':');) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

std::string Encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

// Waits for `pid` up to `limit`; true when it ended.
bool WaitFor(pid_t pid, std::chrono::steady_clock::duration limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

std::expected<std::unique_ptr<S3Server>, std::string> S3Server::Start() {
  const std::string node = FindOnPath("node");
  if (node.empty()) {
    return std::unexpected(
        "The S3 tests need Node.js to run s3rver, and `node` is not on PATH: run `make deps`.");
  }
  const fs::path modules = CITYBOOKS_NODE_MODULES;
  if (!fs::exists(modules / "s3rver" / "package.json")) {
    return std::unexpected("The S3 tests need the npm package s3rver, which is not in " +
                           modules.string() + ": run `make deps` (npm ci).");
  }

  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/citybooks-s3-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return std::unexpected("mkdtemp " + pattern + " failed: " + std::strerror(errno));
  }
  const fs::path folder = pattern;
  const fs::path out_file = folder / "server.out";
  const fs::path err_file = folder / "server.err";
  std::vector<std::string> args = {node, CITYBOOKS_S3_SERVER_SCRIPT, "--directory",
                                   (folder / "data").string()};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    fs::remove_all(folder);
    return std::unexpected(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // The server must not outlive a test process that crashes.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }

  // "listening PORT" on stdout says it answers.
  auto deadline = std::chrono::steady_clock::now() + kStartLimit;
  while (true) {
    std::string out = ReadText(out_file);
    size_t at = out.find("listening ");
    size_t end = at == std::string::npos ? at : out.find('\n', at);
    if (end != std::string::npos) {
      int port = std::atoi(out.substr(at + 10, end - at - 10).c_str());
      return std::unique_ptr<S3Server>(new S3Server(pid, port, folder));
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      std::string why = "The S3 test server (" + std::string(CITYBOOKS_S3_SERVER_SCRIPT) +
                        ") exited before it answered: " + Tail(err_file);
      fs::remove_all(folder);
      return std::unexpected(why);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      WaitFor(pid, kStopLimit);
      std::string why = "The S3 test server did not answer within 60 s: " + Tail(err_file);
      fs::remove_all(folder);
      return std::unexpected(why);
    }
    std::this_thread::sleep_for(20ms);
  }
}

S3Server::~S3Server() {
  ::kill(pid_, SIGTERM);
  if (!WaitFor(pid_, kStopLimit)) {
    ::kill(pid_, SIGKILL);
    WaitFor(pid_, kStopLimit);
  }
  if (std::getenv("CITYBOOKS_KEEP_TEST_DIRS") == nullptr) {
    std::error_code error;
    fs::remove_all(folder_, error);
  }
}

bool S3Server::Control(const std::string& path_and_query) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(10, 0);
  client.set_read_timeout(30, 0);
  httplib::Result result = client.Post(path_and_query, "", "text/plain");
  return result && result->status == 200;
}

std::vector<std::string> S3Server::Requests() const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(10, 0);
  client.set_read_timeout(30, 0);
  httplib::Result result = client.Get("/__control/log");
  std::vector<std::string> lines;
  if (!result || result->status != 200) return lines;
  std::stringstream stream(result->body);
  for (std::string line; std::getline(stream, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

size_t S3Server::CountRequests(std::string_view needle) const {
  size_t count = 0;
  for (const std::string& line : Requests()) {
    if (line.find(needle) != std::string::npos) ++count;
  }
  return count;
}

bool S3Server::ClearRequests() const { return Control("/__control/clear-log"); }

bool S3Server::FailNext(int status, int times, std::string_view match) const {
  return Control("/__control/fail?status=" + std::to_string(status) +
                 "&times=" + std::to_string(times) + "&match=" + Encode(match));
}

bool S3Server::ResetNext(int times, std::string_view match) const {
  return Control("/__control/reset?times=" + std::to_string(times) + "&match=" + Encode(match));
}

bool S3Server::HoldAfter(int passed, std::string_view match) const {
  return Control("/__control/hold?after=" + std::to_string(passed) + "&match=" + Encode(match));
}

bool S3Server::ClearFaults() const { return Control("/__control/clear"); }

bool S3Server::WaitForRequest(std::string_view needle, std::chrono::seconds limit) const {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (CountRequests(needle) > 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

std::vector<std::string> S3Server::PendingUploads(const std::string& bucket) const {
  std::vector<std::string> uploads;
  std::error_code error;
  for (const auto& entry :
       fs::directory_iterator(data_dir() / bucket / "._S3rver_uploads", error)) {
    if (entry.is_directory()) uploads.push_back(entry.path().filename().string());
  }
  return uploads;
}

std::expected<S3Server*, std::string> SharedS3Server() {
  static std::once_flag once;
  static std::unique_ptr<S3Server> server;
  static std::string error;
  std::call_once(once, [] {
    auto started = S3Server::Start();
    if (started) {
      server = std::move(*started);
    } else {
      error = started.error();
    }
  });
  if (!server) return std::unexpected(error);
  return server.get();
}

}  // namespace citybooks::s3test
