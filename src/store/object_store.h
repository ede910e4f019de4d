// ObjectStore: the one interface to where raw files live — a local folder
// today, an S3 bucket later — chosen from a URL. Keys are '/'-separated paths
// relative to the store's root. Every backend passes object_store_contract.h.
// Every backend rejects with kInvalidArgument a key that is empty, starts with
// '/', has an empty, "." or ".." segment, or a segment starting with ".tmp-"
// (reserved for writes in progress).
//
//   CB_ASSIGN_OR_RETURN(auto store, OpenObjectStore("file:///srv/raw"));
//   CB_RETURN_IF_ERROR(store->PutBytes("a/b.txt", "hello"));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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

  // Conveniences built on the calls above.
  Status PutBytes(std::string_view key, std::string_view bytes);
  Result<std::string> GetBytes(std::string_view key);
  Result<bool> Exists(std::string_view key);
};

// Opens the store named by `url`: "file:///abs/dir", "file://./rel/dir",
// "file://rel/dir" (or a plain path) for a local folder, "memory://name" for a
// process-local store (tests; every open of one name shares its objects).
// "s3://" is kUnimplemented until the S3 backend arrives; other schemes are
// kInvalidArgument naming the URL.
Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& url);

// A local-folder store rooted at `directory` (created if missing).
Result<std::unique_ptr<ObjectStore>> OpenLocalObjectStore(const std::string& directory);

// An empty in-memory store.
std::unique_ptr<ObjectStore> NewMemoryObjectStore();

// Wraps `base` so tests can inject failures: after `fail_after_bytes` bytes
// have been written in total, every Put fails part-way with kIoError (and,
// like a crash, leaves no visible object); Get/List/Delete pass through.
std::unique_ptr<ObjectStore> NewFaultyObjectStore(ObjectStore* base, uint64_t fail_after_bytes);

}  // namespace citybooks
