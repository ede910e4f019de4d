// HttpClient against real servers on 127.0.0.1: cpp-httplib for ordinary
// answers and faults counted per request, and a raw socket server for what
// httplib cannot do (a body cut short, a reset). Waits between attempts are
// recorded, not slept, so the suite runs in a few seconds.
#include "net/http_client.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace citybooks {
namespace {

using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A few hundred KB of CSV that compresses like real data (not to nothing).
std::string SampleCsv() {
  std::string csv = "fiscal_year,department,program,amount\n";
  for (int i = 0; i < 6000; ++i) {
    csv += std::to_string(1999 + i % 25) + ",Department " + std::to_string(i % 53) + ",Program " +
           std::to_string(i * 7919 % 1013) + "," + std::to_string(i * 104729 % 99991) + "." +
           std::to_string(i % 100) + "\n";
  }
  return csv;
}

// window_bits: 15 + 16 gzip, 15 zlib ("deflate" as HTTP means it), -15 raw.
std::string Compress(std::string_view text, int window_bits) {
  z_stream stream{};
  EXPECT_EQ(
      deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  std::string out(deflateBound(&stream, text.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string Gzip(std::string_view text) { return Compress(text, 15 + 16); }

// Options for tests: short timeouts, and waits recorded in `waits` instead of
// slept.
HttpOptions TestOptions(std::shared_ptr<std::vector<milliseconds>> waits) {
  HttpOptions options;
  options.connect_timeout = milliseconds{2000};
  options.read_timeout = milliseconds{3000};
  options.total_timeout = milliseconds{30'000};
  options.max_attempts = 6;
  options.initial_backoff = milliseconds{100};
  options.max_backoff = milliseconds{1000};
  options.sleep = [waits](milliseconds wait) { waits->push_back(wait); };
  return options;
}

std::unique_ptr<HttpClient> MakeClient(const HttpOptions& options) {
  Result<std::unique_ptr<HttpClient>> client = MakeCurlHttpClient(options);
  EXPECT_TRUE(client.has_value()) << (client ? "" : client.error().message());
  return client ? std::move(*client) : nullptr;
}

// A cpp-httplib server on 127.0.0.1 at a port the kernel picks. Register
// handlers on server(), then Start().
class TestServer {
 public:
  TestServer() = default;
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  httplib::Server& server() { return server_; }

  void Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() only works once the accept loop runs.
    for (int i = 0; i < 2000 && !server_.is_running(); ++i)
      std::this_thread::sleep_for(milliseconds{1});
    ASSERT_TRUE(server_.is_running());
  }

  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// Reads one request head (up to the blank line); "" when the peer closed.
std::string ReadRequestHead(int fd) {
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    pollfd ready{fd, POLLIN, 0};
    if (poll(&ready, 1, 3000) <= 0) return "";
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return "";
    head.append(buffer, static_cast<size_t>(n));
  }
  return head;
}

void SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// Ends the connection with a TCP reset instead of an orderly close.
void ResetOnClose(int fd) {
  linger hard{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
}

// A bare TCP server on 127.0.0.1: accepts connections one after another and
// hands each to `serve` with its index (0 for the first), then closes it.
class RawServer {
 public:
  explicit RawServer(std::function<void(int fd, int index)> serve) : serve_(std::move(serve)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(listen(listen_fd_, 16), 0);
    socklen_t length = sizeof address;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;
  ~RawServer() {
    stop_ = true;
    thread_.join();
    close(listen_fd_);
  }

  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  int connections() const { return connections_; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd ready{listen_fd_, POLLIN, 0};
      if (poll(&ready, 1, 20) <= 0) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      serve_(fd, connections_++);
      close(fd);
    }
  }

  std::function<void(int, int)> serve_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Answers one request on `fd` with a 200 that promises `content_length`
// bytes and sends `body` (which may be shorter).
void AnswerOnce(int fd, std::string_view body, size_t content_length) {
  if (ReadRequestHead(fd).empty()) return;
  SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: " +
                  std::to_string(content_length) + "\r\n\r\n");
  SendAll(fd, body);
}

// A port nothing listens on: bound, then released.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// Keeps what it is given; Restart() forgets it, as a real sink must.
class RecordingSink : public BodySink {
 public:
  Status Restart() override {
    ++restarts;
    discarded_bytes += content.size();
    content.clear();
    return Ok();
  }
  Status Write(std::string_view bytes) override {
    if (fail_writes) return Fail(ErrorCode::kIoError, "cannot write body.part: disk full");
    content.append(bytes);
    return Ok();
  }

  std::string content;
  int restarts = 0;
  size_t discarded_bytes = 0;
  bool fail_writes = false;
};

class HttpClientTest : public ::testing::Test {
 protected:
  std::shared_ptr<std::vector<milliseconds>> waits_ = std::make_shared<std::vector<milliseconds>>();
  HttpOptions options_ = TestOptions(waits_);
};

TEST_F(HttpClientTest, ReturnsBodyAndLowerCaseHeadersSendingRequestHeaders) {
  std::string token_seen, encoding_seen, agent_seen;
  TestServer server;
  server.server().Get("/resource/bpnb-jwfb.csv",
                      [&](const httplib::Request& req, httplib::Response& res) {
                        token_seen = req.get_header_value("X-App-Token");
                        encoding_seen = req.get_header_value("Accept-Encoding");
                        agent_seen = req.get_header_value("User-Agent");
                        res.set_header("ETag", "\"abc123\"");
                        res.set_header("X-SODA2-Fields", "[\"fiscal_year\"]");
                        res.set_content("fiscal_year\n2023\n", "text/csv");
                      });
  server.Start();
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch(
      {.url = server.Url("/resource/bpnb-jwfb.csv"), .headers = {{"X-App-Token", "tok-1"}}});

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "fiscal_year\n2023\n");
  EXPECT_EQ(response->attempts, 1);
  EXPECT_EQ(response->Header("etag"), "\"abc123\"");
  EXPECT_EQ(response->Header("X-Soda2-Fields"), "[\"fiscal_year\"]");
  for (const auto& [name, value] : response->headers) {
    for (char c : name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
  }
  EXPECT_EQ(token_seen, "tok-1");
  EXPECT_THAT(encoding_seen, HasSubstr("gzip"));
  EXPECT_EQ(agent_seen, "citybooks/0.1");
  EXPECT_TRUE(waits_->empty());
}

TEST_F(HttpClientTest, RetriesAfter429HonoringRetryAfter) {
  std::atomic<int> calls{0};
  TestServer server;
  server.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    if (calls++ == 0) {
      res.status = 429;
      res.set_header("Retry-After", "7");
      res.set_content("slow down", "text/plain");
      return;
    }
    res.set_content("ok", "text/plain");
  });
  server.Start();
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x")});

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(response->attempts, 2);
  EXPECT_THAT(*waits_, ElementsAre(milliseconds{7000}));
}

TEST_F(HttpClientTest, RetriesAfter500WithJitteredBackoff) {
  std::atomic<int> calls{0};
  TestServer server;
  server.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    if (calls++ == 0) {
      res.status = 500;
      return;
    }
    res.set_content("ok", "text/plain");
  });
  server.Start();
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x")});

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->attempts, 2);
  ASSERT_EQ(waits_->size(), 1u);
  EXPECT_LT(waits_->at(0), options_.initial_backoff);  // full jitter below the first bound
}

TEST_F(HttpClientTest, RetriesWhile202SaysNotReady) {
  std::atomic<int> calls{0};
  TestServer server;
  server.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    if (calls++ < 2) {
      res.status = 202;
      return;
    }
    res.set_content("[{\"count\":\"42\"}]", "application/json");
  });
  server.Start();
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x")});

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "[{\"count\":\"42\"}]");
  EXPECT_EQ(response->attempts, 3);
  ASSERT_EQ(waits_->size(), 2u);
  EXPECT_LT(waits_->at(1), 2 * options_.initial_backoff);
}

