#include "common/background_observer.h"

#include <algorithm>
#include <string>
#include <thread>

#include "common/handoff.h"

namespace citybooks {

class BackgroundObserver::Impl {
 public:
  Impl(std::function<void(std::string_view)> observe, size_t buffer_bytes, size_t buffers)
      : observe_(std::move(observe)),
        buffer_bytes_(buffer_bytes == 0 ? 1 : buffer_bytes),
        handoff_(buffers) {
    TakeFree();
    thread_ = std::thread([this] { Observe(); });
  }

  ~Impl() {
    Finish();
    handoff_.Close();
    thread_.join();
  }

  void Feed(std::string_view chunk) {
    while (!chunk.empty()) {
      size_t room = buffer_bytes_ - filling_->size();
      filling_->append(chunk.substr(0, room));
      chunk.remove_prefix(std::min(room, chunk.size()));
      if (filling_->size() == buffer_bytes_) HandOver();
    }
  }

  void Finish() {
    if (!filling_->empty()) HandOver();
    handoff_.WaitForRelease(1);  // all but the buffer being filled
  }

 private:
  // Queues the buffer being filled and takes a free one to fill next.
  void HandOver() {
    handoff_.Publish(std::move(filling_));
    TakeFree();
  }

  void TakeFree() {
    filling_ = handoff_.Acquire();
    filling_->clear();
    filling_->reserve(buffer_bytes_);
  }

  void Observe() {
    while (std::unique_ptr<std::string> buffer = handoff_.Next()) {
      observe_(*buffer);
      handoff_.Release(std::move(buffer));
    }
  }

  const std::function<void(std::string_view)> observe_;
  const size_t buffer_bytes_;
  Handoff<std::string> handoff_;
  std::unique_ptr<std::string> filling_;  // the caller's
  std::thread thread_;                    // last: starts once everything above exists
};

BackgroundObserver::BackgroundObserver(std::function<void(std::string_view)> observe,
                                       size_t buffer_bytes, size_t buffers)
    : impl_(std::make_unique<Impl>(std::move(observe), buffer_bytes, buffers)) {}

BackgroundObserver::~BackgroundObserver() = default;

void BackgroundObserver::Feed(std::string_view chunk) { impl_->Feed(chunk); }

void BackgroundObserver::Finish() { impl_->Finish(); }

}  // namespace citybooks
