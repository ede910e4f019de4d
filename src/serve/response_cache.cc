#include "serve/response_cache.h"

namespace citybooks {

std::shared_ptr<const CachedResponse> ResponseCache::Find(const std::string& key,
                                                          const std::string& version) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.version != version) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.position);
  return it->second.response;
}

void ResponseCache::Store(const std::string& key, const std::string& version,
                          CachedResponse response) {
  size_t bytes = key.size() + version.size() + response.body.size() + response.content_type.size() +
                 response.content_disposition.size() + 128;
  if (bytes > max_bytes_ / 8) return;
  auto shared = std::make_shared<const CachedResponse>(std::move(response));
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    bytes_ -= it->second.bytes;
    lru_.erase(it->second.position);
    entries_.erase(it);
  }
  while (bytes_ + bytes > max_bytes_ && !lru_.empty()) {
    auto oldest = entries_.find(lru_.back());
    bytes_ -= oldest->second.bytes;
    entries_.erase(oldest);
    lru_.pop_back();
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{version, std::move(shared), lru_.begin(), bytes});
  bytes_ += bytes;
}

}  // namespace citybooks
