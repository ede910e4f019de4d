// The S3 backend: keys under "{prefix}/" of one bucket, reached path-style at
// {endpoint}/{bucket}/{key} through the net HttpClient (libcurl, SigV4 signed
// by curl, the client's retries with backoff on 5xx, 429 and resets).
//
// Put reads at most one part of the source into memory. An object that fits
// in one part goes up with one PUT; a larger one as a multipart upload, which
// S3 makes visible only when CompleteMultipartUpload succeeds, so Put stays
// atomic: any failure aborts the upload and leaves no object (a process
// killed part-way leaves only an unfinished upload, invisible to readers).
// Get reads ranges of one part size, each pinned to the ETag of the first
// (If-Match), so memory does not grow with the object and a reader never
// mixes two versions. List pages through ListObjectsV2.
//
// Every request carries x-amz-content-sha256 of its body (S3 requires it and
// checks it), and x-amz-security-token for temporary credentials.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/sha256.h"
#include "common/text.h"
#include "net/http_client.h"
#include "store/internal/s3_protocol.h"
#include "store/internal/store_internal.h"
#include "store/object_store.h"

namespace citybooks {

namespace {

using store_internal::S3Location;

constexpr int kMaxParts = 10000;
constexpr size_t kReadChunk = size_t{1} << 20;
constexpr size_t kLookaheadBytes = size_t{1} << 16;
constexpr size_t kMaxIdleClients = 8;
constexpr int kCompleteAttempts = 3;
// What an empty body hashes to.
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

using Headers = std::vector<std::pair<std::string, std::string>>;

// HttpClients for concurrent callers: a client serves one request at a time,
// and a store is shared by threads (and re-entered from a source's Read).
class HttpClientPool {
 public:
  explicit HttpClientPool(HttpOptions options) : options_(std::move(options)) {}

  Result<std::unique_ptr<HttpClient>> Take() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        std::unique_ptr<HttpClient> client = std::move(idle_.back());
        idle_.pop_back();
        return client;
      }
    }
    return MakeCurlHttpClient(options_);
  }

  void Give(std::unique_ptr<HttpClient> client) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < kMaxIdleClients) idle_.push_back(std::move(client));
  }

 private:
  HttpOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<HttpClient>> idle_;
};

// Collects a body up to `limit` bytes: a server that ignores Range must not
// make a reader hold a whole object.
class BoundedSink : public BodySink {
 public:
  explicit BoundedSink(size_t limit) : limit_(limit) {}
  Status Restart() override {
    bytes_.clear();
    return Ok();
  }
  Status Write(std::string_view bytes) override {
    if (bytes_.size() + bytes.size() > limit_) {
      return Fail(ErrorCode::kDataError, "the server sent more than the " + std::to_string(limit_) +
                                             " bytes asked for (it ignored the Range header)");
    }
    bytes_.append(bytes);
    return Ok();
  }
  std::string& bytes() { return bytes_; }

 private:
  size_t limit_;
  std::string bytes_;
};

// What every call of one store shares; readers keep it alive after the
// store is gone.
class S3Connection {
 public:
  S3Connection(S3Location location, std::string url, ObjectStoreOptions options, int list_page_size)
      : location_(std::move(location)),
        url_(std::move(url)),
        options_(std::move(options)),
        list_page_size_(list_page_size),
        pool_(ClientOptions()) {
    endpoint_ = options_.endpoint.empty() ? "https://s3." + options_.region + ".amazonaws.com"
                                          : options_.endpoint;
    while (endpoint_.ends_with('/')) endpoint_.pop_back();
  }

  const S3Location& location() const { return location_; }
  const std::string& url() const { return url_; }
  uint64_t part_size() const { return options_.part_size; }
  const std::string& region() const { return options_.region; }
  int list_page_size() const { return list_page_size_; }

  // The bucket's key of a store key.
  std::string FullKey(std::string_view key) const {
    if (location_.prefix.empty()) return std::string(key);
    return location_.prefix + "/" + std::string(key);
  }

