// The libcurl HttpClient.
//
// One easy handle is reused for every request, so connections stay alive
// between calls (curl keeps them in the handle's pool). A client therefore
// serves one thread at a time: a second Fetch that starts while one is running
// is refused with kInternal rather than corrupting the handle. Use one client
// per thread.
//
// Bodies are decoded here (zlib), not by curl: curl 7.88 reports success for a
// gzip stream cut short when the Content-Length matches the bytes sent, and a
// truncated download must never look like a complete one. The decoder knows
// whether the compressed stream reached its end.
#include <curl/curl.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/text.h"
#include "net/http_client.h"

namespace citybooks {

namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// A server that refuses connections is usually down for longer than a few
// backoff steps; a refusal is retried (restarts and load-balancer failovers
// do end) but only this many attempts in all, so a dead host fails fast.
constexpr int kMaxConnectAttempts = 3;
constexpr long kMaxRedirects = 5;
constexpr size_t kDecodeBufferSize = size_t{1} << 16;

std::once_flag global_init_once;
CURLcode global_init_result = CURLE_OK;

Status InitCurlOnce() {
  std::call_once(global_init_once,
                 [] { global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (global_init_result != CURLE_OK)
    return Fail(ErrorCode::kInternal, std::string("libcurl could not be initialised: ") +
                                          curl_easy_strerror(global_init_result));
  return Ok();
}

struct EasyHandleDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

// "1.5 s", "30 s", "0.25 s".
std::string FormatSeconds(milliseconds duration) {
  int64_t ms = duration.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(ms) / 1000.0);
  std::string result(text);
  while (result.back() == '0') result.pop_back();
  return result + " s";
}

std::string Attempts(int n) { return std::to_string(n) + (n == 1 ? " attempt" : " attempts"); }

// The URL as it may be printed: user information (a password) removed,
// control bytes replaced, length bounded. Query strings stay: secrets travel
// in headers (X-App-Token), never in citybooks' URLs.
std::string DisplayUrl(std::string_view url) {
  std::string shown(url);
  size_t scheme_end = shown.find("://");
  if (scheme_end != std::string::npos) {
    size_t authority = scheme_end + 3;
    size_t authority_end = shown.find_first_of("/?#", authority);
    if (authority_end == std::string::npos) authority_end = shown.size();
    size_t at = shown.rfind('@', authority_end);
    if (at != std::string::npos && at >= authority) shown.replace(authority, at - authority, "***");
  }
  return SanitizeText(shown, 400, true);
}

const char* StatusText(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return nullptr;
  }
}

// 429 (throttled), 5xx (server trouble) and 202 (Socrata: "not ready yet")
// are worth another try; every other status is the caller's to interpret.
bool IsRetryableStatus(int status) {
  return status == 429 || status == 202 || (status >= 500 && status <= 599);
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

// Decodes a Content-Encoding of gzip or deflate (either zlib-wrapped, as HTTP
// says, or raw, as some servers send) and tells whether the compressed stream
// ended where it should. Concatenated gzip members are decoded in turn.
class ContentDecoder {
 public:
  enum class Feed { kOk, kCorrupt, kOutputFailed };

  ContentDecoder() = default;
  ContentDecoder(const ContentDecoder&) = delete;
  ContentDecoder& operator=(const ContentDecoder&) = delete;
  ~ContentDecoder() { Reset(); }

  void Reset() {
    if (zlib_ready_) inflateEnd(&stream_);
    zlib_ready_ = false;
    kind_ = Kind::kIdentity;
    received_ = false;
    ended_ = false;
    pending_.clear();
  }

  // Chooses the decoding for a Content-Encoding value. Returns false when it
  // names an encoding this decoder cannot undo.
  bool Start(std::string_view content_encoding) {
    Reset();
    int codings = 0;
    for (std::string_view part : Split(content_encoding, ',')) {
      std::string coding = AsciiLower(Trim(part));
      if (coding.empty() || coding == "identity") continue;
      ++codings;
      if (coding == "gzip" || coding == "x-gzip") {
        kind_ = Kind::kGzip;
      } else if (coding == "deflate") {
        kind_ = Kind::kDeflate;
      } else {
        return false;
      }
    }
    return codings <= 1;
  }

  const char* name() const { return kind_ == Kind::kDeflate ? "deflate" : "gzip"; }

  // True when the body is complete: not compressed, empty, or the compressed
  // stream reached its end.
  bool Complete() const { return kind_ == Kind::kIdentity || !received_ || ended_; }

  // Decodes `input` and passes what it yields to `output`, which returns false
  // to stop the transfer.
  template <typename Output>
  Feed Decode(std::string_view input, Output&& output) {
    if (input.empty()) return Feed::kOk;
    if (kind_ == Kind::kIdentity) return output(input) ? Feed::kOk : Feed::kOutputFailed;
    received_ = true;
    std::string first_bytes;
    if (!zlib_ready_) {
      // A raw deflate stream is told from a zlib one by the two-byte header.
      pending_.append(input);
      if (kind_ == Kind::kDeflate && pending_.size() < 2) return Feed::kOk;
      int window_bits = 15 + 32;  // gzip or zlib header, detected by zlib
      if (kind_ == Kind::kDeflate) {
        auto b0 = static_cast<unsigned char>(pending_[0]);
        auto b1 = static_cast<unsigned char>(pending_[1]);
        bool zlib_header = (b0 & 0x0f) == 8 && ((b0 << 8) | b1) % 31 == 0;
        window_bits = zlib_header ? 15 : -15;
      }
      stream_ = z_stream{};
      if (inflateInit2(&stream_, window_bits) != Z_OK) return Feed::kCorrupt;
      zlib_ready_ = true;
      if (!buffer_) buffer_ = std::make_unique<char[]>(kDecodeBufferSize);
      first_bytes.swap(pending_);
      input = first_bytes;
    }
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    stream_.avail_in = static_cast<uInt>(input.size());
    while (true) {
      if (ended_) {
        if (stream_.avail_in == 0) return Feed::kOk;
        // Bytes after the end: another gzip member, or trailing junk a
        // deflate stream may carry and that means nothing.
        if (kind_ != Kind::kGzip) return Feed::kOk;
        if (inflateReset(&stream_) != Z_OK) return Feed::kCorrupt;
        ended_ = false;
      }
      stream_.next_out = reinterpret_cast<Bytef*>(buffer_.get());
      stream_.avail_out = static_cast<uInt>(kDecodeBufferSize);
      int rc = inflate(&stream_, Z_NO_FLUSH);
      size_t produced = kDecodeBufferSize - stream_.avail_out;
      if (produced > 0 && !output(std::string_view(buffer_.get(), produced)))
        return Feed::kOutputFailed;
      if (rc == Z_STREAM_END) {
        ended_ = true;
      } else if (rc == Z_OK || rc == Z_BUF_ERROR) {
        // Z_BUF_ERROR only says no progress was possible: input ran out.
        if (stream_.avail_in == 0 && stream_.avail_out != 0) return Feed::kOk;
        if (rc == Z_BUF_ERROR && produced == 0) return Feed::kCorrupt;
      } else {
        return Feed::kCorrupt;
      }
    }
  }

 private:
  enum class Kind { kIdentity, kGzip, kDeflate };

  Kind kind_ = Kind::kIdentity;
  z_stream stream_{};
  bool zlib_ready_ = false;
  bool received_ = false;
  bool ended_ = false;
  std::string pending_;
  std::unique_ptr<char[]> buffer_;
};

// What curl's callbacks learn during one attempt.
struct Transfer {
  BodySink* sink = nullptr;
  std::string body;
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  bool body_started = false;
  bool discard_body = false;
  ContentDecoder decoder;
  // Why a callback stopped the transfer, if one did.
  std::optional<Error> sink_error;
  std::string unsupported_encoding;
  bool corrupt_body = false;
  bool callback_failed = false;

  void StartAttempt(BodySink* body_sink) {
    sink = body_sink;
    body.clear();
    status = 0;
    reason.clear();
    headers.clear();
    body_started = false;
    discard_body = false;
    decoder.Reset();
    sink_error.reset();
    unsupported_encoding.clear();
    corrupt_body = false;
    callback_failed = false;
  }

  std::string Header(std::string_view name) const {
    for (const auto& [key, value] : headers)
      if (key == name) return value;
    return "";
  }

  bool Deliver(std::string_view bytes) {
    if (sink == nullptr) {
      body.append(bytes);
      return true;
    }
    Status written = sink->Write(bytes);
    if (!written) {
      sink_error = written.error();
      return false;
    }
    return true;
  }
};

// Every response of a redirect chain passes through here; a status line
// starts a new response, so only the last one's headers remain.
size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t length = size * count;
  try {
    std::string_view line(data, length);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.starts_with("HTTP/")) {
      transfer->headers.clear();
      transfer->status = 0;
      transfer->reason.clear();
      size_t space = line.find(' ');
      if (space != std::string_view::npos) {
        std::string_view rest = line.substr(space + 1);
        std::optional<int64_t> code = ParseInt(rest.substr(0, 3));
        if (code) transfer->status = static_cast<int>(*code);
        if (rest.size() > 4) transfer->reason = SanitizeText(Trim(rest.substr(4)), 80, true);
      }
    } else if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      // An obsolete folded line continues the previous header's value.
      if (!transfer->headers.empty()) {
        transfer->headers.back().second += ' ';
        transfer->headers.back().second += Trim(line);
      }
    } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
      transfer->headers.emplace_back(AsciiLower(Trim(line.substr(0, colon))),
                                     std::string(Trim(line.substr(colon + 1))));
    }
    return length;
  } catch (...) {
    transfer->callback_failed = true;
    return 0;
  }
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t length = size * count;
  try {
    if (!transfer->body_started) {
      transfer->body_started = true;
      // The body of a response that will be retried is of no use to anyone.
      transfer->discard_body = IsRetryableStatus(transfer->status);
      std::string encoding = transfer->Header("content-encoding");
      if (!transfer->discard_body && !transfer->decoder.Start(encoding)) {
        transfer->unsupported_encoding = SanitizeText(encoding, 60, true);
        return 0;
      }
    }
    if (transfer->discard_body) return length;
    switch (
        transfer->decoder.Decode(std::string_view(data, length),
                                 [transfer](std::string_view b) { return transfer->Deliver(b); })) {
      case ContentDecoder::Feed::kOk:
        return length;
      case ContentDecoder::Feed::kCorrupt:
        transfer->corrupt_body = true;
        return 0;
      case ContentDecoder::Feed::kOutputFailed:
        return 0;
    }
    return 0;
  } catch (...) {
    transfer->callback_failed = true;
    return 0;
  }
}

