// The in-memory backend, for tests. Put reads the whole source before it
// takes the lock, so an object appears complete or not at all and a source
// may call back into the store. A Get keeps the bytes it opened alive even if
// the key is overwritten or deleted meanwhile. Stores opened by name
// ("memory://name") share their objects process-wide and live until exit.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/internal/store_internal.h"
#include "store/object_store.h"

namespace citybooks {

namespace {

using Bytes = std::shared_ptr<const std::string>;

struct Objects {
  std::mutex mutex;
  std::map<std::string, Bytes, std::less<>> by_key;
  // Whether the root "exists": set by CreateRoot and by any Put, cleared by
  // RemoveRootIfEmpty, so the root calls behave as a folder's would.
  bool root_exists = false;
};

class SharedBytesSource : public ByteSource {
 public:
  SharedBytesSource(Bytes bytes, std::string name)
      : bytes_(std::move(bytes)), name_(std::move(name)) {}

  Result<size_t> Read(char* buffer, size_t size) override {
    size_t n = bytes_->copy(buffer, size, offset_);
    offset_ += n;
    return n;
  }

  std::string_view name() const override { return name_; }

 private:
  Bytes bytes_;
  size_t offset_ = 0;
  std::string name_;
};

class MemoryObjectStore : public ObjectStore {
 public:
  MemoryObjectStore(std::shared_ptr<Objects> objects, std::string url)
      : objects_(std::move(objects)), url_(std::move(url)) {}

  Status Put(std::string_view key, ByteSource& source) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectKey(key));
    auto bytes = std::make_shared<std::string>();
    constexpr size_t kChunk = size_t{1} << 16;
    while (true) {
      size_t old_size = bytes->size();
      bytes->resize(old_size + kChunk);
      Result<size_t> n = source.Read(bytes->data() + old_size, kChunk);
      if (!n) return Fail(n.error());
      bytes->resize(old_size + *n);
      if (*n == 0) break;
    }
    bytes->shrink_to_fit();
    std::lock_guard lock(objects_->mutex);
    objects_->by_key.insert_or_assign(std::string(key), std::move(bytes));
    objects_->root_exists = true;
    return Ok();
  }

  Result<std::unique_ptr<ByteSource>> Get(std::string_view key) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectKey(key));
    Bytes bytes;
    {
      std::lock_guard lock(objects_->mutex);
      auto it = objects_->by_key.find(key);
      if (it != objects_->by_key.end()) bytes = it->second;
    }
    if (!bytes) {
      return Fail(ErrorCode::kNotFound,
                  "Object '" + std::string(key) + "' does not exist in '" + url_ + "'.");
    }
    return std::make_unique<SharedBytesSource>(std::move(bytes), url_ + "/" + std::string(key));
  }

  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectPrefix(prefix));
    std::vector<ObjectInfo> objects;
    std::lock_guard lock(objects_->mutex);
    for (auto it = objects_->by_key.lower_bound(prefix);
         it != objects_->by_key.end() && it->first.starts_with(prefix); ++it) {
      objects.push_back(ObjectInfo{it->first, it->second->size()});
    }
    return objects;
  }

  Status Delete(std::string_view key) override {
    CB_RETURN_IF_ERROR(store_internal::ValidateObjectKey(key));
    std::lock_guard lock(objects_->mutex);
    auto it = objects_->by_key.find(key);
    if (it != objects_->by_key.end()) objects_->by_key.erase(it);
    return Ok();
  }

  std::string url() const override { return url_; }

  Result<bool> CreateRoot() override {
    std::lock_guard lock(objects_->mutex);
    return !std::exchange(objects_->root_exists, true);
  }

  Result<bool> RemoveRootIfEmpty() override {
    std::lock_guard lock(objects_->mutex);
    if (!objects_->root_exists || !objects_->by_key.empty()) return false;
    objects_->root_exists = false;
    return true;
  }

  std::string RootDescription() const override { return "memory store '" + url_ + "'"; }

 private:
  std::shared_ptr<Objects> objects_;
  std::string url_;
};

}  // namespace

std::unique_ptr<ObjectStore> NewMemoryObjectStore() {
  return std::make_unique<MemoryObjectStore>(std::make_shared<Objects>(), "memory://");
}

namespace store_internal {

std::unique_ptr<ObjectStore> OpenNamedMemoryObjectStore(std::string_view name) {
  // Never destroyed, so stores opened by name stay valid during exit.
  static auto* registry_mutex = new std::mutex;
  static auto* registry = new std::map<std::string, std::shared_ptr<Objects>, std::less<>>;
  std::shared_ptr<Objects> objects;
  {
    std::lock_guard lock(*registry_mutex);
    auto it = registry->find(name);
    if (it == registry->end()) {
      it = registry->emplace(std::string(name), std::make_shared<Objects>()).first;
    }
    objects = it->second;
  }
  return std::make_unique<MemoryObjectStore>(std::move(objects), "memory://" + std::string(name));
}

}  // namespace store_internal

}  // namespace citybooks
