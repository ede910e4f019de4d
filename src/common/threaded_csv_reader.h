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
#include <memory>
#include <string_view>

#include "common/byte_source.h"
#include "common/csv_reader.h"
#include "common/error.h"

namespace citybooks {

struct ThreadedCsvOptions {
  CsvOptions csv;
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

  // Bytes of the source consumed up to the last record returned (the thread
  // may have read further).
  uint64_t bytes_read() const;
  std::string_view source_name() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace citybooks