TEST_F(HttpClientTest, Persistent503FailsAfterMaxAttemptsNamingUrlAndCause) {
  std::atomic<int> calls{0};
  TestServer server;
  server.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 503;
  });
  server.Start();
  options_.max_attempts = 4;
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x")});

  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(response.error().message(),
            "GET " + server.Url("/x") + " failed after 4 attempts: HTTP 503 Service Unavailable");
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(waits_->size(), 3u);
}

TEST_F(HttpClientTest, Returns404ToTheCallerWithoutRetrying) {
  std::atomic<int> calls{0};
  TestServer server;
  server.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 404;
    res.set_content("no such dataset", "text/plain");
  });
  server.Start();
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x")});

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->body, "no such dataset");
  EXPECT_EQ(response->attempts, 1);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(waits_->empty());
}

TEST_F(HttpClientTest, BodyCutShortByCloseOrResetIsRetriedNeverShort) {
  const std::string full(1000, 'x');
  RawServer server([&](int fd, int index) {
    if (index == 0) {
      AnswerOnce(fd, full.substr(0, 100), full.size());  // orderly close mid-body
    } else if (index == 1) {
      AnswerOnce(fd, full.substr(0, 300), full.size());
      ResetOnClose(fd);  // reset mid-body
    } else {
      AnswerOnce(fd, full, full.size());
    }
  });
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x.csv")});

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->body, full);
  EXPECT_EQ(response->attempts, 3);
  EXPECT_EQ(server.connections(), 3);
}

