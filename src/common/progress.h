// A progress bar for long work: bytes, rows, rate and ETA redrawn in place on
// a terminal at most four times a second; nothing on a non-terminal (callers
// log a plain line when the work ends) or in quiet mode.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/byte_source.h"
#include "common/error.h"

namespace citybooks {

class ProgressMeter {
 public:
  // `total_bytes` may be 0 when unknown (no percentage or ETA then).
  ProgressMeter(std::string label, uint64_t total_bytes);
  ~ProgressMeter();

  // `rows` is left out of the bar while 0 (work that does not count rows).
  void Update(uint64_t bytes, uint64_t rows);
  // Clears the bar.
  void Finish();

 private:
  void Draw(uint64_t bytes, uint64_t rows);
  std::string label_;
  uint64_t total_bytes_;
  bool enabled_;
  double start_;
  double last_draw_ = 0;
  bool drawn_ = false;
};

// Passes `inner` through, telling `meter` the bytes read so far.
class MeteredByteSource : public ByteSource {
 public:
  MeteredByteSource(ByteSource& inner, ProgressMeter& meter) : inner_(inner), meter_(meter) {}
  Result<size_t> Read(char* buffer, size_t size) override {
    CB_ASSIGN_OR_RETURN(size_t n, inner_.Read(buffer, size));
    bytes_ += n;
    meter_.Update(bytes_, 0);
    return n;
  }
  std::string_view name() const override { return inner_.name(); }

 private:
  ByteSource& inner_;
  ProgressMeter& meter_;
  uint64_t bytes_ = 0;
};

}  // namespace citybooks
