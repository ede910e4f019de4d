#include "emulator/gzip.h"

#include <zlib.h>

#include <array>
#include <stdexcept>

namespace citybooks::emulator {
namespace {

// windowBits 15 plus 16 selects the gzip wrapper in zlib.
constexpr int kGzipWindowBits = 15 + 16;

}  // namespace

std::string GzipCompress(std::string_view data) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zlib could not start a gzip stream");
  }
  std::string out;
  out.resize(deflateBound(&stream, uLong(data.size())));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = uInt(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = uInt(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  // deflateBound guarantees the output fits, so one Z_FINISH call completes.
  if (result != Z_STREAM_END) throw std::runtime_error("zlib could not finish a gzip stream");
  return out;
}

std::optional<std::string> GzipDecompress(std::string_view data) {
  z_stream stream{};
  if (inflateInit2(&stream, kGzipWindowBits) != Z_OK) return std::nullopt;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = uInt(data.size());

  std::string out;
  std::array<char, 64 * 1024> buffer;
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = uInt(buffer.size());
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer.data(), buffer.size() - stream.avail_out);
    // Z_BUF_ERROR with input left means no progress is possible: corrupt.
    if (result == Z_BUF_ERROR && stream.avail_in == 0) break;
  }
  const bool complete = result == Z_STREAM_END && stream.avail_in == 0;
  inflateEnd(&stream);
  if (!complete) return std::nullopt;
  return out;
}

}  // namespace citybooks::emulator
