// Runs an observer of a byte stream (a hash, a record count) on a thread of
// its own, so a copy that also has to digest what it copies spends its own
// thread on reading and writing only. Chunks are copied into a few buffers
// of `buffer_bytes` each and observed in order; memory is bounded by them.
//
//   Sha256 sha;
//   BackgroundObserver digest([&](std::string_view chunk) { sha.Update(chunk); });
//   ... digest.Feed(chunk) for every chunk read ...
//   digest.Finish();  // every chunk has been observed; sha is complete
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

namespace citybooks {

class BackgroundObserver {
 public:
  explicit BackgroundObserver(std::function<void(std::string_view)> observe,
                              size_t buffer_bytes = size_t{1} << 20, size_t buffers = 4);
  // Waits for the chunks fed so far to be observed, then stops the thread.
  ~BackgroundObserver();
  BackgroundObserver(const BackgroundObserver&) = delete;
  BackgroundObserver& operator=(const BackgroundObserver&) = delete;

  // Queues a copy of `chunk`; blocks only while every buffer is in use.
  void Feed(std::string_view chunk);
  // Returns once every chunk fed has been observed. Feed may follow.
  void Finish();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace citybooks
