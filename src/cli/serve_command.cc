// `citybooks serve`: the dashboard, JSON API and read-only SQL over HTTP until
// SIGINT or SIGTERM, optionally running the pipeline every DURATION in the
// background.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "common/log.h"
#include "serve/api.h"
#include "serve/server.h"
#include "serve/warehouse_pool.h"
#include "warehouse/warehouse.h"

namespace citybooks {

namespace {

// Blocks SIGINT and SIGTERM in this thread and every thread it starts from
// now on, so one thread can wait for them with sigwait(); restores the mask
// on destruction.
class SignalMask {
 public:
  SignalMask() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  }
  ~SignalMask() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  SignalMask(const SignalMask&) = delete;
  SignalMask& operator=(const SignalMask&) = delete;
  const sigset_t& set() const { return set_; }

 private:
  sigset_t set_;
  sigset_t previous_;
};

}  // namespace

Status RunServe(const GlobalOptions& global, const ServeOptions& options) {
  if (options.port < 0 || options.port > 65535)
    return Fail(ErrorCode::kInvalidArgument,
                "--port " + std::to_string(options.port) +
                    " is not a port; use 1 to 65535, or 0 for any free port");
  std::optional<std::chrono::seconds> period;
  if (!options.every.empty()) {
    CB_ASSIGN_OR_RETURN(period, ParseDuration(options.every));
  }
  CB_ASSIGN_OR_RETURN(Config config, ReadConfig(global));
  const std::string warehouse_url = config.warehouse_url;
  WarehousePool pool([warehouse_url]() {
    WarehouseOptions read_only;
    read_only.read_only = true;
    return OpenWarehouse(warehouse_url, read_only);
  });
  // Fail early on a warehouse that cannot be opened at all; a missing one is
  // fine (nothing loaded yet: `--every` or a later `load` fills it).
  {
    auto first = pool.Acquire();
    if (!first && first.error().code() != ErrorCode::kNotFound) return Fail(first.error());
    if (!first) LogWarning(first.error().message() + "; serving an empty warehouse until then");
  }
  CB_ASSIGN_OR_RETURN(std::unique_ptr<Api> api, Api::Make(config, &pool));

  ServerOptions server_options;
  server_options.bind = options.bind;
  server_options.port = options.port;
  if (auto token = ProcessEnvironment()("CITYBOOKS_SERVE_TOKEN"); token && !token->empty())
    server_options.token = *token;

  SignalMask mask;  // before any thread starts
  CB_ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::Make(api.get(), server_options));
  CB_ASSIGN_OR_RETURN(int port, server->Bind());

  if (!IsLoopbackAddress(options.bind) && server_options.token.empty()) {
    LogWarning("**************************************************************************");
    LogWarning("serve is listening on " + options.bind + ":" + std::to_string(port) +
               " WITHOUT A TOKEN: anyone who can reach it can read every dataset and run SQL "
               "against the warehouse.");
    LogWarning(
        "Set CITYBOOKS_SERVE_TOKEN to require \"Authorization: Bearer <token>\", or "
        "bind 127.0.0.1.");
    LogWarning("**************************************************************************");
  }
  std::string host =
      options.bind.find(':') != std::string::npos ? "[" + options.bind + "]" : options.bind;
  if (options.bind == "0.0.0.0" || options.bind == "::") host = "127.0.0.1";
  std::string datasets;
  for (const Cube& cube : api->cubes()) datasets += (datasets.empty() ? "" : ", ") + cube.dataset();
  std::cout << "citybooks serve: dashboard at http://" << host << ":" << port << "/\n"
            << "  JSON API at http://" << host << ":" << port << "/api/datasets"
            << (server_options.token.empty() ? "" : " (bearer token required)") << "\n"
            << "  datasets " << (datasets.empty() ? "(none)" : datasets) << " from "
            << config.warehouse_url << " (read-only)\n"
            << "  Ctrl-C stops" << std::endl;

  std::atomic<bool> stopping{false};
  std::mutex every_mutex;
  std::condition_variable every_wake;
  auto stop = [&] {
    {
      std::lock_guard<std::mutex> lock(every_mutex);
      stopping = true;
    }
    every_wake.notify_all();
    server->Stop();
  };
  std::thread signals([&] {
    int signal_number = 0;
    sigwait(&mask.set(), &signal_number);
    stop();
  });
  std::thread every;
  if (period) {
    every = std::thread([&] {
      std::unique_lock<std::mutex> lock(every_mutex);
      while (!stopping) {
        lock.unlock();
        std::cout << "citybooks serve: running the pipeline (every " << options.every << ")"
                  << std::endl;
        Status status = RunRun(global, {}, "");
        if (!status) LogError(status.error().message() + "; next cycle in " + options.every);
        std::cout.flush();
        pool.Refresh();  // the answers see what the cycle loaded
        lock.lock();
        every_wake.wait_for(lock, *period, [&] { return stopping.load(); });
      }
    });
  }

  Status status = server->Run();
  if (!stopping) {
    // The server ended by itself: wake the signal thread so it can end too.
    pthread_kill(signals.native_handle(), SIGTERM);
  }
  signals.join();
  if (every.joinable()) {
    LogInfo("stopping: waiting for the pipeline cycle in progress, if any");
    every.join();
  }
  LogInfo("stopped serving");
  return status;
}

}  // namespace citybooks
