// Support for the `citybooks serve` tests: the real binary started in the
// background (stdout and stderr to files, the port it picked read from its
// first line), stopped with SIGTERM when the test ends, and a small HTTP
// client for its API on 127.0.0.1.
//
//   ServeProcess server;
//   ASSERT_TRUE(server.Start(workspace.ServeArgs({"serve", "--port", "0"}), workspace.dir()));
//   HttpReply reply = server.Get("/api/datasets");
//   EXPECT_EQ(reply.status, 200) << reply.body;
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "e2e_support.h"

namespace citybooks_e2e {

struct HttpReply {
  int status = 0;  // 0: no answer (connection failed)
  std::string body;
  std::string content_type;
  std::string content_disposition;
  nlohmann::json Json() const;  // the body parsed; a failure (and null) if it is not JSON
};

class ServeProcess {
 public:
  ServeProcess() = default;
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Starts `argv` in `dir` with `env` added. With `wait_until_serving`,
  // returns once the server printed its URL and answers /healthz (false,
  // with a test failure, if it did not within 120 s).
  bool Start(const std::vector<std::string>& argv, const fs::path& dir,
             const std::vector<std::pair<std::string, std::string>>& env = {},
             bool wait_until_serving = true);
  // Polls `condition` every 50 ms for up to `timeout`; true once it held.
  static bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds timeout);
  // SIGTERM, then waits (SIGKILL after 60 s). Returns how it ended.
  ProcessResult Stop();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  std::string Stdout() const;
  std::string Stderr() const;

  HttpReply Get(const std::string& target,
                const std::vector<std::pair<std::string, std::string>>& headers = {}) const;
  HttpReply Post(const std::string& target, const std::string& body,
                 const std::string& content_type) const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  fs::path out_, err_;
  std::string command_;
};

// `text` percent-encoded for a query string (everything but unreserved
// characters).
std::string UrlEncode(const std::string& text);

// A digest of every table of every SQLite file in `dir` (opened
// read-only): equal digests mean nothing was written.
std::map<std::string, std::vector<std::string>> WarehouseDump(const fs::path& dir);

}  // namespace citybooks_e2e