  // "s3://bucket/prefix/key", for messages.
  std::string Display(std::string_view key) const {
    std::string shown = "s3://" + location_.bucket + "/" + FullKey(key);
    return SanitizeText(shown, 400, true);
  }

  std::string BucketUrl(std::string_view query = {}) const {
    std::string url = endpoint_ + "/" + location_.bucket;
    if (!query.empty()) url += "?" + std::string(query);
    return url;
  }

  std::string ObjectUrl(std::string_view key, std::string_view query = {}) const {
    std::string url =
        endpoint_ + "/" + location_.bucket + "/" + store_internal::UriEncode(FullKey(key), true);
    if (!query.empty()) url += "?" + std::string(query);
    return url;
  }

  // Sends one signed request. Returns the response whatever its status
  // (2xx, 3xx, 4xx; 5xx and 429 only once the client's retries ran out
  // become kUnavailable errors); transport failures name `target`.
  Result<HttpResponse> Send(std::string method, std::string url, std::string body, Headers headers,
                            std::string_view action, std::string_view target,
                            BodySink* sink = nullptr) {
    if (options_.access_key_id.empty() || options_.secret_access_key.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "Cannot " + std::string(action) + " " + std::string(target) +
                      ": no AWS credentials are set; set AWS_ACCESS_KEY_ID and "
                      "AWS_SECRET_ACCESS_KEY.");
    }
    HttpRequest request;
    request.method = std::move(method);
    request.url = std::move(url);
    request.headers = std::move(headers);
    request.headers.emplace_back("x-amz-content-sha256",
                                 body.empty() ? std::string(kEmptySha256) : Sha256Hex(body));
    if (!options_.session_token.empty()) {
      request.headers.emplace_back("x-amz-security-token", options_.session_token);
    }
    // S3 bodies are stored bytes; nothing may be decoded on the way.
    request.headers.emplace_back("Accept-Encoding", "identity");
    request.body = std::move(body);
    request.aws_sigv4 = AwsSigV4{.region = options_.region,
                                 .service = "s3",
                                 .access_key_id = options_.access_key_id,
                                 .secret_access_key = options_.secret_access_key};

    CB_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> client, pool_.Take());
    Result<HttpResponse> response = client->Fetch(request, sink);
    pool_.Give(std::move(client));
    if (!response) {
      return Fail(response.error().WithContext("Cannot " + std::string(action) + " " +
                                               std::string(target)));
    }
    return response;
  }

  // One sentence for an S3 error answer: the target, S3's Code and Message,
  // and what to check.
  Error Failure(const HttpResponse& response, std::string_view action,
                std::string_view target) const {
    store_internal::S3ErrorBody error = store_internal::ParseS3Error(response.body);
    if (error.code.empty()) {
      switch (response.status) {
        case 403:
          error.code = "Forbidden";
          break;
        case 404:
          error.code = "NotFound";
          break;
        default:
          error.code = "HTTP " + std::to_string(response.status);
      }
    }
    std::string message = "Cannot " + std::string(action) + " " + std::string(target) +
                          ": S3 answered " + SanitizeText(error.code, 60, true);
    std::string detail = SanitizeText(error.message, 300, true);
    while (!detail.empty() && (detail.back() == '.' || detail.back() == ' ')) detail.pop_back();
    if (!detail.empty()) message += " (" + detail + ")";

    ErrorCode code = ErrorCode::kIoError;
    const std::string& c = error.code;
    if (c == "NoSuchBucket") {
      code = ErrorCode::kNotFound;
      message += ": the bucket '" + location_.bucket +
                 "' does not exist; create it with `citybooks init` or check the raw zone URL";
    } else if (c == "NoSuchKey" || (c == "NotFound" && response.status == 404)) {
      code = ErrorCode::kNotFound;
    } else if (c == "InvalidAccessKeyId") {
      code = ErrorCode::kInvalidArgument;
      message += "; check AWS_ACCESS_KEY_ID";
    } else if (c == "SignatureDoesNotMatch") {
      code = ErrorCode::kInvalidArgument;
      message += "; check AWS_SECRET_ACCESS_KEY";
    } else if (c == "InvalidToken" || c == "ExpiredToken") {
      code = ErrorCode::kInvalidArgument;
      message += "; check AWS_SESSION_TOKEN";
    } else if (c == "AccessDenied" || c == "Forbidden" || c == "AllAccessDisabled") {
      code = ErrorCode::kFailedPrecondition;
      message += "; check that the credentials in AWS_ACCESS_KEY_ID may use bucket '" +
                 location_.bucket + "'";
    } else if (c == "PermanentRedirect" || c == "AuthorizationHeaderMalformed" ||
               c == "IllegalLocationConstraintException" ||
               (response.status >= 300 && response.status < 400)) {
      code = ErrorCode::kInvalidArgument;
      message += "; check the raw zone's region and endpoint";
    } else if (c == "RequestTimeTooSkewed") {
      code = ErrorCode::kFailedPrecondition;
      message += "; check this machine's clock";
    }
    return Error(code, message + ".");
  }

 private:
  static HttpOptions ClientOptions() {
    HttpOptions options;
    options.initial_backoff = std::chrono::milliseconds{200};
    options.max_backoff = std::chrono::milliseconds{20'000};
    return options;
  }

  S3Location location_;
  std::string url_;
  ObjectStoreOptions options_;
  int list_page_size_;
  std::string endpoint_;
  HttpClientPool pool_;
};

