// The backend-independent half of the store: the conveniences on top of the
// four primitive calls, the key rules every backend enforces, and the URL
// dispatch that picks a backend.
#include "store/object_store.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/text.h"
#include "store/internal/store_internal.h"

namespace citybooks {

namespace {

constexpr std::string_view kTemporaryPrefix = ".tmp-";

Status InvalidKey(std::string_view what, std::string_view key, std::string_view cause) {
  std::string message(what);
  message += " '";
  message += key;
  message += "' is invalid: ";
  message += cause;
  message += ".";
  return Fail(ErrorCode::kInvalidArgument, std::move(message));
}

// Checks the '/'-separated segments of `path` (a key, or a prefix's folder
// part). `what` is "Object key" or "Object key prefix" for messages.
Status ValidateSegments(std::string_view what, std::string_view whole, std::string_view path) {
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view segment = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) return InvalidKey(what, whole, "it has an empty segment");
    if (segment == "." || segment == "..") {
      return InvalidKey(what, whole, "it has a '.' or '..' segment");
    }
    if (segment.starts_with(kTemporaryPrefix)) {
      return InvalidKey(what, whole,
                        "segments starting with '.tmp-' are reserved for writes in progress");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Ok();
}

}  // namespace

namespace store_internal {

Status ValidateObjectKey(std::string_view key) {
  constexpr std::string_view kWhat = "Object key";
  if (key.empty()) return InvalidKey(kWhat, key, "it is empty");
  if (key.find('\0') != std::string_view::npos)
    return InvalidKey(kWhat, key, "it holds a NUL byte");
  if (key.front() == '/') return InvalidKey(kWhat, key, "it starts with '/' (keys are relative)");
  return ValidateSegments(kWhat, key, key);
}

Status ValidateObjectPrefix(std::string_view prefix) {
  constexpr std::string_view kWhat = "Object key prefix";
  if (prefix.empty()) return Ok();
  if (prefix.find('\0') != std::string_view::npos) {
    return InvalidKey(kWhat, prefix, "it holds a NUL byte");
  }
  if (prefix.front() == '/')
    return InvalidKey(kWhat, prefix, "it starts with '/' (keys are relative)");
  // Only the folder part names places; the last, partial segment is a filter.
  size_t slash = prefix.rfind('/');
  if (slash == std::string_view::npos) return Ok();
  return ValidateSegments(kWhat, prefix, prefix.substr(0, slash));
}

}  // namespace store_internal

Status ObjectStore::PutBytes(std::string_view key, std::string_view bytes) {
  std::unique_ptr<ByteSource> source = MakeViewSource(bytes, std::string(key));
  return Put(key, *source);
}

Result<std::string> ObjectStore::GetBytes(std::string_view key) {
  CB_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source, Get(key));
  std::string bytes;
  constexpr size_t kChunk = size_t{1} << 16;
  while (true) {
    size_t old_size = bytes.size();
    bytes.resize(old_size + kChunk);
    Result<size_t> n = source->Read(bytes.data() + old_size, kChunk);
    if (!n) return Fail(n.error());
    bytes.resize(old_size + *n);
    if (*n == 0) break;
  }
  return bytes;
}

Result<bool> ObjectStore::Exists(std::string_view key) {
  Result<std::unique_ptr<ByteSource>> source = Get(key);
  if (source) return true;
  if (source.error().code() == ErrorCode::kNotFound) return false;
  return Fail(source.error());
}

Result<ObjectStoreOptions> ObjectStoreOptionsFromEnvironment(ObjectStoreOptions options,
                                                             const EnvironmentLookup& environment) {
  if (auto value = environment("AWS_ACCESS_KEY_ID")) options.access_key_id = *value;
  if (auto value = environment("AWS_SECRET_ACCESS_KEY")) options.secret_access_key = *value;
  if (auto value = environment("AWS_SESSION_TOKEN")) options.session_token = *value;
  if (auto value = environment("AWS_REGION")) options.region = *value;
  if (auto value = environment("CITYBOOKS_S3_PART_SIZE")) {
    std::optional<int64_t> bytes = ParseInt(Trim(*value));
    if (!bytes || *bytes < static_cast<int64_t>(kMinS3PartSize) ||
        *bytes > static_cast<int64_t>(kMaxS3PartSize)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "CITYBOOKS_S3_PART_SIZE=" + SanitizeText(*value, 40, true) +
                      " is not a part size in bytes from " + std::to_string(kMinS3PartSize) +
                      " (5 MiB) to " + std::to_string(kMaxS3PartSize) + " (5 GiB).");
    }
    options.part_size = static_cast<uint64_t>(*bytes);
  }
  return options;
}

Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& url,
                                                     const ObjectStoreOptions& options) {
  if (url.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "The object store URL is empty; use file:///path, s3://bucket/prefix, "
                "memory://name or a folder path.");
  }
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return OpenLocalObjectStore(url);

  std::string_view scheme = std::string_view(url).substr(0, scheme_end);
  std::string_view rest = std::string_view(url).substr(scheme_end + 3);
  if (scheme == "file") {
    // "file:///abs" -> "/abs"; "file://./rel" and "file://rel" -> relative
    // to the working folder.
    if (rest.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "The object store URL '" + url + "' names no folder.");
    }
    return OpenLocalObjectStore(std::string(rest));
  }
  if (scheme == "memory") {
    if (rest.empty() || rest.find('/') != std::string_view::npos) {
      return Fail(ErrorCode::kInvalidArgument, "The object store URL '" + url +
                                                   "' needs a store name without '/', as in "
                                                   "memory://name.");
    }
    return store_internal::OpenNamedMemoryObjectStore(rest);
  }
  if (scheme == "s3") return store_internal::OpenS3ObjectStore(url, options);
  return Fail(ErrorCode::kInvalidArgument,
              "The object store URL '" + url + "' has the unknown scheme '" + std::string(scheme) +
                  "'; use file://, s3://, memory:// or a folder path.");
}

}  // namespace citybooks
