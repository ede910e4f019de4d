#include "common/progress.h"

#include <unistd.h>

#include <cstdio>

#include "common/log.h"
#include "common/text.h"
#include "common/time.h"

namespace citybooks {

namespace {
std::string Megabytes(double bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f MB", bytes / 1e6);
  return buffer;
}
}  // namespace

ProgressMeter::ProgressMeter(std::string label, uint64_t total_bytes)
    : label_(std::move(label)),
      total_bytes_(total_bytes),
      enabled_(!IsQuiet() && isatty(STDERR_FILENO)),
      start_(MonotonicSeconds()) {}

ProgressMeter::~ProgressMeter() { Finish(); }

void ProgressMeter::Update(uint64_t bytes, uint64_t rows) {
  if (!enabled_) return;
  double now = MonotonicSeconds();
  if (now - last_draw_ < 0.25) return;
  last_draw_ = now;
  Draw(bytes, rows);
}

void ProgressMeter::Draw(uint64_t bytes, uint64_t rows) {
  double elapsed = MonotonicSeconds() - start_;
  double rate = elapsed > 0 ? static_cast<double>(bytes) / elapsed : 0;
  std::string line = "\r" + label_ + " ";
  if (total_bytes_ > 0) {
    double fraction = static_cast<double>(bytes) / static_cast<double>(total_bytes_);
    if (fraction > 1) fraction = 1;
    int filled = static_cast<int>(fraction * 24);
    line += "[" + std::string(filled, '#') + std::string(24 - filled, '.') + "] ";
    char percent[16];
    std::snprintf(percent, sizeof percent, "%3.0f%% ", fraction * 100);
    line += percent;
  }
  line += Megabytes(static_cast<double>(bytes)) + ", ";
  if (rows > 0) line += FormatCount(static_cast<int64_t>(rows)) + " rows, ";
  line += Megabytes(rate) + "/s";
  if (total_bytes_ > 0 && rate > 0 && bytes < total_bytes_) {
    char eta[32];
    std::snprintf(eta, sizeof eta, ", ETA %.0fs", static_cast<double>(total_bytes_ - bytes) / rate);
    line += eta;
  }
  line += "\x1b[K";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressMeter::Finish() {
  if (drawn_) {
    std::fputs("\r\x1b[K", stderr);
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace citybooks
