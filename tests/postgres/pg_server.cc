#include "pg_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace citybooks_test {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

bool Executable(const fs::path& path) { return access(path.c_str(), X_OK) == 0; }

// The folder holding initdb and postgres: $CITYBOOKS_PG_BIN when set, else
// Debian's /usr/lib/postgresql/15/bin, else the newest other version.
std::string FindBinaries(std::string* error) {
  std::vector<std::string> candidates;
  const char* chosen = std::getenv("CITYBOOKS_PG_BIN");
  if (chosen != nullptr && *chosen != '\0') {
    if (Executable(fs::path(chosen) / "initdb") && Executable(fs::path(chosen) / "postgres"))
      return chosen;
    *error = std::string("CITYBOOKS_PG_BIN=") + chosen +
             " holds no PostgreSQL server programs (initdb, postgres); unset it or point it at "
             "a folder like /usr/lib/postgresql/15/bin";
    return "";
  }
  candidates.push_back("/usr/lib/postgresql/15/bin");
  std::vector<std::string> others;
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ignored))
    others.push_back((entry.path() / "bin").string());
  std::sort(others.rbegin(), others.rend());
  candidates.insert(candidates.end(), others.begin(), others.end());
  for (const std::string& bin : candidates)
    if (Executable(fs::path(bin) / "initdb") && Executable(fs::path(bin) / "postgres")) return bin;
  *error =
      "the PostgreSQL server programs (initdb, postgres) are missing: none in "
      "/usr/lib/postgresql/*/bin; install the Debian package postgresql-15 "
      "(scripts/install-deps.sh does) to run the PostgreSQL tests";
  return "";
}

// Whom the server runs as: PostgreSQL refuses to run as root.
struct RunAs {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::string ReadTail(const fs::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() > max_bytes ? "..." + all.substr(all.size() - max_bytes) : all;
}

// Starts `argv` with stdin from /dev/null and stdout and stderr appended to
// `log`, in `cwd`, as `as` says. The child gets SIGQUIT (PostgreSQL's
// immediate shutdown) when the thread that started it ends, so a test that
// crashes or is killed leaves no server behind.
pid_t Spawn(const std::vector<std::string>& argv, const fs::path& log, const fs::path& cwd,
            const RunAs& as, std::string* error) {
  std::vector<std::string> args = argv;
  std::vector<char*> c_argv;
  for (std::string& arg : args) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);
  std::string cwd_text = cwd.string();
  int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    *error = "cannot open " + log.string() + ": " + std::strerror(errno);
    return -1;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (as.switch_user &&
        (setgroups(0, nullptr) != 0 || setgid(as.gid) != 0 || setuid(as.uid) != 0))
      _exit(126);
    // After setuid: changing credentials clears the parent-death signal.
    prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (getppid() != parent) _exit(125);
    if (chdir(cwd_text.c_str()) != 0) _exit(126);
    execv(c_argv[0], c_argv.data());
    _exit(127);
  }
  close(log_fd);
  if (pid < 0) *error = std::string("fork failed: ") + std::strerror(errno);
  return pid;
}

// A TCP port on 127.0.0.1 that nothing listens on right now.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  close(fd);
  return port;
}

std::string Quote(const std::string& identifier) {
  std::string quoted = "\"";
  for (char c : identifier) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void IgnoreNotice(void*, const char*) {}

}  // namespace

