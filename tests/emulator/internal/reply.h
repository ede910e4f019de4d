// Reply: one HTTP answer as the portal logic builds it, before the server
// applies conditional requests, gzip and injected faults. Plus the small
// hashing helpers the portals use for ids and ETags.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace citybooks::emulator::internal {

// Decoded query parameters in key order (the same type as httplib::Params).
using QueryParams = std::multimap<std::string, std::string>;

struct Reply {
  int status = 200;
  std::string content_type;
  std::string body;
  // Extra headers (not Content-Type, Content-Length or Content-Encoding).
  std::vector<std::pair<std::string, std::string>> headers;
  // A quoted entity tag; when set the answer honours If-None-Match.
  std::string etag;
  // When set, sent as Last-Modified and honoured in If-Modified-Since.
  std::optional<std::chrono::sys_seconds> last_modified;
};

Reply JsonReply(int status, std::string json);
Reply TextReply(int status, std::string text);

// 64-bit FNV-1a of `data`, continuing from `seed`.
uint64_t Fnv1a(std::string_view data, uint64_t seed = 0xcbf29ce484222325ULL);
// SplitMix64's finalizer: a bijection that scatters nearby inputs.
uint64_t Mix64(uint64_t value);
// `value` as 16 lower-case hex digits.
std::string Hex64(uint64_t value);
// SHA-256 of `data` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

}  // namespace citybooks::emulator::internal
