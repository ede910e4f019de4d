// Sequential byte streams: the one way bytes enter the hot path (files, raw
// zone objects, HTTP bodies), so readers never care where the bytes live.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

namespace citybooks {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes into `buffer`. Returns the number read; 0 means
  // the end of the stream. Returns an error if the underlying read failed.
  virtual Result<size_t> Read(char* buffer, size_t size) = 0;
  // A name for messages: a path or URL.
  virtual std::string_view name() const = 0;
};

// Opens the local file at `path` for reading; kNotFound if it does not exist.
Result<std::unique_ptr<ByteSource>> OpenFileSource(const std::string& path);

// A source over bytes held in memory (tests, embedded data).
std::unique_ptr<ByteSource> MakeStringSource(std::string bytes, std::string name = "<memory>");

// A source over bytes that outlive it (no copy).
std::unique_ptr<ByteSource> MakeViewSource(std::string_view bytes, std::string name = "<memory>");

}  // namespace citybooks