std::unique_ptr<PgServer> PgServer::Start(std::string* error) {
  std::string bin = FindBinaries(error);
  if (bin.empty()) return nullptr;
  RunAs as;
  if (geteuid() == 0) {
    passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      *error =
          "the tests run as root and PostgreSQL refuses to run as root, but there is no "
          "`postgres` user to run it as; install the Debian package postgresql-15 (it creates "
          "one)";
      return nullptr;
    }
    as = RunAs{true, user->pw_uid, user->pw_gid};
  }
  // The socket path must stay under 108 bytes, and the server's user must
  // reach the folder: /tmp unless TMPDIR is short and we stay ourselves.
  std::string base = "/tmp";
  if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp && !as.switch_user && strlen(tmp) < 60)
    base = tmp;
  std::string pattern = base + "/cb-pg-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    *error = "cannot create a folder like " + pattern + ": " + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<PgServer> server(new PgServer);
  server->dir_ = pattern;
  server->bin_ = bin;
  const fs::path dir = server->dir_;
  if (as.switch_user && chown(dir.c_str(), as.uid, as.gid) != 0) {
    *error = "cannot hand " + dir.string() + " to the postgres user: " + std::strerror(errno);
    return nullptr;
  }

  pid_t initdb = Spawn({bin + "/initdb", "-D", (dir / "data").string(), "-U", kSuperuser, "-A",
                        "trust", "-E", "UTF8", "--no-locale", "--no-sync"},
                       dir / "initdb.log", dir, as, error);
  if (initdb < 0) return nullptr;
  int status = 0;
  while (waitpid(initdb, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = "initdb failed (status " + std::to_string(status) + "); its output:\n" +
             ReadTail(dir / "initdb.log", 3000);
    return nullptr;
  }

  // A port free a moment ago may be taken when the server binds it: retry.
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port = FreePort();
    if (port == 0) {
      *error = "cannot find a free TCP port on 127.0.0.1";
      return nullptr;
    }
    pid_t pid = Spawn(
        {bin + "/postgres", "-D", (dir / "data").string(), "-k", dir.string(), "-p",
         std::to_string(port), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
         "full_page_writes=off", "-c", "max_connections=60", "-c", "log_min_messages=warning"},
        dir / "postgres.log", dir, as, error);
    if (pid < 0) return nullptr;
    server->pid_ = pid;
    server->port_ = port;
    std::string ping = "host=127.0.0.1 port=" + std::to_string(port) + " user=" + kSuperuser +
                       " dbname=postgres connect_timeout=5";
    auto deadline = Clock::now() + std::chrono::seconds(90);
    bool exited = false;
    while (Clock::now() < deadline) {
      if (PQping(ping.c_str()) == PQPING_OK) return server;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        server->pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::string log = server->LogTail();
    if (exited && (log.find("could not bind") != std::string::npos ||
                   log.find("already in use") != std::string::npos))
      continue;
    *error = (exited ? "postgres exited (status " + std::to_string(status) +
                           ") before accepting "
                           "connections"
                     : "postgres did not accept connections on 127.0.0.1:" + std::to_string(port) +
                           " within 90 s") +
             "; the end of its log:\n" + log;
    return nullptr;
  }
  *error = "postgres could not bind a free port on 127.0.0.1 in 5 attempts; the end of its log:\n" +
           server->LogTail();
  return nullptr;
}

PgServer::~PgServer() {
  Stop();
  if (!dir_.empty() && std::getenv("CITYBOOKS_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

void PgServer::Stop() {
  if (pid_ <= 0) return;
  // Fast shutdown: clients are disconnected, nothing is kept.
  kill(pid_, SIGINT);
  int status = 0;
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string PgServer::Url(const std::string& database, const std::string& user) const {
  return "postgresql://" + user + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::vector<std::vector<std::string>> PgServer::Sql(const std::string& database,
                                                    const std::string& sql,
                                                    std::string* error) const {
  std::vector<std::vector<std::string>> rows;
  std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + kSuperuser +
                         " dbname=" + database + " connect_timeout=10";
  PGconn* connection = PQconnectdb(conninfo.c_str());
  if (PQstatus(connection) != CONNECTION_OK) {
    if (error) *error = "cannot connect to " + Url(database) + ": " + PQerrorMessage(connection);
    PQfinish(connection);
    return rows;
  }
  PQsetNoticeProcessor(connection, IgnoreNotice, nullptr);
  PGresult* result = PQexec(connection, sql.c_str());
  ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_TUPLES_OK) {
    for (int r = 0; r < PQntuples(result); ++r) {
      std::vector<std::string>& row = rows.emplace_back();
      for (int c = 0; c < PQnfields(result); ++c) row.emplace_back(PQgetvalue(result, r, c));
    }
  } else if (status != PGRES_COMMAND_OK && error) {
    *error = sql.substr(0, 200) + ": " + PQresultErrorMessage(result);
  }
  PQclear(result);
  PQfinish(connection);
  return rows;
}

std::string PgServer::SqlValue(const std::string& database, const std::string& sql,
                               std::string* error) const {
  auto rows = Sql(database, sql, error);
  return rows.empty() || rows[0].empty() ? "" : rows[0][0];
}

bool PgServer::CreateDatabase(const std::string& name, std::string* error,
                              const std::string& owner) {
  if (!DropDatabase(name, error)) return false;
  std::string failure;
  Sql("postgres",
      "CREATE DATABASE " + Quote(name) + (owner.empty() ? "" : " OWNER " + Quote(owner)), &failure);
  if (!failure.empty()) *error = failure;
  return failure.empty();
}

bool PgServer::DropDatabase(const std::string& name, std::string* error) {
  std::string failure;
  Sql("postgres", "DROP DATABASE IF EXISTS " + Quote(name) + " WITH (FORCE)", &failure);
  if (!failure.empty()) *error = failure;
  return failure.empty();
}

std::string PgServer::LogTail(size_t max_bytes) const {
  return ReadTail(fs::path(dir_) / "postgres.log", max_bytes);
}

}  // namespace citybooks_test
