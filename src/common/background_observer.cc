#include "common/background_observer.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace citybooks {

class BackgroundObserver::Impl {
 public:
  Impl(std::function<void(std::string_view)> observe, size_t buffer_bytes, size_t buffers)
      : observe_(std::move(observe)), buffer_bytes_(buffer_bytes == 0 ? 1 : buffer_bytes) {
    for (size_t i = 0; i < (buffers < 2 ? 2 : buffers); ++i) free_.emplace_back();
    filling_ = TakeFree();
    thread_ = std::thread([this] { Observe(); });
  }

  ~Impl() {
    Finish();
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  void Feed(std::string_view chunk) {
    while (!chunk.empty()) {
      size_t room = buffer_bytes_ - filling_.size();
      filling_.append(chunk.substr(0, room));
      chunk.remove_prefix(std::min(room, chunk.size()));
      if (filling_.size() == buffer_bytes_) HandOver();
    }
  }

  void Finish() {
    if (!filling_.empty()) HandOver();
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queued_.empty() && !observing_; });
  }

 private:
  // Queues the buffer being filled and takes a free one to fill next.
  void HandOver() {
    {
      std::lock_guard lock(mutex_);
      queued_.push_back(std::move(filling_));
    }
    changed_.notify_all();
    filling_ = TakeFree();
  }

  std::string TakeFree() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !free_.empty(); });
    std::string buffer = std::move(free_.back());
    free_.pop_back();
    buffer.clear();
    buffer.reserve(buffer_bytes_);
    return buffer;
  }

  void Observe() {
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
      if (queued_.empty()) return;  // stopping, and nothing left
      std::string buffer = std::move(queued_.front());
      queued_.pop_front();
      observing_ = true;
      lock.unlock();
      observe_(buffer);
      lock.lock();
      observing_ = false;
      free_.push_back(std::move(buffer));
      changed_.notify_all();
    }
  }

  const std::function<void(std::string_view)> observe_;
  const size_t buffer_bytes_;
  std::string filling_;  // the caller's

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queued_;
  std::vector<std::string> free_;
  bool observing_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

BackgroundObserver::BackgroundObserver(std::function<void(std::string_view)> observe,
                                       size_t buffer_bytes, size_t buffers)
    : impl_(std::make_unique<Impl>(std::move(observe), buffer_bytes, buffers)) {}

BackgroundObserver::~BackgroundObserver() = default;

void BackgroundObserver::Feed(std::string_view chunk) { impl_->Feed(chunk); }

void BackgroundObserver::Finish() { impl_->Finish(); }

}  // namespace citybooks
