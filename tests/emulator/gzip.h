// gzip (RFC 1952) for the emulator's Content-Encoding, and for tests that need
// to look inside what it sent.
//
//   std::string packed = GzipCompress(csv);
//   GzipDecompress(packed) == csv;
//   GzipDecompress(packed.substr(0, packed.size() / 2)) == std::nullopt;
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace citybooks::emulator {

// Returns `data` as one gzip member.
std::string GzipCompress(std::string_view data);

// Returns the data of one complete gzip member, or nullopt when `data` is
// corrupt, cut short, or followed by anything.
std::optional<std::string> GzipDecompress(std::string_view data);

}  // namespace citybooks::emulator