// How one attempt ended.
struct Outcome {
  std::optional<HttpResponse> response;  // a status the caller should see
  std::optional<Error> error;            // fail now with exactly this error
  ErrorCode code = ErrorCode::kUnavailable;
  bool retryable = false;
  bool connect_failure = false;
  bool budget_spent = false;  // the total timeout ran out during the attempt
  std::string cause;          // e.g. "HTTP 503 Service Unavailable", "connection refused"
  std::string retry_after;
};

class CurlHttpClient : public HttpClient {
 public:
  CurlHttpClient(HttpOptions options, std::unique_ptr<CURL, EasyHandleDeleter> handle)
      : options_(std::move(options)), handle_(std::move(handle)), random_(std::random_device{}()) {}

  Result<HttpResponse> Fetch(const HttpRequest& request, BodySink* sink) override {
    std::string what = SanitizeText(request.method, 20, true) + " " + DisplayUrl(request.url);
    bool expected = false;
    if (!busy_.compare_exchange_strong(expected, true))
      return Fail(ErrorCode::kInternal, what +
                                            " was refused: this HTTP client is already serving "
                                            "another request (use one client per thread)");
    try {
      Result<HttpResponse> result = FetchWithRetries(request, sink, what);
      busy_ = false;
      return result;
    } catch (const std::exception& e) {
      busy_ = false;
      return Fail(ErrorCode::kInternal, what + " failed: " + e.what());
    } catch (...) {
      busy_ = false;
      return Fail(ErrorCode::kInternal, what + " failed: an unknown exception was thrown");
    }
  }