TEST_F(HttpClientTest, BodyAlwaysShorterThanContentLengthFailsWithCause) {
  RawServer server([](int fd, int) { AnswerOnce(fd, std::string(100, 'x'), 1000); });
  options_.max_attempts = 3;
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x.csv")});

  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(response.error().message(),
            "GET " + server.Url("/x.csv") +
                " failed after 3 attempts: the connection closed before the whole body arrived "
                "(100 of 1000 bytes)");
}

TEST_F(HttpClientTest, RetriesAfterReadTimeout) {
  std::atomic<int> calls{0};
  std::atomic<bool> release{false};
  TestServer server;
  server.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    if (calls++ == 0) {
      // Silent far beyond the read timeout (until the test ends).
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds{8};
      while (!release && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(milliseconds{10});
    }
    res.set_content("ok", "text/plain");
  });
  server.Start();
  options_.read_timeout = milliseconds{1000};
  auto client = MakeClient(options_);

  auto started = std::chrono::steady_clock::now();
  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x")});
  auto took = std::chrono::steady_clock::now() - started;
  release = true;

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(response->attempts, 2);
  EXPECT_LT(took, std::chrono::seconds{4});
}

TEST_F(HttpClientTest, TotalTimeoutCutsAStalledAttempt) {
  std::atomic<bool> release{false};
  TestServer server;
  server.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds{8};
    while (!release && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(milliseconds{10});
    res.set_content("too late", "text/plain");
  });
  server.Start();
  options_.read_timeout = milliseconds{60'000};
  options_.total_timeout = milliseconds{1500};
  auto client = MakeClient(options_);

  auto started = std::chrono::steady_clock::now();
  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x")});
  auto took = std::chrono::steady_clock::now() - started;
  release = true;

  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(response.error().message(), "GET " + server.Url("/x") +
                                            " failed after 1 attempt: the total timeout of "
                                            "1.5 s ran out");
  EXPECT_LT(took, std::chrono::milliseconds{3000});
}

