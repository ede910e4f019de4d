#include "serve/metrics.h"

#include <cstdio>

namespace citybooks {

namespace {

std::string Number(double value) {
  char text[40];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

// Route names are our own patterns, but escape as the format requires anyway.
std::string Label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void Metrics::End(const std::string& route, int status, double seconds) {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
  Histogram& histogram = durations_[route];
  size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  ++histogram.counts[bucket];
  histogram.sum += seconds;
  ++histogram.count;
}

std::string Metrics::Render() const {
  std::string text;
  text +=
      "# HELP citybooks_http_requests_total HTTP requests answered, by route and status.\n"
      "# TYPE citybooks_http_requests_total counter\n";
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [key, count] : requests_)
    text += "citybooks_http_requests_total{route=\"" + Label(key.first) + "\",status=\"" +
            std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
  text +=
      "# HELP citybooks_http_request_duration_seconds Time from reading a request to its "
      "answer.\n"
      "# TYPE citybooks_http_request_duration_seconds histogram\n";
  for (const auto& [route, histogram] : durations_) {
    uint64_t cumulative = 0;
    std::string label = "route=\"" + Label(route) + "\"";
    for (size_t i = 0; i <= kBuckets.size(); ++i) {
      cumulative += histogram.counts[i];
      std::string le = i < kBuckets.size() ? Number(kBuckets[i]) : "+Inf";
      text += "citybooks_http_request_duration_seconds_bucket{" + label + ",le=\"" + le + "\"} " +
              std::to_string(cumulative) + "\n";
    }
    text += "citybooks_http_request_duration_seconds_sum{" + label + "} " + Number(histogram.sum) +
            "\n";
    text += "citybooks_http_request_duration_seconds_count{" + label + "} " +
            std::to_string(histogram.count) + "\n";
  }
  text +=
      "# HELP citybooks_http_requests_in_flight Requests being answered now.\n"
      "# TYPE citybooks_http_requests_in_flight gauge\n"
      "citybooks_http_requests_in_flight " +
      std::to_string(in_flight_.load(std::memory_order_relaxed)) + "\n";
  return text;
}

}  // namespace citybooks
