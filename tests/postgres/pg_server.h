// A throwaway PostgreSQL cluster for tests: initdb into a fresh temporary
// folder, postgres listening on 127.0.0.1 at a port free at run time with
// trust authentication, stopped and removed (folder and all) on destruction.
// Runs the server as the `postgres` user when the test runs as root, since
// PostgreSQL refuses to run as root. The server also goes down when the
// thread that started it ends (start it from the main thread), so a test
// process that crashes leaves no server behind.
//
//   std::string error;
//   auto server = citybooks_test::PgServer::Start(&error);
//   ASSERT_TRUE(server) << error;
//   ASSERT_TRUE(server->CreateDatabase("city", &error)) << error;
//   std::string url = server->Url("city");  // postgresql://cb_superuser@127.0.0.1:PORT/city
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace citybooks_test {

class PgServer {
 public:
  // The superuser initdb creates; trust authentication lets anyone connect
  // as any role from 127.0.0.1.
  static constexpr char kSuperuser[] = "cb_superuser";

  // Starts a cluster. Returns nullptr and sets *error to a sentence saying
  // what is missing (the PostgreSQL binaries, the postgres user) or what
  // failed, with the end of the server's log.
  static std::unique_ptr<PgServer> Start(std::string* error);

  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  // postgresql://USER@127.0.0.1:PORT/DATABASE
  std::string Url(const std::string& database, const std::string& user = kSuperuser) const;

  // Runs `sql` (one or more statements) in `database` as the superuser and
  // returns the rows of the last statement as text ("" for NULL). On
  // failure returns no rows and sets *error (when given) to the server's
  // message.
  std::vector<std::vector<std::string>> Sql(const std::string& database, const std::string& sql,
                                            std::string* error = nullptr) const;
  // The first column of the first row of Sql(), or "" when there is none.
  std::string SqlValue(const std::string& database, const std::string& sql,
                       std::string* error = nullptr) const;

  // Creates the empty database `name` (owned by `owner` when not empty),
  // dropping one of that name first; false and *error on failure.
  bool CreateDatabase(const std::string& name, std::string* error, const std::string& owner = "");
  // Drops `name` even while clients are connected to it; missing is fine.
  bool DropDatabase(const std::string& name, std::string* error);

  // The server's log file, for failure messages.
  std::string LogTail(size_t max_bytes = 4000) const;

 private:
  PgServer() = default;
  void Stop();

  std::string dir_;  // the temporary folder: data/, the socket, the logs
  std::string bin_;  // folder of initdb and postgres
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace citybooks_test
