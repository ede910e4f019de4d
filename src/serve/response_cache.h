// Answers already computed, keyed by request and by the version of the data
// they were computed from, so a dashboard that many people open asks the
// warehouse once per load instead of once per visit. An entry is used only
// while the dataset's version (its latest cb_runs record, which every load
// commits together with its data) is unchanged, so an answer is never
// staler than one computed afresh. Least recently used entries go first once
// the cache holds `max_bytes`. Thread-safe.
//
//   ResponseCache cache(64 << 20);
//   if (auto hit = cache.Find(key, version)) return *hit;
//   cache.Store(key, version, response);
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace citybooks {

struct CachedResponse {
  std::string content_type;
  std::string content_disposition;  // empty: none
  std::string body;
};

class ResponseCache {
 public:
  explicit ResponseCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // The response stored for `key` at `version`, or nullptr.
  std::shared_ptr<const CachedResponse> Find(const std::string& key, const std::string& version);
  // Keeps `response` for `key` at `version` (replacing any older one);
  // responses larger than an eighth of the cache are not kept.
  void Store(const std::string& key, const std::string& version, CachedResponse response);

 private:
  struct Entry {
    std::string version;
    std::shared_ptr<const CachedResponse> response;
    std::list<std::string>::iterator position;  // in lru_
    size_t bytes = 0;
  };
  size_t max_bytes_;
  std::mutex mutex_;
  size_t bytes_ = 0;
  std::list<std::string> lru_;  // most recently used first
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace citybooks
