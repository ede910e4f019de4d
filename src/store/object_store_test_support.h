// Sources and data for tests of ObjectStore backends: a source that reads in
// short pieces and can fail on purpose, and patterned bytes. Used by the
// contract suite (object_store_contract.h) and the backends' own tests.
//
//   ChunkedSource source(PatternBytes(1 << 20), /*chunk=*/4096, /*fail_at=*/500000);
//   EXPECT_FALSE(store->Put("k", source).has_value());
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "common/byte_source.h"
#include "common/error.h"

namespace citybooks::store_contract {

// Yields `bytes` in pieces of at most `chunk` bytes, so stores see many short
// reads; optionally fails with kIoError once `fail_at` bytes have been read.
class ChunkedSource : public ByteSource {
 public:
  static constexpr uint64_t kNeverFail = UINT64_MAX;

  explicit ChunkedSource(std::string bytes, size_t chunk = 7919, uint64_t fail_at = kNeverFail)
      : bytes_(std::move(bytes)), chunk_(chunk), fail_at_(fail_at) {}

  Result<size_t> Read(char* buffer, size_t size) override {
    if (offset_ >= fail_at_) {
      return Fail(ErrorCode::kIoError,
                  "The test source failed on purpose at byte " + std::to_string(offset_) + ".");
    }
    uint64_t limit = std::min<uint64_t>({size, chunk_, fail_at_ - offset_});
    size_t n = bytes_.copy(buffer, static_cast<size_t>(limit), static_cast<size_t>(offset_));
    offset_ += n;
    if (on_read) on_read(offset_);
    return n;
  }

  std::string_view name() const override { return "<chunked test source>"; }

  // Called after every read with the bytes read so far (for checks made
  // while a Put is in progress).
  std::function<void(uint64_t)> on_read;

 private:
  std::string bytes_;
  size_t chunk_;
  uint64_t fail_at_;
  uint64_t offset_ = 0;
};

// Deterministic, non-repeating-looking bytes of every value 0..255.
inline std::string PatternBytes(size_t size, uint32_t seed = 1) {
  std::string bytes(size, '\0');
  uint32_t state = seed * 2654435761u + 1;
  for (char& c : bytes) {
    state = state * 1664525u + 1013904223u;
    c = static_cast<char>(state >> 24);
  }
  return bytes;
}

}  // namespace citybooks::store_contract