// One answer to a ranged GET.
struct RangeAnswer {
  std::string bytes;
  uint64_t object_size = 0;
  std::string etag;
};

// Parses "bytes FIRST-LAST/SIZE" (or "bytes */SIZE").
bool ParseContentRange(std::string_view text, uint64_t* first, uint64_t* size) {
  text = Trim(text);
  if (!text.starts_with("bytes ")) return false;
  text.remove_prefix(6);
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  std::optional<int64_t> total = ParseInt(text.substr(slash + 1));
  if (!total || *total < 0) return false;
  *size = static_cast<uint64_t>(*total);
  std::string_view range = text.substr(0, slash);
  if (range == "*") {
    *first = 0;
    return true;
  }
  std::optional<int64_t> start = ParseInt(range.substr(0, range.find('-')));
  if (!start || *start < 0) return false;
  *first = static_cast<uint64_t>(*start);
  return true;
}

// GETs `length` bytes of `key` from `offset`. `if_match` pins the version.
Result<RangeAnswer> GetRange(S3Connection& connection, std::string_view key, uint64_t offset,
                             uint64_t length, const std::string& if_match,
                             std::string_view action) {
  const std::string target = connection.Display(key);
  Headers headers = {
      {"Range", "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1)}};
  if (!if_match.empty()) headers.emplace_back("If-Match", if_match);
  // Error documents are small; a little room for them on top of the range.
  BoundedSink sink(static_cast<size_t>(length) + 65536);
  CB_ASSIGN_OR_RETURN(HttpResponse response,
                      connection.Send("GET", connection.ObjectUrl(key), "", std::move(headers),
                                      action, target, &sink));
  response.body = std::move(sink.bytes());
  RangeAnswer answer;
  answer.etag = response.Header("etag");
  if (response.status == 206) {
    uint64_t first = 0;
    if (!ParseContentRange(response.Header("content-range"), &first, &answer.object_size) ||
        first != offset) {
      return Fail(ErrorCode::kDataError,
                  "Cannot " + std::string(action) + " " + target +
                      ": the S3 server answered a range request with "
                      "the Content-Range '" +
                      SanitizeText(response.Header("content-range"), 80, true) + "'.");
    }
    answer.bytes = std::move(response.body);
    if (answer.bytes.size() > length || offset + answer.bytes.size() > answer.object_size) {
      return Fail(ErrorCode::kDataError, "Cannot " + std::string(action) + " " + target +
                                             ": the S3 server sent more bytes than the range.");
    }
    return answer;
  }
  if (response.status == 200 && offset == 0) {
    // The whole object (a server that ignores Range, or an empty object).
    answer.bytes = std::move(response.body);
    answer.object_size = answer.bytes.size();
    return answer;
  }
  if (response.status == 416 && offset == 0) {
    // No byte 0: the object exists and is empty.
    answer.object_size = 0;
    return answer;
  }
  if (response.status == 412) {
    return Fail(ErrorCode::kAborted, "Cannot " + std::string(action) + " " + target +
                                         ": the object was replaced while it was being read; "
                                         "read it again.");
  }
  return Fail(connection.Failure(response, action, target));
}

// Streams an object by ranges of one part size.
class S3ObjectSource : public ByteSource {
 public:
  S3ObjectSource(std::shared_ptr<S3Connection> connection, std::string key, RangeAnswer first)
      : connection_(std::move(connection)),
        key_(std::move(key)),
        name_(connection_->Display(key_)),
        etag_(std::move(first.etag)),
        size_(first.object_size),
        next_offset_(first.bytes.size()),
        buffer_(std::move(first.bytes)) {}

  Result<size_t> Read(char* buffer, size_t size) override {
    if (position_ == buffer_.size()) {
      if (next_offset_ >= size_) return size_t{0};
      uint64_t length = std::min<uint64_t>(connection_->part_size(), size_ - next_offset_);
      Result<RangeAnswer> answer =
          GetRange(*connection_, key_, next_offset_, length, etag_, "read");
      if (!answer) {
        if (answer.error().code() == ErrorCode::kNotFound) {
          return Fail(ErrorCode::kAborted,
                      "Cannot read " + name_ + ": the object was deleted while it was being read.");
        }
        return Fail(answer.error());
      }
      if (answer->bytes.empty() || answer->object_size != size_) {
        return Fail(ErrorCode::kAborted,
                    "Cannot read " + name_ +
                        ": the object changed size while it was being read; read it again.");
      }
      buffer_ = std::move(answer->bytes);
      position_ = 0;
      next_offset_ += buffer_.size();
    }
    size_t n = std::min(size, buffer_.size() - position_);
    std::copy_n(buffer_.data() + position_, n, buffer);
    position_ += n;
    return n;
  }

  std::string_view name() const override { return name_; }

 private:
  std::shared_ptr<S3Connection> connection_;
  std::string key_;
  std::string name_;
  std::string etag_;
  uint64_t size_;
  uint64_t next_offset_;
  std::string buffer_;
  size_t position_ = 0;
};

// Appends bytes of `source` to `*buffer` until it holds `limit` bytes or the
// source ends (then *ended). Memory is reserved for a whole part only once
// the object proves larger than one read.
Status FillPart(ByteSource& source, uint64_t limit, std::string* buffer, bool* ended) {
  while (buffer->size() < limit) {
    size_t old_size = buffer->size();
    if (old_size >= kReadChunk && buffer->capacity() < limit) {
      buffer->reserve(static_cast<size_t>(limit));
    }
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(limit - old_size, kReadChunk));
    buffer->resize(old_size + chunk);
    Result<size_t> n = source.Read(buffer->data() + old_size, chunk);
    if (!n) {
      buffer->resize(old_size);
      return Fail(n.error());
    }
    buffer->resize(old_size + *n);
    if (*n == 0) {
      *ended = true;
      return Ok();
    }
  }
  return Ok();
}

class S3ObjectStore : public ObjectStore {
 public:
  explicit S3ObjectStore(std::shared_ptr<S3Connection> connection)
      : connection_(std::move(connection)) {}

  Status Put(std::string_view key, ByteSource& source) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectKey(key));
    const uint64_t part_size = connection_->part_size();
    std::string part;
    bool ended = false;
    CB_RETURN_IF_ERROR(FillPart(source, part_size, &part, &ended));
    std::string carry;
    if (!ended) {
      // A full part: one more read tells a one-part object from a larger one.
      carry.resize(kLookaheadBytes);
      CB_ASSIGN_OR_RETURN(size_t n, source.Read(carry.data(), carry.size()));
      carry.resize(n);
      ended = n == 0;
    }
    if (ended) return PutObject(key, std::move(part));
    return PutMultipart(key, source, std::move(part), std::move(carry));
  }

  Result<std::unique_ptr<ByteSource>> Get(std::string_view key) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectKey(key));
    // A missing key or bucket is kNotFound naming both.
    CB_ASSIGN_OR_RETURN(RangeAnswer first,
                        GetRange(*connection_, key, 0, connection_->part_size(), "", "read"));
    return std::unique_ptr<ByteSource>(
        std::make_unique<S3ObjectSource>(connection_, std::string(key), std::move(first)));
  }

  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectPrefix(prefix));
    const std::string& root = connection_->location().prefix;
    const std::string root_slash = root.empty() ? std::string() : root + "/";
    const std::string full_prefix = root_slash + std::string(prefix);
    const std::string target = connection_->Display(prefix);
    std::vector<ObjectInfo> objects;
    std::string token;
    while (true) {
      // Parameters in SigV4's canonical (sorted) order.
      std::string query;
      if (!token.empty()) {
        query += "continuation-token=" + store_internal::UriEncode(token, false) + "&";
      }
      query += "list-type=2&max-keys=" + std::to_string(connection_->list_page_size()) +
               "&prefix=" + store_internal::UriEncode(full_prefix, false);
      CB_ASSIGN_OR_RETURN(
          HttpResponse response,
          connection_->Send("GET", connection_->BucketUrl(query), "", {}, "list", target));
      if (response.status != 200) return Fail(connection_->Failure(response, "list", target));
      Result<store_internal::S3ListPage> page = store_internal::ParseListObjectsV2(response.body);
      if (!page) return Fail(page.error().WithContext("Cannot list " + target));
      for (ObjectInfo& object : page->objects) {
        if (!object.key.starts_with(full_prefix)) continue;
        object.key.erase(0, root_slash.size());
        // Keys a store cannot address (a console's "folder/" markers) are
        // not objects of this store.
        if (!store_internal::ValidateObjectKey(object.key)) continue;
        objects.push_back(std::move(object));
      }
      if (!page->truncated) break;
      if (page->next_continuation_token == token) {
        return Fail(ErrorCode::kDataError,
                    "Cannot list " + target + ": the S3 server repeated its continuation token.");
      }
      token = std::move(page->next_continuation_token);
    }
    std::sort(objects.begin(), objects.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return objects;
  }

  Status Delete(std::string_view key) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectKey(key));
    const std::string target = connection_->Display(key);
    CB_ASSIGN_OR_RETURN(
        HttpResponse response,
        connection_->Send("DELETE", connection_->ObjectUrl(key), "", {}, "delete", target));
    if (response.status == 204 || response.status == 200) return Ok();
    // A missing key, or a missing bucket: nothing left to remove.
    const std::string code = store_internal::ParseS3Error(response.body).code;
    if (response.status == 404 && (code == "NoSuchKey" || code == "NoSuchBucket")) return Ok();
    return Fail(connection_->Failure(response, "delete", target));
  }

  std::string url() const override { return connection_->url(); }

  Result<bool> CreateRoot() override {
    const std::string target = "bucket s3://" + connection_->location().bucket;
    // A listing rather than HEAD: its errors come with S3's Code and Message.
    CB_ASSIGN_OR_RETURN(HttpResponse listed,
                        connection_->Send("GET", connection_->BucketUrl("list-type=2&max-keys=1"),
                                          "", {}, "check the", target));
    if (listed.status == 200) return false;
    if (store_internal::ParseS3Error(listed.body).code != "NoSuchBucket") {
      return Fail(connection_->Failure(listed, "check the", target));
    }

    std::string body;
    Headers headers;
    // us-east-1 is S3's default location and must not be named.
    if (connection_->region() != "us-east-1") {
      body =
          "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
          "<LocationConstraint>" +
          store_internal::XmlEscape(connection_->region()) +
          "</LocationConstraint></CreateBucketConfiguration>";
      headers.emplace_back("Content-Type", "application/xml");
    }
    CB_ASSIGN_OR_RETURN(HttpResponse created,
                        connection_->Send("PUT", connection_->BucketUrl(), std::move(body),
                                          std::move(headers), "create the", target));
    if (created.status == 200) return true;
    // Created meanwhile by someone with the same credentials.
    if (store_internal::ParseS3Error(created.body).code == "BucketAlreadyOwnedByYou") return false;
    return Fail(connection_->Failure(created, "create the", target));
  }

  Result<bool> RemoveRootIfEmpty() override {
    const std::string target = "bucket s3://" + connection_->location().bucket;
    CB_ASSIGN_OR_RETURN(HttpResponse listed,
                        connection_->Send("GET", connection_->BucketUrl("list-type=2&max-keys=1"),
                                          "", {}, "list the", target));
    if (store_internal::ParseS3Error(listed.body).code == "NoSuchBucket") return false;
    if (listed.status != 200) return Fail(connection_->Failure(listed, "list the", target));
    Result<store_internal::S3ListPage> page = store_internal::ParseListObjectsV2(listed.body);
    if (!page) return Fail(page.error().WithContext("Cannot list the " + target));
    if (!page->objects.empty()) return false;
    CB_ASSIGN_OR_RETURN(HttpResponse removed, connection_->Send("DELETE", connection_->BucketUrl(),
                                                                "", {}, "remove the", target));
    if (removed.status == 204 || removed.status == 200) return true;
    // Gone meanwhile, or written to meanwhile: not removed by this call.
    if (removed.status == 404 || removed.status == 409) return false;
    return Fail(connection_->Failure(removed, "remove the", target));
  }

  std::string RootDescription() const override {
    return "bucket '" + connection_->location().bucket + "'";
  }

 private:
  Status PutObject(std::string_view key, std::string bytes) {
    const std::string target = connection_->Display(key);
    CB_ASSIGN_OR_RETURN(
        HttpResponse response,
        connection_->Send("PUT", connection_->ObjectUrl(key), std::move(bytes),
                          {{"Content-Type", "application/octet-stream"}}, "write", target));
    if (response.status != 200) return Fail(connection_->Failure(response, "write", target));
    return Ok();
  }

  Status PutMultipart(std::string_view key, ByteSource& source, std::string part,
                      std::string carry) {
    const std::string target = connection_->Display(key);
    CB_ASSIGN_OR_RETURN(
        HttpResponse created,
        connection_->Send("POST", connection_->ObjectUrl(key, "uploads="), "",
                          {{"Content-Type", "application/octet-stream"}}, "write", target));
    if (created.status != 200) return Fail(connection_->Failure(created, "write", target));
    Result<std::string> upload_id = store_internal::ParseUploadId(created.body);
    if (!upload_id) return Fail(upload_id.error().WithContext("Cannot write " + target));
    const std::string upload = "uploadId=" + store_internal::UriEncode(*upload_id, false);

    Status uploaded = UploadParts(key, source, std::move(part), std::move(carry), upload);
    if (!uploaded) {
      Abort(key, upload);
      return uploaded;
    }
    return Ok();
  }

  // Uploads every part and completes the upload; the caller aborts on error.
  Status UploadParts(std::string_view key, ByteSource& source, std::string part, std::string carry,
                     const std::string& upload) {
    const std::string target = connection_->Display(key);
    const uint64_t part_size = connection_->part_size();
    std::vector<std::string> etags;
    uint64_t total = 0;
    bool ended = false;
    while (true) {
      const int number = static_cast<int>(etags.size()) + 1;
      if (number > kMaxParts) {
        return Fail(ErrorCode::kInvalidArgument,
                    "Cannot write " + target + ": it needs more than " + std::to_string(kMaxParts) +
                        " parts of " + std::to_string(part_size) +
                        " bytes; raise CITYBOOKS_S3_PART_SIZE.");
      }
      total += part.size();
      CB_ASSIGN_OR_RETURN(
          HttpResponse response,
          connection_->Send(
              "PUT",
              connection_->ObjectUrl(key, "partNumber=" + std::to_string(number) + "&" + upload),
              std::move(part), {{"Content-Type", "application/octet-stream"}}, "write", target));
      if (response.status != 200) return Fail(connection_->Failure(response, "write", target));
      std::string etag = response.Header("etag");
      if (etag.empty()) {
        return Fail(ErrorCode::kDataError, "Cannot write " + target +
                                               ": the S3 server sent no "
                                               "ETag for part " +
                                               std::to_string(number) + ".");
      }
      etags.push_back(std::move(etag));
      if (ended) break;
      part = std::move(carry);
      carry.clear();
      CB_RETURN_IF_ERROR(FillPart(source, part_size, &part, &ended));
      if (part.empty()) break;
    }
    return Complete(key, etags, total, upload);
  }

  Status Complete(std::string_view key, const std::vector<std::string>& etags, uint64_t total,
                  const std::string& upload) {
    const std::string target = connection_->Display(key);
    const std::string body = store_internal::CompleteMultipartUploadXml(etags);
    for (int attempt = 1;; ++attempt) {
      CB_ASSIGN_OR_RETURN(
          HttpResponse response,
          connection_->Send("POST", connection_->ObjectUrl(key, upload), body,
                            {{"Content-Type", "application/xml"}}, "write", target));
      store_internal::S3ErrorBody error = store_internal::ParseS3Error(response.body);
      if (response.status == 200 && error.code.empty()) return Ok();
      // S3 may answer 200 and put the error in the body; InternalError and
      // SlowDown there are worth another try.
      if (response.status == 200 && attempt < kCompleteAttempts &&
          (error.code == "InternalError" || error.code == "SlowDown")) {
        std::this_thread::sleep_for(std::chrono::seconds(attempt));
        continue;
      }
      // A retried Complete whose first try did succeed finds no upload.
      if (error.code == "NoSuchUpload" && response.attempts > 1) {
        Result<std::vector<ObjectInfo>> listed = List(key);
        if (listed && !listed->empty() && listed->front().key == key &&
            listed->front().size == total) {
          return Ok();
        }
      }
      if (response.status == 200) response.status = 500;
      return Fail(connection_->Failure(response, "write", target));
    }
  }

  // Best effort: an upload left behind costs storage but is never visible.
  void Abort(std::string_view key, const std::string& upload) {
    const std::string target = connection_->Display(key);
    Result<HttpResponse> response = connection_->Send("DELETE", connection_->ObjectUrl(key, upload),
                                                      "", {}, "abort the upload of", target);
    if (!response) {
      LogWarning(response.error().message());
    } else if (response->status != 204 && response->status != 200 && response->status != 404) {
      LogWarning(connection_->Failure(*response, "abort the upload of", target).message());
    }
  }

  std::shared_ptr<S3Connection> connection_;
};

}  // namespace

