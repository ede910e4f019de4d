// ObjectStore: the one interface to where raw files live — a local folder or
// an S3 bucket — chosen from a URL. Keys are '/'-separated paths relative to
// the store's root (the folder, or the bucket and prefix). Every backend
// passes object_store_contract.h. Every backend rejects with
// kInvalidArgument a key that is empty, starts with '/', has an empty, "."
// or ".." segment, or a segment starting with ".tmp-" (reserved for writes in
// progress).
//
//   CB_ASSIGN_OR_RETURN(ObjectStoreOptions options,
//                       ObjectStoreOptionsFromEnvironment({.endpoint = endpoint}, environment));
//   CB_ASSIGN_OR_RETURN(auto store, OpenObjectStore("s3://bucket/raw", options));
//   CB_RETURN_IF_ERROR(store->PutBytes("a/b.txt", "hello"));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_source.h"
#include "common/error.h"

namespace citybooks {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Stores everything `source` yields under `key`, replacing any object there.
  // Atomic: a reader sees the old object (or none) until the new one is
  // complete; a failure or crash part-way leaves no visible object.
  virtual Status Put(std::string_view key, ByteSource& source) = 0;

  // Opens `key` for reading; kNotFound if there is no such object.
  virtual Result<std::unique_ptr<ByteSource>> Get(std::string_view key) = 0;

  // Every object whose key starts with `prefix`, sorted by key. Objects being
  // written by Put are not listed.
  virtual Result<std::vector<ObjectInfo>> List(std::string_view prefix) = 0;

  // Removes `key`; removing a missing key succeeds.
  virtual Status Delete(std::string_view key) = 0;

  // The URL this store was opened from, for messages and manifests.
  virtual std::string url() const = 0;

  // Creates the root — the folder, or the bucket — when it is missing.
  // Returns true when this call created it, false when it was there already.
  // (A local folder is also created by the first Put; a bucket only here.)
  virtual Result<bool> CreateRoot() = 0;

  // Removes the root when it holds no object (leftovers of unfinished writes
  // go with it). Returns true when this call removed it; false when it is
  // missing or still holds objects, which stay untouched. A bucket with
  // objects outside this store's prefix is kept.
  virtual Result<bool> RemoveRootIfEmpty() = 0;

  // What the root is, for messages: "bucket 'raw-data'", "folder '/srv/raw'".
  virtual std::string RootDescription() const = 0;

  // Conveniences built on the calls above.
  Status PutBytes(std::string_view key, std::string_view bytes);
  Result<std::string> GetBytes(std::string_view key);
  Result<bool> Exists(std::string_view key);
};

inline constexpr uint64_t kMebibyte = uint64_t{1} << 20;
// S3 refuses multipart parts below 5 MiB (except the last) and above 5 GiB.
inline constexpr uint64_t kMinS3PartSize = 5 * kMebibyte;
inline constexpr uint64_t kMaxS3PartSize = uint64_t{5} << 30;

// What a remote store needs besides its URL. Local and memory stores ignore it.
struct ObjectStoreOptions {
  // S3-compatible endpoint, e.g. "http://127.0.0.1:9000"; requests are
  // path-style, {endpoint}/{bucket}/{key}. Empty: https://s3.{region}.amazonaws.com.
  // (The `{}` initializers let GCC 12 accept `{.endpoint = url}` under -Wextra.)
  std::string endpoint{};
  std::string region = "us-east-1";
  std::string access_key_id{}, secret_access_key{}, session_token{};
  // An object larger than this goes up as a multipart upload of parts of this
  // size; Put holds at most one part in memory, and Get reads ranges of it.
  uint64_t part_size = 8 * kMebibyte;
};

// Looks up an environment variable; nullopt when unset.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string&)>;

// Returns `options` completed from the environment: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; AWS_REGION (over
// options.region: the environment comes before configuration files); and
// CITYBOOKS_S3_PART_SIZE in bytes (5 MiB to 5 GiB). kInvalidArgument naming
// the variable when a value is unusable.
Result<ObjectStoreOptions> ObjectStoreOptionsFromEnvironment(ObjectStoreOptions options,
                                                             const EnvironmentLookup& environment);

// Opens the store named by `url`: "file:///abs/dir", "file://./rel/dir",
// "file://rel/dir" (or a plain path) for a local folder; "s3://bucket" or
// "s3://bucket/prefix" for keys under that prefix of an S3 bucket (opening
// sends no request: missing credentials or bucket show at the first call);
// "memory://name" for a process-local store (tests; every open of one name
// shares its objects). Other schemes, a malformed URL or unusable options
// are kInvalidArgument naming the URL.
Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& url,
                                                     const ObjectStoreOptions& options = {});

// A local-folder store rooted at `directory`. Opening creates nothing: the
// folder appears with the first Put (or CreateRoot); until then the store is
// empty.
Result<std::unique_ptr<ObjectStore>> OpenLocalObjectStore(const std::string& directory);

// An empty in-memory store.
std::unique_ptr<ObjectStore> NewMemoryObjectStore();

// Wraps `base` so tests can inject failures: after `fail_after_bytes` bytes
// have been written in total, every Put fails part-way with kIoError (and,
// like a crash, leaves no visible object); Get/List/Delete pass through.
std::unique_ptr<ObjectStore> NewFaultyObjectStore(ObjectStore* base, uint64_t fail_after_bytes);

}  // namespace citybooks
