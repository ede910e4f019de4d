// Hands items (buffers, batches of records) from one thread to another
// through a fixed set of them, so memory stays bounded however far one side
// runs ahead: the producer acquires a free item, fills it and publishes it;
// the consumer takes published items in order and releases each when done.
// Either side blocks only while it has nothing to do. Close() ends the
// exchange for both: blocked calls return at once.
//
//   Handoff<std::string> handoff(4);
//   producer:  auto item = handoff.Acquire(); ... fill ...; handoff.Publish(std::move(item));
//   consumer:  auto item = handoff.Next(); ... use ...; handoff.Release(std::move(item));
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace citybooks {

template <typename T>
class Handoff {
 public:
  // `count` items (at least two) exist, made by T's default constructor.
  explicit Handoff(size_t count) : count_(count < 2 ? 2 : count) {
    for (size_t i = 0; i < count_; ++i) free_.push_back(std::make_unique<T>());
  }

  // A free item, as its last user left it; nullptr once closed.
  std::unique_ptr<T> Acquire() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return closed_ || !free_.empty(); });
    if (closed_) return nullptr;
    std::unique_ptr<T> item = std::move(free_.back());
    free_.pop_back();
    return item;
  }

  // Queues `item` for the consumer; false (the item is dropped) once closed.
  bool Publish(std::unique_ptr<T> item) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      published_.push_back(std::move(item));
    }
    changed_.notify_all();
    return true;
  }

  // The oldest published item; nullptr once closed and none is left.
  std::unique_ptr<T> Next() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return closed_ || !published_.empty(); });
    if (published_.empty()) return nullptr;
    std::unique_ptr<T> item = std::move(published_.front());
    published_.pop_front();
    return item;
  }

  // Gives a consumed item back to the producer.
  void Release(std::unique_ptr<T> item) {
    {
      std::lock_guard lock(mutex_);
      free_.push_back(std::move(item));
    }
    changed_.notify_all();
  }

  // Returns once every item but the `held` ones its caller holds has been
  // released: everything published before has been consumed.
  void WaitForRelease(size_t held) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return closed_ || free_.size() + held >= count_; });
  }

  // Ends the exchange: Acquire and Next return nullptr once nothing is left
  // for them, Publish refuses.
  void Close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    changed_.notify_all();
  }

 private:
  const size_t count_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<T>> free_;
  std::deque<std::unique_ptr<T>> published_;
  bool closed_ = false;
};

}  // namespace citybooks
