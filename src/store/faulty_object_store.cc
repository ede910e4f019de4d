// A wrapper that injects write failures, for tests of what callers and
// backends do when a Put dies part-way. It feeds the base store's Put a
// source that stops with kIoError once the byte budget is spent, so the base
// store has to drop the half-written object exactly as it would after a crash.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/object_store.h"

namespace citybooks {

namespace {

// Bytes written through one FaultyObjectStore so far, shared by its Puts.
class WriteBudget {
 public:
  explicit WriteBudget(uint64_t limit) : limit_(limit) {}

  // Claims up to `wanted` bytes; returns how many may be written (0 once the
  // budget is spent).
  uint64_t Claim(uint64_t wanted) {
    std::lock_guard lock(mutex_);
    uint64_t granted = std::min(wanted, limit_ - written_);
    written_ += granted;
    return granted;
  }

  // Returns bytes claimed but not written.
  void Refund(uint64_t unused) {
    std::lock_guard lock(mutex_);
    written_ -= unused;
  }

 private:
  std::mutex mutex_;
  const uint64_t limit_;
  uint64_t written_ = 0;
};

class FaultySource : public ByteSource {
 public:
  FaultySource(ByteSource& inner, WriteBudget& budget, std::string_view key)
      : inner_(inner), budget_(budget), key_(key) {}

  Result<size_t> Read(char* buffer, size_t size) override {
    if (size == 0) return size_t{0};
    uint64_t allowed = budget_.Claim(size);
    if (allowed == 0) {
      injected_ = true;
      return Fail(ErrorCode::kIoError,
                  "Injected fault: the write of '" + key_ + "' failed after " +
                      std::to_string(bytes_) +
                      " bytes because the faulty store's byte budget is spent.");
    }
    CB_ASSIGN_OR_RETURN(size_t n, inner_.Read(buffer, static_cast<size_t>(allowed)));
    bytes_ += n;
    // Bytes claimed but not read (a short read, or the end) stay unspent.
    if (n < allowed) budget_.Refund(allowed - n);
    return n;
  }

  std::string_view name() const override { return inner_.name(); }
  bool injected() const { return injected_; }

 private:
  ByteSource& inner_;
  WriteBudget& budget_;
  std::string key_;
  uint64_t bytes_ = 0;
  bool injected_ = false;
};

class FaultyObjectStore : public ObjectStore {
 public:
  FaultyObjectStore(ObjectStore* base, uint64_t fail_after_bytes)
      : base_(base), budget_(fail_after_bytes) {}

  Status Put(std::string_view key, ByteSource& source) override {
    FaultySource faulty(source, budget_, key);
    Status status = base_->Put(key, faulty);
    if (status && faulty.injected()) {
      return Fail(ErrorCode::kInternal, "The store '" + base_->url() + "' kept '" +
                                            std::string(key) +
                                            "' although its source failed part-way.");
    }
    return status;
  }

  Result<std::unique_ptr<ByteSource>> Get(std::string_view key) override { return base_->Get(key); }

  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override {
    return base_->List(prefix);
  }

  Status Delete(std::string_view key) override { return base_->Delete(key); }

  std::string url() const override { return "faulty+" + base_->url(); }

  Result<bool> CreateRoot() override { return base_->CreateRoot(); }
  Result<bool> RemoveRootIfEmpty() override { return base_->RemoveRootIfEmpty(); }
  std::string RootDescription() const override { return base_->RootDescription(); }

 private:
  ObjectStore* base_;
  WriteBudget budget_;
};

}  // namespace

std::unique_ptr<ObjectStore> NewFaultyObjectStore(ObjectStore* base, uint64_t fail_after_bytes) {
  return std::make_unique<FaultyObjectStore>(base, fail_after_bytes);
}

}  // namespace citybooks
