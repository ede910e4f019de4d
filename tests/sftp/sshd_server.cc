#include "sftp/sshd_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

namespace citybooks_e2e {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr char kSshd[] = "/usr/sbin/sshd";
constexpr char kSshKeygen[] = "/usr/bin/ssh-keygen";
// Generous: sshd starts in milliseconds, but CI machines can be very slow.
constexpr auto kStartTimeout = 60s;
constexpr auto kStopTimeout = 10s;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

std::string Errno() { return std::strerror(errno); }

// Runs `argv` to completion with output captured; the error holds it.
std::expected<void, std::string> RunQuietly(const std::vector<std::string>& argv) {
  std::string command;
  for (const std::string& arg : argv) command += (command.empty() ? "" : " ") + arg;
  int output[2];
  if (pipe2(output, O_CLOEXEC) != 0) return std::unexpected("pipe2: " + Errno());
  pid_t pid = fork();
  if (pid < 0) return std::unexpected("fork: " + Errno());
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(output[1], 1);
    dup2(output[1], 2);
    std::vector<char*> c_argv;
    for (const std::string& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
    c_argv.push_back(nullptr);
    execv(c_argv[0], c_argv.data());
    _exit(127);
  }
  close(output[1]);
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(output[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) text.append(buffer, static_cast<size_t>(n));
  close(output[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return std::unexpected("`" + command + "` failed: " + text);
  return {};
}

// A port on 127.0.0.1 free at the moment of asking.
std::expected<int, std::string> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected("socket: " + Errno());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::string error = "binding a port on 127.0.0.1: " + Errno();
    close(fd);
    return std::unexpected(error);
  }
  close(fd);
  return ntohs(address.sin_port);
}

// True when something on 127.0.0.1:`port` greets with an SSH banner.
bool AnswersSsh(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  bool ssh = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    pollfd wait_for{fd, POLLIN, 0};
    char banner[8] = {};
    if (poll(&wait_for, 1, 5000) == 1 && read(fd, banner, 4) == 4)
      ssh = std::string(banner, 4) == "SSH-";
  }
  close(fd);
  return ssh;
}

// The first two fields ("ssh-ed25519 AAAA...") of a .pub file.
std::string PublicKeyOf(const fs::path& pub) {
  std::istringstream in(ReadText(pub));
  std::string type, key;
  in >> type >> key;
  return type + " " + key;
}

}  // namespace

std::expected<std::unique_ptr<SshdServer>, std::string> SshdServer::Start() {
  if (access(kSshd, X_OK) != 0)
    return std::unexpected(std::string("OpenSSH's server is not installed (") + kSshd +
                           " is missing); the SFTP tests need it: apt-get install "
                           "openssh-server (scripts/install-deps.sh installs it)");
  if (access(kSshKeygen, X_OK) != 0)
    return std::unexpected(std::string(kSshKeygen) + " is missing; apt-get install openssh-client");
  std::unique_ptr<SshdServer> server(new SshdServer());
  if (auto prepared = server->Prepare(); !prepared) return std::unexpected(prepared.error());
  // Another process may take the free port before sshd binds it: try again.
  std::string last_error;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto launched = server->Launch();
    if (launched) return server;
    last_error = launched.error();
    if (last_error.find("Address already in use") == std::string::npos) break;
  }
  return std::unexpected(last_error);
}

std::expected<void, std::string> SshdServer::Prepare() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/citybooks-sshd-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr)
    return std::unexpected("mkdtemp " + pattern + ": " + Errno());
  dir_ = pattern;
  const passwd* entry = getpwuid(geteuid());
  if (entry == nullptr || entry->pw_name == nullptr)
    return std::unexpected("the user running the tests has no password-database entry");
  user_ = entry->pw_name;
  // As root, sshd's unprivileged child chroots into its privilege-separation
  // folder, which a container may lack.
  if (geteuid() == 0 && mkdir("/run/sshd", 0755) != 0 && errno != EEXIST)
    return std::unexpected("cannot create /run/sshd (sshd's privilege-separation folder): " +
                           Errno());
  for (const char* key : {"host_key", "other_host_key", "user_key", "stranger_key"}) {
    auto made = RunQuietly({kSshKeygen, "-q", "-t", "ed25519", "-N", "", "-C",
                            std::string("citybooks-test-") + key, "-f", (dir_ / key).string()});
    if (!made) return made;
  }
  if (!WriteText(dir_ / "authorized_keys", ReadText(dir_ / "user_key.pub")))
    return std::unexpected("cannot write " + (dir_ / "authorized_keys").string());
  std::error_code error;
  fs::create_directory(remote_dir(), error);
  if (error)
    return std::unexpected("cannot create " + remote_dir().string() + ": " + error.message());
  return {};
}

