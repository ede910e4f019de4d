// HttpClient: the one way citybooks talks HTTP (portal APIs, CSV downloads,
// later S3). Retries what is worth retrying — timeouts, connection resets,
// 429, 5xx and 202 "not ready" — with exponential backoff and jitter,
// honouring Retry-After, within a bounded total time; everything else fails at
// once. Every error is one sentence naming the URL and the cause.
//
//   CB_ASSIGN_OR_RETURN(auto http, MakeCurlHttpClient({}));
//   CB_ASSIGN_OR_RETURN(HttpResponse page, http->Fetch({.url = url}));
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace citybooks {

// Credentials for AWS Signature Version 4, which libcurl computes for every
// attempt (CURLOPT_AWS_SIGV4). The caller adds the headers S3 wants signed
// along: x-amz-content-sha256 (the payload hash) and, for temporary
// credentials, x-amz-security-token. The secret never appears in a message.
struct AwsSigV4 {
  std::string region;  // e.g. "us-east-1"
  std::string service = "s3";
  std::string access_key_id;
  std::string secret_access_key;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  // Extra request headers, e.g. {"X-App-Token", token}, {"If-None-Match", etag}.
  // (The `{}` initializers let GCC 12 accept `{.url = url}` under -Wextra.)
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  // Signs the request when set. Redirects are then not followed: a signed
  // request goes to exactly the host it was signed for.
  std::optional<AwsSigV4> aws_sigv4{};
};

struct HttpResponse {
  int status = 0;
  // Header names lower-cased; values as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  // The (decompressed) body, unless a BodySink received it.
  std::string body;
  // Attempts made, 1 when the first one answered.
  int attempts = 0;

  // The value of header `name` (any case), or "" when absent.
  std::string Header(std::string_view name) const;
};

// Receives a body as it arrives, so large downloads never sit in memory.
// A retried request starts over: Restart() is called before each attempt's
// first bytes and must discard what the previous attempt wrote.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual Status Restart() = 0;
  virtual Status Write(std::string_view bytes) = 0;
};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  // A transfer slower than 1 byte/s for this long counts as a timeout.
  std::chrono::milliseconds read_timeout{60'000};
  // All attempts of one Fetch, waits included, end within this.
  std::chrono::milliseconds total_timeout{600'000};
  int max_attempts = 6;
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};
  std::string user_agent = "citybooks/0.1";
  // How to wait between attempts; tests replace it to run fast.
  std::function<void(std::chrono::milliseconds)> sleep{};
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Performs `request`, retrying transient failures. Returns the final
  // response for any status the caller should see: 2xx, 304, and 4xx other
  // than 429 (the caller decides what a 404 means). Returns kUnavailable when
  // retries ran out (timeouts, resets, 429, 5xx, 202, a truncated or corrupt
  // gzip body), naming the URL, the last cause and the attempts made. With a
  // `sink`, the body goes there instead of HttpResponse::body.
  virtual Result<HttpResponse> Fetch(const HttpRequest& request, BodySink* sink = nullptr) = 0;
};

// The libcurl client: keep-alive across calls, gzip/deflate accepted and
// decoded, TLS verified.
Result<std::unique_ptr<HttpClient>> MakeCurlHttpClient(HttpOptions options);

// How long to wait before retry number `attempt` (1 = the first retry):
// Retry-After when the server sent one (seconds or an HTTP date), else
// exponential backoff from initial_backoff with full jitter, capped at
// max_backoff. `random01` is a uniform draw in [0, 1).
std::chrono::milliseconds RetryDelay(const HttpOptions& options, int attempt,
                                     std::string_view retry_after, double random01);

}  // namespace citybooks
