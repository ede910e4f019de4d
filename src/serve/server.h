// The HTTP server of `citybooks serve` (cpp-httplib): routes SPEC's "Serve"
// endpoints to the Api, writes JSON or RFC 4180 CSV, serves the embedded
// dashboard, checks the optional bearer token, and counts every request for
// /metrics. A pool of worker threads answers; each request leases its own
// read-only warehouse connection.
//
//   CB_ASSIGN_OR_RETURN(auto server, Server::Make(api.get(), options));
//   CB_ASSIGN_OR_RETURN(int port, server->Bind());
//   std::thread stopper([&] { wait_for_signal(); server->Stop(); });
//   CB_RETURN_IF_ERROR(server->Run());  // returns once stopped
#pragma once

#include <memory>
#include <string>

#include "common/error.h"
#include "serve/api.h"

namespace citybooks {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0: any free port (Bind() returns it)
  // Non-empty: every /api request and /metrics needs "Authorization: Bearer
  // <token>" (401 otherwise); /healthz and the dashboard files stay open.
  std::string token;
  // Worker threads. A keep-alive connection holds one while it lasts, so
  // this bounds the concurrent connections served without queueing.
  int threads = 32;
};

class Server {
 public:
  // `api` must outlive the server.
  static Result<std::unique_ptr<Server>> Make(Api* api, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the address and port; returns the port bound. kUnavailable when
  // the address is in use or cannot be bound.
  Result<int> Bind();
  // Answers requests until Stop() is called; returns once the workers have
  // finished.
  Status Run();
  // Thread-safe; Run() returns soon after.
  void Stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True for addresses only this machine can reach (127.0.0.0/8, ::1,
// localhost).
bool IsLoopbackAddress(const std::string& address);

}  // namespace citybooks