namespace store_internal {

Result<std::unique_ptr<ObjectStore>> OpenS3ObjectStore(const std::string& url,
                                                       const ObjectStoreOptions& options,
                                                       int list_page_size) {
  CB_ASSIGN_OR_RETURN(S3Location location, ParseS3Url(url));
  auto invalid = [&](const std::string& why) {
    return Fail(ErrorCode::kInvalidArgument,
                "The raw zone '" + url + "' cannot be opened: " + why + ".");
  };
  if (options.part_size < kMinS3PartSize || options.part_size > kMaxS3PartSize) {
    return invalid("the part size " + std::to_string(options.part_size) +
                   " is outside S3's limits of 5 MiB to 5 GiB");
  }
  const std::string& region = options.region;
  if (region.empty() || !std::all_of(region.begin(), region.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      })) {
    return invalid("the region '" + SanitizeText(region, 60, true) +
                   "' is not a region name such as us-east-1");
  }
  const std::string& endpoint = options.endpoint;
  if (!endpoint.empty() && !endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
    return invalid("the endpoint '" + SanitizeText(endpoint, 200, true) +
                   "' does not start with http:// or https://");
  }
  if (list_page_size < 1 || list_page_size > 1000) {
    return invalid("a listing page must hold 1 to 1000 keys");
  }
  // Shown as given, without a trailing '/'.
  std::string shown = url;
  while (shown.ends_with('/') && shown.size() > 5) shown.pop_back();
  auto connection = std::make_shared<S3Connection>(std::move(location), std::move(shown), options,
                                                   list_page_size);
  return std::unique_ptr<ObjectStore>(std::make_unique<S3ObjectStore>(std::move(connection)));
}

}  // namespace store_internal

}  // namespace citybooks