std::expected<void, std::string> SshdServer::Launch() {
  auto port = FreePort();
  if (!port) return std::unexpected(port.error());
  port_ = *port;
  std::string host = "[127.0.0.1]:" + std::to_string(port_);
  fs::path config = dir_ / "sshd_config";
  std::string settings = "Port " + std::to_string(port_) +
                         "\n"
                         "ListenAddress 127.0.0.1\n"
                         "HostKey " +
                         (dir_ / "host_key").string() +
                         "\n"
                         "PidFile " +
                         (dir_ / "sshd.pid").string() +
                         "\n"
                         "AuthorizedKeysFile " +
                         (dir_ / "authorized_keys").string() +
                         "\n"
                         "PubkeyAuthentication yes\n"
                         "PasswordAuthentication no\n"
                         "KbdInteractiveAuthentication no\n"
                         "PermitRootLogin prohibit-password\n"
                         "UsePAM no\n"
                         "StrictModes no\n"
                         "Subsystem sftp internal-sftp\n"
                         "AllowTcpForwarding no\n"
                         "X11Forwarding no\n"
                         "PrintMotd no\n"
                         "MaxStartups 100\n"
                         "LogLevel VERBOSE\n";
  if (!WriteText(config, settings) ||
      !WriteText(known_hosts(), host + " " + PublicKeyOf(dir_ / "host_key.pub") + "\n") ||
      !WriteText(wrong_known_hosts(),
                 host + " " + PublicKeyOf(dir_ / "other_host_key.pub") + "\n") ||
      !WriteText(other_known_hosts(),
                 "files.example.org " + PublicKeyOf(dir_ / "other_host_key.pub") + "\n"))
    return std::unexpected("cannot write the sshd configuration in " + dir_.string());

  fs::path log = dir_ / "sshd.log";
  int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) return std::unexpected("cannot create " + log.string() + ": " + Errno());
  std::vector<std::string> argv = {kSshd, "-D", "-e", "-f", config.string()};
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return std::unexpected("fork: " + Errno());
  }
  if (pid == 0) {
    setpgid(0, 0);  // its own process group, so Stop() reaches only what it started
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    std::vector<char*> c_argv;
    for (const std::string& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
    c_argv.push_back(nullptr);
    execv(kSshd, c_argv.data());
    _exit(127);
  }
  close(log_fd);
  setpgid(pid, pid);
  pid_ = pid;

  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return std::unexpected("sshd exited (status " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                             ") before accepting connections; its log:\n" + Log());
    }
    if (AnswersSsh(port_)) return {};
    std::this_thread::sleep_for(20ms);
  }
  Stop();
  return std::unexpected("sshd did not accept connections on 127.0.0.1:" + std::to_string(port_) +
                         " within 60 s; its log:\n" + Log());
}

std::string SshdServer::Url(const fs::path& remote_path) const {
  return "sftp://" + user_ + "@127.0.0.1:" + std::to_string(port_) + remote_path.string();
}

std::string SshdServer::Log() const { return ReadText(dir_ / "sshd.log"); }

std::vector<pid_t> SshdServer::Descendants() const {
  // Connection processes call setsid(), so they are found by parentage.
  std::map<pid_t, pid_t> parents;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadText(entry.path() / "stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 1));
    std::string state;
    pid_t parent = 0;
    fields >> state >> parent;
    parents[static_cast<pid_t>(std::stol(name))] = parent;
  }
  std::vector<pid_t> found;
  std::vector<pid_t> frontier = {pid_};
  while (!frontier.empty() && pid_ > 0) {
    pid_t parent = frontier.back();
    frontier.pop_back();
    for (const auto& [child, its_parent] : parents) {
      if (its_parent != parent) continue;
      found.push_back(child);
      frontier.push_back(child);
    }
  }
  return found;
}

void SshdServer::SignalSessions(int signal) const {
  for (pid_t pid : Descendants()) kill(pid, signal);
}

void SshdServer::Stop() {
  if (pid_ <= 0) return;
  // Sessions still open (a test that failed half-way) end with the server.
  for (pid_t session : Descendants()) {
    kill(session, SIGCONT);
    kill(session, SIGTERM);
  }
  kill(-pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  pid_ = -1;
}

SshdServer::~SshdServer() {
  Stop();
  if (!dir_.empty() && std::getenv("CITYBOOKS_KEEP_TEST_DIRS") == nullptr) {
    std::error_code error;
    fs::remove_all(dir_, error);
  }
}

}  // namespace citybooks_e2e