TEST_F(HttpClientTest, DecodesGzipBody) {
  const std::string csv = SampleCsv();
  const std::string gzipped = Gzip(csv);
  ASSERT_LT(gzipped.size(), csv.size() / 3);
  TestServer server;
  server.server().Get("/x.csv", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Encoding", "gzip");
    res.set_content(gzipped, "application/octet-stream");
  });
  server.Start();
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x.csv")});

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->body.size(), csv.size());
  EXPECT_TRUE(response->body == csv);
  EXPECT_EQ(response->Header("content-encoding"), "gzip");
}

TEST_F(HttpClientTest, DecodesDeflateBodiesWithAndWithoutZlibHeader) {
  const std::string csv = SampleCsv();
  TestServer server;
  server.server().Get("/zlib", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Encoding", "deflate");
    res.set_content(Compress(csv, 15), "application/octet-stream");
  });
  server.server().Get("/raw", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Encoding", "deflate");
    res.set_content(Compress(csv, -15), "application/octet-stream");
  });
  server.server().Get("/members", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Encoding", "gzip");
    res.set_content(Gzip("first,member\n") + Gzip("second,member\n"), "application/octet-stream");
  });
  server.Start();
  auto client = MakeClient(options_);

  for (const char* path : {"/zlib", "/raw"}) {
    Result<HttpResponse> response = client->Fetch({.url = server.Url(path)});
    ASSERT_TRUE(response.has_value()) << response.error().message();
    EXPECT_TRUE(response->body == csv) << path;
  }
  Result<HttpResponse> members = client->Fetch({.url = server.Url("/members")});
  ASSERT_TRUE(members.has_value()) << members.error().message();
  EXPECT_EQ(members->body, "first,member\nsecond,member\n");
}

TEST_F(HttpClientTest, TruncatedGzipBodyFailsAfterRetriesNamingTheCause) {
  const std::string gzipped = Gzip(SampleCsv());
  std::atomic<int> calls{0};
  TestServer server;
  server.server().Get("/x.csv", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    // The Content-Length matches what is sent: only the gzip stream shows
    // that the file was cut.
    res.set_header("Content-Encoding", "gzip");
    res.set_content(gzipped.substr(0, gzipped.size() / 2), "application/octet-stream");
  });
  server.Start();
  options_.max_attempts = 3;
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x.csv")});

  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(
      response.error().message(),
      "GET " + server.Url("/x.csv") + " failed after 3 attempts: the gzip body was truncated");
  EXPECT_EQ(calls, 3);
}

TEST_F(HttpClientTest, CorruptGzipBodyIsRetried) {
  std::string gzipped = Gzip(SampleCsv());
  std::string corrupt = gzipped;
  for (size_t i = 20; i < 80; ++i) corrupt[i] = static_cast<char>(0xff);
  std::atomic<int> calls{0};
  TestServer server;
  server.server().Get("/x.csv", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Encoding", "gzip");
    res.set_content(calls++ == 0 ? corrupt : gzipped, "application/octet-stream");
  });
  server.Start();
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x.csv")});

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->attempts, 2);
  EXPECT_TRUE(response->body == SampleCsv());
}

TEST_F(HttpClientTest, ServerDownFailsUnavailableNamingTheUrl) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/resource/x.csv";
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = url});

  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(response.error().message(),
            "GET " + url + " failed after 3 attempts: connection refused");
  EXPECT_EQ(waits_->size(), 2u);
}

TEST_F(HttpClientTest, TotalTimeoutBoundsAttemptsAndWaits) {
  std::atomic<int> calls{0};
  TestServer server;
  server.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 503;
    res.set_header("Retry-After", "2");
  });
  server.Start();
  options_.max_attempts = 10;
  options_.total_timeout = milliseconds{5000};
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x")});

  // Attempt, 2 s, attempt, 2 s, attempt: a third wait would end past 5 s.
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(response.error().message(),
              AllOf(HasSubstr("GET " + server.Url("/x") + " failed after 3 attempts: HTTP 503"),
                    HasSubstr("total timeout of 5 s")));
  EXPECT_EQ(calls, 3);
  EXPECT_THAT(*waits_, ElementsAre(milliseconds{2000}, milliseconds{2000}));
}

