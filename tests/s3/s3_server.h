// S3Server: an S3-compatible server for tests — the npm package s3rver behind
// the front in s3_server.js, which verifies SigV4 signatures and payload
// hashes, keeps writes atomic, implements AbortMultipartUpload and pages
// ListObjectsV2 in key order (see there). It listens on 127.0.0.1 at a port
// picked at start, keeps its buckets in a temporary folder, logs every
// request and injects faults on demand. The destructor stops it and removes
// the folder. Needs Node.js and `npm ci` (`make deps`); without them Start()
// fails with a message saying so.
//
//   auto started = S3Server::Start();
//   ASSERT_TRUE(started) << started.error();
//   S3Server& s3 = **started;
//   // endpoint http://127.0.0.1:PORT, credentials S3RVER / S3RVER
//   ASSERT_TRUE(s3.FailNext(503, 2, "PUT "));  // the next two PUTs get 503 SlowDown
//   EXPECT_EQ(s3.CountRequests("partNumber="), 4u);
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <expected>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace citybooks::s3test {

class S3Server {
 public:
  static constexpr char kAccessKeyId[] = "S3RVER";
  static constexpr char kSecretAccessKey[] = "S3RVER";

  // Starts a server and waits until it answers. The error says what is
  // missing (node, the s3rver package) or shows the server's own output.
  static std::expected<std::unique_ptr<S3Server>, std::string> Start();

  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  // s3rver's data: one folder per bucket.
  std::filesystem::path data_dir() const { return folder_ / "data"; }

  // Every request answered (or refused) so far, oldest first, one line each:
  // "METHOD URL STATUS", "METHOD URL STATUS injected", "HELD METHOD URL".
  std::vector<std::string> Requests() const;
  // How many of those lines contain `needle`.
  size_t CountRequests(std::string_view needle) const;
  [[nodiscard]] bool ClearRequests() const;

  // The next `times` requests whose "METHOD URL" contains `match` get HTTP
  // `status` with an S3 error body (503 SlowDown, 500 InternalError, 429).
  [[nodiscard]] bool FailNext(int status, int times, std::string_view match = {}) const;
  // ... get their connection closed without an answer.
  [[nodiscard]] bool ResetNext(int times, std::string_view match = {}) const;
  // Requests matching `match` after the first `passed` are never answered
  // (each is logged "HELD ..."), so a test can stop a client mid-upload.
  [[nodiscard]] bool HoldAfter(int passed, std::string_view match) const;
  // Drops every rule above.
  [[nodiscard]] bool ClearFaults() const;

  // Waits until a logged request line contains `needle`; false after `limit`.
  bool WaitForRequest(std::string_view needle, std::chrono::seconds limit) const;

  // Upload ids of the multipart uploads of `bucket` neither completed nor
  // aborted.
  std::vector<std::string> PendingUploads(const std::string& bucket) const;

 private:
  S3Server(pid_t pid, int port, std::filesystem::path folder)
      : pid_(pid), port_(port), folder_(std::move(folder)) {}
  bool Control(const std::string& path_and_query) const;

  pid_t pid_;
  int port_;
  std::filesystem::path folder_;
};

// The server this test process shares, started at the first call and
// stopped at exit; the error of the one start attempt otherwise.
std::expected<S3Server*, std::string> SharedS3Server();

}  // namespace citybooks::s3test