 private:
  Status Validate(const HttpRequest& request, const std::string& what) const {
    if (!IsToken(request.method))
      return Fail(ErrorCode::kInvalidArgument, what + " failed: the method is not a valid token");
    if (request.url.empty()) return Fail(ErrorCode::kInvalidArgument, what + " failed: no URL");
    // Named explicitly: curl would guess a scheme for "host/path".
    std::string_view url = request.url;
    if (!EqualsIgnoreCase(url.substr(0, 7), "http://") &&
        !EqualsIgnoreCase(url.substr(0, 8), "https://"))
      return Fail(ErrorCode::kInvalidArgument,
                  what + " failed: only http:// and https:// URLs are supported");
    for (const auto& [name, value] : request.headers) {
      // Names are safe to print; values may be secrets and never are.
      if (!IsToken(name))
        return Fail(ErrorCode::kInvalidArgument, what + " failed: the request header name '" +
                                                     SanitizeText(name, 60, true) +
                                                     "' is not a valid token");
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        return Fail(ErrorCode::kInvalidArgument, what + " failed: the value of request header '" +
                                                     name + "' holds a line break or NUL byte");
    }
    if (request.aws_sigv4) {
      // The region and service become fields of curl's ':'-separated
      // provider string; the key id and secret go to curl as they are.
      auto is_scope_part = [](const std::string& text) {
        return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        });
      };
      const AwsSigV4& aws = *request.aws_sigv4;
      if (!is_scope_part(aws.region) || !is_scope_part(aws.service))
        return Fail(ErrorCode::kInvalidArgument,
                    what + " failed: the AWS region '" + SanitizeText(aws.region, 60, true) +
                        "' or service '" + SanitizeText(aws.service, 60, true) +
                        "' is not lower-case letters, digits and '-'");
      if (aws.access_key_id.empty() || aws.secret_access_key.empty())
        return Fail(ErrorCode::kInvalidArgument,
                    what + " failed: the AWS access key id or secret access key is empty");
    }
    return Ok();
  }

  Result<HeaderList> BuildHeaders(const HttpRequest& request) const {
    HeaderList list;
    bool has_accept_encoding = false;
    auto add = [&list](const std::string& line) {
      curl_slist* grown = curl_slist_append(list.get(), line.c_str());
      if (grown == nullptr) return false;
      (void)list.release();
      list.reset(grown);
      return true;
    };
    for (const auto& [name, value] : request.headers) {
      if (EqualsIgnoreCase(name, "accept-encoding")) has_accept_encoding = true;
      // "Name;" is curl's way to send a header with an empty value.
      if (!add(value.empty() ? name + ";" : name + ": " + value))
        return Fail(ErrorCode::kInternal, "out of memory building request headers");
    }
    if (!has_accept_encoding && !add("Accept-Encoding: gzip, deflate"))
      return Fail(ErrorCode::kInternal, "out of memory building request headers");
    // No "Expect: 100-continue" round trip before a body. Signed requests
    // keep it: curl 7.88 signs the empty "Expect:" it then does not send.
    if (!request.aws_sigv4 && !add("Expect:"))
      return Fail(ErrorCode::kInternal, "out of memory building request headers");
    return list;
  }

  Result<HttpResponse> FetchWithRetries(const HttpRequest& request, BodySink* sink,
                                        const std::string& what) {
    CB_RETURN_IF_ERROR(Validate(request, what));
    CB_ASSIGN_OR_RETURN(HeaderList headers, BuildHeaders(request));
    // Forget the previous request's options; live connections stay pooled.
    curl_easy_reset(handle_.get());

    const milliseconds total = options_.total_timeout;
    // Time spent so far: attempts as measured plus waits as requested, so a
    // test's sleep that returns at once still counts its full wait.
    milliseconds spent{0};
    int connect_failures = 0;
    for (int attempt = 1;; ++attempt) {
      if (sink != nullptr) {
        Status restarted = sink->Restart();
        if (!restarted)
          return Fail(
              restarted.error().WithContext(what + " failed: the body could not be written"));
      }
      auto started = SteadyClock::now();
      Outcome outcome = Attempt(request, headers.get(), sink, total - spent);
      spent += std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started);

      if (outcome.response) {
        outcome.response->attempts = attempt;
        return std::move(*outcome.response);
      }
      if (outcome.error)
        return Fail(outcome.error->WithContext(what + " failed: the body could not be written"));
      if (!outcome.retryable)
        return Fail(outcome.code, what + " failed" +
                                      (attempt > 1 ? " after " + Attempts(attempt) : "") + ": " +
                                      outcome.cause);
      std::string failed = what + " failed after " + Attempts(attempt) + ": " + outcome.cause;
      if (outcome.connect_failure) ++connect_failures;
      if (outcome.budget_spent || attempt >= options_.max_attempts ||
          connect_failures >= kMaxConnectAttempts)
        return Fail(ErrorCode::kUnavailable, failed);

      milliseconds delay = RetryDelay(options_, attempt, outcome.retry_after, Uniform01());
      if (spent + delay >= total)
        return Fail(ErrorCode::kUnavailable, failed + " (waiting " + FormatSeconds(delay) +
                                                 " more would pass the total timeout of " +
                                                 FormatSeconds(total) + ")");
      LogInfo(what + ": " + outcome.cause + "; retrying in " + FormatSeconds(delay));
      options_.sleep(delay);
      spent += delay;
    }
  }

  Outcome Attempt(const HttpRequest& request, curl_slist* headers, BodySink* sink,
                  milliseconds remaining) {
    CURL* h = handle_.get();
    transfer_.StartAttempt(sink);
    error_text_[0] = '\0';
    long attempt_ms = std::max<long>(1, static_cast<long>(remaining.count()));
    long connect_ms =
        std::clamp<long>(static_cast<long>(options_.connect_timeout.count()), 1, attempt_ms);
    // curl measures slow transfers in whole seconds.
    long read_seconds =
        std::max<long>(1, static_cast<long>((options_.read_timeout.count() + 999) / 1000));

    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, kMaxRedirects);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, attempt_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, read_seconds);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);  // ContentDecoder does it
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer_);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer_);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text_);
    if (request.aws_sigv4) {
      const AwsSigV4& aws = *request.aws_sigv4;
      const std::string provider = "aws:amz:" + aws.region + ":" + aws.service;
      curl_easy_setopt(h, CURLOPT_AWS_SIGV4, provider.c_str());
      curl_easy_setopt(h, CURLOPT_USERNAME, aws.access_key_id.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, aws.secret_access_key.c_str());
      curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    }
    if (request.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
      // POSTFIELDS even for an empty body, so curl sends Content-Length: 0.
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      if (request.method != "POST")
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    Outcome outcome;
    if (rc != CURLE_OK) {
      Classify(rc, remaining, &outcome);
      return outcome;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (IsRetryableStatus(static_cast<int>(status))) {
      outcome.retryable = true;
      outcome.cause = StatusLine(static_cast<int>(status));
      if (status == 202) outcome.cause += " (the response was not ready yet)";
      outcome.retry_after = transfer_.Header("retry-after");
      return outcome;
    }
    if (!transfer_.decoder.Complete()) {
      outcome.retryable = true;
      outcome.cause = std::string("the ") + transfer_.decoder.name() + " body was truncated";
      return outcome;
    }
    HttpResponse response;
    response.status = static_cast<int>(status);
    response.headers = std::move(transfer_.headers);
    response.body = std::move(transfer_.body);
    outcome.response = std::move(response);
    return outcome;
  }

  std::string StatusLine(int status) const {
    std::string line = "HTTP " + std::to_string(status);
    if (const char* text = StatusText(status)) {
      line += ' ';
      line += text;
    } else if (!transfer_.reason.empty()) {
      line += ' ' + transfer_.reason;
    }
    return line;
  }

  // Sorts a curl failure into retry-or-not and a cause a user can act on.
  void Classify(CURLcode rc, milliseconds remaining, Outcome* outcome) {
    CURL* h = handle_.get();
    std::string detail = SanitizeText(Trim(error_text_), 200, true);
    if (detail.empty()) detail = curl_easy_strerror(rc);
    outcome->code = ErrorCode::kUnavailable;
    switch (rc) {
      case CURLE_WRITE_ERROR:
        if (transfer_.sink_error) {
          outcome->error = std::move(transfer_.sink_error);
          return;
        }
        if (transfer_.corrupt_body) {
          outcome->retryable = true;
          outcome->cause = std::string("the ") + transfer_.decoder.name() + " body was corrupt";
          return;
        }
        if (!transfer_.unsupported_encoding.empty()) {
          outcome->code = ErrorCode::kDataError;
          outcome->cause = "the server sent the body in an unsupported Content-Encoding '" +
                           transfer_.unsupported_encoding + "'";
          return;
        }
        outcome->code = ErrorCode::kInternal;
        outcome->cause = "reading the response failed (out of memory?)";
        return;
      case CURLE_COULDNT_CONNECT: {
        long os_error = 0;
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_error);
        outcome->retryable = true;
        outcome->connect_failure = true;
        switch (os_error) {
          case ECONNREFUSED:
            outcome->cause = "connection refused";
            break;
          case EHOSTUNREACH:
            outcome->cause = "host unreachable";
            break;
          case ENETUNREACH:
            outcome->cause = "network unreachable";
            break;
          case ETIMEDOUT:
            outcome->cause = "connecting timed out";
            break;
          default:
            outcome->cause = "could not connect (" + detail + ")";
            break;
        }
        return;
      }
      case CURLE_OPERATION_TIMEDOUT: {
        outcome->retryable = true;
        double seconds = 0;
        curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &seconds);
        if (seconds * 1000.0 + 5.0 >= static_cast<double>(remaining.count())) {
          outcome->budget_spent = true;
          outcome->cause =
              "the total timeout of " + FormatSeconds(options_.total_timeout) + " ran out";
        } else if (detail.find("too slow") != std::string::npos) {
          outcome->cause = "timed out: no data arrived for " +
                           FormatSeconds(std::max(options_.read_timeout, milliseconds{1000}));
        } else if (detail.find("onnect") != std::string::npos) {
          outcome->connect_failure = true;  // a host that drops SYNs: as good as down
          outcome->cause = "connecting timed out after " + FormatSeconds(options_.connect_timeout);
        } else {
          outcome->cause = "timed out (" + detail + ")";
        }
        return;
      }
      case CURLE_PARTIAL_FILE: {
        outcome->retryable = true;
        curl_off_t got = 0;
        curl_off_t expected = -1;
        curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &got);
        curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &expected);
        outcome->cause = "the connection closed before the whole body arrived";
        if (expected > 0)
          outcome->cause +=
              " (" + std::to_string(got) + " of " + std::to_string(expected) + " bytes)";
        return;
      }
      case CURLE_RECV_ERROR:
        outcome->retryable = true;
        outcome->cause = "receiving the response failed (" + detail + ")";
        return;
      case CURLE_SEND_ERROR:
        outcome->retryable = true;
        outcome->cause = "sending the request failed (" + detail + ")";
        return;
      case CURLE_GOT_NOTHING:
        outcome->retryable = true;
        outcome->cause = "the server closed the connection without answering";
        return;
      case CURLE_BAD_CONTENT_ENCODING:
        outcome->retryable = true;
        outcome->cause = "the compressed body was corrupt";
        return;
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
        outcome->retryable = true;
        outcome->cause = "the HTTP/2 stream failed (" + detail + ")";
        return;
      case CURLE_SSL_CONNECT_ERROR:
        // Handshakes cut off by an overloaded server end up here; certificate
        // problems have codes of their own below.
        outcome->retryable = true;
        outcome->cause = "the TLS handshake failed (" + detail + ")";
        return;
      case CURLE_COULDNT_RESOLVE_HOST:
        outcome->cause = "could not resolve the host name (" + detail + ")";
        return;
      case CURLE_COULDNT_RESOLVE_PROXY:
        outcome->cause = "could not resolve the proxy (" + detail + ")";
        return;
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_INVALIDCERTSTATUS:
      case CURLE_SSL_CRL_BADFILE:
        outcome->cause = "the server's TLS certificate was refused (" + detail + ")";
        return;
      case CURLE_TOO_MANY_REDIRECTS:
        outcome->cause = "more than " + std::to_string(kMaxRedirects) + " redirects";
        return;
      case CURLE_URL_MALFORMAT:
        outcome->code = ErrorCode::kInvalidArgument;
        outcome->cause = "the URL is malformed (" + detail + ")";
        return;
      case CURLE_UNSUPPORTED_PROTOCOL: {
        long redirects = 0;
        curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects);
        if (redirects > 0) {
          outcome->cause = "the server redirected to a URL that is not http or https";
        } else {
          outcome->code = ErrorCode::kInvalidArgument;
          outcome->cause = "only http:// and https:// URLs are supported";
        }
        return;
      }
      case CURLE_OUT_OF_MEMORY:
        outcome->code = ErrorCode::kInternal;
        outcome->cause = "out of memory";
        return;
      default:
        outcome->cause = detail;
        return;
    }
  }

  double Uniform01() { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); }

  HttpOptions options_;
  std::unique_ptr<CURL, EasyHandleDeleter> handle_;
  Transfer transfer_;
  char error_text_[CURL_ERROR_SIZE] = {};
  std::mt19937_64 random_;
  std::atomic<bool> busy_{false};
};

}  // namespace

Result<std::unique_ptr<HttpClient>> MakeCurlHttpClient(HttpOptions options) {
  if (options.max_attempts < 1)
    return Fail(ErrorCode::kInvalidArgument, "HTTP max_attempts must be at least 1");
  if (options.connect_timeout.count() <= 0 || options.read_timeout.count() <= 0 ||
      options.total_timeout.count() <= 0)
    return Fail(ErrorCode::kInvalidArgument, "HTTP timeouts must be positive");
  if (options.initial_backoff.count() < 0 || options.max_backoff.count() < 0)
    return Fail(ErrorCode::kInvalidArgument, "HTTP backoff durations must not be negative");
  if (!options.sleep) options.sleep = [](milliseconds d) { std::this_thread::sleep_for(d); };
  CB_RETURN_IF_ERROR(InitCurlOnce());
  std::unique_ptr<CURL, EasyHandleDeleter> handle(curl_easy_init());
  if (!handle) return Fail(ErrorCode::kInternal, "libcurl could not create a handle");
  try {
    return std::unique_ptr<HttpClient>(
        std::make_unique<CurlHttpClient>(std::move(options), std::move(handle)));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal,
                std::string("the HTTP client could not be made: ") + e.what());
  }
}

}  // namespace citybooks