TEST_F(HttpClientTest, RetryAfterBeyondTotalTimeoutFailsWithoutWaiting) {
  TestServer server;
  server.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "3600");
  });
  server.Start();
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x")});

  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().message(),
            "GET " + server.Url("/x") +
                " failed after 1 attempt: HTTP 429 Too Many Requests (waiting 3600 s more would "
                "pass the total timeout of 30 s)");
  EXPECT_TRUE(waits_->empty());
}

TEST_F(HttpClientTest, BodySinkReceivesBodyAndRestartDiscardsPartialAttempt) {
  const std::string partial(400, 'a');
  const std::string full(1000, 'b');
  RawServer server([&](int fd, int index) {
    if (index == 0) {
      AnswerOnce(fd, partial, full.size());
    } else {
      AnswerOnce(fd, full, full.size());
    }
  });
  auto client = MakeClient(options_);
  RecordingSink sink;

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x.csv")}, &sink);

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->attempts, 2);
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(sink.content, full);
  EXPECT_EQ(sink.restarts, 2);
  EXPECT_EQ(sink.discarded_bytes, partial.size());
}

TEST_F(HttpClientTest, BodySinkFailureStopsAtOnceWithItsError) {
  std::atomic<int> calls{0};
  TestServer server;
  server.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.set_content("some,data\n", "text/csv");
  });
  server.Start();
  auto client = MakeClient(options_);
  RecordingSink sink;
  sink.fail_writes = true;

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/x")}, &sink);

  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), ErrorCode::kIoError);
  EXPECT_THAT(response.error().message(),
              AllOf(HasSubstr("GET " + server.Url("/x")), HasSubstr("disk full")));
  EXPECT_EQ(calls, 1);
}

TEST_F(HttpClientTest, ReusesOneConnectionForSequentialRequests) {
  std::mutex mutex;
  std::set<int> client_ports;
  TestServer server;
  server.server().Get(R"(/page/(\d+))", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard lock(mutex);
      client_ports.insert(req.remote_port);
    }
    res.set_content("page " + req.matches[1].str(), "text/plain");
  });
  server.Start();
  auto client = MakeClient(options_);

  for (int page = 1; page <= 3; ++page) {
    Result<HttpResponse> response =
        client->Fetch({.url = server.Url("/page/" + std::to_string(page))});
    ASSERT_TRUE(response.has_value()) << response.error().message();
    EXPECT_EQ(response->body, "page " + std::to_string(page));
  }

  std::lock_guard lock(mutex);
  EXPECT_EQ(client_ports.size(), 1u) << "each request opened a new connection";
}

TEST_F(HttpClientTest, FollowsRedirectsKeepingOnlyTheLastResponseHeaders) {
  TestServer server;
  server.server().Get("/old", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Hop", "old");
    res.set_content("moved", "text/plain");
    res.set_redirect("/new");
  });
  server.server().Get("/new", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Hop", "new");
    res.set_content("here", "text/plain");
  });
  server.Start();
  auto client = MakeClient(options_);
  RecordingSink sink;

  Result<HttpResponse> response = client->Fetch({.url = server.Url("/old")});
  Result<HttpResponse> sunk = client->Fetch({.url = server.Url("/old")}, &sink);

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "here");
  EXPECT_EQ(response->Header("x-hop"), "new");
  EXPECT_EQ(response->Header("location"), "");
  ASSERT_TRUE(sunk.has_value()) << sunk.error().message();
  EXPECT_EQ(sink.content, "here");
}

TEST_F(HttpClientTest, SendsMethodHeadersAndBody) {
  TestServer server;
  server.server().Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.method + " " + req.get_header_value("If-None-Match") + " " + req.body,
                    "text/plain");
  });
  server.Start();
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.method = "POST",
                                                 .url = server.Url("/echo"),
                                                 .headers = {{"If-None-Match", "\"e1\""}},
                                                 .body = "q=1"});

  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->body, "POST \"e1\" q=1");
}

