// A CsvReader that reads and parses on a background thread, a few batches of
// records ahead of its caller, so a load's conforming and writing overlap the
// reading and scanning of the bytes instead of following them. It yields
// exactly the records, problems and errors a CsvReader over the same source
// would, in order. Memory is bounded: at most kBatchesInFlight batches of
// about max_batch_bytes each, plus the CsvReader's own buffer.
//
//   ThreadedCsvReader reader(std::move(source));
//   CsvRecord record;
//   while (true) {
//     CB_ASSIGN_OR_RETURN(bool more, reader.Next(&record));
//     if (!more) break;
//     ...
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "common/byte_source.h"
#include "common/csv_reader.h"
#include "common/error.h"

namespace citybooks {

// Work on each record done on the reading thread, so it overlaps the
// caller's: it writes `digest_words` numbers of the record into `out` (the
// caller reads them back with digest()). It sees every record in order, the
// header first, and runs on one thread only.
using CsvRecordDigest = std::function<void(const CsvRecord& record, uint64_t* out)>;

struct ThreadedCsvOptions {
  CsvOptions csv;
  size_t digest_words = 0;
  CsvRecordDigest digest;  // required when digest_words > 0
  // A batch is handed over once it holds this many bytes of records...
  size_t max_batch_bytes = size_t{512} << 10;
  // ... or this many records.
  size_t max_batch_records = 4096;
};

class ThreadedCsvReader {
 public:
  // Batches parsed but not yet consumed, at most (the one being read by the
  // caller and the one being filled by the thread come on top).
  static constexpr size_t kBatchesInFlight = 3;

  // Starts the background thread; `source` is used only by it from now on.
  explicit ThreadedCsvReader(std::unique_ptr<ByteSource> source, ThreadedCsvOptions options = {});
  // Stops the thread (it finishes the batch it is filling) and joins it.
  ~ThreadedCsvReader();
  ThreadedCsvReader(const ThreadedCsvReader&) = delete;
  ThreadedCsvReader& operator=(const ThreadedCsvReader&) = delete;

  // As CsvReader::Next: the record's views stay valid until the next call.
  Result<bool> Next(CsvRecord* record);
  // The digest of the record Next() returned last: digest_words numbers,
  // valid until the next call.
  const uint64_t* digest() const;

  // Bytes of the source consumed up to the last record returned (the thread
  // may have read further).
  uint64_t bytes_read() const;
  std::string_view source_name() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace citybooks
