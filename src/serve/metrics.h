// Request metrics in the Prometheus text format for /metrics: requests by
// route and status, a request duration histogram by route, and the requests
// in flight. Routes are the patterns ("/api/cubes/{dataset}/aggregate"), never
// raw paths, so the number of series stays bounded. Thread-safe.
//
//   metrics.Begin();
//   ... answer ...
//   metrics.End("/api/datasets", 200, seconds);
//   std::string text = metrics.Render();
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace citybooks {

class Metrics {
 public:
  // Upper bounds of the duration buckets, in seconds (+Inf is implied).
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  void Begin() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void End(const std::string& route, int status, double seconds);
  // A request that began but whose answer was never written (the client
  // went away): no longer in flight, not counted.
  void Abandon() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  std::string Render() const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size() + 1> counts{};  // the last is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  std::atomic<int64_t> in_flight_{0};
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> durations_;
};

}  // namespace citybooks