TEST_F(HttpClientTest, HeadAndEmptyPutSendNoBodyButAContentLength) {
  std::string put_length;
  TestServer server;
  server.server().Get("/x", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("ETag", "\"v2\"");
    res.set_content("a body HEAD must not wait for", "text/plain");
  });
  server.server().Put("/object", [&](const httplib::Request& req, httplib::Response& res) {
    put_length = req.get_header_value("Content-Length");
    res.status = 200;
  });
  server.Start();
  auto client = MakeClient(options_);

  Result<HttpResponse> head = client->Fetch({.method = "HEAD", .url = server.Url("/x")});
  Result<HttpResponse> put = client->Fetch({.method = "PUT", .url = server.Url("/object")});

  ASSERT_TRUE(head.has_value()) << head.error().message();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("etag"), "\"v2\"");
  EXPECT_EQ(head->body, "");
  ASSERT_TRUE(put.has_value()) << put.error().message();
  EXPECT_EQ(put->status, 200);
  EXPECT_EQ(put_length, "0");
}

TEST_F(HttpClientTest, SecondConcurrentFetchOnOneClientIsRefused) {
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  TestServer server;
  server.server().Get("/x", [&](const httplib::Request&, httplib::Response& res) {
    entered = true;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds{5};
    while (!release && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(milliseconds{5});
    res.set_content("ok", "text/plain");
  });
  server.Start();
  auto client = MakeClient(options_);

  std::optional<Result<HttpResponse>> first;
  std::thread fetching([&] { first = client->Fetch({.url = server.Url("/x")}); });
  while (!entered) std::this_thread::sleep_for(milliseconds{1});
  Result<HttpResponse> second = client->Fetch({.url = server.Url("/x")});
  release = true;
  fetching.join();

  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::kInternal);
  EXPECT_THAT(second.error().message(), HasSubstr("one client per thread"));
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_EQ((*first)->body, "ok");
}

TEST_F(HttpClientTest, ErrorsNeverShowRequestHeaderValues) {
  TestServer server;
  server.server().Get("/x",
                      [](const httplib::Request&, httplib::Response& res) { res.status = 500; });
  server.Start();
  options_.max_attempts = 2;
  auto client = MakeClient(options_);

  Result<HttpResponse> failed =
      client->Fetch({.url = server.Url("/x"), .headers = {{"X-App-Token", "s3cr3t-token"}}});
  Result<HttpResponse> refused =
      client->Fetch({.url = server.Url("/x"), .headers = {{"X-App-Token", "s3cr3t\r\nX-Evil: 1"}}});

  ASSERT_FALSE(failed.has_value());
  EXPECT_THAT(failed.error().message(), Not(HasSubstr("s3cr3t")));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(refused.error().message(), AllOf(HasSubstr("X-App-Token"), Not(HasSubstr("s3cr3t"))));
}

TEST_F(HttpClientTest, MalformedOrNonHttpUrlIsInvalidArgument) {
  auto client = MakeClient(options_);

  for (std::string url :
       {"", "http://[127.0.0.1/x", "ftp://127.0.0.1/x.csv", "127.0.0.1/x", "http://a b/"}) {
    Result<HttpResponse> response = client->Fetch({.url = url});
    ASSERT_FALSE(response.has_value()) << url;
    EXPECT_EQ(response.error().code(), ErrorCode::kInvalidArgument)
        << url << ": " << response.error().message();
    EXPECT_THAT(response.error().message(), HasSubstr("GET " + url)) << url;
  }
  EXPECT_TRUE(waits_->empty());
}

TEST_F(HttpClientTest, PasswordInUrlIsNotShown) {
  const std::string url = "http://user:hunter2@127.0.0.1:" + std::to_string(ClosedPort()) + "/x";
  options_.max_attempts = 1;
  auto client = MakeClient(options_);

  Result<HttpResponse> response = client->Fetch({.url = url});

  ASSERT_FALSE(response.has_value());
  EXPECT_THAT(response.error().message(),
              AllOf(HasSubstr("GET http://***@127.0.0.1:"), Not(HasSubstr("hunter2"))));
}

TEST(HttpResponse, HeaderLookupIgnoresCase) {
  HttpResponse response;
  response.headers = {{"etag", "\"v1\""}, {"content-type", "text/csv"}};

  EXPECT_EQ(response.Header("ETag"), "\"v1\"");
  EXPECT_EQ(response.Header("content-type"), "text/csv");
  EXPECT_EQ(response.Header("Last-Modified"), "");
}

HttpOptions BackoffOptions() {
  HttpOptions options;
  options.initial_backoff = milliseconds{500};
  options.max_backoff = milliseconds{30'000};
  return options;
}

TEST(RetryDelay, HonorsRetryAfterSeconds) {
  HttpOptions options = BackoffOptions();
  EXPECT_EQ(RetryDelay(options, 1, "7", 0.9), milliseconds{7000});
  EXPECT_EQ(RetryDelay(options, 3, " 120 ", 0.0), milliseconds{120'000});
  EXPECT_EQ(RetryDelay(options, 1, "0", 0.5), milliseconds{0});
  // The server's wish wins over max_backoff; the total timeout judges it.
  EXPECT_EQ(RetryDelay(options, 1, "90", 0.5), milliseconds{90'000});
}

TEST(RetryDelay, HonorsRetryAfterHttpDate) {
  HttpOptions options = BackoffOptions();
  std::time_t in_90_seconds = std::time(nullptr) + 90;
  std::tm utc{};
  gmtime_r(&in_90_seconds, &utc);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &utc);

  milliseconds delay = RetryDelay(options, 1, date, 0.5);

  EXPECT_GE(delay, milliseconds{88'000}) << date;
  EXPECT_LE(delay, milliseconds{90'000}) << date;
}

TEST(RetryDelay, HttpDateInThePastMeansRetryNow) {
  EXPECT_EQ(RetryDelay(BackoffOptions(), 1, "Wed, 21 Oct 2015 07:28:00 GMT", 0.5), milliseconds{0});
}

TEST(RetryDelay, FullJitterStaysBelowTheExponentialBound) {
  HttpOptions options = BackoffOptions();
  // Retry 1 waits below 500 ms, retry 2 below 1 s, retry 3 below 2 s.
  EXPECT_EQ(RetryDelay(options, 1, "", 0.0), milliseconds{0});
  EXPECT_EQ(RetryDelay(options, 1, "", 0.5), milliseconds{250});
  EXPECT_EQ(RetryDelay(options, 2, "", 0.5), milliseconds{500});
  EXPECT_EQ(RetryDelay(options, 3, "", 0.5), milliseconds{1000});
  EXPECT_EQ(RetryDelay(options, 3, "", 0.9999999), milliseconds{1999});
  EXPECT_LT(RetryDelay(options, 3, "", 1.0), milliseconds{2000});
}

TEST(RetryDelay, ExponentialBoundIsCappedAtMaxBackoff) {
  HttpOptions options = BackoffOptions();
  EXPECT_EQ(RetryDelay(options, 7, "", 0.5), milliseconds{15'000});  // 500 ms * 2^6 = 32 s > cap
  EXPECT_EQ(RetryDelay(options, 1000, "", 0.5), milliseconds{15'000});
  EXPECT_LT(RetryDelay(options, 1000, "", 0.9999999), options.max_backoff);
}

TEST(RetryDelay, MalformedRetryAfterFallsBackToBackoff) {
  HttpOptions options = BackoffOptions();
  for (const char* value : {"soon", "-5", "1.5", "Thu, 99 Foo 2015 99:99:99 GMT"})
    EXPECT_EQ(RetryDelay(options, 2, value, 0.5), milliseconds{500}) << value;
}

}  // namespace
}  // namespace citybooks
